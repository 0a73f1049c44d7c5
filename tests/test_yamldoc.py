import codecs
import time
from pathlib import Path

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwatch import yamldoc
from driftwatch.yamldoc import YamlError, decode, key_line, parse_documents, parse_stream
from tests.corpora import CORPORA
from tests.hostile_documents import HOSTILE

CORPUS_FILES = sorted(CORPORA.rglob("*.yaml"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_fast_path_agrees_with_libyaml_on_real_manifests(path: Path) -> None:
    text = path.read_text()
    fast = yamldoc._parse_fast(text)
    slow = yamldoc._parse_libyaml(text)
    assert fast is not None and not slow.problems
    assert [(d.index, d.line, d.data) for d in fast] == [
        (d.index, d.line, d.data) for d in slow.documents
    ]


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


def test_crlf_document_separators_split_documents_as_libyaml_does() -> None:
    text = "# header only\n---\n---\na: 1\n--- {b: 2}\n...\n---\n# c\nc: 3\n".replace("\n", "\r\n")
    fast = yamldoc._parse_fast(text)
    assert [(d.index, d.line, d.data) for d in fast] == [
        (d.index, d.line, d.data) for d in yamldoc._parse_libyaml(text).documents
    ]
    assert [d.data for d in parse_documents(text)] == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_errors_carry_the_line() -> None:
    with pytest.raises(YamlError) as info:
        parse_documents("a: 1\nb: [2\n")
    assert info.value.line is not None and info.value.line >= 2


def test_key_line() -> None:
    text = "a: 1\n---\nkind: X\nspec:\n  items:\n  - name: x\n    value: 2\n"
    assert key_line(text, 1, ["spec", "items", 0, "value"]) == 7
    assert key_line(text, 1, ["spec", "missing"]) == 4


# Hostile documents (issue 10, item 5): each is reported with its line and key, skipped,
# and the good documents around it still load.

GOOD_BEFORE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before\n"
GOOD_AFTER = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n"
YAML_LEVEL = {name: case for name, case in HOSTILE.items() if case.yaml_level}


def between_good_documents(text: str) -> tuple[str, int]:
    """The stream good / ``text`` / good, and the line where ``text`` starts."""
    return f"{GOOD_BEFORE}---\n{text}---\n{GOOD_AFTER}", GOOD_BEFORE.count("\n") + 2


@pytest.mark.parametrize("name", sorted(YAML_LEVEL))
def test_a_hostile_document_is_a_located_problem_and_the_rest_loads(name: str) -> None:
    case = YAML_LEVEL[name]
    text, start = between_good_documents(case.text)
    started = time.monotonic()
    parsed = parse_stream(text)
    assert time.monotonic() - started < 1  # the alias bombs too: refused, never expanded
    assert [(d.index, d.data["metadata"]["name"]) for d in parsed.documents] == [
        (0, "before"),
        (2, "after"),  # the bad document keeps its index, so key_line still finds the rest
    ]
    (problem,) = parsed.problems
    assert (problem.line, problem.key, problem.warning) == (start + case.line - 1, case.key, False)
    assert case.message in problem.message
    with pytest.raises(YamlError) as info:  # whole-file readers refuse the file
        parse_documents(text)
    assert info.value.line == problem.line


def test_go_yaml_alias_rule_lets_ordinary_anchors_through() -> None:
    shared = "defaults: &d {cpu: 100m, memory: 64Mi}\n" + "".join(f"c{i}: *d\n" for i in range(300))
    (doc,) = parse_documents(shared)
    assert doc.data["c299"] == {"cpu": "100m", "memory": "64Mi"}


def test_the_403_byte_bomb_and_bigger_ones_are_refused_quickly() -> None:
    for levels, fan_out in ((9, 9), (12, 20), (30, 2)):
        lines = ["a0: &a0 [lol, lol]"] + [
            f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan_out) + "]" for i in range(1, levels)
        ]
        started = time.monotonic()
        parsed = parse_stream("\n".join(lines) + "\n")
        assert time.monotonic() - started < 1
        assert parsed.documents == [] and "aliases" in parsed.problems[0].message


def test_yaml_rs_never_sees_very_deep_block_nesting() -> None:
    # yaml-rs crashes the whole process (stack overflow) on ~20,000 levels: libyaml gets
    # such texts and stops at its own limit with an error naming the line.
    text = "- " * 30_000 + "x\n"
    with pytest.raises(YamlError) as info:
        parse_stream(text)
    assert info.value.line == 1 and "nesting" in info.value.message


def test_duplicate_keys_warn_and_the_last_value_wins() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\n"
    parsed = parse_stream(text)
    assert [d.data for d in parsed.documents] == [{"a": 1, "b": {"c": 2}}]
    (warning,) = parsed.problems
    assert (warning.line, warning.key, warning.warning) == (4, "b.c", True)
    assert parse_documents(text)[0].data == {"a": 1, "b": {"c": 2}}  # a warning only


def test_keys_overriding_merged_ones_are_not_duplicates() -> None:
    parsed = parse_stream("base: &b {a: 1, c: 1}\nother:\n  <<: *b\n  a: 2\n")
    assert parsed.problems == []
    assert parsed.documents[0].data["other"] == {"a": 2, "c": 1}


@pytest.mark.parametrize(
    "data, text",
    [
        (b"a: 1\n", "a: 1\n"),
        (b"\xef\xbb\xbfa: 1\n", "a: 1\n"),
        ("\ufeffa: \xe9\n".encode("utf-16-le"), "a: \xe9\n"),
        ("\ufeffa: \xe9\n".encode("utf-16-be"), "a: \xe9\n"),
        ("\ufeffa: \U0001f600\n".encode("utf-32-le"), "a: \U0001f600\n"),
    ],
)
def test_decode_reads_utf8_and_byte_order_marked_utf16_32(data: bytes, text: str) -> None:
    assert decode(data) == text


def test_decode_names_the_offset_and_line_of_an_invalid_byte() -> None:
    with pytest.raises(YamlError) as info:
        decode(b"a: 1\nb: caf\xe9\n")
    assert info.value.line == 2
    assert info.value.message == "not valid UTF-8: byte 0xe9 at offset 11 cannot be decoded"
    with pytest.raises(YamlError) as info:  # a lone surrogate in UTF-16
        decode(codecs.BOM_UTF16_LE + "a: 1\n".encode("utf-16-le") + b"\x00\xd8")
    assert info.value.line == 2 and "offset 12" in info.value.message


def test_many_documents_keep_their_lines() -> None:
    text = "".join(f"---\nn: {i}\n" for i in range(3000))
    docs = parse_documents(text)
    assert [(d.index, d.line, d.data["n"]) for d in docs[-2:]] == [
        (2998, 5998, 2998),
        (2999, 6000, 2999),
    ]


# Property tests: whatever the text, the reader raises nothing but YamlError, locates
# every problem, and hands on only what a Kubernetes object (JSON) can be.


def assert_json_like(data: object, depth: int = 1) -> None:
    assert depth <= yamldoc.MAX_DEPTH
    if isinstance(data, dict):
        assert all(type(k) is str for k in data)
        for value in data.values():
            assert_json_like(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            assert_json_like(value, depth + 1)


YAML_TOKENS = [*"ab1~ :-?&*!|>[]{},'\"#\n\t.<=%@`\\", "yes", "---", "\ufeff"]
YAMLISH = st.lists(st.sampled_from(YAML_TOKENS), max_size=80).map("".join)


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_any_text_is_documents_problems_or_one_yaml_error(text: str) -> None:
    try:
        parsed = parse_stream(text)
    except YamlError as exc:
        assert exc.line is None or exc.line >= 1
        return
    for doc in parsed.documents:
        assert_json_like(doc.data)
        orjson.dumps({"docs": [[doc.index, doc.line, doc.data]]})  # what the cache stores
    assert all(p.line >= 1 for p in parsed.problems)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_decode_or_name_where_they_fail(data: bytes) -> None:
    try:
        decode(data)
    except YamlError as exc:
        assert exc.line is not None and exc.line >= 1 and "at offset" in exc.message


KEYS = st.one_of(
    st.text(alphabet="abc", min_size=1, max_size=3),
    st.integers(-3, 3),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
)
VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(alphabet="xyz ", max_size=4)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


def unloadable(value: object) -> bool:
    """Whether a Kubernetes object (JSON, 64-bit integers) could not hold ``value``."""
    if isinstance(value, dict):
        return any(type(k) is not str or unloadable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unloadable(v) for v in value)
    return type(value) is int and not -(2**63) <= value < 2**64


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=4), st.booleans())
def test_weird_keys_are_reported_and_the_neighbours_still_load(
    middle: dict[object, object], flow: bool
) -> None:
    body = yaml.safe_dump(middle, default_flow_style=flow)
    text, start = between_good_documents(body)
    parsed = parse_stream(text)
    names = [d.data["metadata"]["name"] for d in parsed.documents if "metadata" in d.data]
    assert names == ["before", "after"]
    errors = [p for p in parsed.problems if not p.warning]
    if unloadable(middle):
        (error,) = errors
        assert start <= error.line < start + body.count("\n")
        assert "string keys only" in error.message or "64 bits" in error.message
    else:
        assert errors == [] and len(parsed.documents) == 3
        assert parsed.documents[1].data == middle
