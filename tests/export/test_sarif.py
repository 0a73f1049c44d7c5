"""SARIF 2.1.0: valid against the OASIS schema, one result per finding, nothing unmasked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driftwatch.cli import main
from driftwatch.export.sarif import to_sarif
from driftwatch.report import (
    AuditReport,
    Change,
    Op,
    ReportError,
    Resource,
    ScanMeta,
    Source,
    Status,
    Target,
    Violation,
)
from driftwatch.testing.fixtures import record_write, served
from tests.conftest import AuditFactory, RepoFactory
from tests.corpora import SCHEMAS

HOSTILE = "evil[bold]x</testcase><x>|`\x1b[31m"
MASK = "<masked>"  # what the scan puts where a secret value was


def _resource(name: str, status: Status, **extra: Any) -> Resource:
    ns = extra.pop("namespace", "shop")
    kind = extra.pop("kind", "ConfigMap")
    return Resource(
        id=f"kubernetes:prod/core/{kind}/{ns}/{name}",
        provider="kubernetes",
        target="prod",
        apiVersion="v1",
        kind=kind,
        namespace=ns,
        name=name,
        status=status,
        **extra,
    )


def sample_report() -> AuditReport:
    """Every status, violations waived and not in every scope, a masked secret, a hostile
    name and value, and a scan error."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    src = Source(path="shop/web.yaml", line=3)
    resources = [
        _resource("settings", Status.IN_SYNC, source=Source(path="shop/config.yaml", line=1)),
        _resource(
            "web",
            Status.MODIFIED,
            kind="Deployment",
            source=src,
            changes=[
                Change(
                    path="spec.template.spec.containers[name=web].image",
                    op=Op.CHANGED,
                    desired="nginx:1.25",
                    live="nginx:1.26",
                    manager="kubectl-set",
                ),
                Change(path="spec.replicas", op=Op.CHANGED, desired=2, live=5, ignoredBy="hpa"),
            ],
            violations=[
                Violation(
                    policy="require-probes",
                    rule="liveness",
                    severity="medium",
                    message="container web has no livenessProbe",
                    scope="desired",
                    fieldPath="spec.template.spec.containers[name=web]",
                    path="shop/web.yaml",
                    line=12,
                ),
                Violation(
                    policy="disallow-privileged",
                    rule="privileged",
                    severity="critical",
                    message="privileged container",
                    scope="desired+live",
                    path="shop/web.yaml",
                    line=14,
                    waivedBy="web-privileged-until-q3",
                ),
                Violation(
                    policy="disallow-latest",
                    rule="tag",
                    severity="low",
                    message="live image drifted to :latest",
                    scope="live",
                ),
            ],
        ),
        _resource(
            "db",
            Status.MODIFIED,
            kind="Secret",
            source=Source(path="shop/secret.yaml", line=1),
            changes=[Change(path="data.password", op=Op.CHANGED, desired=MASK, live=MASK)],
        ),
        _resource("gone", Status.MISSING, source=Source(path="shop/config.yaml", line=8)),
        _resource(
            HOSTILE,
            Status.UNMANAGED,
            changes=[],
            violations=[
                Violation(
                    policy="require-labels",
                    rule="team",
                    severity="high",
                    message=f"label team missing on {HOSTILE}",
                    scope="live",
                )
            ],
        ),
        _resource("quiet", Status.IGNORED, reason="ignored by rule kube-system"),
        _resource("locked", Status.NOT_CHECKED, kind="Lease", reason="forbidden: leases"),
        _resource(
            "odd",
            Status.MODIFIED,
            source=Source(path="shop/odd.yaml", line=2),
            changes=[
                Change(path="data.new", op=Op.ADDED, live=HOSTILE),
                Change(path="data.old", op=Op.REMOVED, desired="x|y"),
            ],
        ),
    ]
    return AuditReport.build(
        ScanMeta(
            repo="https://git.example.com/infra.git",
            ref="main",
            commit="c" * 40,
            targets=[Target(name="prod", provider="kubernetes", context="prod")],
            startedAt=now,
            finishedAt=now,
            driftwatchVersion="1.2.3",
        ),
        resources,
        [ReportError(message="cannot parse", path="shop/bad.yaml", line=4)],
    )


