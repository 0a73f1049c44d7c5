"""SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab, Azure DevOps): ``scan --format sarif``.

One run; the rules are the four drift statuses and every policy rule the report names.
One result per drift finding and per violation; waived violations carry a suppression.
Values come from the report as they are (secrets are already masked there).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from driftwatch.report import AuditReport, Change, Op, Resource, Status, Violation
from driftwatch.textsafe import printable, short_value

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
REPOROOT = "REPOROOT"

# Drift statuses that are findings, in rule order, with their level and description.
DRIFT_RULES: dict[Status, tuple[str, str]] = {
    Status.MODIFIED: ("error", "The live object differs from its desired state in Git."),
    Status.MISSING: ("error", "An object declared in Git does not exist live."),
    Status.UNMANAGED: ("error", "A live object no file in Git declares."),
    Status.NOT_CHECKED: ("warning", "The object could not be compared with Git."),
}

SEVERITY_LEVELS = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def drift_audited(report: AuditReport, resource: Resource) -> bool:
    """Whether ``resource``'s status is a drift verdict: not for ``driftwatch check``
    reports, whose targets (provider ``git``) were never compared with anything live."""
    return not any(t.name == resource.target and t.provider == "git" for t in report.scan.targets)


def drift_rule_id(status: Status) -> str:
    return f"drift/{status.value}"


def policy_rule_id(violation: Violation) -> str:
    return f"policy/{violation.policy}/{violation.rule}"


def resource_label(resource: Resource) -> str:
    """``Deployment shop/web [prod]``, escaped for any output."""
    where = f"{resource.namespace}/" if resource.namespace else ""
    return printable(f"{resource.kind} {where}{resource.name} [{resource.target}]")


def change_text(change: Change) -> str:
    """``spec.replicas: 2 → 5`` (desired → live); values shortened and escaped."""
    path = printable(change.path)
    if change.op is Op.CHANGED:
        return f"{path}: {short_value(change.desired)} → {short_value(change.live)}"
    if change.op is Op.ADDED:
        return f"{path}: (not in Git) → {short_value(change.live)}"
    return f"{path}: {short_value(change.desired)} → (not live)"


def drift_message(resource: Resource) -> str:
    text = f"{resource_label(resource)} is {resource.status.value}"
    if resource.reason:
        text += f": {printable(resource.reason)}"
    changes = [c for c in resource.changes if not c.ignored]
    if changes:
        text += ": " + "; ".join(change_text(c) for c in changes)
    return text


def _repository_uri(repo: str) -> str:
    if "://" in repo or (":" in repo and "@" in repo.split(":", 1)[0]):
        return repo  # a URL or scp-style clone address
    if repo.startswith("/"):
        return "file://" + quote(repo if repo.endswith("/") else repo + "/", safe="/")
    return quote(repo, safe="/")


def _location(resource: Resource, path: str | None, line: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if path:
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": REPOROOT}
        }
        if line and line > 0:
            physical["region"] = {"startLine": line}
        location["physicalLocation"] = physical
    location["logicalLocations"] = [
        {
            "name": printable(resource.name),
            "fullyQualifiedName": printable(resource.id),
            "kind": "resource",
        }
    ]
    return location


def _rules(report: AuditReport) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "id": drift_rule_id(status),
            "name": f"drift-{status.value.replace('_', '-')}",
            "shortDescription": {"text": description},
            "defaultConfiguration": {"level": level},
        }
        for status, (level, description) in DRIFT_RULES.items()
    ]
    severities: dict[tuple[str, str], str] = {}
    for resource in report.resources:
        for v in resource.violations:
            known = severities.get((v.policy, v.rule))
            if known is None or _SEVERITY_RANK.get(v.severity, 5) < _SEVERITY_RANK.get(known, 5):
                severities[(v.policy, v.rule)] = v.severity  # the rule's highest severity
    for (policy, rule), severity in sorted(severities.items()):
        rules.append(
            {
                "id": printable(f"policy/{policy}/{rule}"),
                "name": printable(f"{policy}/{rule}"),
                "shortDescription": {"text": printable(f"Policy {policy}, rule {rule}")},
                "defaultConfiguration": {"level": SEVERITY_LEVELS.get(severity, "warning")},
                "properties": {"severity": severity, "tags": ["policy"]},
            }
        )
    return rules


def to_sarif(report: AuditReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a JSON-ready dict); deterministic for equal reports."""
    scan = report.scan
    rules = _rules(report)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for resource in report.resources:  # sorted by id in the report
        source = resource.source
        if resource.status in DRIFT_RULES and drift_audited(report, resource):
            rule_id = drift_rule_id(resource.status)
            result: dict[str, Any] = {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": DRIFT_RULES[resource.status][0],
                "message": {"text": drift_message(resource)},
                "locations": [
                    _location(
                        resource, source.path if source else None, source.line if source else None
                    )
                ],
                "properties": {"resource": printable(resource.id), "status": resource.status.value},
            }
            changes = [c for c in resource.changes if not c.ignored]
            if changes:
                result["properties"]["changes"] = [
                    c.model_dump(mode="json", exclude_none=True) for c in changes
                ]
            results.append(result)
        for v in sorted(
            resource.violations, key=lambda v: (v.policy, v.rule, v.scope, v.fieldPath or "")
        ):
            rule_id = printable(policy_rule_id(v))
            path = v.path or (source.path if source and v.scope != "live" else None)
            line = v.line if v.path else (source.line if path and source else None)
            prefix = "could not be evaluated: " if v.error else ""
            text = f"{resource_label(resource)} [{v.scope}]: {prefix}{printable(v.message)}"
            result = {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": SEVERITY_LEVELS.get(v.severity, "warning"),
                "message": {"text": text},
                "locations": [_location(resource, path, line)],
                "properties": {
                    "resource": printable(resource.id),
                    "severity": v.severity,
                    "scope": v.scope,
                },
            }
            if v.fieldPath:
                result["properties"]["fieldPath"] = printable(v.fieldPath)
            if v.waivedBy:
                result["suppressions"] = [
                    {
                        "kind": "external",
                        "status": "accepted",
                        "justification": printable(v.waivedBy),
                    }
                ]
            results.append(result)
    provenance: dict[str, Any] = {
        "repositoryUri": printable(_repository_uri(scan.repo)),
        "branch": printable(scan.ref),
        "mappedTo": {"uriBaseId": REPOROOT},
    }
    if scan.commit:
        provenance["revisionId"] = scan.commit
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "startTimeUtc": scan.startedAt.isoformat().replace("+00:00", "Z"),
        "endTimeUtc": scan.finishedAt.isoformat().replace("+00:00", "Z"),
    }
    if report.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": error.level, "message": {"text": printable(error)}} for error in report.errors
        ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "driftwatch",
                        "version": scan.driftwatchVersion,
                        "rules": rules,
                    }
                },
                "versionControlProvenance": [provenance],
                "originalUriBaseIds": {
                    REPOROOT: {"description": {"text": "The root of the audited Git repository."}}
                },
                "invocations": [invocation],
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
