"""AWS::SNS::Topic: topic attributes, subscriptions, tags, and the topic policy
(CloudFormation's separate AWS::SNS::TopicPolicy) as ``TopicPolicy``.

SNS gives every topic a default policy (Id ``__default_policy_ID``); it is reported as it
is, and a spec that omits TopicPolicy does not compare it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import (
    as_bool,
    cfn_tags,
    compact,
    is_gone,
    pages,
    policy_property,
)
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::SNS::Topic"


def _properties(
    arn: str, attributes: dict[str, str], subscriptions: list[dict[str, Any]]
) -> dict[str, Any]:
    fifo = as_bool(attributes.get("FifoTopic", "false"))
    return compact(
        {
            "TopicArn": arn,
            "TopicName": arn.rpartition(":")[2],
            "DisplayName": attributes.get("DisplayName"),
            "KmsMasterKeyId": attributes.get("KmsMasterKeyId"),
            "FifoTopic": fifo,
            "ContentBasedDeduplication": (
                as_bool(attributes.get("ContentBasedDeduplication", "false")) if fifo else None
            ),
            "TopicPolicy": policy_property(attributes.get("Policy")),
            "Subscription": sorted(
                (
                    {"Endpoint": str(s.get("Endpoint", "")), "Protocol": str(s["Protocol"])}
                    for s in subscriptions
                ),
                key=lambda s: (s["Endpoint"], s["Protocol"]),
            ),
        }
    )


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("sns", region)
    found: list[LiveResource] = []
    for topic in pages(client, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        try:
            attributes = client.get_topic_attributes(TopicArn=arn).get("Attributes") or {}
            subscriptions = list(
                pages(client, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)
            )
            tags = client.list_tags_for_resource(ResourceArn=arn).get("Tags")
        except ClientError as error:
            if is_gone(error, "NotFound"):  # deleted since the listing
                continue
            raise
        properties = _properties(arn, attributes, subscriptions)
        if cfn := cfn_tags(tags):
            properties["Tags"] = cfn
        found.append(LiveResource(type=TYPE, region=region, identifier=arn, properties=properties))
    return found


TOPIC = register(
    ResourceType(
        name=TYPE,
        service="sns",
        identifier="TopicArn",
        properties=frozenset(
            {
                "TopicArn",
                "TopicName",
                "DisplayName",
                "KmsMasterKeyId",
                "FifoTopic",
                "ContentBasedDeduplication",
                "TopicPolicy",
                "Subscription",
                "Tags",
            }
        ),
        scan=scan,
        actions=(
            "sns:ListTopics",
            "sns:GetTopicAttributes",
            "sns:ListSubscriptionsByTopic",
            "sns:ListTagsForResource",
        ),
        docs=(
            "SNS topics with subscriptions (sorted by Endpoint); the topic's access policy "
            "(CloudFormation's AWS::SNS::TopicPolicy) is the extra property TopicPolicy: "
            "{PolicyDocument: ...}, as in that type."
        ),
        example={
            "TopicName": "orders-events",
            "DisplayName": "Order events",
            "KmsMasterKeyId": "alias/aws/sns",
            "Subscription": [
                {
                    "Endpoint": "arn:aws:sqs:us-east-1:123456789012:orders",
                    "Protocol": "sqs",
                }
            ],
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
