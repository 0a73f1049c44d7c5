"""``driftwatch check``: policies on Git alone, the pre-merge CI step (no cluster or AWS
account needed).

Kubernetes manifests and ``AWSResource`` specs get the same policy pass as in a scan
(the AWS specs through the AWS audit with nothing listed, so they are canonical and
masked exactly as a scan sees them).  The result is an :class:`AuditReport` whose
resources are the Git objects with violations (drift ``not_checked``), so every exporter
and the TUI can show it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from driftwatch import __version__
from driftwatch.cache import ScanCache
from driftwatch.engine.ignore import IgnoreRules
from driftwatch.gitsource import GitSource
from driftwatch.policy.engine import PolicySet, expired_exceptions
from driftwatch.policy.library import policy_set
from driftwatch.policy.model import Severity
from driftwatch.providers.base import Loaded, Manifest, ResourceKey
from driftwatch.providers.kubernetes.normalize import SecretMasker
from driftwatch.providers.kubernetes.provider import policy_findings
from driftwatch.providers.kubernetes.schema import CLUSTER_SCOPED_KINDS
from driftwatch.report import AuditReport, ReportError, Resource, ScanMeta, Status, Target
from driftwatch.scan import (
    ScanOptions,
    cache_salt,
    locate_violations,
    no_cyclic_gc,
    prepare,
    secret_masker,
    violation_memo,
)

TARGET = "git"
REASON = "drift not checked: `driftwatch check` reads Git only"


def run_check(options: ScanOptions) -> AuditReport:
    with no_cyclic_gc():  # as a scan: one file of many documents must load in linear time
        return _run_check(options)


def _run_check(options: ScanOptions) -> AuditReport:
    started_at = datetime.now(UTC)
    source, config, loaded = prepare(options)
    today = started_at.date()
    policies = policy_set(source, loaded.own_files, config.policies)
    default_ns = config.sources.kubernetes.defaultNamespace
    resources: list[Resource] = []
    desired: dict[ResourceKey, Manifest] = {}
    for manifest in loaded.manifests:
        cluster_scoped = manifest.kind in CLUSTER_SCOPED_KINDS
        namespace = None if cluster_scoped else (manifest.namespace or default_ns)
        key = ResourceKey(
            "kubernetes", TARGET, manifest.group, manifest.kind, namespace, manifest.name
        )
        if key in desired:
            continue  # the scan reports duplicates; here the first one is checked
        desired[key] = manifest
        resources.append(
            Resource(
                id=key.id,
                provider="kubernetes",
                target=TARGET,
                apiVersion=manifest.api_version,
                kind=manifest.kind,
                namespace=namespace,
                name=manifest.name,
                status=Status.NOT_CHECKED,
                reason=REASON,
                source=manifest.source,
            )
        )
    masker = secret_masker()
    cache = ScanCache() if options.use_cache and not options.worktree else None
    scope = f"{options.repo}#check#violations"
    memo = violation_memo(cache, scope, cache_salt(config, masker.fingerprint), policies)
    try:
        resources += policy_findings(policies, today, resources, desired, {}, TARGET, masker, memo)
        if cache and memo:
            cache.replace_results(scope, memo.fresh)
    finally:
        if cache:
            cache.close()
    aws_resources, aws_errors = _aws_findings(source, loaded, policies, today, options, masker)
    resources += aws_resources
    resources = [r for r in resources if r.violations]
    locate_violations(source, resources)
    scan = ScanMeta(
        repo=options.repo,
        ref=options.ref,
        commit=source.commit,
        worktree=options.worktree,
        targets=[Target(name=TARGET, provider="git")],
        startedAt=started_at,
        finishedAt=datetime.now(UTC),
        driftwatchVersion=__version__,
        phases=dict(options.phases),
    )
    errors = [
        *loaded.errors,
        *aws_errors,
        *policies.errors,
        *expired_exceptions(policies.exceptions, today),
    ]
    return AuditReport.build(scan, resources, errors)


def _aws_findings(
    source: GitSource,
    loaded: Loaded,
    policies: PolicySet,
    today: date,
    options: ScanOptions,
    masker: SecretMasker,
) -> tuple[list[Resource], list[ReportError]]:
    """The AWSResource specs with their desired-side violations, and the specs' errors."""
    if not loaded.own_files:  # no driftwatch.dev/ document at all: no spec either
        return [], []
    from driftwatch.providers.aws.audit import AccountState, audit_account
    from driftwatch.providers.aws.specs import load_specs
    from driftwatch.providers.aws.types import load_types

    types = load_types()
    cache = ScanCache() if options.use_cache and not options.worktree else None
    try:
        specs = load_specs(source, loaded.own_files, types, cache)
    finally:
        if cache:
            cache.close()
    if not specs.specs:
        return [], specs.errors
    # Nothing listed: every spec is not_checked, and its desired side goes through the
    # policies as in a scan (canonical properties, secret values masked).
    audit = audit_account(
        specs.specs,
        AccountState(target=TARGET),
        types,
        masker,
        IgnoreRules([], []),
        policies=policies,
        today=today,
    )
    for resource in audit.resources:
        resource.reason = REASON
    return audit.resources, [*specs.errors, *audit.errors]


def failing(report: AuditReport, threshold: Severity) -> int:
    """Unwaived violations at or above ``threshold``."""
    return sum(
        1
        for r in report.resources
        for v in r.violations
        if not v.waivedBy and not v.error and Severity(v.severity).at_least(threshold)
    )
