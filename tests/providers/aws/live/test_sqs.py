"""AWS::SQS::Queue against moto's server: CFN shapes, live changes, pages, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import sqs
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::SQS::Queue"


def _arn(clients: Any, url: str) -> str:
    attributes = clients("sqs", "us-east-1").get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"]
    )
    return str(attributes["Attributes"]["QueueArn"])


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.properties["QueueName"]: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is sqs.QUEUE
    assert REGISTRY[TYPE].identifier == "QueueUrl"
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    client = clients("sqs", "us-east-1")
    dlq_arn = _arn(clients, client.create_queue(QueueName="orders-dlq")["QueueUrl"])
    policy = {
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
    url = client.create_queue(
        QueueName="orders",
        Attributes={
            "DelaySeconds": "5",
            "MaximumMessageSize": "262144",
            "MessageRetentionPeriod": "1209600",
            "VisibilityTimeout": "60",
            "ReceiveMessageWaitTimeSeconds": "20",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
            "Policy": json.dumps(policy),
        },
        tags={"team": "orders", "env": "prod"},
    )["QueueUrl"]

    found = _scan(clients)

    assert found["orders"].identifier == url
    assert found["orders"].region == "us-east-1"
    assert found["orders"].properties == {
        "QueueUrl": url,
        "QueueName": "orders",
        "DelaySeconds": 5,
        "MaximumMessageSize": 262144,
        "MessageRetentionPeriod": 1209600,
        "VisibilityTimeout": 60,
        "ReceiveMessageWaitTimeSeconds": 20,
        "FifoQueue": False,
        "SqsManagedSseEnabled": True,
        "RedrivePolicy": {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5},
        "QueuePolicy": {"PolicyDocument": policy},
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }

    client.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "120",
            "KmsMasterKeyId": "alias/orders",
            "KmsDataKeyReusePeriodSeconds": "600",
            "SqsManagedSseEnabled": "false",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "9"}),
        },
    )
    client.untag_queue(QueueUrl=url, TagKeys=["env"])

    changed = _scan(clients)["orders"].properties
    assert changed["VisibilityTimeout"] == 120
    assert changed["KmsMasterKeyId"] == "alias/orders"
    assert changed["KmsDataKeyReusePeriodSeconds"] == 600
    assert changed["SqsManagedSseEnabled"] is False
    assert changed["RedrivePolicy"] == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 9}
    assert changed["Tags"] == [{"Key": "team", "Value": "orders"}]


def test_fifo_queue_settings(clients: Any) -> None:
    url = clients("sqs", "us-east-1").create_queue(
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]

    properties = _scan(clients)["orders.fifo"].properties

    assert properties == {
        "QueueUrl": url,
        "QueueName": "orders.fifo",
        "DelaySeconds": 0,
        "MaximumMessageSize": 1048576,  # SQS's default, 1 MiB
        "MessageRetentionPeriod": 345600,
        "VisibilityTimeout": 30,
        "ReceiveMessageWaitTimeSeconds": 0,
        "FifoQueue": True,
        "ContentBasedDeduplication": True,
        "DeduplicationScope": "queue",
        "FifoThroughputLimit": "perQueue",
        "SqsManagedSseEnabled": True,
    }


def test_follows_list_queues_pages(
    clients: Any, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AWS pages by MaxResults (at most 1000); a small page shows the tokens are followed.
    monkeypatch.setattr(sqs, "PAGE_SIZE", 2)
    names = [f"q-{i}" for i in range(5)]
    for name in names:
        clients("sqs", "us-east-1").create_queue(QueueName=name)
    moto.faults.calls.clear()

    assert sorted(_scan(clients)) == names
    assert sum(1 for s, _, a in moto.faults.calls if (s, a) == ("sqs", "ListQueues")) == 3


def test_other_region_lists_only_its_queues(clients: Any) -> None:
    clients("sqs", "us-east-1").create_queue(QueueName="east")
    clients("sqs", "eu-west-1").create_queue(QueueName="west")

    west = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.properties["QueueName"], r.region) for r in west] == [("west", "eu-west-1")]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    clients("sqs", "us-east-1").create_queue(QueueName="orders")
    moto.faults.throttle_next("sqs", "*", 2)

    assert list(_scan(clients)) == ["orders"]
    assert moto.faults.throttle[("sqs", "*")] == 0


@pytest.mark.parametrize("action", ["ListQueues", "GetQueueAttributes", "ListQueueTags"])
def test_access_denied_raises(clients: Any, moto: MotoServer, action: str) -> None:
    clients("sqs", "us-east-1").create_queue(QueueName="orders")
    moto.faults.deny("sqs", action)

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any, moto: MotoServer) -> None:
    clients("sqs", "us-east-1").create_queue(QueueName="orders")
    moto.faults.calls.clear()

    _scan(clients)

    called = {f"sqs:{a}" for s, _, a in moto.faults.calls if s == "sqs"}
    assert called == set(REGISTRY[TYPE].actions)
