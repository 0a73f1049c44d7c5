"""AWS canonical forms: each noise source compares equal, each real change does not."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from driftwatch.engine.diff import diff
from driftwatch.engine.paths import format_path, parse_path
from driftwatch.providers.aws.normalize import (
    DIFF_RULES,
    canonical_policy,
    canonical_properties,
    scalars_equal,
)
from driftwatch.providers.kubernetes.normalize import SecretMasker
from driftwatch.report import Op

MASKER = SecretMasker(b"test-key")


def canon(properties: dict[str, Any], secret: tuple[str, ...] = ()) -> dict[str, Any]:
    return canonical_properties(properties, secret, MASKER)


def changes(desired: dict[str, Any], live: dict[str, Any], secret: tuple[str, ...] = ()) -> list:
    return [
        (format_path(c.path), c.op, c.desired, c.live)
        for c in diff(
            {"properties": canon(desired, secret)},
            {"properties": canon(live, secret)},
            DIFF_RULES,
        )
    ]


# What IAM's GetRolePolicy / S3's GetBucketPolicy hand back (as the scanners pass it on).
LIVE_BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOnly",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": ["s3:ListBucket", "s3:GetObject"],
            "Resource": ["arn:aws:s3:::acme/*", "arn:aws:s3:::acme"],
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::acme/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ],
}


def test_policy_statements_are_a_set_and_scalars_equal_one_item_lists() -> None:
    desired = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:*"],
                "Resource": ["arn:aws:s3:::acme/*"],
                "Condition": {"Bool": {"aws:SecureTransport": False}},
            },
            {
                "Sid": "ReadOnly",
                "Effect": "Allow",
                "Principal": {"AWS": "123456789012"},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme", "arn:aws:s3:::acme/*"],
            },
        ],
    }
    assert canonical_policy(desired) == canonical_policy(LIVE_BUCKET_POLICY)
    assert (
        changes(
            {"BucketPolicy": {"PolicyDocument": desired}},
            {"BucketPolicy": {"PolicyDocument": LIVE_BUCKET_POLICY}},
        )
        == []
    )


def test_policy_as_json_text_or_url_encoded_equals_the_mapping() -> None:
    text = json.dumps(LIVE_BUCKET_POLICY)
    assert canon({"PolicyDocument": text}) == canon({"PolicyDocument": LIVE_BUCKET_POLICY})
    assert canon({"PolicyDocument": quote(text)}) == canon({"PolicyDocument": LIVE_BUCKET_POLICY})
    # Not a policy: left alone.
    assert canon({"Description": "{not json"}) == {"Description": "{not json"}


def test_missing_version_is_the_iam_default_and_differs_from_2012() -> None:
    statement = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
    assert canonical_policy({"Statement": statement})["Version"] == "2008-10-17"
    found = changes(
        {"QueuePolicy": {"Statement": [statement]}},
        {"QueuePolicy": {"Version": "2012-10-17", "Statement": statement}},
    )
    assert found == [("properties.QueuePolicy.Version", Op.CHANGED, "2008-10-17", "2012-10-17")]


def test_a_changed_statement_is_reported_by_sid() -> None:
    live = json.loads(json.dumps(LIVE_BUCKET_POLICY))
    live["Statement"][0]["Action"].append("s3:PutObject")
    found = changes(
        {"BucketPolicy": {"PolicyDocument": LIVE_BUCKET_POLICY}},
        {"BucketPolicy": {"PolicyDocument": live}},
    )
    assert found == [
        (
            "properties.BucketPolicy.PolicyDocument.Statement[Sid=ReadOnly].Action",
            Op.CHANGED,
            ["s3:GetObject", "s3:ListBucket"],
            ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
        )
    ]


def test_statements_without_sid_compare_as_a_sorted_list() -> None:
    a = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}
    b = {"Effect": "Allow", "Action": "sns:Subscribe", "Resource": "*"}
    assert changes({"P": {"Statement": [a, b]}}, {"P": {"Statement": [b, a]}}) == []
    found = changes({"P": {"Statement": [a]}}, {"P": {"Statement": [a, b]}})
    assert [(p, op) for p, op, _, _ in found] == [("properties.P.Statement", Op.CHANGED)]


def test_principal_and_condition_values_are_sets_of_text() -> None:
    desired = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {
                "Service": ["lambda.amazonaws.com"],
                "AWS": ["111111111111", "222222222222"],
            },
            "Action": "sts:AssumeRole",
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}},
        }
    }
    live = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Service": "lambda.amazonaws.com",
                    "AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:root"],
                },
                "Action": ["sts:AssumeRole"],
                "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
            }
        ]
    }
    assert canonical_policy(desired) == canonical_policy(live)
    live["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::333333333333:role/x"
    assert canonical_policy(desired) != canonical_policy(live)


def test_tags_are_matched_by_key_and_aws_tags_are_dropped() -> None:
    desired = {"Tags": [{"Key": "team", "Value": "platform"}, {"Key": "cost", "Value": 20}]}
    live = {
        "Tags": [
            {"Key": "aws:cloudformation:stack-name", "Value": "stack"},
            {"Key": "cost", "Value": "20"},
            {"Key": "team", "Value": "data"},
            {"Key": "owner", "Value": "ada"},
        ]
    }
    found = changes(desired, live)
    assert found == [
        ("properties.Tags[Key=team].Value", Op.CHANGED, "platform", "data"),
        ("properties.Tags[Key=owner]", Op.ADDED, None, {"Key": "owner", "Value": "ada"}),
    ]
    # The paths read back (users write them in ignore rules and reconcile selections).
    assert format_path(parse_path("properties.Tags[Key=team].Value")) == (
        "properties.Tags[Key=team].Value"
    )
    assert canon({"Tags": {"aws:x": "1", "a": "b"}}) == {"Tags": {"a": "b"}}


def test_numbers_equal_numeric_strings_and_booleans_their_text() -> None:
    assert scalars_equal((), 20, "20")
    assert scalars_equal((), "20", 20.0)
    assert scalars_equal((), True, "true")
    assert scalars_equal((), "False", False)
    assert not scalars_equal((), 20, "21")
    assert not scalars_equal((), True, "1")
    assert not scalars_equal((), True, 1)
    assert not scalars_equal((), "20", "20.0")  # two strings: as written
    assert (
        changes({"MemorySize": "256", "Enabled": "true"}, {"MemorySize": 256, "Enabled": True})
        == []
    )
    assert changes({"MemorySize": 512}, {"MemorySize": 256}) == [
        ("properties.MemorySize", Op.CHANGED, 512, 256)
    ]


def test_security_group_rules_are_a_set_matched_by_what_they_allow() -> None:
    live = {
        "SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "CidrIp": "10.0.0.0/8",
                "Description": "ssh from the office",
            },
        ],
        "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
    }
    desired = {
        "SecurityGroupIngress": [
            {
                "IpProtocol": "6",
                "FromPort": "22",
                "ToPort": "22",
                "CidrIp": "10.0.0.0/8",
                "Description": "ssh",
            },
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
        ],
        "SecurityGroupEgress": [
            {"IpProtocol": "all", "FromPort": -1, "ToPort": -1, "CidrIp": "0.0.0.0/0"}
        ],
    }
    found = changes(desired, live)
    assert found == [
        (
            "properties.SecurityGroupIngress[IpProtocol=tcp,FromPort=22,ToPort=22,CidrIp=10.0.0.0/8].Description",
            Op.CHANGED,
            "ssh",
            "ssh from the office",
        )
    ]
    live["SecurityGroupIngress"].append(
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIp": "0.0.0.0/0"}
    )
    added = [c for c in changes(desired, live) if c[1] is Op.ADDED]
    assert [c[0] for c in added] == [
        "properties.SecurityGroupIngress[IpProtocol=tcp,FromPort=3389,ToPort=3389,CidrIp=0.0.0.0/0]"
    ]
    segments = parse_path(added[0][0])
    assert format_path(segments) == added[0][0]


def test_unordered_id_lists_are_sorted() -> None:
    desired = {"ManagedPolicyArns": ["arn:b", "arn:a"], "Layers": ["l2", "l1"]}
    live = {"ManagedPolicyArns": ["arn:a", "arn:b"], "Layers": ["l1", "l2"]}
    found = changes(desired, live)
    # Lambda layers are ordered (later layers override earlier ones): not a set.
    assert [c[0] for c in found] == ["properties.Layers[0]", "properties.Layers[1]"]


def test_keyed_lists_match_by_name() -> None:
    desired = {
        "Policies": [
            {
                "PolicyName": "b",
                "PolicyDocument": {
                    "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
                },
            },
            {
                "PolicyName": "a",
                "PolicyDocument": {
                    "Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
                },
            },
        ]
    }
    live = {"Policies": list(reversed(desired["Policies"]))}
    assert changes(desired, live) == []


def test_secret_properties_are_masked_on_both_sides() -> None:
    desired = {"Environment": {"Variables": {"DB_PASSWORD": "hunter2", "PORT": 5432}}}
    live = {"Environment": {"Variables": {"DB_PASSWORD": "hunter3", "PORT": "5432"}}}
    secret = ("Environment",)
    shown = canon(live, secret)
    assert "hunter3" not in json.dumps(shown)
    masked = shown["Environment"]["Variables"]["DB_PASSWORD"]
    assert masked.startswith("<secret hmac:")
    found = changes(desired, live, secret)
    assert len(found) == 1
    path, op, was, now = found[0]
    assert (path, op) == ("properties.Environment.Variables.DB_PASSWORD", Op.CHANGED)
    assert "hunter" not in f"{was}{now}" and was != now
    # Equal values hash alike (20 and "20" too); the key makes the hash installation-specific.
    assert (
        changes(
            {"Environment": {"Variables": {"A": "x"}}},
            {"Environment": {"Variables": {"A": "x"}}},
            secret,
        )
        == []
    )
    other = canonical_properties(live, secret, SecretMasker(b"another-key"))
    assert other["Environment"]["Variables"]["DB_PASSWORD"] != masked


def test_omitted_and_null_properties_are_not_compared() -> None:
    assert canon({"Description": None, "Timeout": 3}) == {"Timeout": 3}
    found = changes({"Timeout": 3}, {"Timeout": 3, "MemorySize": 128})
    # The diff reports the extra live key; the audit decides it is not drift.
    assert found == [("properties.MemorySize", Op.ADDED, None, 128)]


def test_hosted_zone_names_are_dns_names() -> None:
    zone = "AWS::Route53::HostedZone"
    # Route 53 treats the trailing dot as optional and names as case-insensitive.
    for written in ("internal.example.com.", "Internal.Example.com", "internal.example.com"):
        assert canonical_properties({"Name": written}, (), MASKER, zone) == {
            "Name": "internal.example.com"
        }
    assert canonical_properties({"Name": "other.example.com."}, (), MASKER, zone) != {
        "Name": "internal.example.com"
    }
    # Only the hosted zone's Name is a DNS name.
    assert canon({"Name": "Jobs."}) == {"Name": "Jobs."}


def test_managed_policy_attachments_are_unordered() -> None:
    assert canon({"Roles": ["web", "app"], "Users": ["b", "a"], "Groups": ["y", "x"]}) == {
        "Roles": ["app", "web"],
        "Users": ["a", "b"],
        "Groups": ["x", "y"],
    }


def test_disabled_dynamodb_settings_have_no_attribute_or_period() -> None:
    table = "AWS::DynamoDB::Table"

    def table_canon(properties: dict[str, Any]) -> dict[str, Any]:
        return canonical_properties(properties, (), MASKER, table)

    # DynamoDB answers a disabled TTL without its attribute (CloudFormation required one).
    assert table_canon(
        {
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": False},
            "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": "false",
                "RecoveryPeriodInDays": 35,
            },
        }
    ) == {
        "TimeToLiveSpecification": {"Enabled": False},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": "false"},
    }
    # Switched on, the attribute and the period are compared.
    enabled = {"TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}
    assert table_canon(enabled) == enabled
