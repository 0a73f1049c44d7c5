"""Unmanaged objects: live objects in the audited scope that Git does not declare.

The scope, as Argo CD's orphaned-resources check draws it: every namespaced kind the
cluster serves and lets driftwatch list, in the namespaces Git declares (or
``unmanaged.namespaces``); cluster-scoped kinds only when Git declares objects of them.
An explicit ``unmanaged.kinds`` replaces the kinds.  Out of it is what controllers and
the cluster generate, each a named rule of ``unmanaged.rules`` (:class:`UnmanagedRules`)
that a user can switch off, then the user's own ``excludeObjects``/``excludeLabels``.

Pure: :class:`Search` tells the scan what to list and which metadata-only objects to fetch
whole; :func:`unmanaged` gives the audit the verdicts, from the same rules, so a replayed
snapshot gives the verdicts the scan gave.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driftwatch.config import Config, Unmanaged, UnmanagedRules, matches_any
from driftwatch.providers.base import Manifest, ResourceKey
from driftwatch.providers.kubernetes.live import ApiResource, ClusterState

PROVIDER = "kubernetes"

# Kinds whose every object a controller keeps, by rule name: never listed to find
# unmanaged objects (it would only cost time) and never reported.
RULE_KINDS: Mapping[str, frozenset[tuple[str, str]]] = {
    "events": frozenset({("", "Event"), ("events.k8s.io", "Event")}),
    "endpointSlices": frozenset({("discovery.k8s.io", "EndpointSlice")}),
    "leases": frozenset({("coordination.k8s.io", "Lease")}),
    "controllerRevisions": frozenset({("apps", "ControllerRevision")}),
}
RULE_GROUPS: Mapping[str, str] = {"metrics": "metrics.k8s.io"}  # every kind of the group

# What Kubernetes itself creates (kubernetes/kubernetes sources), as Kind/name globs.
AUTO_CREATED: tuple[str, ...] = (
    # kube-controller-manager, serviceaccounts-controller: "default" in every namespace
    # (pkg/controller/serviceaccount/serviceaccounts_controller.go).
    "ServiceAccount/default",
    # kube-controller-manager, root-ca-cert-publisher: in every namespace
    # (pkg/controller/certificates/rootcacertpublisher/publisher.go).
    "ConfigMap/kube-root-ca.crt",
    # kube-apiserver: the Service "kubernetes" in default (pkg/controlplane/controller/
    # kubernetesservice), the system namespaces (pkg/controlplane/controller/
    # systemnamespaces), the authentication ConfigMap of kube-system
    # (pkg/controlplane/controller/clusterauthenticationtrust).
    "Service/kubernetes",
    "Namespace/default",
    "Namespace/kube-system",
    "Namespace/kube-public",
    "Namespace/kube-node-lease",
    "ConfigMap/extension-apiserver-authentication",
    # kube-apiserver, RBAC bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy).
    "ClusterRole/system:*",
    "ClusterRoleBinding/system:*",
    "Role/system:*",
    "RoleBinding/system:*",
    # kube-apiserver: the built-in PriorityClasses (pkg/apis/scheduling SystemPriorityClasses).
    "PriorityClass/system-node-critical",
    "PriorityClass/system-cluster-critical",
)

# A StatefulSet's claim is named "<template>-<statefulset>-<ordinal>"
# (getPersistentVolumeClaimName, pkg/controller/statefulset/stateful_set_utils.go).
_ORDINAL = re.compile(r"-(?:0|[1-9][0-9]*)\Z")

STATEFULSET = ("apps", "StatefulSet")
CLAIM = ("", "PersistentVolumeClaim")
SERVICE = ("", "Service")
ENDPOINTS = ("", "Endpoints")


def kind_rule(rules: UnmanagedRules, group: str, kind: str) -> str | None:
    """The enabled rule that leaves out every object of a kind (or of its group), if any."""
    for name, kinds in RULE_KINDS.items():
        if getattr(rules, name) and (group, kind) in kinds:
            return name
    for name, excluded in RULE_GROUPS.items():
        if getattr(rules, name) and group == excluded:
            return name
    return None


def live_key(obj: Mapping[str, Any], target: str) -> ResourceKey:
    """The key of a live object, as the audit indexes it."""
    meta = obj.get("metadata", {})
    api_version = str(obj.get("apiVersion", ""))
    return ResourceKey(
        PROVIDER,
        target,
        api_version.rpartition("/")[0],
        str(obj.get("kind")),
        meta.get("namespace"),
        meta.get("name", ""),
    )


def desired_key(
    manifest: Manifest, apis: Mapping[tuple[str, str], ApiResource], config: Config, target: str
) -> ResourceKey:
    """The key of a manifest on a target: a namespaced kind's namespace defaulted, a
    cluster-scoped kind's dropped (a kind the cluster does not serve keeps Git's)."""
    api = apis.get((manifest.group, manifest.kind))
    namespace = manifest.namespace
    if api is not None:
        default = config.sources.kubernetes.defaultNamespace
        namespace = (namespace or default) if api.namespaced else None
    return ResourceKey(PROVIDER, target, manifest.group, manifest.kind, namespace, manifest.name)


def _explicit_kinds(settings: Unmanaged) -> frozenset[tuple[str, str]] | None:
    if not settings.kinds:
        return None
    return frozenset((g, k) for g, _, k in (s.rpartition("/") for s in settings.kinds))


def declared_namespaces(desired: Iterable[ResourceKey], settings: Unmanaged) -> set[str]:
    """The namespaces whose unmanaged objects count: ``unmanaged.namespaces``, else those
    Git declares (holds objects in, or declares as Namespace), minus ``excludeNamespaces``."""
    if settings.namespaces:
        found = set(settings.namespaces)
    else:
        found = set()
        for key in desired:
            if key.namespace:
                found.add(key.namespace)
            elif key.group == "" and key.kind == "Namespace":
                found.add(key.name)
    return {ns for ns in found if not matches_any(settings.excludeNamespaces, ns)}


@dataclass(frozen=True)
class _Controllers:
    """What live controller objects say about the objects they generate."""

    services: frozenset[tuple[str | None, str]]  # (namespace, name)
    claim_prefixes: frozenset[tuple[str | None, str]]  # (namespace, "<template>-<sts>")

    @classmethod
    def of(cls, live: Iterable[tuple[ResourceKey, Mapping[str, Any]]]) -> _Controllers:
        services: set[tuple[str | None, str]] = set()
        prefixes: set[tuple[str | None, str]] = set()
        for key, obj in live:
            if (key.group, key.kind) == SERVICE:
                services.add((key.namespace, key.name))
            elif (key.group, key.kind) == STATEFULSET:
                prefixes |= {(key.namespace, f"{t}-{key.name}") for t in _claim_templates(obj)}
        return cls(frozenset(services), frozenset(prefixes))


def _claim_templates(statefulset: Mapping[str, Any]) -> list[str]:
    """The names of a StatefulSet's volumeClaimTemplates (a malformed entry names none)."""
    spec = statefulset.get("spec")
    templates = spec.get("volumeClaimTemplates") if isinstance(spec, dict) else None
    names = []
    for template in templates if isinstance(templates, list) else []:
        meta = template.get("metadata") if isinstance(template, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str) and name:
            names.append(name)
    return names


