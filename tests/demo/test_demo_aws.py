"""The demo's AWS account (moto, in-process): every status from a real scan, the Lambda
environment masked everywhere, coverage, the AWS target in the app, and a process
environment left as it was found."""

from __future__ import annotations

import os
from typing import Any

import pytest

from driftwatch.demo import Demo
from driftwatch.demo.aws import ACCOUNT, DENIED_SCOPE, NEVER_DEPLOYED, ROTATED_API_KEY, aws_specs
from driftwatch.providers.aws.types import load_types
from driftwatch.report import AuditReport, Change, Resource, Status
from driftwatch.scan import run_scan
from driftwatch.tui.app import DriftwatchApp, TuiOptions
from driftwatch.tui.model import Group
from driftwatch.tui.widgets.detail import Detail
from driftwatch.tui.widgets.drift_tree import DriftTree

TARGET = "demo-account"

# By the specs' metadata.name: what the account's story (driftwatch/demo/aws.py) makes of each.
EXPECTED = {
    "assets": Status.MODIFIED,  # versioning suspended in the console
    "access-logs": Status.IN_SYNC,
    "invoices": Status.IGNORED,  # the FinOps tool's cost-center tag
    "backups": Status.MISSING,  # never deployed
    "invoices-key": Status.IN_SYNC,
    "shop-web": Status.MODIFIED,  # SSH opened to the world
    "orders-queue": Status.MODIFIED,  # re-tagged
    "order-events-role": Status.IN_SYNC,
    "order-events": Status.MODIFIED,  # the API key rotated in the console
    "order-events-logs": Status.IN_SYNC,
    "invoices-logs": Status.NOT_CHECKED,  # CloudWatch Logs denied in eu-west-1
}
Ident = tuple[str, str | None, str]


def specs() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc["spec"] for doc in aws_specs()}


def ident(spec: dict[str, Any]) -> Ident:
    """(type, region, identifier) of a spec, as the report names the resource."""
    rt = load_types()[spec["type"]]
    identifier = spec.get("identifier") or spec["properties"][rt.identifier]
    return spec["type"], spec["region"] if rt.regional else "global", str(identifier)


def aws_resources(report: AuditReport) -> dict[Ident, Resource]:
    return {(r.kind, r.namespace, r.name): r for r in report.resources if r.provider == "aws"}


def by_name(report: AuditReport) -> dict[str, Resource]:
    found = aws_resources(report)
    return {name: found[ident(spec)] for name, spec in specs().items()}


def only_change(resource: Resource) -> Change:
    (change,) = resource.changes
    return change


def api_keys() -> list[str]:
    """The Lambda's API key as Git has it and as it was rotated live (every environment
    value is masked; these two appear nowhere else, so they must appear nowhere)."""
    variables = specs()["order-events"]["properties"]["Environment"]["Variables"]
    return [str(variables["PAYMENTS_API_KEY"]), ROTATED_API_KEY]


def test_the_account_shows_every_status(report: AuditReport) -> None:
    found = aws_resources(report)
    declared = {name: found[ident(spec)].status for name, spec in specs().items()}
    assert declared == EXPECTED
    extra = {key: r for key, r in found.items() if r.source is None}
    # made by hand; the default VPC's security groups are AWS's and never unmanaged
    by_hand = {
        key: r.live["spec"]["properties"].get("GroupName") if r.live else None
        for key, r in extra.items()
        if r.status is Status.UNMANAGED
    }
    assert set(by_hand.values()) == {"launch-wizard-1", None}
    assert ("AWS::S3::Bucket", "us-east-1", "acme-shop-export-tmp") in by_hand
    scope = found[("AWS::Logs::LogGroup", DENIED_SCOPE[1], "*")]
    assert scope.status is Status.NOT_CHECKED and len(extra) == 3
    assert {r.status for r in found.values()} == set(Status)
    assert {r.target for r in found.values()} == {TARGET}


def test_each_aws_finding_says_what_changed(report: AuditReport) -> None:
    found = by_name(report)
    versioning = only_change(found["assets"])
    assert (versioning.path, versioning.op, versioning.desired, versioning.live) == (
        "properties.VersioningConfiguration.Status",
        "changed",
        "Enabled",
        "Suspended",
    )
    web = found["shop-web"]
    ssh = only_change(web)
    assert ssh.op == "added" and ssh.path.startswith("properties.SecurityGroupIngress[")
    assert isinstance(ssh.live, dict)
    assert (ssh.live["FromPort"], ssh.live["CidrIp"]) == (22, "0.0.0.0/0")
    (open_ssh,) = web.violations
    assert (open_ssh.policy, open_ssh.scope) == ("ec2-no-admin-ports-from-internet", "live")
    owner = only_change(found["orders-queue"])
    assert (owner.path, owner.desired, owner.live) == (
        "properties.Tags[Key=owner].Value",
        "checkout",
        "payments",
    )
    key = only_change(found["order-events"])
    assert key.path == "properties.Environment.Variables.PAYMENTS_API_KEY"
    for value in (key.desired, key.live):
        assert str(value).startswith("<secret hmac:")
    assert key.desired != key.live
    cost = only_change(found["invoices"])
    assert cost.path == "properties.Tags[Key=cost-center]" and cost.op == "added"
    assert cost.ignoredBy and cost.ignoredBy.startswith("cost-tags:")
    backups = found["backups"]
    assert backups.source is not None and backups.source.path == "aws/storage.yaml"
    assert {name for name, r in found.items() if r.status is Status.MISSING} == NEVER_DEPLOYED
    denied = found["invoices-logs"]
    assert denied.reason and "AccessDenied" in denied.reason and "eu-west-1" in denied.reason
    export = aws_resources(report)[("AWS::S3::Bucket", "us-east-1", "acme-shop-export-tmp")]
    assert {(v.policy, v.scope) for v in export.violations} == {
        ("s3-block-public-access", "live"),
        ("s3-default-encryption", "live"),
    }
    # in sync means no violation either: the managed resources follow the built-ins
    assert all(not r.violations for r in found.values() if r.status is Status.IN_SYNC)


