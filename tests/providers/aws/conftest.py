"""One moto server (server mode, over HTTP on loopback) for the AWS tests, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from driftwatch.testing.moto import FAKE_CREDENTIALS, MotoServer, client_kwargs


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def moto(_moto_session: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """An empty moto server; boto3's environment points at it (AWS_ENDPOINT_URL, fake keys)."""
    _moto_session.reset()
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_session.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield _moto_session
    _moto_session.faults.clear()


@pytest.fixture
def clients(moto: MotoServer) -> Any:
    """A ``Clients`` callable for scanners: boto3 clients on the moto server, fast retries."""
    cache: dict[tuple[str, str], Any] = {}
    config = BotoConfig(retries={"mode": "standard", "max_attempts": 4})

    def get(service: str, region: str) -> Any:
        key = (service, region)
        if key not in cache:
            cache[key] = boto3.client(
                service,
                config=config,
                **client_kwargs(moto, region if region != "global" else "us-east-1"),
            )
        return cache[key]

    return get
