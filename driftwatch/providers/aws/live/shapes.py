"""Conversions from AWS API shapes to CloudFormation's, shared by the service scanners."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError


def cfn_tags(
    tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None,
    key: str = "Key",
    value: str = "Value",
) -> list[dict[str, str]]:
    """CloudFormation's ``[{Key, Value}]`` tag list, sorted by Key, from a map or from a
    list whose items name key and value ``key``/``value`` (KMS: TagKey/TagValue).

    ``aws:`` tags (``aws:cloudformation:stack-name``...) are dropped: AWS sets them and
    a template cannot, so keeping them would report drift on every stack-made resource.
    """
    if not tags:
        return []
    if isinstance(tags, Mapping):
        pairs = [(str(k), str(v)) for k, v in tags.items()]
    else:
        pairs = [(str(t[key]), str(t.get(value, ""))) for t in tags]
    return [{"Key": k, "Value": v} for k, v in sorted(pairs) if not k.startswith("aws:")]


def policy_document(text: str | None) -> dict[str, Any] | None:
    """A policy document as a dict; None when there is none."""
    if not text:
        return None
    document = json.loads(text)
    return document if isinstance(document, dict) else None


def policy_property(text: str | None) -> dict[str, Any] | None:
    """A resource policy in the shape of CloudFormation's separate policy types
    (AWS::S3::BucketPolicy, AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy):
    ``{PolicyDocument: {...}}``; None when there is none."""
    document = policy_document(text)
    return {"PolicyDocument": document} if document is not None else None


def as_bool(value: str | bool) -> bool:
    """Attributes APIs (SQS, SNS) answer booleans as "true"/"false"."""
    if isinstance(value, bool):
        return value
    return value.strip().lower() == "true"


def compact(properties: Mapping[str, Any]) -> dict[str, Any]:
    """``properties`` without absent values (None, "", [], {}); False and 0 are values."""
    return {
        k: v for k, v in properties.items() if v is not None and v != "" and v != [] and v != {}
    }


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` across the pages of ``operation``'s paginator."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key) or ()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_gone(error: ClientError, *codes: str) -> bool:
    """Whether ``error`` says the resource vanished between listing and describing it."""
    return error_code(error) in {"ResourceNotFoundException", "NotFoundException", *codes}
