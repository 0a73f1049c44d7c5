"""The demo cluster's live state: the demo repo as Argo CD applied it, then a month of life.

Every object is apiserver-shaped (:func:`~driftwatch.testing.fixtures.served`: server
defaults, status, ``managedFields``) and every later change is a recorded write
(:func:`~driftwatch.testing.fixtures.record_write`) by the field manager that would really
have made it, so a scan attributes each change to its writer:

========================================  ===========  ====================================
resource                                  status       because
========================================  ===========  ====================================
Deployment shop/web                       modified     ``kubectl set image`` (hotfix) and
                                                       ``kubectl label`` (incident label)
ConfigMap shop/web-config                 modified     ``kubectl edit``: LOG_LEVEL=debug
Secret shop/web-db                        modified     ``kubectl edit``: password rotated
                                                       (shown as a keyed-hash change)
CronJob shop/nightly-report               modified     ``kubectl patch``: suspended
PodDisruptionBudget shop/web              missing      added to Git, never synced
ConfigMap shop/debug-flags                unmanaged    ``kubectl create configmap``
Deployment shop/debug-shell               unmanaged    ``kubectl create deployment``
Deployment shop/api                       ignored      the HPA scaled it (expected manager)
ConfigMap shop/feature-flags              ignored      rollout operator (ignoreDifferences)
ServiceMonitor shop/web                   not_checked  the cluster has no Prometheus CRDs
everything else                           in_sync      despite defaults, status, controllers
========================================  ===========  ====================================

Noise that must stay quiet: server defaults everywhere, ``status`` written by controllers,
the Deployment revision annotation, Argo CD's tracking annotation, the aggregated
ClusterRole's ``rules`` filled by the aggregation controller, canonicalized quantities
(``0.5`` → ``500m``, ``1024Mi`` → ``1Gi``), the cluster's own ``kube-root-ca.crt`` and
``default`` ServiceAccount, an owned cert-manager Secret and system namespaces.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import yaml

from driftwatch.demo.gitrepo import repo_files
from driftwatch.testing.fixtures import record_write, served

__all__ = ["HAND_EDITED_PASSWORD", "TRACKING_ANNOTATION", "desired_objects", "live_objects"]

TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
OWN_GROUP = "driftwatch.dev/"
ARGO_APP = "shop"
ARGO_MANAGER = "argocd-controller"
CONTROLLER_MANAGER = "kube-controller-manager"

# When things happened (Ownership ranks writers by time, so the order matters).
CLUSTER_CREATED = "2026-01-12T08:00:00Z"
APPLIED = "2026-02-23T10:15:00Z"  # Argo CD synced the last commit (the PDB sync failed)
AGGREGATED = "2026-02-23T10:15:01Z"
ROLLOUT_RAMPED = "2026-03-02T09:00:00Z"
SCALED = "2026-03-03T14:05:12Z"
DEBUG_CREATED = "2026-03-04T21:12:40Z"
HOTFIX_SET = "2026-03-04T21:30:05Z"
HOTFIX_ROLLED = "2026-03-04T21:30:06Z"
LABELLED = "2026-03-04T21:31:47Z"
LOG_LEVEL_EDITED = "2026-03-04T21:40:18Z"
PASSWORD_ROTATED = "2026-03-05T07:55:31Z"
REPORT_SUSPENDED = "2026-03-05T08:02:09Z"
LAST_SCHEDULE = "2026-03-05T01:30:00Z"

HOTFIX_IMAGE = "registry.example.com/shop/web:1.8.3-hotfix"
# The live value the demo's Secret was edited to; it must never appear in any output.
HAND_EDITED_PASSWORD = "Tr0ub4dor&3"
NEVER_SYNCED = {("PodDisruptionBudget", "shop", "web")}

_FAKE_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "ZHJpZnR3YXRjaCBkZW1vIGNlcnRpZmljYXRlIC0gbm90IGEgcmVhbCBrZXk=\n"
    "-----END CERTIFICATE-----\n"
)


def desired_objects() -> list[dict[str, Any]]:
    """The Kubernetes objects the demo repository declares, in file order (driftwatch's
    own documents, such as the AWSResource specs, are not Kubernetes objects)."""
    out: list[dict[str, Any]] = []
    for rel, data in repo_files().items():
        if not rel.endswith(".yaml") or rel == "driftwatch.yaml":
            continue
        out.extend(
            d
            for d in yaml.safe_load_all(data)
            if isinstance(d, dict) and not str(d.get("apiVersion", "")).startswith(OWN_GROUP)
        )
    return out


def _ident(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return str(obj["kind"]), str(meta.get("namespace", "")), str(meta["name"])


def _tracking_id(obj: dict[str, Any]) -> str:
    kind, namespace, name = _ident(obj)
    group = str(obj["apiVersion"]).rpartition("/")[0]
    return f"{ARGO_APP}:{group}/{kind}:{namespace}/{name}"


def _synced(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` as Argo CD's server-side apply left it (with its tracking annotation)."""
    sent = copy.deepcopy(manifest)
    sent["metadata"].setdefault("annotations", {})[TRACKING_ANNOTATION] = _tracking_id(manifest)
    return served(sent, manager=ARGO_MANAGER, operation="Apply", time=APPLIED)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _drifted(synced: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    """What happened after the sync, in place."""
    # Incident INC-2291: a hotfix image set by hand, the Deployment labelled, logs turned up.
    web = synced[("Deployment", "shop", "web")]
    web = record_write(
        web,
        "kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": HOTFIX_IMAGE}]}}}},
        time=HOTFIX_SET,
    )
    web = record_write(
        web,
        CONTROLLER_MANAGER,
        {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}}},
        time=HOTFIX_ROLLED,
    )
    web = record_write(
        web, "kubectl-label", {"metadata": {"labels": {"incident": "inc-2291"}}}, time=LABELLED
    )
    synced[("Deployment", "shop", "web")] = web
    key = ("ConfigMap", "shop", "web-config")
    synced[key] = record_write(
        synced[key], "kubectl-edit", {"data": {"LOG_LEVEL": "debug"}}, time=LOG_LEVEL_EDITED
    )

    # The database password was rotated on the cluster, not in Git.
    key = ("Secret", "shop", "web-db")
    synced[key] = record_write(
        synced[key],
        "kubectl-edit",
        {"data": {"password": _b64(HAND_EDITED_PASSWORD)}},
        time=PASSWORD_ROTATED,
    )

    # The nightly report was paused "for a day".
    key = ("CronJob", "shop", "nightly-report")
    job = record_write(
        synced[key], "kubectl-patch", {"spec": {"suspend": True}}, time=REPORT_SUSPENDED
    )
    synced[key] = record_write(
        job,
        CONTROLLER_MANAGER,
        {"status": {"lastScheduleTime": LAST_SCHEDULE, "lastSuccessfulTime": LAST_SCHEDULE}},
        subresource="status",
        time=LAST_SCHEDULE,
    )

    # The HPA scaled the api up; the apiserver canonicalized the quantities Git spells out.
    key = ("Deployment", "shop", "api")
    api = record_write(
        synced[key], CONTROLLER_MANAGER, {"spec": {"replicas": 5}}, subresource="scale", time=SCALED
    )
    container = api["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {
        "limits": {"memory": "1Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }
    api["status"].update(replicas=5, updatedReplicas=5, readyReplicas=5, availableReplicas=5)
    synced[key] = api
    key = ("HorizontalPodAutoscaler", "shop", "api")
    synced[key] = record_write(
        synced[key],
        CONTROLLER_MANAGER,
        {
            "status": {
                "currentReplicas": 5,
                "desiredReplicas": 5,
                "lastScaleTime": SCALED,
                "currentMetrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "current": {"averageUtilization": 68, "averageValue": "341m"},
                        },
                    }
                ],
            }
        },
        subresource="status",
        time=SCALED,
    )

    # The rollout operator ramps the checkout-v2 percentage (an ignoreDifferences rule).
    key = ("ConfigMap", "shop", "feature-flags")
    synced[key] = record_write(
        synced[key],
        "rollout-operator",
        {"data": {"checkout-v2-rollout": "35"}},
        time=ROLLOUT_RAMPED,
    )

    # The aggregation controller fills the aggregated role's rules (Git leaves them out).
    rules = synced[("ClusterRole", "", "shop-reader-workloads")]["rules"]
    key = ("ClusterRole", "", "shop-reader")
    synced[key] = record_write(
        synced[key],
        "clusterrole-aggregation-controller",
        {"rules": copy.deepcopy(rules)},
        time=AGGREGATED,
    )


