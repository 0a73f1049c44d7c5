"""AWS::Logs::LogGroup against moto's server: CFN shapes, live changes, pages, faults."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import logs
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::Logs::LogGroup"


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.identifier: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is logs.LOG_GROUP
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    client = clients("logs", "us-east-1")
    key_arn = clients("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    client.create_log_group(
        logGroupName="/orders/api", kmsKeyId=key_arn, tags={"team": "orders", "env": "prod"}
    )
    client.put_retention_policy(logGroupName="/orders/api", retentionInDays=30)
    client.create_log_group(logGroupName="/aws/lambda/orders-api")

    found = _scan(clients)

    assert found["/orders/api"].region == "us-east-1"
    assert found["/orders/api"].properties == {
        "LogGroupName": "/orders/api",
        "RetentionInDays": 30,
        "KmsKeyId": key_arn,
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }
    # Service-created groups are the user's to configure: reported, not AWS-managed.
    assert found["/aws/lambda/orders-api"].aws_managed is None
    assert found["/aws/lambda/orders-api"].properties == {"LogGroupName": "/aws/lambda/orders-api"}

    client.put_retention_policy(logGroupName="/orders/api", retentionInDays=90)
    client.untag_log_group(logGroupName="/orders/api", tags=["env"])
    client.put_retention_policy(logGroupName="/aws/lambda/orders-api", retentionInDays=7)

    changed = _scan(clients)
    assert changed["/orders/api"].properties == {
        "LogGroupName": "/orders/api",
        "RetentionInDays": 90,
        "KmsKeyId": key_arn,
        "Tags": [{"Key": "team", "Value": "orders"}],
    }
    assert changed["/aws/lambda/orders-api"].properties["RetentionInDays"] == 7

    client.delete_retention_policy(logGroupName="/orders/api")
    assert "RetentionInDays" not in _scan(clients)["/orders/api"].properties


def test_follows_describe_pages(clients: Any, moto: MotoServer) -> None:
    # DescribeLogGroups answers at most 50 groups a page.
    names = [f"/app/group-{i:03d}" for i in range(51)]
    for name in names:
        clients("logs", "us-east-1").create_log_group(logGroupName=name)
    moto.faults.calls.clear()

    assert sorted(_scan(clients)) == names
    assert sum(1 for s, _, a in moto.faults.calls if (s, a) == ("logs", "DescribeLogGroups")) == 2


def test_other_region_lists_only_its_groups(clients: Any) -> None:
    clients("logs", "us-east-1").create_log_group(logGroupName="east")
    clients("logs", "eu-west-1").create_log_group(logGroupName="west")

    west = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.identifier, r.region) for r in west] == [("west", "eu-west-1")]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    clients("logs", "us-east-1").create_log_group(logGroupName="/orders/api")
    moto.faults.throttle_next("logs", "*", 2)

    assert list(_scan(clients)) == ["/orders/api"]
    assert moto.faults.throttle[("logs", "*")] == 0


@pytest.mark.parametrize("action", ["DescribeLogGroups", "ListTagsForResource"])
def test_access_denied_raises(clients: Any, moto: MotoServer, action: str) -> None:
    clients("logs", "us-east-1").create_log_group(logGroupName="/orders/api")
    moto.faults.deny("logs", action)

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any, moto: MotoServer) -> None:
    clients("logs", "us-east-1").create_log_group(logGroupName="/orders/api")
    moto.faults.calls.clear()

    _scan(clients)

    called = {f"logs:{a}" for s, _, a in moto.faults.calls if s == "logs"}
    assert called == set(REGISTRY[TYPE].actions)
