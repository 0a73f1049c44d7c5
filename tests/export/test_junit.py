"""JUnit XML: valid against the strict Ant/Jenkins schema, one testcase per resource."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema

from driftwatch.export.junit import to_junit
from driftwatch.report import Status, Target
from tests.conftest import AuditFactory
from tests.export.test_sarif import SCHEMAS, cli_scan, sample_report
from tests.test_textsafe import assert_unforged, hostile_scan

STRICT = xmlschema.XMLSchema(SCHEMAS / "JUnit.xsd")
LENIENT = xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd")


def test_valid_junit_with_a_suite_per_target_and_one_for_policies() -> None:
    xml = to_junit(sample_report())
    STRICT.validate(xml)
    LENIENT.validate(xml)
    root = ET.fromstring(xml)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["prod", "policies", "errors"]
    prod = suites["prod"]
    # 8 resources: in_sync passes, 5 drift failures, not_checked errors, ignored skipped
    assert [prod.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["8", "5", "1", "1"]
    cases = {c.get("name"): c for c in prod.findall("testcase")}
    assert len(cases["settings"]) == 0  # passing
    web = cases["web"]
    assert web.get("classname") == "prod.Deployment.shop"
    failure = web.find("failure")
    assert failure is not None and failure.get("type") == "modified"
    assert "nginx:1.25 → nginx:1.26" in (failure.text or "")
    assert (failure.text or "").startswith("shop/web.yaml:3")
    assert cases["locked"].find("error") is not None
    assert cases["quiet"].find("skipped") is not None
    hostile = cases["evil[bold]x</testcase><x>|`\\x1b[31m"]  # literal, escape made visible
    assert hostile.find("failure") is not None

    policies = suites["policies"]
    assert [policies.get(k) for k in ("tests", "failures", "errors", "skipped")] == [
        "4",
        "3",
        "0",
        "1",
    ]
    waived = next(
        c for c in policies.findall("testcase") if "disallow-privileged" in (c.get("name") or "")
    )
    skipped = waived.find("skipped")
    assert skipped is not None and skipped.get("message") == "waived by web-privileged-until-q3"
    types = sorted(f.get("type") or "" for f in policies.iter("failure"))
    assert types == ["high", "low", "medium"]
    properties = {p.get("name"): p.get("value") for p in prod.iter("property")}
    assert properties["driftwatch.count.in_sync"] == "1"
    assert properties["driftwatch.commit"] == "c" * 40
    assert suites["errors"].get("errors") == "1"
    assert "\x1b" not in xml


def test_in_sync_objects_are_not_invented_and_check_reports_list_violations() -> None:
    report = sample_report()
    counts = {**report.counts, Status.IN_SYNC: 40}  # a scan without --all: totals only
    check = report.model_copy(
        update={
            "counts": counts,
            "scan": report.scan.model_copy(
                update={"targets": [Target(name="git", provider="git")]}
            ),
            "resources": [
                r.model_copy(update={"target": "git", "status": Status.NOT_CHECKED})
                for r in report.resources
                if r.violations
            ],
            "errors": [],
        }
    )
    xml = to_junit(check)
    STRICT.validate(xml)
    root = ET.fromstring(xml)
    assert [s.get("name") for s in root.findall("testsuite")] == ["policies"]
    assert root.find("testsuite/testcase") is not None
    assert len(root.findall("testsuite/testcase")) == 4
    prop = root.find("testsuite/properties/property[@name='driftwatch.count.in_sync']")
    assert prop is not None and prop.get("value") == "40"


def test_deterministic() -> None:
    assert to_junit(sample_report()) == to_junit(sample_report())


def test_cli_scan_junit(audit: AuditFactory, tmp_path: Path) -> None:
    code, xml = cli_scan(audit, "junit", tmp_path)
    assert code == 2
    STRICT.validate(xml)
    root = ET.fromstring(xml)
    drift = root.find("testsuite")  # the target's suite comes first
    assert drift is not None
    types = {f.get("type") for f in drift.iter("failure")}
    assert {"modified", "missing", "unmanaged"} <= types
    web = drift.find("testcase[@name='web']")
    assert web is not None and web.get("classname", "").endswith(".Deployment.shop")


def test_a_hostile_scan_is_valid_xml_without_forged_lines(
    audit: AuditFactory, tmp_path: Path
) -> None:
    code, xml = hostile_scan(audit, tmp_path, "junit")
    assert code == 2
    STRICT.validate(xml)
    LENIENT.validate(xml)
    assert_unforged(xml)
    root = ET.fromstring(xml)
    for element in root.iter():
        for value in element.attrib.values():  # a CI view shows an attribute on one line
            assert "\n" not in value and "\t" not in value
        assert_unforged(element.text or "")
    failure = root.find("testsuite/testcase[@name='settings']/failure")
    assert failure is not None and failure.text is not None
    body = failure.text.splitlines()
    assert body[0].startswith("shop/f\\n✓ Secret prod/admin [prod] in_sync\\r\\x1b[2J")
    assert len(body) == 4  # the file, then one line per change
