"""`driftwatch scan` with AWS targets, end to end: a Git repo built with git, moto's server
over HTTP (AWS_ENDPOINT_URL set by the ``moto`` fixture), boto3 changing the live side."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from driftwatch.cli import main
from driftwatch.config import Config, TargetConfig, load_config
from driftwatch.report import AuditReport, Coverage, Resource, Status
from driftwatch.scan import (
    ScanError,
    ScanOptions,
    effective_aws_targets,
    effective_targets,
    run_scan,
)
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.moto import MotoServer, iter_calls
from tests.conftest import RepoFactory

BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
ROLE = "AWS::IAM::Role"
FUNCTION = "AWS::Lambda::Function"


def config(*targets: str) -> str:
    return "policies: {builtin: false}\ntargets:\n" + "".join(targets)


def aws_target(
    name: str = "sandbox",
    regions: str = "[us-east-1]",
    types: str = "[AWS::S3::Bucket, AWS::SQS::Queue, AWS::EC2::VPC, AWS::EC2::SecurityGroup]",
    extra: str = "",
) -> str:
    return (
        f"  - name: {name}\n    provider: aws\n    regions: {regions}\n    types: {types}\n{extra}"
    )


def resource(
    name: str,
    type_: str,
    identifier: str,
    properties: dict[str, Any],
    region: str = "us-east-1",
) -> str:
    doc = {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": name},
        "spec": {
            "type": type_,
            "region": region,
            "identifier": identifier,
            "properties": properties,
        },
    }
    return json.dumps(doc) + "\n"


def scan(repo: Path, **options: Any) -> dict[str, Resource]:
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False, **options))
    return {r.id: r for r in report.resources}


def rid(name: str, type_: str = BUCKET, region: str = "us-east-1", target: str = "sandbox") -> str:
    return f"aws:{target}/core/{type_}/{region}/{name}"


def test_in_sync_modified_missing_unmanaged(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    s3, sqs = clients("s3", "us-east-1"), clients("sqs", "us-east-1")
    s3.create_bucket(Bucket="acme-logs")
    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": [{"Key": "team", "Value": "platform"}]}
    )
    url = sqs.create_queue(QueueName="jobs", Attributes={"DelaySeconds": "5"})["QueueUrl"]
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target()),
            "aws/logs.yaml": resource(
                "logs",
                BUCKET,
                "acme-logs",
                {
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "Tags": [{"Key": "team", "Value": "platform"}],
                },
            ),
            "aws/jobs.yaml": resource(
                "jobs", QUEUE, url, {"QueueName": "jobs", "DelaySeconds": "5"}
            ),
        }
    )
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    found = {r.id: r for r in report.resources}
    # The default VPC and its default security group are AWS's, never unmanaged.
    assert {i: r.status for i, r in found.items()} == {
        rid("acme-logs"): Status.IN_SYNC,
        rid(url, QUEUE): Status.IN_SYNC,
    }
    assert report.errors == []
    [target] = report.scan.targets
    assert (target.name, target.provider, target.account, target.regions) == (
        "sandbox",
        "aws",
        "123456789012",
        ["us-east-1"],
    )
    assert target.coverage == {
        "AWS::EC2::SecurityGroup": Coverage(managed=0, total=0),
        "AWS::EC2::VPC": Coverage(managed=0, total=0),
        BUCKET: Coverage(managed=1, total=1),
        QUEUE: Coverage(managed=1, total=1),
    }
    logs = found[rid("acme-logs")]
    assert logs.source is not None and logs.source.path == "aws/logs.yaml"

    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(
        Bucket="acme-logs",
        Tagging={"TagSet": [{"Key": "team", "Value": "data"}, {"Key": "owner", "Value": "ada"}]},
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "10"})
    found = scan(repo)
    logs, jobs = found[rid("acme-logs")], found[rid(url, QUEUE)]
    assert logs.status is Status.MODIFIED
    assert [(c.path, c.op.value, c.desired, c.live) for c in logs.changes] == [
        ("properties.VersioningConfiguration.Status", "changed", "Enabled", "Suspended"),
        ("properties.Tags[Key=team].Value", "changed", "platform", "data"),
        ("properties.Tags[Key=owner]", "added", None, {"Key": "owner", "Value": "ada"}),
    ]
    assert [(c.path, c.desired, c.live) for c in jobs.changes] == [
        ("properties.DelaySeconds", "5", 10)
    ]

    sqs.delete_queue(QueueUrl=url)
    s3.create_bucket(Bucket="stray")
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    found = {r.id: r for r in report.resources}
    assert found[rid(url, QUEUE)].status is Status.MISSING
    stray = found[rid("stray")]
    assert stray.status is Status.UNMANAGED
    assert stray.live is not None and stray.live["spec"]["properties"] == {"BucketName": "stray"}
    coverage = report.scan.targets[0].coverage
    assert coverage is not None
    assert coverage[BUCKET] == Coverage(managed=1, total=2)
    assert coverage[QUEUE] == Coverage(managed=0, total=0)


def test_access_denied_on_one_service_is_not_checked_and_the_rest_audits(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target(types="[AWS::S3::Bucket, AWS::IAM::Role]")),
            "aws.yaml": resource("logs", BUCKET, "acme-logs", {})
            + "---\n"
            + resource("deploy", ROLE, "deploy", {"MaxSessionDuration": 3600}),
        }
    )
    moto.faults.deny("iam")
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    found = {r.id: r for r in report.resources}
    scope = found[rid("*", ROLE, "global")]
    assert scope.status is Status.NOT_CHECKED
    assert scope.reason is not None and "AccessDenied" in scope.reason
    deploy = found[rid("deploy", ROLE, "global")]
    assert deploy.status is Status.NOT_CHECKED and "AccessDenied" in str(deploy.reason)
    assert found[rid("acme-logs")].status is Status.IN_SYNC
    coverage = report.scan.targets[0].coverage
    assert coverage == {BUCKET: Coverage(managed=1, total=1)}  # IAM unknown, not 0 %
    assert report.has_findings("any") and not report.has_findings("drift")


def test_two_regions_and_the_region_flag(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="use1-data")
    eu = clients("s3", "eu-west-1")
    for name in ("euw1-data", "euw1-stray"):
        eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    repo = make_repo(
        {
            # No regions configured: the target scans the regions its specs name.
            "driftwatch.yaml": config(aws_target(regions="[]", types="[AWS::S3::Bucket]")),
            "aws.yaml": resource("a", BUCKET, "use1-data", {})
            + "---\n"
            + resource("b", BUCKET, "euw1-data", {}, region="eu-west-1"),
        }
    )
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    found = {r.id: r.status for r in report.resources}
    assert found == {
        rid("use1-data"): Status.IN_SYNC,
        rid("euw1-data", region="eu-west-1"): Status.IN_SYNC,
        rid("euw1-stray", region="eu-west-1"): Status.UNMANAGED,
    }
    assert report.scan.targets[0].regions == ["eu-west-1", "us-east-1"]
    assert report.scan.targets[0].coverage == {BUCKET: Coverage(managed=2, total=3)}
    # --aws-region narrows the scan; the other region's spec is then not this target's.
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False, aws_regions=["us-east-1"]))
    assert {r.id: r.status for r in report.resources} == {rid("use1-data"): Status.IN_SYNC}
    assert [e.message for e in report.errors] == [
        "AWSResource b (AWS::S3::Bucket, region eu-west-1) is not audited: no aws target scans that region"
    ]
    assert report.errors[0].path == "aws.yaml" and report.errors[0].line == 3


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_lambda_environment_values_never_leave_yet_changes_are_reported(
    moto: MotoServer,
    clients: Any,
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = clients("iam", "us-east-1").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    clients("lambda", "us-east-1").create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"DB_PASSWORD": "live-Pa55word-xyzzy", "LOG_LEVEL": "info"}},
    )
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target(types=f"[{FUNCTION}]")),
            "aws/orders.yaml": resource(
                "orders",
                FUNCTION,
                "orders",
                {
                    "Runtime": "python3.12",
                    "Environment": {
                        "Variables": {"DB_PASSWORD": "git-Pa55word-plugh", "LOG_LEVEL": "info"}
                    },
                },
            ),
        }
    )
    out = tmp_path / "report.json"
    code = main(["scan", "--repo", str(repo), "--no-cache", "--format", "json", "-o", str(out)])
    assert code == 2
    data = out.read_bytes()
    report = AuditReport.from_json(data)
    [orders] = report.resources
    assert orders.status is Status.MODIFIED
    [change] = orders.changes
    assert change.path == "properties.Environment.Variables.DB_PASSWORD"
    assert str(change.live).startswith("<secret hmac:") and change.live != change.desired
    code = main(["scan", "--repo", str(repo), "--no-cache", "--all"])
    text = capsys.readouterr()
    assert code == 2 and "orders" in text.out
    for raw in (b"Pa55word", b"xyzzy", b"plugh"):
        assert raw not in data
        assert raw not in text.out.encode() and raw not in text.err.encode()


def test_cli_aws_only_scan_needs_no_kubeconfig(
    moto: MotoServer,
    clients: Any,
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    repo = make_repo(
        {
            "driftwatch.yaml": "policies: {builtin: false}\n",
            "aws.yaml": resource("logs", BUCKET, "acme-logs", {}),
        }
    )
    code = main(["scan", "--repo", str(repo), "--aws-region", "us-east-1", "--format", "json"])
    out, err = capsys.readouterr()
    report = AuditReport.from_json(out)
    assert [(t.name, t.provider) for t in report.scan.targets] == [("aws", "aws")]
    assert {r.id: r.status for r in report.resources} == {
        rid("acme-logs", target="aws"): Status.IN_SYNC
    }
    coverage = report.scan.targets[0].coverage
    assert coverage is not None and coverage[BUCKET] == Coverage(managed=1, total=1)
    # Every registered type was listed (the default), none failed against moto.
    assert len(coverage) >= 10
    assert code == 0, err


def test_every_target_fills_the_partial_report(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    repo = make_repo(
        {
            "driftwatch.yaml": config(
                aws_target("one", types="[AWS::S3::Bucket]"),
                aws_target("two", types="[AWS::S3::Bucket]"),
            ),
            "aws.yaml": resource("logs", BUCKET, "acme-logs", {}),
        }
    )
    partials: list[AuditReport] = []
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False), partial=partials.append)
    assert [[t.name for t in p.scan.targets] for p in partials] == [["one"], ["one", "two"]]
    assert {r.id for r in report.resources} == {
        rid("acme-logs", target="one"),
        rid("acme-logs", target="two"),
    }


def test_a_target_of_another_account_is_not_scanned(
    moto: MotoServer, make_repo: RepoFactory
) -> None:
    repo = make_repo(
        {
            "driftwatch.yaml": config(
                aws_target(types="[AWS::S3::Bucket]", extra="    account: '999999999999'\n")
            ),
        }
    )
    with pytest.raises(
        ScanError, match="account 123456789012, not the target's account 999999999999"
    ):
        run_scan(ScanOptions(repo=str(repo), use_cache=False))


def test_specs_go_to_the_target_of_their_account(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="mine")
    other = json.loads(resource("theirs", BUCKET, "theirs", {}))
    other["spec"]["account"] = "999999999999"
    repo = make_repo(
        {
            "driftwatch.yaml": config(
                aws_target(types="[AWS::S3::Bucket]", extra="    account: '123456789012'\n")
            ),
            "aws.yaml": resource("mine", BUCKET, "mine", {}) + "---\n" + json.dumps(other),
        }
    )
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    assert {r.id: r.status for r in report.resources} == {rid("mine"): Status.IN_SYNC}
    [error] = report.errors
    assert "account 999999999999" in error.message and error.line == 3


# ---------------------------------------------------------------------------------------
# which targets a run scans


def test_kubernetes_targets_are_unchanged_and_aws_flags_add_an_aws_target() -> None:
    kube_only = Config(targets=[TargetConfig(name="prod", context="prod")])
    assert [t.name for t in effective_targets(kube_only, ScanOptions())] == ["prod"]
    assert effective_aws_targets(kube_only, ScanOptions()) == []
    # Nothing configured: the current kube context, as before.
    assert [t.name for t in effective_targets(Config(), ScanOptions())] == ["default"]
    # Only --aws-*: AWS alone, no cluster.
    flags = ScanOptions(aws_regions=["eu-west-1"])
    assert effective_targets(Config(), flags) == []
    [aws] = effective_aws_targets(Config(), flags)
    assert (aws.name, aws.provider, aws.regions) == ("aws", "aws", ["eu-west-1"])
    [aws] = effective_aws_targets(Config(), ScanOptions(aws_profile="audit"))
    assert (aws.name, aws.profile) == ("audit", "audit")
    # Both: the cluster and the account in one run.
    assert [t.name for t in effective_targets(kube_only, flags)] == ["prod"]
    assert [t.regions for t in effective_aws_targets(kube_only, flags)] == [["eu-west-1"]]
    both = Config(
        targets=[
            TargetConfig(name="prod", context="prod"),
            TargetConfig(name="acct", provider="aws", regions=["us-east-1"]),
        ]
    )
    assert [t.name for t in effective_targets(both, ScanOptions())] == ["prod"]
    assert [t.name for t in effective_aws_targets(both, ScanOptions())] == ["acct"]
    aws_only = Config(targets=[TargetConfig(name="acct", provider="aws")])
    assert effective_targets(aws_only, ScanOptions()) == []
    assert [t.name for t in effective_targets(aws_only, ScanOptions(context="kind"))] == ["kind"]


def test_target_settings_belong_to_their_provider() -> None:
    text = "targets:\n  - name: acct\n    provider: aws\n    kubeconfig: /x\n"
    with pytest.raises(ValueError, match="kubeconfig is not a setting of aws targets"):
        load_config(text)
    with pytest.raises(ValueError, match="roleArn is not a setting of kubernetes targets"):
        load_config("targets:\n  - name: c\n    roleArn: arn:aws:iam::1:role/x\n")
    config = load_config(
        "targets:\n  - name: acct\n    provider: aws\n    profile: audit\n"
        "    roleArn: arn:aws:iam::123456789012:role/driftwatch\n    regions: [eu-west-1]\n"
        "    types: [AWS::S3::Bucket]\n    endpointUrl: http://localhost:4566\n"
        "    account: '123456789012'\n"
    )
    [target] = config.targets
    assert (target.profile, target.regions, target.account) == (
        "audit",
        ["eu-west-1"],
        "123456789012",
    )


@pytest.mark.parametrize("read_all", [False, True])
def test_only_the_properties_specs_declare_or_policies_read_are_read(
    moto: MotoServer, clients: Any, make_repo: RepoFactory, read_all: bool
) -> None:
    s3 = clients("s3", "us-east-1")
    for bucket in ("acme-declared", "acme-other"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    spec = resource(
        "declared", BUCKET, "acme-declared", {"VersioningConfiguration": {"Status": "Enabled"}}
    )
    extra = "    readAllProperties: true\n" if read_all else ""
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target(types="[AWS::S3::Bucket]", extra=extra)),
            "aws/buckets.yaml": spec,
        }
    )
    found = scan(repo)
    assert found[rid("acme-declared")].status is Status.IN_SYNC
    other = found[rid("acme-other")]
    assert other.status is Status.UNMANAGED and other.live is not None
    read = set(other.live["spec"]["properties"])
    # Tags are declared by no spec and read by no policy: no GetBucketTagging call at all,
    # unless the target asks for every property.
    assert read == (
        {"BucketName", "VersioningConfiguration", "Tags"}
        if read_all
        else {"BucketName", "VersioningConfiguration"}
    )


VPC, GROUP = "AWS::EC2::VPC", "AWS::EC2::SecurityGroup"
# service answering garbage → (body, content type, the types it fails, reason snippet)
AWS_GARBAGE = {
    "s3-html": (
        b"<html><body><h1>Bad Gateway</h1></body></html>",
        "text/html",
        [BUCKET],
        "ListBuckets answered text/html that is not rest-xml data",
    ),
    "sqs-html": (b"<html>proxy login</html>", "text/html", [QUEUE], "that is not json data"),
    "sqs-wrong-shape": (b'{"QueueUrls": 5}', "application/x-amz-json-1.0", [QUEUE], "TypeError"),
    "sqs-json-list": (b"[1, 2]", "application/x-amz-json-1.0", [QUEUE], "the scanner failed"),
    "ec2-not-xml": (
        b"not xml at all\x1b]8;;\nforged line",
        "text/plain",
        [VPC, GROUP],
        "unreadable answer",
    ),
}


@pytest.mark.parametrize("mode", sorted(AWS_GARBAGE))
def test_garbage_from_one_service_is_not_checked_and_the_rest_audits(
    moto: MotoServer, clients: Any, make_repo: RepoFactory, mode: str
) -> None:
    body, content_type, failed, expected = AWS_GARBAGE[mode]
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    url = clients("sqs", "us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target()),
            "aws.yaml": resource("logs", BUCKET, "acme-logs", {})
            + "---\n"
            + resource("jobs", QUEUE, url, {}),
        }
    )
    service = mode.split("-")[0]
    moto.faults.answer_garbage(service, body, content_type=content_type)
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    found = {r.id: r for r in report.resources}
    for type_ in failed:
        scope = found[rid("*", type_)]
        assert scope.status is Status.NOT_CHECKED and scope.reason
        assert expected in scope.reason, scope.reason
        assert "\x1b" not in scope.reason and "\n" not in scope.reason
    spec_ids = {BUCKET: rid("acme-logs"), QUEUE: rid(url, QUEUE)}
    for type_, id_ in spec_ids.items():
        status = Status.NOT_CHECKED if type_ in failed else Status.IN_SYNC
        assert found[id_].status is status  # never "missing": the answer was not a list
    assert [t.name for t in report.scan.targets] == ["sandbox"]


def test_an_unavailable_service_is_retried_then_audited(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    url = clients("sqs", "us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target(types="[AWS::SQS::Queue]")),
            "aws.yaml": resource("jobs", QUEUE, url, {}),
        }
    )
    moto.faults.answer_garbage(
        "sqs", b"", "ListQueues", "text/plain", status="503 Service Unavailable", times=2
    )
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    assert list(iter_calls(moto.faults, "sqs")).count("ListQueues") == 3
    assert {r.id: r.status for r in report.resources}[rid(url, QUEUE)] is Status.IN_SYNC


def test_garbage_from_sts_does_not_stop_the_target(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    repo = make_repo(
        {
            "driftwatch.yaml": config(aws_target(types="[AWS::S3::Bucket]")),
            "aws.yaml": resource("logs", BUCKET, "acme-logs", {}),
        }
    )
    moto.faults.answer_garbage("sts", b"<html>not xml")
    report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    assert {r.id: r.status for r in report.resources}[rid("acme-logs")] is Status.IN_SYNC


def test_a_hostile_aws_endpoint_fails_its_target_alone(
    moto: MotoServer, clients: Any, make_repo: RepoFactory
) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    url = clients("sqs", "us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
    specs = resource("logs", BUCKET, "acme-logs", {}) + "---\n" + resource("jobs", QUEUE, url, {})
    types = "[AWS::S3::Bucket, AWS::SQS::Queue]"
    healthy = aws_target(types=types)
    repo = make_repo({"driftwatch.yaml": config(healthy), "aws.yaml": specs})
    alone = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    # Every request to this endpoint gets a proxy's HTML page, whatever the service.
    with TestAPIServer() as proxy:
        proxy.faults.garbage(b"<html><body>Sign in</body></html>", content_type="text/html")
        hostile = aws_target("hostile", types=types, extra=f"    endpointUrl: {proxy.url}\n")
        make_repo({"driftwatch.yaml": config(healthy, hostile)})
        report = run_scan(ScanOptions(repo=str(repo), use_cache=False))
    mine = [r.model_dump() for r in report.resources if r.target == "sandbox"]
    assert mine == [r.model_dump() for r in alone.resources]
    assert {r.status for r in alone.resources} == {Status.IN_SYNC}
    theirs = [r for r in report.resources if r.target == "hostile"]
    assert {r.status for r in theirs} == {Status.NOT_CHECKED}
    assert {r.kind for r in theirs if r.name == "*"} == {BUCKET, QUEUE}
    assert all("answered text/html that is not" in str(r.reason) for r in theirs)
    assert [t.name for t in report.scan.targets] == ["sandbox", "hostile"]
