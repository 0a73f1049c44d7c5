"""Server-side diff end to end: a Git repo built with git, ``driftwatch scan
--server-side-diff`` over the real client against the test API server, whose live objects
were written the way an applier writes them (server-side apply, as kustomize-controller)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.cli import _scan_options, build_parser, main
from driftwatch.providers.kubernetes.serverside import FALLBACK, KEPT, WHY
from driftwatch.report import AuditReport, Resource, Status
from driftwatch.testing import TestAPIServer
from driftwatch.testing.fixtures import record_write, widget_crd
from tests.conftest import RepoFactory

APPLIER = "kustomize-controller"
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "shop/web:1.0"}]},
            },
            **spec,
        },
    }


CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop"},
    "data": {"mode": "fast"},
}


class Cluster:
    def __init__(self, server: TestAPIServer, repo: RepoFactory, tmp_path: Path) -> None:
        self.server, self.repo, self.tmp = server, repo, tmp_path
        self.kubeconfig = server.write_kubeconfig(tmp_path / "kc")

    def commit(self, *objects: dict[str, Any]) -> Path:
        docs = yaml.safe_dump_all([NAMESPACE, *objects])
        return self.repo({"apps.yaml": docs})

    def scan(self, repo: Path, *flags: str, cache: bool = False) -> AuditReport:
        out = self.tmp / "report.json"
        main(
            [
                *("scan", "--repo", str(repo), "--kubeconfig", str(self.kubeconfig)),
                *("--format", "json", "--output", str(out), *flags),
                *([] if cache else ["--no-cache"]),
            ]
        )
        return AuditReport.from_json(out.read_bytes())

    def snapshot(self, repo: Path, *flags: str) -> dict[str, Any]:
        out = self.tmp / "live.json"
        main(
            [
                *("snapshot", "--repo", str(repo), "--kubeconfig", str(self.kubeconfig)),
                *("--output", str(out), "--server-side-diff", *flags),
            ]
        )
        return json.loads(out.read_text())  # type: ignore[no-any-return]

    def edit(self, group: str, kind: str, name: str, manager: str, fields: dict[str, Any]) -> None:
        live = self.server.get(group, kind, "shop", name)
        assert live is not None
        self.server.put(record_write(live, manager, fields))


@pytest.fixture
def cluster(
    make_repo: RepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cluster]:
    monkeypatch.chdir(tmp_path)
    with TestAPIServer([NAMESPACE]) as server:
        yield Cluster(server, make_repo, tmp_path)


def one(report: AuditReport, kind: str) -> Resource:
    (found,) = [r for r in report.resources if r.kind == kind]
    return found


Hook = Callable[[dict[str, Any]], None]


def mirror_and_inject(obj: dict[str, Any]) -> None:
    """A mutating webhook's work: images rewritten to a mirror, a sidecar, an annotation."""
    if obj.get("kind") != "Deployment":
        return
    pod = obj["spec"]["template"]["spec"]
    for container in pod["containers"]:
        if not container["image"].startswith("mirror.example/"):
            container["image"] = "mirror.example/" + container["image"]
    if not any(c["name"] == "proxy" for c in pod["containers"]):
        pod["containers"].append({"name": "proxy", "image": "mirror.example/envoy:1"})
    obj["spec"]["template"].setdefault("metadata", {}).setdefault("annotations", {})[
        "mesh.example/injected"
    ] = "true"


def test_webhook_mutations_are_not_drift_in_server_side_diff_mode(cluster: Cluster) -> None:
    cluster.server.apply_hooks.append(mirror_and_inject)
    repo = cluster.commit(deployment())
    cluster.server.apply(deployment(), APPLIER)
    ssd = one(cluster.scan(repo, "--server-side-diff"), "Deployment")
    assert ssd.changes == []
    # The schema mode cannot know the webhook rewrote a field Git declares.
    guessed = one(cluster.scan(repo), "Deployment")
    assert [(c.path, c.live, c.why) for c in guessed.changes] == [
        (
            "spec.template.spec.containers[name=web].image",
            "mirror.example/shop/web:1.0",
            "Git declares this field",
        )
    ]


