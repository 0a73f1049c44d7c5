"""``driftwatch.yaml``: sources, targets, manager classes and ignore rules.

Every section has defaults, so a repo without the file is audited sensibly.  Unknown
keys and wrong types are errors that name the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from wcmatch import _wcparse

from driftwatch.engine.jqsandbox import forbidden_use, shared_sandbox
from driftwatch.gitsource import compile_globs
from driftwatch.textsafe import printable
from driftwatch.yamldoc import YamlError, key_line, parse_documents

CONFIG_FILE = "driftwatch.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class KustomizeSource(_Strict):
    """How kustomization directories are rendered."""

    allowRemote: bool = Field(
        False,
        description="let kustomizations name remote bases and files (http(s), git, "
        "github.com/...), which kustomize fetches; off: each is an error naming its file and line",
    )


def matches_any(patterns: Iterable[str], value: str) -> bool:
    """Whether ``value`` matches one of the config's name globs (managers, objects)."""
    return any(fnmatchcase(value, p) for p in patterns)


def _glob(pattern: str) -> str:
    """A path glob compiled as the loader will, so a bad one fails at config load."""
    try:
        compile_globs([pattern])
    except (_wcparse.PatternLimitException, re.error) as exc:
        raise ValueError(f"invalid glob {pattern!r}: {exc}") from exc
    return pattern


Glob = Annotated[str, AfterValidator(_glob)]


class KubernetesSource(_Strict):
    paths: list[Glob] = Field(
        default_factory=lambda: ["**/*.yaml", "**/*.yml", "**/*.json"],
        description="globs (relative to the repo root) of manifest files and kustomization dirs",
    )
    exclude: list[Glob] = Field(default_factory=list, description="globs to leave out")
    defaultNamespace: str = "default"
    kustomize: KustomizeSource = Field(default_factory=KustomizeSource)


class Sources(_Strict):
    kubernetes: KubernetesSource = Field(default_factory=KubernetesSource)


# TargetConfig fields that only one provider uses: setting one on the other is an error.
_KUBERNETES_ONLY = ("kubeconfig", "context", "inCluster", "namespaces", "serverSideDiff")
_AWS_ONLY = (
    "profile",
    "roleArn",
    "regions",
    "types",
    "endpointUrl",
    "account",
    "readAllProperties",
)


class TargetConfig(_Strict):
    """A cluster (``provider: kubernetes``, the default) or an AWS account (``aws``)."""

    name: str
    provider: Literal["kubernetes", "aws"] = "kubernetes"
    kubeconfig: str | None = None
    context: str | None = None
    inCluster: bool = False
    namespaces: list[str] = Field(
        default_factory=list, description="list only these namespaces (default: all)"
    )
    production: bool = False
    serverSideDiff: bool = Field(
        False,
        description="compare live with the cluster's own dry-run apply of each Git object"
        " (needs patch permission; a kind without it falls back to the schema mode)",
    )
    profile: str | None = Field(None, description="aws: named profile (default: boto3's chain)")
    roleArn: str | None = Field(None, description="aws: role to assume for the scan")
    regions: list[str] = Field(
        default_factory=list,
        description="aws: regions to scan (default: --aws-region, else the regions the specs name)",
    )
    types: list[str] = Field(
        default_factory=list,
        description="aws: resource types to scan besides those in Git (default: every type)",
    )
    endpointUrl: str | None = Field(
        None, description="aws: endpoint for every service (AWS_ENDPOINT_URL is honoured too)"
    )
    account: str | None = Field(
        None,
        description="aws: account id; specs naming another account are not this target's",
    )
    readAllProperties: bool = Field(
        False,
        description="aws: read every property of every resource; by default a type's "
        "properties are read only when a spec of that type declares them or a live-side "
        "policy reads them (fewer API calls; unmanaged resources show and import those)",
    )

    @model_validator(mode="after")
    def _provider_fields(self) -> TargetConfig:
        others = _AWS_ONLY if self.provider == "kubernetes" else _KUBERNETES_ONLY
        for name in others:
            if name in self.model_fields_set:
                raise ValueError(f"{name} is not a setting of {self.provider} targets")
        return self


