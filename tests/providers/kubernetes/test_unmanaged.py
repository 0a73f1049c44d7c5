"""Unmanaged detection over HTTP: what is listed (metadata only), what is fetched whole,
and each named rule that leaves out what controllers and the cluster generate.

Live objects are shaped as the apiserver stores what each writer sends: ``kubectl create``
(manager ``kubectl-create``), ``kubectl run`` (``kubectl-run``), the controllers of
kube-controller-manager (``endpoint-controller``, ``endpointslice-controller``,
``kube-controller-manager``), as upstream names them in managedFields.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftwatch.cli import main
from driftwatch.config import load_config
from driftwatch.providers.base import ResourceKey
from driftwatch.providers.kubernetes.unmanaged import (
    PROVIDER,
    _Controllers,
    declared_namespaces,
    exclusion,
)
from driftwatch.report import AuditReport
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.catalog import custom_resource
from driftwatch.testing.fixtures import served
from tests.conftest import RepoFactory

SECRET_VALUE = "hunter2-in-clear"
METADATA = "as=PartialObjectMetadataList"

WEB: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        },
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
}
STATEFULSET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "db", "namespace": "shop"},
    "spec": {
        "serviceName": "db",
        "replicas": 2,
        "selector": {"matchLabels": {"app": "db"}},
        "template": {
            "metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
    },
}
GIT = [WEB, SERVICE, STATEFULSET]


def made_by(manager: str, obj: dict[str, Any], **meta: Any) -> dict[str, Any]:
    """``obj`` as stored after ``manager`` created it (an Update, no last-applied)."""
    obj = {**obj, "metadata": {**obj["metadata"], **meta}}
    return served(obj, manager=manager, last_applied=False)


def owner(kind: str, name: str, api_version: str = "apps/v1") -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def secret(name: str, namespace: str = "shop") -> dict[str, Any]:
    return made_by(
        "kubectl-create",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMi1pbi1jbGVhcg=="},  # base64 of SECRET_VALUE
        },
    )


def debug_pod() -> dict[str, Any]:
    """``kubectl run debug --image=busybox -n shop``: a bare Pod, no owner."""
    return made_by(
        "kubectl-run",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "debug", "namespace": "shop", "labels": {"run": "debug"}},
            "spec": {"containers": [{"name": "debug", "image": "busybox"}]},
        },
    )


def hand_rolebinding() -> dict[str, Any]:
    """``kubectl create rolebinding tmp-admin --clusterrole=admin --user=eve -n shop``."""
    return made_by(
        "kubectl-create",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "tmp-admin", "namespace": "shop"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "eve"}],
        },
    )


def git_live() -> list[dict[str, Any]]:
    return [served(o) for o in GIT]


# Each rule: what the controller (or the cluster) generates, and the names it leaves out.
def generated(rule: str) -> list[dict[str, Any]]:
    if rule == "ownerReferences":
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web-5d78c9b8f6", "namespace": "shop"},
            "spec": WEB["spec"],
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-5d78c9b8f6-x2x7q", "namespace": "shop"},
            "spec": WEB["spec"]["template"]["spec"],
        }
        return [
            made_by("kube-controller-manager", rs, ownerReferences=owner("Deployment", "web")),
            made_by(
                "kube-controller-manager",
                pod,
                ownerReferences=owner("ReplicaSet", "web-5d78c9b8f6"),
            ),
        ]
    if rule == "events":
        core = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.17e2c0a1b2c3d4e5", "namespace": "shop"},
            "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "shop"},
            "reason": "ScalingReplicaSet",
            "type": "Normal",
        }
        new = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "db-0.17e2c0a1b2c3d4e6", "namespace": "shop"},
            "regarding": {"kind": "Pod", "name": "db-0", "namespace": "shop"},
            "reason": "Scheduled",
            "reportingController": "default-scheduler",
            "type": "Normal",
        }
        return [made_by("kube-controller-manager", core), made_by("kube-scheduler", new)]
    if rule == "serviceEndpoints":
        endpoints = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "subsets": [{"addresses": [{"ip": "10.0.0.7"}], "ports": [{"port": 8080}]}],
        }
        return [made_by("endpoint-controller", endpoints)]
    if rule == "endpointSlices":
        # As the endpointslicemirroring controller leaves one: no owner reference.
        mirrored = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "web-mirror-7kq2p",
                "namespace": "shop",
                "labels": {
                    "kubernetes.io/service-name": "web",
                    "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.7"]}],
        }
        # As the endpointslice controller makes one for a Service with a selector.
        owned = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "web-x8f2k",
                "namespace": "shop",
                "generateName": "web-",
                "labels": {
                    "kubernetes.io/service-name": "web",
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "ownerReferences": owner("Service", "web", "v1"),
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.7"], "conditions": {"ready": True}}],
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        }
        return [
            made_by("endpointslicemirroring-controller", mirrored),
            made_by("endpointslice-controller", owned),
        ]
    if rule == "leases":
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "shop-operator-lock", "namespace": "shop"},
            "spec": {"holderIdentity": "shop-operator-6c9f_1b2c", "leaseDurationSeconds": 15},
        }
        return [made_by("shop-operator", lease)]
    if rule == "controllerRevisions":
        # Orphaned (kubectl delete statefulset --cascade=orphan): the owner reference is gone.
        revision = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": "db-7f9d6c5b4",
                "namespace": "shop",
                "labels": {"app": "db", "controller.kubernetes.io/hash": "7f9d6c5b4"},
            },
            "data": {"spec": {"template": STATEFULSET["spec"]["template"]}},
            "revision": 1,
        }
        return [made_by("kube-controller-manager", revision)]
    if rule == "statefulSetClaims":
        claims = [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": f"data-db-{i}", "namespace": "shop", "labels": {"app": "db"}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                    "volumeMode": "Filesystem",
                },
            }
            for i in (0, 1, 7)  # 7: left behind by a scale-down, still the StatefulSet's
        ]
        return [made_by("kube-controller-manager", c) for c in claims]
    if rule == "autoCreated":
        ca = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "kube-root-ca.crt",
                "namespace": "shop",
                "annotations": {"kubernetes.io/description": "Contains a CA bundle"},
            },
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n"},
        }
        account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "shop"},
        }
        return [made_by("kube-controller-manager", o) for o in (ca, account)]
    raise AssertionError(rule)


RULES = (
    "ownerReferences",
    "events",
    "serviceEndpoints",
    "endpointSlices",
    "leases",
    "controllerRevisions",
    "statefulSetClaims",
    "autoCreated",
)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[TestAPIServer, Path]]:
    server = TestAPIServer()
    server.start()
    yield server, server.write_kubeconfig(tmp_path / "kubeconfig")
    server.stop()


def repo_with(make_repo: RepoFactory, config: str = "") -> Path:
    files = {f"{o['kind'].lower()}.yaml": json.dumps(o) + "\n" for o in GIT}
    return make_repo({"driftwatch.yaml": f"policies: {{builtin: false}}\n{config}", **files})


def scan(
    repo: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> AuditReport:
    code = main(
        ["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--format", "json", *extra]
    )
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    return AuditReport.from_json(out)


def unmanaged(report: AuditReport) -> set[str]:
    return {f"{r.kind}/{r.name}" for r in report.resources if r.status == "unmanaged"}


def by_status(report: AuditReport, status: str) -> dict[str, Any]:
    return {f"{r.kind}/{r.name}": r for r in report.resources if r.status == status}


def gets(server: TestAPIServer) -> set[str]:
    """Paths of the single-object GETs the server received."""
    return {r.path for r in server.requests if r.method == "GET" and _named(r.path)}


def _named(path: str) -> bool:
    # /api/v1/namespaces/{ns}/{plural}/{name} or /apis/{g}/{v}/namespaces/{ns}/{plural}/{name}
    parts = path.strip("/").split("/")
    base = 2 if parts[0] == "api" else 3
    return len(parts) == base + 4 and parts[base] == "namespaces"


def test_hand_made_secret_pod_and_rolebinding_are_unmanaged_fetched_whole_and_masked(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    server.add_all(
        [
            *git_live(),
            secret("db-password"),
            debug_pod(),
            hand_rolebinding(),
            secret("elsewhere", namespace="other"),  # a namespace Git does not declare
        ]
    )
    server.clear_requests()
    report = scan(repo_with(make_repo), kubeconfig, capsys)
    assert unmanaged(report) == {"Secret/db-password", "Pod/debug", "RoleBinding/tmp-admin"}
    # The whole body, as `import` writes it: the RoleBinding's subjects, the Pod's spec.
    shown = by_status(report, "unmanaged")
    assert shown["RoleBinding/tmp-admin"].live["subjects"][0]["name"] == "eve"
    assert shown["Pod/debug"].live["spec"]["containers"][0]["image"] == "busybox"
    # The Secret went through the same masking as every Secret.
    secret_live = shown["Secret/db-password"].live
    assert set(secret_live["data"]) == {"password"}
    assert "aHVudGVyMi1pbi1jbGVhcg==" not in report.model_dump_json()
    assert SECRET_VALUE not in report.model_dump_json()

    lists = [r for r in server.requests if r.method == "GET" and not _named(r.path)]
    accept = {r.path: r.accept for r in lists if r.path.startswith("/api")}
    # Git's kinds whole; the rest metadata only.
    for path in ("/apis/apps/v1/deployments", "/api/v1/services", "/apis/apps/v1/statefulsets"):
        assert METADATA not in accept[path], path
    for path in (
        "/api/v1/secrets",
        "/api/v1/pods",
        "/api/v1/configmaps",
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "/apis/batch/v1/jobs",
    ):
        assert METADATA in accept[path], path
    # Only the three unmanaged objects were fetched whole, one GET each.
    assert gets(server) == {
        "/api/v1/namespaces/shop/secrets/db-password",
        "/api/v1/namespaces/shop/pods/debug",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/tmp-admin",
    }
    # Kinds a rule leaves out whole are not listed; create-only kinds (discovery has no
    # `list` verb) neither.
    never = (
        "events",
        "leases",
        "endpointslices",
        "controllerrevisions",
        "bindings",
        "tokenreviews",
        "localsubjectaccessreviews",
    )
    assert not [p for p in accept if p.rsplit("/", 1)[-1] in never]
    assert not any("/namespaces/other/" in r.path for r in server.requests)


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_leaves_out_what_controllers_generate_and_can_be_switched_off(
    rule: str,
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    made = generated(rule)
    # Hand-made look-alikes the rules must not hide: an Endpoints with no Service of its
    # name, a claim no StatefulSet template names, one that is not "-<ordinal>".
    decoys = [
        made_by(
            "kubectl-create",
            {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "external-db"}},
            namespace="shop",
        ),
        *(
            made_by(
                "kubectl-create",
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": name, "namespace": "shop"},
                    "spec": {"accessModes": ["ReadWriteOnce"]},
                },
            )
            for name in ("data-web-0", "data-db-x", "data-db-01")
        ),
    ]
    server.add_all([*git_live(), *made, *decoys])
    names = {f"{o['kind']}/{o['metadata']['name']}" for o in made}
    owned = {
        f"{o['kind']}/{o['metadata']['name']}" for o in made if o["metadata"].get("ownerReferences")
    }
    decoy_names = {f"{o['kind']}/{o['metadata']['name']}" for o in decoys}

    default = scan(repo_with(make_repo), kubeconfig, capsys)
    assert unmanaged(default) == decoy_names
    assert not by_status(default, "not_checked")

    off = f"unmanaged:\n  rules: {{{rule}: false}}\n"
    switched = scan(repo_with(make_repo, off), kubeconfig, capsys)
    if rule == "ownerReferences":
        assert unmanaged(switched) == names | decoy_names
        return
    # What also has an owner reference stays out by that rule: each rule is its own.
    assert unmanaged(switched) == (names - owned) | decoy_names
    both = f"unmanaged:\n  rules: {{{rule}: false, ownerReferences: false}}\n"
    assert unmanaged(scan(repo_with(make_repo, both), kubeconfig, capsys)) == names | decoy_names


def test_metrics_are_not_listed_and_reported_only_with_the_rule_off(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    # metrics-server's aggregated API: PodMetrics serves get and list only.
    server.add_resource(custom_resource("metrics.k8s.io", "v1beta1", "PodMetrics", "pods"))
    server.add_all(git_live())
    server.add(
        {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "PodMetrics",
            "metadata": {"name": "db-0", "namespace": "shop"},
            "window": "15s",
            "containers": [{"name": "db", "usage": {"cpu": "1m", "memory": "20Mi"}}],
        }
    )
    server.clear_requests()
    assert unmanaged(scan(repo_with(make_repo), kubeconfig, capsys)) == set()
    assert not any(r.path.startswith("/apis/metrics.k8s.io/v1beta1/") for r in server.requests)
    off = "unmanaged:\n  rules: {metrics: false}\n"
    assert unmanaged(scan(repo_with(make_repo, off), kubeconfig, capsys)) == {"PodMetrics/db-0"}


def test_forbidden_kind_is_one_not_checked_row_with_the_reason(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    server.add_all([*git_live(), secret("db-password"), debug_pod()])
    server.faults.forbid("", "secrets", verbs=("list",))
    # The target lists two namespaces, each forbidden: still one row for the kind.
    config = (
        "targets: [{name: t, namespaces: [shop, web2]}]\nunmanaged: {namespaces: [shop, web2]}\n"
    )
    report = scan(repo_with(make_repo, config), kubeconfig, capsys)
    rows = [r for r in report.resources if r.status == "not_checked"]
    assert [(r.kind, r.name) for r in rows] == [("Secret", "*")]
    assert "forbidden" in (rows[0].reason or "") and "cannot list" in (rows[0].reason or "")
    assert unmanaged(report) == {"Pod/debug"}  # the rest of the audit goes on


def test_unreadable_unmanaged_object_is_not_checked_never_a_stand_in(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    server.add_all([*git_live(), secret("db-password"), debug_pod(), hand_rolebinding()])
    server.faults.forbid("", "secrets", verbs=("get",))
    # A hostile server answers another object for the Pod's GET.
    other = served({**WEB, "metadata": {"name": "other", "namespace": "shop"}})
    pod_path = "/api/v1/namespaces/shop/pods/debug"
    server.faults.garbage(
        json.dumps({**other, "kind": "Pod", "apiVersion": "v1"}).encode(), path=pod_path
    )
    report = scan(repo_with(make_repo), kubeconfig, capsys)
    assert unmanaged(report) == {"RoleBinding/tmp-admin"}
    unread = by_status(report, "not_checked")
    assert set(unread) == {"Secret/db-password", "Pod/debug"}
    assert "forbidden" in (unread["Secret/db-password"].reason or "")
    assert "another object" in (unread["Pod/debug"].reason or "")
    assert unread["Pod/debug"].live is None


def test_server_refusing_metadata_lists_is_listed_whole(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    server.add_all([*git_live(), secret("db-password")])
    server.faults.error("", "secrets", code=406, times=1)
    server.clear_requests()
    report = scan(repo_with(make_repo), kubeconfig, capsys)
    assert unmanaged(report) == {"Secret/db-password"}
    asked = [r.accept for r in server.requests if r.path == "/api/v1/secrets"]
    assert len(asked) == 2 and METADATA in asked[0] and METADATA not in asked[1]


def test_target_namespaces_list_only_those_git_declares(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    server.add_all([*git_live(), secret("db-password"), secret("elsewhere", namespace="other")])
    server.clear_requests()
    config = "targets: [{name: t, namespaces: [shop, other]}]\n"
    report = scan(repo_with(make_repo, config), kubeconfig, capsys)
    assert unmanaged(report) == {"Secret/db-password"}
    secrets = {r.path for r in server.requests if r.path.endswith("/secrets")}
    assert secrets == {"/api/v1/namespaces/shop/secrets"}  # "other" is not Git's


def test_snapshot_replay_gives_the_same_verdicts_and_masks_metadata(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    server, kubeconfig = cluster
    live = [*git_live(), secret("db-password"), debug_pod(), *generated("statefulSetClaims")]
    # cert-manager's Secret, applied: its data is in the last-applied annotation, in the
    # metadata a metadata-only list records.
    applied_secret = served(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "owned-secret",
                "namespace": "shop",
                "ownerReferences": owner("Certificate", "web-tls", "cert-manager.io/v1"),
            },
            "data": {"tls.key": "aHVudGVyMi1pbi1jbGVhcg=="},
        }
    )
    server.add_all([*live, applied_secret])
    repo = repo_with(make_repo)
    direct = scan(repo, kubeconfig, capsys)
    snapshot = tmp_path / "live.json"
    code = main(
        ["snapshot", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "-o", str(snapshot)]
    )
    capsys.readouterr()
    assert code == 0
    recorded = snapshot.read_text()
    assert "aHVudGVyMi1pbi1jbGVhcg==" not in recorded and SECRET_VALUE not in recorded
    state = json.loads(recorded)["clusters"][0]
    assert {o["metadata"]["name"] for o in state["partial"]} >= {"owned-secret", "data-db-0"}
    assert all(set(o) <= {"apiVersion", "kind", "metadata"} for o in state["partial"])
    replayed = scan(repo, kubeconfig, capsys, "--live-from", str(snapshot))
    verdicts = {r.id: r.status for r in direct.resources}
    assert {r.id: r.status for r in replayed.resources} == verdicts
    assert unmanaged(replayed) == {"Secret/db-password", "Pod/debug"}
    # Replayed under other rules, an object the scan listed metadata only is not shown
    # as if its body were known.
    other_rules = repo_with(make_repo, "unmanaged:\n  rules: {statefulSetClaims: false}\n")
    changed = scan(other_rules, kubeconfig, capsys, "--live-from", str(snapshot))
    unknown = by_status(changed, "not_checked")
    assert {"PersistentVolumeClaim/data-db-0", "PersistentVolumeClaim/data-db-1"} <= set(unknown)
    assert "metadata only" in (unknown["PersistentVolumeClaim/data-db-0"].reason or "")


def test_listed_kinds_are_what_kubectl_api_resources_says_is_listable(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Discovery's verbs decide: every namespaced kind real kubectl calls listable is
    listed, but for those a rule leaves out whole; create-only kinds are not."""
    server, kubeconfig = cluster
    server.add_all(git_live())
    server.clear_requests()
    scan(repo_with(make_repo), kubeconfig, capsys)
    command = ["api-resources", "--verbs=list", "--namespaced=true", "-o", "name"]
    kubectl = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *command],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert "bindings" not in kubectl and "secrets" in kubectl
    excluded = {
        "events",
        "events.events.k8s.io",
        "leases.coordination.k8s.io",
        "endpointslices.discovery.k8s.io",
        "controllerrevisions.apps",
    }
    listed = set()
    for r in server.requests:
        parts = r.path.strip("/").split("/")
        core = parts[0] == "api"
        if parts[0] not in ("api", "apis"):
            continue  # /openapi/v3/... (list types of the kinds diffed)
        if r.method == "GET" and len(parts) == (3 if core else 4):  # a collection list
            listed.add(parts[-1] if core else f"{parts[-1]}.{parts[1]}")
    assert listed == set(kubectl) - excluded


