"""Fidelity with the real ``kubectl`` (run as a subprocess against the test server)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driftwatch.testing import TestAPIServer

KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


def _strip_identity(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def test_get_all_namespaces_json_equals_stored(
    server: TestAPIServer, kubectl: KubectlRunner
) -> None:
    out = json.loads(kubectl("get", "deploy", "-A", "-o", "json", "--show-managed-fields").stdout)
    stored = server.objects("apps", "deployments")
    assert len(out["items"]) == len(stored) == 9
    # kubectl re-adds kind/apiVersion to list items; the content is the stored object.
    assert [_strip_identity(i) for i in out["items"]] == [_strip_identity(o) for o in stored]
    assert all(i["kind"] == "Deployment" and i["apiVersion"] == "apps/v1" for i in out["items"])


def test_get_one_json(server: TestAPIServer, kubectl: KubectlRunner) -> None:
    out = json.loads(
        kubectl("get", "deploy", "-n", "beta", "web", "-o", "json", "--show-managed-fields").stdout
    )
    assert out == server.get("apps", "Deployment", "beta", "web")


def test_table_output(kubectl: KubectlRunner) -> None:
    lines = kubectl("get", "deploy", "-A").stdout.splitlines()
    header = lines[0].split()
    assert header[:2] == ["NAMESPACE", "NAME"]
    assert header[2:] == ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == 9
    assert rows[1][:5] == ["alpha", "web", "2/2", "2", "2"]
    wide = kubectl("get", "deploy", "-n", "alpha", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert "registry.example/web:1.0" in wide[2] and "app=web" in wide[2]
    pods = kubectl("get", "pods", "-n", "gamma").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[1:3] == ["1/1", "Running"]
    services = kubectl("get", "svc", "-n", "alpha").stdout.splitlines()
    assert services[1].split()[:2] == ["web", "ClusterIP"]
    assert "80/TCP" in services[1]


def test_chunked_listing_paginates(server: TestAPIServer, kubectl: KubectlRunner) -> None:
    server.clear_requests()
    out = json.loads(kubectl("get", "deploy", "-A", "-o", "json", "--chunk-size=2").stdout)
    assert len(out["items"]) == 9
    lists = [r for r in server.requests if r.path == "/apis/apps/v1/deployments"]
    assert len(lists) == 5
    assert all(r.query.get("limit") == "2" for r in lists)
    assert "continue" not in lists[0].query
    assert all(r.query.get("continue") for r in lists[1:])
    # the table printer paginates too
    server.clear_requests()
    assert len(kubectl("get", "deploy", "-A", "--chunk-size=4").stdout.splitlines()) == 10
    assert len([r for r in server.requests if r.path == "/apis/apps/v1/deployments"]) == 3


def test_selectors(kubectl: KubectlRunner) -> None:
    out = kubectl("get", "pods", "-l", "app=web", "-A", "-o", "name").stdout.split()
    assert out == ["pod/web-pod", "pod/web-pod", "pod/web-pod"]
    out = kubectl(
        "get", "deploy", "-l", "app in (api,worker),tier=backend", "-A", "-o", "name"
    ).stdout
    assert len(out.split()) == 6
    out = kubectl(
        "get", "cm", "--field-selector", "metadata.name=settings-beta", "-A", "-o", "name"
    ).stdout.split()
    assert out == ["configmap/settings-beta"]
    bad = kubectl("get", "cm", "--field-selector", "data.mode=x", "-A", check=False)
    assert bad.returncode != 0
    assert "field label not supported: data.mode" in bad.stderr


def test_api_resources(kubectl: KubectlRunner) -> None:
    out = kubectl("api-resources").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    for name in (
        "deployments",
        "statefulsets",
        "pods",
        "services",
        "configmaps",
        "customresourcedefinitions",
        "clusterrolebindings",
        "horizontalpodautoscalers",
        "validatingwebhookconfigurations",
        "apiservices",
    ):
        assert name in rows, name
    assert rows["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]
    assert "deployments" in kubectl("api-resources", "--api-group=apps", "-o", "name").stdout
    assert "deployments.apps" in kubectl("api-resources", "--categories=all", "-o", "name").stdout


def test_legacy_discovery(
    sample_objects: list[dict[str, Any]],
    kubectl_bin: str,
    kubectl_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """An older server (no aggregated discovery): kubectl falls back to per-group documents."""
    with TestAPIServer(sample_objects, aggregated_discovery=False) as srv:
        kc = srv.write_kubeconfig(tmp_path / "kc")
        proc = subprocess.run(
            [kubectl_bin, "--kubeconfig", str(kc), "get", "deploy", "-A", "-o", "name"],
            capture_output=True,
            text=True,
            env=kubectl_env,
            timeout=60,
            check=True,
        )
        assert len(proc.stdout.split()) == 9
        paths = {r.path for r in srv.requests}
        assert {"/api", "/apis", "/api/v1", "/apis/apps/v1"} <= paths


def test_not_found(kubectl: KubectlRunner) -> None:
    proc = kubectl("get", "deploy", "nope", "-n", "alpha", check=False)
    assert proc.returncode != 0
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in proc.stderr
    # kubectl reports a missing namespace instead, as it does against a real cluster
    proc = kubectl("get", "deploy", "web", "-n", "missing", check=False)
    assert proc.returncode != 0
    assert 'namespaces "missing" not found' in proc.stderr


def test_forbidden(server: TestAPIServer, kubectl: KubectlRunner) -> None:
    server.faults.forbid("apps", "deployments")
    proc = kubectl("get", "deploy", "-A", check=False)
    assert proc.returncode != 0
    assert (
        "Error from server (Forbidden): deployments.apps is forbidden: User "
        '"system:serviceaccount:default:driftwatch" cannot list resource "deployments" '
        'in API group "apps" at the cluster scope'
    ) in proc.stderr
    assert kubectl("get", "cm", "-A", "-o", "name").stdout.count("configmap/") == 3


def test_unauthorized(server: TestAPIServer, kubectl: KubectlRunner) -> None:
    kubectl("get", "ns")  # warm the discovery cache
    server.faults.unauthorized()
    proc = kubectl("get", "ns", check=False)
    assert proc.returncode != 0
    assert "Unauthorized" in proc.stderr or "must be logged in" in proc.stderr
