"""Text edits touch only the lines they must: checked on every value of a formatting corpus.

The corpus is hand-formatted files (CRLF, comments, flow style, anchors, folded and literal
strings, explicit document ends) plus every upstream Kubernetes example.  For each value
the edit's result must parse to exactly the expected data, and the line diff must be the
minimal one: one line replaced, lines only added, or lines only removed.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.reconcile.textedit import EditError, delete_at, remove_document, set_value
from tests.corpora import CORPORA

HERE = Path(__file__).parent / "formatting"
UPSTREAM = sorted((CORPORA / "k8s-examples").rglob("*.yaml"))
FILES = sorted(HERE.glob("*.yaml")) + UPSTREAM
PER_DOCUMENT = 60  # values edited per document (every value of most)

Path_ = tuple[str | int, ...]


def documents(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]


def leaves(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key != "<<":
                yield from leaves(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from leaves(value, (*path, i))
    elif path:
        yield path, data


def maps(data: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(data, dict):
        yield path
        for key, value in data.items():
            if isinstance(key, str):
                yield from maps(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from maps(value, (*path, i))


def at(data: Any, path: Path_) -> Any:
    for seg in path:
        data = data[seg]
    return data


def line_ops(before: str, after: str) -> list[str]:
    matcher = difflib.SequenceMatcher(
        None, before.splitlines(keepends=True), after.splitlines(keepends=True), autojunk=False
    )
    return [tag for tag, *_ in matcher.get_opcodes() if tag != "equal"]


def cases() -> Iterator[Any]:
    for file in FILES:
        text = file.read_bytes().decode()
        try:
            docs = documents(text)
        except yaml.YAMLError:
            continue
        name = file.name if file.parent == HERE else str(file.relative_to(CORPORA))
        yield pytest.param(file, text, docs, id=name)


def edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return "edited-by-driftwatch"


@pytest.mark.parametrize(("file", "text", "docs"), list(cases()))
def test_every_edit_is_minimal_and_exact(file: Path, text: str, docs: list[Any]) -> None:
    checked = 0
    for index, data in enumerate(docs):
        for path, value in list(leaves(data))[:PER_DOCUMENT]:
            # replace a scalar: one line changes
            try:
                after = set_value(text, index, path, edited(value))
            except EditError as exc:
                assert "anchor" in str(exc) or "block scalar" in str(exc), exc
                continue
            expected = copy.deepcopy(docs)
            parent = at(expected[index], path[:-1])
            parent[path[-1]] = edited(value)
            assert documents(after) == expected, path
            assert line_ops(text, after) == ["replace"], path
            if "\r\n" in text:
                assert "\r\n" in after and "\n" not in after.replace("\r\n", "")

            # delete it: lines are only removed (an emptied map or list goes too)
            try:
                after = delete_at(text, index, path)
            except EditError as exc:
                assert "anchor" in str(exc) or "its line" in str(exc), exc
                continue
            expected = copy.deepcopy(docs)
            cut = path
            while len(cut) > 1 and len(at(expected[index], cut[:-1])) == 1:
                cut = cut[:-1]
            del at(expected[index], cut[:-1])[cut[-1]]
            assert documents(after) == expected, path
            assert set(line_ops(text, after)) <= {"delete", "replace"}, path
            checked += 1
        for path in list(maps(data))[:PER_DOCUMENT]:
            # insert a key: lines are only added (or a flow map grows on its line)
            try:
                after = set_value(text, index, (*path, "addedByDriftwatch"), {"x": [1, "two"]})
            except EditError as exc:
                assert "anchor" in str(exc), exc
                continue
            expected = copy.deepcopy(docs)
            at(expected[index], path)["addedByDriftwatch"] = {"x": [1, "two"]}
            assert documents(after) == expected, path
            assert line_ops(text, after) in (["insert"], ["replace"]), path
    assert checked, f"{file}: nothing was edited"


def test_list_items_are_appended_and_removed_in_the_lists_style() -> None:
    text = (HERE / "folded.yaml").read_text()
    after = set_value(text, 1, ("spec", "ports", 2), {"name": "metrics", "port": 9090})
    assert documents(after)[1]["spec"]["ports"][2] == {"name": "metrics", "port": 9090}
    assert "  - name: metrics\n    port: 9090\n" in after
    assert line_ops(text, after) == ["insert"]
    after = delete_at(text, 1, ("spec", "ports", 1))
    assert [p["name"] for p in documents(after)[1]["spec"]["ports"]] == ["http"]
    assert "# TLS" not in after and "...\n" in after


def test_aliases_are_refused_and_documents_removed_whole() -> None:
    text = (HERE / "anchors.yaml").read_text()
    with pytest.raises(EditError, match="anchor"):
        set_value(text, 0, ("spec", "selector", "matchLabels", "app"), "other")
    folded = (HERE / "folded.yaml").read_text()
    assert documents(remove_document(folded, 0)) == documents(folded)[1:]
    assert "A long description" not in remove_document(folded, 0)
