"""JUnit XML for CI test-report views (GitLab, Jenkins, Azure): ``scan --format junit``.

Valid against the strict Ant/Jenkins schema (windyroad ``JUnit.xsd``), which allows at most
one outcome per testcase, so drift and policies are separate suites:

- one ``testsuite`` per target, one ``testcase`` per listed resource (classname
  ``target.kind.namespace``, name = the resource's name): in_sync passes; modified, missing
  and unmanaged are a ``<failure>`` (type = the status, text = the changes, desired → live);
  not_checked is an ``<error>`` (the comparison could not run, as JUnit means by error);
  ignored is ``<skipped>``.
- one ``policies`` suite with a testcase per violation (name ``resource policy/rule
  [scope]``): a ``<failure>`` of type = the severity; waived ones ``<skipped>`` naming the
  exception; rules that could not be evaluated an ``<error>``.
- one ``errors`` suite when the scan had errors (a file that did not parse, a target
  that could not be read), an ``<error>`` each.

In-sync objects are listed only when the scan included them (``--all``); the report's totals
per status are in every suite's properties (``driftwatch.count.<status>``).
Every string from Git or a cluster is escaped by ElementTree and made ``printable`` (XML
1.0 cannot carry control characters; a newline in an attribute would forge a line in a CI view).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC
from typing import NamedTuple

from driftwatch.export.sarif import change_text, drift_audited, drift_message
from driftwatch.export.text import violation_line
from driftwatch.report import DRIFT_STATUSES, AuditReport, Resource, Status, Violation
from driftwatch.textsafe import printable, printable_lines

POLICY_SUITE = "policies"


def xml_block(text: object) -> str:
    """A multi-line element body: each line ``printable``, the lines kept.  (Attributes
    are ``printable``: one line; it also escapes what XML 1.0 cannot carry, such as
    controls, surrogates and U+FFFE/U+FFFF.)"""
    return "\n".join(printable_lines(text))


class _Case(NamedTuple):
    classname: str
    name: str
    outcome: str | None  # failure | error | skipped | None (passed)
    type: str
    message: str
    text: str


def classname(resource: Resource) -> str:
    parts = [resource.target, resource.kind]
    if resource.namespace:
        parts.append(resource.namespace)
    return ".".join(parts)


def _resource_case(resource: Resource) -> _Case:
    status = resource.status
    name, cls = resource.name, classname(resource)
    if status in DRIFT_STATUSES:
        changes = [c for c in resource.changes if not c.ignored]
        text = "\n".join(change_text(c) for c in changes)
        if resource.source:
            text = f"{printable(resource.source.path)}:{resource.source.line}\n{text}".rstrip("\n")
        return _Case(cls, name, "failure", status.value, drift_message(resource), text)
    if status is Status.NOT_CHECKED:
        return _Case(cls, name, "error", status.value, drift_message(resource), "")
    if status is Status.IGNORED:
        return _Case(cls, name, "skipped", status.value, drift_message(resource), "")
    return _Case(cls, name, None, "", "", "")


def _violation_case(resource: Resource, v: Violation) -> _Case:
    name = f"{resource.name} {v.policy}/{v.rule} [{v.scope}]"
    text = violation_line(v).plain.strip()
    if v.waivedBy:
        return _Case(
            classname(resource), name, "skipped", "waived", f"waived by {v.waivedBy}", text
        )
    if v.error:
        return _Case(classname(resource), name, "error", "policy-error", v.message, text)
    return _Case(classname(resource), name, "failure", v.severity, v.message, text)


def _suite(
    report: AuditReport,
    suite_id: int,
    name: str,
    package: str,
    cases: list[_Case],
    properties: dict[str, str],
) -> ET.Element:
    started = report.scan.startedAt
    if started.tzinfo is not None:
        started = started.astimezone(UTC)
    suite = ET.Element(
        "testsuite",
        {
            "package": printable(package),
            "id": str(suite_id),
            "name": printable(name) or "-",
            "timestamp": started.strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": "localhost",
            "tests": str(len(cases)),
            "failures": str(sum(c.outcome == "failure" for c in cases)),
            "errors": str(sum(c.outcome == "error" for c in cases)),
            "skipped": str(sum(c.outcome == "skipped" for c in cases)),
            "time": "0",
        },
    )
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", {"name": key, "value": printable(value)})
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            {"classname": printable(case.classname), "name": printable(case.name), "time": "0"},
        )
        if case.outcome is None:
            continue
        attrs = {"message": printable(case.message)}
        if case.outcome != "skipped":
            attrs["type"] = printable(case.type)
        outcome = ET.SubElement(element, case.outcome, attrs)
        outcome.text = xml_block(case.text) if case.text else None
    ET.SubElement(suite, "system-out").text = ""
    ET.SubElement(suite, "system-err").text = ""
    return suite


def to_junit(report: AuditReport) -> str:
    """The report as a JUnit XML document (``<testsuites>``); deterministic."""
    scan = report.scan
    common = {
        "driftwatch.version": scan.driftwatchVersion,
        "driftwatch.repo": scan.repo,
        "driftwatch.ref": scan.ref,
        "driftwatch.commit": scan.commit or "working tree",
    }
    for status in Status:
        common[f"driftwatch.count.{status.value}"] = str(report.counts.get(status, 0))
    root = ET.Element("testsuites")
    targets = {t.name: t.provider for t in scan.targets if t.provider != "git"}
    for resource in report.resources:
        if drift_audited(report, resource):
            targets.setdefault(resource.target, resource.provider)
    for suite_id, (target, provider) in enumerate(targets.items()):
        cases = [
            _resource_case(r)
            for r in report.resources
            if r.target == target and r.provider == provider and drift_audited(report, r)
        ]
        properties = {**common, "driftwatch.target": target, "driftwatch.provider": provider}
        root.append(
            _suite(report, suite_id, target, f"driftwatch.drift.{target}", cases, properties)
        )
    violations = [
        _violation_case(r, v)
        for r in report.resources
        for v in sorted(r.violations, key=lambda v: (v.policy, v.rule, v.scope, v.fieldPath or ""))
    ]
    suites = len(targets)
    root.append(_suite(report, suites, POLICY_SUITE, "driftwatch.policy", violations, common))
    if report.errors:  # what kept parts of the scan from running, one error testcase each
        errors = [
            _Case("driftwatch.errors", f"error {i + 1}", "error", "error", str(error), "")
            for i, error in enumerate(report.errors)
        ]
        root.append(_suite(report, suites + 1, "errors", "driftwatch.errors", errors, common))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
