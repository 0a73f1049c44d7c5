"""YAML reading with the positions users need in messages: document start lines and key lines.

Parsing is the hot path of a scan.  Documents are parsed by ``yaml-rs`` (Rust, ~10x
faster than libyaml) when the text has nothing whose meaning differs between YAML 1.1
(what Kubernetes' go-yaml and PyYAML follow) and 1.2 — ``yes``/``on`` booleans, octal
``0755``, ``<<`` merge keys, directives — and by libyaml (``CSafeLoader``) otherwise, or
when yaml-rs refuses the text (so errors always carry libyaml's line numbers).  Only each
document's start line is kept; the line of a particular key is looked up on demand
(:func:`key_line`), for the few documents that have an error or a finding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
import yaml_rs

# Part of every cache key holding parsed YAML: bump it when parsing semantics change.
PARSER_VERSION = "3"


class _Loader(yaml.CSafeLoader):
    """libyaml, with timestamps left as strings (as Kubernetes' YAML-to-JSON does)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}

# Text whose meaning differs between YAML 1.1 and 1.2: leave it to libyaml.
_YAML11_ONLY = re.compile(
    r"<<|^%|[:\-\[{,][ \t]+(?i:yes|no|on|off|y|n|[-+]?0[0-9]+)[ \t]*(?:[,\]}#\r\n]|$)",
    re.MULTILINE,
)
_SEPARATOR = re.compile(r"^(?:---(?=[ \t]|\r?$)|\.\.\.[ \t]*\r?$)", re.MULTILINE)  # LF or CRLF
_CONTENT_LINE = re.compile(r"^[ \t]*[^ \t#\r\n]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Document:
    index: int  # 0-based among the non-empty documents of the file
    line: int  # 1-based line where the document's content starts
    data: Any


class YamlError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def parse_documents(text: str) -> list[Document]:
    """All non-empty documents of a YAML (or JSON) stream, with their start lines."""
    if not _YAML11_ONLY.search(text):
        try:
            return _parse_fast(text)
        except yaml_rs.YAMLDecodeError:
            pass  # libyaml reports it, with a line number
    return _parse_libyaml(text)


def _parse_fast(text: str) -> list[Document]:
    docs: list[Document] = []
    starts = [0] + [m.start() for m in _SEPARATOR.finditer(text)]
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[begin:end]
        if chunk.startswith(("---", "...")):
            chunk = "   " + chunk[3:]  # keep columns; the marker's line may hold content
        content = _CONTENT_LINE.search(chunk)
        if content is None:
            continue
        data = yaml_rs.loads(chunk, parse_datetime=False)
        if data is None:
            continue
        line = text.count("\n", 0, begin + content.start()) + 1
        docs.append(Document(len(docs), line, data))
    return docs


def _parse_libyaml(text: str) -> list[Document]:
    loader = _Loader(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is None:
                continue
            docs.append(Document(len(docs), node.start_mark.line + 1, data))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise YamlError(f"invalid YAML: {problem}", mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from exc
    finally:
        loader.dispose()
    return docs


def key_line(text: str, document: int, path: Sequence[str | int]) -> int | None:
    """Line of the deepest node along ``path`` in the ``document``-th non-empty document.

    Returns the line of the last path element that exists, so a message about a missing
    or wrong nested key still points near it.
    """
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=_Loader) if n is not None]
    except yaml.YAMLError:
        return None
    nodes = [n for n in nodes if not (isinstance(n, yaml.ScalarNode) and n.value == "")]
    if document >= len(nodes):
        return None
    node: yaml.Node = nodes[document]
    line = node.start_mark.line + 1
    for seg in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == seg:
                    line = key_node.start_mark.line + 1
                    child = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(seg, int) and seg < len(node.value):
            child = node.value[seg]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
