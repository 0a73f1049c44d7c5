"""docs/aws-iam-policy.json, the least-privilege policy: what the registry gives, read-only,
and — the proof — allowing every API operation a scan of every type really calls.

The proof runs ``run_scan`` on every registered type against moto's server, with at least
one resource of each type (and the features that trigger conditional calls: inline and
attached policies, a private hosted zone, a customer managed key...), records each
operation botocore sends through a ``before-call`` hook on every client, and checks the
IAM action of each against the policy file.  A scanner that starts calling something new
fails it until the type's ``actions`` and the file are updated.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import botocore.session
import pytest

from driftwatch.providers.aws.model import REGISTRY, Clients, LiveResource
from driftwatch.providers.aws.types import load_types
from driftwatch.report import AuditReport, Status
from driftwatch.scan import ScanOptions, run_scan
from driftwatch.testing.moto import MotoServer, client_kwargs
from tests.conftest import RepoFactory

ROOT = Path(__file__).resolve().parents[3]
POLICY_FILE = ROOT / "docs" / "aws-iam-policy.json"
REGION = "us-east-1"
ACCOUNT = "123456789012"

# The verbs of configuration reads.  Anything else — Create, Put, Update, Delete, Tag,
# Untag, Modify, Attach, Set, Start, Invoke, Send... — has no place in an audit policy.
READ_VERBS = ("List", "Get", "Describe")
WRITE_VERBS = (
    "Create",
    "Put",
    "Update",
    "Delete",
    "Tag",
    "Untag",
    "Modify",
    "Attach",
    "Detach",
    "Associate",
    "Disassociate",
    "Set",
    "Add",
    "Remove",
    "Enable",
    "Disable",
    "Change",
    "Run",
    "Start",
    "Stop",
    "Terminate",
    "Reboot",
    "Invoke",
    "Publish",
    "Send",
    "Receive",
    "Subscribe",
    "Unsubscribe",
    "Authorize",
    "Revoke",
    "Restore",
    "Replace",
    "Assume",
    "Pass",
    "Encrypt",
    "Decrypt",
    "Generate",
    "Sign",
    "Import",
    "Upload",
    "Copy",
    "Purge",
)
# Reads of *data* rather than configuration, which the Get/List verbs alone would let in.
DATA_READS = frozenset(
    {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
        "lambda:GetFunction",
        "kms:GetPublicKey",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "rds:DownloadDBLogFilePortion",
    }
)

# botocore operations whose IAM action is not "<signing name>:<operation name>".  Only the
# operations driftwatch calls are listed: an unlisted one maps to its own name, and when
# that is not the real action the policy check fails until it is listed here.
IAM_ACTIONS = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action authorizing ``operation`` of ``service`` (a SigV4 signing name)."""
    return IAM_ACTIONS.get((service, operation), f"{service}:{operation}")


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aws_docs", ROOT / "scripts" / "aws_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def allowed_actions() -> set[str]:
    """The actions docs/aws-iam-policy.json allows (one Allow statement on every resource)."""
    document = json.loads(POLICY_FILE.read_text())
    [statement] = document["Statement"]
    assert (statement["Sid"], statement["Effect"], statement["Resource"]) == (
        "DriftwatchReadOnly",
        "Allow",
        "*",
    )
    return set(statement["Action"])


# ---------------------------------------------------------------------------------------
# The file


def test_policy_file_is_what_the_registry_gives() -> None:
    aws_docs = script()
    types = load_types()
    assert POLICY_FILE.read_text() == aws_docs.render_policy(types), (
        "run: python scripts/aws_docs.py"
    )
    document = json.loads(POLICY_FILE.read_text())
    assert document["Version"] == "2012-10-17"
    actions = document["Statement"][0]["Action"]
    assert actions == sorted(set(actions))
    declared = {a for t in types.values() for a in t.actions}
    assert set(actions) == declared | {"sts:GetCallerIdentity"}
    # Assuming a target's roleArn is done with the caller's credentials, not the role's.
    assert "sts:AssumeRole" not in actions


def test_policy_allows_only_configuration_reads() -> None:
    actions = allowed_actions()
    assert actions
    for action in sorted(actions):
        service, _, name = action.partition(":")
        assert service and service.islower() and "*" not in action, action
        assert name.startswith(READ_VERBS), f"{action} is not a List/Get/Describe action"
        assert not name.startswith(WRITE_VERBS), action
    assert actions.isdisjoint(DATA_READS), sorted(actions & DATA_READS)


def test_check_mode_reports_a_stale_policy_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws_docs = script()
    stale = tmp_path / "aws-iam-policy.json"
    stale.write_text(POLICY_FILE.read_text().replace('    "s3:GetBucketTagging",\n', ""))
    monkeypatch.setattr(aws_docs, "POLICY", stale)
    assert aws_docs.main(["--check"]) == 1
    assert "aws-iam-policy.json: out of date" in capsys.readouterr().err
    assert aws_docs.main([]) == 0  # rewrites it
    assert stale.read_text() == POLICY_FILE.read_text()
    assert aws_docs.main(["--check"]) == 0


