"""Audit of one Kubernetes target: match Git manifests to live objects and classify.

Pure: takes manifests (from Git) and a :class:`ClusterState` (from a cluster or a
recording) and returns report resources and errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson

from driftwatch.config import Config
from driftwatch.engine.audit import Judge as EngineJudge
from driftwatch.engine.audit import ResultMemo, compare, status_of
from driftwatch.engine.diff import DiffRules, diff
from driftwatch.engine.ignore import IgnoreRules, Subject
from driftwatch.engine.paths import Path, format_path
from driftwatch.policy.engine import (
    PolicySet,
    PolicySubject,
    ViolationMemo,
    merge_scopes,
    namespace_subjects,
)
from driftwatch.policy.engine import violations as evaluate_violations
from driftwatch.policy.model import Scope
from driftwatch.providers.base import Manifest, ResourceKey
from driftwatch.providers.kubernetes import serverside
from driftwatch.providers.kubernetes.defaults import (
    apply_defaults,
    default_source,
    schema_defaults,
)
from driftwatch.providers.kubernetes.live import ClusterState
from driftwatch.providers.kubernetes.normalize import (
    SecretMasker,
    mask_secrets,
    owned_form,
    scalars_equal_in,
    secret_values,
    strip_noise,
)
from driftwatch.providers.kubernetes.schema import (
    KindSchema,
    Schema,
    SchemaData,
    bundled,
    item_key,
)
from driftwatch.providers.kubernetes.unmanaged import (
    PROVIDER,
    RULE_GROUPS,
    desired_key,
    listed_whole,
    live_key,
    unmanaged,
)
from driftwatch.providers.kubernetes.verdicts import Judge
from driftwatch.report import Change, Op, ReportError, Resource, Status


def wanted_kinds(manifests: list[Manifest], config: Config) -> set[tuple[str, str]]:
    """(group, kind) pairs to list whole; what else is listed for unmanaged detection
    (metadata only) is :func:`driftwatch.providers.kubernetes.unmanaged.search`'s."""
    return listed_whole(manifests, config)


def display(body: dict[str, Any], kind: str, masker: SecretMasker) -> dict[str, Any]:
    """An object as the report shows it: identity first, then what :func:`strip_noise`
    keeps (no status, server metadata or applier annotations), secrets masked."""
    meta = body.get("metadata") or {}
    identity = {k: meta[k] for k in ("name", "namespace") if k in meta}
    kept = strip_noise(body)
    out: dict[str, Any] = {"apiVersion": body.get("apiVersion"), "kind": body.get("kind")}
    out["metadata"] = {**identity, **kept.pop("metadata", {})}
    out.update(kept)
    return mask_secrets(out, kind, masker)


