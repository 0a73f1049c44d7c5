"""make_clients: boto3's own configuration, an assumed role, adaptive retries, caching."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from driftwatch.providers.aws.live.clients import make_clients
from driftwatch.testing.moto import MotoServer, iter_calls

ROLE_ARN = "arn:aws:iam::123456789012:role/driftwatch-audit"


def test_environment_endpoint_reaches_moto(moto: MotoServer) -> None:
    clients = make_clients()  # AWS_ENDPOINT_URL and the fake keys come from the environment
    clients("s3", "us-east-1").create_bucket(Bucket="reached-through-env")
    names = [b["Name"] for b in clients("s3", "us-east-1").list_buckets()["Buckets"]]
    assert names == ["reached-through-env"]
    identity = clients("sts", "us-east-1").get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:user/moto"


def test_explicit_endpoint_wins(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    client = make_clients(endpoint_url=moto.endpoint_url)("sqs", "eu-west-1")
    assert client.meta.endpoint_url == moto.endpoint_url
    assert client.list_queues().get("QueueUrls", []) == []


def test_assume_role_signs_with_the_role_credentials(moto: MotoServer) -> None:
    clients = make_clients(role_arn=ROLE_ARN)
    identity = clients("sts", "eu-west-1").get_caller_identity()
    # moto recognises the assumed role's access key: the client signs with it.
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/driftwatch-audit/driftwatch"
    assert list(iter_calls(moto.faults, "sts")).count("AssumeRole") == 1
    # Clients for other services share the credentials: no second AssumeRole.
    clients("ec2", "eu-west-1").describe_vpcs()
    clients("iam", "global").list_roles()
    assert list(iter_calls(moto.faults, "sts")).count("AssumeRole") == 1


def test_adaptive_retries_and_connection_pool(moto: MotoServer) -> None:
    config = make_clients()("ec2", "eu-west-1").meta.config
    assert config.retries["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == 11  # max_attempts=10 retries + the call
    assert config.max_pool_connections == 32


def test_throttling_is_retried(moto: MotoServer) -> None:
    moto.faults.throttle_next("ec2", "DescribeVpcs", 1)  # more: seconds of backoff
    vpcs = make_clients()("ec2", "eu-west-1").describe_vpcs()["Vpcs"]
    assert len(vpcs) == 1  # moto's default VPC, after a throttled attempt
    assert list(iter_calls(moto.faults, "ec2")).count("DescribeVpcs") == 2


def test_global_region_is_us_east_1(moto: MotoServer) -> None:
    clients = make_clients()
    assert clients("iam", "global").meta.region_name == "us-east-1"
    assert clients("iam", "global") is clients("iam", "us-east-1")


def test_clients_are_cached_per_service_and_region_across_threads(moto: MotoServer) -> None:
    clients = make_clients()
    seen: list[Any] = []
    barrier = threading.Barrier(8)

    def get() -> None:
        barrier.wait()
        seen.append(clients("s3", "eu-west-1"))

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in seen}) == 1
    assert clients("s3", "eu-west-2") is not seen[0]
    assert clients("s3", "eu-west-2").meta.region_name == "eu-west-2"
