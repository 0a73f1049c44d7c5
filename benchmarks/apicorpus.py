"""An apiserver-shaped corpus with ground truth: desired manifests in Git, live objects as
a Kubernetes v1.32 apiserver stores them, and the verdict every object must get.

Nothing here comes from driftwatch's engine (no ``normalize``, ``schema``, ``defaults``
or ``engine`` import): server defaults are re-stated from upstream's defaulting
functions, list types from the ``+listType`` markers of ``k8s.io/api``, managedFields
from the shapes recorded in Argo CD's and gitops-engine's test data (see
``tests/providers/kubernetes/realpairs``).  ``build(n, workdir, seed)`` writes the repo
and ``live.json`` and returns them with the truth; ``benchmarks/verdicts.py`` scores a
scan against it.  Issue 12 extends it to a 10k corpus.

Appliers: server-side apply (``kustomize-controller``, operation ``Apply``, owning
exactly the applied fields), client-side apply (``kubectl-client-side-apply``,
``Update``, owning every field the object had after defaulting, plus the
``last-applied-configuration`` annotation) and client-side apply from before 1.18 (only
the annotation, no managedFields).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
Key = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name

SSA, CSA, LEGACY = "ssa", "csa", "csa-legacy"
APPLIER = {SSA: "kustomize-controller", CSA: "kubectl-client-side-apply"}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TIME = "2026-11-02T08:00:00Z"
LATER = "2026-11-20T14:30:00Z"

# ---------------------------------------------------------------------------------------
# List types, from the +listType / +listMapKey markers in k8s.io/api (and, for the CRD,
# its own x-kubernetes-list-type).  Keyed by the list field's name *within its parent
# type*; the parent type is tracked while walking (``_child_type``).  A list not listed
# here is atomic, as structured-merge-diff treats untyped lists.
MAP_LISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("PodSpec", "containers"): ("name",),  # core/v1 types.go: +listType=map +listMapKey=name
    ("PodSpec", "initContainers"): ("name",),
    ("PodSpec", "volumes"): ("name",),
    ("PodSpec", "imagePullSecrets"): ("name",),
    ("Container", "ports"): ("containerPort", "protocol"),
    ("Container", "env"): ("name",),
    ("Container", "volumeMounts"): ("mountPath",),
    ("ServiceSpec", "ports"): ("port", "protocol"),
    ("ObjectMeta", "ownerReferences"): ("uid",),
    ("WidgetSpec", "endpoints"): ("name",),  # the CRD below: x-kubernetes-list-type: map
}
SET_LISTS: set[tuple[str, str]] = {("ObjectMeta", "finalizers")}  # +listType=set
# Item keys are computed after defaulting: a port Git gives without protocol is
# k:{"port":80,"protocol":"TCP"} in every recording (smd-service-live.yaml).
KEY_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("Container", "ports"): {"protocol": "TCP"},
    ("ServiceSpec", "ports"): {"protocol": "TCP"},
}
# Atomic lists named in the issue, for the record: RoleBinding subjects, NetworkPolicy
# ingress/ports/from/policyTypes, StatefulSet volumeClaimTemplates, PVC accessModes,
# container command/args, Service clusterIPs/ipFamilies (all +listType=atomic).

# Structs and maps owned as a whole (+structType=atomic / +mapType=atomic): LabelSelector
# (recorded as f:selector: {} in smd-deploy-live.yaml), ServiceSpec.selector (f:selector:
# {} in ssd-service-live.yaml), RoleRef.
ATOMIC_FIELDS: set[tuple[str, str]] = {
    ("WorkloadSpec", "selector"),
    ("ServiceSpec", "selector"),
    ("NetworkPolicySpec", "podSelector"),
    ("RoleBinding", "roleRef"),
}

# Which child type a field holds (only what the corpus uses).
_CHILD_TYPES: dict[tuple[str, str], str] = {
    ("Root", "metadata"): "ObjectMeta",
    ("Deployment", "spec"): "WorkloadSpec",
    ("StatefulSet", "spec"): "WorkloadSpec",
    ("Job", "spec"): "WorkloadSpec",
    ("WorkloadSpec", "template"): "PodTemplate",
    ("CronJobSpec", "jobTemplate"): "JobTemplate",
    ("JobTemplate", "spec"): "WorkloadSpec",
    ("JobTemplate", "metadata"): "ObjectMeta",
    ("CronJob", "spec"): "CronJobSpec",
    ("PodTemplate", "spec"): "PodSpec",
    ("PodTemplate", "metadata"): "ObjectMeta",
    ("Pod", "spec"): "PodSpec",
    ("PodSpec", "containers"): "Container",
    ("PodSpec", "initContainers"): "Container",
    ("Service", "spec"): "ServiceSpec",
    ("Widget", "spec"): "WidgetSpec",
    ("NetworkPolicy", "spec"): "NetworkPolicySpec",
}


def _child_type(parent: str, key: str) -> str:
    return _CHILD_TYPES.get((parent, key), "Object")


def _root_type(kind: str) -> str:
    return (
        kind
        if kind in {"Deployment", "StatefulSet", "Job", "CronJob", "Pod", "Service", "Widget"}
        else "Generic"
    )


# ---------------------------------------------------------------------------------------
# managedFields (FieldsV1), in the shapes the recordings show: ``f:`` map keys,
# ``k:{...}`` items of map lists (with ``.``), ``v:`` set members, an atomic list as a
# leaf ``{}``.  ``dots``: Update operations also mark the maps they created with ``.``.


def fields_v1(obj: Obj, kind: str, *, dots: bool) -> Obj:
    return _fields(obj, _root_type(kind), dots=dots, top=True)


# Structs that always exist carry no "." of their own in Update recordings
# (ssd-deploy-with-manual-apply-live.yaml: f:spec, f:strategy, f:template... have none).
NO_DOT = {"metadata", "spec", "template", "strategy", "jobTemplate", "updateStrategy"}


def _fields(
    value: Any, typ: str, *, dots: bool, top: bool = False, item: bool = False, name: str = ""
) -> Obj:
    out: Obj = {}
    if item or (dots and not top and name not in NO_DOT):
        out["."] = {}
    child: Any
    for key, child in value.items():
        if top and key in ("apiVersion", "kind", "status"):
            continue
        if typ == "ObjectMeta" and key in ("name", "namespace"):
            continue  # the object's identity: never in managedFields
        parent = "Root" if top and key == "metadata" else typ
        child_typ = _child_type(parent, key)
        if (typ, key) in ATOMIC_FIELDS:
            out[f"f:{key}"] = {}
        elif isinstance(child, dict) and child:
            out[f"f:{key}"] = _fields(child, child_typ, dots=dots, name=key)
        elif isinstance(child, list) and (typ, key) in MAP_LISTS:
            keys = MAP_LISTS[(typ, key)]
            items: Obj = {".": {}} if dots else {}
            element: Obj
            for element in child:
                defaults = KEY_DEFAULTS.get((typ, key), {})
                ident_values = {k: element.get(k, defaults.get(k)) for k in keys}
                ident = json.dumps(
                    {k: v for k, v in ident_values.items() if v is not None}, separators=(",", ":")
                )
                items[f"k:{ident}"] = _fields(element, child_typ, dots=dots, item=True)
            out[f"f:{key}"] = items
        elif isinstance(child, list) and (typ, key) in SET_LISTS:
            out[f"f:{key}"] = {f"v:{json.dumps(v)}": {} for v in child}
        else:
            out[f"f:{key}"] = {}  # a scalar, an empty map, or an atomic list: owned whole
    return out


def entry(
    manager: str,
    operation: str,
    api_version: str,
    fields: Obj,
    *,
    subresource: str | None = None,
    time: str = TIME,
) -> Obj:
    e: Obj = {
        "apiVersion": api_version,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": operation,
        "time": time,
    }
    if subresource:
        e["subresource"] = subresource
    return e


def take(fields: Obj, path: list[str]) -> Obj:
    """Remove ``path`` (FieldsV1 keys) from an owner's set and return it as a new set."""
    node = fields
    for key in path[:-1]:
        node = node[key]
    owned = node.pop(path[-1], {})
    out: Obj = {}
    cursor = out
    for key in path[:-1]:
        cursor[key] = {}
        cursor = cursor[key]
    cursor[path[-1]] = owned
    return out