def test_cached_results_of_one_mode_are_not_reused_by_the_other(cluster: Cluster) -> None:
    cluster.server.apply_hooks.append(mirror_and_inject)
    repo = cluster.commit(deployment())
    cluster.server.apply(deployment(), APPLIER)
    assert one(cluster.scan(repo, cache=True), "Deployment").changes
    assert one(cluster.scan(repo, "--server-side-diff", cache=True), "Deployment").changes == []
    assert one(cluster.scan(repo, "--server-side-diff", cache=True), "Deployment").changes == []
    assert one(cluster.scan(repo, cache=True), "Deployment").changes


def test_explain_says_the_mode(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    repo = cluster.commit(CONFIGMAP)
    cluster.server.apply(CONFIGMAP, APPLIER)
    cluster.edit("", "ConfigMap", "settings", "kubectl-edit", {"data": {"mode": "slow"}})
    capsys.readouterr()
    main(
        [
            *("explain", "ConfigMap/shop/settings", "--repo", str(repo)),
            *("--kubeconfig", str(cluster.kubeconfig), "--no-cache", "--server-side-diff"),
        ]
    )
    out = capsys.readouterr().out
    assert "data.mode" in out and WHY in out


def test_hand_edit_of_a_declared_field_is_drift(cluster: Cluster) -> None:
    repo = cluster.commit(deployment(), CONFIGMAP)
    cluster.server.apply(deployment(), APPLIER)
    cluster.server.apply(CONFIGMAP, APPLIER)
    cluster.edit("apps", "Deployment", "web", "kubectl-scale", {"spec": {"replicas": 7}})
    cluster.edit("", "ConfigMap", "settings", "kubectl-edit", {"data": {"mode": "slow"}})
    report = cluster.scan(repo, "--server-side-diff")
    web = one(report, "Deployment")
    assert [(c.path, c.desired, c.live, c.manager, c.why) for c in web.changes] == [
        ("spec.replicas", 2, 7, "kubectl-scale", WHY)
    ]
    settings = one(report, "ConfigMap")
    assert [(c.path, c.desired, c.live, c.why) for c in settings.changes] == [
        ("data.mode", "fast", "slow", WHY)
    ]
    assert not [e for e in report.errors if e.level == "warning"]


def test_field_removed_from_git_that_the_applier_owns_is_drift(cluster: Cluster) -> None:
    applied = deployment()
    applied["metadata"]["labels"] = {"app": "web", "team": "checkout", "tier": "front"}
    cluster.server.apply(applied, APPLIER)
    # Another applier co-owns tier (the same value): the server keeps it when Git drops it.
    cluster.server.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "front"}},
        },
        "platform-operator",
    )
    repo = cluster.commit(deployment())  # Git dropped team and tier
    web = one(cluster.scan(repo, "--server-side-diff"), "Deployment")
    assert [(c.path, c.op.value, c.live, c.why) for c in web.changes] == [
        ("metadata.labels.team", "added", "checkout", WHY)
    ]


CRD = widget_crd(
    {
        "size": {"type": "integer", "default": 3},
        "color": {"type": "string"},
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
WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "shop"},
    "spec": {"color": "blue"},
}


