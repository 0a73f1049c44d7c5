"""Field paths inside an object, shared by every provider.

A path is a tuple of segments: a ``str`` is a map key, an ``int`` a list index, and an
``ItemKey`` picks a list item by its merge key (``containers[name=web]``), so a path
stays valid when list items are reordered.  The display form is what reports show and
what users write in ignore rules; :func:`parse_path` reads it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ItemKey:
    """Selects a list item by the values of its merge-key fields."""

    fields: tuple[tuple[str, Any], ...]

    def matches(self, item: Any) -> bool:
        return isinstance(item, dict) and all(item.get(k) == v for k, v in self.fields)

    def __str__(self) -> str:
        return ",".join(f"{k}={_scalar_text(v)}" for k, v in self.fields)


Segment = str | int | ItemKey
Path = tuple[Segment, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def _scalar_text(value: Any) -> str:
    if not isinstance(value, str):
        return json.dumps(value)
    if not value or re.search(r"[\],=\"\s]", value) or _reads_as_json(value):
        return json.dumps(value)  # "123", "true", "NaN" stay strings when read back
    return value


def _reads_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def format_path(path: Path) -> str:
    """``("spec", "containers", ItemKey((("name", "web"),)), "image")`` → ``spec.containers[name=web].image``."""
    out: list[str] = []
    for seg in path:
        if isinstance(seg, ItemKey | int):
            out.append(f"[{seg}]")
        elif _PLAIN_KEY.match(seg):
            out.append(f".{seg}" if out else seg)
        else:
            out.append(f"[{json.dumps(seg)}]")
    return "".join(out)


_TOKEN = re.compile(
    r"""
    \.?(?P<key>[A-Za-z_$][A-Za-z0-9_$-]*)      # .plain
    | \[(?P<quoted>"(?:[^"\\]|\\.)*")\]         # ["any key"]
    | \[(?P<index>\d+)\]                        # [3]
    | \[(?P<item>(?:[^\]"]|"(?:[^"\\]|\\.)*")+)\]  # [name=web,protocol=TCP], [name="a]"]
    """,
    re.VERBOSE,
)


def parse_path(text: str) -> Path:
    """Inverse of :func:`format_path`; raises ``ValueError`` naming the position."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"invalid path {text!r} at character {pos + 1}")
        if m["key"] is not None:
            segments.append(m["key"])
        elif m["quoted"] is not None:
            segments.append(json.loads(m["quoted"]))
        elif m["index"] is not None:
            segments.append(int(m["index"]))
        else:
            segments.append(_parse_item_key(m["item"]))
        pos = m.end()
    return tuple(segments)


def _parse_item_key(body: str) -> ItemKey:
    fields: list[tuple[str, Any]] = []
    for part in re.findall(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+', body):
        key, sep, raw = part.partition("=")
        if not sep:
            raise ValueError(f"invalid list item selector [{body}]: expected key=value")
        raw = raw.strip()
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        fields.append((key.strip(), value))
    return ItemKey(tuple(fields))


def from_pointer(pointer: str) -> tuple[str | int, ...]:
    """RFC 6901 JSON pointer → segments (numeric tokens become indices)."""
    if pointer in ("", "/"):
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with '/'")
    out: list[str | int] = []
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        out.append(int(token) if token.isdigit() else token)
    return tuple(out)


def resolve(obj: Any, path: Path) -> Iterator[tuple[str | int, ...]]:
    """Concrete (index-based) path of ``path`` inside ``obj``, if the path exists there."""
    concrete: list[str | int] = []
    node = obj
    for seg in path:
        if isinstance(seg, ItemKey):
            if not isinstance(node, list):
                return
            for i, item in enumerate(node):
                if seg.matches(item):
                    concrete.append(i)
                    node = item
                    break
            else:
                return
        elif isinstance(seg, int):
            if not isinstance(node, list) or seg >= len(node):
                return
            concrete.append(seg)
            node = node[seg]
        else:
            if not isinstance(node, dict) or seg not in node:
                return
            concrete.append(seg)
            node = node[seg]
    yield tuple(concrete)


def get(obj: Any, path: Path, default: Any = None) -> Any:
    """Value at ``path`` inside ``obj`` or ``default``."""
    for concrete in resolve(obj, path):
        node = obj
        for seg in concrete:
            node = node[seg]
        return node
    return default


def is_prefix(prefix: tuple[Any, ...], path: tuple[Any, ...]) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix


_JQ_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _jq_key(key: str) -> str:
    """``.key``, or ``.["key"]`` for a key jq would not read as an identifier (``$``,
    quotes, dots, dashes, spaces, brackets, non-ASCII)."""
    return f".{key}" if _JQ_IDENTIFIER.fullmatch(key) else f".[{json.dumps(key)}]"


def to_jq(path: Path) -> str:
    """A jq path expression selecting ``path`` (for Argo CD-style ``jqPathExpressions``)."""
    out = ""
    for seg in path:
        if isinstance(seg, ItemKey):
            test = " and ".join(f"{_jq_key(k)} == {json.dumps(v)}" for k, v in seg.fields)
            step = f"[] | select({test}) | "
        elif isinstance(seg, int):
            step = f"[{seg}]"
        elif _JQ_IDENTIFIER.fullmatch(seg):
            step = f".{seg}"
        else:
            step = f"[{json.dumps(seg)}]"
        if step.startswith("[") and (not out or out.endswith("| ")):
            step = "." + step  # jq wants .[…] at the start of a pipe stage
        out += step
    return out.removesuffix(" | ") or "."
