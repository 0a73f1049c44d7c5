"""YAML reading with the positions users need in messages: document start lines and key lines.

Parsing is the hot path of a scan.  Documents are parsed by ``yaml-rs`` (Rust, ~10x
faster than libyaml) when the text has nothing whose meaning differs between YAML 1.1
(what Kubernetes' go-yaml and PyYAML follow) and 1.2 — ``yes``/``on`` booleans, octal
``0755``, ``<<`` merge keys, directives — and by libyaml (``CSafeLoader``) otherwise, or
when yaml-rs refuses the text (so errors always carry libyaml's line numbers).  Only each
document's start line is kept; the line of a particular key is looked up on demand
(:func:`key_line`), for the few documents that have an error or a finding.

Files come from untrusted repos, so a document is only handed on when it is what a
Kubernetes object (JSON) can be: string keys only, JSON values only (no ``!!set``,
``!!binary`` or custom tags; integers within 64 bits), at most :data:`MAX_DEPTH` levels
deep, and no alias "bomb" (expansion is capped with go-yaml's rule, which Kubernetes
uses).  A document that is not is skipped with a :class:`Problem` naming its line and
key, and the other documents of the file still load.  Only a syntax error (after which a
YAML stream cannot be resynchronised) fails the whole file, as a :class:`YamlError`.
Texts that might hold what yaml-rs cannot be trusted with (aliases, tags, very deep
lines, long numbers) go to libyaml, whose node graph is checked before anything is
constructed; yaml-rs output gets a quick walk for keys and depth.  Duplicate keys are
warnings: the document loads, with the last value.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
import yaml_rs

# Part of every cache key holding parsed YAML: bump it when parsing semantics change.
PARSER_VERSION = "4"

# Deepest nesting of maps and lists a document may have.  Real manifests (CRD schemas
# included) stay far below; orjson, which writes the caches, refuses more than 254.
MAX_DEPTH = 200


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
# A line indented (or led by ``- ``/``? ``/``: `` indicators) this far may nest deeper
# than yaml-rs survives (it crashes the process on very deep block nesting): libyaml
# then parses it, and stops at its own nesting limit with an error.
_DEEP_LINE = re.compile(r"^[ \t?:-]{100}", re.MULTILINE)
# Integers past 64 bits (which orjson, and Kubernetes, cannot hold) have at least 19
# digits: libyaml's path checks them.
_LONG_NUMBER = re.compile(r"[0-9]{19}|0[xX][0-9a-fA-F]{16}")
_INT_RANGE = (-(2**63), 2**64 - 1)
# yaml-rs reads `!!set` as a Python set and drops `!Custom` tags: libyaml refuses both.
_TAG = re.compile(r"(?:^|[ \t\[{,])![^ \t\r\n]", re.MULTILINE)
_SEPARATOR = re.compile(r"^(?:---(?=[ \t]|\r?$)|\.\.\.[ \t]*\r?$)", re.MULTILINE)  # LF or CRLF
_CONTENT_LINE = re.compile(r"^[ \t]*[^ \t#\r\n]", re.MULTILINE)

_STR_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:value"})
# What JSON (so a Kubernetes object) can hold: `!!binary`, `!!set`, `!!timestamp`… cannot.
_JSON_TAGS = frozenset(
    {
        *_STR_TAGS,
        *(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "map", "seq")),
    }
)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
_TAG_NAMES = {
    "tag:yaml.org,2002:int": "an int",
    "tag:yaml.org,2002:float": "a float",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
}


@dataclass(frozen=True, slots=True)
class Document:
    index: int  # 0-based among the non-empty documents of the file
    line: int  # 1-based line where the document's content starts
    data: Any


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a document was skipped (or, for a warning, loaded with a caveat)."""

    line: int
    message: str
    key: str | None = None  # dotted path of the offending key
    warning: bool = False


@dataclass(frozen=True, slots=True)
class Parsed:
    documents: list[Document]
    problems: list[Problem]


class YamlError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """A file's text: UTF-8, or UTF-16/32 with a byte-order mark (as kubectl reads files).

    Never guesses: anything else is a :class:`YamlError` naming the byte offset.
    """
    bom, encoding = next(((b, e) for b, e in _BOMS if data.startswith(b)), (b"", "utf-8"))
    try:
        return data[len(bom) :].decode(encoding)
    except UnicodeDecodeError as exc:
        offset = len(bom) + exc.start
        before = data[len(bom) : offset].decode(encoding, "replace")
        raise YamlError(
            f"not valid {encoding.upper()}: byte 0x{data[offset]:02x} at offset {offset}"
            " cannot be decoded",
            before.count("\n") + 1,
        ) from exc


def parse_documents(text: str) -> list[Document]:
    """All non-empty documents of a YAML (or JSON) stream, with their start lines.

    For whole-file readers (config, policies under test, reconcile): any bad document is
    a :class:`YamlError`.  Loaders that go on past a bad document use :func:`parse_stream`.
    """
    parsed = parse_stream(text)
    for problem in parsed.problems:
        if not problem.warning:
            where = f"{problem.key}: " if problem.key else ""
            raise YamlError(where + problem.message, problem.line)
    return parsed.documents


