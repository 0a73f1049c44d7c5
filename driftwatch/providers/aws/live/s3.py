"""S3 buckets as ``AWS::S3::Bucket``, each configuration read back in CloudFormation shape.

S3 has one bucket namespace per account but every bucket lives in a region: the scanner
runs per region and lists only that region's buckets (``ListBuckets`` with
``BucketRegion``), then reads each bucket's configuration from its regional endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, error_code, policy_property
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::S3::Bucket"

# What S3 answers for a configuration that was never set: the property is absent.
_ABSENT = frozenset(
    {
        "NoSuchBucketPolicy",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchLifecycleConfiguration",
        "NoSuchTagSet",
    }
)
# Bucket configurations are read concurrently: six calls per bucket add up in big accounts.
# Against AWS each call mostly waits on the network, so more workers hide more latency;
# against moto's CPU-bound server (benchmarks/aws_bench.py) 16 is as fast as 8 or better.
_WORKERS = 16


class _BucketGone(Exception):
    """The bucket was deleted between the listing and the reads."""


def _get(client: Any, operation: str, bucket: str) -> dict[str, Any] | None:
    """The response of a ``Get*`` call, or None when the configuration is not set."""
    try:
        response: dict[str, Any] = getattr(client, operation)(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in _ABSENT:
            return None
        if error_code(error) == "NoSuchBucket":
            raise _BucketGone(bucket) from error
        raise
    return response


def _timestamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encryption(configuration: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in configuration.get("Rules", []):
        out: dict[str, Any] = {}
        default = rule.get("ApplyServerSideEncryptionByDefault")
        if default:
            by_default = {"SSEAlgorithm": default["SSEAlgorithm"]}
            if default.get("KMSMasterKeyID"):
                by_default["KMSMasterKeyID"] = default["KMSMasterKeyID"]
            out["ServerSideEncryptionByDefault"] = by_default
        if "BucketKeyEnabled" in rule:
            out["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
        rules.append(out)
    return {"ServerSideEncryptionConfiguration": rules}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """An S3 API lifecycle rule in CloudFormation's flat ``Rule`` shape."""
    out: dict[str, Any] = {}
    if rule.get("ID"):
        out["Id"] = rule["ID"]
    out["Status"] = rule["Status"]
    rule_filter = rule.get("Filter") or {}
    conditions = rule_filter.get("And") or rule_filter
    prefix = conditions.get("Prefix", rule.get("Prefix"))  # rule.Prefix: the legacy form
    if prefix:
        out["Prefix"] = prefix
    tags = conditions.get("Tags") or ([rule_filter["Tag"]] if "Tag" in rule_filter else [])
    if tags:
        out["TagFilters"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    for size in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if size in conditions:
            out[size] = str(conditions[size])  # a string in CloudFormation
    expiration = rule.get("Expiration") or {}
    if "Days" in expiration:
        out["ExpirationInDays"] = expiration["Days"]
    if "Date" in expiration:
        out["ExpirationDate"] = _timestamp(expiration["Date"])
    if "ExpiredObjectDeleteMarker" in expiration:
        out["ExpiredObjectDeleteMarker"] = expiration["ExpiredObjectDeleteMarker"]
    transitions = []
    for transition in rule.get("Transitions") or []:
        item: dict[str, Any] = {"StorageClass": transition["StorageClass"]}
        if "Days" in transition:
            item["TransitionInDays"] = transition["Days"]
        if "Date" in transition:
            item["TransitionDate"] = _timestamp(transition["Date"])
        transitions.append(item)
    if transitions:
        out["Transitions"] = transitions
    noncurrent_expiration = rule.get("NoncurrentVersionExpiration")
    if noncurrent_expiration:
        out["NoncurrentVersionExpiration"] = {
            k: noncurrent_expiration[k]
            for k in ("NoncurrentDays", "NewerNoncurrentVersions")
            if k in noncurrent_expiration
        }
    noncurrent_transitions = []
    for transition in rule.get("NoncurrentVersionTransitions") or []:
        item = {"StorageClass": transition["StorageClass"]}
        if "NoncurrentDays" in transition:
            item["TransitionInDays"] = transition["NoncurrentDays"]
        if "NewerNoncurrentVersions" in transition:
            item["NewerNoncurrentVersions"] = transition["NewerNoncurrentVersions"]
        noncurrent_transitions.append(item)
    if noncurrent_transitions:
        out["NoncurrentVersionTransitions"] = noncurrent_transitions
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort and "DaysAfterInitiation" in abort:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": abort["DaysAfterInitiation"]
        }
    return out


