"""AWS::Logs::LogGroup: log groups with retention, encryption key, class and tags.

Groups under ``/aws/`` (``/aws/lambda/<fn>``...) are created by services on the user's
behalf but belong to the user (retention, encryption and cost are theirs to set), so no
log group is marked aws_managed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, compact, is_gone, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::Logs::LogGroup"


def _arn(group: dict[str, Any]) -> str:
    # ListTagsForResource wants the ARN without DescribeLogGroups' trailing ":*".
    return str(group.get("logGroupArn") or str(group["arn"]).removesuffix(":*"))


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("logs", region)
    found: list[LiveResource] = []
    for group in pages(client, "describe_log_groups", "logGroups"):
        try:
            tags = client.list_tags_for_resource(resourceArn=_arn(group)).get("tags")
        except ClientError as error:
            if is_gone(error):  # deleted since the listing
                continue
            raise
        name = group["logGroupName"]
        properties = compact(
            {
                "LogGroupName": name,
                "RetentionInDays": group.get("retentionInDays"),
                "KmsKeyId": group.get("kmsKeyId"),
                "LogGroupClass": group.get("logGroupClass"),
                "Tags": cfn_tags(tags),
            }
        )
        found.append(LiveResource(type=TYPE, region=region, identifier=name, properties=properties))
    return found


LOG_GROUP = register(
    ResourceType(
        name=TYPE,
        service="logs",
        identifier="LogGroupName",
        properties=frozenset(
            {"LogGroupName", "RetentionInDays", "KmsKeyId", "LogGroupClass", "Tags"}
        ),
        scan=scan,
        actions=("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        docs=(
            "CloudWatch Logs log groups, including service-created /aws/... groups "
            "(RetentionInDays absent means never expire)."
        ),
        example={
            "LogGroupName": "/orders/api",
            "RetentionInDays": 30,
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
