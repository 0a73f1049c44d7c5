"""Reconciling AWS findings: adopt, import, remove, ignore and waive on AWSResource specs,
proven by a rescan of the new commit against the same moto account (server mode, HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.cli import main
from driftwatch.reconcile.actions import Details
from driftwatch.reconcile.workflow import Reconciler, Step
from driftwatch.report import AuditReport
from driftwatch.testing.moto import MotoServer
from tests.conftest import RepoFactory, git

CONFIG = (
    "targets:\n"
    "  - {name: acct, provider: aws, regions: [us-east-1], types: [AWS::S3::Bucket]}\n"
    "policies: {builtin: true}\n"
)
ORDERS = (
    "# Order exports.\n"
    "apiVersion: driftwatch.dev/v1alpha1\n"
    "kind: AWSResource\n"
    "metadata: {name: orders-data}\n"
    "spec:\n"
    "  type: AWS::S3::Bucket\n"
    "  region: us-east-1\n"
    "  identifier: acme-orders-data\n"
    "  properties:\n"
    "    VersioningConfiguration: {Status: Enabled}   # keep every version\n"
    "    Tags:\n"
    "      - {Key: team, Value: orders}\n"
    "---\n"
    "apiVersion: driftwatch.dev/v1alpha1\n"
    "kind: AWSResource\n"
    "metadata: {name: old-logs}\n"
    "spec:\n"
    "  type: AWS::S3::Bucket\n"
    "  region: us-east-1\n"
    "  identifier: acme-old-logs\n"
)


def rid(name: str) -> str:
    return f"aws:acct/core/AWS::S3::Bucket/us-east-1/{name}"


@pytest.fixture
def account(
    moto: MotoServer,
    clients: Any,
    make_repo: RepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Any]:
    monkeypatch.chdir(tmp_path)
    s3 = clients("s3", "us-east-1")
    for bucket in ("acme-orders-data", "acme-hand-made"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # Console changes during an incident: versioning suspended, the owning team changed.
    s3.put_bucket_versioning(
        Bucket="acme-orders-data", VersioningConfiguration={"Status": "Suspended"}
    )
    s3.put_bucket_tagging(
        Bucket="acme-orders-data", Tagging={"TagSet": [{"Key": "team", "Value": "payments"}]}
    )
    repo = make_repo({"driftwatch.yaml": CONFIG, "aws/buckets.yaml": ORDERS})

    def scan(ref: str = "HEAD") -> AuditReport:
        out = tmp_path / f"report-{ref.replace('/', '-')}.json"
        main(
            [
                "scan",
                "--repo",
                str(repo),
                "--ref",
                ref,
                "--no-cache",
                "--format",
                "json",
                "-o",
                str(out),
            ]
        )
        capsys.readouterr()
        return AuditReport.from_json(out.read_bytes())

    return repo, scan


def test_every_action_on_aws_findings_is_resolved_by_the_rescan(account: tuple[Path, Any]) -> None:
    repo, scan = account
    report = scan()
    status = {r.id: r.status for r in report.resources}
    assert status[rid("acme-orders-data")] == "modified"
    assert status[rid("acme-old-logs")] == "missing"
    assert status[rid("acme-hand-made")] == "unmanaged"
    (orders,) = [r for r in report.resources if r.id == rid("acme-orders-data")]
    assert {c.path for c in orders.changes} == {
        "properties.VersioningConfiguration.Status",
        "properties.Tags[Key=team].Value",
    }
    assert any(v.policy == "s3-block-public-access" for v in orders.violations)

    reconciler = Reconciler(report)
    edits = reconciler.plan(
        [
            Step("adopt", (rid("acme-orders-data"),), "adopt"),
            Step("remove", (rid("acme-old-logs"),), "remove"),
            Step("import", (rid("acme-hand-made"),), "import"),
            Step(
                "waive",
                (f"{rid('acme-orders-data')}@s3-block-public-access",),
                "waive",
                Details(
                    "public access is blocked at the account level", "team-orders", "", _soon()
                ),
            ),
        ]
    )
    done = reconciler.commit(edits, "aws-fixes")
    # adopt: two values change in place, the comment and flow style stay
    buckets = git(repo, "show", "aws-fixes:aws/buckets.yaml")
    assert "    VersioningConfiguration: {Status: Suspended}   # keep every version" in buckets
    assert "      - {Key: team, Value: payments}" in buckets
    assert "acme-old-logs" not in buckets  # remove
    imported = yaml.safe_load(
        git(repo, "show", "aws-fixes:us-east-1/aws-s3-bucket-acme-hand-made.yaml")
    )
    assert imported["spec"]["identifier"] == "acme-hand-made"
    assert imported["spec"]["properties"]["VersioningConfiguration"] == {"Status": "Enabled"}

    after = scan(done.branch)
    status = {r.id: r.status for r in after.resources}
    assert status[rid("acme-orders-data")] == "in_sync"
    assert status[rid("acme-hand-made")] == "in_sync"
    assert rid("acme-old-logs") not in status
    (orders,) = [r for r in after.resources if r.id == rid("acme-orders-data")]
    assert all(v.waivedBy for v in orders.violations if v.policy == "s3-block-public-access")


def test_ignore_on_aws_changes_is_honoured_by_the_rescan(
    account: tuple[Path, Any], tmp_path: Path
) -> None:
    _repo, scan = account
    report = scan()
    path = tmp_path / "report.json"
    path.write_bytes(report.to_json())
    selection = f"{rid('acme-orders-data')}#properties.Tags[Key=team].Value"
    args = ["reconcile", "--report", str(path), "--action", "ignore", "--select", selection]
    assert main([*args, "--reason", "FinOps retags buckets", "--branch", "ign"]) == 0
    (orders,) = [r for r in scan("ign").resources if r.id == rid("acme-orders-data")]
    by_path = {c.path: c.ignoredBy for c in orders.changes}
    assert by_path["properties.Tags[Key=team].Value"] is not None
    assert by_path["properties.VersioningConfiguration.Status"] is None
    assert orders.status == "modified"  # the versioning drift is still reported


def _soon() -> Any:
    from driftwatch.reconcile.workflow import default_expiry

    return default_expiry()


def test_import_leaves_secret_properties_out_and_says_so() -> None:
    from datetime import UTC, datetime

    from driftwatch.reconcile.actions import plan
    from driftwatch.report import Resource, ScanMeta, Status

    live = {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": "orders-fn"},
        "spec": {
            "type": "AWS::Lambda::Function",
            "region": "us-east-1",
            "identifier": "orders-fn",
            "properties": {
                "FunctionName": "orders-fn",
                "Runtime": "python3.12",
                "Environment": {"Variables": {"DB_PASSWORD": "<secret hmac:0123456789abcdef>"}},
            },
        },
    }
    resource = Resource(
        id="aws:acct/core/AWS::Lambda::Function/us-east-1/orders-fn",
        provider="aws",
        target="acct",
        apiVersion="driftwatch.dev/v1alpha1",
        kind="AWS::Lambda::Function",
        namespace="us-east-1",
        name="orders-fn",
        status=Status.UNMANAGED,
        live=live,
    )
    when = datetime(2026, 1, 1, tzinfo=UTC)
    report = AuditReport.build(
        ScanMeta(
            repo=".",
            ref="HEAD",
            commit="0" * 40,
            startedAt=when,
            finishedAt=when,
            driftwatchVersion="t",
        ),
        [resource],
        [],
    )
    edits = plan(report, "import", [resource.id], lambda path: None)
    ((path, (_, text)),) = edits.files.items()
    assert path == "us-east-1/aws-lambda-function-orders-fn.yaml"
    assert text is not None and "secret" not in text and "Environment" not in text
    assert "python3.12" in text
    assert "Environment left out: secret values are never seen" in edits.done[0]