def audit_cluster(
    manifests: list[Manifest],
    state: ClusterState,
    config: Config,
    masker: SecretMasker,
    ignore: IgnoreRules,
    memo: ResultMemo | None = None,
    objects_in_sync: bool = False,
    policies: PolicySet | None = None,
    today: date | None = None,
    explain: bool = False,
    violation_memo: ViolationMemo | None = None,
) -> tuple[list[Resource], list[ReportError]]:
    """Resources and errors of one target.  In-sync resources carry their desired object
    only when ``objects_in_sync`` (the TUI wants them; a CI report stays small); with
    ``explain`` each resource lists the differences that did not count, and why."""
    target = state.target
    schema = Schema(SchemaData.from_json(state.openapi), bundled())
    openapi = orjson.dumps(state.openapi, option=orjson.OPT_SORT_KEYS)
    schema_stamp = hashlib.sha256(openapi).hexdigest()[:16]
    errors: list[ReportError] = []
    resources: list[Resource] = []
    failures = {(f.group, f.kind, f.namespace): f.reason for f in state.failures if not f.name}

    def failure_for(group: str, kind: str, namespace: str | None) -> str | None:
        return failures.get((group, kind, None)) or failures.get((group, kind, namespace))

    live_index: dict[ResourceKey, dict[str, Any]] = {}
    for obj in state.objects:
        live_index[live_key(obj, target)] = obj

    apis = {(r.group, r.kind): r for r in state.resources}
    desired_index: dict[ResourceKey, Manifest] = {}
    for manifest in manifests:
        api = apis.get((manifest.group, manifest.kind))
        key = desired_key(manifest, apis, config, target)
        namespace = key.namespace
        if key in desired_index:
            first = desired_index[key]
            errors.append(
                ReportError(
                    path=manifest.source.path,
                    line=manifest.source.line,
                    message=f"{manifest.kind} {namespace + '/' if namespace else ''}{manifest.name} is declared twice; also at {first.location()} (the first one is audited)",
                )
            )
            continue
        desired_index[key] = manifest
        base: dict[str, Any] = {
            "id": key.id,
            "provider": PROVIDER,
            "target": target,
            "apiVersion": manifest.api_version,
            "kind": manifest.kind,
            "namespace": namespace,
            "name": manifest.name,
            "source": manifest.source,
        }
        reason = None
        if api is None and (broken := failure_for(manifest.group, manifest.kind, None)):
            reason = broken  # its group's discovery failed: unknown, not unserved
        elif api is None:
            reason = f"kind {manifest.api_version}/{manifest.kind} is not served by the cluster"
            errors.append(
                ReportError(
                    path=manifest.source.path,
                    line=manifest.source.line,
                    target=target,
                    message=f"unknown kind {manifest.kind} ({manifest.api_version}): not served by target {target}",
                )
            )
        elif state.namespaces and namespace and namespace not in state.namespaces:
            reason = f"namespace {namespace} is not scanned on this target"
        else:
            reason = failure_for(manifest.group, manifest.kind, namespace)
        if reason:
            desired = display(manifest.body, manifest.kind, masker)
            resources.append(
                Resource(**base, desired=desired, status=Status.NOT_CHECKED, reason=reason)
            )
            continue
        live = live_index.get(key)
        if live is None:
            desired = display(manifest.body, manifest.kind, masker)
            resources.append(Resource(**base, desired=desired, status=Status.MISSING))
            continue

        kind = schema.kind(manifest.api_version, manifest.kind)
        suppressed: list[Change] | None = [] if explain else None
        predicted = state.predicted.get(key.id)  # server-side diff's dry-run, if any
        if predicted is not None and (
            not isinstance(predicted.get("metadata"), dict) or live_key(predicted, target) != key
        ):
            predicted = None  # a recording that names another object: not this one's

        def diffed(
            body: dict[str, Any] = manifest.body,
            obj: dict[str, Any] = live,
            key: ResourceKey = key,
            kind: KindSchema = kind,
            suppressed: list[Change] | None = suppressed,
            predicted: dict[str, Any] | None = predicted,
        ) -> list[Change]:
            return _changes(body, obj, key, kind, config, masker, ignore, suppressed, predicted)

        try:
            if memo is None or explain:
                changes = diffed()
            else:
                # A prediction's own noise (its apply time) must not defeat the memo.
                memo_desired = (
                    manifest.body
                    if predicted is None
                    else {"git": manifest.body, "ssd": strip_noise(predicted)}
                )
                memo_id = f"{key.id}@{schema_stamp}"  # the target's list types decide too
                failed, memo_key = ignore.failure_count, memo.key(memo_id, memo_desired, live)
                changes = memo.changes(memo_key, diffed)
                if ignore.failure_count != failed:  # a failed jq rule is retried next scan
                    memo.fresh.pop(memo_key, None)
            status = status_of(changes)
            finding = status is not Status.IN_SYNC
            shown_desired = (
                display(manifest.body, manifest.kind, masker)
                if finding or objects_in_sync
                else None
            )
            shown_live = display(live, manifest.kind, masker) if finding else None
        except Exception as exc:  # a live object no apiserver would store: this one only
            resources.append(
                Resource(**base, status=Status.NOT_CHECKED, reason=_unreadable_live(exc))
            )
            continue
        # Trusted values built above: skip validation on the hot path.
        resources.append(
            Resource.model_construct(
                **base,
                desired=shown_desired,
                status=status,
                changes=changes,
                live=shown_live,
                suppressed=suppressed or [],
                violations=[],  # given, so pydantic does not inspect the default factory
            )
        )

    resources += _unmanaged(live_index, desired_index, state, config, masker, schema)
    if policies is not None and policies.policies:
        resources += policy_findings(
            policies,
            today or date.today(),
            resources,
            desired_index,
            live_index,
            target,
            masker,
            violation_memo,
        )
    resources += _unchecked_scopes(state, config)
    return resources, errors + serverside.fallback_errors(state) + ignore.take_errors(target)


