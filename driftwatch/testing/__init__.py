"""Test doubles for driftwatch: a faithful read-only Kubernetes API server and fixtures.

``TestAPIServer`` serves apiserver-shaped objects over HTTP to kubectl and the official
Python client; :mod:`driftwatch.testing.fixtures` turns manifests into such objects.
Run ``python -m driftwatch.testing serve --objects FILE`` to serve from another process.
"""

from driftwatch.testing.apiserver import (
    DEFAULT_TOKEN,
    RequestRecord,
    TestAPIServer,
    load_objects,
    write_kubeconfig,
)
from driftwatch.testing.catalog import BUILTIN_RESOURCES, ResourceType, custom_resource, from_crd
from driftwatch.testing.faults import DEFAULT_USER, Faults
from driftwatch.testing.fixtures import apply_defaults, record_write, served

__all__ = [
    "BUILTIN_RESOURCES",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "Faults",
    "RequestRecord",
    "ResourceType",
    "TestAPIServer",
    "apply_defaults",
    "custom_resource",
    "from_crd",
    "load_objects",
    "record_write",
    "served",
    "write_kubeconfig",
]
