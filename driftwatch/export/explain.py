"""``driftwatch explain ID``: every difference of one resource, counted or not, with its rule.

Pure: a report's resource in, plain text out (every value from Git or a cluster through
:func:`textsafe.printable`).  The same lines back the TUI's "why" view.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftwatch.report import Change, Resource
from driftwatch.textsafe import printable, short_value


def find_resource(resources: Sequence[Resource], wanted: str) -> Resource | str:
    """The resource ``wanted`` names: its id, or ``Kind/name`` / ``Kind/namespace/name``
    (a message when none or several match)."""
    exact = [r for r in resources if r.id == wanted]
    if exact:
        return exact[0]
    parts = wanted.split("/")
    matches = [
        r
        for r in resources
        if r.name != "*"
        and (
            (len(parts) == 2 and [r.kind, r.name] == parts)
            or (len(parts) == 3 and [r.kind, r.namespace or "", r.name] == parts)
        )
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return (
            f"no resource {wanted} in the report (give an id from a report, or Kind/namespace/name)"
        )
    ids = ", ".join(r.id for r in matches[:5])
    return f"{wanted} names {len(matches)} resources: {ids}; give the id"


def explanation_lines(resource: Resource) -> list[str]:
    """The lines of the explanation (no trailing newlines)."""
    lines = [f"{printable(resource.id)}: {resource.status.value}"]
    if resource.reason:
        lines.append(f"  {printable(resource.reason)}")
    counted = [c for c in resource.changes if not c.ignoredBy]
    ignored = [c for c in resource.changes if c.ignoredBy]
    sections: list[tuple[str, list[Change]]] = [
        ("Counted as drift", counted),
        ("Kept, but ignored by a rule", ignored),
        ("Not counted", resource.suppressed),
    ]
    for title, changes in sections:
        lines.append("")
        lines.append(f"{title} ({len(changes)}):")
        if not changes:
            lines.append("  (none)")
        for change in changes:
            lines += _change_lines(change)
    lines += [
        "",
        "Never compared: status, server-set metadata (uid, resourceVersion, generation,",
        "creationTimestamp, managedFields) and the applier's own tracking annotations.",
    ]
    return lines


def _change_lines(change: Change) -> list[str]:
    values = {
        "added": f"live {short_value(change.live)}",
        "removed": f"Git {short_value(change.desired)}",
        "changed": f"Git {short_value(change.desired)} → live {short_value(change.live)}",
    }[change.op.value]
    by = f" by {change.manager}" if change.manager else ""
    out = [f"  {printable(change.path)} {change.op.value}{printable(by)}: {printable(values)}"]
    if change.why:
        out.append(f"    why: {printable(change.why)}")
    if change.ignoredBy:
        out.append(f"    ignored by: {printable(change.ignoredBy)}")
    return out


def render_explanation(resource: Resource) -> str:
    return "\n".join(explanation_lines(resource)) + "\n"
