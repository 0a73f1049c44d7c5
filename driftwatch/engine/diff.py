"""A keyed, desired-subset structural diff.

Git is the reference: every field Git declares is compared with live; a field only live
has is reported as ``added`` (per map key; an extra list item or list as a whole) —
whether that is drift is decided later from who wrote it.  Lists with merge keys are
matched by key, not index; sets of scalars (:data:`SET_KEYS`) by value, in any order.
Providers supply how the list at a path is keyed and when two scalars are equal; this
module knows nothing about Kubernetes or AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from driftwatch.engine.paths import ItemKey, Path
from driftwatch.report import Op

ListKeys = Callable[[Path, Sequence[Any]], tuple[str, ...] | None]
ItemKeyOf = Callable[[dict[str, Any], tuple[str, ...]], ItemKey]
ScalarsEqual = Callable[[Path, Any, Any], bool]


def _plain_equal(path: Path, a: Any, b: Any) -> bool:
    return bool(a == b)


# What ``list_keys`` answers for a set: items are identified by their own value.
SET_KEYS = ("$value",)


def _no_keys(path: Path, items: Sequence[Any]) -> tuple[str, ...] | None:
    return None


def _default_item_key(item: dict[str, Any], keys: tuple[str, ...]) -> ItemKey:
    return ItemKey(tuple(sorted((k, item.get(k)) for k in keys)))


@dataclass(frozen=True, slots=True)
class DiffRules:
    list_keys: ListKeys = _no_keys
    item_key: ItemKeyOf = _default_item_key
    scalars_equal: ScalarsEqual = _plain_equal


@dataclass(frozen=True, slots=True)
class RawChange:
    path: Path
    op: Op
    desired: Any
    live: Any


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def diff(
    desired: Any, live: Any, rules: DiffRules = DiffRules(), path: Path = ()
) -> list[RawChange]:
    out: list[RawChange] = []
    _diff(desired, live, rules, path, out)
    return out


def _diff(desired: Any, live: Any, rules: DiffRules, path: Path, out: list[RawChange]) -> None:
    # Fast path: most fields of most objects are equal.
    if desired == live:
        return
    if isinstance(desired, dict) and isinstance(live, dict):
        for key, d_value in desired.items():
            if key in live:
                _diff(d_value, live[key], rules, (*path, key), out)
            elif not _empty(d_value):
                out.append(RawChange((*path, key), Op.REMOVED, d_value, None))
        for key, l_value in live.items():
            # An empty value only live has says nothing (Go's serialization of an empty
            # struct or a nil time: `resources: {}`, `creationTimestamp: null`).
            if key in desired or _empty(l_value):
                continue
            if isinstance(l_value, dict):
                # Descend into extra maps so each added field can be judged by its writer.
                _diff({}, l_value, rules, (*path, key), out)
            else:
                out.append(RawChange((*path, key), Op.ADDED, None, l_value))
        return
    if isinstance(desired, list) and isinstance(live, list):
        _diff_list(desired, live, rules, path, out)
        return
    if _empty(desired) and _empty(live):
        return
    if desired is None:
        return  # Git says nothing about this field
    if live is None or not rules.scalars_equal(path, desired, live):
        op = Op.REMOVED if live is None else Op.CHANGED
        out.append(RawChange(path, op, desired, live))


def _diff_list(
    desired: list[Any], live: list[Any], rules: DiffRules, path: Path, out: list[RawChange]
) -> None:
    keys = rules.list_keys(path, desired or live)
    if keys == SET_KEYS:
        _diff_set(desired, live, path, out)
        return
    if keys is not None and all(isinstance(i, dict) for i in (*desired, *live)):
        desired_keys = [rules.item_key(item, keys) for item in desired]
        live_keys = [rules.item_key(item, keys) for item in live]
        # Keys that repeat (duplicate env names the apiserver stores with a warning, a
        # list keyed by a field its items lack) identify nothing: compared by position.
        if len(set(desired_keys)) == len(desired) and len(set(live_keys)) == len(live):
            _diff_keyed(desired, desired_keys, live, live_keys, rules, path, out)
            return
    # Atomic list: same length → compare item by item (server defaults may fill items);
    # otherwise the whole list changed.
    if len(desired) == len(live):
        for i, (d_item, l_item) in enumerate(zip(desired, live, strict=True)):
            _diff(d_item, l_item, rules, (*path, i), out)
        return
    if not (_empty(desired) and _empty(live)):
        out.append(RawChange(path, Op.CHANGED, desired, live))


def _diff_set(desired: list[Any], live: list[Any], path: Path, out: list[RawChange]) -> None:
    try:
        wanted, present = set(desired), set(live)
    except TypeError:  # an item that is not a scalar: not a set after all
        if desired != live:
            out.append(RawChange(path, Op.CHANGED, desired, live))
        return
    for value in desired:
        if value not in present:
            out.append(RawChange((*path, ItemKey((("$value", value),))), Op.REMOVED, value, None))
    for value in live:
        if value not in wanted:
            out.append(RawChange((*path, ItemKey((("$value", value),))), Op.ADDED, None, value))


def _diff_keyed(
    desired: list[Any],
    desired_keys: list[ItemKey],
    live: list[Any],
    live_keys: list[ItemKey],
    rules: DiffRules,
    path: Path,
    out: list[RawChange],
) -> None:
    live_by_key = dict(zip(live_keys, live, strict=True))
    for key, item in zip(desired_keys, desired, strict=True):
        if key in live_by_key:
            _diff(item, live_by_key[key], rules, (*path, key), out)
        else:
            out.append(RawChange((*path, key), Op.REMOVED, item, None))
    wanted = set(desired_keys)
    for key, item in live_by_key.items():
        if key not in wanted:
            out.append(RawChange((*path, key), Op.ADDED, None, item))