# ---------------------------------------------------------------------------------------
# Server defaults, as upstream's defaulting functions set them (kubernetes/kubernetes).


def default_pod_spec(ps: Obj, *, pod: bool = False) -> None:
    # pkg/apis/core/v1/defaults.go SetDefaults_PodSpec
    ps.setdefault("dnsPolicy", "ClusterFirst")
    ps.setdefault("restartPolicy", "Always")
    ps.setdefault("terminationGracePeriodSeconds", 30)
    ps.setdefault("securityContext", {})
    ps.setdefault("schedulerName", "default-scheduler")
    for c in ps.get("containers", []) + ps.get("initContainers", []):
        # SetDefaults_Container: Always for :latest (or no tag), else IfNotPresent
        tag = c["image"].rpartition(":")[2] if ":" in c["image"].rpartition("/")[2] else "latest"
        c.setdefault("imagePullPolicy", "Always" if tag == "latest" else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})  # an empty struct: Go's omitempty keeps it
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")  # SetDefaults_ContainerPort
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c:  # SetDefaults_Probe, SetDefaults_HTTPGetAction
                pr = c[probe]
                for k, v in (
                    ("timeoutSeconds", 1),
                    ("periodSeconds", 10),
                    ("successThreshold", 1),
                    ("failureThreshold", 3),
                ):
                    pr.setdefault(k, v)
                if "httpGet" in pr:
                    pr["httpGet"].setdefault("scheme", "HTTP")
    for v in ps.get("volumes", []):
        for src in ("configMap", "secret"):
            if src in v:  # SetDefaults_ConfigMapVolumeSource / SetDefaults_SecretVolumeSource
                v[src].setdefault("defaultMode", 420)
    if pod:  # SetDefaults_Pod: requests default to limits (bare Pods only)
        for c in ps.get("containers", []):
            limits = c.get("resources", {}).get("limits")
            if limits and "requests" not in c["resources"]:
                c["resources"]["requests"] = dict(limits)
        ps.setdefault("enableServiceLinks", True)
        ps.setdefault("preemptionPolicy", "PreemptLowerPriority")
        ps.setdefault("priority", 0)


def default_template(tpl: Obj) -> None:
    tpl.setdefault("metadata", {})["creationTimestamp"] = None  # ObjectMeta's zero time
    default_pod_spec(tpl["spec"])


