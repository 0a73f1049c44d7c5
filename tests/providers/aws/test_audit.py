"""The pure AWS audit: specs and live resources (shaped as the scanners return them) in,
report resources and coverage out."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from driftwatch.config import IgnoreRule, Unmanaged
from driftwatch.engine.ignore import IgnoreRules
from driftwatch.engine.paths import parse_path
from driftwatch.policy.engine import load_documents
from driftwatch.providers.aws.audit import (
    AccountState,
    ScanFailure,
    audit_account,
    belongs,
    resource_key,
)
from driftwatch.providers.aws.model import LiveResource
from driftwatch.providers.aws.specs import AWSSpec
from driftwatch.providers.aws.types import load_types
from driftwatch.providers.kubernetes.normalize import SecretMasker
from driftwatch.report import AuditReport, Coverage, Op, Resource, Status

TYPES = load_types()
MASKER = SecretMasker(b"test-key")
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
FUNCTION = "AWS::Lambda::Function"
ROLE = "AWS::IAM::Role"
REGION = "eu-west-1"


def spec(
    type_: str,
    identifier: str,
    properties: dict[str, Any],
    region: str = REGION,
    account: str | None = None,
    line: int = 1,
) -> AWSSpec:
    from driftwatch.report import Source

    return AWSSpec(
        name=identifier,
        type=type_,
        region=region,
        account=account,
        identifier=identifier,
        properties=properties,
        labels={},
        source=Source(path="aws/resources.yaml", line=line),
    )


def bucket(name: str, region: str = REGION, **properties: Any) -> LiveResource:
    # What live/s3.py returns: BucketName always, each configuration when set.
    return LiveResource(BUCKET, region, name, {"BucketName": name, **properties})


def state(
    *resources: LiveResource,
    scanned: set[tuple[str, str]] | None = None,
    failures: list[ScanFailure] | None = None,
) -> AccountState:
    return AccountState(
        target="prod",
        resources=list(resources),
        scanned=scanned if scanned is not None else {(BUCKET, REGION), (QUEUE, REGION)},
        failures=failures or [],
        account="123456789012",
    )


def run(
    specs: list[AWSSpec],
    live: AccountState,
    rules: list[IgnoreRule] | None = None,
    **kwargs: Any,
) -> dict[str, Resource]:
    result = audit_account(specs, live, TYPES, MASKER, IgnoreRules(rules or [], []), **kwargs)
    return {r.id: r for r in result.resources}


def rid(type_: str, name: str, region: str = REGION) -> str:
    return resource_key("prod", type_, region, name).id


VERSIONED = {"VersioningConfiguration": {"Status": "Enabled"}}


def test_id_format_with_cloudformation_type_names() -> None:
    assert rid(BUCKET, "logs") == "aws:prod/core/AWS::S3::Bucket/eu-west-1/logs"
    # The reconcile selection syntax (id#path) still splits where it should.
    selection = f"{rid(BUCKET, 'logs')}#properties.Tags[Key=team].Value"
    found_id, _, path = selection.partition("#")
    assert found_id == rid(BUCKET, "logs")
    assert parse_path(path)[-1] == "Value"


def test_in_sync_when_declared_properties_match_and_omitted_ones_are_not_drift() -> None:
    live = bucket(
        "logs",
        VersioningConfiguration={"Status": "Enabled"},
        PublicAccessBlockConfiguration={"BlockPublicAcls": True},
    )
    found = run([spec(BUCKET, "logs", VERSIONED)], state(live))
    resource = found[rid(BUCKET, "logs")]
    assert resource.status is Status.IN_SYNC
    assert resource.changes == [] and resource.live is None and resource.desired is None
    assert (resource.provider, resource.kind, resource.namespace, resource.name) == (
        "aws",
        BUCKET,
        REGION,
        "logs",
    )
    assert resource.apiVersion == "driftwatch.dev/v1alpha1"
    assert resource.source is not None and resource.source.path == "aws/resources.yaml"
    shown = run([spec(BUCKET, "logs", VERSIONED)], state(live), objects_in_sync=True)
    desired = shown[rid(BUCKET, "logs")].desired
    assert desired is not None and desired["spec"]["properties"] == VERSIONED


def test_modified_with_exact_changes() -> None:
    desired = {
        "VersioningConfiguration": {"Status": "Enabled"},
        "Tags": [{"Key": "team", "Value": "platform"}],
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
            ]
        },
    }
    live = bucket(
        "logs",
        VersioningConfiguration={"Status": "Suspended"},
        Tags=[{"Key": "owner", "Value": "ada"}, {"Key": "team", "Value": "platform"}],
        BucketEncryption={
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                    "BucketKeyEnabled": False,  # filled in by AWS: not drift
                }
            ]
        },
    )
    resource = run([spec(BUCKET, "logs", desired)], state(live))[rid(BUCKET, "logs")]
    assert resource.status is Status.MODIFIED
    assert [(c.path, c.op, c.desired, c.live) for c in resource.changes] == [
        ("properties.VersioningConfiguration.Status", Op.CHANGED, "Enabled", "Suspended"),
        ("properties.Tags[Key=owner]", Op.ADDED, None, {"Key": "owner", "Value": "ada"}),
    ]
    assert resource.desired is not None and resource.live is not None
    assert resource.live["kind"] == "AWSResource"
    assert resource.live["spec"]["properties"]["BucketName"] == "logs"
    assert "account" not in resource.live["spec"]  # the spec names none


def test_a_declared_property_absent_live_is_removed() -> None:
    resource = run([spec(BUCKET, "logs", VERSIONED)], state(bucket("logs")))[rid(BUCKET, "logs")]
    assert [(c.path, c.op) for c in resource.changes] == [
        ("properties.VersioningConfiguration", Op.REMOVED)
    ]


def test_missing_unmanaged_and_aws_managed() -> None:
    default_key = LiveResource(
        "AWS::KMS::Key",
        REGION,
        "mrk-1",
        {"Description": "Default key"},
        aws_managed="AWS managed key",
    )
    live = state(
        bucket("stray"),
        default_key,
        scanned={(BUCKET, REGION), ("AWS::KMS::Key", REGION)},
    )
    found = run([spec(BUCKET, "logs", VERSIONED)], live)
    assert found[rid(BUCKET, "logs")].status is Status.MISSING
    assert found[rid(BUCKET, "logs")].desired is not None
    stray = found[rid(BUCKET, "stray")]
    assert stray.status is Status.UNMANAGED and stray.source is None
    assert stray.live is not None and stray.live["spec"]["identifier"] == "stray"
    assert rid("AWS::KMS::Key", "mrk-1") not in found
    excluded = run([], live, unmanaged=Unmanaged(excludeObjects=["AWS::S3::Bucket/str*"]))
    assert rid(BUCKET, "stray") not in excluded
    assert run([], live, unmanaged=Unmanaged(enabled=False)) == {}


def test_failed_scope_is_not_checked_once_and_its_specs_are_not_missing() -> None:
    failure = ScanFailure(QUEUE, REGION, "AccessDenied: not authorized (ListQueues)")
    live = state(bucket("logs", **VERSIONED), scanned={(BUCKET, REGION)}, failures=[failure])
    found = run([spec(BUCKET, "logs", VERSIONED), spec(QUEUE, "jobs", {"DelaySeconds": 5})], live)
    scope = found[rid(QUEUE, "*")]
    assert scope.status is Status.NOT_CHECKED and scope.name == "*"
    assert scope.reason is not None and "AccessDenied" in scope.reason
    jobs = found[rid(QUEUE, "jobs")]
    assert jobs.status is Status.NOT_CHECKED and jobs.reason is not None
    assert "AccessDenied" in jobs.reason
    assert found[rid(BUCKET, "logs")].status is Status.IN_SYNC


def test_a_region_that_was_not_listed_is_not_checked() -> None:
    found = run([spec(BUCKET, "logs", VERSIONED, region="ap-south-1")], state())
    resource = found[rid(BUCKET, "logs", "ap-south-1")]
    assert resource.status is Status.NOT_CHECKED


def test_ignore_rules_by_type_and_name() -> None:
    desired = {"Tags": [{"Key": "team", "Value": "a"}], **VERSIONED}
    live = state(
        bucket(
            "logs",
            Tags=[{"Key": "team", "Value": "b"}],
            VersioningConfiguration={"Status": "Suspended"},
        ),
        bucket("data", Tags=[{"Key": "team", "Value": "b"}], **VERSIONED),
    )
    rules = [
        IgnoreRule(
            kind=BUCKET, name="logs", jsonPointers=["/properties/Tags"], reason="tags by finance"
        ),
        IgnoreRule(
            id="versioning",
            kind="AWS::S3::*",
            jqPathExpressions=[".properties.VersioningConfiguration"],
        ),
        IgnoreRule(kind=QUEUE, jsonPointers=["/properties/Tags"]),
    ]
    found = run([spec(BUCKET, "logs", desired), spec(BUCKET, "data", desired)], live, rules)
    logs = found[rid(BUCKET, "logs")]
    assert logs.status is Status.IGNORED
    assert [c.ignoredBy for c in logs.changes] == [
        "ignoreDifferences[0]: tags by finance",
        "versioning",
    ]
    data = found[rid(BUCKET, "data")]  # the name does not match the first rule
    assert data.status is Status.MODIFIED
    assert [c.ignoredBy for c in data.changes] == [None]


def test_a_failing_jq_rule_is_a_report_error_of_the_target() -> None:
    rules = [IgnoreRule(id="boom", kind=BUCKET, jqPathExpressions=['.properties | error("boom")'])]
    result = audit_account(
        [spec(BUCKET, "logs", VERSIONED)],
        state(bucket("logs", VersioningConfiguration={"Status": "Suspended"})),
        TYPES,
        MASKER,
        IgnoreRules(rules, []),
    )
    (resource,) = [r for r in result.resources if r.name == "logs"]
    assert resource.status is Status.MODIFIED  # the rule ignored nothing
    (error,) = result.errors
    assert error.target == "prod"
    assert error.key == "ignoreDifferences.0.jqPathExpressions.0"
    assert error.message == (
        f"ignore rule boom: jq path expression failed on {BUCKET} {REGION}/logs: boom;"
        " it ignores nothing there"
    )


def test_duplicate_specs_are_an_error_and_the_first_is_audited() -> None:
    result = audit_account(
        [spec(BUCKET, "logs", VERSIONED, line=1), spec(BUCKET, "logs", {}, line=9)],
        state(bucket("logs")),
        TYPES,
        MASKER,
        IgnoreRules([], []),
    )
    assert len(result.errors) == 1
    assert result.errors[0].line == 9 and "aws/resources.yaml:1" in result.errors[0].message
    [resource] = [r for r in result.resources if r.name == "logs"]
    assert resource.status is Status.MODIFIED


def test_coverage_counts_declared_over_live_without_aws_created() -> None:
    live = state(
        bucket("a", **VERSIONED),
        bucket("b"),
        bucket("c"),
        LiveResource(QUEUE, REGION, "https://sqs/q", {"QueueName": "q"}, aws_managed="made by AWS"),
        scanned={(BUCKET, REGION), (QUEUE, REGION), (FUNCTION, REGION)},
        failures=[ScanFailure(ROLE, "global", "AccessDenied")],
    )
    result = audit_account(
        [spec(BUCKET, "a", VERSIONED), spec(BUCKET, "gone", {})],
        live,
        TYPES,
        MASKER,
        IgnoreRules([], []),
    )
    assert result.coverage == {
        BUCKET: Coverage(managed=1, total=3),
        FUNCTION: Coverage(managed=0, total=0),
        QUEUE: Coverage(managed=0, total=0),
    }
    assert result.coverage[BUCKET].percent == pytest.approx(33.3)
    assert result.coverage[FUNCTION].percent == 100.0
    assert ROLE not in result.coverage  # never listed: unknown, not 0 %


def test_lambda_environment_never_reaches_the_report_but_changes_are_seen() -> None:
    function = {
        "FunctionName": "orders",
        "Runtime": "python3.12",
        "Environment": {"Variables": {"DB_PASSWORD": "hunter2-live", "LOG_LEVEL": "info"}},
    }
    live = state(
        LiveResource(FUNCTION, REGION, "orders", function),
        scanned={(FUNCTION, REGION)},
    )
    desired = {"Environment": {"Variables": {"DB_PASSWORD": "hunter2-git", "LOG_LEVEL": "info"}}}
    result = audit_account(
        [spec(FUNCTION, "orders", desired)], live, TYPES, MASKER, IgnoreRules([], [])
    )
    [resource] = result.resources
    assert resource.status is Status.MODIFIED
    [change] = resource.changes
    assert change.path == "properties.Environment.Variables.DB_PASSWORD"
    assert str(change.desired).startswith("<secret hmac:") and change.desired != change.live
    from datetime import UTC, datetime

    from driftwatch.report import ScanMeta

    meta = ScanMeta(
        repo=".",
        ref="HEAD",
        commit=None,
        startedAt=datetime(2026, 1, 1, tzinfo=UTC),
        finishedAt=datetime(2026, 1, 1, tzinfo=UTC),
        driftwatchVersion="test",
    )
    data = AuditReport.build(meta, result.resources, result.errors).to_json()
    assert b"hunter2" not in data
    assert b"LOG_LEVEL" in data  # names are not secrets


def test_keys_added_inside_a_declared_policy_or_environment_are_drift() -> None:
    trust: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    widened = {
        **trust,
        "Statement": [
            {
                **trust["Statement"][0],
                "Principal": {"Service": "ec2.amazonaws.com", "AWS": "210987654321"},
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ],
    }
    role = LiveResource(ROLE, "global", "app", {"AssumeRolePolicyDocument": widened})
    found = run(
        [spec(ROLE, "app", {"AssumeRolePolicyDocument": trust}, region="global")],
        state(role, scanned={(ROLE, "global")}),
    )
    resource = found[rid(ROLE, "app", "global")]
    # A policy grants what it says: AWS fills nothing in, so every added key is someone's.
    assert [(c.path, c.op, c.live) for c in resource.changes] == [
        (
            "properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS",
            Op.ADDED,
            "210987654321",
        ),
        (
            'properties.AssumeRolePolicyDocument.Statement[0].Condition.Bool["aws:MultiFactorAuthPresent"]',
            Op.ADDED,
            "false",
        ),
    ]
    # Lambda environment variables are all the user's too; other maps keep AWS defaults.
    function = {
        "Environment": {"Variables": {"LOG_LEVEL": "info", "DEBUG": "1"}},
        "TracingConfig": {"Mode": "Active", "Extra": "aws-default"},
    }
    desired = {
        "Environment": {"Variables": {"LOG_LEVEL": "info"}},
        "TracingConfig": {"Mode": "Active"},
    }
    live = state(LiveResource(FUNCTION, REGION, "fn", function), scanned={(FUNCTION, REGION)})
    [change] = run([spec(FUNCTION, "fn", desired)], live)[rid(FUNCTION, "fn")].changes
    assert (change.path, change.op, change.desired) == (
        "properties.Environment.Variables.DEBUG",
        Op.ADDED,
        None,
    )
    assert str(change.live).startswith("<secret hmac:")


def test_a_policy_git_does_not_declare_is_not_compared() -> None:
    # SNS gives every topic a default policy; a spec without TopicPolicy is in sync.
    default = {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SNS:Publish"}],
    }
    topic = "AWS::SNS::Topic"
    live = LiveResource(
        topic, REGION, "t", {"TopicName": "t", "TopicPolicy": {"PolicyDocument": default}}
    )
    found = run([spec(topic, "t", {"TopicName": "t"})], state(live, scanned={(topic, REGION)}))
    assert found[rid(topic, "t")].status is Status.IN_SYNC


POLICY = """
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata: {name: bucket-versioning, severity: medium}
spec:
  provider: aws
  scope: [desired, live]
  match: {resourceTypes: [AWS::S3::Bucket]}
  validations:
    - name: enabled
      expression: >-
        object.type == "AWS::S3::Bucket" && has(properties.VersioningConfiguration)
        && properties.VersioningConfiguration.Status == "Enabled"
      message: versioning must be enabled
      fieldPath: spec.properties.VersioningConfiguration
