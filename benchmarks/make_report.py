"""A deterministic, realistic N-resource AuditReport for the TUI benchmark (no cluster).

Shaped like `driftwatch scan --all --format json` of one cluster: apps in ~50 namespaces
of very different sizes (Zipf-like, so the biggest namespace holds a few hundred objects
of one kind), each app a bundle of ~10 kinds; ~90 % in sync (desired object only), ~5 %
modified with 1–3 attributed changes (desired and live), and some ignored, missing,
unmanaged and not_checked; ~4 % of workloads carry policy violations.  Usage:

    python benchmarks/make_report.py --size 10000 -o /tmp/report.json
    driftwatch view /tmp/report.json
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from driftwatch.engine.patch import apply_changes
from driftwatch.report import (
    AuditReport,
    Change,
    Op,
    Resource,
    ScanMeta,
    Source,
    Status,
    Target,
    Violation,
)

TARGET = "prod-eu-1"
NAMESPACES = 50
STATUS_WEIGHTS = (
    (Status.IN_SYNC, 0.90),
    (Status.MODIFIED, 0.05),
    (Status.IGNORED, 0.015),
    (Status.MISSING, 0.01),
    (Status.UNMANAGED, 0.015),
    (Status.NOT_CHECKED, 0.01),
)
TEAMS = [
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "billing",
    "shipping",
    "inventory",
    "orders",
    "ledger",
    "notifications",
    "analytics",
    "ml-platform",
    "data-ingest",
    "observability",
]
ENVS = ("prod", "canary", "batch", "edge")
COMPONENTS = [
    "api",
    "web",
    "worker",
    "gateway",
    "scheduler",
    "consumer",
    "indexer",
    "cache",
    "sync",
    "exporter",
    "renderer",
    "auth-proxy",
    "webhook",
    "reconciler",
    "importer",
    "backfill",
]
AUTHORS = ("Ada Ops", "Grace Hopper", "Linus Byte", "Margaret Ham", "Ken Thompson", "Barbara L")
SUBJECTS = (
    "bump {app} to {v}",
    "{app}: raise memory limit",
    "{app}: add readiness probe",
    "scale {app} for the sale",
    "{app}: rotate credentials",
    "move {app} behind the new gateway",
)
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _labels(app: str, team: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/part-of": team,
        "app.kubernetes.io/managed-by": "driftwatch-gitops",
    }


def _meta(name: str, ns: str | None, app: str, team: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": _labels(app, team)}
    if ns is not None:
        meta["namespace"] = ns
    return meta


def deployment(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    version = f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(app, ns, app, team),
        "spec": {
            "replicas": rng.choice((2, 2, 3, 3, 4, 6)),
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "template": {
                "metadata": {"labels": _labels(app, team)},
                "spec": {
                    "serviceAccountName": app,
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.com/{team}/{app}:{version}",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "envFrom": [{"configMapRef": {"name": f"{app}-config"}}],
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {
                                    "name": "DATABASE_PASSWORD",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": f"{app}-creds", "key": "password"}
                                    },
                                },
                            ],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        }
                    ],
                },
            },
        },
    }


def service(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(app, ns, app, team),
        "spec": {
            "selector": {"app.kubernetes.io/name": app},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def configmap(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{app}-config", ns, app, team),
        "data": {
            "LOG_FORMAT": "json",
            "UPSTREAM_URL": f"http://{team}-gateway.{ns}.svc:80",
            "FEATURE_NEW_CHECKOUT": rng.choice(("on", "off")),
            "CACHE_TTL_SECONDS": str(rng.choice((30, 60, 300))),
        },
    }


def secret(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(f"{app}-creds", ns, app, team),
        "type": "Opaque",
        "data": {
            "username": f"<secret hmac:{rng.getrandbits(64):016x}>",
            "password": f"<secret hmac:{rng.getrandbits(64):016x}>",
        },
    }


def service_account(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(app, ns, app, team)}


def hpa(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(app, ns, app, team),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
            "minReplicas": 2,
            "maxReplicas": rng.choice((6, 10, 20)),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def pdb(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(app, ns, app, team),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": app}}},
    }


def ingress(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(app, ns, app, team),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": f"{app}.{team}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": app, "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def network_policy(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(f"{app}-ingress", ns, app, team),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": team}}}]}],
        },
    }


def cronjob(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(f"{app}-nightly", ns, app, team),
        "spec": {
            "schedule": f"{rng.randint(0, 59)} {rng.randint(0, 5)} * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [
                                {
                                    "name": "job",
                                    "image": f"registry.example.com/{team}/{app}-job:1.0.0",
                                    "args": ["--nightly"],
                                }
                            ],
                        }
                    }
                }
            },
        },
    }


def cluster_role(app: str, ns: str, team: str, rng: random.Random) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(f"{ns}-{app}-reader", None, app, team),
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
    }


Builder = Callable[[str, str, str, random.Random], dict[str, Any]]
# (builder, probability per app): each app is a bundle of these (~10 kinds).
BUNDLE: tuple[tuple[Builder, float], ...] = (
    (deployment, 1.0),
    (service, 0.9),
    (service_account, 1.0),
    (configmap, 1.0),
    (secret, 0.7),
    (hpa, 0.5),
    (pdb, 0.4),
    (ingress, 0.3),
    (network_policy, 0.5),
    (cronjob, 0.15),
    (cluster_role, 0.05),
)
GROUPS = {"v1": "core"}
VIOLATION_RATE = 0.04  # of workloads (Deployments, CronJobs) with policy violations
POLICIES = (
    ("pod-security", "require-run-as-nonroot", "high", "securityContext.runAsNonRoot"),
    ("pod-security", "disallow-privilege-escalation", "medium", "allowPrivilegeEscalation"),
    ("best-practices", "require-limits", "low", "resources.limits.cpu"),
)


def _changes(obj: dict[str, Any], rng: random.Random, ignored: bool) -> list[Change]:
    """1–3 plausible hand edits of ``obj`` (one controller-owned change if ``ignored``)."""
    kind = obj["kind"]
    if ignored:
        if kind == "Deployment":
            replicas = obj["spec"]["replicas"]
            return [
                Change(
                    path="spec.replicas",
                    op=Op.CHANGED,
                    desired=replicas,
                    live=replicas + rng.randint(1, 8),
                    manager="kube-controller-manager",
                    ignoredBy="expected manager kube-controller-manager: replicas are managed by a HorizontalPodAutoscaler",
                )
            ]
        return [
            Change(
                path='metadata.annotations["rollout.example.com/step"]',
                op=Op.ADDED,
                live=str(rng.randint(1, 9)),
                manager="rollout-operator",
                ignoredBy="rollout-operator: annotations written by the rollout operator",
            )
        ]
    pool: list[Change] = [
        Change(
            path="metadata.labels.hotfix",
            op=Op.ADDED,
            live=f"inc-{rng.randint(1000, 9999)}",
            manager="kubectl-label",
        ),
        Change(
            path="metadata.annotations.owner",
            op=Op.ADDED,
            live=rng.choice(AUTHORS),
            manager="kubectl-annotate",
        ),
    ]
    if kind == "Deployment":
        container = obj["spec"]["template"]["spec"]["containers"][0]
        pool += [
            Change(
                path="spec.template.spec.containers[name=app].image",
                op=Op.CHANGED,
                desired=container["image"],
                live=container["image"] + "-hotfix",
                manager="kubectl-set",
            ),
            Change(
                path="spec.template.spec.containers[name=app].resources.limits.memory",
                op=Op.CHANGED,
                desired="512Mi",
                live="1Gi",
                manager="kubectl-edit",
            ),
            Change(
                path="spec.template.spec.containers[name=app].env[name=LOG_LEVEL].value",
                op=Op.CHANGED,
                desired="info",
                live="debug",
                manager="kubectl-edit",
            ),
        ]
    elif kind == "ConfigMap":
        pool += [
            Change(
                path="data.FEATURE_NEW_CHECKOUT",
                op=Op.CHANGED,
                desired=obj["data"]["FEATURE_NEW_CHECKOUT"],
                live="on" if obj["data"]["FEATURE_NEW_CHECKOUT"] == "off" else "off",
                manager="kubectl-edit",
            ),
            Change(
                path="data.CACHE_TTL_SECONDS", op=Op.REMOVED, desired="60", manager="kubectl-edit"
            ),
        ]
    elif kind == "Secret":
        pool.append(
            Change(
                path="data.password",
                op=Op.CHANGED,
                desired=obj["data"]["password"],
                live=f"<secret hmac:{rng.getrandbits(64):016x}>",
                manager="kubectl-edit",
            )
        )
    elif kind == "Service":
        pool.append(
            Change(
                path="spec.ports[name=http].targetPort",
                op=Op.CHANGED,
                desired="http",
                live=9090,
                manager="kubectl-patch",
            )
        )
    elif kind == "HorizontalPodAutoscaler":
        pool.append(
            Change(
                path="spec.maxReplicas",
                op=Op.CHANGED,
                desired=obj["spec"]["maxReplicas"],
                live=40,
                manager="kubectl-patch",
            )
        )
    picked = rng.sample(pool[2:] if len(pool) > 2 else pool, 1)
    extra = [c for c in pool if c not in picked]
    picked += rng.sample(extra, min(len(extra), rng.randint(0, 2)))
    return sorted(picked, key=lambda c: c.path)


def _violations(
    obj: dict[str, Any], source: Source, rng: random.Random, line: int
) -> list[Violation]:
    """1–2 desired-scope policy findings on a workload's first container, a few waived."""
    pod = (
        "spec.jobTemplate.spec.template.spec" if obj["kind"] == "CronJob" else "spec.template.spec"
    )
    name = "job" if obj["kind"] == "CronJob" else "app"
    out = []
    for policy, rule, severity, field in rng.sample(POLICIES, rng.randint(1, 2)):
        out.append(
            Violation(
                policy=policy,
                rule=rule,
                severity=severity,
                message=f"containers[name={name}]: {field} must be set",
                scope="desired",
                fieldPath=f"{pod}.containers[name={name}].{field}",
                path=source.path,
                line=line,
                waivedBy="legacy-images-until-2027-01" if rng.random() < 0.2 else None,
            )
        )
    return out