def test_crd_default_is_exact(cluster: Cluster) -> None:
    cluster.server.add_resource(CRD)
    cluster.server.put(CRD)
    cluster.server.apply(WIDGET, APPLIER)
    repo = cluster.commit(WIDGET)
    recording = cluster.snapshot(repo)
    (state,) = recording["clusters"]
    (predicted,) = [o for o in state["predicted"].values() if o["kind"] == "Widget"]
    assert predicted["spec"] == {"color": "blue", "size": 3}  # the CRD's schema default
    assert state["predictionFailures"] == []
    assert one(cluster.scan(repo, "--server-side-diff"), "Widget").changes == []
    # Git adds a list item: the prediction holds it with the item's schema default.
    repo = cluster.commit(
        {**WIDGET, "spec": {"color": "blue", "ports": [{"name": "http", "port": 80}]}}
    )
    widget = one(cluster.scan(repo, "--server-side-diff"), "Widget")
    assert [(c.path, c.op.value, c.desired, c.why) for c in widget.changes] == [
        ("spec.ports", "removed", [{"name": "http", "port": 80, "protocol": "TCP"}], WHY)
    ]
    repo = cluster.commit(WIDGET)
    cluster.edit("example.com", "Widget", "w", "kubectl-edit", {"spec": {"size": 5}})
    # Applying Git would keep a hand edit of a field Git leaves to the default (the
    # applier does not own it), so the dry-run shows none: the schema mode's rule names it.
    widget = one(cluster.scan(repo, "--server-side-diff"), "Widget")
    assert [(c.path, c.desired, c.live, c.manager, c.why) for c in widget.changes] == [
        (
            "spec.size",
            3,
            5,
            "kubectl-edit",
            "differs from the server default (the CRD's structural schema (default)) Git"
            f" relies on; written by hand (kubectl-edit); {KEPT}",
        )
    ]


def test_forbidden_patch_falls_back_per_kind_and_still_finds_drift(cluster: Cluster) -> None:
    repo = cluster.commit(deployment(), CONFIGMAP)
    cluster.server.apply(deployment(), APPLIER)
    cluster.server.apply(CONFIGMAP, APPLIER)
    cluster.edit("apps", "Deployment", "web", "kubectl-scale", {"spec": {"replicas": 7}})
    cluster.edit("", "ConfigMap", "settings", "kubectl-edit", {"data": {"mode": "slow"}})
    cluster.server.faults.forbid("apps", "deployments", verbs=("patch",))
    report = cluster.scan(repo, "--server-side-diff")
    warnings = [e for e in report.errors if e.level == "warning"]
    assert [(e.target, e.message) for e in warnings] == [
        (
            "default",
            "server-side diff not permitted for Deployment (403): compared with the schema"
            " and defaults table instead",
        )
    ]
    web = one(report, "Deployment")
    assert [(c.path, c.live, c.why) for c in web.changes] == [
        ("spec.replicas", 7, "Git declares this field")
    ]
    # The other kind was still diffed against the server's dry-run.
    assert [c.why for c in one(report, "ConfigMap").changes] == [WHY]


def test_an_answer_that_is_not_the_object_asked_for_falls_back(cluster: Cluster) -> None:
    repo = cluster.commit(CONFIGMAP)
    cluster.server.apply(CONFIGMAP, APPLIER)
    other = {**CONFIGMAP, "metadata": {"name": "elsewhere", "namespace": "shop"}}
    cluster.server.faults.garbage(
        json.dumps(other).encode(), path="/api/v1/namespaces/shop/configmaps/settings"
    )
    report = cluster.scan(repo, "--server-side-diff")
    (warning,) = [e for e in report.errors if e.level == "warning"]
    assert "ConfigMap (the server answered another object)" in warning.message
    assert one(report, "ConfigMap").status is Status.IN_SYNC


