"""AWS::SQS::Queue: queue attributes (typed as CloudFormation types them), tags, and the
queue policy (CloudFormation's separate AWS::SQS::QueuePolicy) as ``QueuePolicy``."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import (
    as_bool,
    cfn_tags,
    compact,
    is_gone,
    pages,
    policy_document,
    policy_property,
)
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::SQS::Queue"
# ListQueues only paginates when MaxResults is given; without it AWS stops at 1000 queues.
PAGE_SIZE = 1000

_INTEGERS = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "ReceiveMessageWaitTimeSeconds",
)
_GONE = ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


def _json_policy(text: str | None) -> dict[str, Any] | None:
    """Redrive policies as dicts, maxReceiveCount an integer as CloudFormation types it."""
    document = policy_document(text)
    if document and isinstance(document.get("maxReceiveCount"), str):
        document["maxReceiveCount"] = int(document["maxReceiveCount"])
    return document


def _properties(url: str, attributes: dict[str, str]) -> dict[str, Any]:
    fifo = as_bool(attributes.get("FifoQueue", "false"))
    kms_key = attributes.get("KmsMasterKeyId")
    properties: dict[str, Any] = {
        "QueueUrl": url,
        "QueueName": attributes["QueueArn"].rpartition(":")[2],
        **{name: int(attributes[name]) for name in _INTEGERS if attributes.get(name)},
        "FifoQueue": fifo,
        "KmsMasterKeyId": kms_key,
        "KmsDataKeyReusePeriodSeconds": (
            int(attributes["KmsDataKeyReusePeriodSeconds"])
            if kms_key and attributes.get("KmsDataKeyReusePeriodSeconds")
            else None
        ),
        "SqsManagedSseEnabled": (
            as_bool(attributes["SqsManagedSseEnabled"])
            if "SqsManagedSseEnabled" in attributes
            else None
        ),
        "RedrivePolicy": _json_policy(attributes.get("RedrivePolicy")),
        "RedriveAllowPolicy": policy_document(attributes.get("RedriveAllowPolicy")),
        "QueuePolicy": policy_property(attributes.get("Policy")),
    }
    if fifo:
        properties["ContentBasedDeduplication"] = as_bool(
            attributes.get("ContentBasedDeduplication", "false")
        )
        properties["DeduplicationScope"] = attributes.get("DeduplicationScope")
        properties["FifoThroughputLimit"] = attributes.get("FifoThroughputLimit")
    return compact(properties)


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("sqs", region)
    found: list[LiveResource] = []
    for url in pages(client, "list_queues", "QueueUrls", PaginationConfig={"PageSize": PAGE_SIZE}):
        try:
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            tags = client.list_queue_tags(QueueUrl=url).get("Tags")
        except ClientError as error:
            if is_gone(error, *_GONE):  # deleted since the listing
                continue
            raise
        properties = _properties(url, attributes.get("Attributes") or {})
        if cfn := cfn_tags(tags):
            properties["Tags"] = cfn
        found.append(LiveResource(type=TYPE, region=region, identifier=url, properties=properties))
    return found


_EXAMPLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
        }
    ],
}

QUEUE = register(
    ResourceType(
        name=TYPE,
        service="sqs",
        identifier="QueueUrl",
        properties=frozenset(
            {
                "QueueUrl",
                "QueueName",
                *_INTEGERS,
                "FifoQueue",
                "ContentBasedDeduplication",
                "DeduplicationScope",
                "FifoThroughputLimit",
                "KmsMasterKeyId",
                "KmsDataKeyReusePeriodSeconds",
                "SqsManagedSseEnabled",
                "RedrivePolicy",
                "RedriveAllowPolicy",
                "QueuePolicy",
                "Tags",
            }
        ),
        scan=scan,
        actions=("sqs:ListQueues", "sqs:GetQueueAttributes", "sqs:ListQueueTags"),
        docs=(
            "SQS queues; the queue's access policy (CloudFormation's AWS::SQS::QueuePolicy) "
            "is the extra property QueuePolicy: {PolicyDocument: ...}, as in that type."
        ),
        example={
            "QueueName": "orders",
            "VisibilityTimeout": 60,
            "MessageRetentionPeriod": 1209600,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
                "maxReceiveCount": 5,
            },
            "QueuePolicy": {"PolicyDocument": _EXAMPLE_POLICY},
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