def validate_sarif(log: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)


def test_valid_sarif_with_rules_results_locations_and_suppressions() -> None:
    report = sample_report()
    log = to_sarif(report)
    validate_sarif(json.loads(json.dumps(log)))
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("driftwatch", "1.2.3")
    rules = {r["id"]: r for r in driver["rules"]}
    assert {"drift/modified", "drift/missing", "drift/unmanaged", "drift/not_checked"} <= set(rules)
    levels = {i: r["defaultConfiguration"]["level"] for i, r in rules.items()}
    assert levels["policy/disallow-privileged/privileged"] == "error"  # critical
    assert levels["policy/require-labels/team"] == "error"  # high
    assert levels["policy/require-probes/liveness"] == "warning"  # medium
    assert levels["policy/disallow-latest/tag"] == "note"  # low
    results = run["results"]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_rule.setdefault(result["ruleId"], []).append(result)
    # drift: 3 modified, 1 missing, 1 unmanaged, 1 not_checked; nothing for in_sync/ignored
    assert [len(by_rule[f"drift/{s}"]) for s in ("modified", "missing", "unmanaged")] == [3, 1, 1]
    assert len(by_rule["drift/not_checked"]) == 1
    assert len(results) == 6 + 4  # and the four violations
    assert not any(
        "settings" in r["message"]["text"] or "quiet" in r["message"]["text"] for r in results
    )

    web = next(
        r for r in by_rule["drift/modified"] if "Deployment shop/web" in r["message"]["text"]
    )
    assert "nginx:1.25 → nginx:1.26" in web["message"]["text"]
    assert "spec.replicas" not in web["message"]["text"]  # ignored changes are not drift
    physical = web["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "shop/web.yaml", "uriBaseId": "REPOROOT"}
    assert physical["region"] == {"startLine": 3}

    probe = by_rule["policy/require-probes/liveness"][0]
    assert probe["level"] == "warning" and "suppressions" not in probe
    assert probe["locations"][0]["physicalLocation"]["region"] == {"startLine": 12}
    waived = by_rule["policy/disallow-privileged/privileged"][0]
    assert waived["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "web-privileged-until-q3"}
    ]
    live = by_rule["policy/disallow-latest/tag"][0]
    assert "physicalLocation" not in live["locations"][0]  # live scope: no Git line
    assert live["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith("/web")

    unmanaged = by_rule["drift/unmanaged"][0]
    assert "physicalLocation" not in unmanaged["locations"][0]
    logical = unmanaged["locations"][0]["logicalLocations"][0]
    assert logical["name"] == "evil[bold]x</testcase><x>|`\\x1b[31m"  # escape made visible
    assert "\x1b" not in json.dumps(log, ensure_ascii=False)

    secret = next(r for r in by_rule["drift/modified"] if "Secret" in r["message"]["text"])
    assert f"data.password: {MASK} → {MASK}" in secret["message"]["text"]

    provenance = run["versionControlProvenance"][0]
    assert provenance["repositoryUri"] == "https://git.example.com/infra.git"
    assert provenance["revisionId"] == "c" * 40
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == (
        "shop/bad.yaml:4: cannot parse"
    )


def test_deterministic() -> None:
    assert json.dumps(to_sarif(sample_report())) == json.dumps(to_sarif(sample_report()))


def test_check_report_has_violations_only(tmp_path: Path) -> None:
    report = sample_report()
    check = report.model_copy(
        update={
            "scan": report.scan.model_copy(
                update={"targets": [Target(name="git", provider="git")]}
            ),
            "resources": [
                r.model_copy(update={"target": "git", "status": Status.NOT_CHECKED})
                for r in report.resources
                if r.violations
            ],
        }
    )
    log = to_sarif(check)
    validate_sarif(log)
    assert all(r["ruleId"].startswith("policy/") for r in log["runs"][0]["results"])
    assert len(log["runs"][0]["results"]) == 4


@pytest.mark.parametrize(
    ("repo", "uri"),
    [
        ("/srv/git/infra", "file:///srv/git/infra/"),
        ("git@host:org/infra.git", "git@host:org/infra.git"),
    ],
)
def test_local_and_scp_repositories(repo: str, uri: str) -> None:
    report = sample_report()
    report = report.model_copy(update={"scan": report.scan.model_copy(update={"repo": repo})})
    log = to_sarif(report)
    assert log["runs"][0]["versionControlProvenance"][0]["repositoryUri"] == uri


# End to end: `driftwatch scan --format F -o FILE` on a real audit (repo + test API server).

WEB_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.25
"""
GONE_YAML = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone, namespace: shop}\ndata: {a: '1'}\n"
)


def cli_scan(audit: AuditFactory, fmt: str, tmp_path: Path, *extra: str) -> tuple[int, str]:
    """Scan a repo with a modified Deployment, a missing ConfigMap and an unmanaged one
    against the test API server, writing ``fmt`` with ``-o``; the exit code and the file."""
    import yaml

    web = served(yaml.safe_load(WEB_YAML))
    web = record_write(
        web,
        "kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}},
    )
    stray = served(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "stray", "namespace": "shop"},
        },
        manager="kubectl-create",
    )
    repo, _, _ = audit({"shop/web.yaml": WEB_YAML, "shop/gone.yaml": GONE_YAML}, [web, stray])
    kubeconfig = tmp_path / "kc"
    out = tmp_path / f"report.{fmt}"
    code = main(
        [
            *("scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig)),
            *("--format", fmt, "-o", str(out), *extra),
        ]
    )
    return code, out.read_text()


def test_cli_scan_sarif(audit: AuditFactory, tmp_path: Path) -> None:
    code, text = cli_scan(audit, "sarif", tmp_path)
    assert code == 2  # exit codes unchanged: findings
    log = json.loads(text)
    validate_sarif(log)
    results = log["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    assert {"drift/modified", "drift/missing", "drift/unmanaged"} <= rules
    assert any(r.startswith("policy/") for r in rules)  # the built-in policies ran
    modified = next(r for r in results if r["ruleId"] == "drift/modified")
    assert "nginx:1.25 → nginx:1.26" in modified["message"]["text"]
    assert modified["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "shop/web.yaml"
    )
    assert not list(tmp_path.glob(".report.sarif.*.tmp"))  # written atomically


def test_cli_check_sarif(make_repo: RepoFactory, tmp_path: Path) -> None:
    repo = make_repo({"shop/web.yaml": WEB_YAML})
    out = tmp_path / "check.sarif"
    code = main(["check", "--repo", str(repo), "--format", "sarif", "-o", str(out)])
    log = json.loads(out.read_text())
    validate_sarif(log)
    results = log["runs"][0]["results"]
    assert results and all(r["ruleId"].startswith("policy/") for r in results)
    assert code == 2


def test_a_hostile_scan_has_only_printable_strings(audit: AuditFactory, tmp_path: Path) -> None:
    from tests.test_textsafe import assert_unforged, hostile_scan

    code, text = hostile_scan(audit, tmp_path, "sarif")
    assert code == 2
    log = json.loads(text)
    validate_sarif(log)
    assert_unforged(text)  # the file is ASCII: not even the exact values are raw in it
    assert "\\u2028" in text

    def strings(node: object) -> list[str]:
        """What a SARIF viewer shows: every string but the machine data in properties."""
        if isinstance(node, dict):
            return [
                s
                for key, value in node.items()
                if key != "properties"
                for s in (key, *strings(value))
            ]
        if isinstance(node, list):
            return [s for value in node for s in strings(value)]
        return [node] if isinstance(node, str) else []

    found = strings(log)
    assert any("✓ Secret prod/admin" in s for s in found)  # the hostile text is there, escaped
    for value in found:
        assert_unforged(value)
        assert "\n" not in value, value


def test_a_warning_is_a_warning_notification_and_fails_nothing() -> None:
    report = sample_report()
    report.resources = []
    report.errors = [
        ReportError(message="duplicate key 'a'", path="a.yaml", line=3, key="a", level="warning")
    ]
    log = to_sarif(report)
    validate_sarif(json.loads(json.dumps(log)))
    (note,) = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["message"]["text"].startswith("a.yaml:3 [a]")
    assert not report.has_findings("any")
    report.errors.append(ReportError(message="cannot parse", path="b.yaml", line=1))
    assert report.has_findings("any")