def parse_stream(text: str) -> Parsed:
    """The good documents of a stream and the problems of the others (see the module doc)."""
    if _fast_path_fits(text):
        try:
            docs = _parse_fast(text)
        except (yaml_rs.YAMLDecodeError, TypeError, ValueError):
            # yaml-rs refuses it (TypeError: it builds an unhashable key): libyaml reports
            # what is wrong, with a line number.
            docs = None
        if docs is not None:
            return Parsed(docs, [])
    return _parse_libyaml(text)


def _fast_path_fits(text: str) -> bool:
    """Whether yaml-rs may read ``text``: nothing in it that libyaml must check first."""
    # yaml-rs expands aliases into copies, so an alias bomb would blow up inside it:
    # texts that may hold one go to libyaml, which shares what an alias refers to.
    may_alias = "&" in text and "*" in text
    return not (
        may_alias
        or _TAG.search(text)
        or _YAML11_ONLY.search(text)
        or _DEEP_LINE.search(text)
        or _LONG_NUMBER.search(text)
    )


def _parse_fast(text: str) -> list[Document] | None:
    """The documents, or None when one needs libyaml's checks to say what is wrong."""
    docs: list[Document] = []
    starts = [0] + [m.start() for m in _SEPARATOR.finditer(text)]
    lines_before = 0  # counted chunk by chunk: counting from 0 each time is quadratic
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[begin:end]
        newlines = chunk.count("\n")
        if chunk.startswith(("---", "...")):
            chunk = "   " + chunk[3:]  # keep columns; the marker's line may hold content
        content = _CONTENT_LINE.search(chunk)
        if content is not None:
            data = yaml_rs.loads(chunk, parse_datetime=False)
            if data is not None:
                if not _is_json_like(data):
                    return None
                line = lines_before + chunk.count("\n", 0, content.start()) + 1
                docs.append(Document(len(docs), line, data))
        lines_before += newlines
    return docs


def _is_json_like(value: Any, depth: int = 1) -> bool:
    """String keys only and at most MAX_DEPTH levels (yaml-rs output has no shared parts).

    Recursive, as that is several times faster than a stack here; the depth check
    bounds the recursion.
    """
    if type(value) is dict:
        if depth > MAX_DEPTH:
            return False
        for key, child in value.items():
            if type(key) is not str:
                return False
            if type(child) in _CONTAINERS and not _is_json_like(child, depth + 1):
                return False
    elif type(value) is list:
        if depth > MAX_DEPTH:
            return False
        for child in value:
            if type(child) in _CONTAINERS and not _is_json_like(child, depth + 1):
                return False
    return True


_CONTAINERS = (dict, list)


