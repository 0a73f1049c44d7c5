from collections.abc import Sequence
from typing import Any

from driftwatch.engine.diff import SET_KEYS, DiffRules, diff
from driftwatch.engine.paths import ItemKey, Path
from driftwatch.report import Op


def _keys(path: Path, items: Sequence[Any]) -> tuple[str, ...] | None:
    """A provider's answer: the list at ``containers`` is keyed by name, ``tags`` a set."""
    return {"containers": ("name",), "tags": SET_KEYS}.get(str(path[-1])) if path else None


DIFF_RULES = DiffRules(list_keys=_keys)


def test_fields_only_live_has_are_reported_per_key_as_added() -> None:
    changes = diff({"a": 1}, {"a": 1, "b": {"c": 1, "d": [2]}})
    assert [(c.path, c.op, c.live) for c in changes] == [
        (("b", "c"), Op.ADDED, 1),
        (("b", "d"), Op.ADDED, [2]),
    ]


def test_removed_and_changed() -> None:
    changes = diff({"a": 1, "b": 2}, {"a": 3})
    assert {(c.path, c.op) for c in changes} == {(("a",), Op.CHANGED), (("b",), Op.REMOVED)}


def test_empty_desired_containers_equal_absent_live() -> None:
    assert diff({"metadata": {"annotations": {}}, "env": []}, {"metadata": {}}) == []


def test_keyed_lists_match_by_key_not_index() -> None:
    desired = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}
    live = {"containers": [{"name": "b", "image": "2"}, {"name": "a", "image": "9"}, {"name": "c"}]}
    changes = diff(desired, live, DIFF_RULES)
    assert [(c.path, c.op) for c in changes] == [
        (("containers", ItemKey((("name", "a"),)), "image"), Op.CHANGED),
        (("containers", ItemKey((("name", "c"),))), Op.ADDED),
    ]


def test_the_provider_decides_per_path_not_per_field_name() -> None:
    nested = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    reordered = {"spec": {"containers": [{"name": "b"}, {"name": "a"}]}}
    assert diff(nested, reordered, DIFF_RULES) == []
    assert diff({"x": [{"name": "a"}, {"name": "b"}]}, {"x": [{"name": "b"}, {"name": "a"}]})


def test_sets_compare_by_value_in_any_order() -> None:
    assert diff({"tags": ["a", "b"]}, {"tags": ["b", "a"]}, DIFF_RULES) == []
    changes = diff({"tags": ["a", "b"]}, {"tags": ["b", "c"]}, DIFF_RULES)
    assert [(c.path, c.op) for c in changes] == [
        (("tags", ItemKey((("$value", "a"),))), Op.REMOVED),
        (("tags", ItemKey((("$value", "c"),))), Op.ADDED),
    ]


def test_atomic_list_of_other_length_changes_as_a_whole() -> None:
    changes = diff({"args": ["a", "b"]}, {"args": ["a"]}, DiffRules())
    assert [(c.path, c.op, c.desired, c.live) for c in changes] == [
        (("args",), Op.CHANGED, ["a", "b"], ["a"])
    ]


def test_atomic_list_same_length_compares_items() -> None:
    changes = diff({"args": ["a", "b"]}, {"args": ["a", "c"]})
    assert [(c.path, c.op) for c in changes] == [(("args", 1), Op.CHANGED)]


def test_an_empty_value_only_live_has_is_no_difference() -> None:
    live = {"resources": {}, "metadata": {"creationTimestamp": None}, "args": [], "x": 1}
    assert [(c.path, c.op) for c in diff({}, live)] == [(("x",), Op.ADDED)]


def test_repeated_keys_identify_nothing_so_the_list_is_compared_by_position() -> None:
    """Duplicate env names are stored (with a warning, kubernetes pkg/api/pod/warnings.go);
    a list keyed by a field its items lack repeats the empty key."""
    desired = {"containers": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]}
    assert (
        diff(desired, {"containers": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]}, DIFF_RULES)
        == []
    )
    changes = diff(
        desired, {"containers": [{"name": "a", "v": 1}, {"name": "a", "v": 3}]}, DIFF_RULES
    )
    assert [(c.path, c.op) for c in changes] == [(("containers", 1, "v"), Op.CHANGED)]
