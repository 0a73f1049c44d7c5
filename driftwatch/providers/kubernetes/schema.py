"""What the Kubernetes API says about list identity and field ownership.

List types come from the API's own OpenAPI markers (``x-kubernetes-list-type``,
``x-kubernetes-list-map-keys``, ``x-kubernetes-map-type``; without a list type, the
patch strategy decides, as kube-openapi's ``schemaconv.getListElementRelationship`` does),
read per group-version-kind and field path: from the target's ``/openapi/v3`` (built-ins
and CRDs) or, without one, from the bundled schema of the built-in types that
``scripts/k8s_schema.py`` generates from upstream OpenAPI data.  Nothing is guessed from
a field's name: a list the schema does not describe is atomic.

``managedFields`` entries are decoded into owned paths in the same :mod:`paths` form the
differ produces, so a change can be attributed to the manager that wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal

from driftwatch.engine.diff import SET_KEYS
from driftwatch.engine.paths import ItemKey, Path, Segment

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

# Merge-key fields the API server fills in when absent, so both sides key alike:
# ContainerPort, ServicePort and EndpointPort protocol (kubernetes/kubernetes
# pkg/apis/core/v1/defaults.go SetDefaults_ContainerPort, SetDefaults_ServicePort;
# pkg/apis/discovery/v1/defaults.go SetDefaults_EndpointPort).
KEY_DEFAULTS: Mapping[str, Any] = {"protocol": "TCP"}

BUNDLED = "k8s-schema.json"
MAX_DEFAULT_NODES = 20_000  # schema nodes one kind's defaults walk visits, at most
MAX_DEFAULT_DEPTH = 32  # nesting of one default value; deeper ones are dropped  # in this package's data/, written by scripts/k8s_schema.py

# ---------------------------------------------------------------------------------------
# List types per kind and path
#
# The compact form (bundled file, snapshot, cache) maps type names to nodes; a node is a
# type name (str) or a dict with: "f" fields {name: node}, "v" map values node, "i" list
# items node, "l" list type ("atomic" | "map" | "set"), "k" map-list keys, "a" true for an
# atomic map or struct, "d" a CRD structural-schema default, "s" a scalar type
# (:data:`SCALAR_TYPES`).  Nodes that say nothing
# (scalars without a default) are left out: an unknown field is a leaf.

ListKind = Literal["atomic", "map", "set"]

# Scalar types whose values the apiserver decodes into Go types, so that two spellings
# are one value; named by their upstream OpenAPI definitions ("s" in the compact form).
SCALAR_TYPES: Mapping[str, str] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
}


@dataclass(frozen=True, slots=True)
class ListType:
    kind: ListKind
    keys: tuple[str, ...] = ()


ATOMIC = ListType("atomic")


def _ref(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    if ref is None:
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            ref = all_of[0].get("$ref")
    return ref.rpartition("/")[2] if isinstance(ref, str) else None


def _types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    return {kind} if isinstance(kind, str) else set()


def _list_type(node: Mapping[str, Any]) -> dict[str, Any]:
    listed = node.get("x-kubernetes-list-type")
    if listed == "map":
        keys = node.get("x-kubernetes-list-map-keys")
        if isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
            return {"l": "map", "k": sorted(keys)}
        return {"l": "atomic"}
    if listed in ("atomic", "set"):
        return {"l": listed}
    if listed is None and node.get("x-kubernetes-patch-strategy") in ("merge", "merge,retainKeys"):
        key = node.get("x-kubernetes-patch-merge-key")
        return {"l": "map", "k": [key]} if isinstance(key, str) else {"l": "set"}
    return {"l": "atomic"}


def _depth(value: Any, limit: int = MAX_DEFAULT_DEPTH + 1) -> int:
    """How deeply ``value`` nests, counted no further than ``limit``."""
    if limit <= 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def compact_node(node: Any) -> Any:
    """One OpenAPI v3 / JSON-schema node in the compact form (None: says nothing)."""
    if not isinstance(node, dict):
        return None
    if (ref := _ref(node)) is not None:
        return ref
    out: dict[str, Any] = {}
    if "default" in node and _depth(node["default"]) <= MAX_DEFAULT_DEPTH:
        out["d"] = node["default"]
    kinds = _types(node)
    if "array" in kinds or "items" in node:
        out.update(_list_type(node))
        if (items := compact_node(node.get("items"))) is not None:
            out["i"] = items
        return out
    props = node.get("properties")
    if isinstance(props, dict):  # a struct stays a node, even with scalar fields only
        out["f"] = {k: c for k, v in props.items() if (c := compact_node(v)) is not None}
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) or extra is True:  # a granular map, even of scalars
        values = compact_node(extra)
        out["v"] = {} if values is None else values
    if node.get("x-kubernetes-map-type") == "atomic":
        out["a"] = True
    return out or None


def compact_types(schemas: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Named schemas (``components.schemas`` of an ``/openapi/v3`` document, or a JSON
    schema's ``$defs``) → (compact types, "group/version/Kind" → type name).  Scalar types
    (Quantity, Time, IntOrString) say nothing and are left out: a reference to one is a leaf."""
    types = {name: c for name, node in schemas.items() if (c := compact_node(node)) is not None}
    for name, scalar in SCALAR_TYPES.items():
        if name in schemas:
            types[name] = {"s": scalar}
    kinds: dict[str, str] = {}
    for name, node in schemas.items():
        gvks = node.get("x-kubernetes-group-version-kind") if isinstance(node, dict) else None
        for gvk in gvks if isinstance(gvks, list) else []:
            if isinstance(gvk, dict) and name in types:
                kinds[f"{gvk.get('group', '')}/{gvk.get('version', '')}/{gvk.get('kind', '')}"] = (
                    name
                )
    return types, kinds