def test_the_lambda_environment_is_masked_everywhere(
    report: AuditReport, headless_json: tuple[int, str], headless_text: tuple[int, str]
) -> None:
    function = by_name(report)["order-events"]
    for side in (function.desired, function.live):
        assert side is not None
        variables = side["spec"]["properties"]["Environment"]["Variables"]
        assert variables and all(str(v).startswith("<secret hmac:") for v in variables.values())
    for value in api_keys():
        assert value not in headless_json[1]
        assert value not in headless_text[1]


def test_coverage_per_type_in_the_report_and_the_text(
    report: AuditReport, headless_text: tuple[int, str]
) -> None:
    (target,) = [t for t in report.scan.targets if t.provider == "aws"]
    assert (target.name, target.account, target.regions) == (
        TARGET,
        ACCOUNT,
        ["us-east-1", "eu-west-1"],
    )
    assert target.coverage is not None
    assert {t: (c.managed, c.total) for t, c in target.coverage.items()} == {
        "AWS::EC2::SecurityGroup": (1, 2),
        "AWS::IAM::Role": (1, 1),
        "AWS::KMS::Key": (1, 1),
        "AWS::Lambda::Function": (1, 1),
        "AWS::Logs::LogGroup": (1, 1),  # eu-west-1 could not be listed
        "AWS::S3::Bucket": (3, 4),
        "AWS::SQS::Queue": (1, 1),
    }
    lines = headless_text[1].splitlines()
    assert (
        "☁ demo-account  account 123456789012  us-east-1, eu-west-1"
        "  coverage: 81% (9 of 11 resources managed)"
    ) in lines
    rows = [" ".join(line.split()) for line in lines if line.startswith("    AWS::")]
    assert rows[0] == "AWS::EC2::SecurityGroup 50% (1 of 2)"
    assert "AWS::Logs::LogGroup 100% (1 of 1) not listed in eu-west-1" in rows
    assert [row.split()[0] for row in rows] == sorted(target.coverage)


def test_the_account_is_built_from_the_specs_with_the_ids_they_name() -> None:
    with Demo() as demo:
        deployed = demo.aws.deployed
    declared = specs()
    assert set(deployed) == set(declared) - NEVER_DEPLOYED
    # GroupId, KeyId and QueueUrl are AWS's to assign: moto's seeded ids must be the specs'
    # (if a moto upgrade draws its random ids differently, put the new ones in the specs)
    for name, identifier in deployed.items():
        assert identifier == ident(declared[name])[2], (
            f"{name}: moto assigned {identifier}; driftwatch/demo/repo/aws/ names another"
        )
    assert deployed["orders-queue"].startswith("https://sqs.us-east-1.amazonaws.com/")


def test_the_demo_environment_is_scoped_and_ignores_the_users_aws_setup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")  # would be a ProfileNotFound in the demo
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSOWNKEY00000")
    before = dict(os.environ)
    with Demo() as demo:
        assert os.environ["AWS_ENDPOINT_URL"] == demo.aws.endpoint_url
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_S3" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] != before["AWS_ACCESS_KEY_ID"]
        with pytest.raises(RuntimeError, match="another driftwatch demo is running"), Demo():
            pass
        report = run_scan(demo.scan_options())  # the first demo is still whole
    assert dict(os.environ) == before
    assert not [e for e in report.errors if e.target == TARGET]
    assert {r.status for r in report.resources if r.kind == "AWS::S3::Bucket"} >= {
        Status.MODIFIED,
        Status.MISSING,
        Status.UNMANAGED,
        Status.IGNORED,
    }


def _ancestors(app: DriftwatchApp) -> list[str]:
    node = app.query_one(DriftTree).cursor_node
    labels: list[str] = []
    while node is not None and node.parent is not None:
        node = node.parent
        if isinstance(node.data, Group) and node.data.path:
            labels.insert(0, node.data.label)
    return labels


async def test_the_app_shows_the_aws_target_tree() -> None:
    with Demo() as demo:
        options = demo.scan_options(objects_in_sync=True)
        app = DriftwatchApp(
            scan=lambda progress, partial: run_scan(options, progress, partial),
            options=TuiOptions(low_bandwidth=True),
        )
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(500):
                await pilot.pause(0.02)
                if not app.scanning and app.report is not None:
                    break
            assert app.report is not None and not app.scanning
            header = str(app.query_one("#header").render())
            assert "⎈ demo, ☁ demo-account 81% managed" in header
            found = aws_resources(app.report)
            for name in ("assets", "order-events"):
                kind, region, identifier = ident(specs()[name])
                resource = found[(kind, region, identifier)]
                app.jump((TARGET, kind, region or ""), resource.id)
                await pilot.pause(0.3)  # low bandwidth: the detail is drawn once the cursor rests
                selected = app.query_one(DriftTree).cursor_node
                assert selected is not None and isinstance(selected.data, Resource)
                assert selected.data.id == resource.id
                # Target → Type → Region → Resource
                assert _ancestors(app) == [TARGET, kind, region]
                detail = app.query_one(Detail).text.plain
                assert identifier in detail
                for value in api_keys():
                    assert value not in detail
            assert "PAYMENTS_API_KEY" in detail and "<secret hmac:" in detail