def _bucket(
    client: Any, region: str, name: str, wanted: frozenset[str] | None = None
) -> LiveResource | None:
    def read(prop: str, operation: str) -> dict[str, Any] | None:
        return _get(client, operation, name) if wanted is None or prop in wanted else None

    try:
        properties: dict[str, Any] = {"BucketName": name}
        versioning = read("VersioningConfiguration", "get_bucket_versioning")
        if versioning and versioning.get("Status"):
            properties["VersioningConfiguration"] = {"Status": versioning["Status"]}
        encryption = read("BucketEncryption", "get_bucket_encryption")
        if encryption and encryption.get("ServerSideEncryptionConfiguration"):
            properties["BucketEncryption"] = _encryption(
                encryption["ServerSideEncryptionConfiguration"]
            )
        block = read("PublicAccessBlockConfiguration", "get_public_access_block")
        if block and block.get("PublicAccessBlockConfiguration"):
            properties["PublicAccessBlockConfiguration"] = {
                k: v
                for k, v in block["PublicAccessBlockConfiguration"].items()
                if k
                in (
                    "BlockPublicAcls",
                    "BlockPublicPolicy",
                    "IgnorePublicAcls",
                    "RestrictPublicBuckets",
                )
            }
        lifecycle = read("LifecycleConfiguration", "get_bucket_lifecycle_configuration")
        if lifecycle and lifecycle.get("Rules"):
            lifecycle_configuration: dict[str, Any] = {
                "Rules": [_lifecycle_rule(rule) for rule in lifecycle["Rules"]]
            }
            if lifecycle.get("TransitionDefaultMinimumObjectSize"):
                lifecycle_configuration["TransitionDefaultMinimumObjectSize"] = lifecycle[
                    "TransitionDefaultMinimumObjectSize"
                ]
            properties["LifecycleConfiguration"] = lifecycle_configuration
        policy = read("BucketPolicy", "get_bucket_policy")
        bucket_policy = policy_property(policy.get("Policy") if policy else None)
        if bucket_policy:
            properties["BucketPolicy"] = bucket_policy
        tagging = read("Tags", "get_bucket_tagging")
        tags = cfn_tags(tagging.get("TagSet") if tagging else None)
        if tags:
            properties["Tags"] = tags
    except _BucketGone:
        return None
    return LiveResource(type=TYPE, region=region, identifier=name, properties=properties)


def _listed(client: Any, region: str) -> dict[str, str | None]:
    """Bucket name → the BucketRegion the listing filtered by ``region`` gives, if any."""
    return {
        bucket["Name"]: bucket.get("BucketRegion")
        for page in client.get_paginator("list_buckets").paginate(BucketRegion=region)
        for bucket in page.get("Buckets", [])
    }


def _filter_honoured(client: Any, region: str, unlocated: set[str]) -> bool:
    """Whether the endpoint filtered the listing by region although it did not name the
    buckets' regions (moto does).  One more listing, filtered by another region, tells:
    an endpoint that ignores the filter lists the same buckets again, one that honours
    it cannot (a bucket is in one region)."""
    other = "us-west-2" if region != "us-west-2" else "us-east-1"
    try:
        return unlocated.isdisjoint(_listed(client, other))
    except ClientError:
        return False  # an endpoint that rejects the probe: ask each bucket instead


def _names(client: Any, region: str) -> list[str]:
    """The buckets located in ``region``."""
    listed = _listed(client, region)
    unlocated = {name for name, located in listed.items() if located is None}
    if unlocated and _filter_honoured(client, region, unlocated):
        unlocated = set()
        listed = {name: located or region for name, located in listed.items()}
    names = []
    for name, located in listed.items():
        if name in unlocated:
            # AWS returns BucketRegion with the filter; some S3-compatible endpoints
            # neither return it nor honour the filter: ask.  A missing
            # LocationConstraint means us-east-1.
            try:
                location = client.get_bucket_location(Bucket=name)
            except ClientError as error:
                if error_code(error) == "NoSuchBucket":  # deleted since the listing
                    continue
                raise
            located = location.get("LocationConstraint") or "us-east-1"
            located = "eu-west-1" if located == "EU" else located  # the legacy alias
        if located == region:
            names.append(name)
    return names


def scan(
    clients: Clients, region: str, wanted: frozenset[str] | None = None
) -> Iterator[LiveResource]:
    """Every bucket in ``region``; with ``wanted``, only those properties are read (each
    is one API call per bucket)."""
    client = clients("s3", region)
    names = _names(client, region)
    if not names:
        return
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(names))) as pool:
        buckets = list(pool.map(lambda name: _bucket(client, region, name, wanted), names))
    yield from (bucket for bucket in buckets if bucket is not None)


BUCKET = register(
    ResourceType(
        name=TYPE,
        service="s3",
        identifier="BucketName",
        properties=frozenset(
            {
                "BucketName",
                "VersioningConfiguration",
                "BucketEncryption",
                "PublicAccessBlockConfiguration",
                "LifecycleConfiguration",
                "Tags",
                "BucketPolicy",
            }
        ),
        scan=scan,
        scan_properties=scan,
        actions=(
            "s3:ListAllMyBuckets",
            "s3:GetBucketLocation",
            "s3:GetBucketVersioning",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketTagging",
        ),
        docs=(
            "S3 buckets with versioning, default encryption, Block Public Access, lifecycle"
            " rules and tags; the bucket policy (a separate AWS::S3::BucketPolicy in"
            " CloudFormation) is embedded as the driftwatch property"
            " BucketPolicy: {PolicyDocument: {...}}."
        ),
        example={
            "BucketName": "acme-prod-logs",
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:key/"
                            "1234abcd-12ab-34cd-56ef-1234567890ab",
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-logs",
                        "Status": "Enabled",
                        "Prefix": "logs/",
                        "ExpirationInDays": 365,
                        "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
                    }
                ]
            },
            "BucketPolicy": {
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                "arn:aws:s3:::acme-prod-logs",
                                "arn:aws:s3:::acme-prod-logs/*",
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            },
            "Tags": [{"Key": "team", "Value": "platform"}],
        },
    )
)