def test_every_action_says_how_often_it_is_called() -> None:
    aws_docs = script()
    for resource_type in load_types().values():
        calls = aws_docs.calls_of(resource_type)
        assert [a for a, c in calls.items() if c.per == "page"], resource_type.name
    broken = dataclasses.replace(
        REGISTRY["AWS::S3::Bucket"], actions=(*REGISTRY["AWS::S3::Bucket"].actions, "s3:GetX")
    )
    with pytest.raises(ValueError, match="s3:GetX"):
        aws_docs.calls_of(broken)


# ---------------------------------------------------------------------------------------
# The proof: every operation a scan calls is allowed


@contextmanager
def recorded_operations() -> Iterator[list[tuple[str, str]]]:
    """(signing name, operation) of every API call made by any botocore client created
    inside the block, from the ``before-call`` event (once per call, each page included)."""
    calls: list[tuple[str, str]] = []
    lock = threading.Lock()
    create_client = botocore.session.Session.create_client

    def record(model: Any, **_: Any) -> None:
        with lock:
            calls.append((model.service_model.signing_name, model.name))

    def create_recorded_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-call", record)
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "create_client", create_recorded_client)
        yield calls


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _document(action: str, resource: str = "*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
        }
    )


TAGS = [{"Key": "team", "Value": "platform"}]


def create_one_of_each(clients: Clients) -> None:
    """At least one resource of every registered type in us-east-1 (and global), each with
    what makes its scanner's conditional calls happen."""
    s3 = clients("s3", REGION)
    s3.create_bucket(Bucket="acme-logs")
    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="acme-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket="acme-logs",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="acme-logs",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "logs/"},
                    "Expiration": {"Days": 30},
                }
            ]
        },
    )
    s3.put_bucket_policy(
        Bucket="acme-logs", Policy=_document("s3:GetObject", "arn:aws:s3:::acme-logs/*")
    )
    s3.put_bucket_tagging(Bucket="acme-logs", Tagging={"TagSet": TAGS})

    ec2 = clients("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)

    iam = clients("iam", "global")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust, Tags=TAGS)["Role"]
    managed = iam.create_policy(PolicyName="read", PolicyDocument=_document("s3:GetObject"))
    iam.attach_role_policy(RoleName="app", PolicyArn=managed["Policy"]["Arn"])
    iam.put_role_policy(RoleName="app", PolicyName="inline", PolicyDocument=_document("sqs:*"))
    iam.create_user(UserName="ci", Tags=TAGS)
    iam.create_group(GroupName="deployers")
    iam.add_user_to_group(GroupName="deployers", UserName="ci")
    iam.attach_user_policy(UserName="ci", PolicyArn=managed["Policy"]["Arn"])
    iam.put_user_policy(UserName="ci", PolicyName="push", PolicyDocument=_document("ecr:*"))

    kms = clients("kms", REGION)
    key = kms.create_key(Description="orders", Tags=[{"TagKey": "team", "TagValue": "x"}])
    kms.enable_key_rotation(KeyId=key["KeyMetadata"]["KeyId"])

    clients("lambda", REGION).create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Tags={"team": "orders"},
    )
    clients("dynamodb", REGION).create_table(
        TableName="orders",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=TAGS,
    )
    queue = clients("sqs", REGION).create_queue(QueueName="jobs", tags={"team": "jobs"})
    sns = clients("sns", REGION)
    topic = sns.create_topic(Name="events", Tags=TAGS)["TopicArn"]
    queue_arn = clients("sqs", REGION).get_queue_attributes(
        QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    clients("rds", REGION).create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="never-read-1",
        Tags=TAGS,
    )
    route53 = clients("route53", "global")
    zone = route53.create_hosted_zone(
        Name="internal.example.com",
        CallerReference="internal",
        VPC={"VPCRegion": REGION, "VPCId": vpc},
        HostedZoneConfig={"Comment": "private", "PrivateZone": True},
    )["HostedZone"]["Id"]
    route53.change_tags_for_resource(
        ResourceType="hostedzone", ResourceId=zone.rpartition("/")[2], AddTags=TAGS
    )
    logs = clients("logs", REGION)
    logs.create_log_group(logGroupName="/orders/api", tags={"team": "orders"})


def scan_all(make_repo: RepoFactory, types: str = "[]") -> AuditReport:
    """``run_scan`` of one aws target (every registered type by default) in us-east-1,
    reading every property (the most a scan can call)."""
    repo = make_repo(
        {
            "driftwatch.yaml": (
                "policies: {builtin: false}\n"
                "targets:\n"
                "  - name: sandbox\n"
                "    provider: aws\n"
                f'    account: "{ACCOUNT}"\n'
                f"    regions: [{REGION}]\n"
                f"    types: {types}\n"
                "    readAllProperties: true\n"
            )
        }
    )
    return run_scan(ScanOptions(repo=str(repo), use_cache=False))