class UnmanagedRules(_Strict):
    """The built-in exclusions of unmanaged objects: what controllers and the cluster make
    by themselves.  Each is on by default; set one to ``false`` to see what it hides."""

    ownerReferences: bool = Field(
        True,
        description="objects with metadata.ownerReferences: a controller made them (ReplicaSets, "
        "Pods, Jobs, EndpointSlices...); includeOwned: true switches this off too",
    )
    events: bool = Field(True, description="Events (core v1 and events.k8s.io)")
    serviceEndpoints: bool = Field(
        True, description="Endpoints named like a Service of their namespace"
    )
    endpointSlices: bool = Field(True, description="EndpointSlices (discovery.k8s.io)")
    leases: bool = Field(
        True, description="Leases (coordination.k8s.io): leader election, heartbeats"
    )
    controllerRevisions: bool = Field(
        True, description="ControllerRevisions (apps): StatefulSet and DaemonSet history"
    )
    metrics: bool = Field(
        True, description="everything metrics.k8s.io serves (PodMetrics, NodeMetrics)"
    )
    statefulSetClaims: bool = Field(
        True,
        description="PersistentVolumeClaims named <template>-<statefulset>-<ordinal> after a "
        "volumeClaimTemplate of a StatefulSet live in their namespace",
    )
    autoCreated: bool = Field(
        True,
        description="what Kubernetes itself creates: ServiceAccount default and ConfigMap "
        "kube-root-ca.crt in every namespace, Service kubernetes, the system namespaces, "
        "system:* RBAC, system-* PriorityClasses",
    )


class Unmanaged(_Strict):
    """Which live objects absent from Git are reported as unmanaged."""

    enabled: bool = True
    kinds: list[str] = Field(
        default_factory=list,
        description="Kind or group/Kind; default: every namespaced kind the cluster serves "
        "and lets driftwatch list, and the cluster-scoped kinds in Git",
    )
    namespaces: list[str] = Field(
        default_factory=list, description="default: every namespace in Git"
    )
    excludeNamespaces: list[str] = Field(default_factory=lambda: ["kube-*"])
    includeOwned: bool = Field(False, description="also report objects with ownerReferences")
    rules: UnmanagedRules = Field(default_factory=UnmanagedRules)
    excludeObjects: list[str] = Field(
        default_factory=list, description="Kind/name globs to leave out (besides the rules)"
    )
    excludeLabels: list[str] = Field(
        default_factory=lambda: [
            "kubernetes.io/bootstrapping",
            "kube-aggregator.kubernetes.io/automanaged",
            "addonmanager.kubernetes.io/mode",
        ],
        description="objects carrying any of these labels were created by the cluster or an addon manager",
    )


class ExpectedManager(_Strict):
    managers: list[str]
    paths: list[str] = Field(default_factory=list, description="field paths; empty = any")
    reason: str = "written by an expected manager"


def _default_expected() -> list[ExpectedManager]:
    return [
        ExpectedManager(
            managers=["kube-controller-manager", "*horizontal-pod-autoscaler*"],
            paths=["spec.replicas"],
            reason="replicas are managed by a HorizontalPodAutoscaler",
        ),
        ExpectedManager(
            managers=["kubectl-rollout"],
            paths=['spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]'],
            reason="kubectl rollout restart: a restart, not a change of the desired state",
        ),
    ]


class Managers(_Strict):
    """Field managers (from ``metadata.managedFields``) and what their writes mean."""

    appliers: list[str] = Field(
        default_factory=lambda: [
            "argocd-controller",
            "argocd-application-controller",
            "kustomize-controller",
            "helm-controller",
            "kubectl-client-side-apply",
            "kubectl",
            # What the apiserver names the fields an object had when it was first
            # server-side applied (objects older than managedFields): the earlier applier's.
            "before-first-apply",
            "driftwatch",
        ],
        description="the GitOps applier: a field it owns that Git no longer declares is drift",
    )
    manual: list[str] = Field(
        default_factory=lambda: [
            "kubectl-edit",
            "kubectl-patch",
            "kubectl-set",
            "kubectl-label",
            "kubectl-annotate",
            "kubectl-scale",
            "kubectl-rollout",  # rollout pause/resume/restart (restartedAt is expected below)
            "helm",  # the Helm CLI (Flux's helm-controller is an applier)
            "Mozilla*",  # browser consoles (Dashboard, Lens, cloud consoles): their User-Agent
        ],
        description=(
            "hand edits: their writes are drift even where Git is silent (clients that send"
            " whole objects, like kubectl create/replace, also own server defaults, so they"
            " are not listed); `kubectl` itself counts as a hand edit when it updates"
            " (kubectl scale and other commands without a field manager of their own) and as"
            " the applier when it applies (`kubectl apply --server-side`)"
        ),
    )
    expected: list[ExpectedManager] = Field(default_factory=_default_expected)
    serverSideDiffManager: str | None = Field(
        None,
        description="server-side diff: the field manager of the dry-run apply (default: the"
        " applier owning the live object by server-side apply, else driftwatch)",
    )


