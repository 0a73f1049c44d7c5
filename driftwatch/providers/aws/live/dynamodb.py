"""AWS::DynamoDB::Table: DescribeTable plus the settings DynamoDB keeps elsewhere
(point-in-time recovery, time to live) and tags."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, compact, is_gone, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::DynamoDB::Table"


def _throughput(value: dict[str, Any] | None) -> dict[str, int] | None:
    if not value:
        return None
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 0)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 0)),
    }


def _projection(value: dict[str, Any]) -> dict[str, Any]:
    return compact(
        {
            "ProjectionType": value.get("ProjectionType"),
            "NonKeyAttributes": list(value.get("NonKeyAttributes") or []),
        }
    )


def _indexes(indexes: list[dict[str, Any]] | None, provisioned: bool) -> list[dict[str, Any]]:
    """CFN index shapes, by IndexName; throughput only where the table is provisioned."""
    return [
        compact(
            {
                "IndexName": index["IndexName"],
                "KeySchema": [
                    {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
                    for k in index.get("KeySchema") or []
                ],
                "Projection": _projection(index.get("Projection") or {}),
                "ProvisionedThroughput": (
                    _throughput(index.get("ProvisionedThroughput")) if provisioned else None
                ),
            }
        )
        for index in sorted(indexes or [], key=lambda i: str(i["IndexName"]))
    ]


def _sse(description: dict[str, Any] | None) -> dict[str, Any]:
    # No description (or DISABLED) means the AWS-owned key: CFN's SSEEnabled false.
    if not description or description.get("Status") not in ("ENABLED", "ENABLING", "UPDATING"):
        return {"SSEEnabled": False}
    return compact(
        {
            "SSEEnabled": True,
            "SSEType": description.get("SSEType"),
            "KMSMasterKeyId": description.get("KMSMasterKeyArn"),
        }
    )


def _table_properties(table: dict[str, Any]) -> dict[str, Any]:
    billing = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    provisioned = billing == "PROVISIONED"
    stream = table.get("StreamSpecification") or {}
    return compact(
        {
            "TableName": table["TableName"],
            "AttributeDefinitions": sorted(
                (
                    {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
                    for a in table.get("AttributeDefinitions") or []
                ),
                key=lambda a: a["AttributeName"],
            ),
            # Key order matters (HASH before RANGE): kept as DynamoDB answers it.
            "KeySchema": [
                {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
                for k in table.get("KeySchema") or []
            ],
            "BillingMode": billing,
            "ProvisionedThroughput": (
                _throughput(table.get("ProvisionedThroughput")) if provisioned else None
            ),
            "GlobalSecondaryIndexes": _indexes(table.get("GlobalSecondaryIndexes"), provisioned),
            "LocalSecondaryIndexes": _indexes(table.get("LocalSecondaryIndexes"), False),
            "StreamSpecification": (
                {"StreamViewType": stream["StreamViewType"]}
                if stream.get("StreamEnabled") and stream.get("StreamViewType")
                else None
            ),
            "SSESpecification": _sse(table.get("SSEDescription")),
            "TableClass": (table.get("TableClassSummary") or {}).get("TableClass"),
            "DeletionProtectionEnabled": table.get("DeletionProtectionEnabled"),
        }
    )


def _point_in_time(client: Any, name: str) -> dict[str, Any]:
    backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription") or {}
    enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    return compact(
        {
            "PointInTimeRecoveryEnabled": enabled,
            "RecoveryPeriodInDays": pitr.get("RecoveryPeriodInDays") if enabled else None,
        }
    )


def _time_to_live(client: Any, name: str) -> dict[str, Any]:
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    enabled = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    return compact(
        {"Enabled": enabled, "AttributeName": ttl.get("AttributeName") if enabled else None}
    )


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("dynamodb", region)
    found: list[LiveResource] = []
    for name in pages(client, "list_tables", "TableNames"):
        try:
            table = client.describe_table(TableName=name)["Table"]
            properties = _table_properties(table)
            properties["PointInTimeRecoverySpecification"] = _point_in_time(client, name)
            properties["TimeToLiveSpecification"] = _time_to_live(client, name)
            tags = cfn_tags(
                list(pages(client, "list_tags_of_resource", "Tags", ResourceArn=table["TableArn"]))
            )
        except ClientError as error:
            if is_gone(error, "TableNotFoundException"):  # deleted since the listing
                continue
            raise
        if tags:
            properties["Tags"] = tags
        found.append(LiveResource(type=TYPE, region=region, identifier=name, properties=properties))
    return found


TABLE = register(
    ResourceType(
        name=TYPE,
        service="dynamodb",
        identifier="TableName",
        properties=frozenset(
            {
                "TableName",
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "StreamSpecification",
                "SSESpecification",
                "TableClass",
                "DeletionProtectionEnabled",
                "PointInTimeRecoverySpecification",
                "TimeToLiveSpecification",
                "Tags",
            }
        ),
        scan=scan,
        write_only=frozenset({"ImportSourceSpecification"}),
        actions=(
            "dynamodb:ListTables",
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:ListTagsOfResource",
        ),
        docs=(
            "DynamoDB tables with indexes (sorted by IndexName), streams, encryption, "
            "point-in-time recovery and TTL."
        ),
        example={
            "TableName": "orders",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
