"""AWS::KMS::Key: keys, their key policy, rotation and tags.

Keys pending deletion are skipped (they are on their way out and unusable).  AWS-managed
keys (``aws/s3``...) are reported from DescribeKey alone and marked aws_managed: nobody
can change them, so their policy, rotation and tags are not worth a request.  Aliases are
CloudFormation's separate AWS::KMS::Alias and are not scanned here.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import (
    cfn_tags,
    compact,
    error_code,
    is_gone,
    pages,
    policy_document,
)
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::KMS::Key"
_SKIPPED_STATES = {"PendingDeletion", "PendingReplicaDeletion"}
# Rotation is only defined for symmetric encryption keys; others (asymmetric, HMAC,
# imported or custom-key-store keys) answer these and have no EnableKeyRotation.
_NO_ROTATION = {"UnsupportedOperationException", "KMSInvalidStateException"}


def _metadata_properties(metadata: dict[str, Any]) -> dict[str, Any]:
    return compact(
        {
            "KeyId": metadata["KeyId"],
            "Description": metadata.get("Description"),
            "Enabled": metadata.get("Enabled"),
            "KeySpec": metadata.get("KeySpec"),
            "KeyUsage": metadata.get("KeyUsage"),
            "MultiRegion": metadata.get("MultiRegion"),
            "Origin": metadata.get("Origin"),
        }
    )


def _rotation(client: Any, key_id: str) -> dict[str, Any]:
    try:
        status = client.get_key_rotation_status(KeyId=key_id)
    except ClientError as error:
        if error_code(error) in _NO_ROTATION:
            return {}
        raise
    enabled = bool(status.get("KeyRotationEnabled"))
    return compact(
        {
            "EnableKeyRotation": enabled,
            "RotationPeriodInDays": status.get("RotationPeriodInDays") if enabled else None,
        }
    )


def _key(client: Any, region: str, key_id: str) -> LiveResource | None:
    metadata = client.describe_key(KeyId=key_id)["KeyMetadata"]
    if metadata.get("KeyState") in _SKIPPED_STATES:
        return None
    properties = _metadata_properties(metadata)
    if metadata.get("KeyManager") == "AWS":
        return LiveResource(
            type=TYPE,
            region=region,
            identifier=key_id,
            properties=properties,
            aws_managed="AWS-managed key",
        )
    if metadata.get("KeySpec") == "SYMMETRIC_DEFAULT":
        properties.update(_rotation(client, key_id))
    policy = policy_document(client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    if policy:
        properties["KeyPolicy"] = policy
    tags = cfn_tags(
        list(pages(client, "list_resource_tags", "Tags", KeyId=key_id)),
        key="TagKey",
        value="TagValue",
    )
    if tags:
        properties["Tags"] = tags
    return LiveResource(type=TYPE, region=region, identifier=key_id, properties=properties)


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("kms", region)
    found: list[LiveResource] = []
    for key in pages(client, "list_keys", "Keys"):
        try:
            resource = _key(client, region, key["KeyId"])
        except ClientError as error:
            if is_gone(error):  # deleted since the listing
                continue
            raise
        if resource is not None:
            found.append(resource)
    return found


KEY = register(
    ResourceType(
        name=TYPE,
        service="kms",
        identifier="KeyId",
        properties=frozenset(
            {
                "KeyId",
                "Description",
                "Enabled",
                "EnableKeyRotation",
                "RotationPeriodInDays",
                "KeySpec",
                "KeyUsage",
                "KeyPolicy",
                "MultiRegion",
                "Origin",
                "Tags",
            }
        ),
        scan=scan,
        write_only=frozenset({"PendingWindowInDays", "BypassPolicyLockoutSafetyCheck"}),
        actions=(
            "kms:ListKeys",
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
        ),
        docs=(
            "KMS keys with key policy and rotation; AWS-managed keys are marked as such, "
            "keys pending deletion are skipped, aliases are not scanned."
        ),
        example={
            "Description": "orders data",
            "Enabled": True,
            "EnableKeyRotation": True,
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Enable IAM policies",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            },
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
