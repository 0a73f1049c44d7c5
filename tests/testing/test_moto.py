"""The moto server harness: real HTTP, and the faults AWS produces, in AWS's wire formats."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.testing.moto import MotoServer


def test_faults_are_scoped_and_cleared_by_reset(moto: MotoServer, clients: Any) -> None:
    east, west = clients("sqs", "us-east-1"), clients("sqs", "eu-west-1")
    moto.faults.deny("sqs", region="eu-west-1")
    assert east.list_queues().get("QueueUrls") is None  # allowed, and empty
    with pytest.raises(ClientError) as denied:
        west.list_queues()
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    moto.faults.throttle_next("sqs", "*", 2)  # retried by botocore, then answered
    east.create_queue(QueueName="orders")
    assert [a for s, r, a in moto.faults.calls if s == "sqs" and r == "us-east-1"][-3:] == [
        "CreateQueue"
    ] * 3

    moto.reset()
    assert east.list_queues().get("QueueUrls") is None
    assert west.list_queues().get("QueueUrls") is None  # the deny is gone too
