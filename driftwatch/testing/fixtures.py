"""Apiserver-shaped objects for tests: a manifest as a real cluster returns it after apply.

:func:`served` fills what the apiserver adds on create (namespace, uid, resourceVersion,
generation, creationTimestamp, ``managedFields``, the ``last-applied-configuration``
annotation of client-side ``kubectl apply``), the built-in defaults of the common kinds,
and a plausible ``status`` with the controllers' ``managedFields`` entries.
:func:`record_write` then simulates later writers (``kubectl edit``, ``kubectl patch``,
controllers, server-side apply) and their effect on field ownership.

Everything is deterministic: uids are uuid5 of the object's identity, Service cluster IPs
and pod IPs are hashes of the name.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from driftwatch.engine.paths import Path
from driftwatch.providers.kubernetes.schema import (
    KindSchema,
    encode_fields,
    item_key,
    item_segment,
    kind_of,
)
from driftwatch.testing.catalog import BUILTIN_RESOURCES, ResourceType

__all__ = [
    "DEFAULT_TIME",
    "LAST_APPLIED",
    "apply_defaults",
    "fields_of",
    "merge_values",
    "pull_policy",
    "record_write",
    "served",
    "served_all",
    "widget_crd",
]

DEFAULT_TIME = "2026-01-01T00:00:00Z"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CONTROLLER_MANAGER = "kube-controller-manager"

# metadata the apiserver never records as owned (structured-merge-diff strips these)
_UNOWNED_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)
_METADATA_ORDER = (
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)
_GENERATION_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("", "ReplicationController"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}
_BUILTIN: dict[tuple[str, str], ResourceType] = {(r.group, r.kind): r for r in BUILTIN_RESOURCES}
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# ---------------------------------------------------------------------------------------
# small deterministic helpers


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def _short_hash(*parts: str, length: int = 10) -> str:
    """A pod-template-hash-like string (the alphabet Kubernetes uses for generated names)."""
    digest = _digest(*parts)
    return "".join(_HASH_ALPHABET[b % len(_HASH_ALPHABET)] for b in digest[:length])


def _ip(prefix: str, *parts: str) -> str:
    digest = _digest(*parts)
    return f"{prefix}.{digest[0]}.{digest[1] % 254 + 1}"


def _go_json(value: Any) -> str:
    """``json.Marshal`` output: sorted keys, compact, HTML-safe escapes, raw UTF-8."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def _group_of(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def _is_namespaced(group: str, kind: str) -> bool:
    rt = _BUILTIN.get((group, kind))
    return True if rt is None else rt.namespaced


def _has_status_subresource(group: str, kind: str) -> bool:
    rt = _BUILTIN.get((group, kind))
    return rt is None or "status" in rt.subresources


def pull_policy(image: str) -> str:
    """The default ``imagePullPolicy``: ``Always`` for ``:latest`` or untagged images."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


# ---------------------------------------------------------------------------------------
# defaults


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    _default_handler(probe)


def _default_handler(handler: Any) -> None:
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        handler["httpGet"].setdefault("path", "/")
        handler["httpGet"].setdefault("scheme", "HTTP")


def _default_container(container: dict[str, Any]) -> None:
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    container.setdefault("resources", {})
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(name))
    lifecycle = container.get("lifecycle") or {}
    for name in ("postStart", "preStop"):
        _default_handler(lifecycle.get(name))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", pull_policy(str(container.get("image", ""))))


def _default_pod_spec(spec: dict[str, Any]) -> None:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            _default_container(container)
    for volume in spec.get("volumes") or []:
        for source in ("configMap", "secret", "projected", "downwardAPI"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
        if isinstance(volume.get("hostPath"), dict):
            volume["hostPath"].setdefault("type", "")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")


def _default_template(spec: dict[str, Any]) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        _default_pod_spec(template.setdefault("spec", {}))


def _default_pod_admission(obj: dict[str, Any], uid: str) -> None:
    """What the ServiceAccount/DefaultTolerationSeconds/Priority admission plugins and the
    scheduler add to a bare Pod."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    suffix = _short_hash(uid, "kube-api-access", length=5)
    volume_name = f"kube-api-access-{suffix}"
    if spec.get("automountServiceAccountToken", True):
        for container in spec.get("containers") or []:
            container.setdefault("volumeMounts", []).append(
                {
                    "name": volume_name,
                    "readOnly": True,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                }
            )
        spec.setdefault("volumes", []).append(
            {
                "name": volume_name,
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {
                                            "apiVersion": "v1",
                                            "fieldPath": "metadata.namespace",
                                        },
                                    }
                                ]
                            }
                        },
                    ],
                    "defaultMode": 420,
                },
            }
        )
    spec.setdefault("nodeName", "node-1")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault(
        "tolerations",
        [
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
        ],
    )