def _by_hand() -> list[dict[str, Any]]:
    """Objects created with ``kubectl create`` in a namespace Git manages: unmanaged."""
    flags = served(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "debug-flags", "namespace": "shop"},
            "data": {"TRACE_SQL": "true", "TRACE_SAMPLE_RATE": "1.0"},
        },
        manager="kubectl-create",
        time=DEBUG_CREATED,
    )
    labels = {"app": "debug-shell"}
    shell = served(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "debug-shell", "namespace": "shop", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "strategy": {},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "busybox",
                                "image": "busybox:1.36",
                                "command": ["sleep", "infinity"],
                                "resources": {},
                            }
                        ]
                    },
                },
            },
        },
        manager="kubectl-create",
        time=DEBUG_CREATED,
        defaults_owned=True,
    )
    return [flags, shell]


def _cluster_furniture() -> list[dict[str, Any]]:
    """What every cluster has and a scan must leave alone."""
    out: list[dict[str, Any]] = []
    namespaces = {
        "default": ("kube-apiserver", CLUSTER_CREATED),
        "kube-node-lease": ("kube-apiserver", CLUSTER_CREATED),
        "kube-public": ("kube-apiserver", CLUSTER_CREATED),
        "kube-system": ("kube-apiserver", CLUSTER_CREATED),
        "ingress-nginx": ("helm", CLUSTER_CREATED),
        "shop": (ARGO_MANAGER, APPLIED),  # Argo CD's CreateNamespace=true
    }
    for name, (manager, created) in namespaces.items():
        out.append(
            served(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                manager=manager,
                time=created,
                defaults_owned=True,
            )
        )
    out.append(
        served(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": "10.96.0.1",
                    "ports": [{"name": "https", "port": 443, "targetPort": 6443}],
                },
            },
            manager="kube-apiserver",
            time=CLUSTER_CREATED,
            defaults_owned=True,
        )
    )
    out.append(
        served(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
                "data": {
                    "Corefile": ".:53 {\n    errors\n    health\n    forward . /etc/resolv.conf\n}\n"
                },
            },
            manager="kubeadm",
            time=CLUSTER_CREATED,
        )
    )
    for namespace in ("default", "kube-system", "shop"):
        created = APPLIED if namespace == "shop" else CLUSTER_CREATED
        out.append(
            served(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "kube-root-ca.crt", "namespace": namespace},
                    "data": {"ca.crt": _FAKE_PEM},
                },
                manager=CONTROLLER_MANAGER,
                time=created,
            )
        )
        out.append(
            served(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": namespace},
                },
                manager=CONTROLLER_MANAGER,
                time=created,
            )
        )
    # cert-manager's certificate Secret: owned by its Certificate, so not "unmanaged".
    out.append(
        served(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "web-tls",
                    "namespace": "shop",
                    "annotations": {"cert-manager.io/certificate-name": "web-tls"},
                    "ownerReferences": [
                        {
                            "apiVersion": "cert-manager.io/v1",
                            "kind": "Certificate",
                            "name": "web-tls",
                            "uid": "5d0c1f4e-6a3b-4c1e-9f1a-2b7d3c4e5f60",
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": _b64(_FAKE_PEM), "tls.key": _b64("demo key, not a real one")},
            },
            manager="cert-manager-certificates-issuing",
            time=APPLIED,
        )
    )
    return out


def live_objects() -> list[dict[str, Any]]:
    """The demo cluster's objects, apiserver-shaped, in a stable order."""
    synced: dict[tuple[str, str, str], dict[str, Any]] = {}
    for manifest in desired_objects():
        ident = _ident(manifest)
        if ident in NEVER_SYNCED or manifest["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # the PDB sync failed; the cluster has no ServiceMonitor CRD
        synced[ident] = _synced(manifest)
    _drifted(synced)
    return [*_cluster_furniture(), *synced.values(), *_by_hand()]
