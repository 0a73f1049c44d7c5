"""AWS::KMS::Key against moto's server: CFN shapes, live changes, regions, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.kms.models import kms_backends

from driftwatch.providers.aws.live import kms
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::KMS::Key"


def _policy(sid: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "key-policy",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.identifier: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is kms.KEY
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    client = clients("kms", "us-east-1")
    key_id = client.create_key(
        Description="orders data",
        Policy=json.dumps(_policy("root")),
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        MultiRegion=True,
        Tags=[{"TagKey": "team", "TagValue": "orders"}, {"TagKey": "env", "TagValue": "prod"}],
    )["KeyMetadata"]["KeyId"]

    found = _scan(clients)

    assert found[key_id].region == "us-east-1"
    assert found[key_id].aws_managed is None
    assert found[key_id].properties == {
        "KeyId": key_id,
        "Description": "orders data",
        "Enabled": True,
        "EnableKeyRotation": False,
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyPolicy": _policy("root"),
        "MultiRegion": True,
        "Origin": "AWS_KMS",
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }

    client.enable_key_rotation(KeyId=key_id)
    client.disable_key(KeyId=key_id)
    client.update_key_description(KeyId=key_id, Description="orders data v2")
    client.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(_policy("v2")))
    client.untag_resource(KeyId=key_id, TagKeys=["env"])

    changed = _scan(clients)[key_id].properties
    assert changed["EnableKeyRotation"] is True
    assert changed["Enabled"] is False
    assert changed["Description"] == "orders data v2"
    assert changed["KeyPolicy"] == _policy("v2")
    assert changed["Tags"] == [{"Key": "team", "Value": "orders"}]


def test_asymmetric_key_has_no_rotation(clients: Any) -> None:
    key_id = clients("kms", "us-east-1").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")[
        "KeyMetadata"
    ]["KeyId"]

    properties = _scan(clients)[key_id].properties

    assert properties["KeySpec"] == "RSA_2048"
    assert properties["KeyUsage"] == "SIGN_VERIFY"
    assert "EnableKeyRotation" not in properties


def test_skips_keys_pending_deletion(clients: Any) -> None:
    client = clients("kms", "us-east-1")
    kept = client.create_key()["KeyMetadata"]["KeyId"]
    doomed = client.create_key()["KeyMetadata"]["KeyId"]
    client.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)

    assert list(_scan(clients)) == [kept]


def test_aws_managed_keys_are_marked(clients: Any, moto: MotoServer) -> None:
    key_id = clients("kms", "us-east-1").create_key(Description="Default key")["KeyMetadata"][
        "KeyId"
    ]
    # moto creates every key as the customer's; AWS-managed keys (aws/s3...) only exist
    # in AWS, so mark this one the way AWS would answer DescribeKey for them.
    kms_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].keys[key_id].key_manager = "AWS"
    moto.faults.calls.clear()

    found = _scan(clients)[key_id]

    assert found.aws_managed == "AWS-managed key"
    assert found.properties["Description"] == "Default key"
    # Nobody can change them: no policy, rotation or tag requests are spent on them.
    assert {a for s, _, a in moto.faults.calls if s == "kms"} == {"ListKeys", "DescribeKey"}


def test_other_region_lists_only_its_keys(clients: Any) -> None:
    clients("kms", "us-east-1").create_key()
    west = clients("kms", "eu-west-1").create_key()["KeyMetadata"]["KeyId"]

    found = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.identifier, r.region) for r in found] == [(west, "eu-west-1")]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    key_id = clients("kms", "us-east-1").create_key()["KeyMetadata"]["KeyId"]
    moto.faults.throttle_next("kms", "*", 2)

    assert list(_scan(clients)) == [key_id]
    assert moto.faults.throttle[("kms", "*")] == 0


@pytest.mark.parametrize("action", ["ListKeys", "DescribeKey", "GetKeyPolicy", "ListResourceTags"])
def test_access_denied_raises(clients: Any, moto: MotoServer, action: str) -> None:
    clients("kms", "us-east-1").create_key()
    moto.faults.deny("kms", action)

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any, moto: MotoServer) -> None:
    clients("kms", "us-east-1").create_key()
    moto.faults.calls.clear()

    _scan(clients)

    called = {f"kms:{a}" for s, _, a in moto.faults.calls if s == "kms"}
    assert called == set(REGISTRY[TYPE].actions)