def apply_defaults(obj: dict[str, Any], *, uid: str | None = None) -> dict[str, Any]:
    """Fill the apiserver's defaults for ``obj`` in place (and return it).

    Covers Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
    CronJob, Pod (incl. admission: service account token volume, tolerations, node),
    Service (deterministic cluster IP / node ports), Secret (``stringData`` folded into
    base64 ``data``), Namespace, PersistentVolumeClaim and NetworkPolicy.  Other kinds are
    left as they are.
    """
    group, kind = _group_of(obj), str(obj.get("kind", ""))
    meta = obj.setdefault("metadata", {})
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace", ""))
    uid = uid or str(meta.get("uid") or _uid(obj))
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = None
    if (group, kind) == ("apps", "Deployment") and spec is not None:
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _default_template(spec)
    elif (group, kind) == ("apps", "StatefulSet") and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy",
            {"whenDeleted": "Retain", "whenScaled": "Retain"},
        )
        for claim in spec.get("volumeClaimTemplates") or []:
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
            claim.setdefault("status", {"phase": "Pending"})
        _default_template(spec)
    elif (group, kind) == ("apps", "DaemonSet") and spec is not None:
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        meta.setdefault("annotations", {}).setdefault(
            "deprecated.daemonset.template.generation", "1"
        )
        _default_template(spec)
    elif (group, kind) in (("apps", "ReplicaSet"), ("", "ReplicationController")) and spec:
        spec.setdefault("replicas", 1)
        if kind == "ReplicationController":
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if labels:
                spec.setdefault("selector", dict(labels))
                if not meta.get("labels"):
                    meta["labels"] = dict(labels)
        _default_template(spec)
    elif (group, kind) == ("batch", "Job") and spec is not None:
        _default_job_spec(spec, uid, name)
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        if template_labels and not meta.get("labels"):
            meta["labels"] = dict(template_labels)
    elif (group, kind) == ("batch", "CronJob") and spec is not None:
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_spec = (spec.get("jobTemplate") or {}).get("spec")
        if isinstance(job_spec, dict):
            _default_template(job_spec)
    elif (group, kind) == ("", "Pod"):
        _default_pod_spec(obj.setdefault("spec", {}))
        _default_pod_admission(obj, uid)
    elif (group, kind) == ("", "Service"):
        _default_service(obj.setdefault("spec", {}), namespace, name)
    elif (group, kind) == ("", "Secret"):
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        obj.setdefault("type", "Opaque")
    elif (group, kind) == ("", "Namespace"):
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif (group, kind) == ("", "PersistentVolumeClaim") and spec is not None:
        spec.setdefault("volumeMode", "Filesystem")
    elif (
        (group, kind) == ("networking.k8s.io", "NetworkPolicy")
        and spec is not None
        and "policyTypes" not in spec
    ):
        spec["policyTypes"] = ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]
    return obj


