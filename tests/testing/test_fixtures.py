"""``served()`` and ``record_write()``: apiserver-shaped fixtures and field ownership."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from driftwatch.engine.paths import ItemKey
from driftwatch.providers.kubernetes.schema import encode_fields, kind_of, managed_entries
from driftwatch.testing.fixtures import (
    LAST_APPLIED,
    fields_of,
    pull_policy,
    record_write,
    served,
)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.25",
                        "ports": [{"containerPort": 80}],
                        "env": [{"name": "MODE", "value": "prod"}],
                    },
                    {"name": "sidecar", "image": "busybox"},
                ]
            },
        },
    },
}


def _entry(obj: dict[str, Any], manager: str, subresource: str = "") -> dict[str, Any]:
    matches = [
        e
        for e in obj["metadata"]["managedFields"]
        if e["manager"] == manager and e.get("subresource", "") == subresource
    ]
    assert len(matches) == 1, [e["manager"] for e in obj["metadata"]["managedFields"]]
    return matches[0]


def test_served_deployment_metadata_and_defaults() -> None:
    manifest = copy.deepcopy(DEPLOYMENT)
    obj = served(manifest)
    assert manifest == DEPLOYMENT  # input untouched
    assert list(obj)[:3] == ["apiVersion", "kind", "metadata"] and list(obj)[-1] == "status"
    meta = obj["metadata"]
    assert meta["namespace"] == "default"
    assert meta["uid"] == served(DEPLOYMENT)["metadata"]["uid"]  # deterministic
    assert meta["uid"] != served(DEPLOYMENT, namespace_default="other")["metadata"]["uid"]
    assert meta["resourceVersion"].isdigit() and meta["generation"] == 1
    assert meta["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert meta["annotations"]["deployment.kubernetes.io/revision"] == "1"
    last_applied = json.loads(meta["annotations"][LAST_APPLIED])
    assert last_applied == {
        **DEPLOYMENT,
        "metadata": {**DEPLOYMENT["metadata"], "namespace": "default"},
    }
    assert meta["annotations"][LAST_APPLIED].endswith("\n")

    spec = obj["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always" and pod["dnsPolicy"] == "ClusterFirst"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["schedulerName"] == "default-scheduler" and pod["securityContext"] == {}
    web, sidecar = pod["containers"]
    assert web["terminationMessagePath"] == "/dev/termination-log"
    assert web["terminationMessagePolicy"] == "File"
    assert web["imagePullPolicy"] == "IfNotPresent" and sidecar["imagePullPolicy"] == "Always"
    assert web["resources"] == {} and web["ports"] == [{"containerPort": 80, "protocol": "TCP"}]

    status = obj["status"]
    assert status["observedGeneration"] == 1
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 3
    assert {c["type"] for c in status["conditions"]} == {"Available", "Progressing"}


def test_served_managed_fields_cover_exactly_the_manifest() -> None:
    obj = served(DEPLOYMENT)
    entry = _entry(obj, "kubectl-client-side-apply")
    assert entry["operation"] == "Update" and entry["apiVersion"] == "apps/v1"
    assert entry["fieldsType"] == "FieldsV1" and entry["time"] == "2026-01-01T00:00:00Z"
    expected = encode_fields(
        {
            "metadata": {
                "labels": {"app": "web"},
                "annotations": {LAST_APPLIED: "..."},  # what kubectl apply sends
            },
            "spec": DEPLOYMENT["spec"],
        },
        kind_of(DEPLOYMENT),
    )
    assert entry["fieldsV1"] == expected
    owned = next(e for e in managed_entries(obj) if e.manager == "kubectl-client-side-apply")
    web = ItemKey((("name", "web"),))
    assert ("spec", "replicas") in owned.paths
    assert ("spec", "template", "spec", "containers", web, "image") in owned.paths
    port = ItemKey((("containerPort", 80), ("protocol", "TCP")))
    assert (
        "spec",
        "template",
        "spec",
        "containers",
        web,
        "ports",
        port,
        "containerPort",
    ) in owned.paths
    # defaults and status are not the applier's
    assert not any(p[:2] == ("spec", "revisionHistoryLimit") for p in owned.paths)
    assert not any(p[0] == "status" for p in owned.paths)
    assert "f:name" not in entry["fieldsV1"].get("f:metadata", {})

    # the controller's status write is a separate entry on the status subresource
    status_entry = _entry(obj, "kube-controller-manager", "status")
    assert set(status_entry["fieldsV1"]) == {"f:status"}
    assert _entry(obj, "kube-controller-manager")["fieldsV1"] == {
        "f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}
    }

    ssa = served(DEPLOYMENT, manager="kubectl", operation="Apply", status=False)
    assert [e["manager"] for e in ssa["metadata"]["managedFields"]] == ["kubectl"]
    assert LAST_APPLIED not in ssa["metadata"].get("annotations", {})
    assert ssa["metadata"]["managedFields"][0]["fieldsV1"] == fields_of(DEPLOYMENT)
    owned_defaults = served(DEPLOYMENT, defaults_owned=True)
    assert (
        "f:revisionHistoryLimit"
        in _entry(owned_defaults, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]
    )


def test_image_pull_policy() -> None:
    assert pull_policy("nginx") == "Always"
    assert pull_policy("nginx:latest") == "Always"
    assert pull_policy("registry:5000/nginx") == "Always"
    assert pull_policy("registry:5000/nginx:1.2") == "IfNotPresent"
    assert pull_policy("nginx@sha256:abc") == "IfNotPresent"


def test_served_service_secret_namespace_and_others() -> None:
    svc = served(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
        }
    )
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["clusterIP"].startswith("10.96.") and spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]
    assert svc["status"] == {"loadBalancer": {}} and "generation" not in svc["metadata"]
    assert served(svc)["spec"]["clusterIP"] == spec["clusterIP"]

    secret = served(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "data": {"user": base64.b64encode(b"admin").decode()},
            "stringData": {"password": "s3cret"},
        }
    )
    assert "stringData" not in secret and secret["type"] == "Opaque"
    assert secret["data"] == {"user": "YWRtaW4=", "password": "czNjcmV0"}
    assert set(_entry(secret, "kubectl-client-side-apply")["fieldsV1"]["f:data"]) == {
        "f:user",
        "f:password",
    }

    ns = served({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
    assert "namespace" not in ns["metadata"]
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "prod"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}

    cron = served(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [{"name": "job", "image": "busybox:1.36"}],
                            }
                        }
                    }
                },
            },
        }
    )
    cspec = cron["spec"]
    assert (cspec["concurrencyPolicy"], cspec["suspend"]) == ("Allow", False)
    assert (cspec["successfulJobsHistoryLimit"], cspec["failedJobsHistoryLimit"]) == (3, 1)
    job_pod = cspec["jobTemplate"]["spec"]["template"]["spec"]
    assert job_pod["restartPolicy"] == "OnFailure" and job_pod["dnsPolicy"] == "ClusterFirst"

    sts = served(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
                },
            },
        }
    )
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0},
    }
    assert sts["status"]["currentRevision"].startswith("db-")

    pod = served(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }
    )
    assert pod["spec"]["serviceAccountName"] == "default" and pod["status"]["phase"] == "Running"
    assert _entry(pod, "kubelet", "status")
    assert (
        served({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}})[
            "metadata"
        ]["namespace"]
        == "default"
    )


def test_record_write_kubectl_edit_transfers_ownership() -> None:
    obj = served(DEPLOYMENT)
    edited = record_write(
        obj,
        "kubectl-edit",
        {
            "spec": {
                "replicas": 5,
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}},
            }
        },
        time="2026-01-02T00:00:00Z",
    )
    assert obj["spec"]["replicas"] == 3  # input untouched
    assert edited["spec"]["replicas"] == 5
    containers = edited["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["nginx:1.26", "busybox"]
    assert containers[0]["env"] == [{"name": "MODE", "value": "prod"}]  # merged by key
    assert int(edited["metadata"]["resourceVersion"]) == int(obj["metadata"]["resourceVersion"]) + 1
    assert edited["metadata"]["generation"] == 2

    entries = {e.manager: e for e in managed_entries(edited) if not e.subresource}
    web = ItemKey((("name", "web"),))
    image = ("spec", "template", "spec", "containers", web, "image")
    assert ("spec", "replicas") in entries["kubectl-edit"].paths
    assert image in entries["kubectl-edit"].paths
    applier = entries["kubectl-client-side-apply"].paths
    assert ("spec", "replicas") not in applier and image not in applier
    assert (
        "spec",
        "template",
        "spec",
        "containers",
        web,
        "env",
        ItemKey((("name", "MODE"),)),
        "value",
    ) in applier
    assert _entry(edited, "kubectl-edit")["time"] == "2026-01-02T00:00:00Z"
    assert _entry(edited, "kubectl-edit")["operation"] == "Update"


def test_record_write_kubectl_patch_with_fields_tree_merges_entries() -> None:
    obj = served(DEPLOYMENT)
    patched = record_write(obj, "kubectl-patch", {"f:metadata": {"f:labels": {"f:team": {}}}})
    assert patched["metadata"]["labels"] == {"app": "web"}  # a fields tree changes no values
    patched = record_write(
        patched,
        "kubectl-patch",
        {"metadata": {"labels": {"tier": "frontend"}}},
        time="2026-02-01T00:00:00Z",
    )
    entry = _entry(patched, "kubectl-patch")
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}, "f:tier": {}}}}
    assert entry["time"] == "2026-02-01T00:00:00Z"
    assert patched["metadata"]["labels"] == {"app": "web", "tier": "frontend"}
    assert patched["metadata"]["generation"] == 1  # metadata-only write

    # A manager that loses every field disappears from managedFields.
    scaled = record_write(
        obj,
        "kube-controller-manager",
        {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}},
    )
    assert len(scaled["metadata"]["managedFields"]) == len(obj["metadata"]["managedFields"])
    taken = record_write(
        obj, "hpa", {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}}}
    )
    managers = [
        (e["manager"], e.get("subresource", "")) for e in taken["metadata"]["managedFields"]
    ]
    assert ("kube-controller-manager", "") not in managers and ("hpa", "") in managers


def test_record_write_server_side_apply_shares_unless_forced() -> None:
    obj = served(DEPLOYMENT)
    shared = record_write(obj, "argocd", {"spec": {"replicas": 3}}, operation="Apply")
    entries = {e.manager: e for e in managed_entries(shared) if not e.subresource}
    assert ("spec", "replicas") in entries["argocd"].paths
    assert ("spec", "replicas") in entries["kubectl-client-side-apply"].paths
    forced = record_write(obj, "argocd", {"spec": {"replicas": 4}}, operation="Apply", force=True)
    entries = {e.manager: e for e in managed_entries(forced) if not e.subresource}
    assert ("spec", "replicas") not in entries["kubectl-client-side-apply"].paths
    # a new apply by the same manager replaces its applied set
    again = record_write(forced, "argocd", {"metadata": {"labels": {"x": "y"}}}, operation="Apply")
    assert _entry(again, "argocd")["fieldsV1"] == {"f:metadata": {"f:labels": {"f:x": {}}}}