def policy_findings(
    policies: PolicySet,
    today: date,
    resources: list[Resource],
    desired_index: dict[ResourceKey, Manifest],
    live_index: dict[ResourceKey, dict[str, Any]],
    target: str,
    masker: SecretMasker,
    memo: ViolationMemo | None = None,
) -> list[Resource]:
    """Violations per object, and per namespace as a whole; returns the Namespace
    resources that had to be added because Git does not declare them.  Policies are
    repo code: they see Secret values masked, as the report shows them.  With ``memo``,
    subjects an earlier run evaluated alike are not evaluated again."""
    violations = memo.violations if memo is not None else evaluate_violations
    by_key: dict[ResourceKey, Resource] = {}
    subjects: list[PolicySubject] = []
    for resource in resources:
        key = ResourceKey(
            PROVIDER, target, _group(resource), resource.kind, resource.namespace, resource.name
        )
        by_key[key] = resource
        manifest, live = desired_index.get(key), live_index.get(key)
        pairs = ((Scope.DESIRED, manifest.body if manifest else None), (Scope.LIVE, live))
        for scope, body in pairs:
            if body is None:
                continue
            labels = (body.get("metadata") or {}).get("labels") or {}
            subject = PolicySubject(
                PROVIDER,
                key.kind,
                key.group,
                key.namespace,
                key.name,
                labels,
                mask_secrets(body, key.kind, masker),
                scope,
                secrets=secret_values(body, key.kind, masker),
            )
            subjects.append(subject)
            if key.kind == "Namespace" and not key.group:
                continue  # evaluated below, with the namespace's objects
            where = (
                (manifest.source.path, manifest.source.line)
                if manifest and scope is Scope.DESIRED
                else None
            )
            resource.violations += violations(policies, subject, today, where)
        resource.violations = merge_scopes(resource.violations)
    added: list[Resource] = []
    for subject in namespace_subjects(subjects):
        key = ResourceKey(PROVIDER, target, "", "Namespace", None, subject.name)
        manifest = desired_index.get(key)
        where = (
            (manifest.source.path, manifest.source.line)
            if manifest and subject.scope is Scope.DESIRED
            else None
        )
        found = violations(policies, subject, today, where)
        if not found:
            continue
        existing = by_key.get(key)
        if existing is None:
            existing = by_key[key] = Resource(
                id=key.id,
                provider=PROVIDER,
                target=target,
                apiVersion="v1",
                kind="Namespace",
                name=subject.name,
                status=Status.NOT_CHECKED,
                reason=f"namespace {subject.name} is not declared in Git; listed for its policy findings",
            )
            added.append(existing)
        existing.violations += found
    return added


def _group(resource: Resource) -> str:
    return resource.apiVersion.rpartition("/")[0]


def _changes(
    desired: dict[str, Any],
    live: dict[str, Any],
    key: ResourceKey,
    kind: KindSchema,
    config: Config,
    masker: SecretMasker,
    ignore: IgnoreRules,
    suppressed: list[Change] | None = None,
    predicted: dict[str, Any] | None = None,
) -> list[Change]:
    # Ignore rules (jq from the repo's config) and the diff see Secrets masked only.
    desired, live = mask_secrets(desired, key.kind, masker), mask_secrets(live, key.kind, masker)
    git = strip_noise(desired)
    # What the apiserver would store were Git applied: a default is never drift.
    extra = schema_defaults(kind)
    stored = strip_noise(apply_defaults(desired, key.group, key.kind, extra))

    def source(path: Path) -> str | None:
        return default_source(key.group, key.kind, path, extra)

    judge = Judge(git, live, kind, config.managers, source)
    verdict: EngineJudge = judge
    subject = Subject(key.group, key.kind, key.namespace, key.name, desired, live)
    rules = DiffRules(
        list_keys=kind.list_keys, item_key=item_key, scalars_equal=scalars_equal_in(kind)
    )
    compared = strip_noise(live)
    if predicted is not None:
        # Server-side diff: the cluster's own dry-run of Git's object is what it would
        # store (defaults, webhooks, pruning included): every difference from it counts.
        predicted = strip_noise(mask_secrets(predicted, key.kind, masker))
        stored, verdict = serverside.expected(
            predicted, stored, compared, judge, rules, config.managers.manual
        )
    changes = compare(
        stored,
        compared,
        rules=rules,
        attribute=judge.attribute,
        judge=verdict,
        ignore=ignore,
        subject=subject,
        suppressed=suppressed,
    )
    if suppressed is not None and predicted is None:
        suppressed += _defaulted(git, stored, compared, rules, judge, source)
    return changes


