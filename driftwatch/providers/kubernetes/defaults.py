"""What the apiserver stores for fields a client omits: the built-in kinds' server defaults.

Every entry was read in the upstream source (kubernetes/kubernetes, ``master`` as stored in
the code index, December 2026; the commit read is named per file below) and cites the
defaulting function it comes from: ``pkg/apis/<group>/v1/defaults.go`` (``SetDefaults_*``),
the declarative ``+default=`` markers that ``zz_generated.defaults.go`` expands, and the
registry strategies that fill fields on create.  The order of the entries is the order
upstream runs them (``SetObjectDefaults_<Kind>``: the kind's own function, then the pod
spec, its volumes, init containers, containers, ephemeral containers), parent before child.

Left out on purpose: values the cluster allocates or decides (``clusterIP``, ``nodePort``,
``ipFamilies``/``ipFamilyPolicy``, a Job's generated selector and ``controller-uid``
labels), what admission plugins add (service-account token volume, default tolerations,
priority), defaults behind alpha or off-by-default feature gates (StatefulSet
``maxUnavailable``, HPA ``selectionStrategy``, image-volume pull policy), and
``status`` of top-level objects (not desired state).

A pattern uses driftwatch's path syntax with ``[]`` for every item of a list.  A default's
``value`` is the value itself, or a function of the parent map returning the value or
``None`` (no default there), or a :class:`FromObject` when the value depends on fields
outside the parent (a Namespace's name label), or a :class:`MergeKeys` for a map whose
absent keys are filled one by one (a Pod's requests from its limits).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final

from driftwatch.engine.paths import ItemKey, Path, format_path, parse_path
from driftwatch.providers.kubernetes.schema import KindSchema

_K8S: Final = "kubernetes/kubernetes"
CORE = f"{_K8S}@023f88a pkg/apis/core/v1/defaults.go"
CORE_GENERATED = f"{_K8S}@90be131 pkg/apis/core/v1/zz_generated.defaults.go (+default marker)"
APPS = f"{_K8S}@04791b4 pkg/apis/apps/v1/defaults.go"
APPS_CONVERSION = (
    f"{_K8S} pkg/apis/apps/v1/conversion.go Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec"
)
BATCH = f"{_K8S}@master pkg/apis/batch/v1/defaults.go"
NETWORKING = f"{_K8S}@030880a pkg/apis/networking/v1/defaults.go"
RBAC = f"{_K8S}@7c30c06 pkg/apis/rbac/v1/defaults.go"
AUTOSCALING_V1 = f"{_K8S} pkg/apis/autoscaling/v1/defaults.go"
AUTOSCALING_V2 = f"{_K8S}@1adaa75 pkg/apis/autoscaling/v2/defaults.go"
NAMESPACE_STRATEGY = f"{_K8S} pkg/registry/core/namespace/strategy.go PrepareForCreate"


@dataclass(frozen=True, slots=True)
class Default:
    """One server default: ``value`` is stored at ``path`` when the object has no such key."""

    path: str
    value: Any
    source: str
    # apiVersions the entry holds for (empty: all) — HPA v1 and v2 differ in shape.
    api_versions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FromObject:
    """A conditional default that reads the whole object: ``fn(parent, obj)`` → value or None."""

    fn: Callable[[dict[str, Any], dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class MergeKeys:
    """A map whose absent keys are filled one by one: ``fn(parent)`` → the map of defaults.

    For a default that reads per key, like a Pod's ``requests`` taken from its ``limits``
    for every resource the requests do not name.
    """

    fn: Callable[[dict[str, Any]], Any]


class _Each:
    """The ``[]`` step of a pattern: every item of a list."""

    def __repr__(self) -> str:
        return "[]"


EACH: Final = _Each()
_Step = str | _Each


# A ``[]`` step, or a quoted key (which may itself hold "[]") to step over.
_EACH_OR_QUOTED = re.compile(r'\["(?:[^"\\]|\\.)*"\]|\[\]')


@lru_cache(maxsize=4096)
def _steps(pattern: str) -> tuple[_Step, ...]:
    """``a.b[].c`` → ``("a", "b", EACH, "c")``; raises ``ValueError`` for a bad pattern."""
    out: list[_Step] = []
    start = 0
    for m in _EACH_OR_QUOTED.finditer(pattern):
        if m.group() == "[]":
            out.extend(_keys(pattern, pattern[start : m.start()]))
            out.append(EACH)
            start = m.end()
    out.extend(_keys(pattern, pattern[start:]))
    if not out or isinstance(out[-1], _Each):
        raise ValueError(f"default pattern {pattern!r} must end with a field name")
    return tuple(out)


def _keys(pattern: str, part: str) -> list[str]:
    keys: list[str] = []
    for seg in parse_path(part):
        if not isinstance(seg, str):
            raise ValueError(f"default pattern {pattern!r}: only map keys and [] allowed")
        keys.append(seg)
    return keys


def path_pattern(*steps: str | None) -> str:
    """The pattern of map keys and list items (``None``): ``("spec", "parts", None, "a.b")``
    → ``spec.parts[]["a.b"]``.  For callers building :class:`Default` entries from a schema."""
    text = ""
    for step in steps:
        if step is None:
            text += "[]"
            continue
        piece = format_path((step,))
        text += piece if not text or piece.startswith("[") else f".{piece}"
    return text


# --- conditional values -------------------------------------------------------------------

_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
# The image reference grammar of github.com/distribution/reference (regexp.go, normalize.go),
# which k8s pkg/util/parsers.ParseImageName uses through ParseNormalizedNamed.
_REFERENCE = re.compile(
    rf"(?P<name>{_DOMAIN}/{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?",
    re.ASCII,
)
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_LONGEST_REFERENCE = 1024  # name ≤ 255, tag ≤ 128, digest ≤ ~140: longer never parses


def _image_tag(image: str) -> str:
    """The tag ``ParseImageName`` reports: ``latest`` when neither tag nor digest, ``""`` on error."""
    if len(image) > _LONGEST_REFERENCE or _IMAGE_ID.fullmatch(image):
        return ""  # a bare 64-hex image ID is refused by ParseNormalizedNamed
    first, slash, rest = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        domain, remainder = first, rest
    else:
        domain, remainder = "docker.io", image
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = f"library/{remainder}"
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        return ""  # "repository name must be lowercase"
    m = _REFERENCE.fullmatch(f"{domain}/{remainder}")
    if not m or len(m["name"]) > 255:
        return ""
    if m["digest"]:
        algorithm, _, hex_part = m["digest"].partition(":")
        if _DIGEST_HEX_LENGTH.get(algorithm) != len(hex_part):
            return ""  # unsupported algorithm or wrong length: a parse error upstream
    if m["tag"]:
        return str(m["tag"])
    return "" if m["digest"] else "latest"


def _image_pull_policy(container: dict[str, Any]) -> str | None:
    image = container.get("image")
    if not isinstance(image, str):
        return None  # a container without an image fails validation; nothing to say
    return "Always" if _image_tag(image) == "latest" else "IfNotPresent"


def _volume_without_source(volume: dict[str, Any]) -> dict[str, Any] | None:
    # SetDefaults_Volume: no volume source at all → emptyDir.
    return {} if volume.keys() <= {"name"} else None


def _target_port(port: dict[str, Any]) -> Any:
    return _int_or_none(port.get("port"))


def _is(field: str, *values: str) -> Callable[[dict[str, Any]], Any]:
    def check(parent: dict[str, Any]) -> bool:
        return parent.get(field) in values

    return check


def _when(condition: Callable[[dict[str, Any]], bool], value: Any) -> Callable[..., Any]:
    def default(parent: dict[str, Any]) -> Any:
        return value if condition(parent) else None  # copied by _Filler.fresh

    return default


def _externally_accessible(spec: dict[str, Any]) -> bool:
    # pkg/api/v1/service ExternallyAccessible
    kind = spec.get("type")
    ips = spec.get("externalIPs")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and isinstance(ips, list) and len(ips) > 0
    )


def _namespace_name_label(_labels: dict[str, Any], obj: dict[str, Any]) -> Any:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name else None


def _job_labels(_meta: dict[str, Any], obj: dict[str, Any]) -> Any:
    # SetDefaults_Job: a Job without labels takes its pod template's labels.
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else None  # copied by _Filler.fresh


def _network_policy_types(spec: dict[str, Any]) -> list[str]:
    egress = spec.get("egress")
    return ["Ingress", "Egress"] if isinstance(egress, list) and egress else ["Ingress"]


def _pod_replacement_policy(spec: dict[str, Any]) -> str:
    return "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"


def _backoff_limit(spec: dict[str, Any]) -> int:
    return 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6


def _subject_api_group(subject: dict[str, Any]) -> str | None:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        return ""
    return "rbac.authorization.k8s.io" if kind in ("User", "Group") else None


def _limits(resources: dict[str, Any]) -> Any:
    limits = resources.get("limits")
    return limits if isinstance(limits, dict) and limits else None


def _host_port(port: dict[str, Any], pod: dict[str, Any]) -> Any:
    # SetDefaults_Pod → defaultHostNetworkPorts: with host networking, hostPort = containerPort.
    spec = pod.get("spec")
    if not isinstance(spec, dict) or spec.get("hostNetwork") is not True:
        return None
    return _int_or_none(port.get("containerPort"))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- the table ----------------------------------------------------------------------------


def _probe(prefix: str) -> list[tuple[str, Any, str]]:
    probe = f"{CORE} SetDefaults_Probe"
    http = f"{CORE} SetDefaults_HTTPGetAction"
    return [
        (f"{prefix}.timeoutSeconds", 1, probe),
        (f"{prefix}.periodSeconds", 10, probe),
        (f"{prefix}.successThreshold", 1, probe),
        (f"{prefix}.failureThreshold", 3, probe),
        (f"{prefix}.httpGet.path", "/", http),
        (f"{prefix}.httpGet.scheme", "HTTP", http),
        (f"{prefix}.grpc.service", "", f"{CORE_GENERATED} GRPCAction.Service"),
    ]


def _container(prefix: str) -> list[tuple[str, Any, str]]:
    container = f"{CORE} SetDefaults_Container"
    http = f"{CORE} SetDefaults_HTTPGetAction"
    return [
        (f"{prefix}.imagePullPolicy", _image_pull_policy, container),
        (f"{prefix}.terminationMessagePath", "/dev/termination-log", container),
        (f"{prefix}.terminationMessagePolicy", "File", container),
        (f"{prefix}.ports[].protocol", "TCP", f"{CORE_GENERATED} ContainerPort.Protocol"),
        (
            f"{prefix}.env[].valueFrom.fieldRef.apiVersion",
            "v1",
            f"{CORE} SetDefaults_ObjectFieldSelector",
        ),
        *_probe(f"{prefix}.livenessProbe"),
        *_probe(f"{prefix}.readinessProbe"),
        *_probe(f"{prefix}.startupProbe"),
        (f"{prefix}.lifecycle.postStart.httpGet.path", "/", http),
        (f"{prefix}.lifecycle.postStart.httpGet.scheme", "HTTP", http),
        (f"{prefix}.lifecycle.preStop.httpGet.path", "/", http),
        (f"{prefix}.lifecycle.preStop.httpGet.scheme", "HTTP", http),
    ]


def _pvc_spec(prefix: str) -> list[tuple[str, Any, str]]:
    return [(f"{prefix}.volumeMode", "Filesystem", f"{CORE} SetDefaults_PersistentVolumeClaimSpec")]


_FIELD_SELECTOR = f"{CORE} SetDefaults_ObjectFieldSelector"

# PodSpec as SetObjectDefaults_PodTemplate runs it, relative to the pod spec.
POD_SPEC: Final[tuple[tuple[str, Any, str], ...]] = (
    ("dnsPolicy", "ClusterFirst", f"{CORE} SetDefaults_PodSpec"),
    ("restartPolicy", "Always", f"{CORE} SetDefaults_PodSpec"),
    ("securityContext", {}, f"{CORE} SetDefaults_PodSpec"),
    ("terminationGracePeriodSeconds", 30, f"{CORE} SetDefaults_PodSpec"),
    ("schedulerName", "default-scheduler", f"{CORE} SetDefaults_PodSpec"),
    ("volumes[].emptyDir", _volume_without_source, f"{CORE} SetDefaults_Volume"),
    ("volumes[].hostPath.type", "", f"{CORE} SetDefaults_HostPathVolumeSource"),
    ("volumes[].secret.defaultMode", 420, f"{CORE} SetDefaults_SecretVolumeSource"),
    ("volumes[].iscsi.iscsiInterface", "default", f"{CORE_GENERATED} ISCSIVolumeSource"),
    ("volumes[].rbd.pool", "rbd", f"{CORE_GENERATED} RBDVolumeSource"),
    ("volumes[].rbd.user", "admin", f"{CORE_GENERATED} RBDVolumeSource"),
    ("volumes[].rbd.keyring", "/etc/ceph/keyring", f"{CORE_GENERATED} RBDVolumeSource"),
    ("volumes[].downwardAPI.defaultMode", 420, f"{CORE} SetDefaults_DownwardAPIVolumeSource"),
    ("volumes[].downwardAPI.items[].fieldRef.apiVersion", "v1", _FIELD_SELECTOR),
    ("volumes[].configMap.defaultMode", 420, f"{CORE} SetDefaults_ConfigMapVolumeSource"),
    ("volumes[].projected.defaultMode", 420, f"{CORE} SetDefaults_ProjectedVolumeSource"),
    (
        "volumes[].projected.sources[].downwardAPI.items[].fieldRef.apiVersion",
        "v1",
        _FIELD_SELECTOR,
    ),
    (
        "volumes[].projected.sources[].serviceAccountToken.expirationSeconds",
        3600,
        f"{CORE} SetDefaults_ServiceAccountTokenProjection",
    ),
    *_pvc_spec("volumes[].ephemeral.volumeClaimTemplate.spec"),
    *_container("initContainers[]"),
    *_container("containers[]"),
    *_container("ephemeralContainers[]"),
)


def _mount(prefix: str, rows: Sequence[tuple[str, Any, str]]) -> list[tuple[str, Any, str]]:
    return [(f"{prefix}.{path}", value, source) for path, value, source in rows]


def _deployment() -> list[tuple[str, Any, str]]:
    fn = f"{APPS} SetDefaults_Deployment"
    rolling = _is("type", "RollingUpdate")
    return [
        ("spec.replicas", 1, fn),
        ("spec.strategy", {}, fn),  # a struct, always present
        ("spec.strategy.type", "RollingUpdate", fn),
        ("spec.strategy.rollingUpdate", _when(rolling, {}), fn),
        ("spec.strategy.rollingUpdate.maxUnavailable", "25%", fn),
        ("spec.strategy.rollingUpdate.maxSurge", "25%", fn),
        ("spec.revisionHistoryLimit", 10, fn),
        ("spec.progressDeadlineSeconds", 600, fn),
        *_mount("spec.template.spec", POD_SPEC),
    ]


def _daemon_set() -> list[tuple[str, Any, str]]:
    fn = f"{APPS} SetDefaults_DaemonSet"
    return [
        ("spec.updateStrategy", {}, fn),
        ("spec.updateStrategy.type", "RollingUpdate", fn),
        ("spec.updateStrategy.rollingUpdate", _when(_is("type", "RollingUpdate"), {}), fn),
        ("spec.updateStrategy.rollingUpdate.maxUnavailable", 1, fn),
        ("spec.updateStrategy.rollingUpdate.maxSurge", 0, fn),
        ("spec.revisionHistoryLimit", 10, fn),
        *_mount("spec.template.spec", POD_SPEC),
    ]


def _stateful_set() -> list[tuple[str, Any, str]]:
    fn = f"{APPS} SetDefaults_StatefulSet"
    retention = "spec.persistentVolumeClaimRetentionPolicy"
    return [
        ("spec.podManagementPolicy", "OrderedReady", fn),
        ("spec.updateStrategy", {}, fn),
        # rollingUpdate is created only when the type was unset, so it comes before the type.
        ("spec.updateStrategy.rollingUpdate", _when(lambda s: "type" not in s, {}), fn),
        ("spec.updateStrategy.type", "RollingUpdate", fn),
        ("spec.updateStrategy.rollingUpdate.partition", 0, fn),
        (retention, {}, f"{fn} (StatefulSetAutoDeletePVC, on since v1.27)"),
        (f"{retention}.whenDeleted", "Retain", f"{fn} (StatefulSetAutoDeletePVC)"),
        (f"{retention}.whenScaled", "Retain", f"{fn} (StatefulSetAutoDeletePVC)"),
        ("spec.replicas", 1, fn),
        ("spec.revisionHistoryLimit", 10, fn),
        *_mount("spec.template.spec", POD_SPEC),
        # apps/v1 zz_generated.defaults.go (@6672a99) SetObjectDefaults_StatefulSet runs the
        # PersistentVolumeClaim defaulters on every template: the atomic list gets defaults too.
        ("spec.volumeClaimTemplates[].status", {}, f"{CORE} SetDefaults_PersistentVolumeClaim"),
        (
            "spec.volumeClaimTemplates[].status.phase",
            "Pending",
            f"{CORE} SetDefaults_PersistentVolumeClaim",
        ),
        *_pvc_spec("spec.volumeClaimTemplates[].spec"),
        # Set on every read (issue 87583), so it is what a client sees, not something Git omits.
        ("spec.volumeClaimTemplates[].apiVersion", "v1", APPS_CONVERSION),
        ("spec.volumeClaimTemplates[].kind", "PersistentVolumeClaim", APPS_CONVERSION),
    ]


def _pod_failure_policy(prefix: str) -> list[tuple[str, Any, str]]:
    return [
        (
            f"{prefix}.podFailurePolicy.rules[].onPodConditions[].status",
            "True",
            f"{BATCH} SetDefaults_PodFailurePolicyOnPodConditionsPattern",
        )
    ]


def _job() -> list[tuple[str, Any, str]]:
    fn = f"{BATCH} SetDefaults_Job"

    def both_unset(spec: dict[str, Any]) -> Any:
        return 1 if "completions" not in spec and "parallelism" not in spec else None

    return [
        ("spec.completions", both_unset, fn),
        ("spec.parallelism", 1, fn),
        ("spec.backoffLimit", _backoff_limit, fn),
        ("metadata.labels", FromObject(_job_labels), fn),
        ("spec.completionMode", "NonIndexed", fn),
        ("spec.suspend", False, fn),
        (
            "spec.podReplacementPolicy",
            _pod_replacement_policy,
            f"{fn} (JobPodReplacementPolicy, on since v1.29)",
        ),
        ("spec.manualSelector", False, fn),
        *_pod_failure_policy("spec"),
        *_mount("spec.template.spec", POD_SPEC),
    ]


def _cron_job() -> list[tuple[str, Any, str]]:
    fn = f"{BATCH} SetDefaults_CronJob"
    return [
        ("spec.concurrencyPolicy", "Allow", fn),
        ("spec.suspend", False, fn),
        ("spec.successfulJobsHistoryLimit", 3, fn),
        ("spec.failedJobsHistoryLimit", 1, fn),
        # The job template gets only type-level defaults; SetDefaults_Job runs when the Job is made.
        *_pod_failure_policy("spec.jobTemplate.spec"),
        *_mount("spec.jobTemplate.spec.template.spec", POD_SPEC),
    ]


def _service() -> list[tuple[str, Any, str]]:
    fn = f"{CORE} SetDefaults_Service"
    client_ip = _is("sessionAffinity", "ClientIP")
    return [
        ("spec.sessionAffinity", "None", fn),
        ("spec.sessionAffinityConfig", _when(client_ip, {}), fn),
        ("spec.sessionAffinityConfig.clientIP", {}, fn),
        ("spec.sessionAffinityConfig.clientIP.timeoutSeconds", 10800, fn),
        ("spec.type", "ClusterIP", fn),
        ("spec.ports[].protocol", "TCP", fn),
        ("spec.ports[].targetPort", _target_port, fn),
        ("spec.externalTrafficPolicy", _when(_externally_accessible, "Cluster"), fn),
        (
            "spec.internalTrafficPolicy",
            _when(_is("type", "NodePort", "LoadBalancer", "ClusterIP"), "Cluster"),
            fn,
        ),
        ("spec.allocateLoadBalancerNodePorts", _when(_is("type", "LoadBalancer"), True), fn),
    ]


def _pod() -> list[tuple[str, Any, str]]:
    fn = f"{CORE} SetDefaults_Pod"
    return [
        # Requests default to limits, key by key; in a Pod only, never in a template.
        ("spec.containers[].resources.requests", MergeKeys(_limits), fn),
        ("spec.initContainers[].resources.requests", MergeKeys(_limits), fn),
        ("spec.enableServiceLinks", True, fn),
        ("spec.containers[].ports[].hostPort", FromObject(_host_port), fn),
        ("spec.initContainers[].ports[].hostPort", FromObject(_host_port), fn),
        *_mount("spec", POD_SPEC),
    ]


def _network_policy() -> list[tuple[str, Any, str]]:
    port = f"{NETWORKING} SetDefaults_NetworkPolicyPort"
    return [
        ("spec.policyTypes", _network_policy_types, f"{NETWORKING} SetDefaults_NetworkPolicy"),
        ("spec.ingress[].ports[].protocol", "TCP", port),
        ("spec.egress[].ports[].protocol", "TCP", port),
    ]


def _binding(kind: str) -> list[tuple[str, Any, str]]:
    return [
        ("roleRef.apiGroup", "rbac.authorization.k8s.io", f"{RBAC} SetDefaults_{kind}"),
        ("subjects[].apiGroup", _subject_api_group, f"{RBAC} SetDefaults_Subject"),
    ]


def _hpa() -> list[Default]:
    fn = f"{AUTOSCALING_V2} SetDefaults_HorizontalPodAutoscaler"
    behavior = f"{AUTOSCALING_V2} SetDefaults_HorizontalPodAutoscalerBehavior"
    cpu_80 = {
        "type": "Resource",
        # autoscaling.DefaultCPUUtilization
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
    }
    up_policies = [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ]
    down_policies = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    v2 = frozenset({"autoscaling/v2"})
    rows: list[tuple[str, Any, str]] = [
        ("spec.metrics", [cpu_80], fn),
        (
            "spec.behavior.scaleUp",
            {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": up_policies},
            behavior,
        ),
        ("spec.behavior.scaleUp.stabilizationWindowSeconds", 0, behavior),
        ("spec.behavior.scaleUp.selectPolicy", "Max", behavior),
        ("spec.behavior.scaleUp.policies", up_policies, behavior),
        ("spec.behavior.scaleDown", {"selectPolicy": "Max", "policies": down_policies}, behavior),
        ("spec.behavior.scaleDown.selectPolicy", "Max", behavior),
        ("spec.behavior.scaleDown.policies", down_policies, behavior),
    ]
    return [
        Default("spec.minReplicas", 1, f"{AUTOSCALING_V1} SetDefaults_HorizontalPodAutoscaler"),
        *(Default(path, value, source, v2) for path, value, source in rows),
    ]


def _namespace() -> list[tuple[str, Any, str]]:
    fn = f"{CORE} SetDefaults_Namespace"
    return [
        (
            "metadata.labels",
            _when(lambda m: isinstance(m.get("name"), str) and bool(m["name"]), {}),
            fn,
        ),
        ('metadata.labels["kubernetes.io/metadata.name"]', FromObject(_namespace_name_label), fn),
        ("spec", {}, NAMESPACE_STRATEGY),
        ("spec.finalizers", ["kubernetes"], NAMESPACE_STRATEGY),
    ]


def _persistent_volume() -> list[tuple[str, Any, str]]:
    fn = f"{CORE} SetDefaults_PersistentVolume"
    return [
        ("spec.persistentVolumeReclaimPolicy", "Retain", fn),
        ("spec.volumeMode", "Filesystem", fn),
        ("spec.hostPath.type", "", f"{CORE} SetDefaults_HostPathVolumeSource"),
    ]


def _rows(rows: Sequence[tuple[str, Any, str]]) -> tuple[Default, ...]:
    return tuple(Default(path, value, source) for path, value, source in rows)


_TABLE: Final[dict[tuple[str, str], tuple[Default, ...]]] = {
    ("", "Pod"): _rows(_pod()),
    ("", "PodTemplate"): _rows(_mount("template.spec", POD_SPEC)),
    ("", "ReplicationController"): _rows(_mount("spec.template.spec", POD_SPEC)),
    ("", "Service"): _rows(_service()),
    ("", "Secret"): _rows([("type", "Opaque", f"{CORE} SetDefaults_Secret")]),
    ("", "PersistentVolumeClaim"): _rows(_pvc_spec("spec")),
    ("", "PersistentVolume"): _rows(_persistent_volume()),
    ("", "Namespace"): _rows(_namespace()),
    ("apps", "Deployment"): _rows(_deployment()),
    ("apps", "ReplicaSet"): _rows(
        [
            ("spec.replicas", 1, f"{APPS} SetDefaults_ReplicaSet"),
            *_mount("spec.template.spec", POD_SPEC),
        ]
    ),
    ("apps", "DaemonSet"): _rows(_daemon_set()),
    ("apps", "StatefulSet"): _rows(_stateful_set()),
    ("batch", "Job"): _rows(_job()),
    ("batch", "CronJob"): _rows(_cron_job()),
    ("networking.k8s.io", "NetworkPolicy"): _rows(_network_policy()),
    ("networking.k8s.io", "IngressClass"): _rows(
        [("spec.parameters.scope", "Cluster", f"{NETWORKING} SetDefaults_IngressClass")]
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): _rows(_binding("RoleBinding")),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rows(_binding("ClusterRoleBinding")),
    ("autoscaling", "HorizontalPodAutoscaler"): tuple(_hpa()),
}

for _entries in _TABLE.values():  # a typo in the table fails at import, not mid-scan
    for _entry in _entries:
        _steps(_entry.path)


def defaults_for(group: str, kind: str) -> Sequence[Default]:
    """The table entries of a built-in kind (``""`` group = core), in upstream order."""
    return _TABLE.get((group, kind), ())


# --- applying -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    """The entries of a table below one node: fields filled here, then the nodes below.

    At each node the fields are filled in table order before any node below is entered,
    which keeps upstream's order where it matters: a parent map is made before its
    fields, and a condition reads the siblings filled before it (``type`` then
    ``internalTrafficPolicy``).
    """

    fields: list[tuple[str, Default]]
    keys: dict[str, _Node]
    items: _Node | None = None  # the node applied to every item when the value is a list


def _trie(entries: Sequence[Default]) -> _Node:
    root = _Node([], {})
    for default in entries:
        node = root
        *walk, last = _steps(default.path)
        for step in walk:
            if isinstance(step, _Each):
                node.items = node.items or _Node([], {})
                node = node.items
            else:
                node = node.keys.setdefault(step, _Node([], {}))
        assert isinstance(last, str)  # _steps refuses a pattern ending in []
        node.fields.append((last, default))
    return root


_NULL: Final = object()  # a plain default of ``None`` stores null; a function's None means "none"


class _Filler:
    """Fills one object copy-on-write: a node is copied once, the first time it changes."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        version = root.get("apiVersion")
        self.api_version = version if isinstance(version, str) else ""  # garbage: no version
        self.owned: set[int] = set()  # ids of the copies made here, safe to change in place

    def own(self, node: Any) -> Any:
        if id(node) in self.owned:
            return node
        out = dict(node) if isinstance(node, dict) else list(node)
        self.owned.add(id(out))
        return out

    def fresh(self, value: Any) -> Any:
        """A copy of a default's map or list, owned here (never shared between objects)."""
        if isinstance(value, dict):
            out: Any = {key: self.fresh(child) for key, child in value.items()}
        elif isinstance(value, list):
            out = [self.fresh(child) for child in value]
        else:
            return value
        self.owned.add(id(out))
        return out

    def value_for(self, default: Default, parent: dict[str, Any]) -> Any:
        if default.api_versions and self.api_version not in default.api_versions:
            return None
        value = default.value
        if isinstance(value, FromObject):
            return self.fresh(value.fn(parent, self.root))
        if isinstance(value, MergeKeys):
            return self.fresh(value.fn(parent))
        if callable(value):
            return self.fresh(value(parent))
        return _NULL if value is None else self.fresh(value)

    def fill(self, value: Any, node: _Node) -> Any:
        if isinstance(value, list):
            return self._fill_items(value, node)
        if not isinstance(value, dict):
            return value  # a shape that does not fit is left as it is
        out = value
        for key, default in node.fields:
            if isinstance(default.value, MergeKeys) and key in out:
                out = self._merge_keys(out, key, default.value)
            elif key not in out:
                filled = self.value_for(default, out)
                if filled is not None:
                    out = self.own(out)
                    out[key] = None if filled is _NULL else filled
        for key, below in node.keys.items():
            if key in out:
                child = out[key]
                new = self.fill(child, below)
                if new is not child:
                    out = self.own(out)
                    out[key] = new
        return out

    def _merge_keys(self, parent: dict[str, Any], key: str, merge: MergeKeys) -> dict[str, Any]:
        present = parent[key]
        wanted = merge.fn(parent)
        if not isinstance(present, dict) or not isinstance(wanted, dict):
            return parent
        missing = {k: v for k, v in wanted.items() if k not in present}
        if not missing:
            return parent
        out: dict[str, Any] = self.own(parent)
        child = self.own(present)
        child.update(self.fresh(missing))
        out[key] = child
        return out

    def _fill_items(self, items: list[Any], node: _Node) -> list[Any]:
        if node.items is None:
            return items
        out = items
        for index, item in enumerate(items):
            new = self.fill(item, node.items)
            if new is not item:
                out = self.own(out)
                out[index] = new
        return out