def test_dry_run_never_changes_the_cluster(cluster: Cluster) -> None:
    repo = cluster.commit(deployment(replicas=4), CONFIGMAP)
    cluster.server.apply(deployment(), APPLIER)
    cluster.server.apply(CONFIGMAP, APPLIER)
    before, version = cluster.server.objects(), cluster.server.resource_version
    cluster.server.clear_requests()
    web = one(cluster.scan(repo, "--server-side-diff"), "Deployment")
    assert [(c.path, c.desired, c.live) for c in web.changes] == [("spec.replicas", 4, 2)]
    assert cluster.server.objects() == before
    assert cluster.server.resource_version == version
    patches = [r for r in cluster.server.requests if r.method == "PATCH"]
    assert sorted(r.path for r in patches) == [
        "/api/v1/namespaces/shop",
        "/api/v1/namespaces/shop/configmaps/settings",
        "/apis/apps/v1/namespaces/shop/deployments/web",
    ]
    # As the applier that owns each object; the Namespace has no applier: driftwatch.
    assert sorted(r.query["fieldManager"] for r in patches) == ["driftwatch", APPLIER, APPLIER]
    assert all(r.query["dryRun"] == "All" and r.query["force"] == "true" for r in patches)


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "creds", "namespace": "shop"},
    "stringData": {"password": "hunter2-in-git"},
}


def test_secret_values_never_reach_the_report_or_the_snapshot(cluster: Cluster) -> None:
    cluster.server.apply({**SECRET, "stringData": {"password": "hunter2-live"}}, APPLIER)
    repo = cluster.commit(SECRET)
    out = cluster.tmp / "report.json"
    report = cluster.scan(repo, "--server-side-diff")
    secret = one(report, "Secret")
    assert secret.status is Status.MODIFIED
    assert [c.why for c in secret.changes] == [WHY]
    snapshot = json.dumps(cluster.snapshot(repo))
    clear = ["hunter2-in-git", "hunter2-live"]
    clear += [base64.b64encode(value.encode()).decode() for value in clear]
    for text in (out.read_text(), snapshot):
        assert not [value for value in clear if value in text]


def test_target_setting_turns_it_on_and_a_fresh_manager_is_used_without_an_applier(
    cluster: Cluster,
) -> None:
    cluster.server.put(record_write({**CONFIGMAP}, "kubectl-create", dict(CONFIGMAP)))
    config = cluster.tmp / "driftwatch.yaml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "prod", "serverSideDiff": True}]}))
    repo = cluster.commit(CONFIGMAP)
    cluster.server.clear_requests()
    report = cluster.scan(repo, "--config", str(config))
    assert one(report, "ConfigMap").status is Status.IN_SYNC
    (request,) = [
        r for r in cluster.server.requests if r.method == "PATCH" and "configmaps" in r.path
    ]
    assert request.query["fieldManager"] == "driftwatch"


def test_configured_manager_is_the_one_applied_as(cluster: Cluster) -> None:
    cluster.server.apply(CONFIGMAP, APPLIER)
    config = cluster.tmp / "driftwatch.yaml"
    config.write_text(yaml.safe_dump({"managers": {"serverSideDiffManager": "argocd-controller"}}))
    repo = cluster.commit({**CONFIGMAP, "data": {"mode": "slow"}})
    cluster.server.clear_requests()
    report = cluster.scan(repo, "--config", str(config), "--server-side-diff")
    (request,) = [
        r for r in cluster.server.requests if r.method == "PATCH" and "configmaps" in r.path
    ]
    assert request.query["fieldManager"] == "argocd-controller"
    assert [(c.path, c.desired, c.live, c.why) for c in one(report, "ConfigMap").changes] == [
        ("data.mode", "slow", "fast", WHY)
    ]


def test_transient_failures_are_retried_and_refusals_fall_back(cluster: Cluster) -> None:
    repo = cluster.commit({**CONFIGMAP, "data": {"mode": "slow"}}, SECRET)
    cluster.server.apply(CONFIGMAP, APPLIER)
    cluster.server.apply(SECRET, APPLIER)
    cluster.server.faults.error("", "configmaps", 503, times=1, verbs=("patch",))
    # A webhook's denial may quote what it was sent: for a Secret none of it is reported.
    denial = 'admission webhook "vault.example" denied the request: password "hunter2-in-git"'
    cluster.server.faults.error("", "secrets", 400, message=denial, verbs=("patch",))
    report = cluster.scan(repo, "--server-side-diff")
    assert [c.why for c in one(report, "ConfigMap").changes] == [WHY]
    assert [e.message for e in report.errors if e.level == "warning"] == [
        f"server-side diff failed for Secret (HTTP 400): {FALLBACK}"
    ]
    assert "hunter2" not in (cluster.tmp / "report.json").read_text()


