"""The server's HTTP surface, checked at the wire level."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from driftwatch.testing import TestAPIServer, load_objects

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


def fetch(
    server: TestAPIServer, path: str, *, accept: str = "application/json", method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(server.url + path, method=method, headers={"Accept": accept})
    if method in ("POST", "PUT", "PATCH"):
        req.data = b"{}"
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def get_json(server: TestAPIServer, path: str, **kw: Any) -> tuple[int, Any]:
    code, _, body = fetch(server, path, **kw)
    return code, json.loads(body)


def test_version_and_health(server: TestAPIServer) -> None:
    code, info = get_json(server, "/version")
    assert code == 200 and info["gitVersion"] == "v1.32.4" and info["platform"] == "linux/amd64"
    for path in ("/healthz", "/readyz", "/livez"):
        assert fetch(server, path)[::2] == (200, b"ok")
    assert b"readyz check passed" in fetch(server, "/readyz?verbose")[2]
    code, root = get_json(server, "/")
    assert "/apis/apps/v1" in root["paths"] and "/api/v1" in root["paths"]


def test_legacy_discovery_documents(server: TestAPIServer) -> None:
    code, api = get_json(server, "/api")
    assert code == 200
    assert api == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{server.port}"}
        ],
    }
    _, apis = get_json(server, "/apis")
    assert apis["kind"] == "APIGroupList" and apis["apiVersion"] == "v1"
    apps = next(g for g in apis["groups"] if g["name"] == "apps")
    assert apps == {
        "name": "apps",
        "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
    }
    expected_groups = {
        "apps",
        "batch",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "autoscaling",
        "policy",
        "storage.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "admissionregistration.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
    }
    assert {g["name"] for g in apis["groups"]} == expected_groups
    _, group = get_json(server, "/apis/apps")
    assert group == {"kind": "APIGroup", "apiVersion": "v1", **apps}

    _, core = get_json(server, "/api/v1")
    assert list(core)[:2] == ["kind", "groupVersion"] and "apiVersion" not in core
    names = [r["name"] for r in core["resources"]]
    assert names == sorted(names)
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["singularName"] == "pod" and pods["shortNames"] == ["po"]
    assert pods["categories"] == ["all"] and pods["namespaced"] is True
    assert pods["storageVersionHash"] == "xPOwRZ+Yhw8="  # as real servers report it
    _, apps_v1 = get_json(server, "/apis/apps/v1")
    assert apps_v1["apiVersion"] == "v1" and apps_v1["groupVersion"] == "apps/v1"
    deploy = next(r for r in apps_v1["resources"] if r["name"] == "deployments")
    assert deploy["kind"] == "Deployment" and deploy["storageVersionHash"] == "8aSe+NMegvE="
    assert "deployments/status" in {r["name"] for r in apps_v1["resources"]}

    for missing in ("/apis/nope", "/apis/apps/v2", "/api/v2"):
        code, status = get_json(server, missing)
        assert code == 404 and status["kind"] == "Status" and status["reason"] == "NotFound"


def test_aggregated_discovery(server: TestAPIServer) -> None:
    code, headers, body = fetch(server, "/apis", accept=AGGREGATED)
    assert code == 200
    assert headers["Content-Type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    doc = json.loads(body)
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert deploy["scope"] == "Namespaced" and deploy["singularResource"] == "deployment"
    _, core = get_json(server, "/api", accept=AGGREGATED)
    assert core["items"][0]["versions"][0]["version"] == "v1"
    # plain JSON clients still get the legacy document
    assert get_json(server, "/apis")[1]["kind"] == "APIGroupList"


def test_status_errors_and_read_only(server: TestAPIServer) -> None:
    code, status = get_json(server, "/apis/apps/v1/namespaces/alpha/deployments/nope")
    assert code == 404
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"},
        "code": 404,
    }
    code, status = get_json(server, "/api/v1/namespaces/alpha/configmaps/nope")
    assert status["details"] == {"name": "nope", "kind": "configmaps"}
    code, status = get_json(server, "/apis/apps/v1/widgets")
    assert code == 404 and status["message"] == "the server could not find the requested resource"
    code, status = get_json(server, "/apis/apps/v1/namespaces/alpha/clusterroles")
    assert code == 404
    for method in ("POST", "PUT", "DELETE"):
        code, status = get_json(server, "/api/v1/namespaces/alpha/configmaps/x", method=method)
        assert code == 405 and status["reason"] == "MethodNotAllowed"
    # PATCH is served for server-side apply only (tests/testing/test_apiserver_apply.py).
    code, status = get_json(server, "/api/v1/namespaces/alpha/configmaps/x", method="PATCH")
    assert code == 415 and status["reason"] == "UnsupportedMediaType"
    code, _, _ = fetch(server, "/api/v1/pods", accept="application/vnd.kubernetes.protobuf")
    assert code == 406


def test_injected_errors_shapes(server: TestAPIServer) -> None:
    server.faults.error("apps", "deployments", code=429, times=1, retry_after=1)
    code, headers, body = fetch(server, "/apis/apps/v1/deployments")
    assert code == 429 and headers["Retry-After"] == "1"
    assert json.loads(body)["reason"] == "TooManyRequests"
    server.faults.error(None, None, code=503, times=1)
    code, status = get_json(server, "/version")
    assert code == 503 and status["reason"] == "ServiceUnavailable"
    assert get_json(server, "/version")[0] == 200
    server.faults.forbid("", "pods", verbs=("get",))
    assert get_json(server, "/api/v1/pods")[0] == 200
    code, status = get_json(server, "/api/v1/namespaces/alpha/pods/web-pod")
    assert code == 403
    assert status["message"] == (
        'pods "web-pod" is forbidden: User "system:serviceaccount:default:driftwatch" '
        'cannot get resource "pods" in API group "" in the namespace "alpha"'
    )
    server.faults.clear()
    server.faults.delay(0.3, times=1)
    started = time.monotonic()
    assert get_json(server, "/api")[0] == 200
    assert time.monotonic() - started >= 0.3


def test_garbage_and_reset_faults(server: TestAPIServer) -> None:
    html = b"<html><body>502 Bad Gateway</body></html>"
    server.faults.garbage(html, path="/apis", content_type="text/html", times=1)
    code, headers, body = fetch(server, "/apis")
    assert (code, headers["Content-Type"], body) == (200, "text/html", html)
    assert get_json(server, "/apis")[0] == 200  # disarmed after one
    server.faults.garbage(b'{"items": 5}', "", "configmaps")
    assert fetch(server, "/api/v1/configmaps")[2] == b'{"items": 5}'
    assert fetch(server, "/api/v1/namespaces/alpha/configmaps")[2] == b'{"items": 5}'
    assert get_json(server, "/api/v1/pods")[0] == 200  # other resources are untouched
    server.faults.clear()
    server.faults.reset("", "pods", times=2)
    before = len(server.requests)
    for _ in range(2):
        with pytest.raises((ConnectionError, urllib.error.URLError)):
            fetch(server, "/api/v1/pods")
    assert get_json(server, "/api/v1/pods")[0] == 200
    assert len(server.requests) - before == 3  # the reset requests were received too
    server.faults.error(None, None, code=503, retry_after="Fri, 04 Dec 2026 20:00:00 GMT", times=1)
    code, headers, _ = fetch(server, "/version")
    assert code == 503 and headers["Retry-After"] == "Fri, 04 Dec 2026 20:00:00 GMT"


def test_table_and_partial_metadata(server: TestAPIServer) -> None:
    code, table = get_json(server, "/apis/apps/v1/namespaces/alpha/deployments", accept=TABLE)
    assert code == 200 and table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:5] == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert [r["cells"][0] for r in table["rows"]] == ["api-0", "web", "worker-0"]
    assert table["rows"][1]["cells"][1] == "2/2"
    obj = table["rows"][1]["object"]
    assert obj["kind"] == "PartialObjectMetadata" and obj["apiVersion"] == "meta.k8s.io/v1"
    assert obj["metadata"]["name"] == "web" and "spec" not in obj
    _, full = get_json(
        server, "/apis/apps/v1/namespaces/alpha/deployments?includeObject=Object", accept=TABLE
    )
    assert full["rows"][1]["object"]["spec"]["replicas"] == 2
    _, one = get_json(server, "/api/v1/namespaces/alpha/configmaps/settings-alpha", accept=TABLE)
    assert [c["name"] for c in one["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert one["rows"][0]["cells"][:2] == ["settings-alpha", 1]
    _, crb = get_json(server, "/apis/rbac.authorization.k8s.io/v1/clusterroles", accept=TABLE)
    assert [c["name"] for c in crb["columnDefinitions"]] == ["Name", "Age"]

    partial = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    _, meta_list = get_json(server, "/api/v1/configmaps", accept=partial)
    assert meta_list["kind"] == "PartialObjectMetadataList"
    assert [i["metadata"]["name"] for i in meta_list["items"]] == [
        "settings-alpha",
        "settings-beta",
        "settings-gamma",
    ]
    assert "data" not in meta_list["items"][0]


def test_subresources_and_watch(server: TestAPIServer) -> None:
    _, scale = get_json(server, "/apis/apps/v1/namespaces/alpha/deployments/web/scale")
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=web"
    _, status = get_json(server, "/apis/apps/v1/namespaces/alpha/deployments/web/status")
    assert status["kind"] == "Deployment"
    _, ns = get_json(server, "/api/v1/namespaces/alpha")
    assert ns["kind"] == "Namespace" and ns["metadata"]["name"] == "alpha"
    code, _, body = fetch(server, "/api/v1/namespaces/beta/configmaps?watch=true&timeoutSeconds=0")
    events = [json.loads(line) for line in body.splitlines()]
    assert code == 200 and [e["type"] for e in events] == ["ADDED"]
    assert events[0]["object"]["metadata"]["name"] == "settings-beta"


def test_store_api(server: TestAPIServer) -> None:
    before = server.resource_version
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}, "data": {"a": "1"}}
    stored = server.add(cm)
    assert stored["metadata"]["namespace"] == "default"
    assert stored["metadata"]["resourceVersion"] == str(before + 1) and stored["metadata"]["uid"]
    with pytest.raises(ValueError, match="already exists"):
        server.add(cm)
    server.put({**cm, "data": {"a": "2"}})
    assert get_json(server, "/api/v1/namespaces/default/configmaps/new")[1]["data"] == {"a": "2"}
    assert server.delete("", "cm", "default", "new")["data"] == {"a": "2"}
    with pytest.raises(KeyError):
        server.delete("", "ConfigMap", "default", "new")
    with pytest.raises(ValueError, match="no resource registered"):
        server.add({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}})

    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {
                "kind": "Gadget",
                "plural": "gadgets",
                "singular": "gadget",
                "shortNames": ["gd"],
            },
            "versions": [
                {"name": "v1beta1", "served": True, "storage": False},
                {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
            ],
        },
    }
    server.add(crd)
    server.add({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    _, group = get_json(server, "/apis/example.com")
    assert group["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    _, gadgets = get_json(server, "/apis/example.com/v1/gadgets")
    assert gadgets["kind"] == "GadgetList" and gadgets["items"][0]["metadata"]["name"] == "g"
    assert get_json(server, "/apis/example.com/v1beta1/gadgets/g")[0] == 200


def test_list_raw_bytes_are_stored_bytes(server: TestAPIServer) -> None:
    _, _, body = fetch(server, "/api/v1/namespaces/alpha/secrets")
    doc = orjson.loads(body)
    stored = server.objects("", "secrets")
    assert doc["items"] == [
        {k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in stored
    ]
    _, _, one = fetch(server, "/api/v1/namespaces/alpha/secrets/creds")
    assert one == orjson.dumps(stored[0])


def test_load_objects_formats(tmp_path: Path, sample_objects: list[dict[str, Any]]) -> None:
    listed = tmp_path / "list.json"
    listed.write_bytes(orjson.dumps(sample_objects))
    assert load_objects(listed) == sample_objects
    wrapped = tmp_path / "items.json"
    items = [
        {k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in sample_objects[:3]
    ]
    wrapped.write_bytes(orjson.dumps({"kind": "NamespaceList", "apiVersion": "v1", "items": items}))
    assert load_objects(wrapped) == sample_objects[:3]
    docs = tmp_path / "objs.yaml"
    docs.write_text(yaml.safe_dump_all(sample_objects[:4]))
    assert load_objects(docs) == sample_objects[:4]


def test_cli_serve(tmp_path: Path, sample_objects: list[dict[str, Any]]) -> None:
    objects = tmp_path / "objects.json"
    objects.write_bytes(orjson.dumps(sample_objects))
    kubeconfig = tmp_path / "kc.yaml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "driftwatch.testing",
            "serve",
            "--objects",
            str(objects),
            "--kubeconfig",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == url
        with urllib.request.urlopen(url + "/apis/apps/v1/deployments", timeout=10) as resp:
            assert len(json.loads(resp.read())["items"]) == 9
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC: 10k objects (and pytest's large heap) make each collection
    slow, and the test measures the server, not the collector."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_gc")
def test_listing_10k_deployments_is_fast(sample_objects: list[dict[str, Any]]) -> None:
    template = next(o for o in sample_objects if o["kind"] == "Deployment")
    objects = []
    for i in range(10_000):
        obj = orjson.loads(orjson.dumps(template))
        obj["metadata"]["name"] = f"app-{i:05d}"
        obj["metadata"]["namespace"] = f"ns-{i % 50:02d}"
        del obj["metadata"]["uid"], obj["metadata"]["resourceVersion"]
        objects.append(obj)
    with TestAPIServer(objects) as srv:
        started = time.perf_counter()
        resp = srv._serve("GET", "/apis/apps/v1/deployments", {"Accept": "application/json"})
        server_side = time.perf_counter() - started
        assert resp.code == 200 and server_side < 1.0, server_side
        started = time.perf_counter()
        code, _, body = fetch(srv, "/apis/apps/v1/deployments")
        over_http = time.perf_counter() - started
        assert code == 200 and over_http < 2.0, over_http
        assert len(orjson.loads(body)["items"]) == 10_000
        started = time.perf_counter()
        pages = 0
        token = ""
        names: list[str] = []
        while True:
            _, _, page = fetch(srv, f"/apis/apps/v1/deployments?limit=500&continue={token}")
            doc = orjson.loads(page)
            names.extend(i["metadata"]["name"] for i in doc["items"])
            pages += 1
            token = doc["metadata"].get("continue", "")
            if not token:
                break
        assert pages == 20 and len(set(names)) == 10_000
        assert time.perf_counter() - started < 3.0