def server_defaults(obj: Obj) -> Obj:
    """The object as the apiserver stores it after defaulting (no allocations, no status)."""
    o = copy.deepcopy(obj)
    kind: str = o["kind"]
    spec: Obj = o.get("spec") or {}
    if kind == "Deployment":  # pkg/apis/apps/v1/defaults.go SetDefaults_Deployment
        spec.setdefault("replicas", 1)
        st = spec.setdefault("strategy", {})
        st.setdefault("type", "RollingUpdate")
        if st["type"] == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_template(spec["template"])
    elif kind == "StatefulSet":  # SetDefaults_StatefulSet
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {})
        if "type" not in us:
            us["type"] = "RollingUpdate"
            us.setdefault("rollingUpdate", {})
        if us["type"] == "RollingUpdate" and "rollingUpdate" in us:
            us["rollingUpdate"].setdefault("partition", 0)
        ret = spec.setdefault(
            "persistentVolumeClaimRetentionPolicy", {}
        )  # StatefulSetAutoDeletePVC, GA in 1.32
        ret.setdefault("whenDeleted", "Retain")
        ret.setdefault("whenScaled", "Retain")
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        default_template(spec["template"])
        for vct in spec.get("volumeClaimTemplates", []):
            # The embedded PVC as stored: apiVersion/kind set, the zero creationTimestamp,
            # SetDefaults_PersistentVolumeClaimSpec (volumeMode) and
            # SetDefaults_PersistentVolumeClaim (status.phase Pending).
            vct.setdefault("apiVersion", "v1")
            vct.setdefault("kind", "PersistentVolumeClaim")
            vct.setdefault("metadata", {})["creationTimestamp"] = None
            vct["spec"].setdefault("volumeMode", "Filesystem")
            vct.setdefault("status", {"phase": "Pending"})
    elif kind == "CronJob":  # pkg/apis/batch/v1/defaults.go SetDefaults_CronJob
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec["jobTemplate"]
        jt.setdefault("metadata", {})["creationTimestamp"] = None
        default_template(jt["spec"]["template"])
    elif kind == "Job":  # SetDefaults_Job
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        spec.setdefault("manualSelector", False)
        default_template(spec["template"])
    elif kind == "Pod":
        default_pod_spec(spec, pod=True)
    elif kind == "Service":  # pkg/apis/core/v1/defaults.go SetDefaults_Service
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("type", "ClusterIP")
        for p in spec.get("ports", []):
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p["port"])
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
    elif kind in (
        "RoleBinding",
        "ClusterRoleBinding",
    ):  # pkg/apis/rbac/v1/defaults.go SetDefaults_Subject
        for s in o.get("subjects", []):
            if s["kind"] in ("User", "Group"):
                s.setdefault("apiGroup", "rbac.authorization.k8s.io")
    elif kind == "NetworkPolicy":  # pkg/apis/networking/v1/defaults.go
        for rule in spec.get("ingress", []):
            for p in rule.get("ports", []):
                p.setdefault("protocol", "TCP")  # SetDefaults_NetworkPolicyPort
        spec.setdefault("policyTypes", ["Ingress"] + (["Egress"] if "egress" in spec else []))
    elif kind == "Secret":  # SetDefaults_Secret
        o.setdefault("type", "Opaque")
    elif kind == "HorizontalPodAutoscaler":  # pkg/apis/autoscaling/v2/defaults.go
        spec.setdefault("minReplicas", 1)
        beh = spec.setdefault("behavior", {})
        up = beh.setdefault("scaleUp", {})
        up.setdefault("stabilizationWindowSeconds", 0)
        up.setdefault("selectPolicy", "Max")
        up.setdefault(
            "policies",
            [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        )
        down = beh.setdefault("scaleDown", {})
        down.setdefault("selectPolicy", "Max")
        down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    elif kind == "Widget":  # the CRD's structural-schema defaults (WIDGET_CRD below)
        spec.setdefault("replicas", 1)
        spec.setdefault("mode", "standard")
        for ep in spec.get("endpoints", []):
            ep.setdefault("protocol", "TCP")
    return o


WIDGET_CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {
        "name": "widgets.example.com",
        "uid": "6c1f0b8e-8f7e-4c57-9d0a-0e5f8c2b7a10",
        "resourceVersion": "90",
        "generation": 1,
        "creationTimestamp": TIME,
    },
    "spec": {
        "group": "example.com",
        "names": {
            "kind": "Widget",
            "listKind": "WidgetList",
            "plural": "widgets",
            "singular": "widget",
        },
        "scope": "Namespaced",
        "conversion": {"strategy": "None"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "replicas": {"type": "integer", "default": 1},
                                    "mode": {"type": "string", "default": "standard"},
                                    "endpoints": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["name"],
                                        "items": {
                                            "type": "object",
                                            "required": ["name"],
                                            "properties": {
                                                "name": {"type": "string"},
                                                "port": {"type": "integer"},
                                                "protocol": {"type": "string", "default": "TCP"},
                                            },
                                        },
                                    },
                                    "owners": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "atomic",
                                        "items": {"type": "string"},
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
    "status": {
        "acceptedNames": {
            "kind": "Widget",
            "listKind": "WidgetList",
            "plural": "widgets",
            "singular": "widget",
        },
        "storedVersions": ["v1"],
    },
}

# ---------------------------------------------------------------------------------------
# Ground truth


@dataclass
class Truth:
    """What a scan must say about one object."""

    status: str  # in_sync | modified | missing | unmanaged | generated (never drift)
    paths: frozenset[str] = frozenset()
    drift: str | None = None  # the injected drift's kind, for recall per kind
    applier: str | None = None


@dataclass
class Corpus:
    repo: Path
    objects: Path
    truth: dict[Key, Truth]
    live_count: int
    desired_count: int

    def drifted(self) -> Iterator[tuple[Key, Truth]]:
        return ((k, t) for k, t in self.truth.items() if t.drift)


@dataclass
class _Builder:
    rng: random.Random
    desired: list[tuple[str, Obj]] = field(default_factory=list)  # (repo path, manifest)
    live: list[Obj] = field(default_factory=list)
    truth: dict[Key, Truth] = field(default_factory=dict)
    serial: int = 0

    def uid(self) -> str:
        self.serial += 1
        return f"00000000-0000-4000-8000-{self.serial:012d}"

    def meta(self, obj: Obj, *, generation: bool = True) -> None:
        m = obj["metadata"]
        m["uid"] = self.uid()
        m["resourceVersion"] = str(1000 + self.serial)
        m["creationTimestamp"] = TIME
        if generation:
            m["generation"] = 1

    def add_generated(self, obj: Obj) -> None:
        self.meta(obj, generation=False)
        self.live.append(obj)
        self.truth[key_of(obj)] = Truth("generated")


def key_of(obj: Obj) -> Key:
    m = obj["metadata"]
    return obj["kind"], m.get("namespace") or "", m["name"]


def last_applied(manifest: Obj) -> str:
    la = copy.deepcopy(manifest)
    la["metadata"]["annotations"] = {k: v for k, v in la["metadata"].get("annotations", {}).items()}
    return json.dumps(la, separators=(",", ":"), sort_keys=True) + "\n"


def owner_ref(obj: Obj, *, controller: bool = True) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def _hash(rng: random.Random, n: int = 10) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


# ---------------------------------------------------------------------------------------
# Desired manifests (what Git says), one app at a time


def _labels(app: str) -> Obj:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop", "team": "core"}


def web_app(ns: str, app: str, i: int, *, replicas: bool = True) -> list[Obj]:
    tag = "latest" if i % 9 == 0 else f"1.{i % 7}.{i % 3}"
    container: Obj = {
        "name": "app",
        "image": f"registry.example.com/{app}:{tag}",
        "ports": [
            {"name": "http", "containerPort": 8080},
            {"name": "metrics", "containerPort": 9090},
        ],
        "env": [{"name": "MODE", "value": "prod"}, {"name": "SHARD", "value": str(i)}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }
    spec: Obj = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
        "template": {
            "metadata": {"labels": _labels(app)},
            "spec": {
                "serviceAccountName": app,
                "containers": [container],
                "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}}],
            },
        },
    }
    if replicas:
        spec = {"replicas": 2, **spec}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": spec,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": {
                **({"type": "NodePort"} if i % 8 == 4 else {}),
                "selector": {"app.kubernetes.io/name": app},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-config", "namespace": ns, "labels": _labels(app)},
            "data": {"app.yaml": f"level: info\nshard: {i}\n", "feature-x": "on"},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
        },
    ]


