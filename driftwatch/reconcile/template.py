"""Names and paths filled from templates in driftwatch.yaml, a file anyone can change.

Only ``{field}`` is replaced.  Everything else ``str.format`` would do is refused: a
format spec such as ``{name:>999999999}`` allocates a gigabyte, and attribute or index
access (``{kind.__class__}``) reaches Python objects.
"""

from __future__ import annotations

import string

from driftwatch.textsafe import printable


class TemplateError(ValueError):
    pass


def fill(template: str, fields: dict[str, str], setting: str) -> str:
    """``template`` with each ``{field}`` replaced by ``fields[field]`` (``{{`` and ``}}``
    stand for braces); ``setting`` names the configuration key in messages."""
    allowed = ", ".join(f"{{{name}}}" for name in fields)
    shown = printable(repr(template))
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"{setting} {shown}: {exc}") from exc
    out: list[str] = []
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if name not in fields or spec or conversion:
            field = printable(
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise TemplateError(
                f"{setting} {shown}: {field} is not one of {allowed}"
                " (format specs, conversions and attributes are not allowed)"
            )
        out.append(fields[name])
    return "".join(out)
