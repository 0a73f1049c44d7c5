"""What a plan means for each file's data, to check its texts against.

Every text edit of a plan is recorded as an :class:`Edit` on the file's data.  Before
anything is written, each edited file is read back with driftwatch's own YAML reader
and compared, strictly (types included), with the data it had at the audited commit with
exactly those edits applied (:func:`problem`).  A text splice that went wrong in any way
(a value that reads back differently, a document that no longer parses, a neighbour
that changed) is found here, whatever its cause.  Pure functions of data and texts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from driftwatch.reconcile.textedit import identical
from driftwatch.textsafe import printable
from driftwatch.yamldoc import YamlError, parse_documents

Key = str | int


@dataclass(frozen=True)
class Edit:
    """One change to a file's documents.

    * ``set`` — ``path`` of ``document`` becomes ``value`` (missing maps are created; the
      index ``len(list)`` appends);
    * ``delete`` — ``path`` of ``document`` goes, and a map or list it leaves empty too;
    * ``remove_document`` — the ``document``-th document goes;
    * ``append_document`` — ``value`` is added as a new last document;
    * ``append_items`` — the items ``value`` are added to the top-level list ``path[0]``
      of the first document (created, like the document, when absent);
    * ``replace`` — the file's documents become the list ``value``.
    """

    op: str
    document: int = 0
    path: tuple[Key, ...] = ()
    value: Any = None


def apply(documents: list[Any], edits: list[Edit]) -> list[Any]:
    """The documents with ``edits`` applied in order (a copy)."""
    docs = copy.deepcopy(documents)
    for edit in edits:
        if edit.op == "replace":
            docs = copy.deepcopy(list(edit.value))
        elif edit.op == "append_document":
            docs.append(copy.deepcopy(edit.value))
        elif edit.op == "remove_document":
            del docs[edit.document]
        elif edit.op == "append_items":
            if not docs:
                docs.append({})
            key = edit.path[0]
            current = docs[0].get(key)
            docs[0][key] = [*(current or []), *copy.deepcopy(edit.value)]
        elif edit.op == "set":
            _set(docs[edit.document], edit.path, copy.deepcopy(edit.value))
        elif edit.op == "delete":
            _delete(docs[edit.document], edit.path)
        else:
            raise ValueError(f"unknown edit {edit.op!r}")
    return docs


def _set(node: Any, path: tuple[Key, ...], value: Any) -> None:
    for seg in path[:-1]:
        if isinstance(node, dict) and seg not in node:
            node[seg] = {}
        node = node[seg]
    last = path[-1]
    if isinstance(node, list) and last == len(node):
        node.append(value)
    else:
        node[last] = value


def _delete(root: Any, path: tuple[Key, ...]) -> None:
    parent = root
    for seg in path[:-1]:
        parent = parent[seg]
    if len(parent) == 1 and len(path) > 1:  # an emptied map or list goes with it
        _delete(root, path[:-1])
        return
    del parent[path[-1]]


def problem(path: str, before: str, after: str | None, edits: list[Edit]) -> str | None:
    """Why ``after`` is not ``before`` with exactly ``edits`` applied; None when it is."""
    where = printable(path)
    try:
        start = [d.data for d in parse_documents(before)]
    except YamlError as exc:
        line = f", line {exc.line}" if exc.line else ""
        return f"{where}: the audited file does not parse ({exc.message}{line})"
    try:
        intended = apply(start, edits)
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        return f"{where}: the planned edits do not fit the file ({type(exc).__name__}: {exc})"
    if after is None:
        return None if not intended else f"{where}: would be deleted, but documents remain"
    try:
        after.encode("utf-8")
        written = [d.data for d in parse_documents(after)]
    except UnicodeEncodeError as exc:
        return f"{where}: the edited text cannot be written as UTF-8 ({exc.reason})"
    except YamlError as exc:
        line = f", line {exc.line}" if exc.line else ""
        return f"{where}: the edited file would not parse ({exc.message}{line})"
    if not identical(written, intended):
        return f"{where}: the edited file would not read back as the intended data{_first_difference(written, intended)}"
    return None


def _first_difference(written: list[Any], intended: list[Any]) -> str:
    if len(written) != len(intended):
        return f" ({len(written)} document(s) instead of {len(intended)})"
    for index, (a, b) in enumerate(zip(written, intended, strict=True)):
        found = _differs_at(a, b, ())
        if found is not None:
            dotted = ".".join(map(str, found)) or "the whole document"
            return f" (document {index}, at {printable(dotted)})"
    return ""


def _differs_at(a: Any, b: Any, path: tuple[Key, ...]) -> tuple[Key, ...] | None:
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        for key in a:
            found = _differs_at(a[key], b[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _differs_at(x, y, (*path, i))
            if found is not None:
                return found
        return None
    return None if identical(a, b) else path
