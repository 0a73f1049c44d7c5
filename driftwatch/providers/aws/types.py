"""Every AWS resource type driftwatch knows: importing a service module registers its types.

The modules are listed explicitly (no package scanning), so what a scan covers is visible
here and a module that fails to import fails loudly.
"""

from __future__ import annotations

import importlib

from driftwatch.providers.aws.model import REGISTRY, ResourceType

LIVE_MODULES = (
    "s3",
    "ec2",
    "iam",
    "awslambda",
    "dynamodb",
    "sqs",
    "sns",
    "kms",
    "rds",
    "route53",
    "logs",
)
_PACKAGE = "driftwatch.providers.aws.live"


def load_types() -> dict[str, ResourceType]:
    """The registry, with every service module imported (boto3 comes with them)."""
    for module in LIVE_MODULES:
        name = f"{_PACKAGE}.{module}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            # Not written yet: its types are simply not available.
    return dict(REGISTRY)
