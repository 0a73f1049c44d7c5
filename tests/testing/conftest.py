"""Fixtures for the test API server's own tests."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from driftwatch.testing import TestAPIServer
from driftwatch.testing.fixtures import served

KUBECTL = shutil.which("kubectl")

NAMESPACES = ("alpha", "beta", "gamma")


def deployment(name: str, namespace: str, app: str, *, tier: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app, "tier": tier}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {
                    "containers": [
                        {
                            "name": app,
                            "image": f"registry.example/{app}:1.0",
                            "ports": [{"containerPort": 8080}],
                        }
                    ]
                },
            },
        },
    }


def sample_manifests() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in NAMESPACES
    ]
    apps = ("web", "api", "worker")
    for i, ns in enumerate(NAMESPACES):
        for j, app in enumerate(apps):
            name = "web" if app == "web" else f"{app}-{i}"
            out.append(deployment(name, ns, app, tier="web" if j == 0 else "backend"))
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"{name}-pod", "namespace": ns, "labels": {"app": app}},
                    "spec": {"containers": [{"name": app, "image": f"registry.example/{app}:1.0"}]},
                }
            )
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"settings-{ns}", "namespace": ns},
                "data": {"mode": ns},
            }
        )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "alpha"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "alpha"},
            "stringData": {"password": "hunter2"},
        }
    )
    return out


@pytest.fixture(scope="session")
def sample_objects() -> list[dict[str, Any]]:
    return [served(m) for m in sample_manifests()]


@pytest.fixture
def server(sample_objects: list[dict[str, Any]]) -> Iterator[TestAPIServer]:
    srv = TestAPIServer(copy.deepcopy(sample_objects))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def kubeconfig(server: TestAPIServer, tmp_path: Path) -> Path:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api = client.ApiClient(configuration)
    try:
        yield api
    finally:
        api.close()


KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kubectl_bin() -> str:
    """The kubectl binary.  Tests using it are skipped only where kubectl is not installed,
    and never in CI (``CI`` set), where a missing kubectl fails them."""
    if KUBECTL is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is required in CI")
        pytest.skip("kubectl is not installed")
    return KUBECTL


@pytest.fixture
def kubectl_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment for kubectl: no inherited kubeconfig, a private discovery cache."""
    home = tmp_path / "kubectl-home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KUBECONFIG", "KUBECTL_", "CLOUDSDK_"))
    }
    env["KUBECACHEDIR"] = str(home / "kube-cache")
    env["HOME"] = str(home)
    return env


@pytest.fixture
def kubectl(kubectl_bin: str, kubectl_env: dict[str, str], kubeconfig: Path) -> KubectlRunner:
    """Run the real kubectl against ``server``."""
    env = kubectl_env

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [kubectl_bin, "--kubeconfig", str(kubeconfig), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
        return proc

    return run