def test_every_operation_a_full_scan_calls_is_allowed_by_the_policy(
    moto: MotoServer, clients: Clients, make_repo: RepoFactory
) -> None:
    types = load_types()
    create_one_of_each(clients)
    moto.faults.calls.clear()

    with recorded_operations() as operations:
        report = scan_all(make_repo)

    # The scan really covered every type: each listed, none failed, each found resources.
    assert report.errors == []
    assert [r.id for r in report.resources if r.status is Status.NOT_CHECKED] == []
    assert {r.kind for r in report.resources} == set(types)
    [target] = report.scan.targets
    assert target.account == ACCOUNT

    called = {iam_action(service, operation) for service, operation in operations}
    policy = allowed_actions()
    assert called - policy == set(), (
        "operations the scan calls that docs/aws-iam-policy.json does not allow: add them to"
        " the type's `actions` and run python scripts/aws_docs.py"
    )
    # ...and the policy grants nothing the scan does not use.  GetBucketLocation is the
    # one call that depends on the endpoint (AWS names each bucket's region in ListBuckets,
    # moto filters by it): the test below makes it happen.
    unused = policy - called
    assert unused <= {"s3:GetBucketLocation"}, sorted(unused)
    # Every request the server received came through a recorded client: no call bypassed
    # the hook (moto's middleware sees each signed request once; there were no retries).
    wire = Counter(service for service, _, _ in moto.faults.calls)
    assert wire == Counter(service for service, _ in operations)


def _with_extra_call(
    type_name: str, extra: Callable[[Clients, LiveResource], object]
) -> Callable[[Clients, str], list[LiveResource]]:
    scan = REGISTRY[type_name].scan

    def scan_and_call(clients: Clients, region: str) -> list[LiveResource]:
        found = list(scan(clients, region))
        for resource in found:
            extra(clients, resource)
        return found

    return scan_and_call


def test_a_call_missing_from_the_policy_is_caught(
    moto: MotoServer,
    clients: Clients,
    make_repo: RepoFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above fails for a scanner that calls something its ``actions`` omit."""
    bucket = "AWS::S3::Bucket"
    clients("s3", REGION).create_bucket(Bucket="acme-logs")
    acl = _with_extra_call(
        bucket, lambda c, r: c("s3", r.region).get_bucket_acl(Bucket=r.identifier)
    )
    monkeypatch.setitem(REGISTRY, bucket, dataclasses.replace(REGISTRY[bucket], scan=acl))

    with recorded_operations() as operations:
        report = scan_all(make_repo, types=f"[{bucket}]")

    assert [r.name for r in report.resources] == ["acme-logs"]
    called = {iam_action(service, operation) for service, operation in operations}
    assert called - allowed_actions() == {"s3:GetBucketAcl"}


class _IgnoresRegionFilter:
    """An S3 client of an endpoint whose ListBuckets neither names the buckets' regions
    nor filters by ``BucketRegion`` (some S3-compatible stores)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_paginator(self, operation: str) -> Any:
        paginator = self._client.get_paginator(operation)

        class _Unfiltered:
            def paginate(self, **kwargs: Any) -> Any:
                kwargs.pop("BucketRegion", None)
                return paginator.paginate(**kwargs)

        return _Unfiltered()


def test_bucket_locations_are_read_only_where_listbuckets_does_not_filter_by_region(
    moto: MotoServer, clients: Clients
) -> None:
    clients("s3", REGION).create_bucket(Bucket="virginia")
    clients("s3", "eu-west-1").create_bucket(
        Bucket="ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    bucket = REGISTRY["AWS::S3::Bucket"]
    with recorded_operations() as operations:
        s3 = boto3.client("s3", **client_kwargs(moto, REGION))

        def honest(service: str, region: str) -> Any:
            return s3

        def unfiltered(service: str, region: str) -> Any:
            return _IgnoresRegionFilter(s3)

        # moto filters by region without naming it: one more listing shows the filter
        # works, and no bucket's location is asked.
        assert [r.identifier for r in bucket.scan(honest, REGION)] == ["virginia"]
        first = [iam_action(service, op) for service, op in operations]
        operations.clear()
        # An endpoint that ignores the filter: each bucket's location is asked, and the
        # bucket in another region is still left out.
        assert [r.identifier for r in bucket.scan(unfiltered, REGION)] == ["virginia"]
        second = [iam_action(service, op) for service, op in operations]

    assert first.count("s3:ListAllMyBuckets") == 2
    assert "s3:GetBucketLocation" not in first
    assert second.count("s3:GetBucketLocation") == 2
    assert set(first) | set(second) <= allowed_actions()