def _default_job_spec(spec: dict[str, Any], uid: str, name: str) -> None:
    if "completions" not in spec and "parallelism" not in spec:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault(
        "podReplacementPolicy", "Failed" if "podFailurePolicy" in spec else "TerminatingOrFailed"
    )
    if not spec.get("manualSelector"):
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        template = spec.setdefault("template", {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.setdefault("batch.kubernetes.io/controller-uid", uid)
        labels.setdefault("batch.kubernetes.io/job-name", name)
        labels.setdefault("controller-uid", uid)
        labels.setdefault("job-name", name)
    _default_template(spec)


def _default_service(spec: dict[str, Any], namespace: str, name: str) -> None:
    svc_type = spec.setdefault("type", "ClusterIP")
    if svc_type != "ExternalName":
        spec.setdefault("clusterIP", _ip("10.96", namespace, name))
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("sessionAffinity", "None")
    for index, port in enumerate(spec.get("ports") or []):
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
        if svc_type in ("NodePort", "LoadBalancer"):
            digest = _digest(namespace, name, str(index))
            port.setdefault("nodePort", 30000 + int.from_bytes(digest[:4], "big") % 2768)
    if svc_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


# ---------------------------------------------------------------------------------------
# status


def _condition(
    type_: str, reason: str, message: str, time: str, *, update: bool = False
) -> dict[str, Any]:
    cond: dict[str, Any] = {"type": type_, "status": "True"}
    if update:
        cond["lastUpdateTime"] = time
    else:
        cond["lastProbeTime"] = None
    cond["lastTransitionTime"] = time
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _nonzero(**fields: Any) -> dict[str, Any]:
    """Go's ``omitempty`` for integer status fields."""
    return {k: v for k, v in fields.items() if v not in (0, None)}


def _workload_status(obj: dict[str, Any], time: str) -> tuple[dict[str, Any], str] | None:
    """A plausible ``status`` for ``obj`` and the manager that writes it, or ``None``."""
    group, kind = _group_of(obj), str(obj.get("kind", ""))
    spec = obj.get("spec") or {}
    name = str(obj.get("metadata", {}).get("name", ""))
    replicas = int(spec.get("replicas", 1) or 0)
    template_hash = _short_hash(_go_json(spec.get("template") or {}))
    if (group, kind) == ("apps", "Deployment"):
        status: dict[str, Any] = {"observedGeneration": 1}
        status |= _nonzero(
            replicas=replicas,
            updatedReplicas=replicas,
            readyReplicas=replicas,
            availableReplicas=replicas,
        )
        status["conditions"] = [
            _condition(
                "Available",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                time,
                update=True,
            ),
            _condition(
                "Progressing",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{name}-{template_hash}" has successfully progressed.',
                time,
                update=True,
            ),
        ]
        for cond in status["conditions"]:
            cond.pop("lastProbeTime", None)
        return status, CONTROLLER_MANAGER
    if (group, kind) == ("apps", "StatefulSet"):
        revision = f"{name}-{template_hash}"
        status = {"observedGeneration": 1}
        status |= _nonzero(replicas=replicas, readyReplicas=replicas, currentReplicas=replicas)
        status |= _nonzero(updatedReplicas=replicas)
        status |= {"currentRevision": revision, "updateRevision": revision, "collisionCount": 0}
        status |= _nonzero(availableReplicas=replicas)
        return status, CONTROLLER_MANAGER
    if (group, kind) == ("apps", "DaemonSet"):
        nodes = 3
        status = {
            "currentNumberScheduled": nodes,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": nodes,
            "numberReady": nodes,
            "observedGeneration": 1,
            "updatedNumberScheduled": nodes,
            "numberAvailable": nodes,
        }
        return status, CONTROLLER_MANAGER
    if (group, kind) in (("apps", "ReplicaSet"), ("", "ReplicationController")):
        status = _nonzero(
            replicas=replicas,
            fullyLabeledReplicas=replicas,
            readyReplicas=replicas,
            availableReplicas=replicas,
        )
        status["replicas"] = replicas
        status["observedGeneration"] = 1
        return status, CONTROLLER_MANAGER
    if (group, kind) == ("batch", "Job"):
        status = {
            "conditions": [
                _condition(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    time,
                ),
                _condition(
                    "Complete",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    time,
                ),
            ],
            "startTime": time,
            "completionTime": time,
            "succeeded": int(spec.get("completions", 1) or 1),
            "terminating": 0,
            "uncountedTerminatedPods": {},
            "ready": 0,
        }
        return status, CONTROLLER_MANAGER
    if (group, kind) == ("", "Pod"):
        return _pod_status(obj, time), "kubelet"
    return None


def _pod_status(obj: dict[str, Any], time: str) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    meta = obj.get("metadata") or {}
    pod_ip = _ip("10.244", str(meta.get("namespace", "")), str(meta.get("name", "")))
    host_ip = "10.0.0.10"
    statuses = []
    has_resources = False
    for container in spec.get("containers") or []:
        image = str(container.get("image", ""))
        if container.get("resources"):
            has_resources = True
        ref = image if "/" in image.split(":")[0] else f"docker.io/library/{image}"
        statuses.append(
            {
                "name": container.get("name"),
                "state": {"running": {"startedAt": time}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest",
                "imageID": f"{ref.split(':')[0]}@sha256:{_digest(image).hex()}",
                "containerID": f"containerd://{_digest(str(meta.get('uid')), image).hex()}",
                "started": True,
            }
        )
    conditions = [
        _condition(t, "", "", time)
        for t in (
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        )
    ]
    return {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": time,
        "containerStatuses": statuses,
        "qosClass": "Burstable" if has_resources else "BestEffort",
    }


def _plain_status(obj: dict[str, Any]) -> dict[str, Any] | None:
    group, kind = _group_of(obj), str(obj.get("kind", ""))
    if (group, kind) == ("", "Namespace"):
        return {"phase": "Active"}
    if (group, kind) == ("", "Service"):
        return {"loadBalancer": {}}
    if (group, kind) == ("", "PersistentVolumeClaim"):
        return {"phase": "Pending"}
    if (group, kind) == ("batch", "CronJob"):
        return {}
    return None


# ---------------------------------------------------------------------------------------
# managedFields


def _uid(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ident = "/".join(
        str(x)
        for x in (
            obj.get("apiVersion"),
            obj.get("kind"),
            meta.get("namespace", ""),
            meta.get("name"),
        )
    )
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"driftwatch:{ident}"))


def fields_of(
    partial: Mapping[str, Any], *, keep_status: bool = True, kind: KindSchema | None = None
) -> dict[str, Any]:
    """The FieldsV1 tree a write of ``partial`` records: :func:`encode_fields` without
    ``apiVersion``/``kind`` and the metadata the apiserver never tracks (name, namespace,
    uid, resourceVersion, ...); ``keep_status=False`` drops ``status`` too (the main
    resource of a kind with a status subresource).  List types come from ``kind``'s
    schema (default: the kind ``partial`` names)."""
    body = {k: v for k, v in partial.items() if k not in ("apiVersion", "kind")}
    if not keep_status:
        body.pop("status", None)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in _UNOWNED_METADATA}
        if meta:
            body["metadata"] = meta
        else:
            body.pop("metadata")
    return encode_fields(body, kind if kind is not None else kind_of(partial))


def _entry(
    manager: str,
    operation: str,
    api_version: str,
    time: str,
    tree: dict[str, Any],
    subresource: str = "",
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": tree,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for token, child in tree.items():
        path = (*prefix, token)
        if isinstance(child, dict) and child:
            out |= _leaves(child, path)
        else:
            out.add(path)
    return out


def _tree(leaves: Iterable[tuple[str, ...]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(leaves):
        node = root
        for token in path:
            node = node.setdefault(token, {})
    return root


def _without(tree: Mapping[str, Any], taken: set[tuple[str, ...]]) -> dict[str, Any]:
    """``tree`` minus the fields in ``taken`` (a taken non-``.`` leaf takes its subtree)."""
    kept = set()
    for leaf in _leaves(tree):
        if leaf in taken:
            continue
        if any(leaf[:i] in taken for i in range(1, len(leaf))):
            continue
        kept.add(leaf)
    return _tree(kept)


def _is_fields_v1(fields: Mapping[str, Any]) -> bool:
    return bool(fields) and all(k == "." or k.startswith(("f:", "k:", "v:", "i:")) for k in fields)


def merge_values(
    target: dict[str, Any],
    patch: Mapping[str, Any],
    kind: KindSchema | None = None,
    path: Path = (),
) -> dict[str, Any]:
    """Strategic-merge-style ``patch`` into ``target`` in place: maps merge, ``None``
    deletes, map lists (by the kind's schema) merge item by item, other lists are
    replaced."""
    kind = kind if kind is not None else kind_of(target)
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_values(target[key], value, kind, (*path, key))
        elif isinstance(value, list) and isinstance(target.get(key), list):
            keys = kind.list_keys((*path, key), value)
            if keys is None or not all(isinstance(i, dict) for i in value):
                target[key] = copy.deepcopy(value)
                continue
            current: list[Any] = target[key]
            for index, item in enumerate(value):
                wanted = item_key(item, keys)
                for existing in current:
                    if isinstance(existing, dict) and item_key(existing, keys) == wanted:
                        merge_values(
                            existing, item, kind, (*path, key, item_segment(item, keys, index))
                        )
                        break
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)
    return target


# ---------------------------------------------------------------------------------------
# public entry points


def served(
    manifest: Mapping[str, Any],
    *,
    manager: str = "kubectl-client-side-apply",
    operation: str = "Update",
    time: str = DEFAULT_TIME,
    namespace_default: str = "default",
    uid: str | None = None,
    resource_version: str | None = None,
    last_applied: bool | None = None,
    defaults: bool = True,
    defaults_owned: bool = False,
    status: bool = True,
    namespaced: bool | None = None,
) -> dict[str, Any]:
    """``manifest`` as the apiserver returns it after ``kubectl apply`` (a deep copy).

    - ``metadata.namespace`` filled (``namespace_default``) for namespaced kinds; ``uid``
      deterministic (uuid5 of apiVersion/kind/namespace/name) unless given;
      ``resourceVersion``, ``creationTimestamp`` = ``time``, ``generation: 1`` for kinds
      that track it.
    - ``last_applied`` (default: when ``manager`` is ``kubectl-client-side-apply``) adds
      the ``kubectl.kubernetes.io/last-applied-configuration`` annotation kubectl writes.
    - ``managedFields``: one entry for ``manager``/``operation`` whose ``fieldsV1`` is
      :func:`fields_of` the manifest as sent (incl. that annotation).  A real
      client-side apply (an ``Update``) also owns the defaulted fields; pass
      ``defaults_owned=True`` for that.  Server-side apply (``operation="Apply"``) owns
      exactly the manifest's fields.
    - ``defaults``: server defaults (:func:`apply_defaults`).
    - ``status``: a plausible status for workloads and Pods, written by
      ``kube-controller-manager`` (or ``kubelet``) with their own ``managedFields``
      entries (``subresource: status``), plus the Deployment revision annotation.
    """
    obj: dict[str, Any] = copy.deepcopy(dict(manifest))
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise ValueError("manifest needs apiVersion and kind")
    group = _group_of(obj)
    meta = obj.setdefault("metadata", {})
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("manifest needs metadata.name")
    if namespaced is None:
        namespaced = _is_namespaced(group, kind)
    if namespaced:
        meta.setdefault("namespace", namespace_default)
    else:
        meta.pop("namespace", None)
    for key in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
        meta.pop(key, None)
    if _has_status_subresource(group, kind):
        obj.pop("status", None)

    if last_applied is None:
        last_applied = manager == "kubectl-client-side-apply"
    if last_applied:
        applied = copy.deepcopy(obj)
        annotations = applied.get("metadata", {}).get("annotations") or {}
        annotations.pop(LAST_APPLIED, None)
        meta.setdefault("annotations", {})[LAST_APPLIED] = _go_json(applied) + "\n"

    uid = uid or _uid(obj)
    owned_source = copy.deepcopy(obj)
    if (group, kind) == ("", "Secret"):
        # stringData reaches the field manager already folded into data
        string_data = owned_source.pop("stringData", None)
        if isinstance(string_data, dict):
            owned_source.setdefault("data", {}).update(dict.fromkeys(string_data, ""))
    if defaults:
        apply_defaults(obj, uid=uid)
    if defaults_owned:
        owned_source = copy.deepcopy(obj)
    tree = fields_of(owned_source, keep_status=False)

    entries = [_entry(manager, operation, api_version, time, tree)]
    if status:
        produced = _workload_status(obj, time)
        if produced is not None:
            status_doc, writer = produced
            obj["status"] = status_doc
            if (group, kind) == ("apps", "Deployment"):
                meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
                entries.append(
                    _entry(
                        writer,
                        "Update",
                        api_version,
                        time,
                        {
                            "f:metadata": {
                                "f:annotations": {"f:deployment.kubernetes.io/revision": {}}
                            }
                        },
                    )
                )
            entries.append(
                _entry(
                    writer,
                    "Update",
                    api_version,
                    time,
                    encode_fields({"status": status_doc}, kind_of(obj)),
                    "status",
                )
            )
        else:
            plain = _plain_status(obj)
            if plain is not None:
                obj["status"] = plain

    digest = int.from_bytes(_digest(uid)[:4], "big")
    meta["uid"] = uid
    meta["resourceVersion"] = resource_version or str(1000 + digest % 9_000_000)
    if (group, kind) in _GENERATION_KINDS or (group, kind) not in _BUILTIN:
        meta["generation"] = 1
    meta["creationTimestamp"] = time
    meta["managedFields"] = entries
    ordered_meta = {k: meta[k] for k in _METADATA_ORDER if k in meta}
    ordered_meta |= {k: v for k, v in meta.items() if k not in ordered_meta}
    ordered_meta["managedFields"] = ordered_meta.pop("managedFields")
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": ordered_meta}
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            out[key] = value
    if "status" in obj:
        out["status"] = obj["status"]
    return out


def served_all(manifests: Iterable[Mapping[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    """:func:`served` of each manifest, same keyword arguments."""
    return [served(m, **kwargs) for m in manifests]


def record_write(
    obj: Mapping[str, Any],
    manager: str,
    fields: Mapping[str, Any],
    operation: str = "Update",
    subresource: str = "",
    *,
    time: str = DEFAULT_TIME,
    apply_values: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """A copy of ``obj`` after ``manager`` wrote ``fields``, with ``managedFields`` updated.

    ``fields`` is either a FieldsV1 tree (``{"f:spec": {"f:replicas": {}}}``) or a partial
    object (``{"spec": {"replicas": 5}}``), encoded with :func:`fields_of`; a partial
    object's values are also merged into the copy (:func:`merge_values`, ``None``
    deletes) unless ``apply_values=False``.

    Like the apiserver: an ``Update`` (``kubectl edit``/``patch``/``scale``, controllers)
    takes ownership — the fields leave every other entry, emptied entries disappear — and
    is merged into the manager's existing ``Update`` entry for the same subresource.  An
    ``Apply`` (server-side apply) replaces the manager's applied set and shares ownership
    with others unless ``force=True`` (``--force-conflicts``).  ``resourceVersion`` goes
    up by one; ``generation`` too when a partial object touched ``spec``.
    """
    out: dict[str, Any] = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    api_version = str(out.get("apiVersion", ""))
    if _is_fields_v1(fields):
        tree = copy.deepcopy(dict(fields))
        partial: Mapping[str, Any] | None = None
    else:
        partial = fields
        tree = fields_of(partial, kind=kind_of(out))
        if apply_values:
            merge_values(out, {k: v for k, v in partial.items() if k not in ("apiVersion", "kind")})
    taken = _leaves(tree)
    entries: list[dict[str, Any]] = list(meta.get("managedFields") or [])

    def same(entry: Mapping[str, Any]) -> bool:
        if entry.get("manager") != manager or entry.get("subresource", "") != subresource:
            return False
        return entry.get("operation") == operation

    kept: list[dict[str, Any]] = []
    target: dict[str, Any] | None = None
    for entry in entries:
        if same(entry) and target is None:
            target = entry
            kept.append(entry)
            continue
        if operation == "Update" or force:
            remaining = _without(entry.get("fieldsV1") or {}, taken)
            if not remaining:
                continue
            entry = {**entry, "fieldsV1": remaining}
        kept.append(entry)
    if target is None:
        kept.append(_entry(manager, operation, api_version, time, tree, subresource))
    else:
        index = kept.index(target)
        if operation == "Update":
            merged = _tree(_leaves(target.get("fieldsV1") or {}) | taken)
        else:
            merged = tree
        kept[index] = {**target, "time": time, "fieldsV1": merged}
    meta["managedFields"] = kept
    rv = meta.get("resourceVersion")
    if isinstance(rv, str) and rv.isdigit():
        meta["resourceVersion"] = str(int(rv) + 1)
    if partial is not None and apply_values and "spec" in partial and "generation" in meta:
        meta["generation"] = int(meta["generation"]) + 1
    return out


def widget_crd(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A ``CustomResourceDefinition`` of ``example.com/v1`` ``Widget`` (namespaced) whose
    ``spec`` has the structural-schema ``properties`` given."""
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": dict(spec)}},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }
