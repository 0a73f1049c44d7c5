"""AWS::S3::Bucket read from moto's S3 over HTTP, in CloudFormation shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import driftwatch.providers.aws.live.s3  # noqa: F401  (registers the type)
from driftwatch.policy.engine import PolicySubject, evaluate, load_documents
from driftwatch.policy.model import Scope
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer, iter_calls

BUCKET = REGISTRY["AWS::S3::Bucket"]
POLICIES = Path(__file__).resolve().parents[4] / "policies" / "aws"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

DENY_HTTP = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::acme-logs", "arn:aws:s3:::acme-logs/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.identifier: r for r in BUCKET.scan(clients, region)}


def verdicts(policy: str, properties: dict[str, Any]) -> dict[str, bool | None]:
    """The built-in ``policy``'s rules on a live bucket with ``properties``."""
    path = POLICIES / f"{policy}.yaml"
    compiled = load_documents(str(path), path.read_text()).policies
    body = {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": "b"},
        "spec": {"type": BUCKET.name, "region": "us-east-1", "properties": properties},
    }
    subject = PolicySubject(
        provider="aws",
        kind=BUCKET.name,
        group="",
        namespace=None,
        name="b",
        labels={},
        body=body,
        scope=Scope.LIVE,
    )
    return {r.rule.validation.name: r.passed for r in evaluate(compiled, subject)}


def configure(client: Any, name: str) -> None:
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": KEY_ARN,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    client.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_policy(
        Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [DENY_HTTP]})
    )
    client.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "logs",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "logs/"},
                    "Expiration": {"Days": 365},
                    "Transitions": [
                        {"Days": 30, "StorageClass": "STANDARD_IA"},
                        {"Days": 90, "StorageClass": "GLACIER"},
                    ],
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                    "NoncurrentVersionTransitions": [
                        {"NoncurrentDays": 7, "StorageClass": "GLACIER"}
                    ],
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
                },
                {
                    "ID": "tmp",
                    "Status": "Disabled",
                    "Filter": {
                        "And": {"Prefix": "tmp/", "Tags": [{"Key": "scratch", "Value": "yes"}]}
                    },
                    "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)},
                },
                {
                    "ID": "markers",
                    "Status": "Enabled",
                    "Filter": {"Tag": {"Key": "kind", "Value": "marker"}},
                    "Expiration": {"ExpiredObjectDeleteMarker": True},
                },
            ]
        },
    )
    client.put_bucket_tagging(
        Bucket=name,
        Tagging={
            "TagSet": [
                {"Key": "team", "Value": "platform"},
                {"Key": "env", "Value": "prod"},
            ]
        },
    )


CONFIGURED = {
    "BucketName": "acme-logs",
    "VersioningConfiguration": {"Status": "Enabled"},
    "BucketEncryption": {
        "ServerSideEncryptionConfiguration": [
            {
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": KEY_ARN,
                },
                "BucketKeyEnabled": True,
            }
        ]
    },
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    },
    "LifecycleConfiguration": {
        # moto answers S3's default, as AWS does since 2024
        "TransitionDefaultMinimumObjectSize": "all_storage_classes_128K",
        "Rules": [
            {
                "Id": "logs",
                "Status": "Enabled",
                "Prefix": "logs/",
                "ExpirationInDays": 365,
                "Transitions": [
                    {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
                    {"StorageClass": "GLACIER", "TransitionInDays": 90},
                ],
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "NoncurrentVersionTransitions": [
                    {"StorageClass": "GLACIER", "TransitionInDays": 7}
                ],
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
            },
            {
                "Id": "tmp",
                "Status": "Disabled",
                "Prefix": "tmp/",
                "TagFilters": [{"Key": "scratch", "Value": "yes"}],
                "ExpirationDate": "2030-01-01T00:00:00Z",
            },
            {
                "Id": "markers",
                "Status": "Enabled",
                "TagFilters": [{"Key": "kind", "Value": "marker"}],
                "ExpiredObjectDeleteMarker": True,
            },
        ],
    },
    "BucketPolicy": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [DENY_HTTP]}},
    # sorted by Key
    "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "platform"}],
}


def test_configured_bucket_in_cloudformation_shape(clients: Any) -> None:
    client = clients("s3", "us-east-1")
    client.create_bucket(Bucket="acme-logs")
    configure(client, "acme-logs")
    [bucket] = scan(clients).values()
    assert bucket.type == "AWS::S3::Bucket"
    assert (bucket.region, bucket.identifier, bucket.aws_managed) == (
        "us-east-1",
        "acme-logs",
        None,
    )
    assert bucket.properties == CONFIGURED
    assert set(bucket.properties) <= BUCKET.properties
    # The built-in S3 policies read these very property names.
    for policy in ("s3-block-public-access", "s3-default-encryption", "s3-deny-insecure-transport"):
        assert set(verdicts(policy, bucket.properties).values()) == {True}, policy


def test_live_changes_show_up(clients: Any) -> None:
    client = clients("s3", "us-east-1")
    client.create_bucket(Bucket="acme-logs")
    configure(client, "acme-logs")
    assert scan(clients)["acme-logs"].properties == CONFIGURED

    client.put_bucket_versioning(
        Bucket="acme-logs", VersioningConfiguration={"Status": "Suspended"}
    )
    client.put_bucket_encryption(
        Bucket="acme-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    client.put_public_access_block(
        Bucket="acme-logs",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    client.put_bucket_policy(
        Bucket="acme-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [allow]})
    )
    client.delete_bucket_lifecycle(Bucket="acme-logs")
    client.put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": [{"Key": "env", "Value": "dev"}]}
    )

    changed = scan(clients)["acme-logs"].properties
    assert changed == {
        "BucketName": "acme-logs",
        "VersioningConfiguration": {"Status": "Suspended"},
        "BucketEncryption": {
            # S3 answers BucketKeyEnabled false when the request left it out
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": False,
                }
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
        "BucketPolicy": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [allow]}},
        "Tags": [{"Key": "env", "Value": "dev"}],
    }
    assert verdicts("s3-block-public-access", changed) == {"block-public-access": False}
    assert verdicts("s3-deny-insecure-transport", changed) == {"deny-insecure-transport": False}

    client.delete_bucket_policy(Bucket="acme-logs")
    client.delete_bucket_encryption(Bucket="acme-logs")
    client.delete_public_access_block(Bucket="acme-logs")
    client.delete_bucket_tagging(Bucket="acme-logs")
    assert scan(clients)["acme-logs"].properties == {
        "BucketName": "acme-logs",
        "VersioningConfiguration": {"Status": "Suspended"},
    }


def test_unconfigured_bucket_has_only_its_name(clients: Any) -> None:
    # Every Get* answers "not found" (NoSuchBucketPolicy, NoSuchTagSet...): absent, not errors.
    clients("s3", "us-east-1").create_bucket(Bucket="bare-bucket")
    [bucket] = scan(clients).values()
    assert bucket.properties == {"BucketName": "bare-bucket"}


def test_legacy_lifecycle_prefix_and_transition_date(clients: Any) -> None:
    client = clients("s3", "us-east-1")
    client.create_bucket(Bucket="old-rules")
    client.put_bucket_lifecycle_configuration(
        Bucket="old-rules",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "archive",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Transitions": [
                        {"Date": datetime(2031, 6, 1, tzinfo=UTC), "StorageClass": "GLACIER"}
                    ],
                }
            ]
        },
    )
    rules = scan(clients)["old-rules"].properties["LifecycleConfiguration"]["Rules"]
    # an empty prefix (the whole bucket) is no Prefix in CloudFormation
    assert rules == [
        {
            "Id": "archive",
            "Status": "Enabled",
            "Transitions": [{"StorageClass": "GLACIER", "TransitionDate": "2031-06-01T00:00:00Z"}],
        }
    ]