"""


def test_policies_run_on_both_sides_with_the_kubernetes_functions() -> None:
    policies = load_documents("policies/versioning.yaml", POLICY)
    assert not policies.errors
    live = state(
        bucket("drifted", VersioningConfiguration={"Status": "Suspended"}),
        bucket("never"),
        bucket("stray"),
    )
    specs = [spec(BUCKET, "drifted", VERSIONED, line=3), spec(BUCKET, "never", {}, line=12)]
    found = run(specs, live, policies=policies, today=date(2026, 1, 1))
    drifted = found[rid(BUCKET, "drifted")].violations
    assert [(v.scope, v.path) for v in drifted] == [("live", None)]
    never = found[rid(BUCKET, "never")].violations
    assert [(v.scope, v.path, v.line) for v in never] == [
        ("desired+live", "aws/resources.yaml", 12)
    ]
    stray = found[rid(BUCKET, "stray")].violations
    assert [v.scope for v in stray] == ["live"]
    assert stray[0].message == "versioning must be enabled"


def test_tags_are_labels_for_policy_selectors() -> None:
    text = POLICY.replace(
        "match: {resourceTypes: [AWS::S3::Bucket]}",
        "match: {resourceTypes: [AWS::S3::Bucket], labelSelector: {matchLabels: {env: prod}}}",
    )
    policies = load_documents("p.yaml", text)
    live = state(
        bucket("prod-bucket", Tags=[{"Key": "env", "Value": "prod"}]),
        bucket("dev-bucket", Tags=[{"Key": "env", "Value": "dev"}]),
    )
    found = run([], live, policies=policies, today=date(2026, 1, 1))
    assert found[rid(BUCKET, "prod-bucket")].violations
    assert not found[rid(BUCKET, "dev-bucket")].violations


def test_which_target_audits_a_spec() -> None:
    anywhere = spec(BUCKET, "a", {})
    pinned = spec(BUCKET, "b", {}, account="111111111111")
    iam = spec(ROLE, "r", {}, region="global", account="111111111111")
    assert belongs(anywhere, "222222222222", [REGION])
    assert belongs(pinned, None, [REGION])
    assert belongs(pinned, "111111111111", [REGION])
    assert not belongs(pinned, "222222222222", [REGION])
    assert not belongs(anywhere, None, ["us-east-1"])
    assert belongs(iam, "111111111111", ["us-east-1"])  # global types: any region
    assert belongs(anywhere, None, None)


def test_json_of_aws_resources_round_trips() -> None:
    result = audit_account(
        [spec(BUCKET, "logs", VERSIONED)],
        state(bucket("logs"), bucket("x")),
        TYPES,
        MASKER,
        IgnoreRules([], []),
    )
    payload = json.dumps([r.model_dump(mode="json") for r in result.resources])
    again = [Resource.model_validate(r) for r in json.loads(payload)]
    assert again == result.resources


async def test_the_tui_shows_aws_resources() -> None:
    from datetime import UTC, datetime

    from driftwatch.report import ScanMeta, Target
    from driftwatch.tui.app import DriftwatchApp, TuiOptions
    from driftwatch.tui.model import Group
    from driftwatch.tui.widgets.detail import Detail
    from driftwatch.tui.widgets.drift_tree import DriftTree

    live = state(
        bucket("logs", VersioningConfiguration={"Status": "Suspended"}),
        failures=[ScanFailure(ROLE, "global", "AccessDenied: no")],
    )
    result = audit_account(
        [spec(BUCKET, "logs", VERSIONED)], live, TYPES, MASKER, IgnoreRules([], [])
    )
    meta = ScanMeta(
        repo=".",
        ref="HEAD",
        commit=None,
        targets=[Target(name="prod", provider="aws", coverage=result.coverage)],
        startedAt=datetime(2026, 1, 1, tzinfo=UTC),
        finishedAt=datetime(2026, 1, 1, tzinfo=UTC),
        driftwatchVersion="test",
    )
    report = AuditReport.from_json(AuditReport.build(meta, result.resources, []).to_json())
    app = DriftwatchApp(report=report, options=TuiOptions())
    async with app.run_test(size=(160, 48)) as pilot:
        tree = app.query_one(DriftTree)
        kinds = [c.data.label for c in tree.root.children[0].children if isinstance(c.data, Group)]
        assert kinds == [ROLE, BUCKET]
        await pilot.press("j", "j", "enter", "j", "space", "j")  # the bucket, in its region
        selected = tree.cursor_node.data if tree.cursor_node else None
        assert isinstance(selected, Resource) and selected.name == "logs"
        body = app.query_one(Detail).text.plain
        assert "properties.VersioningConfiguration.Status" in body
        assert "Enabled" in body and "Suspended" in body
