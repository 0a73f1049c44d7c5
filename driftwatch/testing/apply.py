"""Server-side apply for the test API server, as the apiserver's structured-merge-diff does it.

The steps follow ``sigs.k8s.io/structured-merge-diff`` ``merge.Updater.Apply`` and the
apiserver's field manager:

1. the applied configuration is merged into the live object per list type from the
   kind's schema (:mod:`driftwatch.providers.kubernetes.schema`): structs and granular
   maps key by key, map lists item by item by their keys, sets by value, atomic lists and
   maps (and fields the schema does not describe) replaced whole; items keep the order
   ``mergingWalker.visitListItems`` gives them;
2. fields the merge changes (or adds) that another manager owns are conflicts: without
   ``force`` the apply fails (409), with it they leave the other managers' entries;
3. fields the manager applied before but no longer applies are removed, unless another
   manager still owns them (``Updater.prune``);
4. the manager's ``Apply`` entry becomes exactly the applied fields (``encode_fields``);
   entries are sorted as ``managedfields.sortEncodedManagedFields`` sorts them.

Server defaults and mutating admission run after the merge, in the server.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driftwatch.engine.paths import Path, Segment
from driftwatch.providers.kubernetes.schema import KEY_DEFAULTS, KindSchema, item_segment
from driftwatch.testing.fixtures import _leaves, _tree, _without, fields_of
from driftwatch.testing.quantity import canonicalize

Tokens = tuple[str, ...]  # a FieldsV1 leaf: ("f:spec", "f:containers", 'k:{"name":"a"}', ".")
_ABSENT: Any = object()


@dataclass(frozen=True, slots=True)
class Conflict:
    manager: str
    entry: Mapping[str, Any]
    path: Tokens


class ApplyConflict(Exception):
    """The apply changes fields other managers own, without ``force``."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(conflict_message(conflicts))
        self.conflicts = conflicts


