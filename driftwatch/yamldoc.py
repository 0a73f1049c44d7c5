"""YAML reading with the positions users need in messages: document start lines and key lines.

Parsing is the hot path of a scan, so documents are built with libyaml (``CSafeLoader``)
and only their start line is kept.  The line of a particular key is looked up on demand
(:func:`key_line`), for the few documents that have an error or a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's loader: 7x faster than the pure-Python one (PyYAML ships it in its wheels).
_Loader = yaml.CSafeLoader


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