def db_app(ns: str, app: str, i: int) -> list[Obj]:
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": {
                "serviceName": app,
                "replicas": 2,
                "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                "template": {
                    "metadata": {"labels": _labels(app)},
                    "spec": {
                        "containers": [
                            {
                                "name": "db",
                                "image": f"postgres:16.{i % 4}",
                                "ports": [{"name": "pg", "containerPort": 5432}],
                                "env": [
                                    {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}
                                ],
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/var/lib/postgresql/data"}
                                ],
                            }
                        ]
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": {
                "clusterIP": "None",
                "selector": {"app.kubernetes.io/name": app},
                "ports": [{"name": "pg", "port": 5432}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{app}-credentials", "namespace": ns, "labels": _labels(app)},
            "type": "Opaque",
            "stringData": {"username": "app", "password": f"pw-{i:05d}-not-a-real-secret"},
            "data": {"ca-bundle": ""},  # an empty value: returned as null (wordpress-live.json)
        },
    ]


def job_app(ns: str, app: str, i: int) -> list[Obj]:
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": {
                "schedule": f"{i % 60} 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "metadata": {"labels": _labels(app)},
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [
                                    {
                                        "name": "task",
                                        "image": f"registry.example.com/{app}:2.{i % 5}",
                                        "command": ["/bin/task", "--once"],
                                    }
                                ],
                            },
                        }
                    }
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-settings", "namespace": ns, "labels": _labels(app)},
            "data": {"retention": "30d", "target": f"s3://backups/{app}"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{app}-readers", "namespace": ns, "labels": _labels(app)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            # Git omits subjects[].apiGroup for the Group, as most manifests do.
            "subjects": [
                {"kind": "ServiceAccount", "name": app, "namespace": ns},
                {"kind": "Group", "name": f"{ns}-oncall"},
            ],
        },
    ]


def api_app(ns: str, app: str, i: int) -> list[Obj]:
    objs = web_app(ns, app, i, replicas=False)[:2]  # HPA-owned replicas: Git has none
    objs += [
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "maxReplicas": 10,
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
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{app}-ingress", "namespace": ns, "labels": _labels(app)},
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                        "ports": [{"port": 8080}, {"port": 9090}],
                    }
                ],
            },
        },
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": app, "namespace": ns, "labels": _labels(app)},
            "spec": {
                "endpoints": [
                    {"name": "public", "port": 443},
                    {"name": "admin", "port": 8443, "protocol": "TCP"},
                ],
                "owners": ["team-a", "team-b"],
            },
        },
    ]
    return objs


APPS = (web_app, db_app, job_app, api_app)

# ---------------------------------------------------------------------------------------
# Live side


def stored(b: _Builder, manifest: Obj, style: str, applied: Obj | None = None) -> Obj:
    """The live object for ``manifest`` applied with ``style``; ``applied`` is what was
    applied if Git has changed since (removed-from-Git drifts)."""
    applied = applied or manifest
    live = server_defaults(applied)
    if live["kind"] == "Secret" and "stringData" in live:  # stored as base64 data
        import base64

        live["data"] = {
            **live.get("data", {}),
            **{k: base64.b64encode(v.encode()).decode() for k, v in live.pop("stringData").items()},
        }
    if live["kind"] == "Secret":  # an empty value comes back null (wordpress-live.json)
        live["data"] = {k: v or None for k, v in live.get("data", {}).items()}
    b.meta(live, generation=live["kind"] in GENERATION_KINDS)
    api = live["apiVersion"]
    managed: list[Obj] = []
    if style == SSA:
        managed.append(
            entry(
                APPLIER[SSA],
                "Apply",
                api,
                fields_v1(_applied_form(applied), live["kind"], dots=False),
            )
        )
    else:
        live["metadata"].setdefault("annotations", {})[LAST_APPLIED] = last_applied(applied)
        if style == CSA:
            # The Update manager owns every field the object had after defaulting.
            managed.append(
                entry(
                    APPLIER[CSA],
                    "Update",
                    api,
                    fields_v1(_without_meta_ids(live), live["kind"], dots=True),
                )
            )
    _allocate_and_status(live, managed)
    if managed:
        live["metadata"]["managedFields"] = managed
    return live


# Kinds whose registry strategy sets metadata.generation.
GENERATION_KINDS = {"Deployment", "StatefulSet", "CronJob", "Job", "Widget", "NetworkPolicy"}
GENERATION_KINDS |= {"HorizontalPodAutoscaler"}


def _applied_form(manifest: Obj) -> Obj:
    o = copy.deepcopy(manifest)
    if o["kind"] == "Secret" and "stringData" in o:
        o["data"] = {**o.get("data", {}), **o.pop("stringData")}  # the applier sends data
    return o


def _without_meta_ids(live: Obj) -> Obj:
    o = copy.deepcopy(live)
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation"):
        o["metadata"].pop(k, None)
    # creationTimestamp: null inside templates is the zero value, not a field anyone set
    _drop_nulls(o)
    return o


def _drop_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in [k for k, v in value.items() if v is None]:
            del value[k]
        for v in value.values():
            _drop_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _drop_nulls(v)


