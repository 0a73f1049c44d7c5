from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwatch.engine.paths import (
    ItemKey,
    format_path,
    from_pointer,
    get,
    parse_path,
    resolve,
    to_jq,
)


@pytest.mark.parametrize(
    "path, text",
    [
        (("spec", "replicas"), "spec.replicas"),
        (
            ("spec", "containers", ItemKey((("name", "web"),)), "image"),
            "spec.containers[name=web].image",
        ),
        (
            ("metadata", "labels", "app.kubernetes.io/name"),
            'metadata.labels["app.kubernetes.io/name"]',
        ),
        (("spec", "args", 2), "spec.args[2]"),
        (
            ("ports", ItemKey((("containerPort", 80), ("protocol", "TCP")))),
            "ports[containerPort=80,protocol=TCP]",
        ),
        (("env", ItemKey((("name", "A B"),)), "value"), 'env[name="A B"].value'),
    ],
)
def test_format_and_parse_round_trip(path: tuple[object, ...], text: str) -> None:
    assert format_path(path) == text  # type: ignore[arg-type]
    assert parse_path(text) == path


@given(
    st.lists(
        st.one_of(
            st.text(min_size=1),
            st.integers(min_value=0, max_value=10**6),
            st.lists(
                st.tuples(
                    st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,6}", fullmatch=True),
                    st.one_of(st.text(), st.integers(), st.booleans(), st.none()),
                ),
                min_size=1,
                max_size=2,
                unique_by=lambda kv: kv[0],
            ).map(lambda kvs: ItemKey(tuple(kvs))),
        ),
        max_size=5,
    )
)
def test_any_path_round_trips(segments: list[Any]) -> None:
    """Item keys such as ``name: "123"``, ``"true"`` or ``"NaN"`` (valid container and
    env names) stay strings: reconcile finds the item, ignore rules select it."""
    path = tuple(segments)
    assert parse_path(format_path(path)) == path


@pytest.mark.parametrize(
    "name", ["123", "true", "null", "NaN", "Infinity", "1e999", "-1", "a]b", "]", "0]"]
)
def test_an_item_named_like_a_json_value_is_quoted(name: str) -> None:
    path = ("spec", "containers", ItemKey((("name", name),)), "image")
    assert format_path(path) == f'spec.containers[name="{name}"].image'
    assert parse_path(format_path(path)) == path


def test_parse_rejects_garbage_with_position() -> None:
    with pytest.raises(ValueError, match="character 5"):
        parse_path("spec.!bad")


def test_pointer_and_resolve() -> None:
    obj = {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "x"}]}}
    assert from_pointer("/spec/containers/1/image") == ("spec", "containers", 1, "image")
    assert from_pointer("/metadata/annotations/a~1b") == ("metadata", "annotations", "a/b")
    keyed = ("spec", "containers", ItemKey((("name", "b"),)), "image")
    assert list(resolve(obj, keyed)) == [("spec", "containers", 1, "image")]
    assert get(obj, keyed) == "x"
    assert get(obj, ("spec", "containers", ItemKey((("name", "zzz"),)))) is None


@pytest.mark.parametrize(
    "path",
    [
        ("spec", "replicas"),
        ("metadata", "annotations", "$ENV"),  # a key, not jq's variable
        ("metadata", "annotations", "a| [b"),
        ("metadata", "labels", "app.kubernetes.io/name"),
        ("spec", "containers", ItemKey((("name", "web| [x"),)), "env"),
        (ItemKey((("name", "first"),)), "value"),
        ("spec", "args", 1),
    ],
)
def test_to_jq_selects_exactly_the_path_and_is_allowed(path: tuple[Any, ...]) -> None:
    """Reconcile writes these into driftwatch.yaml: they must load and select the path,
    whatever the keys of the live object are."""
    from driftwatch.engine.jqsandbox import Sandbox, forbidden_use

    obj: Any = {
        "metadata": {
            "annotations": {"$ENV": "1", "a| [b": "2"},
            "labels": {"app.kubernetes.io/name": "web"},
        },
        "spec": {"replicas": 1, "containers": [{"name": "web| [x", "env": []}], "args": [0, 1]},
    }
    if isinstance(path[0], ItemKey):
        obj = [{"name": "first", "value": 1}]
    expression = to_jq(path)
    assert forbidden_use(expression) is None
    concrete = next(resolve(obj, path))
    sandbox = Sandbox()
    try:
        (outcome,) = sandbox.paths([(expression, obj)])
    finally:
        sandbox.close()
    assert outcome.paths == [concrete]