@dataclass(frozen=True)
class SchemaData:
    """Compact types and the kinds they describe; what a snapshot records."""

    types: Mapping[str, Any]
    kinds: Mapping[str, str]
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "kinds": dict(self.kinds), "types": dict(self.types)}

    @classmethod
    def from_json(cls, data: Any) -> SchemaData:
        """A recorded schema; anything malformed reads as an empty one (lists atomic)."""
        if not isinstance(data, dict):
            return cls({}, {})
        types, kinds = data.get("types"), data.get("kinds")
        if not isinstance(types, dict) or not isinstance(kinds, dict):
            return cls({}, {})
        kinds = {k: v for k, v in kinds.items() if isinstance(k, str) and isinstance(v, str)}
        return cls(types, kinds, str(data.get("source", "")))


class Schema:
    """List types per kind: the target's own schema first, the bundled one beneath."""

    def __init__(self, *layers: SchemaData) -> None:
        self._layers = [layer for layer in layers if layer.kinds]
        self._kinds: dict[tuple[str, str], KindSchema] = {}

    def kind(self, api_version: str, kind: str) -> KindSchema:
        found = self._kinds.get((api_version, kind))
        if found is None:
            group, _, version = api_version.rpartition("/")
            gvk = f"{group}/{version}/{kind}"
            for layer in self._layers:
                if gvk in layer.kinds:
                    found = KindSchema(layer.types, layer.kinds[gvk])
                    break
            else:
                found = KindSchema({}, None)  # unknown kind: every list atomic
            self._kinds[(api_version, kind)] = found
        return found


def _field_path(path: Path) -> tuple[str | None, ...]:
    return tuple(seg if isinstance(seg, str) else None for seg in path)