def _allocate_and_status(live: Obj, managed: list[Obj]) -> None:
    kind: str = live["kind"]
    spec: Obj = live.get("spec") or {}
    api: str = live["apiVersion"]
    kcm = "kube-controller-manager"
    if kind == "Service":  # the REST allocator, not defaulting: owned by no manager
        if spec.get("clusterIP") != "None":
            n = int(live["metadata"]["uid"][-6:])
            spec["clusterIP"] = f"10.96.{n // 250 % 250}.{n % 250 + 2}"
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec["type"] in ("NodePort", "LoadBalancer"):
            for k, p in enumerate(spec["ports"]):
                p.setdefault("nodePort", 30000 + (int(live["metadata"]["uid"][-6:]) * 7 + k) % 2767)
        spec["ipFamilies"] = ["IPv4"]
        spec["ipFamilyPolicy"] = "SingleStack"
        live["status"] = {"loadBalancer": {}}
    elif kind == "Deployment":
        r = spec["replicas"]
        live["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
        live["status"] = {
            "observedGeneration": 1,
            "replicas": r,
            "updatedReplicas": r,
            "readyReplicas": r,
            "availableReplicas": r,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                    "lastUpdateTime": TIME,
                    "lastTransitionTime": TIME,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": "ReplicaSet has successfully progressed.",
                    "lastUpdateTime": TIME,
                    "lastTransitionTime": TIME,
                },
            ],
        }
        conds = {
            'k:{"type":"Available"}': _cond_fields(),
            'k:{"type":"Progressing"}': _cond_fields(),
        }
        managed.append(
            entry(
                kcm,
                "Update",
                api,
                {
                    "f:metadata": {
                        "f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}
                    },
                    "f:status": {
                        "f:availableReplicas": {},
                        "f:conditions": {".": {}, **conds},
                        "f:observedGeneration": {},
                        "f:readyReplicas": {},
                        "f:replicas": {},
                        "f:updatedReplicas": {},
                    },
                },
                subresource="status",
                time=LATER,
            )
        )
    elif kind == "StatefulSet":
        r = spec["replicas"]
        rev = f"{live['metadata']['name']}-7c9d8f6b5"
        live["status"] = {
            "observedGeneration": 1,
            "replicas": r,
            "readyReplicas": r,
            "currentReplicas": r,
            "updatedReplicas": r,
            "availableReplicas": r,
            "currentRevision": rev,
            "updateRevision": rev,
            "collisionCount": 0,
        }
        managed.append(
            entry(
                kcm,
                "Update",
                api,
                {"f:status": {f"f:{k}": {} for k in live["status"]}},
                subresource="status",
                time=LATER,
            )
        )
    elif kind == "CronJob":
        live["status"] = {"lastScheduleTime": LATER, "lastSuccessfulTime": LATER}
        managed.append(
            entry(
                kcm,
                "Update",
                api,
                {"f:status": {"f:lastScheduleTime": {}, "f:lastSuccessfulTime": {}}},
                subresource="status",
                time=LATER,
            )
        )
    elif kind == "HorizontalPodAutoscaler":
        live["status"] = {"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": None}
        live["status"].pop("currentMetrics")
        managed.append(
            entry(
                kcm,
                "Update",
                api,
                {"f:status": {"f:currentReplicas": {}, "f:desiredReplicas": {}}},
                subresource="status",
                time=LATER,
            )
        )
    elif kind == "Widget":
        live["status"] = {"phase": "Ready", "observedGeneration": 1}
        managed.append(
            entry(
                "widget-operator",
                "Update",
                api,
                {"f:status": {".": {}, "f:phase": {}, "f:observedGeneration": {}}},
                subresource="status",
                time=LATER,
            )
        )


def _cond_fields() -> Obj:
    return {
        ".": {},
        **{
            f"f:{k}": {}
            for k in ("lastTransitionTime", "lastUpdateTime", "message", "reason", "status", "type")
        },
    }