def exclusion(
    key: ResourceKey, obj: Mapping[str, Any], settings: Unmanaged, controllers: _Controllers
) -> str | None:
    """The name of the rule (or setting) that leaves this live object out, if any."""
    rules = settings.rules
    meta = obj.get("metadata") or {}
    if meta.get("ownerReferences") and rules.ownerReferences and not settings.includeOwned:
        return "ownerReferences"
    if rule := kind_rule(rules, key.group, key.kind):
        return rule
    kind = (key.group, key.kind)
    in_namespace = (key.namespace, key.name)
    if rules.serviceEndpoints and kind == ENDPOINTS and in_namespace in controllers.services:
        return "serviceEndpoints"
    if rules.statefulSetClaims and kind == CLAIM and _ORDINAL.search(key.name):
        prefix = _ORDINAL.sub("", key.name)
        if (key.namespace, prefix) in controllers.claim_prefixes:
            return "statefulSetClaims"
    name = f"{key.kind}/{key.name}"
    if rules.autoCreated and matches_any(AUTO_CREATED, name):
        return "autoCreated"
    if matches_any(settings.excludeObjects, name):
        return "excludeObjects"
    if any(label in (meta.get("labels") or {}) for label in settings.excludeLabels):
        return "excludeLabels"
    return None


def unmanaged(
    desired: Iterable[ResourceKey],
    live: Mapping[ResourceKey, Mapping[str, Any]],
    settings: Unmanaged,
) -> Iterator[ResourceKey]:
    """The keys of the live objects that are unmanaged, in ``live``'s order."""
    if not settings.enabled:
        return
    desired = set(desired)
    explicit = _explicit_kinds(settings)
    git_kinds = {(k.group, k.kind) for k in desired}
    namespaces = declared_namespaces(desired, settings)
    controllers = _Controllers.of(live.items())
    for key, obj in live.items():
        if key in desired:
            continue
        kind = (key.group, key.kind)
        if explicit is not None and kind not in explicit:
            continue
        if key.namespace is None and explicit is None and kind not in git_kinds:
            continue  # cluster-scoped kinds are opt-in
        if key.namespace is not None and key.namespace not in namespaces:
            continue
        if exclusion(key, obj, settings, controllers) is None:
            yield key


