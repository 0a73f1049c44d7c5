"""AWS::DynamoDB::Table against moto's server: CFN shapes, live changes, pages, faults."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import dynamodb
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::DynamoDB::Table"


def _create_simple(clients: Any, name: str, region: str = "us-east-1") -> None:
    clients("dynamodb", region).create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.identifier: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is dynamodb.TABLE
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    ddb = clients("dynamodb", "us-east-1")
    key_arn = clients("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    arn = ddb.create_table(
        TableName="orders",
        AttributeDefinitions=[
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-pk-status",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
        DeletionProtectionEnabled=True,
        Tags=[{"Key": "team", "Value": "orders"}, {"Key": "env", "Value": "prod"}],
    )["TableDescription"]["TableArn"]
    ddb.update_continuous_backups(
        TableName="orders",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )

    found = _scan(clients)

    assert found["orders"].region == "us-east-1"
    assert found["orders"].properties == {
        "TableName": "orders",
        "AttributeDefinitions": [  # sorted by AttributeName
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2},
            }
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by-pk-status",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
        "DeletionProtectionEnabled": True,
        "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 35,
        },
        "TimeToLiveSpecification": {"Enabled": False},
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }

    ddb.update_table(
        TableName="orders",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 12},
        DeletionProtectionEnabled=False,
    )
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    ddb.update_continuous_backups(
        TableName="orders",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])

    changed = _scan(clients)["orders"].properties
    assert changed["ProvisionedThroughput"] == {"ReadCapacityUnits": 10, "WriteCapacityUnits": 12}
    assert changed["DeletionProtectionEnabled"] is False
    assert changed["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert changed["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}
    assert changed["Tags"] == [{"Key": "team", "Value": "orders"}]


def test_on_demand_table_has_no_throughput_and_aws_owned_encryption(clients: Any) -> None:
    _create_simple(clients, "sessions")

    assert _scan(clients)["sessions"].properties == {
        "TableName": "sessions",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"SSEEnabled": False},
        "DeletionProtectionEnabled": False,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
        "TimeToLiveSpecification": {"Enabled": False},
    }

    clients("dynamodb", "us-east-1").update_table(
        TableName="sessions",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )

    changed = _scan(clients)["sessions"].properties
    assert changed["BillingMode"] == "PROVISIONED"
    assert changed["ProvisionedThroughput"] == {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    assert changed["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}


def test_follows_list_tables_pages(clients: Any, moto: MotoServer) -> None:
    # ListTables answers at most 100 names a page.
    names = [f"table-{i:03d}" for i in range(101)]
    for name in names:
        _create_simple(clients, name)
    moto.faults.calls.clear()

    assert sorted(_scan(clients)) == names
    assert sum(1 for s, _, a in moto.faults.calls if (s, a) == ("dynamodb", "ListTables")) == 2


def test_other_region_lists_only_its_tables(clients: Any) -> None:
    _create_simple(clients, "east")
    _create_simple(clients, "west", region="eu-west-1")

    west = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.identifier, r.region) for r in west] == [("west", "eu-west-1")]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    _create_simple(clients, "orders")
    moto.faults.throttle_next("dynamodb", "*", 2)

    assert list(_scan(clients)) == ["orders"]
    assert moto.faults.throttle[("dynamodb", "*")] == 0


@pytest.mark.parametrize(
    "action", ["ListTables", "DescribeTable", "DescribeContinuousBackups", "ListTagsOfResource"]
)
def test_access_denied_raises(clients: Any, moto: MotoServer, action: str) -> None:
    _create_simple(clients, "orders")
    moto.faults.deny("dynamodb", action)

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"


def test_actions_cover_every_call(clients: Any, moto: MotoServer) -> None:
    _create_simple(clients, "orders")
    moto.faults.calls.clear()

    _scan(clients)

    called = {f"dynamodb:{a}" for s, _, a in moto.faults.calls if s == "dynamodb"}
    assert called == set(REGISTRY[TYPE].actions)
