"""The shapes every AWS resource type shares: what a scanner returns and how a type is
registered.  Pure data; boto3 is used only by the scanners in ``live/``.

A resource type is described once, in the module of its service under ``live/``, and
registered in ``REGISTRY``: its CloudFormation name, the property names a spec may use,
the primary identifier, the IAM actions its scanner calls (the least-privilege policy is
built from these and a test checks them) and the scanner itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

API_VERSION = "driftwatch.dev/v1alpha1"
KIND = "AWSResource"


@dataclass(frozen=True, slots=True)
class LiveResource:
    """One live resource, its properties in CloudFormation names and shapes."""

    type: str  # e.g. "AWS::S3::Bucket"
    region: str  # "us-east-1"; global services (IAM, Route53) use "global"
    identifier: str  # the CloudFormation primary identifier, e.g. the bucket name
    properties: dict[str, Any]
    # Why AWS itself created this resource (the default VPC, an AWS-managed key, a
    # service-linked role...); such resources are never reported as unmanaged.
    aws_managed: str | None = None


class Clients(Protocol):
    """boto3 clients per (service, region), configured once (retries, endpoint)."""

    def __call__(self, service: str, region: str) -> Any: ...


Scanner = Callable[[Clients, str], Iterable[LiveResource]]
# Lists a type reading only the named properties (the identifier always): for types that
# need an API call per resource and property, such as S3 buckets.
PartialScanner = Callable[[Clients, str, frozenset[str]], Iterable[LiveResource]]


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str  # "AWS::S3::Bucket"
    service: str  # boto3 client name, "s3"
    identifier: str  # CloudFormation property holding the primary identifier, "BucketName"
    properties: frozenset[str]  # top-level CloudFormation property names a spec may use
    scan: Scanner  # lists every resource of the type in one region
    actions: tuple[str, ...]  # IAM actions the scanner calls, e.g. ("s3:ListAllMyBuckets", ...)
    regional: bool = True  # False: one global listing (IAM, Route53), region "global"
    # Properties whose values are secrets: compared by keyed hash, shown masked.
    secret_properties: tuple[str, ...] = ()
    # CloudFormation properties AWS never returns (passwords, code, create-time options):
    # accepted in specs so templates paste as they are, never compared.
    write_only: frozenset[str] = frozenset()
    scan_properties: PartialScanner | None = None  # None: ``scan`` reads all in one go
    docs: str = ""  # a one-line description for `docs/aws.md`
    example: dict[str, Any] = field(default_factory=dict)  # spec.properties for the docs


REGISTRY: dict[str, ResourceType] = {}


def register(resource_type: ResourceType) -> ResourceType:
    REGISTRY[resource_type.name] = resource_type
    return resource_type
