"""Server-side apply on the test API server, driven by the real kubectl and by HTTP.

Expected results are the apiserver's documented behaviour, not this server's code:
kubernetes.io "Server-Side Apply" (merge strategy per ``x-kubernetes-list-type``,
conflicts, ``--force-conflicts``, field removal when no other manager owns the field),
structured-merge-diff's list merge order, and the conflict message as real clusters print
it (kubernetes/kubernetes#129898, pulumi/pulumi-kubernetes#2491: ``Apply failed with 1
conflict: conflict with "M" using apps/v1: .spec...``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.testing import DEFAULT_TOKEN, TestAPIServer
from driftwatch.testing.fixtures import record_write, widget_crd
from tests.testing.conftest import KubectlRunner

DEPLOYMENTS = "/apis/apps/v1/namespaces/alpha/deployments"


def app(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "alpha"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
            **spec,
        },
    }


def apply_file(
    kubectl: KubectlRunner, tmp_path: Path, obj: dict[str, Any], *flags: str, check: bool = True
) -> Any:
    path = tmp_path / f"{obj['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(obj))
    return kubectl("apply", "--server-side", "-f", str(path), *flags, check=check)


def patch(
    server: TestAPIServer,
    path: str,
    body: bytes,
    content_type: str = "application/apply-patch+yaml",
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + path,
        data=body,
        method="PATCH",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"]["managedFields"]}


def test_kubectl_apply_creates_with_defaults_and_records_exactly_the_applied_fields(
    server: TestAPIServer, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    out = apply_file(kubectl, tmp_path, app("shop", [{"name": "web", "image": "shop:1"}]))
    assert out.stdout.strip() == "deployment.apps/shop serverside-applied"
    stored = server.get("apps", "Deployment", "alpha", "shop")
    assert stored is not None
    # Server defaults (pkg/apis/apps/v1/defaults.go, core/v1 defaults) are stored, unowned.
    assert stored["spec"]["replicas"] == 1
    assert stored["spec"]["strategy"]["type"] == "RollingUpdate"
    assert containers(stored)[0]["imagePullPolicy"] == "IfNotPresent"
    assert stored["metadata"]["generation"] == 1
    # kubectl's default field manager for --server-side is "kubectl"; Apply entries carry
    # only what was applied (server-side-apply docs, "Field management").
    assert managers(stored) == {
        ("kubectl", "Apply"): {
            "f:spec": {
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}
                    },
                },
            }
        }
    }


def test_map_list_merges_by_key_and_atomic_list_is_replaced_whole(
    server: TestAPIServer, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    git = app("shop", [{"name": "web", "image": "shop:1", "args": ["--port=80", "--v=1"]}])
    apply_file(kubectl, tmp_path, git)
    # Another manager applies its own container: containers is a map list keyed by name.
    server.apply(app("shop", [{"name": "proxy", "image": "envoy:1"}]), "mesh-injector")
    # Git changes the image and replaces args (Container.args is x-kubernetes-list-type: atomic).
    git = app("shop", [{"name": "web", "image": "shop:2", "args": ["--port=8080"]}])
    apply_file(kubectl, tmp_path, git)
    stored = server.get("apps", "Deployment", "alpha", "shop")
    assert stored is not None
    assert [(c["name"], c["image"]) for c in containers(stored)] == [
        ("web", "shop:2"),
        ("proxy", "envoy:1"),
    ]
    assert containers(stored)[0]["args"] == ["--port=8080"]
    assert ("mesh-injector", "Apply") in managers(stored)


def test_conflict_without_force_conflicts_is_409_naming_the_manager(
    server: TestAPIServer, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    apply_file(kubectl, tmp_path, app("shop", [{"name": "web", "image": "shop:1"}], replicas=2))
    edited = record_write(
        server.get("apps", "Deployment", "alpha", "shop") or {},
        "kubectl-edit",
        {"spec": {"replicas": 5}},
    )
    server.put(edited)
    before = server.get("apps", "Deployment", "alpha", "shop")
    git = app("shop", [{"name": "web", "image": "shop:1"}], replicas=3)
    failed = apply_file(kubectl, tmp_path, git, check=False)
    assert failed.returncode == 1
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas'
        in failed.stderr
    )
    assert "--force-conflicts" in failed.stderr  # kubectl's own advice on a 409 conflict
    assert server.get("apps", "Deployment", "alpha", "shop") == before
    apply_file(kubectl, tmp_path, git, "--force-conflicts")
    stored = server.get("apps", "Deployment", "alpha", "shop")
    assert stored is not None and stored["spec"]["replicas"] == 3
    # The field was taken from kubectl-edit, whose entry owned nothing else: it is gone.
    assert ("kubectl-edit", "Update") not in managers(stored)


def test_conflict_status_over_http(server: TestAPIServer) -> None:
    server.apply(app("shop", [{"name": "web", "image": "shop:1"}], replicas=2), "argocd-controller")
    body = json.dumps(app("shop", [{"name": "web", "image": "shop:9"}], replicas=4)).encode()
    code, status = patch(server, f"{DEPLOYMENTS}/shop?fieldManager=kustomize-controller", body)
    assert code == 409
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 2 conflicts: conflicts with "argocd-controller":\n'
        '- .spec.replicas\n- .spec.template.spec.containers[name="web"].image'
    )
    assert status["details"]["causes"][0] == {
        "type": "FieldManagerConflict",
        "message": 'conflict with "argocd-controller"',
        "field": ".spec.replicas",
    }


def test_field_dropped_from_the_config_is_removed_unless_another_manager_owns_it(
    server: TestAPIServer, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    git = app("shop", [{"name": "web", "image": "shop:1"}])
    git["metadata"]["labels"] = {"team": "a", "tier": "web"}
    apply_file(kubectl, tmp_path, git)
    # Another applier co-owns tier by applying the same value (no conflict: unchanged).
    server.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "shop", "namespace": "alpha", "labels": {"tier": "web"}},
        },
        "platform-team",
    )
    git["metadata"]["labels"] = {}
    apply_file(kubectl, tmp_path, git)
    stored = server.get("apps", "Deployment", "alpha", "shop")
    assert stored is not None
    assert stored["metadata"].get("labels") == {"tier": "web"}


def test_dry_run_server_answers_the_result_and_stores_nothing(
    server: TestAPIServer, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    apply_file(kubectl, tmp_path, app("shop", [{"name": "web", "image": "shop:1"}]))
    before, version = server.get("apps", "Deployment", "alpha", "shop"), server.resource_version
    git = app("shop", [{"name": "web", "image": "shop:2"}], replicas=4)
    out = apply_file(kubectl, tmp_path, git, "--dry-run=server", "-o", "yaml")
    shown = yaml.safe_load(out.stdout)
    assert containers(shown)[0]["image"] == "shop:2" and shown["spec"]["replicas"] == 4
    assert containers(shown)[0]["terminationMessagePath"] == "/dev/termination-log"
    assert server.get("apps", "Deployment", "alpha", "shop") == before
    assert server.resource_version == version
    # A dry-run of an absent object creates nothing either.
    out = apply_file(
        kubectl, tmp_path, app("new", [{"name": "w", "image": "w:1"}]), "--dry-run=server"
    )
    assert "serverside-applied (server dry run)" in out.stdout
    assert server.get("apps", "Deployment", "alpha", "new") is None


def test_apply_requests_are_checked(server: TestAPIServer) -> None:
    body = json.dumps(app("shop", [{"name": "web", "image": "shop:1"}])).encode()
    code, status = patch(server, f"{DEPLOYMENTS}/shop", body)
    assert code == 422 and "fieldManager: Required value" in status["message"]
    code, status = patch(server, f"{DEPLOYMENTS}/other?fieldManager=m", body)
    assert code == 400 and "does not match the name on the URL" in status["message"]
    code, status = patch(server, f"{DEPLOYMENTS}/shop?fieldManager=m", b"{: nope")
    assert code == 400 and status["reason"] == "BadRequest"
    code, status = patch(server, f"{DEPLOYMENTS}/shop?fieldManager=m", b"[1, 2]")
    assert code == 400
    code, status = patch(
        server, f"{DEPLOYMENTS}/shop?fieldManager=m", body, "application/merge-patch+json"
    )
    assert code == 415
    code, status = patch(server, f"{DEPLOYMENTS}/shop?fieldManager=m&dryRun=Some", body)
    assert code == 422
    assert server.get("apps", "Deployment", "alpha", "shop") is None


def test_forbidden_patch_is_403(server: TestAPIServer) -> None:
    server.faults.forbid("apps", "deployments", verbs=("patch",))
    body = json.dumps(app("shop", [{"name": "web", "image": "shop:1"}])).encode()
    code, status = patch(server, f"{DEPLOYMENTS}/shop?fieldManager=m&dryRun=All", body)
    assert code == 403
    assert 'cannot patch resource "deployments" in API group "apps"' in status["message"]


def test_apply_hooks_mutate_like_a_webhook_dry_run_included(server: TestAPIServer) -> None:
    def inject(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("annotations", {})["mesh.example/injected"] = "true"

    server.apply_hooks.append(inject)
    shown = server.apply(app("shop", [{"name": "web", "image": "shop:1"}]), "m", dry_run=True)
    assert shown["metadata"]["annotations"] == {"mesh.example/injected": "true"}
    assert server.get("apps", "Deployment", "alpha", "shop") is None


CRD = widget_crd(
    {
        "size": {"type": "integer", "default": 3},
        "ports": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "port": {"type": "integer"},
                    "protocol": {"type": "string", "default": "TCP"},
                },
            },
        },
    }
)


def test_crd_schema_defaults_and_list_types_apply(tmp_path: Path) -> None:
    with TestAPIServer([CRD]) as server:
        widget = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "alpha"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        }
        server.apply(widget, "kustomize-controller")
        server.apply({**widget, "spec": {"ports": [{"name": "admin", "port": 9}]}}, "ops")
        stored = server.get("example.com", "Widget", "alpha", "w")
        assert stored is not None
        # Structural-schema defaults, for the object and for each item of the map list.
        assert stored["spec"] == {
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "admin", "port": 9, "protocol": "TCP"},
            ],
            "size": 3,
        }


@pytest.mark.parametrize("force", [False, True])
def test_python_client_dry_run_apply(server: TestAPIServer, force: bool) -> None:
    """The dry-run driftwatch sends (dryRun=All, force) answers without storing."""
    server.apply(app("shop", [{"name": "web", "image": "shop:1"}], replicas=2), "kubectl-edit")
    before, version = server.get("apps", "Deployment", "alpha", "shop"), server.resource_version
    query = f"fieldManager=kustomize-controller&dryRun=All&force={str(force).lower()}"
    body = json.dumps(app("shop", [{"name": "web", "image": "shop:1"}], replicas=5)).encode()
    code, answer = patch(server, f"{DEPLOYMENTS}/shop?{query}", body)
    assert code == (200 if force else 409)
    if force:
        assert answer["spec"]["replicas"] == 5
        assert answer["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]  # type: ignore[index]
    assert server.get("apps", "Deployment", "alpha", "shop") == before
    assert server.resource_version == version


def test_quantities_are_stored_canonical_as_a_real_apiserver_does(
    server: TestAPIServer, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    limits = {"cpu": "0.5", "memory": "1024Mi"}
    obj = app("sized", [{"name": "a", "image": "a:1", "resources": {"limits": limits}}])
    out = yaml.safe_load(
        apply_file(kubectl, tmp_path, obj, "--dry-run=server", "-o", "yaml").stdout
    )
    stored = out["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert stored == {"cpu": "500m", "memory": "1Gi"}