def children(b: _Builder, live: Obj) -> None:
    """What controllers create for ``live`` (never drift, never unmanaged)."""
    kind, m = live["kind"], live["metadata"]
    ns, name = m["namespace"], m["name"]
    if kind == "Deployment":
        h = _hash(b.rng)
        tpl = copy.deepcopy(live["spec"]["template"])
        tpl_labels = {**tpl["metadata"]["labels"], "pod-template-hash": h}
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{name}-{h}",
                "namespace": ns,
                "labels": tpl_labels,
                "ownerReferences": [owner_ref(live)],
                "annotations": {"deployment.kubernetes.io/revision": "1"},
            },
            "spec": {
                "replicas": live["spec"]["replicas"],
                "selector": {
                    "matchLabels": {
                        **live["spec"]["selector"]["matchLabels"],
                        "pod-template-hash": h,
                    }
                },
                "template": {**tpl, "metadata": {**tpl["metadata"], "labels": tpl_labels}},
            },
            "status": {
                "replicas": live["spec"]["replicas"],
                "readyReplicas": live["spec"]["replicas"],
                "observedGeneration": 1,
            },
        }
        b.add_generated(rs)
        rs["metadata"]["managedFields"] = [
            entry(
                "kube-controller-manager",
                "Update",
                "apps/v1",
                {"f:metadata": {"f:labels": {}, "f:ownerReferences": {}}, "f:spec": {}},
            )
        ]
        for _ in range(min(live["spec"]["replicas"], 2)):
            _pod(b, rs, f"{rs['metadata']['name']}-{_hash(b.rng, 5)}", tpl, tpl_labels)
        _event(
            b,
            live,
            "ScalingReplicaSet",
            f"Scaled up replica set {rs['metadata']['name']} to {live['spec']['replicas']}",
        )
    elif kind == "StatefulSet":
        rev = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": f"{name}-7c9d8f6b5",
                "namespace": ns,
                "labels": {
                    **live["spec"]["selector"]["matchLabels"],
                    "controller.kubernetes.io/hash": "7c9d8f6b5",
                },
                "ownerReferences": [owner_ref(live)],
            },
            "revision": 1,
            "data": {"spec": {"template": live["spec"]["template"]}},
        }
        b.add_generated(rev)
        for n in range(live["spec"]["replicas"]):
            tpl = copy.deepcopy(live["spec"]["template"])
            labels = {
                **tpl["metadata"]["labels"],
                "apps.kubernetes.io/pod-index": str(n),
                "statefulset.kubernetes.io/pod-name": f"{name}-{n}",
            }
            _pod(b, live, f"{name}-{n}", tpl, labels)
            for vct in live["spec"]["volumeClaimTemplates"]:
                # <template>-<statefulset>-<ordinal>, no owner reference under the default
                # (Retain) retention policy; labelled with the selector's labels.
                pvc: Obj = {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": f"{vct['metadata']['name']}-{name}-{n}",
                        "namespace": ns,
                        "labels": dict(live["spec"]["selector"]["matchLabels"]),
                        "annotations": {
                            "pv.kubernetes.io/bind-completed": "yes",
                            "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                        },
                        "finalizers": ["kubernetes.io/pvc-protection"],
                    },
                    "spec": {
                        **copy.deepcopy(vct["spec"]),
                        "storageClassName": "gp3",
                        "volumeName": f"pvc-{_hash(b.rng, 8)}",
                    },
                    "status": {
                        "phase": "Bound",
                        "accessModes": ["ReadWriteOnce"],
                        "capacity": {"storage": "10Gi"},
                    },
                }
                b.add_generated(pvc)
                pvc["metadata"]["managedFields"] = [
                    entry(
                        "kube-controller-manager",
                        "Update",
                        "v1",
                        {"f:metadata": {"f:labels": {}}, "f:spec": {}},
                    )
                ]
    elif kind == "CronJob":
        job_name = f"{name}-29412345"
        tpl = copy.deepcopy(live["spec"]["jobTemplate"]["spec"]["template"])
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name,
                "namespace": ns,
                "labels": dict(tpl["metadata"].get("labels", {})),
                "ownerReferences": [owner_ref(live)],
            },
            "spec": {"template": tpl},
        }
        job = server_defaults(job)
        job["status"] = {"succeeded": 1, "startTime": LATER, "completionTime": LATER}
        b.add_generated(job)
        _pod(
            b,
            job,
            f"{job_name}-{_hash(b.rng, 5)}",
            tpl,
            dict(tpl["metadata"].get("labels", {})),
            phase="Succeeded",
        )
    elif kind == "Service":
        selector = live["spec"].get("selector")
        if not selector:
            return
        ports = [
            {
                "name": p.get("name", ""),
                "port": 8080 if p.get("targetPort") == "http" else p["port"],
                "protocol": p["protocol"],
            }
            for p in live["spec"]["ports"]
        ]
        addresses = [
            {
                "ip": f"10.244.{b.serial % 250}.{k + 10}",
                "targetRef": {"kind": "Pod", "namespace": ns, "name": f"{name}-pod-{k}"},
            }
            for k in range(2)
        ]
        ep: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": dict(live["metadata"].get("labels", {})),
            },
            "subsets": [{"addresses": addresses, "ports": ports}],
        }
        b.add_generated(ep)
        ep["metadata"]["managedFields"] = [
            entry(
                "kube-controller-manager",
                "Update",
                "v1",
                {"f:metadata": {"f:labels": {}}, "f:subsets": {}},
            )
        ]
        eps = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{name}-{_hash(b.rng, 5)}",
                "namespace": ns,
                "labels": {
                    "kubernetes.io/service-name": name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "ownerReferences": [owner_ref(live)],
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": [a["ip"]], "conditions": {"ready": True}, "targetRef": a["targetRef"]}
                for a in addresses
            ],
            "ports": ports,
        }
        b.add_generated(eps)


def _pod(b: _Builder, owner: Obj, name: str, tpl: Obj, labels: Obj, phase: str = "Running") -> None:
    spec = copy.deepcopy(tpl["spec"])
    spec["nodeName"] = f"node-{b.serial % 7}"
    spec["serviceAccountName"] = spec.get("serviceAccountName", "default")
    spec["tolerations"] = [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": spec,
        "status": {
            "phase": phase,
            "podIP": f"10.244.{b.serial % 250}.{b.serial % 200 + 20}",
            "qosClass": "Burstable",
        },
    }
    default_pod_spec(pod["spec"], pod=True)
    b.add_generated(pod)


def _event(b: _Builder, obj: Obj, reason: str, message: str) -> None:
    m = obj["metadata"]
    ev = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{m['name']}.{b.serial:016x}", "namespace": m["namespace"]},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": m["name"],
            "namespace": m["namespace"],
            "uid": m["uid"],
        },
        "reason": reason,
        "message": message,
        "type": "Normal",
        "count": 1,
        "firstTimestamp": TIME,
        "lastTimestamp": TIME,
        "source": {"component": "deployment-controller"},
        "reportingComponent": "deployment-controller",
    }
    b.add_generated(ev)


def namespace_objects(b: _Builder, ns: str) -> None:
    """What the cluster creates in every namespace."""
    nsobj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    b.add_generated(nsobj)
    b.add_generated(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "kube-root-ca.crt",
                "namespace": ns,
                "annotations": {
                    "kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
                },
            },
            "data": {
                "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
            },
        }
    )
    b.add_generated(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns},
        }
    )
    b.add_generated(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": f"{ns}-operator-leader", "namespace": ns},
            "spec": {
                "holderIdentity": f"{ns}-operator-7f9c_{_hash(b.rng, 8)}",
                "leaseDurationSeconds": 15,
                "acquireTime": TIME,
                "renewTime": LATER,
                "leaseTransitions": 2,
            },
        }
    )


# ---------------------------------------------------------------------------------------
# Injected drifts: each changes the live side (or Git) and records the expected paths.

CT = "spec.template.spec.containers"


def _hand(
    live: Obj,
    manager: str,
    fields: Obj,
    *,
    subresource: str | None = None,
    take_from: list[str] | None = None,
) -> None:
    """A write by ``manager`` owning ``fields``; with ``take_from`` (a FieldsV1 path) the
    applier's entry loses it, as field ownership moves on a real apiserver."""
    mf = live["metadata"].setdefault("managedFields", [])
    if take_from:
        for e in mf:
            if e["manager"] in APPLIER.values():
                with contextlib.suppress(KeyError):
                    take(e["fieldsV1"], take_from)
    mf.append(
        entry(manager, "Update", live["apiVersion"], fields, subresource=subresource, time=LATER)
    )


