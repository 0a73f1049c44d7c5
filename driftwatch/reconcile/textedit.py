"""Edits of YAML text that touch only the characters they must.

A changed scalar is replaced in place (its span in the file, found by composing the
document), so comments, key order, quoting, indentation, flow style, anchors, separators
and line endings around it stay as they were.  Pure functions of text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml
import yaml_rs

from driftwatch.textsafe import short_value
from driftwatch.yamldoc import document_nodes, parse_documents


class EditError(ValueError):
    """The edit cannot be made safely; nothing is changed."""


class _Missing(EditError):
    """The path does not exist in the file (it may be inserted)."""


_Loader = yaml.CSafeLoader


def _documents(text: str) -> list[yaml.Node]:
    try:
        return document_nodes(text)
    except yaml.YAMLError as exc:
        raise EditError(f"the file no longer parses: {exc}") from exc


def _node_at(root: yaml.Node, path: Sequence[str | int]) -> yaml.Node:
    node = root
    for seg in path:
        found: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(seg, str):
            pair = next(((k, v) for k, v in node.value if k.value == seg), None)
            if pair is not None:
                key, found = pair
                if found.start_mark.index < key.end_mark.index:
                    # An alias: the value lives at its anchor, shared with other places.
                    raise EditError(
                        f"{_dotted(path)} is shared through a YAML anchor; edit the anchor by hand"
                    )
        elif isinstance(node, yaml.SequenceNode) and isinstance(seg, int) and seg < len(node.value):
            found = node.value[seg]
            if found.start_mark.index < node.start_mark.index:
                raise EditError(
                    f"{_dotted(path)} is shared through a YAML anchor; edit the anchor by hand"
                )
        if found is None:
            raise _Missing(f"{_dotted(path)} is not in the file")
        node = found
    return node


def _dotted(path: Sequence[str | int]) -> str:
    return ".".join(map(str, path))


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _next_line(text: str, index: int) -> int:
    """Where the line after the one holding ``index`` starts."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _content_end(text: str, node: yaml.Node) -> int:
    """Where the line after ``node``'s last non-blank line starts (so trailing comments
    and blank lines that belong to what follows stay where they are)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        if node.flow_style:
            break
        if isinstance(node, yaml.MappingNode):
            key, last = node.value[-1]
            if last.start_mark.index < key.end_mark.index:  # `key: *alias` ends on its line
                return _next_line(text, key.end_mark.index)
        else:
            last = node.value[-1]
            if last.start_mark.index < node.start_mark.index:
                raise EditError("a list that ends with an alias is not extended in place")
        node = last
    end = node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        end = len(text[:end].rstrip())  # a block scalar's span ends after its blank lines
        return _next_line(text, max(end - 1, node.start_mark.index))
    if node.end_mark.column == 0 and end > node.start_mark.index:
        return end
    return _next_line(text, end)


def _block(value: Any, indent: int, newline: str) -> str:
    """``value`` dumped as block YAML, each line indented by ``indent``."""
    for dumped in _dumps(value, flow=False):
        # Split on "\n" only: a U+2028 PyYAML leaves inside a quoted string is not a line.
        lines = dumped.removesuffix("\n").split("\n")
        text = "".join(" " * indent + line + newline for line in lines)
        if _reads_back(text, value):
            return text
    raise EditError(f"{short_value(value)} cannot be written as YAML that reads back the same")


def _flow(value: Any) -> str:
    """``value`` as flow YAML on one line."""
    for dumped in _dumps(value, flow=True):
        text = dumped.strip().removesuffix("...").strip()
        if not any(char in _BREAKS for char in text) and _reads_back(text, value):
            return text
    raise EditError(f"{short_value(value)} cannot be written on one line so it reads back the same")


def dump(value: Any) -> str:
    """``value`` as a YAML document that reads back as exactly ``value``."""
    return _block(value, 0, "\n")


def _dumps(value: Any, *, flow: bool) -> Iterator[str]:
    """PyYAML's dumps of ``value``: in its choice of styles, then with every string
    double-quoted (with escapes), for when its choice does not read back the same."""
    for quoting in (None, '"'):
        yield yaml.safe_dump(
            value,
            default_flow_style=flow,
            default_style=quoting,
            sort_keys=False,
            allow_unicode=True,
            width=float("inf"),
        )


# Scalars that read back exactly.  A value is written in the original node's style when
# that style can hold it, else double-quoted with escapes (which holds any text).  Each
# candidate is checked by parsing it in the same context with both readers driftwatch
# uses (libyaml, YAML 1.1, and yaml-rs, YAML 1.2), so a style rule got wrong here can
# only cost a style switch, never a changed value.

_BREAKS = "\n\r\x85\u2028\u2029"
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def _yaml_printable(char: str) -> bool:
    """Whether ``char`` may stand unescaped in a double-quoted scalar."""
    code = ord(char)
    return (
        0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))  # line breaks in YAML 1.1
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or code >= 0x10000
    )


def _double_quoted(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _yaml_printable(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02X}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(f"\\U{ord(char):08X}")
    return '"' + "".join(out) + '"'


def _block_scalar(value: str, style: str, content_column: int, indent: int, newline: str) -> str:
    """``value`` as a literal (``|``) or folded (``>``) block scalar whose lines start at
    ``content_column`` (the header, then its lines, each ending with ``newline``)."""
    body = value.rstrip("\n")
    trailing = len(value) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    lines = body.split("\n") if body else []
    if style == ">":
        # A line break between two lines that do not start with white space folds into
        # a space, so the breaks the value has there are written with one empty line more.
        folded: list[str] = []
        previous: str | None = None  # the last line with text
        for line in lines:
            if line and previous and not _white_start(previous) and not _white_start(line):
                folded.append("")
            folded.append(line)
            previous = line or previous
        lines = folded
    # The lines' indentation is read from the first line, unless it says so explicitly.
    first = next((line for line in lines if line), "")
    step = content_column - indent
    hint = str(step) if first.startswith(" ") and 1 <= step <= 9 else ""
    out = [style + hint + chomp]
    out += [" " * content_column + line if line else "" for line in lines]
    out += [""] * max(trailing - 1, 0)
    return newline.join(out) + newline


def _white_start(line: str) -> bool:
    return line.startswith((" ", "\t"))


def render_scalar(
    value: Any,
    style: str | None = None,
    indent: int = 0,
    *,
    flow: bool = False,
    content_column: int | None = None,
    newline: str = "\n",
) -> str:
    """``value`` as YAML scalar text that reads back as exactly ``value``: in ``style``
    (None for plain, ``'``, ``"``, ``|`` or ``>``) when that style can hold it, else
    double-quoted with escapes.  ``indent`` is the column of the key or ``-`` that owns the
    scalar; ``flow`` when it sits in a flow collection (no block scalars there);
    ``content_column`` where a block scalar's lines start (default ``indent + 2``).  A
    block scalar's text ends with ``newline``; any other is one line."""
    if value is not None and not isinstance(value, str | bool | int | float):
        raise EditError("only scalar values can be written in place")
    candidates: list[str] = []
    if not isinstance(value, str):
        candidates.append(_flow(value))
    else:
        one_line = not any(char in _BREAKS for char in value)
        if not style and one_line:  # plain (libyaml says "", PyYAML None)
            candidates += [value, "'" + value.replace("'", "''") + "'"]
        if style == "'" and one_line:
            candidates.append("'" + value.replace("'", "''") + "'")
        if style in ("|", ">") and not flow:
            column = content_column if content_column and content_column > indent else indent + 2
            candidates.append(_block_scalar(value, style, column, indent, newline))
        candidates.append(_double_quoted(value))
    for text in candidates:
        probe = f"[{text}]" if flow else " " * indent + "k: " + text
        if _reads_back(probe, [value] if flow else {"k": value}):
            return text
    raise EditError(
        f"{short_value(value)} cannot be written as a YAML scalar that reads back the same"
    )


def _reads_back(text: str, expected: Any) -> bool:
    """Whether both of driftwatch's YAML readers read ``text`` as exactly ``expected``."""
    try:
        readings = [yaml.load(text, Loader=_Loader), yaml_rs.loads(text, parse_datetime=False)]
    except (yaml.YAMLError, yaml_rs.YAMLDecodeError, ValueError, OverflowError):
        return False
    return all(identical(reading, expected) for reading in readings)


def identical(a: Any, b: Any) -> bool:
    """Equal data with equal types (``1``, ``1.0``, ``True`` and ``"1"`` all differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _dash_column(text: str, item: yaml.Node) -> int:
    """Column of the ``-`` that introduces a block sequence item."""
    start = _line_start(text, item.start_mark.index)
    dash = text.rfind("-", start, item.start_mark.index)
    return dash - start if dash >= 0 else item.start_mark.column


def _owner(text: str, root: yaml.Node, path: Sequence[str | int]) -> tuple[int, bool]:
    """The column of the key or ``-`` that holds the node at ``path``, and whether that
    is in a flow collection (where no block scalar can go)."""
    if not path:
        return 0, False
    parent = _node_at(root, path[:-1])
    flow = bool(getattr(parent, "flow_style", False))
    if isinstance(parent, yaml.MappingNode):
        key = next(k for k, _ in parent.value if k.value == path[-1])
        return key.start_mark.column, flow
    assert isinstance(parent, yaml.SequenceNode) and isinstance(path[-1], int)
    return _dash_column(text, parent.value[path[-1]]), flow


def _walk(root: yaml.Node, path: Sequence[str | int]) -> tuple[int, yaml.Node]:
    """How many leading segments of ``path`` exist in the file, and the node they reach."""
    node = root
    for depth in range(len(path)):
        try:
            node = _node_at(node, path[depth : depth + 1])
        except _Missing:
            return depth, node
    return len(path), node


def set_value(text: str, document: int, path: Sequence[str | int], value: Any) -> str:
    """``text`` with ``path`` of the ``document``-th document set to ``value``: a scalar is
    replaced in place, a map or list re-rendered in the node's own style and indentation,
    a missing key inserted after its siblings, and index ``len(list)`` appended."""
    docs = _documents(text)
    if not 0 <= document < len(docs):
        raise EditError(f"the file has no document {document}")
    depth, node = _walk(docs[document], path)
    newline = _newline(text)
    if depth == len(path):
        return _replace(text, node, value, newline, _owner(text, docs[document], path))
    rest = path[depth:]
    if isinstance(node, yaml.SequenceNode) and rest[0] == len(node.value) and len(rest) == 1:
        return _append(text, node, value, newline)
    if not isinstance(node, yaml.MappingNode) or not all(isinstance(k, str) for k in rest):
        raise EditError(
            f"{_dotted(path)}: {_dotted(path[:depth]) or 'the document'} has no place for it"
        )
    nested: Any = value
    for key in reversed(rest[1:]):
        nested = {key: nested}
    return _insert(text, node, str(rest[0]), nested, newline)


def _replace(text: str, node: yaml.Node, value: Any, newline: str, owner: tuple[int, bool]) -> str:
    start, end = node.start_mark.index, node.end_mark.index
    indent, flow = owner
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return _replace_block_scalar(text, node, value, newline, indent)
    if not isinstance(value, dict | list) or not value:
        if isinstance(node, yaml.ScalarNode):
            scalar = (
                _flow(value)  # [] or {}
                if isinstance(value, dict | list)
                else render_scalar(value, node.style, indent, flow=flow)
            )
            return text[:start] + scalar + text[end:]
        if getattr(node, "flow_style", False):
            return text[:start] + _flow(value) + text[end:]
        return text[:start] + _flow(value) + newline + text[_content_end(text, node) :]
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return text[:start] + _flow(value) + text[end:]
    column = node.start_mark.column
    if isinstance(node, yaml.SequenceNode) and node.value:
        column = _dash_column(text, node.value[0])
    rendered = _block(value, column, newline)[column:]
    return text[:start] + rendered + text[_content_end(text, node) :]


def _replace_block_scalar(
    text: str, node: yaml.ScalarNode, value: Any, newline: str, indent: int
) -> str:
    """A literal or folded scalar replaced: its header's comment and the blank lines
    after it (which its span includes) are kept."""
    start, end = node.start_mark.index, node.end_mark.index
    header_end = text.find("\n", start, end)
    header_end = end if header_end < 0 else header_end
    header = text[start:header_end].rstrip("\r")
    comment = header[len(header.split("#", 1)[0].rstrip()) :]  # "  # why", or ""
    span_lines = text[header_end + 1 : end].splitlines(keepends=True)
    content = [line for line in span_lines if line.strip()]
    column = len(content[0]) - len(content[0].lstrip(" ")) if content else None
    blank_tail = ""
    if "+" not in header.split("#", 1)[0]:  # with keep chomping the blank lines are the value's
        kept = len(span_lines)
        while kept and not span_lines[kept - 1].strip():
            kept -= 1
        blank_tail = newline * (len(span_lines) - kept) if content else ""
    if isinstance(value, dict | list):
        scalar = _flow(value)
    else:
        scalar = render_scalar(value, node.style, indent, content_column=column, newline=newline)
    if scalar.endswith(newline):  # a block scalar: its header line, then its lines
        first, _, rest = scalar.partition(newline)
        if "+" in first:  # blank lines after it would be read as part of the value
            blank_tail = ""
        return text[:start] + first + comment + newline + rest + blank_tail + text[end:]
    return text[:start] + scalar + comment + newline + blank_tail + text[end:]


def _append(text: str, seq: yaml.SequenceNode, value: Any, newline: str) -> str:
    if seq.flow_style or not seq.value:
        close = seq.end_mark.index - 1
        if text[close] != "]":
            raise EditError("the list is not a flow or block list that can be extended")
        return _into_flow(text, close, _flow(value), bool(seq.value))
    at = _content_end(text, seq)
    lead = "" if at == 0 or text[:at].endswith("\n") else newline
    return text[:at] + lead + _block([value], _dash_column(text, seq.value[0]), newline) + text[at:]


def _into_flow(text: str, close: int, item: str, has_items: bool) -> str:
    """``item`` added before the closing bracket at ``close``, after a trailing comma if
    the collection has one."""
    before = len(text[:close].rstrip())
    if has_items and text[before - 1] == ",":
        return f"{text[:before]} {item},{text[before:]}"
    return text[:close] + (", " if has_items else "") + item + text[close:]


def _insert(text: str, mapping: yaml.MappingNode, key: str, value: Any, newline: str) -> str:
    if mapping.flow_style or not mapping.value:
        close = mapping.end_mark.index - 1
        if text[close] != "}":
            raise EditError("the map is not a flow or block map that can be extended")
        return _into_flow(text, close, _flow({key: value})[1:-1], bool(mapping.value))
    at = _content_end(text, mapping)
    lead = "" if at == 0 or text[:at].endswith("\n") else newline
    column = mapping.value[0][0].start_mark.column
    return text[:at] + lead + _block({key: value}, column, newline) + text[at:]


def delete_at(text: str, document: int, path: Sequence[str | int]) -> str:
    """``text`` without the key or list item at ``path``; a map or list left empty goes
    with it (the file never says ``limits: {}`` where it said nothing before)."""
    docs = _documents(text)
    if not 0 <= document < len(docs):
        raise EditError(f"the file has no document {document}")
    if not path:
        raise EditError("cannot delete a whole document this way")
    parent = _node_at(docs[document], path[:-1])
    last = path[-1]
    if isinstance(parent, yaml.MappingNode) and isinstance(last, str):
        pair = next(((k, v) for k, v in parent.value if k.value == last), None)
        if pair is None:
            raise EditError(f"{_dotted(path)} is not in the file")
        if len(parent.value) == 1 and len(path) > 1:
            return delete_at(text, document, path[:-1])
        key, value = pair
        if parent.flow_style:
            kept = {
                k.value: yaml.safe_load(text[v.start_mark.index : v.end_mark.index])
                for k, v in parent.value
                if k is not key
            }
            return text[: parent.start_mark.index] + _flow(kept) + text[parent.end_mark.index :]
        index = parent.value.index(pair)
        line = _line_start(text, key.start_mark.index)
        if text[line : key.start_mark.index].strip():  # `- key: v` opens a list item
            if index + 1 >= len(parent.value):
                raise EditError(f"{_dotted(path)} is the only key on its list item's line")
            return (
                text[: key.start_mark.index] + text[parent.value[index + 1][0].start_mark.index :]
            )
        end = (
            _content_end(text, value)
            if value.end_mark.index > key.end_mark.index + 1
            else _next_line(text, key.end_mark.index)
        )
        return text[:line] + text[end:]
    if isinstance(parent, yaml.SequenceNode) and isinstance(last, int) and last < len(parent.value):
        if len(parent.value) == 1 and len(path) > 1:
            return delete_at(text, document, path[:-1])
        item = parent.value[last]
        if parent.flow_style:
            remaining = [
                yaml.safe_load(text[i.start_mark.index : i.end_mark.index])
                for i in parent.value
                if i is not item
            ]
            return (
                text[: parent.start_mark.index] + _flow(remaining) + text[parent.end_mark.index :]
            )
        line = _line_start(text, item.start_mark.index)
        if text[line : item.start_mark.index].strip() != "-":
            raise EditError(f"{_dotted(path)} shares its line with other content")
        return text[:line] + text[_content_end(text, item) :]
    raise EditError(f"{_dotted(path)} is not in the file")


def remove_document(text: str, document: int) -> str:
    """``text`` without its ``document``-th non-empty document: the lines from that
    document's ``---`` separator up to the next one.  Empty when nothing is left."""
    docs = parse_documents(text)
    if not 0 <= document < len(docs):
        raise EditError(f"the file has no document {document}")
    lines = text.splitlines(keepends=True)
    separators = [i for i, line in enumerate(lines) if _is_separator(line)]
    first = docs[document].line - 1  # 0-based line where the document's content starts
    begin = max((s for s in separators if s <= first), default=0)
    end = min((s for s in separators if s > first), default=len(lines))
    remaining = "".join(lines[:begin] + lines[end:])
    return remaining if parse_documents(remaining) else ""


def _is_separator(line: str) -> bool:
    bare = line.rstrip("\r\n")
    return bare == "---" or bare.startswith(("--- ", "---\t"))


def append_to_list(text: str, key: str, items: list[dict[str, Any]]) -> str:
    """``text`` (one YAML document) with ``items`` appended to the top-level list ``key``,
    created when absent; the rest of the file is left as it was."""
    newline = _newline(text)
    docs = _documents(text) if text.strip() else []
    root = docs[0] if docs else None
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise EditError("the file's top level is not a mapping")
    entry = next(((k, v) for k, v in root.value if k.value == key), None) if root else None

    def block(indent: int) -> str:
        return _block(items, indent, newline)

    if entry is None:
        lead = "" if not text or text.endswith(("\n", "\r")) else newline
        return f"{text}{lead}{key}:{newline}{block(2)}"
    key_node, value = entry
    if isinstance(value, yaml.SequenceNode) and value.value and value.flow_style is False:
        indent = value.value[0].start_mark.column - 2  # the column of the items' dashes
        prefix = text[: value.end_mark.index]  # a block sequence ends where the next line starts
        if not prefix.endswith("\n"):
            prefix += newline
        return prefix + block(indent) + text[value.end_mark.index :]
    if (isinstance(value, yaml.SequenceNode) and not value.value) or (
        isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null")
    ):
        # `key: []`, `key: ~` or a bare `key:`: the items go where the empty value was.
        start = key_node.end_mark.index + 1  # after the colon
        end = value.end_mark.index if value.end_mark.index > start else start
        indent = key_node.start_mark.column + 2
        return text[:start] + newline + block(indent).rstrip("\r\n") + text[end:]
    raise EditError(f"{key} is not a list in the file (flow-style lists are not extended in place)")


def mask_secret_values(text: str, mask: Callable[[str, str], str]) -> str | None:
    """``text`` with each value under ``data`` or ``stringData`` of every Secret replaced
    by ``mask(field, value)``, for showing the file; None when it does not parse."""
    try:
        roots = _documents(text)
    except EditError:
        return None
    spans: dict[int, tuple[int, str]] = {}  # start → (end, replacement)
    newline = _newline(text)

    def visit(node: yaml.Node, seen: set[int]) -> None:
        if id(node) in seen:  # an alias: already visited at its anchor
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                visit(item, seen)
        if not isinstance(node, yaml.MappingNode):
            return
        kind = next((v.value for k, v in node.value if k.value == "kind"), None)
        for key, value in node.value:
            if kind == "Secret" and key.value in ("data", "stringData"):
                for scalar in _scalars(value):
                    block = scalar.style in ("|", ">")
                    masked = mask(key.value, str(scalar.value)) + (newline if block else "")
                    spans[scalar.start_mark.index] = (scalar.end_mark.index, masked)
            else:
                visit(value, seen)

    for root in roots:
        visit(root, set())
    out, at = [], 0
    for start in sorted(spans):
        end, masked = spans[start]
        if start < at:
            continue
        out += [text[at:start], masked]
        at = end
    return "".join(out) + text[at:]


def _scalars(node: yaml.Node) -> list[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        return [node]
    if isinstance(node, yaml.SequenceNode):
        return [s for item in node.value for s in _scalars(item)]
    if isinstance(node, yaml.MappingNode):
        return [s for _, value in node.value for s in _scalars(value)]
    return []
