"""What the Kubernetes API says about list identity and field ownership.

Merge keys come from the strategic-merge-patch / server-side-apply list markers of the
built-in types (``x-kubernetes-list-map-keys``).  Lists not named here are atomic.
``managedFields`` entries are decoded into owned paths in the same :mod:`paths` form
the differ produces, so a change can be attributed to the manager that wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
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

# Built-in cluster-scoped kinds, for when no discovery is at hand (``driftwatch check``).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "CustomResourceDefinition",
        "APIService",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "IngressClass",
        "RuntimeClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "CertificateSigningRequest",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "PodSecurityPolicy",
    }
)

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
    # MERGE_KEYS lists key fields alphabetically, as the apiserver's k: tokens do.
    return ItemKey(tuple((k, item.get(k, KEY_DEFAULTS.get(k))) for k in keys))


# ---------------------------------------------------------------------------------------
# managedFields


@dataclass
class ManagedEntry:
    """One ``managedFields`` entry; ``fields`` is its raw FieldsV1 tree."""

    manager: str
    operation: str
    subresource: str
    time: str
    fields: Mapping[str, Any]
    _children: dict[int, dict[ItemKey, Any]] = field(default_factory=dict, repr=False)

    @cached_property
    def _owned(self) -> list[tuple[Path, bool]]:
        return list(_owned_paths(self.fields, ()))

    @property
    def paths(self) -> frozenset[Path]:
        """Fields owned as a whole value."""
        return frozenset(p for p, member in self._owned if not member)

    @property
    def members(self) -> frozenset[Path]:
        """List items whose existence is owned (the ``.`` marker)."""
        return frozenset(p for p, member in self._owned if member)

    def reach(self, path: Path) -> tuple[Any, int]:
        """Walk ``path`` down the FieldsV1 tree: the last node reached and how deep."""
        node: Any = self.fields
        for depth, seg in enumerate(path):
            child = self._child(node, seg)
            if child is None:
                return node, depth
            node = child
        return node, len(path)

    def _child(self, node: Mapping[str, Any], seg: Segment) -> Any:
        child = self._token_child(node, seg)
        # FieldsV1 nodes are objects; anything else is not a tree an apiserver writes.
        return child if isinstance(child, dict) else None

    def _token_child(self, node: Mapping[str, Any], seg: Segment) -> Any:
        if isinstance(seg, str):
            return node.get(f"f:{seg}")
        if isinstance(seg, int):
            return node.get(f"i:{seg}")
        items = self._children.get(id(node))
        if items is None:
            items = self._children[id(node)] = {
                key: child
                for token, child in node.items()
                if token.startswith(("k:", "v:"))
                and (key := _decode_token(token)) is not None
                and isinstance(key, ItemKey)
            }
        return items.get(seg)


def managed_entries(obj: Mapping[str, Any]) -> list[ManagedEntry]:
    """The FieldsV1 entries of ``metadata.managedFields``."""
    entries: list[ManagedEntry] = []
    for raw in obj.get("metadata", {}).get("managedFields") or []:
        if not isinstance(raw, dict) or raw.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        if not isinstance(raw.get("fieldsV1") or {}, dict):
            continue  # garbage from the cluster: no ownership to learn from it
        entries.append(
            ManagedEntry(
                manager=str(raw.get("manager", "")),
                operation=str(raw.get("operation", "")),
                subresource=str(raw.get("subresource", "")),
                time=str(raw.get("time", "")),
                fields=raw.get("fieldsV1") or {},
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
    """The path segment a FieldsV1 token names; None for tokens no apiserver writes (the
    cluster's data is not trusted to be well formed)."""
    kind, _, rest = token.partition(":")
    if kind == "f":
        return rest
    if kind == "i":
        return int(rest) if rest.isdigit() else None
    if kind not in ("k", "v"):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if kind == "k" and not isinstance(value, dict):
        return None
    # A v: token is a set member (e.g. a finalizer): ownership is recorded on the list.
    key = ItemKey(tuple(sorted(value.items())) if kind == "k" else (("$value", value),))
    try:
        hash(key)  # keys hold scalars; a list or map here cannot name a list item
    except TypeError:
        return None
    return key


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