class IgnoreRule(_Strict):
    """Argo CD ``ignoreDifferences`` shape, plus a name and a reason."""

    id: str | None = Field(None, description="label shown as ignoredBy")
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    jsonPointers: list[str] = Field(default_factory=list)
    jqPathExpressions: list[str] = Field(default_factory=list)
    managedFieldsManagers: list[str] = Field(default_factory=list)
    reason: str = ""

    def label(self, index: int) -> str:
        return self.id or f"ignoreDifferences[{index}]"


class PolicyConfig(_Strict):
    """Which policies run: the built-in library and every Policy document in the repo."""

    builtin: bool = Field(True, description="run the built-in library (policies/ in driftwatch)")
    disable: list[str] = Field(default_factory=list, description="policy names (globs) to skip")
    enable: list[str] = Field(
        default_factory=list, description="policies that are off by default (defaultEnabled: false)"
    )
    paths: list[Glob] = Field(
        default_factory=list,
        description="extra globs of policy files outside the Kubernetes source paths",
    )


class ReconcileConfig(_Strict):
    """Where reconciling commits go."""

    branch: str = Field(
        "driftwatch/{date}-{action}-{name}",
        description="new branch name; {date}, {action}, {name} (the first finding's name)",
    )
    importPath: str = Field(
        "{namespace}/{kind}-{name}.yaml",
        description="file an imported object is written to; {target}, {namespace} "
        "(_cluster for cluster-scoped objects, the region for AWS), {kind}, {name}",
    )


class TuiConfig(_Strict):
    """Terminal UI settings."""

    productionContexts: list[str] = Field(
        default_factory=lambda: ["*prod*"],
        description="target names or contexts (globs) that get the red production accent",
    )
    keys: dict[str, str] = Field(
        default_factory=dict,
        description="binding id → key(s), e.g. {rescan: ctrl+r}; `?` in the app lists the ids",
    )


class Config(_Strict):
    apiVersion: str = "driftwatch.dev/v1alpha1"
    kind: Literal["Config"] = "Config"
    sources: Sources = Field(default_factory=Sources)
    targets: list[TargetConfig] = Field(default_factory=list)
    unmanaged: Unmanaged = Field(default_factory=Unmanaged)
    managers: Managers = Field(default_factory=Managers)
    ignoreDifferences: list[IgnoreRule] = Field(default_factory=list)
    policies: PolicyConfig = Field(default_factory=PolicyConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    tui: TuiConfig = Field(default_factory=TuiConfig)


class ConfigError(ValueError):
    """A problem in ``driftwatch.yaml``, located by file, line and key."""

    def __init__(self, path: str, line: int | None, key: str | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")
        self.path, self.line, self.key, self.message = path, line, key, message


def load_config(text: str, path: str = CONFIG_FILE) -> Config:
    try:
        docs = parse_documents(text)
    except YamlError as exc:
        raise ConfigError(path, exc.line, None, exc.message) from exc
    if not docs:
        return Config()
    if len(docs) > 1:
        raise ConfigError(path, docs[1].line, None, "expected one YAML document")
    if not isinstance(docs[0].data, dict):
        raise ConfigError(path, docs[0].line, None, "expected a mapping at the top level")
    try:
        config = Config.model_validate(docs[0].data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if isinstance(p, str | int)]
        key = ".".join(str(p) for p in loc) or None
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "value_error":  # our own validators' words, without pydantic's prefix
            message = str(err["ctx"]["error"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(path, key_line(text, 0, loc), key, message + more) from exc
    _check_jq_expressions(config, text, path)
    return config


def _check_jq_expressions(config: Config, text: str, path: str) -> None:
    """Every ``jqPathExpressions`` entry only reads the object and compiles (compiling
    happens in the jq sandbox too: the text is the repo's)."""
    located = [
        (i, n, rule.label(i), expression)
        for i, rule in enumerate(config.ignoreDifferences)
        for n, expression in enumerate(rule.jqPathExpressions)
    ]

    def error(i: int, n: int, message: str) -> ConfigError:
        loc: list[str | int] = ["ignoreDifferences", i, "jqPathExpressions", n]
        return ConfigError(path, key_line(text, 0, loc), ".".join(map(str, loc)), message)

    for i, n, label, expression in located:
        if (problem := forbidden_use(expression)) is not None:
            raise error(i, n, f"rule {printable(label)}: {problem}")
    if not located:
        return
    for (i, n, label, _), outcome in zip(
        located, shared_sandbox().check([e for *_, e in located]), strict=True
    ):
        if outcome.error is not None:
            verb = "cannot be checked" if outcome.stopped else "does not compile"
            raise error(i, n, f"rule {printable(label)}: {verb}: {printable(outcome.error)}")