def test_rules_survive_hostile_controller_objects() -> None:
    """A StatefulSet whose claim templates are malformed names no claim; nothing raises."""
    settings = load_config("").unmanaged
    hostile: list[dict[str, Any]] = [
        {"spec": {"volumeClaimTemplates": "data"}},
        {"spec": {"volumeClaimTemplates": [None, {"metadata": []}, {"metadata": {"name": 7}}]}},
        {"spec": []},
        {},
    ]
    sts = [(ResourceKey(PROVIDER, "t", "apps", "StatefulSet", "shop", "db"), h) for h in hostile]
    controllers = _Controllers.of(sts)
    claim = ResourceKey(PROVIDER, "t", "", "PersistentVolumeClaim", "shop", "data-db-0")
    assert exclusion(claim, {"metadata": {}}, settings, controllers) is None
    assert controllers.claim_prefixes == frozenset()


def test_undiscoverable_group_is_one_row_unless_a_rule_leaves_it_out_whole(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An aggregated API that is down hides its kinds: their unmanaged objects are
    unknown, said once; metrics-server being down is not worth a row."""
    server, kubeconfig = cluster
    server.add_resource(custom_resource("metrics.k8s.io", "v1beta1", "PodMetrics", "pods"))
    server.add_resource(custom_resource("backup.example.com", "v1", "Backup"))
    server.add_all(git_live())
    down = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":503}'
    for path in ("/apis/metrics.k8s.io/v1beta1", "/apis/backup.example.com/v1"):
        server.faults.garbage(down, code=503, path=path)
    report = scan(repo_with(make_repo), kubeconfig, capsys)
    rows = by_status(report, "not_checked")
    assert set(rows) == {"*/*"}
    assert rows["*/*"].apiVersion == "backup.example.com"
    assert "/apis/backup.example.com/v1" in (rows["*/*"].reason or "")


def test_explicit_kinds_restrict_and_still_tell_a_services_endpoints(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    server.add_all(
        [*git_live(), secret("db-password"), debug_pod(), *generated("serviceEndpoints")]
    )
    hand = made_by(
        "kubectl-create",
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "external-db"}},
        namespace="shop",
    )
    server.add(hand)
    server.clear_requests()
    config = "unmanaged: {kinds: [Secret, Endpoints]}\n"
    report = scan(repo_with(make_repo, config), kubeconfig, capsys)
    assert unmanaged(report) == {"Secret/db-password", "Endpoints/external-db"}
    listed = {
        r.path for r in server.requests if r.path.startswith("/api/v1/") and r.method == "GET"
    }
    assert "/api/v1/pods" not in listed  # not asked for


def test_a_namespace_declared_in_git_counts_even_with_nothing_else_in_it() -> None:
    settings = load_config("").unmanaged
    keys = [
        ResourceKey(PROVIDER, "t", "", "Namespace", None, "payments"),
        ResourceKey(PROVIDER, "t", "apps", "Deployment", "shop", "web"),
        ResourceKey(PROVIDER, "t", "", "Namespace", None, "kube-system"),  # excludeNamespaces
        ResourceKey(PROVIDER, "t", "rbac.authorization.k8s.io", "ClusterRole", None, "x"),
    ]
    assert declared_namespaces(keys, settings) == {"payments", "shop"}
    only = load_config("unmanaged: {namespaces: [shop]}\n").unmanaged
    assert declared_namespaces(keys, only) == {"shop"}