class KindSchema:
    """One kind's types, walked along diff paths (field names; list segments = items)."""

    def __init__(self, types: Mapping[str, Any], root: Any) -> None:
        self._types = types
        self._root = root
        self._nodes: dict[tuple[str | None, ...], dict[str, Any] | None] = {}

    @property
    def known(self) -> bool:
        return self._root is not None

    def scalar(self, path: Path) -> str | None:
        """``quantity`` or ``int-or-string`` when the schema types ``path`` so, else None."""
        node = self.node(path)
        scalar = node.get("s") if node is not None else None
        return scalar if isinstance(scalar, str) else None

    def omits_zero(self, path: Path) -> bool:
        """Whether the apiserver leaves a zero value at ``path`` out of what it stores: a
        field of a built-in Go struct (``omitempty``), not a map entry and not a custom
        resource's field (custom resources are stored as sent)."""
        builtin = isinstance(self._root, str) and self._root.startswith("io.k8s.")
        parent = self.node(path[:-1]) if path and isinstance(path[-1], str) else None
        return builtin and parent is not None and "f" in parent and "v" not in parent

    def _resolve(self, node: Any) -> dict[str, Any] | None:
        for _ in range(64):  # a name naming a name: bounded, the data may be hostile
            if not isinstance(node, str):
                break
            node = self._types.get(node)
        return node if isinstance(node, dict) else None

    def node(self, path: Path) -> dict[str, Any] | None:
        """The compact node at ``path``, or None where the schema says nothing."""
        key = _field_path(path)
        if key in self._nodes:
            return self._nodes[key]
        if not key:
            found = self._resolve(self._root)
        else:
            parent = self.node(path[:-1])
            seg = key[-1]
            found = None
            if parent is not None:
                if seg is None:
                    found = self._resolve(parent.get("i"))
                else:
                    fields = parent.get("f")
                    child = fields.get(seg) if isinstance(fields, dict) else None
                    found = self._resolve(child if child is not None else parent.get("v"))
        self._nodes[key] = found
        return found

    def list_type(self, path: Path) -> ListType:
        node = self.node(path)
        if node is None:
            return ATOMIC
        kind = node.get("l")
        if kind == "map":
            keys = node.get("k")
            if isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
                return ListType("map", tuple(keys))
        return ListType("set") if kind == "set" else ATOMIC

    def atomic(self, path: Path) -> bool:
        """Whether the value at ``path`` is replaced as a whole (atomic list or map, a
        scalar, or a field the schema does not describe)."""
        node = self.node(path)
        if node is None:
            return True
        if "l" in node:
            return bool(node["l"] == "atomic")
        return bool(node.get("a")) or not ("f" in node or "v" in node)

    @cached_property
    def defaults(self) -> tuple[tuple[str, Any], ...]:
        """(pattern, value) of every structural-schema ``default`` (CRDs), patterns in
        driftwatch path syntax with ``[]`` for every item, parents before children."""
        out: list[tuple[str, Any]] = []

        budget = [MAX_DEFAULT_NODES]

        def walk(node: Any, pattern: str, seen: frozenset[str]) -> None:
            # A type met again on the same path is recursive (JSONSchemaProps, or a hostile
            # schema): not entered twice; and the whole walk is bounded.
            if isinstance(node, str):
                if node in seen:
                    return
                seen = seen | {node}
            resolved = self._resolve(node)
            budget[0] -= 1
            if resolved is None or budget[0] < 0 or len(seen) > 64:
                return
            # A recorded schema (a snapshot's) was not compacted here: bounded again.
            if "d" in resolved and pattern and _depth(resolved["d"]) <= MAX_DEFAULT_DEPTH:
                out.append((pattern, resolved["d"]))
            fields = resolved.get("f")
            for name, child in fields.items() if isinstance(fields, dict) else []:
                if isinstance(name, str) and name.isidentifier():
                    walk(child, f"{pattern}.{name}" if pattern else name, seen)
            if "i" in resolved:
                walk(resolved["i"], f"{pattern}[]", seen)

        walk(self._root, "", frozenset())
        return tuple(out)

    def list_keys(self, path: Path, items: Sequence[Any]) -> tuple[str, ...] | None:
        """Merge keys of the list at ``path`` (:data:`SET_KEYS` for a set), None if atomic."""
        listed = self.list_type(path)
        if listed.kind == "set":
            return SET_KEYS if all(_scalar(i) for i in items) else None
        if listed.kind != "map" or not all(isinstance(i, dict) for i in items):
            return None
        return listed.keys


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


@cache
def bundled() -> SchemaData:
    """The built-in types' schema shipped with driftwatch."""
    text = resources.files("driftwatch.providers.kubernetes").joinpath("data", BUNDLED)
    return SchemaData.from_json(json.loads(text.read_text(encoding="utf-8")))


@cache
def builtin_schema() -> Schema:
    """The bundled schema alone: for ``check`` and for callers with no target at hand."""
    return Schema(bundled())


def kind_of(obj: Mapping[str, Any], schema: Schema | None = None) -> KindSchema:
    """The schema of the kind ``obj`` says it is."""
    return (schema or builtin_schema()).kind(
        str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    )


def item_key(item: Mapping[str, Any], keys: tuple[str, ...]) -> ItemKey:
    # Keys are sorted, as the apiserver's k: tokens are.
    return ItemKey(tuple((k, item.get(k, KEY_DEFAULTS.get(k))) for k in keys))


def item_segment(item: Any, keys: tuple[str, ...] | None, index: int) -> Segment:
    """The path segment of a list item: its merge key, its value in a set, else its index."""
    if keys == SET_KEYS:
        return ItemKey((("$value", item),))
    if keys and isinstance(item, dict):
        return item_key(item, keys)
    return index


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


def encode_fields(obj: Any, kind: KindSchema | None = None, path: Path = ()) -> dict[str, Any]:
    """Build the FieldsV1 tree that an apply of ``obj`` records (used by fixtures and the
    demo): atomic lists and maps are owned as a whole, map lists item by item."""
    kind = kind if kind is not None else kind_of(obj)
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            out[f"f:{key}"] = _encode_value(value, kind, (*path, key))
    return out


def _encode_value(value: Any, kind: KindSchema, path: Path) -> dict[str, Any]:
    if isinstance(value, dict):
        return encode_fields(value, kind, path) if value and not kind.atomic(path) else {}
    if isinstance(value, list):
        keys = kind.list_keys(path, value)
        if keys is None:
            return {}
        out: dict[str, Any] = {}
        for index, item in enumerate(value):
            seg = item_segment(item, keys, index)
            if keys == SET_KEYS:
                out[f"v:{json.dumps(item, separators=(',', ':'))}"] = {}
                continue
            key = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys}
            token = f"k:{json.dumps(key, separators=(',', ':'), sort_keys=True)}"
            out[token] = {".": {}, **encode_fields(item, kind, (*path, seg))}
        return out
    return {}
