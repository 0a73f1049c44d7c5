"""List types come from the Kubernetes API's own OpenAPI data, never from field names."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from driftwatch.config import TargetConfig
from driftwatch.providers.kubernetes.live import api_client
from driftwatch.providers.kubernetes.openapi import read_schema
from driftwatch.providers.kubernetes.schema import (
    KindSchema,
    Schema,
    SchemaData,
    builtin_schema,
    compact_types,
    encode_fields,
    kind_of,
)
from driftwatch.testing import TestAPIServer
from driftwatch.testing.fixtures import widget_crd

ROOT = Path(__file__).resolve().parents[3]


def _upstream() -> dict[str, Any]:
    """kubernetes-validate's copy of the upstream definitions the bundled file is made of."""
    source = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", "v1.34.0-local", "_definitions.json"
    )
    return json.loads(source.read_text(encoding="utf-8"))["$defs"]  # type: ignore[no-any-return]


def test_the_bundled_schema_is_what_the_generator_writes_from_upstream_data() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/k8s_schema.py", "--check"], cwd=ROOT, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()


def test_every_upstream_list_marker_is_what_the_schema_answers() -> None:
    """Each list field of each upstream type, reached from a kind that embeds it."""
    upstream = _upstream()
    types, _ = compact_types(upstream)
    checked = 0
    for name, definition in upstream.items():
        for field, prop in (definition.get("properties") or {}).items():
            if "array" not in str(prop.get("type")):
                continue
            node = types[name]["f"][field]
            listed = prop.get("x-kubernetes-list-type")
            if listed == "map":
                assert (node["l"], node["k"]) == ("map", sorted(prop["x-kubernetes-list-map-keys"]))
            elif listed is not None:
                assert node["l"] == listed, (name, field)
            elif "merge" in prop.get("x-kubernetes-patch-strategy", ""):
                expected = "map" if "x-kubernetes-patch-merge-key" in prop else "set"
                assert node["l"] == expected, (name, field)
            else:  # kube-openapi's default for a list without markers
                assert node["l"] == "atomic", (name, field)
            checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    ("api_version", "kind", "path", "expected"),
    [
        # The lists peers misread by name (argo-cd#16707, #11143): atomic in the API.
        ("rbac.authorization.k8s.io/v1", "RoleBinding", ("subjects",), ("atomic", ())),
        ("networking.k8s.io/v1", "NetworkPolicy", ("spec", "ingress", 0, "ports"), ("atomic", ())),
        ("apps/v1", "StatefulSet", ("spec", "volumeClaimTemplates"), ("atomic", ())),
        ("v1", "Pod", ("spec", "tolerations"), ("atomic", ())),
        ("v1", "Pod", ("spec", "containers", 0, "ports"), ("map", ("containerPort", "protocol"))),
        ("v1", "Service", ("spec", "ports"), ("map", ("port", "protocol"))),
        ("v1", "Pod", ("spec", "containers", 0, "volumeMounts"), ("map", ("mountPath",))),
        ("v1", "ConfigMap", ("metadata", "finalizers"), ("set", ())),
        ("apps/v1", "Deployment", ("status", "conditions"), ("map", ("type",))),
    ],
)
def test_list_types_by_kind_and_path(
    api_version: str, kind: str, path: tuple[Any, ...], expected: tuple[str, tuple[str, ...]]
) -> None:
    listed = builtin_schema().kind(api_version, kind).list_type(path)
    assert (listed.kind, listed.keys) == expected


def test_a_list_the_schema_does_not_describe_is_atomic() -> None:
    unknown = builtin_schema().kind("example.com/v1", "Widget")
    assert not unknown.known
    assert unknown.list_keys(("spec", "ports"), [{"port": 1}]) is None
    assert unknown.list_keys(("spec", "conditions"), [{"type": "Ready"}]) is None


def test_atomic_structs_are_owned_whole_as_the_apiserver_records_them() -> None:
    # LabelSelector is +structType=atomic upstream: a real Deployment's managedFields
    # show "f:selector": {} (e.g. gitops-engine pkg/diff/testdata, Apache-2.0).
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {}},
    }
    assert encode_fields(deployment)["f:spec"]["f:selector"] == {}


def _crd(list_type: dict[str, Any]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
    }
    return widget_crd(
        {
            "ports": {"type": "array", "items": item, **list_type},
            "size": {"type": "integer", "default": 3},
        }
    )