def inject(kind_of_drift: str, manifest: Obj, live: Obj, style: str) -> frozenset[str] | None:
    """Apply one hand edit to ``live``; the expected change paths, or None if it does not
    fit this object."""
    k = manifest["kind"]
    if style == LEGACY:
        return None  # any write on a 1.18+ server adds managedFields: only Git changes fit
    if kind_of_drift == "edit-image" and k in ("Deployment", "StatefulSet"):
        c = live["spec"]["template"]["spec"]["containers"][0]
        c["image"] += "-hotfix"
        key = f'k:{{"name":"{c["name"]}"}}'
        path = ["f:spec", "f:template", "f:spec", "f:containers", key, "f:image"]
        _hand(live, "kubectl-edit", _nest(path), take_from=path)
        return frozenset({f"{CT}[name={c['name']}].image"})
    if kind_of_drift == "patch-configmap" and k == "ConfigMap":
        key = sorted(live["data"])[-1]
        live["data"][key] += "-patched"
        path = ["f:data", f"f:{key}"]
        _hand(live, "kubectl-patch", _nest(path), take_from=path)
        return frozenset({f"data.{key}" if "." not in key else f'data["{key}"]'})
    if kind_of_drift == "label-added" and k in (
        "Service",
        "Deployment",
        "ConfigMap",
        "StatefulSet",
    ):
        live["metadata"]["labels"]["debug"] = "true"
        _hand(live, "kubectl-label", _nest(["f:metadata", "f:labels", "f:debug"]))
        return frozenset({"metadata.labels.debug"})
    if kind_of_drift == "cronjob-suspended" and k == "CronJob":
        live["spec"]["suspend"] = True
        path = ["f:spec", "f:suspend"]
        _hand(live, "kubectl-patch", _nest(path), take_from=path)
        return frozenset({"spec.suspend"})
    if kind_of_drift == "subject-added" and k == "RoleBinding":
        live["subjects"].append(
            {"kind": "User", "name": "mallory@example.com", "apiGroup": "rbac.authorization.k8s.io"}
        )
        path = ["f:subjects"]
        _hand(live, "kubectl-edit", _nest(path), take_from=path)
        return frozenset({"subjects"})  # an atomic list changes as a whole
    if kind_of_drift == "ingress-edited" and k == "NetworkPolicy":
        live["spec"]["ingress"][0]["ports"].append({"port": 22, "protocol": "TCP"})
        path = ["f:spec", "f:ingress"]
        _hand(live, "kubectl-edit", _nest(path), take_from=path)
        # ingress and its ports are atomic: the innermost atomic value that differs is
        # the path (positional inside an atomic list), like subjects when it grows
        return frozenset({"spec.ingress[0].ports"})
    if kind_of_drift == "cr-endpoint-edited" and k == "Widget":
        live["spec"]["endpoints"][0]["port"] = 8444
        key = 'k:{"name":"public"}'
        path = ["f:spec", "f:endpoints", key, "f:port"]
        _hand(live, "kubectl-edit", _nest(path), take_from=path)
        return frozenset({"spec.endpoints[name=public].port"})  # a map list, per the CRD
    if kind_of_drift == "scaled-by-hand" and k == "Deployment" and "replicas" in manifest["spec"]:
        live["spec"]["replicas"] = 5
        path = ["f:spec", "f:replicas"]
        _hand(live, "kubectl-scale", _nest(path), subresource="scale", take_from=path)
        return frozenset({"spec.replicas"})
    if kind_of_drift == "env-added" and k == "Deployment":
        c = live["spec"]["template"]["spec"]["containers"][0]
        c["env"].append({"name": "DEBUG", "value": "1"})
        key = f'k:{{"name":"{c["name"]}"}}'
        env: Obj = {".": {}, "f:name": {}, "f:value": {}}
        _hand(
            live,
            "kubectl-set",
            _nest(
                [
                    "f:spec",
                    "f:template",
                    "f:spec",
                    "f:containers",
                    key,
                    "f:env",
                    'k:{"name":"DEBUG"}',
                ],
                env,
            ),
        )
        return frozenset({f"{CT}[name={c['name']}].env[name=DEBUG]"})
    return None


def _nest(path: list[str], leaf: Obj | None = None) -> Obj:
    out: Obj = leaf if leaf is not None else {}
    for key in reversed(path):
        out = {key: out}
    return out


def removed_from_git(manifest: Obj) -> tuple[Obj, frozenset[str]]:
    """Git drops a label (or a ConfigMap key) the applier applied earlier: the old
    manifest (what was applied) and the expected paths."""
    old = copy.deepcopy(manifest)
    if manifest["kind"] == "ConfigMap":
        old["data"]["legacy-flag"] = "true"
        return old, frozenset({"data.legacy-flag"})
    old["metadata"]["labels"]["cost-center"] = "cc-1234"
    return old, frozenset({"metadata.labels.cost-center"})


def _next_drift(manifest: Obj, style: str, done: Counter[str]) -> str | None:
    """Of the drift kinds that fit this object, the one injected least so far (every kind
    gets its share whatever the mix of kinds)."""
    fitting = [
        k
        for k in ("deleted", "removed-from-git", *LIVE_DRIFTS)
        if k in ("deleted", "removed-from-git") or _fits(k, manifest, style)
    ]
    if not fitting:
        return None
    chosen = min(fitting, key=lambda k: done[_label(k, style)])
    done[_label(chosen, style)] += 1
    return chosen


def _label(kind_of_drift: str, style: str) -> str:
    return f"{kind_of_drift}-{style}" if kind_of_drift == "removed-from-git" else kind_of_drift


def _fits(kind_of_drift: str, manifest: Obj, style: str) -> bool:
    probe = server_defaults(_applied_form(manifest))
    probe["metadata"]["managedFields"] = []
    return inject(kind_of_drift, manifest, probe, style) is not None


LIVE_DRIFTS = (
    "edit-image",
    "patch-configmap",
    "label-added",
    "cronjob-suspended",
    "subject-added",
    "scaled-by-hand",
    "env-added",
    "ingress-edited",
    "cr-endpoint-edited",
)


