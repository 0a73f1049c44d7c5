"""Edits of YAML text that touch only the characters they must.

A changed scalar is replaced in place (its span in the file, found by composing the
document), so comments, key order, quoting, indentation, flow style, anchors, separators
and line endings around it stay as they were.  Pure functions of text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from driftwatch.yamldoc import parse_documents


class EditError(ValueError):
    """The edit cannot be made safely; nothing is changed."""


_Loader = yaml.CSafeLoader


def _documents(text: str) -> list[yaml.Node]:
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=_Loader) if n is not None]
    except yaml.YAMLError as exc:
        raise EditError(f"the file no longer parses: {exc}") from exc
    return [n for n in nodes if not (isinstance(n, yaml.ScalarNode) and n.value == "")]


def _node_at(root: yaml.Node, path: Sequence[str | int]) -> yaml.Node:
    node = root
    for seg in path:
        if isinstance(node, yaml.MappingNode) and isinstance(seg, str):
            found = next((v for k, v in node.value if k.value == seg), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(seg, int) and seg < len(node.value):
            found = node.value[seg]
        else:
            found = None
        if found is None:
            raise EditError(f"{'.'.join(map(str, path))} is not in the file")
        node = found
    return node


def render_scalar(value: Any, style: str | None) -> str:
    """``value`` as a YAML scalar, in the original quoting style when it allows."""
    if isinstance(value, str):
        if style == "'":
            return "'" + value.replace("'", "''") + "'"
        if style == '"':
            return json.dumps(value, ensure_ascii=False)
        plain = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        return plain.removesuffix("\n...").removesuffix("...").strip()
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    raise EditError("only scalar values can be written in place")


def replace_scalar(text: str, document: int, path: Sequence[str | int], value: Any) -> str:
    """``text`` with the scalar at ``path`` of the ``document``-th document set to ``value``."""
    docs = _documents(text)
    if document >= len(docs):
        raise EditError(f"the file has no document {document}")
    node = _node_at(docs[document], path)
    if not isinstance(node, yaml.ScalarNode):
        raise EditError(f"{'.'.join(map(str, path))} is not a scalar in the file")
    if node.style in ("|", ">"):
        raise EditError("block scalars are not edited in place")
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + render_scalar(value, node.style) + text[end:]


def remove_document(text: str, document: int) -> str:
    """``text`` without its ``document``-th non-empty document: the lines from that
    document's ``---`` separator up to the next one.  Empty when nothing is left."""
    docs = parse_documents(text)
    if document >= len(docs):
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
    newline = "\r\n" if "\r\n" in text else "\n"
    docs = _documents(text) if text.strip() else []
    root = docs[0] if docs else None
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise EditError("the file's top level is not a mapping")
    entry = next(((k, v) for k, v in root.value if k.value == key), None) if root else None

    def block(indent: int) -> str:
        dumped = yaml.safe_dump(
            items, default_flow_style=False, sort_keys=False, allow_unicode=True, width=10_000
        )
        return "".join(" " * indent + line + newline for line in dumped.splitlines())

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