def _defaulted(
    git: dict[str, Any],
    stored: dict[str, Any],
    live: dict[str, Any],
    rules: DiffRules,
    judge: Judge,
    source: Callable[[Path], str | None],
) -> list[Change]:
    """For ``explain``: the live fields (``live`` normalized) that equal a server
    default Git relies on."""
    differs = {c.path for c in diff(stored, live, rules)}
    out = []
    for raw in diff(git, live, rules):
        if raw.path in differs or raw.op is Op.REMOVED:
            continue
        where = source(raw.path)
        why = f"server default ({where})" if where else "server default"
        out.append(
            Change(
                path=format_path(raw.path),
                op=raw.op,
                live=raw.live,
                manager=judge.attribute(raw),
                why=f"equals the {why}: what the apiserver stores when Git is silent",
            )
        )
    return out


def _unmanaged(
    live_index: dict[ResourceKey, dict[str, Any]],
    desired_index: dict[ResourceKey, Manifest],
    state: ClusterState,
    config: Config,
    masker: SecretMasker,
    schema: Schema,
) -> list[Resource]:
    """The unmanaged objects, whole.  One the scan listed metadata only and could not
    fetch (or a snapshot taken under other rules holds metadata only) is not_checked."""
    partial = {live_key(obj, state.target): obj for obj in state.partial}
    unread = {(f.group, f.kind, f.namespace, f.name): f.reason for f in state.failures if f.name}
    controllers = [m for expected in config.managers.expected for m in expected.managers]
    out = []
    for key in unmanaged(desired_index, partial | live_index, config.unmanaged):
        obj = live_index.get(key) or partial[key]
        identity: dict[str, Any] = {
            "id": key.id,
            "provider": PROVIDER,
            "target": key.target,
            "apiVersion": str(obj.get("apiVersion")),
            "kind": key.kind,
            "namespace": key.namespace,
            "name": key.name,
        }
        if key not in live_index:
            problem = unread.get((key.group, key.kind, key.namespace, key.name))
            why = f": {problem}" if problem else " (listed metadata only)"
            reason = f"unmanaged, but its body could not be read{why}"
            out.append(Resource(**identity, status=Status.NOT_CHECKED, reason=reason))
            continue
        try:
            # What clients wrote, without server defaults: the form `import` writes.
            kind = schema.kind(str(obj.get("apiVersion", "")), key.kind)
            live = display(owned_form(obj, controllers, kind) or obj, key.kind, masker)
        except Exception as exc:  # a live object no apiserver would store: this one only
            out.append(
                Resource(**identity, status=Status.NOT_CHECKED, reason=_unreadable_live(exc))
            )
            continue
        out.append(Resource(**identity, status=Status.UNMANAGED, live=live))
    return out


def _unreadable_live(exc: Exception) -> str:
    """The reason for a live object the audit could not read: the exception's type only,
    as its message may quote the object (a Secret's values)."""
    return f"the live object is malformed and could not be audited ({type(exc).__name__})"


def _unchecked_scopes(state: ClusterState, config: Config) -> list[Resource]:
    """A failed list of a kind means its unmanaged objects are unknown: say so once per kind.
    A group whose discovery failed (kind ``*``) counts only when a rule does not leave out
    the whole group (an unavailable metrics-server is common, and its objects never count)."""
    out = []
    rules = config.unmanaged.rules
    for failure in state.failures:
        if failure.name:
            continue  # one object: reported with it by _unmanaged
        if failure.kind == "*" and (
            config.unmanaged.kinds
            or any(getattr(rules, rule) and g == failure.group for rule, g in RULE_GROUPS.items())
        ):
            continue
        api = state.resource_for(failure.group, failure.kind)
        key = ResourceKey(
            PROVIDER, state.target, failure.group, failure.kind, failure.namespace, "*"
        )
        out.append(
            Resource(
                id=key.id,
                provider=PROVIDER,
                target=state.target,
                apiVersion=api.api_version if api else failure.group,
                kind=failure.kind,
                namespace=failure.namespace,
                name="*",
                status=Status.NOT_CHECKED,
                reason=f"unmanaged {failure.kind} objects could not be listed: {failure.reason}",
            )
        )
    return out
