"""AWS::SNS::Topic against moto's server: CFN shapes, live changes, pages, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import sns
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::SNS::Topic"


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.properties["TopicName"]: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is sns.TOPIC
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    client = clients("sns", "us-east-1")
    arn = client.create_topic(
        Name="orders-events",
        Attributes={"DisplayName": "Order events", "KmsMasterKeyId": "alias/aws/sns"},
        Tags=[{"Key": "team", "Value": "orders"}, {"Key": "env", "Value": "prod"}],
    )["TopicArn"]
    client.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:b")
    client.subscribe(TopicArn=arn, Protocol="email", Endpoint="ops@example.com")
    client.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:a")

    found = _scan(clients)

    properties = found["orders-events"].properties
    assert found["orders-events"].identifier == arn
    assert found["orders-events"].aws_managed is None
    # SNS fills in a default policy; it is reported, and ignored by specs that omit it.
    default_policy = properties.pop("TopicPolicy")
    assert default_policy["PolicyDocument"]["Id"] == "__default_policy_ID"
    assert properties == {
        "TopicArn": arn,
        "TopicName": "orders-events",
        "DisplayName": "Order events",
        "KmsMasterKeyId": "alias/aws/sns",
        "FifoTopic": False,
        "Subscription": [  # sorted by Endpoint, then Protocol
            {"Endpoint": "arn:aws:sqs:us-east-1:123456789012:a", "Protocol": "sqs"},
            {"Endpoint": "arn:aws:sqs:us-east-1:123456789012:b", "Protocol": "sqs"},
            {"Endpoint": "ops@example.com", "Protocol": "email"},
        ],
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": arn,
            }
        ],
    }
    client.set_topic_attributes(
        TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy)
    )
    client.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="")
    for subscription in client.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
        if subscription["Protocol"] == "email":
            client.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    client.untag_resource(ResourceArn=arn, TagKeys=["env"])

    changed = _scan(clients)["orders-events"].properties
    assert changed["TopicPolicy"] == {"PolicyDocument": policy}
    assert "DisplayName" not in changed
    assert changed["Subscription"] == [
        {"Endpoint": "arn:aws:sqs:us-east-1:123456789012:a", "Protocol": "sqs"},
        {"Endpoint": "arn:aws:sqs:us-east-1:123456789012:b", "Protocol": "sqs"},
    ]
    assert changed["Tags"] == [{"Key": "team", "Value": "orders"}]


def test_fifo_topic(clients: Any) -> None:
    clients("sns", "us-east-1").create_topic(
        Name="orders.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )

    properties = _scan(clients)["orders.fifo"].properties

    assert properties["FifoTopic"] is True
    assert properties["ContentBasedDeduplication"] is True
    assert "Subscription" not in properties
    assert "Tags" not in properties


def test_follows_list_topics_and_subscriptions_pages(clients: Any, moto: MotoServer) -> None:
    # ListTopics and ListSubscriptionsByTopic answer at most 100 items a page.
    client = clients("sns", "us-east-1")
    names = sorted(f"topic-{i:03d}" for i in range(101))
    arns = [client.create_topic(Name=name)["TopicArn"] for name in names]
    endpoints = sorted(f"arn:aws:sqs:us-east-1:123456789012:q{i:03d}" for i in range(101))
    for endpoint in endpoints:
        client.subscribe(TopicArn=arns[0], Protocol="sqs", Endpoint=endpoint)
    moto.faults.calls.clear()

    found = _scan(clients)

    assert sorted(found) == names
    assert [s["Endpoint"] for s in found["topic-000"].properties["Subscription"]] == endpoints
    assert sum(1 for s, _, a in moto.faults.calls if (s, a) == ("sns", "ListTopics")) == 2


def test_other_region_lists_only_its_topics(clients: Any) -> None:
    clients("sns", "us-east-1").create_topic(Name="east")
    clients("sns", "eu-west-1").create_topic(Name="west")

    west = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.properties["TopicName"], r.region) for r in west] == [("west", "eu-west-1")]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    clients("sns", "us-east-1").create_topic(Name="orders")
    moto.faults.throttle_next("sns", "*", 2)

    assert list(_scan(clients)) == ["orders"]
    assert moto.faults.throttle[("sns", "*")] == 0


@pytest.mark.parametrize("action", ["ListTopics", "GetTopicAttributes", "ListTagsForResource"])
def test_access_denied_raises(clients: Any, moto: MotoServer, action: str) -> None:
    clients("sns", "us-east-1").create_topic(Name="orders")
    moto.faults.deny("sns", action)

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any, moto: MotoServer) -> None:
    clients("sns", "us-east-1").create_topic(Name="orders")
    moto.faults.calls.clear()

    _scan(clients)

    called = {f"sns:{a}" for s, _, a in moto.faults.calls if s == "sns"}
    assert called == set(REGISTRY[TYPE].actions)
