"""What the Kubernetes API says about list identity and field ownership.

Merge keys come from the strategic-merge-patch / server-side-apply list markers of the
built-in types (``x-kubernetes-list-map-keys``).  Lists not named here are atomic.
``managedFields`` entries are decoded into owned paths in the same :mod:`paths` form
the differ produces, so a change can be attributed to the manager that wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driftwatch.engine.paths import ItemKey, Path, Segment

# List field name → candidate key tuples; the first whose leading key appears in the items wins.
MERGE_KEYS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "containers": (("name",),),
    "initContainers": (("name",),),
    "ephemeralContainers": (("name",),),
    "env": (("name",),),
    "volumes": (("name",),),
    "volumeMounts": (("mountPath",),),
    "volumeDevices": (("devicePath",),),
    "imagePullSecrets": (("name",),),
    "ports": (("containerPort", "protocol"), ("port", "protocol")),
    "hostAliases": (("ip",),),
    "topologySpreadConstraints": (("topologyKey", "whenUnsatisfiable"),),
    "resourceClaims": (("name",),),
    "schedulingGates": (("name",),),
    "conditions": (("type",),),
    "ownerReferences": (("uid",),),
    "webhooks": (("name",),),
    "secrets": (("name",),),
}

# Merge-key fields the API server fills in when absent, so both sides key alike.
KEY_DEFAULTS: Mapping[str, Any] = {"protocol": "TCP"}


def list_keys(field: Segment | None, items: Sequence[Any]) -> tuple[str, ...] | None:
    """The merge-key fields of the list stored under ``field``, or ``None`` if atomic."""
    if not isinstance(field, str) or field not in MERGE_KEYS:
        return None
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for keys in MERGE_KEYS[field]:
        if any(keys[0] in item for item in items):
            return keys
    return None


def item_key(item: Mapping[str, Any], keys: tuple[str, ...]) -> ItemKey:
    return ItemKey(tuple(sorted((k, item.get(k, KEY_DEFAULTS.get(k))) for k in keys)))


# ---------------------------------------------------------------------------------------
# managedFields


@dataclass(frozen=True, slots=True)
class ManagedEntry:
    manager: str
    operation: str
    subresource: str
    time: str
    paths: frozenset[Path]  # fields owned as a whole value
    members: frozenset[Path]  # list items whose existence is owned (the "." marker)


def managed_entries(obj: Mapping[str, Any]) -> list[ManagedEntry]:
    """Decode ``metadata.managedFields`` (fieldsType FieldsV1) into owned paths."""
    entries: list[ManagedEntry] = []
    for raw in obj.get("metadata", {}).get("managedFields") or []:
        if not isinstance(raw, dict) or raw.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        owned = list(_owned_paths(raw.get("fieldsV1") or {}, ()))
        entries.append(
            ManagedEntry(
                manager=str(raw.get("manager", "")),
                operation=str(raw.get("operation", "")),
                subresource=str(raw.get("subresource", "")),
                time=str(raw.get("time", "")),
                paths=frozenset(p for p, member in owned if not member),
                members=frozenset(p for p, member in owned if member),
            )
        )
    return entries


def _owned_paths(node: Mapping[str, Any], prefix: Path) -> Iterator[tuple[Path, bool]]:
    for token, child in node.items():
        if token == ".":
            yield prefix, True
            continue
        seg = _decode_token(token)
        if seg is None:
            continue
        path = (*prefix, seg)
        if isinstance(child, dict) and child:
            yield from _owned_paths(child, path)
        else:
            yield path, False


def _decode_token(token: str) -> Segment | None:
    kind, _, rest = token.partition(":")
    if kind == "f":
        return rest
    if kind == "k":
        fields = json.loads(rest)
        return ItemKey(tuple(sorted(fields.items())))
    if kind == "i":
        return int(rest)
    if kind == "v":
        # A set member (e.g. a finalizer): ownership is recorded on the list itself.
        return ItemKey((("$value", json.loads(rest)),))
    return None


def encode_fields(obj: Any, prefix_field: str | None = None) -> dict[str, Any]:
    """Build the FieldsV1 tree that an apply of ``obj`` records (used by fixtures and the demo)."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            out[f"f:{key}"] = _encode_value(value, key)
    return out


def _encode_value(value: Any, field: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return encode_fields(value) if value else {}
    if isinstance(value, list):
        keys = list_keys(field, value)
        if keys is None:
            return {}
        out: dict[str, Any] = {}
        for item in value:
            key = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys}
            out[f"k:{json.dumps(key, separators=(',', ':'))}"] = {".": {}, **encode_fields(item)}
        return out
    return {}