def test_buckets_are_yielded_in_their_own_region_only(clients: Any) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="virginia-bucket")
    for region in ("eu-west-1", "ap-southeast-2"):
        clients("s3", region).create_bucket(
            Bucket=f"{region}-bucket", CreateBucketConfiguration={"LocationConstraint": region}
        )
    assert list(scan(clients, "us-east-1")) == ["virginia-bucket"]
    [ireland] = scan(clients, "eu-west-1").values()
    assert (ireland.identifier, ireland.region) == ("eu-west-1-bucket", "eu-west-1")
    assert list(scan(clients, "ap-southeast-2")) == ["ap-southeast-2-bucket"]
    assert scan(clients, "eu-central-1") == {}


def test_many_buckets_read_concurrently(clients: Any) -> None:
    client = clients("s3", "us-east-1")
    names = [f"bucket-{i:02d}" for i in range(20)]
    for name in names:
        client.create_bucket(Bucket=name)
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "n", "Value": name}]})
    found = scan(clients)
    assert sorted(found) == names
    for name in names:
        assert found[name].properties == {"BucketName": name, "Tags": [{"Key": "n", "Value": name}]}


class _DeletesAfterListing:
    """An S3 client that deletes ``doomed`` once ListBuckets has been read."""

    def __init__(self, client: Any, doomed: str) -> None:
        self._client, self._doomed = client, doomed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_paginator(self, operation: str) -> Any:
        paginator = self._client.get_paginator(operation)
        client, doomed = self._client, self._doomed

        class _Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                yield from paginator.paginate(**kwargs)
                client.delete_bucket(Bucket=doomed)

        return _Paginator()


def test_bucket_deleted_during_the_scan_is_skipped(clients: Any) -> None:
    for name in ("kept-bucket", "doomed-bucket"):
        clients("s3", "us-east-1").create_bucket(Bucket=name)

    def racing(service: str, region: str) -> Any:
        return _DeletesAfterListing(clients(service, region), "doomed-bucket")

    assert list(scan(racing)) == ["kept-bucket"]  # NoSuchBucket: gone, not an error


def test_throttling_is_retried(moto: MotoServer, clients: Any) -> None:
    client = clients("s3", "us-east-1")
    client.create_bucket(Bucket="acme-logs")
    configure(client, "acme-logs")
    moto.faults.calls.clear()
    moto.faults.throttle_next("s3", "*", 2)
    assert scan(clients)["acme-logs"].properties == CONFIGURED
    # ListBuckets, GetBucketLocation (moto's listing has no BucketRegion), six reads, and
    # the two throttled attempts again
    assert len(list(iter_calls(moto.faults, "s3"))) == 1 + 1 + 6 + 2


def test_access_denied_is_raised(moto: MotoServer, clients: Any) -> None:
    clients("s3", "us-east-1").create_bucket(Bucket="acme-logs")
    moto.faults.deny("s3")
    with pytest.raises(ClientError) as raised:
        list(BUCKET.scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_denied_region_is_raised(moto: MotoServer, clients: Any) -> None:
    clients("s3", "eu-west-1").create_bucket(
        Bucket="acme-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    moto.faults.denied_regions.add("eu-west-1")
    with pytest.raises(ClientError) as raised:
        list(BUCKET.scan(clients, "eu-west-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert list(BUCKET.scan(clients, "us-east-1")) == []


def test_registration() -> None:
    assert BUCKET.identifier == "BucketName"
    assert BUCKET.service == "s3" and BUCKET.regional
    assert set(BUCKET.example) <= BUCKET.properties
    assert all(a.startswith("s3:Get") or a == "s3:ListAllMyBuckets" for a in BUCKET.actions)
    assert BUCKET.docs and "BucketPolicy" in BUCKET.docs
