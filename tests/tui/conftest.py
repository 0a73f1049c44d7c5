"""A deterministic report with every status, for the TUI tests and snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from driftwatch.report import AuditReport, Change, Op, Resource, ScanMeta, Source, Status, Target

HOSTILE = "evil[bold red]x[/]\x1b[31mred\x1b]8;;http://x\x07"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def deployment(name: str, image: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": name, "image": image}]}},
        },
    }


def resource(
    name: str,
    status: Status,
    kind: str = "Deployment",
    namespace: str | None = "shop",
    **extra: Any,
) -> Resource:
    group = "apps" if kind == "Deployment" else "core"
    return Resource(
        id=f"kubernetes:prod/{group}/{kind}/{namespace or '-'}/{name}",
        provider="kubernetes",
        target="prod",
        apiVersion="apps/v1" if kind == "Deployment" else "v1",
        kind=kind,
        namespace=namespace,
        name=name,
        status=status,
        **extra,
    )


def make_report(extra: list[Resource] | None = None) -> AuditReport:
    source = Source(
        path="apps/shop/web.yaml",
        line=12,
        document=1,
        commit="0123456789abcdef0123456789abcdef01234567",
        author="Ada Ops",
        date="2026-01-02T03:04:05+00:00",
        subject="Bump web to 1.25",
    )
    resources = [
        resource(
            "web",
            Status.MODIFIED,
            source=source,
            desired=deployment("web", "nginx:1.25"),
            live=deployment("web", "nginx:1.26"),
            changes=[
                Change(
                    path="spec.template.spec.containers[name=web].image",
                    op=Op.CHANGED,
                    desired="nginx:1.25",
                    live="nginx:1.26",
                    manager="kubectl-set",
                ),
                Change(
                    path="metadata.labels.hotfix", op=Op.ADDED, live="true", manager="kubectl-label"
                ),
            ],
        ),
        resource(
            "api",
            Status.IGNORED,
            source=source.model_copy(update={"path": "apps/shop/api.yaml", "line": 1}),
            desired=deployment("api", "api:2", 2),
            live=deployment("api", "api:2", 5),
            changes=[
                Change(
                    path="spec.replicas",
                    op=Op.CHANGED,
                    desired=2,
                    live=5,
                    manager="kube-controller-manager",
                    ignoredBy="expected manager kube-controller-manager: replicas are managed by a HorizontalPodAutoscaler",
                ),
            ],
        ),
        resource(
            "worker",
            Status.IN_SYNC,
            source=source.model_copy(update={"path": "apps/shop/worker.yaml"}),
            desired=deployment("worker", "worker:1"),
        ),
        resource(
            "gone",
            Status.MISSING,
            kind="ConfigMap",
            source=source.model_copy(update={"path": "apps/shop/gone.yaml"}),
            desired={
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "gone"},
                "data": {"a": "1"},
            },
        ),
        resource(
            "stray",
            Status.UNMANAGED,
            kind="ConfigMap",
            live={
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "stray"},
                "data": {"debug": "true"},
            },
        ),
        resource(
            "metrics",
            Status.NOT_CHECKED,
            kind="ServiceMonitor",
            reason="kind monitoring.coreos.com/v1/ServiceMonitor is not served by the cluster",
            source=source.model_copy(update={"path": "monitoring/sm.yaml", "line": 3}),
        ),
        resource(
            "reader",
            Status.IN_SYNC,
            kind="ClusterRole",
            namespace=None,
            source=source.model_copy(update={"path": "rbac/reader.yaml"}),
        ),
        *(extra or []),
    ]
    scan = ScanMeta(
        repo="git@example.com:acme/infra.git",
        ref="main",
        commit="0123456789abcdef0123456789abcdef01234567",
        targets=[Target(name="prod", provider="kubernetes", context="prod-admin")],
        startedAt=WHEN,
        finishedAt=WHEN,
        driftwatchVersion="0.0.0",
    )
    return AuditReport.build(scan, resources, [])


@pytest.fixture
def report() -> AuditReport:
    return make_report()