def _read(server: TestAPIServer, tmp_path: Path, gvs: set[tuple[str, str]]) -> Schema:
    kubeconfig = tmp_path / "kubeconfig"
    server.write_kubeconfig(kubeconfig)
    api, host = api_client(TargetConfig(name="t", kubeconfig=str(kubeconfig)))
    try:
        return Schema(SchemaData.from_json(read_schema(api, host, gvs)))
    finally:
        api.close()  # type: ignore[no-untyped-call]


def test_crd_list_types_and_defaults_come_from_the_targets_openapi_v3(tmp_path: Path) -> None:
    keyed = _crd({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]})
    with TestAPIServer([keyed]) as server:
        widget = _read(server, tmp_path, {("example.com", "v1")}).kind("example.com/v1", "Widget")
    assert widget.list_keys(("spec", "ports"), [{"name": "a"}]) == ("name",)
    assert widget.node(("spec", "size")) == {"d": 3}


def test_a_crd_list_named_ports_without_a_list_type_is_atomic(tmp_path: Path) -> None:
    with TestAPIServer([_crd({})]) as server:
        widget = _read(server, tmp_path, {("example.com", "v1")}).kind("example.com/v1", "Widget")
    assert widget.known and widget.list_keys(("spec", "ports"), [{"name": "a"}]) is None


def test_built_in_kinds_read_from_the_server_match_the_bundled_schema(tmp_path: Path) -> None:
    with TestAPIServer() as server:
        live = _read(server, tmp_path, {("apps", "v1")}).kind("apps/v1", "Deployment")
    bundled = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})
    for path in [
        ("spec", "template", "spec", "containers"),
        ("spec", "template", "spec", "tolerations"),
    ]:
        assert live.list_type(path) == bundled.list_type(path)
    assert live.atomic(("spec", "selector")) and not live.atomic(("spec", "template"))


def test_no_openapi_v3_or_garbage_leaves_the_bundled_schema(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with TestAPIServer(openapi_v3=False) as server:
        server.write_kubeconfig(kubeconfig)
        api, host = api_client(TargetConfig(name="t", kubeconfig=str(kubeconfig)))
        assert read_schema(api, host, {("apps", "v1")}) is None
        api.close()  # type: ignore[no-untyped-call]


def test_hostile_schemas_never_raise() -> None:
    nested: dict[str, Any] = {"type": "object"}
    for _ in range(5000):
        nested = {"type": "object", "properties": {"x": nested}}
    with pytest.raises(RecursionError):
        compact_types({"Deep": nested})  # read_schema turns this into "no schema"
    types, kinds = compact_types(
        {
            "Loop": {"$ref": "#/x/Loop", "x-kubernetes-group-version-kind": [{"kind": "L"}]},
            "Bad": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": [1],
            },
        }
    )
    loop = Schema(SchemaData(types, kinds)).kind("/", "L")
    assert loop.list_type(("a", 0)).kind == "atomic"


def test_recursive_types_do_not_hang_the_defaults_walk() -> None:
    """apiextensions/v1 JSONSchemaProps refers to itself (not, allOf, anyOf, oneOf); a
    hostile schema can branch the same way."""
    hostile = KindSchema({"T": {"f": {"a": "T", "b": "T", "c": {"d": 1, "f": {}}}}}, "T")
    assert hostile.defaults == (("c", 1),)
    crd = builtin_schema().kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert crd.known and crd.defaults == ()


def test_garbage_types_and_deep_defaults_say_nothing() -> None:
    deep: Any = 1
    for _ in range(500):
        deep = {"x": deep}
    types, _ = compact_types(
        {"X": {"type": [{}], "properties": {"a": {"type": "string", "default": deep}}}}
    )
    assert types == {"X": {"f": {}}}


def test_a_recorded_schema_with_a_default_nested_without_end_gives_no_default() -> None:
    """A snapshot's ``openapi`` is read as recorded, not compacted again."""
    deep: Any = 1
    for _ in range(500):
        deep = {"x": deep}
    recorded = SchemaData.from_json(
        {"kinds": {"/v1/W": "W"}, "types": {"W": {"f": {"a": {"d": deep}, "b": {"d": 2}}}}}
    )
    assert Schema(recorded).kind("v1", "W").defaults == (("b", 2),)
