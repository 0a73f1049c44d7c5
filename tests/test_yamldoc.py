from pathlib import Path

import pytest

from driftwatch import yamldoc
from driftwatch.yamldoc import YamlError, key_line, parse_documents
from tests.corpora import CORPORA

CORPUS_FILES = sorted(CORPORA.rglob("*.yaml"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_fast_path_agrees_with_libyaml_on_real_manifests(path: Path) -> None:
    text = path.read_text()
    fast = yamldoc._parse_fast(text)
    slow = yamldoc._parse_libyaml(text)
    assert fast is not None and not slow.problems
    assert [(d.index, d.line, d.data) for d in fast] == [(d.index, d.line, d.data) for d in slow.documents]


def test_corpus_is_big_enough_to_mean_something() -> None:
    assert len(CORPUS_FILES) >= 40


@pytest.mark.parametrize(
    "text, expected",
    [
        ("enabled: yes\n", {"enabled": True}),  # YAML 1.1 boolean, as Kubernetes reads it
        ("mode: 0644\n", {"mode": 420}),  # YAML 1.1 octal
        (
            "base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n",
            {"base": {"a": 1}, "other": {"a": 1, "c": 2}},
        ),
        ("date: 2024-01-01\n", {"date": "2024-01-01"}),  # timestamps stay strings
        ("name: 'yes'\n", {"name": "yes"}),
    ],
)
def test_yaml_1_1_meanings(text: str, expected: object) -> None:
    (doc,) = parse_documents(text)
    assert doc.data == expected


def test_document_lines_and_empty_documents() -> None:
    text = "# header only\n---\n---\na: 1\n--- {b: 2}\n...\n---\n# c\nc: 3\n"
    docs = parse_documents(text)
    assert [(d.index, d.line, d.data) for d in docs] == [
        (0, 4, {"a": 1}),
        (1, 5, {"b": 2}),
        (2, 9, {"c": 3}),
    ]


def test_errors_carry_the_line() -> None:
    with pytest.raises(YamlError) as info:
        parse_documents("a: 1\nb: [2\n")
    assert info.value.line is not None and info.value.line >= 2


def test_key_line() -> None:
    text = "a: 1\n---\nkind: X\nspec:\n  items:\n  - name: x\n    value: 2\n"
    assert key_line(text, 1, ["spec", "items", 0, "value"]) == 7
    assert key_line(text, 1, ["spec", "missing"]) == 4
