"""``driftwatch check``: policies on Git alone, the pre-merge CI step (no cluster needed).

The result is an :class:`AuditReport` whose resources are the Git objects with
violations (drift ``not_checked``), so every exporter and the TUI can show it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from driftwatch import __version__
from driftwatch.policy.engine import expired_exceptions
from driftwatch.policy.library import policy_set
from driftwatch.policy.model import Severity
from driftwatch.providers.base import Manifest, ResourceKey
from driftwatch.providers.kubernetes.provider import policy_findings
from driftwatch.providers.kubernetes.schema import CLUSTER_SCOPED_KINDS
from driftwatch.report import AuditReport, Resource, ScanMeta, Status, Target
from driftwatch.scan import ScanOptions, locate_violations, prepare

TARGET = "git"


def run_check(options: ScanOptions) -> AuditReport:
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
                reason="drift not checked: `driftwatch check` reads Git only",
                source=manifest.source,
            )
        )
    resources += policy_findings(policies, today, resources, desired, {}, TARGET)
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
    errors = [*loaded.errors, *policies.errors, *expired_exceptions(policies.exceptions, today)]
    return AuditReport.build(scan, resources, errors)


def failing(report: AuditReport, threshold: Severity) -> int:
    """Unwaived violations at or above ``threshold``."""
    return sum(
        1
        for r in report.resources
        for v in r.violations
        if not v.waivedBy and not v.error and Severity(v.severity).at_least(threshold)
    )