def _live_extras(obj: dict[str, Any]) -> dict[str, Any]:
    """Server defaults a real (noise-free) live object carries."""
    obj = copy.deepcopy(obj)
    if obj["kind"] == "Deployment":
        obj["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "3"}
        obj["spec"]["progressDeadlineSeconds"] = 600
        obj["spec"]["revisionHistoryLimit"] = 10
        obj["spec"]["strategy"] = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        }
    elif obj["kind"] == "Service":
        obj["spec"]["type"] = "ClusterIP"
        obj["spec"]["sessionAffinity"] = "None"
    return obj


def build_report(size: int = 10_000, seed: int = 7) -> AuditReport:
    rng = random.Random(seed)
    namespaces = [f"{TEAMS[i % len(TEAMS)]}-{ENVS[i // len(TEAMS) % len(ENVS)]}" for i in range(50)]
    weights = [1 / (k + 1) ** 0.8 for k in range(NAMESPACES)]  # a few big namespaces
    commits = [
        (
            f"{rng.getrandbits(160):040x}",
            rng.choice(AUTHORS),
            (WHEN - timedelta(hours=rng.randint(1, 24 * 180))).isoformat(),
        )
        for _ in range(300)
    ]
    statuses, status_weights = zip(*STATUS_WEIGHTS, strict=True)
    resources: list[Resource] = []
    seen: set[str] = set()
    while len(resources) < size:
        ns = rng.choices(namespaces, weights)[0]
        team = ns.rsplit("-", 1)[0]
        app = f"{rng.choice(COMPONENTS)}-{rng.randint(0, 999):03d}"
        commit, author, date = rng.choice(commits)
        subject = rng.choice(SUBJECTS).format(app=app, v=f"1.{rng.randint(0, 40)}")
        document = 0
        for builder, p in BUNDLE:
            if len(resources) >= size or rng.random() >= p:
                continue
            desired = builder(app, ns, team, rng)
            kind, meta = desired["kind"], desired["metadata"]
            group_version = desired["apiVersion"].rsplit("/", 1)
            group = GROUPS.get(desired["apiVersion"], group_version[0])
            status = rng.choices(statuses, status_weights)[0]
            name = meta["name"] + ("-manual" if status is Status.UNMANAGED else "")
            rid = f"kubernetes:{TARGET}/{group}/{kind}/{meta.get('namespace', '-')}/{name}"
            if rid in seen:
                continue
            seen.add(rid)
            source = Source(
                path=f"clusters/{TARGET}/{ns}/{app}.yaml",
                line=1 + document * 24,
                document=document,
                commit=commit,
                author=author,
                date=date,
                subject=subject,
            )
            document += 1
            fields: dict[str, Any] = {"source": source, "desired": desired}
            if kind in ("Deployment", "CronJob") and rng.random() < VIOLATION_RATE:
                fields["violations"] = _violations(desired, source, rng, source.line + 12)
            if status in (Status.MODIFIED, Status.IGNORED):
                changes = _changes(desired, rng, ignored=status is Status.IGNORED)
                fields["changes"] = changes
                fields["live"] = _live_extras(apply_changes(desired, changes))
            elif status is Status.UNMANAGED:
                meta["name"] = name
                fields = {"live": _live_extras(desired)}
            elif status is Status.NOT_CHECKED:
                fields["reason"] = (
                    f"list {kind.lower()}s in {ns}: 403 Forbidden for the audit service account"
                )
            resources.append(
                Resource(
                    id=rid,
                    provider="kubernetes",
                    target=TARGET,
                    apiVersion=desired["apiVersion"],
                    kind=kind,
                    namespace=meta.get("namespace"),
                    name=name,
                    status=status,
                    **fields,
                )
            )
    scan = ScanMeta(
        repo="git@github.com:acme/platform-gitops.git",
        ref="main",
        commit=commits[0][0],
        targets=[Target(name=TARGET, provider="kubernetes", context=f"{TARGET}-admin")],
        startedAt=WHEN,
        finishedAt=WHEN + timedelta(seconds=3),
        driftwatchVersion="bench",
        phases={"git": 0.4, "live": 1.9, "diff": 0.6},
    )
    return AuditReport.build(scan, resources, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", "-o", help="JSON file to write (default: stdout)")
    args = parser.parse_args()
    data = build_report(args.size, args.seed).to_json()
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main()
