"""The resource types the test API server knows, shaped as real discovery reports them.

A :class:`ResourceType` carries what ``/api/v1`` and ``/apis/{group}/{version}`` say about
one resource (plural, singular, kind, scope, verbs, short names, categories,
subresources).  :data:`BUILTIN_RESOURCES` holds the built-in types the server starts with;
custom resources are added with :func:`from_crd` or by building a :class:`ResourceType`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
NO_COLLECTION_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
READ_VERBS: tuple[str, ...] = ("get", "list", "watch")
SUBRESOURCE_VERBS: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One API resource (a REST collection) of one group/version."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        """``apps/v1``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """``deployments.apps`` (``pods`` for the core group), as error messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def storage_version_hash(self) -> str:
        """Same algorithm as the apiserver: base64 of the first 8 bytes of sha256("g/v/Kind")."""
        digest = hashlib.sha256(f"{self.group}/{self.version}/{self.kind}".encode()).digest()
        return base64.b64encode(digest[:8]).decode()

    def matches(self, name: str) -> bool:
        """Whether ``name`` names this type (plural, singular, kind or short name, any case)."""
        lowered = name.lower()
        return lowered in (self.plural, self.singular, self.kind.lower()) or lowered in (
            s.lower() for s in self.short_names
        )

    def api_resources(self) -> list[dict[str, Any]]:
        """The ``APIResource`` entries of legacy discovery (the resource and its subresources)."""
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        main["storageVersionHash"] = self.storage_version_hash()
        out = [main]
        for sub in self.subresources:
            entry: dict[str, Any] = {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": list(SUBRESOURCE_VERBS),
            }
            if sub == "scale":
                entry = {
                    **entry,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                }
            out.append(entry)
        return out

    def discovery_v2(self) -> dict[str, Any]:
        """The ``APIResourceDiscovery`` entry of aggregated discovery (apidiscovery.k8s.io/v2)."""
        entry: dict[str, Any] = {
            "resource": self.plural,
            "responseKind": {"group": self.group, "version": self.version, "kind": self.kind},
            "scope": "Namespaced" if self.namespaced else "Cluster",
            "singularResource": self.singular,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        if self.subresources:
            subs: list[dict[str, Any]] = []
            for sub in self.subresources:
                if sub == "scale":
                    kind = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
                else:
                    kind = {"group": self.group, "version": self.version, "kind": self.kind}
                subs.append(
                    {"subresource": sub, "responseKind": kind, "verbs": list(SUBRESOURCE_VERBS)}
                )
            entry["subresources"] = subs
        return entry


def _r(
    group_version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: Iterable[str] = (),
    categories: Iterable[str] = (),
    subresources: Iterable[str] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
) -> ResourceType:
    group, _, version = group_version.rpartition("/")
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        verbs=verbs,
        short_names=tuple(short),
        categories=tuple(categories),
        subresources=tuple(subresources),
    )


_ALL = ("all",)
_STATUS = ("status",)
_SCALE = ("scale", "status")

# Order matters: discovery lists groups and resources in this order (core first, like a
# real server's group priority), and a group's first version is its preferred one.
BUILTIN_RESOURCES: tuple[ResourceType, ...] = (
    # Served for create only (no list): unmanaged detection must not try to list it.
    _r("v1", "Binding", "bindings", verbs=("create",)),
    _r("v1", "ConfigMap", "configmaps", short=("cm",)),
    _r("v1", "Endpoints", "endpoints", short=("ep",)),
    _r("v1", "Event", "events", short=("ev",)),
    _r("v1", "LimitRange", "limitranges", short=("limits",)),
    _r(
        "v1",
        "Namespace",
        "namespaces",
        namespaced=False,
        short=("ns",),
        subresources=("finalize", "status"),
        verbs=NO_COLLECTION_VERBS,
    ),
    _r("v1", "Node", "nodes", namespaced=False, short=("no",), subresources=_STATUS),
    _r(
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        short=("pvc",),
        subresources=_STATUS,
    ),
    _r(
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        namespaced=False,
        short=("pv",),
        subresources=_STATUS,
    ),
    _r("v1", "Pod", "pods", short=("po",), categories=_ALL, subresources=_STATUS),
    _r(
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        short=("rc",),
        categories=_ALL,
        subresources=_SCALE,
    ),
    _r("v1", "ResourceQuota", "resourcequotas", short=("quota",), subresources=_STATUS),
    _r("v1", "Secret", "secrets"),
    _r("v1", "ServiceAccount", "serviceaccounts", short=("sa",)),
    _r(
        "v1",
        "Service",
        "services",
        short=("svc",),
        categories=_ALL,
        subresources=_STATUS,
        verbs=NO_COLLECTION_VERBS,
    ),
    _r(
        "apiregistration.k8s.io/v1",
        "APIService",
        "apiservices",
        namespaced=False,
        categories=("api-extensions",),
        subresources=_STATUS,
    ),
    _r("apps/v1", "ControllerRevision", "controllerrevisions"),
    _r("apps/v1", "DaemonSet", "daemonsets", short=("ds",), categories=_ALL, subresources=_STATUS),
    _r(
        "apps/v1",
        "Deployment",
        "deployments",
        short=("deploy",),
        categories=_ALL,
        subresources=_SCALE,
    ),
    _r("apps/v1", "ReplicaSet", "replicasets", short=("rs",), categories=_ALL, subresources=_SCALE),
    _r(
        "apps/v1",
        "StatefulSet",
        "statefulsets",
        short=("sts",),
        categories=_ALL,
        subresources=_SCALE,
    ),
    _r("events.k8s.io/v1", "Event", "events", short=("ev",)),
    _r(
        "authentication.k8s.io/v1",
        "TokenReview",
        "tokenreviews",
        namespaced=False,
        verbs=("create",),
    ),
    _r(
        "authorization.k8s.io/v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        verbs=("create",),
    ),
    _r(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short=("hpa",),
        categories=_ALL,
        subresources=_STATUS,
    ),
    _r("batch/v1", "CronJob", "cronjobs", short=("cj",), categories=_ALL, subresources=_STATUS),
    _r("batch/v1", "Job", "jobs", categories=_ALL, subresources=_STATUS),
    _r("networking.k8s.io/v1", "IngressClass", "ingressclasses", namespaced=False),
    _r("networking.k8s.io/v1", "Ingress", "ingresses", short=("ing",), subresources=_STATUS),
    _r("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", short=("netpol",)),
    _r(
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short=("pdb",),
        subresources=_STATUS,
    ),
    _r(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    _r("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", namespaced=False),
    _r("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io/v1", "Role", "roles"),
    _r("storage.k8s.io/v1", "StorageClass", "storageclasses", namespaced=False, short=("sc",)),
    _r(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        namespaced=False,
        categories=("api-extensions",),
    ),
    _r(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        namespaced=False,
        categories=("api-extensions",),
    ),
    _r(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
        categories=("api-extensions",),
        subresources=_STATUS,
    ),
    _r("coordination.k8s.io/v1", "Lease", "leases"),
    _r("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
)


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of Kubernetes version names, highest priority first: GA before beta before
    alpha, bigger numbers first (v2, v1, v1beta2, v1beta1, v1alpha1), then other names
    alphabetically."""
    match = _VERSION_RE.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def from_crd(crd: Mapping[str, Any]) -> list[ResourceType]:
    """The resource types a ``CustomResourceDefinition`` object serves, one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group", ""))
    kind = str(names.get("kind", ""))
    plural = str(names.get("plural", ""))
    if not (group and kind and plural):
        raise ValueError("CustomResourceDefinition needs spec.group, spec.names.kind and .plural")
    singular = str(names.get("singular") or kind.lower())
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    out: list[ResourceType] = []
    # Highest-priority version first: clients take a group's first version as preferred.
    versions = sorted(spec.get("versions") or [], key=lambda v: version_priority(str(v["name"])))
    for ver in versions:
        if not ver.get("served", True):
            continue
        subs = tuple(sorted((ver.get("subresources") or {}).keys()))
        out.append(
            ResourceType(
                group=group,
                version=str(ver["name"]),
                kind=kind,
                plural=plural,
                singular=singular,
                namespaced=namespaced,
                verbs=ALL_VERBS,
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
            )
        )
    return out


def custom_resource(
    group: str,
    version: str,
    kind: str,
    plural: str | None = None,
    *,
    namespaced: bool = True,
    singular: str | None = None,
    short_names: Iterable[str] = (),
    categories: Iterable[str] = (),
    subresources: Iterable[str] = (),
) -> ResourceType:
    """Convenience constructor for a custom resource type (plural defaults to ``kind.lower()+"s"``)."""
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural or f"{kind.lower()}s",
        singular=singular or kind.lower(),
        namespaced=namespaced,
        short_names=tuple(short_names),
        categories=tuple(categories),
        subresources=tuple(subresources),
    )
