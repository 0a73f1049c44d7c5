"""``/openapi/v3`` for the test API server, from upstream data.

Built-in types come from the upstream Kubernetes OpenAPI definitions that the
``kubernetes-validate`` package ships (a dev dependency, imported only when a test asks
for the documents); custom resources from each served CRD's ``openAPIV3Schema``.  The
shapes follow a real apiserver: an index of group-versions, each with a
``serverRelativeURL`` carrying a content hash, and per group-version a document whose
``components.schemas`` hold the kinds of that group-version and every schema they
reference, references wrapped in ``allOf`` where the real server does so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from driftwatch.testing.catalog import ResourceType

KUBERNETES_VERSION = "v1.34.0"
REF = "#/components/schemas/"


@cache
def _builtin() -> dict[str, Any]:
    from importlib import resources

    source = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"{KUBERNETES_VERSION}-local", "_definitions.json"
    )
    definitions: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))["$defs"]
    return {name: _v3(node) for name, node in definitions.items()}


def _v3(node: Any) -> Any:
    """JSON schema (kubernetes-validate) → OpenAPI v3 as an apiserver writes it."""
    if isinstance(node, list):
        return [_v3(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = REF + str(value).rpartition("/")[2]
        elif key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _wrapped(_v3(v)) for k, v in value.items()}
        else:
            out[key] = _v3(value)
    return out


def _wrapped(node: Any) -> Any:
    # The apiserver writes a field's reference with a description as allOf: [{$ref}].
    if isinstance(node, dict) and "$ref" in node and len(node) > 1:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {"allOf": [{"$ref": node["$ref"]}], **rest}
    return node


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rpartition("/")[2]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(schemas: Mapping[str, Any], roots: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    todo = [r for r in roots if r in schemas]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = schemas[name]
        todo += [r for r in _refs(schemas[name]) if r in schemas and r not in out]
    return out


def _crd_schemas(crds: Iterable[Mapping[str, Any]], group: str, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        if spec.get("group") != group:
            continue
        kind = str((spec.get("names") or {}).get("kind", ""))
        for ver in spec.get("versions") or []:
            if ver.get("name") != version or not ver.get("served", True):
                continue
            schema = dict(((ver.get("schema") or {}).get("openAPIV3Schema")) or {})
            props = dict(schema.get("properties") or {})
            props["metadata"] = {"allOf": [{"$ref": REF + _OBJECT_META}]}
            schema["properties"] = props
            schema["x-kubernetes-group-version-kind"] = [
                {"group": group, "version": version, "kind": kind}
            ]
            name = ".".join([*reversed(group.split(".")), version, kind])
            out[name] = schema
    return out


_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


# The query parameters the apiserver documents on every PATCH operation; kubectl reads them
# (QueryParamVerifierV3) to know the server validates fields itself and accepts dryRun.
_PATCH_QUERY = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _resource_paths(
    group: str, version: str, resources: Iterable[ResourceType], schemas: Mapping[str, Any]
) -> dict[str, Any]:
    """Each resource's GET (naming its kind and schema: how ``kubectl explain`` finds a
    resource) and PATCH (with the query parameters kubectl looks for); nothing else."""
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    out: dict[str, Any] = {}
    for rt in resources:
        if rt.group != group or rt.version != version:
            continue
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        gvk = {"group": group, "version": version, "kind": rt.kind}
        schema = next(
            (
                n
                for n, s in schemas.items()
                if gvk in (s.get("x-kubernetes-group-version-kind") or [])
            ),
            None,
        )
        get: dict[str, Any] = {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk}
        if schema is not None:
            content = {"application/json": {"schema": {"$ref": REF + schema}}}
            get["responses"] = {"200": {"content": content}}
        out[f"{base}{scope}/{rt.plural}/{{name}}"] = {
            "get": get,
            "patch": {
                "description": f"partially update the specified {rt.kind}",
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string"}}
                    for name in _PATCH_QUERY
                ],
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {
                    "group": group,
                    "version": version,
                    "kind": rt.kind,
                },
            },
        }
    return out


def document(
    group: str,
    version: str,
    crds: Iterable[Mapping[str, Any]],
    resources: Iterable[ResourceType] = (),
) -> dict[str, Any] | None:
    """The ``/openapi/v3/api[s]/...`` document of one group-version (None: unknown), with
    the operations of ``resources``."""
    builtin = _builtin()
    roots = [
        name
        for name, node in builtin.items()
        for gvk in node.get("x-kubernetes-group-version-kind") or []
        if gvk.get("group", "") == group and gvk.get("version") == version
    ]
    custom = _crd_schemas(crds, group, version)
    if not roots and not custom:
        return None
    schemas = _closure({**builtin, **custom}, [*roots, *custom])
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": _resource_paths(group, version, resources, schemas),
        "components": {"schemas": schemas},
    }


def gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def index(
    group_versions: Iterable[tuple[str, str]],
    crds: Sequence[Mapping[str, Any]],
    resources: Sequence[ResourceType] = (),
) -> dict[str, Any]:
    """``/openapi/v3``: each group-version's URL with the hash of its document."""
    paths: dict[str, Any] = {}
    for group, version in group_versions:
        doc = document(group, version, crds, resources)
        if doc is None:
            continue
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128]
        path = gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest.upper()}"}
    return {"paths": paths}
