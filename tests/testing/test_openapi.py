"""The test API server's ``/openapi/v3``, checked with the real ``kubectl explain``
(which reads OpenAPI v3 since kubectl 1.27) and against the upstream data it comes from."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

from driftwatch.testing import TestAPIServer

KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


def test_kubectl_explain_reads_the_schema(kubectl: KubectlRunner) -> None:
    out = kubectl("explain", "deployments.spec.template.spec.containers.ports").stdout
    assert "containerPort" in out and "protocol" in out
    assert "ContainerPort" in out or "<[]ContainerPort>" in out or "[]Object" in out


def _get(server: TestAPIServer, path: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(server.url + path) as answer:
        return json.loads(answer.read())


def test_index_urls_carry_a_hash_that_changes_with_a_crd(server: TestAPIServer) -> None:
    before = _get(server, "/openapi/v3")["paths"]
    assert "apis/apps/v1" in before and "api/v1" in before
    url = before["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    server.add(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        }
    )
    after = _get(server, "/openapi/v3")["paths"]
    assert "apis/example.com/v1" in after
    doc = _get(server, after["apis/example.com/v1"]["serverRelativeURL"])
    gadget = doc["components"]["schemas"]["com.example.v1.Gadget"]
    assert gadget["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1", "kind": "Gadget"}
    ]
    # Each schema a kind references is in the document, as a real server writes it.
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]


def test_a_server_without_openapi_v3_answers_404() -> None:
    import urllib.error
    import urllib.request

    with TestAPIServer(openapi_v3=False) as server:
        try:
            urllib.request.urlopen(server.url + "/openapi/v3")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
        else:
            raise AssertionError("expected 404")