def _parse_libyaml(text: str) -> Parsed:
    loader = _Loader(text)
    docs: list[Document] = []
    problems: list[Problem] = []
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            error, warnings = _check_node(node, loader)
            problems += warnings
            if error is not None:
                problems.append(error)
                index += 1
                continue
            try:
                data = loader.construct_document(node)
            except yaml.MarkedYAMLError as exc:  # e.g. a merge of something not a map
                _reset_constructor(loader)
                mark = exc.problem_mark or exc.context_mark
                line = mark.line + 1 if mark else node.start_mark.line + 1
                problems.append(Problem(line, f"invalid YAML: {exc.problem or exc}"))
                index += 1
                continue
            except (ValueError, IndexError, KeyError, TypeError) as exc:
                # PyYAML's own failures on explicitly tagged values (`!!int ""`, `!!bool x`)
                _reset_constructor(loader)
                problems.append(
                    Problem(
                        node.start_mark.line + 1,
                        f"invalid YAML: a value does not fit its tag ({exc!r})",
                    )
                )
                index += 1
                continue
            if data is None:
                continue
            docs.append(Document(index, node.start_mark.line + 1, data))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise YamlError(f"invalid YAML: {problem}", mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from exc
    finally:
        loader.dispose()
    return Parsed(docs, problems)


def _reset_constructor(loader: _Loader) -> None:
    """What ``construct_document`` clears when it ends normally."""
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []
    loader.deep_construct = False


def _allowed_alias_ratio(decoded: int) -> float:
    """go-yaml's ``allowedAliasRatio``: 99% of nodes may come from aliases in documents of
    up to 400,000 nodes, scaling down to 10% at 4,000,000."""
    low, high = 400_000, 4_000_000
    if decoded <= low:
        return 0.99
    if decoded >= high:
        return 0.10
    return 0.99 - 0.89 * (decoded - low) / (high - low)


def _check_node(root: yaml.Node, loader: _Loader) -> tuple[Problem | None, list[Problem]]:
    """The first reason this document cannot be a Kubernetes object, and duplicate keys."""
    check = _NodeCheck(root, loader)
    found = check.visit(root, 1, False)
    warnings = [
        Problem(
            key.start_mark.line + 1,
            f"duplicate key {key.value!r}: the last value is used",
            _dotted(_path_to(root, key)),
            warning=True,
        )
        for key in check.duplicates
    ]
    if found is None:
        return None, warnings
    node, message, name_key = found
    key = _dotted(_path_to(root, node)) if name_key else None
    return Problem(node.start_mark.line + 1, message, key), warnings


def _path_to(root: yaml.Node, target: yaml.Node) -> list[str | int]:
    """The keys and indexes leading to ``target`` (a node, or a mapping's key node)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, list[str | int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if node is target or id(node) in seen:
            if node is target:
                return path
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, [*path, i]) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                label = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                if key_node is target:
                    return [*path, label]
                if key_node.tag == _MERGE_TAG:
                    stack.append((value_node, path))
                else:
                    stack.append((value_node, [*path, label]))
    return []


class _NodeCheck:
    """Walks a document as construction would expand it (an alias re-visits what it
    refers to), counting nodes the way go-yaml does to refuse excessive aliasing."""

    __slots__ = ("aliased", "decoded", "duplicates", "loader", "root", "seen")

    def __init__(self, root: yaml.Node, loader: _Loader) -> None:
        self.root = root  # blamed for too much aliasing: where it tips over says little
        self.loader = loader  # reads the value of long integers
        self.seen: set[int] = set()
        self.decoded = self.aliased = 0
        self.duplicates: list[yaml.Node] = []  # key nodes

    def visit(
        self, node: yaml.Node, depth: int, in_alias: bool
    ) -> tuple[yaml.Node, str, bool] | None:
        """None, or the node to blame, why, and whether its key path helps the user."""
        if id(node) in self.seen:
            in_alias = True
        else:
            self.seen.add(id(node))
        self.decoded += 1
        self.aliased += in_alias
        if (
            self.aliased > 100
            and self.decoded > 1000
            and self.aliased / self.decoded > _allowed_alias_ratio(self.decoded)
        ):
            return (
                self.root,
                (
                    f"document expands aliases too much (over {self.decoded} nodes, "
                    f"{self.aliased} of them from aliases): not loaded"
                ),
                False,
            )
        if node.tag not in _JSON_TAGS and node.tag != _MERGE_TAG:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            return node, f"tag {tag} is not a JSON value: not loaded", True
        if type(node) is yaml.ScalarNode:
            if node.tag == _INT_TAG and len(node.value) >= 19:
                try:
                    value = self.loader.construct_yaml_int(node)
                except ValueError:  # an explicit `!!int` on what is not one
                    return node, f"{node.value!r} is not an integer: not loaded", True
                if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
                    return node, f"{node.value} does not fit in 64 bits: not loaded", True
            return None
        if depth > MAX_DEPTH:
            return node, f"document nests deeper than {MAX_DEPTH} levels: not loaded", False
        if type(node) is yaml.SequenceNode:
            for child in node.value:
                if (found := self.visit(child, depth + 1, in_alias)) is not None:
                    return found
            return None
        keys: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # `<<: *base` merges at this level, but counts as one more: a mapping
                # merging itself would otherwise recurse without end.
                if (found := self.visit(value_node, depth + 1, in_alias)) is not None:
                    return found
                continue
            if not (type(key_node) is yaml.ScalarNode and key_node.tag in _STR_TAGS):
                message = (
                    f"key {_describe_key(key_node)}: Kubernetes objects have string keys"
                    " only (quote it): document not loaded"
                )
                return key_node, message, True
            if key_node.value in keys and not in_alias:
                self.duplicates.append(key_node)
            keys.add(key_node.value)
            if (found := self.visit(value_node, depth + 1, in_alias)) is not None:
                return found
        return None


def _describe_key(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "is a map"
    if isinstance(node, yaml.SequenceNode):
        return "is a list"
    kind = _TAG_NAMES.get(node.tag, f"tagged {node.tag}")
    return f"{node.value!r} is {kind}, not a string"


def _dotted(path: Sequence[str | int]) -> str | None:
    return ".".join(map(str, path)) or None


def document_nodes(text: str) -> list[yaml.Node]:
    """The composed nodes of the documents :func:`parse_documents` returns, in order: a
    null document (empty, ``~``) is skipped by both, a ``''`` document by neither."""
    nodes = [n for n in yaml.compose_all(text, Loader=_Loader) if n is not None]
    return [n for n in nodes if not (isinstance(n, yaml.ScalarNode) and n.tag == _NULL_TAG)]


_NULL_TAG = "tag:yaml.org,2002:null"


@functools.lru_cache(maxsize=4)
def _composed(text: str) -> list[yaml.Node] | None:
    """The document nodes of ``text``, composed once for all its key lookups."""
    try:
        return document_nodes(text)
    except yaml.YAMLError:
        return None


def key_line(text: str, document: int, path: Sequence[str | int]) -> int | None:
    """Line of the deepest node along ``path`` in the ``document``-th non-empty document.

    Returns the line of the last path element that exists, so a message about a missing
    or wrong nested key still points near it.
    """
    nodes = _composed(text)
    if nodes is None or document >= len(nodes):
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