def listed_whole(manifests: Iterable[Manifest], config: Config) -> set[tuple[str, str]]:
    """(group, kind) pairs to list whole: every kind in Git, and StatefulSets when their
    claims are looked for (the claim templates are in their spec, not their metadata)."""
    kinds = {(m.group, m.kind) for m in manifests}
    settings = config.unmanaged
    explicit = _explicit_kinds(settings)
    claims = settings.enabled and settings.rules.statefulSetClaims
    if claims and (explicit is None or CLAIM in explicit):
        kinds.add(STATEFULSET)
    return kinds


class Search:
    """The scan's side of unmanaged detection (a :class:`~live.UnmanagedSearch`)."""

    def __init__(self, manifests: Sequence[Manifest], config: Config) -> None:
        self.manifests = manifests
        self.config = config

    def _desired(self, resources: Sequence[ApiResource], target: str) -> set[ResourceKey]:
        apis = {(r.group, r.kind): r for r in resources}
        return {desired_key(m, apis, self.config, target) for m in self.manifests}

    def plan(self, resources: Sequence[ApiResource]) -> tuple[list[ApiResource], set[str]]:
        settings = self.config.unmanaged
        desired = self._desired(resources, "")
        explicit = _explicit_kinds(settings)
        wanted = set(explicit) if explicit is not None else set()
        if explicit is not None and ENDPOINTS in explicit and settings.rules.serviceEndpoints:
            wanted.add(SERVICE)  # to tell a Service's Endpoints: listed, never reported
        kinds = [
            r
            for r in resources
            if kind_rule(settings.rules, r.group, r.kind) is None
            and ((r.group, r.kind) in wanted if explicit is not None else r.namespaced)
        ]
        return kinds, declared_namespaces(desired, settings)

    def unmanaged(self, state: ClusterState) -> list[dict[str, Any]]:
        desired = self._desired(state.resources, state.target)
        partial = {live_key(obj, state.target): obj for obj in state.partial}
        # Of the objects listed whole only the controllers matter here: the candidates
        # are the metadata-only ones (no kind of Git's is listed metadata only).
        controllers = {
            live_key(obj, state.target): obj
            for obj in state.objects
            if obj.get("kind") in ("Service", "StatefulSet")
        }
        found = unmanaged(desired, controllers | partial, self.config.unmanaged)
        return [partial[key] for key in found if key in partial]


def search(manifests: Sequence[Manifest], config: Config) -> Search | None:
    """What a scan looks for besides Git's kinds; None when unmanaged detection is off."""
    return Search(manifests, config) if config.unmanaged.enabled else None