@cache
def _table_trie(group: str, kind: str) -> _Node:
    return _trie(defaults_for(group, kind))


def apply_defaults(
    obj: dict[str, Any], group: str, kind: str, extra: Sequence[Default] = ()
) -> dict[str, Any]:
    """``obj`` as the apiserver would store it: every absent field of the table filled in.

    Returns a new object (the input is never changed; unchanged subtrees are shared).  Only
    absent keys are filled, a value the object has is never replaced, and a shape that does
    not fit (a list where a map should be) is left as it is.  ``extra`` (CRD schema
    defaults, say) is applied after the table.
    """
    if not isinstance(obj, dict):
        return obj
    filler = _Filler(obj)
    out: Any = obj
    if (group, kind) in _TABLE:
        out = filler.fill(out, _table_trie(group, kind))
    if extra:
        out = filler.fill(out, _trie(extra))
    return out  # type: ignore[no-any-return]


def _matches(default: Default, path: Path) -> bool:
    steps = _steps(default.path)
    if isinstance(default.value, MergeKeys) and len(path) == len(steps) + 1:
        if not isinstance(path[-1], str):
            return False
        path = path[:-1]  # one key of the map it fills
    if len(steps) != len(path):
        return False
    for step, seg in zip(steps, path, strict=True):
        if isinstance(step, _Each):
            if isinstance(seg, bool) or not isinstance(seg, ItemKey | int):
                return False
        elif step != seg:
            return False
    return True


def default_source(group: str, kind: str, path: Path, extra: Sequence[Default] = ()) -> str | None:
    """The ``source`` of the entry that defaults exactly ``path``, else None (for ``explain``)."""
    for default in (*defaults_for(group, kind), *extra):
        if _matches(default, path):
            return default.source
    return None


def schema_defaults(kind: KindSchema) -> tuple[Default, ...]:
    """A kind's structural-schema defaults (CRDs, from ``/openapi/v3``) as table entries."""
    return tuple(
        Default(pattern, value, "the CRD's structural schema (default)")
        for pattern, value in kind.defaults
    )
