"""boto3 clients for scanning a real AWS account: one session per target, one client per
(service, region), created once under a lock and shared by the scanners' threads.

Without explicit arguments boto3's own configuration applies unchanged (``AWS_PROFILE``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``, the shared config files), so whatever works
for the AWS CLI works here.

Every 2xx answer is checked to be its protocol's document (:func:`check_response`):
botocore reads an HTML page from a proxy as an empty result, which would audit as drift.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials

from driftwatch.providers.aws.model import Clients
from driftwatch.textsafe import short_value

# Adaptive mode adds client-side rate limiting on top of retries: a scan issues bursts of
# Describe/Get calls and AWS throttles per account and API, not per client.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, max_pool_connections=32)

SESSION_NAME = "driftwatch"
# Scanners name global services (IAM, Route53) with this pseudo-region; their API lives
# in us-east-1.
GLOBAL_REGION = "global"
GLOBAL_SERVICE_REGION = "us-east-1"


class MalformedResponse(Exception):
    """An AWS endpoint answered 2xx with a body that is not its protocol's document."""


_JSON_PROTOCOLS = ("json", "rest-json")
_XML_PROTOCOLS = ("query", "ec2", "rest-xml")


def check_response(http_response: Any, model: Any, **_: Any) -> None:
    """botocore's ``after-call`` hook: raise MalformedResponse for a 2xx answer that is not
    a JSON object (JSON protocols) or an XML document (XML protocols; an HTML page is
    well-formed XML too, and botocore would read it as a result with nothing in it)."""
    protocol = model.service_model.protocol
    body: bytes = http_response.content or b""
    if not 200 <= http_response.status_code < 300 or not body.strip() or _payload(model):
        return
    if protocol in _JSON_PROTOCOLS:
        try:
            ok = isinstance(json.loads(body), dict)
        except ValueError:
            ok = False
    elif protocol in _XML_PROTOCOLS:
        try:
            ok = ElementTree.fromstring(body).tag.rpartition("}")[2].lower() != "html"
        except ElementTree.ParseError:
            ok = False
    else:
        return  # a protocol this check does not know: botocore's parser decides
    if not ok:
        content_type = http_response.headers.get("Content-Type") or "no content type"
        raise MalformedResponse(
            f"{model.name} answered {content_type} that is not {protocol} data: "
            + short_value(body[:80].decode("utf-8", "replace"))
        )


def _payload(model: Any) -> bool:
    """Whether the operation's answer is a raw payload (a policy text, an object), not a
    protocol document."""
    output = model.output_shape
    return output is not None and "payload" in output.serialization


class _AssumeRoleProvider(CredentialProvider):  # type: ignore[misc]
    """Credentials of ``role_arn`` assumed with the source session, renewed before expiry
    (botocore refreshes them under its own lock)."""

    METHOD = "driftwatch-assume-role"
    CANONICAL_NAME = "custom-driftwatch-assume-role"

    def __init__(self, source: boto3.session.Session, role_arn: str, endpoint_url: str | None):
        super().__init__()
        self._source = source
        self._role_arn = role_arn
        self._endpoint_url = endpoint_url

    def _fetch(self) -> dict[str, str]:
        kwargs: dict[str, Any] = {"config": CLIENT_CONFIG}
        if self._endpoint_url is not None:
            kwargs["endpoint_url"] = self._endpoint_url
        # STS's regional endpoints need a region; fall back to the global partition's.
        region = self._source.region_name or GLOBAL_SERVICE_REGION
        sts = self._source.client("sts", region_name=region, **kwargs)
        credentials = sts.assume_role(RoleArn=self._role_arn, RoleSessionName=SESSION_NAME)[
            "Credentials"
        ]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    def load(self) -> RefreshableCredentials:
        return RefreshableCredentials.create_from_metadata(
            metadata=self._fetch(), refresh_using=self._fetch, method=self.METHOD
        )


class _CachedClients:
    """A ``Clients``: one boto3 client per (service, region), created on first use."""

    def __init__(self, session: boto3.session.Session, endpoint_url: str | None) -> None:
        self.session = session
        self._endpoint_url = endpoint_url
        self._cache: dict[tuple[str, str], Any] = {}
        # boto3 sessions are not thread-safe when creating clients; clients themselves are.
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        if region == GLOBAL_REGION:
            region = GLOBAL_SERVICE_REGION
        key = (service, region)
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                kwargs: dict[str, Any] = {"region_name": region, "config": CLIENT_CONFIG}
                if self._endpoint_url is not None:
                    kwargs["endpoint_url"] = self._endpoint_url
                client = self._cache[key] = self.session.client(service, **kwargs)
                client.meta.events.register("after-call", check_response)
            return client


def make_clients(
    profile: str | None = None, role_arn: str | None = None, endpoint_url: str | None = None
) -> Clients:
    """Clients for one target: ``profile`` (else boto3's default chain), optionally assuming
    ``role_arn`` (session name ``driftwatch``), against ``endpoint_url`` if given."""
    source = boto3.session.Session(profile_name=profile)
    if role_arn is None:
        return _CachedClients(source, endpoint_url)
    core = botocore.session.Session(profile=profile)
    resolver = core.get_component("credential_provider")
    # First in the chain, so neither the environment's keys nor the profile's win.
    resolver.providers.insert(0, _AssumeRoleProvider(source, role_arn, endpoint_url))
    return _CachedClients(boto3.session.Session(botocore_session=core), endpoint_url)