def server_side_apply(
    live: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    manager: str,
    *,
    kind: KindSchema,
    force: bool,
    time: str,
    status_subresource: bool,
    defaults: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """The object after ``manager`` applied ``config`` to ``live`` (None: create).

    Raises :class:`ApplyConflict`.  ``defaults`` fills the server defaults of the merged
    object.  Server bookkeeping (uid, resourceVersion, generation) is the caller's.
    """
    # Decoded into Go types, as the apiserver does: quantities come out canonical.
    applied = canonicalize(_applied_body(config, status_subresource), kind)
    applied_set = _leaves(fields_of(applied, keep_status=not status_subresource, kind=kind))
    base: dict[str, Any] = copy.deepcopy(dict(live)) if live is not None else {}
    meta = base.get("metadata")
    entries: list[dict[str, Any]] = list((meta or {}).pop("managedFields", None) or [])
    merged = _merge(base, applied, kind, ())
    if not isinstance(merged, dict):
        raise TypeError("the applied configuration is not an object")

    def applying(entry: Mapping[str, Any]) -> bool:
        return (
            entry.get("manager") == manager
            and entry.get("operation") == "Apply"
            and not entry.get("subresource")
        )

    last: set[Tokens] = set()
    others: list[dict[str, Any]] = []
    for entry in entries:
        if applying(entry):
            last = _leaves(entry.get("fieldsV1") or {})
        else:
            others.append(entry)
    changed = {p for p in applied_set if _changed(base, merged, p, kind)}
    conflicts: list[Conflict] = []
    kept: list[dict[str, Any]] = []
    for entry in others:
        hits = _leaves(entry.get("fieldsV1") or {}) & changed
        if hits and not force:
            conflicts += [Conflict(str(entry.get("manager", "")), entry, p) for p in sorted(hits)]
        if hits and force:
            remaining = _without(entry.get("fieldsV1") or {}, hits)
            if not remaining:
                continue
            entry = {**entry, "fieldsV1": remaining}
        kept.append(entry)
    if conflicts:
        raise ApplyConflict(conflicts)
    owned = set(applied_set)
    for entry in kept:
        owned |= _leaves(entry.get("fieldsV1") or {})
    _prune(merged, last - owned, owned, kind)
    result = defaults(merged)
    if applied_set:
        kept.append(
            {
                "manager": manager,
                "operation": "Apply",
                "apiVersion": str(config.get("apiVersion", "")),
                "time": time,
                "fieldsType": "FieldsV1",
                "fieldsV1": _tree(applied_set),
            }
        )
    kept.sort(key=_entry_order)
    result.setdefault("metadata", {})["managedFields"] = kept
    return result


def _applied_body(config: Mapping[str, Any], status_subresource: bool) -> dict[str, Any]:
    """What of ``config`` is merged: no server-owned metadata, no status where the kind
    has a status subresource (the main resource resets it)."""
    body = copy.deepcopy(dict(config))
    if status_subresource:
        body.pop("status", None)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        for key in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
            meta.pop(key, None)
    return body


def _entry_order(entry: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    # managedfields.sortEncodedManagedFields: operation, time, manager, apiVersion, subresource.
    return (
        str(entry.get("operation", "")),
        str(entry.get("time", "")),
        str(entry.get("manager", "")),
        str(entry.get("apiVersion", "")),
        str(entry.get("subresource", "")),
    )


# ---------------------------------------------------------------------------------------
# merge


def _merge(lhs: Any, rhs: Any, kind: KindSchema, path: Path) -> Any:
    """``rhs`` (applied) merged into ``lhs`` (live); neither is changed."""
    if rhs is None:
        return None
    if isinstance(lhs, dict) and isinstance(rhs, dict) and (not path or not kind.atomic(path)):
        out = dict(lhs)
        for key, value in rhs.items():
            out[key] = _merge(lhs.get(key, _ABSENT), value, kind, (*path, key))
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(lhs, list) and isinstance(rhs, list):
        keys = kind.list_keys(path, [*lhs, *rhs])
        if keys is not None:
            return _merge_list(lhs, rhs, keys, kind, path)
    return copy.deepcopy(rhs)


def _merge_list(
    lhs: list[Any], rhs: list[Any], keys: tuple[str, ...], kind: KindSchema, path: Path
) -> list[Any]:
    """Associative lists and sets: ``mergingWalker.visitListItems``'s order (live's items
    in place, applied items that live lacks after the shared item they follow)."""
    lpes = [item_segment(item, keys, i) for i, item in enumerate(lhs)]
    rpes = [item_segment(item, keys, i) for i, item in enumerate(rhs)]
    observed_l: dict[Segment, Any] = {}
    for pe, value in zip(lpes, lhs, strict=True):
        observed_l.setdefault(pe, value)
    observed_r: dict[Segment, Any] = {}
    for pe, value in zip(rpes, rhs, strict=True):
        observed_r.setdefault(pe, value)
    shared = [pe for pe in rpes if pe in observed_l]
    next_shared = shared.pop(0) if shared else None
    merged_r: set[Segment] = set()
    out: list[Any] = []

    def merged(pe: Segment, left: Any, right: Any) -> Any:
        if right is _ABSENT:
            return copy.deepcopy(left)
        if left is _ABSENT:
            return copy.deepcopy(right)
        return _merge(left, right, kind, (*path, pe))

    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            pe = lpes[li]
            if pe == rpes[ri]:
                merged_r.add(pe)
                out.append(merged(pe, observed_l[pe], observed_r[pe]))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in observed_r and next_shared is not None and next_shared != pe:
                li += 1  # shared, but not the one this round merges
                continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in observed_r:
                out.append(merged(pe, lhs[li], _ABSENT))
                li += 1
                continue
            if pe in merged_r:
                li += 1
                continue
        if ri < len(rpes):
            pe = rpes[ri]
            merged_r.add(pe)
            out.append(merged(pe, observed_l.get(pe, _ABSENT), observed_r[pe]))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


# ---------------------------------------------------------------------------------------
# FieldsV1 paths over values


def _token_key(token: str) -> Mapping[str, Any] | None:
    try:
        key = json.loads(token[2:])
    except ValueError:
        return None
    return key if isinstance(key, dict) else None


def _find_item(items: Sequence[Any], token: str) -> int | None:
    if token.startswith("k:"):
        key = _token_key(token)
        if key is None:
            return None
        for i, item in enumerate(items):
            if isinstance(item, dict) and all(
                item.get(k, KEY_DEFAULTS.get(k)) == v for k, v in key.items()
            ):
                return i
        return None
    if token.startswith("v:"):
        try:
            wanted = json.loads(token[2:])
        except ValueError:
            return None
        return next((i for i, item in enumerate(items) if item == wanted), None)
    if token.startswith("i:") and token[2:].isdigit() and int(token[2:]) < len(items):
        return int(token[2:])
    return None


def _step(value: Any, token: str) -> Any:
    if token.startswith("f:"):
        return value.get(token[2:], _ABSENT) if isinstance(value, dict) else _ABSENT
    if isinstance(value, list):
        index = _find_item(value, token)
        return _ABSENT if index is None else value[index]
    return _ABSENT


def _value_at(obj: Any, tokens: Tokens, kind: KindSchema) -> Any:
    """The value a FieldsV1 leaf names (``_ABSENT`` when there is none); a ``.`` leaf
    names the item itself."""
    value = obj
    for token in tokens:
        if token == ".":
            break
        value = _step(value, token)
        if value is _ABSENT:
            return _ABSENT
    return value


def _changed(old: Any, new: Any, tokens: Tokens, kind: KindSchema) -> bool:
    """Whether the merge changed (or added) a leaf; a list item's ``.`` changes only by
    appearing (its fields are leaves of their own, as in ``TypedValue.Compare``)."""
    before, after = _value_at(old, tokens, kind), _value_at(new, tokens, kind)
    if tokens and tokens[-1] == ".":
        return (before is _ABSENT) != (after is _ABSENT)
    return bool(before != after)


def _prune(obj: dict[str, Any], removed: set[Tokens], owned: set[Tokens], kind: KindSchema) -> None:
    """Remove the fields (and list items) in ``removed``, deepest first, keeping those
    under which another owned field lives (``Updater.prune`` adds those back)."""
    for tokens in sorted(removed, key=len, reverse=True):
        target = tokens[:-1] if tokens[-1] == "." else tokens
        if not target or any(len(o) > len(target) and o[: len(target)] == target for o in owned):
            continue
        parent = _value_at(obj, target[:-1], kind)
        last = target[-1]
        if last.startswith("f:") and isinstance(parent, dict):
            parent.pop(last[2:], None)
        elif isinstance(parent, list):
            index = _find_item(parent, last)
            if index is not None:
                del parent[index]


# ---------------------------------------------------------------------------------------
# the apiserver's conflict message (apiserver fieldmanager internal.NewConflictError)


def field_path(tokens: Tokens) -> str:
    """A FieldsV1 leaf as structured-merge-diff prints a path: ``.spec.ports[port=80]``."""
    out = ""
    for token in tokens:
        if token == ".":
            continue
        kind, _, rest = token.partition(":")
        if kind == "f":
            out += f".{rest}"
        elif kind == "i":
            out += f"[{rest}]"
        elif kind == "v":
            out += f"[={rest}]"
        elif (key := _token_key(token)) is not None:
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]"
    return out


def _manager_label(conflict: Conflict) -> str:
    entry = conflict.entry
    label = json.dumps(conflict.manager)
    if entry.get("subresource"):
        label += f" with subresource {json.dumps(entry['subresource'])}"
    # The manager identifier carries no time (BuildManagerIdentifier), so none is printed.
    if entry.get("operation") == "Update":
        label += f" using {entry.get('apiVersion', '')}"
    return label


def conflict_message(conflicts: list[Conflict]) -> str:
    if len(conflicts) == 1:
        only = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {_manager_label(only)}: {field_path(only.path)}"
    lines: list[str] = []
    by_manager: dict[str, list[Conflict]] = {}
    for conflict in conflicts:
        by_manager.setdefault(_manager_label(conflict), []).append(conflict)
    for label in sorted(by_manager):
        lines.append(f"conflicts with {label}:")
        lines += [f"- {field_path(c.path)}" for c in by_manager[label]]
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def conflict_causes(conflicts: list[Conflict]) -> list[dict[str, str]]:
    return [
        {
            "type": "FieldManagerConflict",
            "message": f"conflict with {_manager_label(c)}",
            "field": field_path(c.path),
        }
        for c in conflicts
    ]


__all__ = [
    "ApplyConflict",
    "Conflict",
    "conflict_causes",
    "conflict_message",
    "field_path",
    "server_side_apply",
]