def hand_made(b: _Builder, ns: str, n: int) -> None:
    """Objects created by hand in a namespace Git manages: unmanaged, each of them."""
    which = n % 4
    fields: Obj
    if which == 0:
        obj: Obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"hand-token-{n}", "namespace": ns},
            "type": "Opaque",
            "data": {"token": "aHVudGVyMg=="},
        }
        mgr, fields = "kubectl-create", {"f:data": {".": {}, "f:token": {}}, "f:type": {}}
    elif which == 1:
        obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"debug-{n}", "namespace": ns, "labels": {"run": f"debug-{n}"}},
            "spec": {
                "containers": [
                    {"name": f"debug-{n}", "image": "busybox:1.36", "args": ["sleep", "3600"]}
                ],
                "restartPolicy": "Never",
                "serviceAccountName": "default",
                "nodeName": "node-1",
            },
            "status": {"phase": "Running"},
        }
        default_pod_spec(obj["spec"], pod=True)
        mgr, fields = (
            "kubectl-run",
            {
                "f:metadata": {"f:labels": {".": {}, "f:run": {}}},
                "f:spec": {
                    "f:containers": {
                        f'k:{{"name":"debug-{n}"}}': {
                            ".": {},
                            "f:args": {},
                            "f:image": {},
                            "f:name": {},
                        }
                    },
                    "f:restartPolicy": {},
                },
            },
        )
    elif which == 2:
        obj = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"temp-admin-{n}", "namespace": ns},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
            "subjects": [
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "User",
                    "name": "contractor@example.com",
                }
            ],
        }
        mgr, fields = "kubectl-create", {"f:roleRef": {}, "f:subjects": {}}
    else:
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"scratch-{n}", "namespace": ns},
            "data": {"note": "temporary"},
        }
        mgr, fields = "kubectl-create", {"f:data": {".": {}, "f:note": {}}}
    b.meta(obj, generation=obj["kind"] == "Pod")
    obj["metadata"]["managedFields"] = [entry(mgr, "Update", obj["apiVersion"], fields, time=LATER)]
    b.live.append(obj)
    b.truth[key_of(obj)] = Truth(
        "unmanaged", drift=f"hand-made-{obj['kind'].lower()}", applier="hand"
    )


# ---------------------------------------------------------------------------------------


def build(
    n: int, workdir: Path, seed: int = 11, *, drift_rate: float = 0.06, namespaces: int = 12
) -> Corpus:
    """Write ``workdir/repo`` (a Git repo of manifests) and ``workdir/live.json`` with at
    least ``n`` live objects; return them with the truth."""
    rng = random.Random(seed)
    b = _Builder(rng)
    names = [f"team-{k:02d}" for k in range(namespaces)]
    for ns in names:
        namespace_objects(b, ns)
    b.live.append(WIDGET_CRD)
    b.truth[key_of(WIDGET_CRD)] = Truth("generated")
    i = 0
    done: Counter[str] = Counter()
    while len(b.live) < n:
        ns = names[i % namespaces]
        app = f"{['web', 'db', 'job', 'api'][i % 4]}-{i:04d}"
        style = (SSA, SSA, SSA, CSA, SSA, CSA, LEGACY, SSA, CSA, SSA)[i % 10]
        for manifest in APPS[i % 4](ns, app, i):
            path = f"{ns}/{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
            b.desired.append((path, manifest))
            applied = manifest
            truth = Truth("in_sync", applier=style)
            drift = None
            if rng.random() < drift_rate:
                drift = _next_drift(manifest, style, done)
            if drift == "deleted":  # by hand: Git has it, the cluster does not
                b.truth[key_of(manifest)] = Truth("missing", drift=drift, applier=style)
                continue
            if drift == "removed-from-git":  # applied earlier, dropped from Git since
                applied, paths = removed_from_git(manifest)
                truth = Truth("modified", paths, drift=f"{drift}-{style}", applier=style)
            live = stored(b, manifest, style, applied)
            if drift in LIVE_DRIFTS:
                injected = inject(drift, manifest, live, style)
                assert injected, (drift, manifest["kind"], style)
                truth = Truth("modified", injected, drift=drift, applier=style)
            _mutating_webhook(b, live)
            _hpa_replicas(live, manifest)
            b.live.append(live)
            b.truth[key_of(live)] = truth
            children(b, live)
        if i % 20 == 19:
            hand_made(b, ns, i // 20)
        i += 1
    _write_repo(workdir / "repo", b.desired)
    objects = workdir / "live.json"
    objects.write_text(json.dumps(b.live))
    return Corpus(workdir / "repo", objects, b.truth, len(b.live), len(b.desired))


def _mutating_webhook(b: _Builder, live: Obj) -> None:
    """A policy webhook (Kyverno) annotates some Deployments; its own manager owns it."""
    if live["kind"] != "Deployment" or b.serial % 3:
        return
    live["metadata"].setdefault("annotations", {})["policies.kyverno.io/last-applied-patches"] = (
        "add-default-labels.add-labels.kyverno.io: added /metadata/labels/team\n"
    )
    live["metadata"]["managedFields"] = [
        *live["metadata"].get("managedFields", []),
        entry(
            "kyverno",
            "Update",
            "apps/v1",
            {"f:metadata": {"f:annotations": {"f:policies.kyverno.io/last-applied-patches": {}}}},
        ),
    ]


def _hpa_replicas(live: Obj, manifest: Obj) -> None:
    """The HPA scales its Deployment through the scale subresource."""
    if live["kind"] == "Deployment" and "replicas" not in manifest["spec"]:
        live["spec"]["replicas"] = 3
        if "managedFields" in live["metadata"]:
            for e in live["metadata"]["managedFields"]:
                if e["manager"] in APPLIER.values():
                    e["fieldsV1"].get("f:spec", {}).pop("f:replicas", None)
            live["metadata"]["managedFields"].append(
                entry(
                    "kube-controller-manager",
                    "Update",
                    "apps/v1",
                    {"f:spec": {"f:replicas": {}}},
                    subresource="scale",
                    time=LATER,
                )
            )


def _write_repo(repo: Path, desired: list[tuple[str, Obj]]) -> None:
    repo.mkdir(parents=True)
    for rel, manifest in desired:
        path = repo / rel
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "corpus"], cwd=repo, check=True, env=env)