def test_a_snapshot_carries_the_predictions_and_replays_the_same_audit(cluster: Cluster) -> None:
    cluster.server.apply_hooks.append(mirror_and_inject)
    repo = cluster.commit(deployment(replicas=3))
    cluster.server.apply(deployment(), APPLIER)
    live = one(cluster.scan(repo, "--server-side-diff"), "Deployment")
    cluster.snapshot(repo)
    replayed = one(cluster.scan(repo, "--live-from", str(cluster.tmp / "live.json")), "Deployment")
    assert [(c.path, c.desired, c.live, c.why) for c in replayed.changes] == [
        ("spec.replicas", 3, 2, WHY)
    ]
    assert replayed.changes == live.changes


@pytest.mark.parametrize("command", ["scan", "explain", "tui", "snapshot"])
def test_the_flag_reaches_the_scan(command: str) -> None:
    args = {"explain": ["explain", "Deployment/web"], "snapshot": ["snapshot", "-o", "x"]}
    parsed = build_parser().parse_args([*args.get(command, [command]), "--server-side-diff"])
    assert _scan_options(parsed).server_side_diff is True
    parsed = build_parser().parse_args(args.get(command, [command]))
    assert _scan_options(parsed).server_side_diff is False


def test_git_in_another_version_than_the_served_one_falls_back_without_a_request(
    cluster: Cluster,
) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 3,
        },
    }
    cluster.server.apply(hpa, APPLIER)
    repo = cluster.commit({**hpa, "apiVersion": "autoscaling/v1"})
    cluster.server.clear_requests()
    report = cluster.scan(repo, "--server-side-diff")
    assert [e.message for e in report.errors if e.level == "warning"] == [
        "server-side diff not used for HorizontalPodAutoscaler: Git declares autoscaling/v1,"
        f" the cluster lists autoscaling/v2: {FALLBACK}"
    ]
    assert not [r for r in cluster.server.requests if "horizontalpodautoscalers/" in r.path]


def test_a_refusal_quoting_a_git_secret_is_reported_without_it(cluster: Cluster) -> None:
    """Any kind's refusal may quote a Secret Git sent in the same scan (a webhook's message)."""
    repo = cluster.commit({**CONFIGMAP, "data": {"mode": "slow"}}, SECRET)
    cluster.server.apply(CONFIGMAP, APPLIER)
    cluster.server.apply(SECRET, APPLIER)
    clear = next(iter(SECRET["stringData"].values()))
    cluster.server.faults.error("", "configmaps", 500, message=f"saw {clear}", verbs=("patch",))
    report = cluster.scan(repo, "--server-side-diff")
    (warning,) = [
        e.message for e in report.errors if e.level == "warning" and "ConfigMap" in e.message
    ]
    assert clear not in warning and "<secret hmac:" in warning
    assert clear not in (cluster.tmp / "report.json").read_text()


def test_a_recorded_prediction_for_another_object_is_not_used(cluster: Cluster) -> None:
    repo = cluster.commit({**CONFIGMAP, "data": {"mode": "slow"}})
    cluster.server.apply(CONFIGMAP, APPLIER)
    cluster.snapshot(repo)
    path = cluster.tmp / "live.json"
    recording = json.loads(path.read_text())
    (predicted,) = [
        obj for rid, obj in recording["clusters"][0]["predicted"].items() if "/ConfigMap/" in rid
    ]
    predicted["metadata"]["name"] = "someone-else"
    path.write_text(json.dumps(recording))
    replayed = one(cluster.scan(repo, "--live-from", str(path)), "ConfigMap")
    assert [c.path for c in replayed.changes] == ["data.mode"]
    assert all(c.why != WHY for c in replayed.changes)  # the schema mode decided
