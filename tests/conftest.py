"""Fixtures shared by the whole suite: real Git repositories built with git, and audits of
them against the test Kubernetes API server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from hypothesis import settings

from driftwatch.cli import main
from driftwatch.report import AuditReport
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.moto import FAKE_CREDENTIALS, MotoServer, client_kwargs

# CI explores the same examples every run (a landing never hangs on a rare draw);
# locally, hypothesis draws anew and keeps what it finds in .hypothesis/.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada Ops",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Ops",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


RepoFactory = Callable[..., Path]


@pytest.fixture(autouse=True)
def _isolated_homes(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep caches and keys out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("DRIFTWATCH_HASH_KEY", "test-hash-key-0123456789abcdef0123456789")


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoFactory:
    """``make_repo({"path": "content"}, message=...)`` → a repo with one commit per call."""
    root = tmp_path / "repo"

    def commit(files: dict[str, str | None], message: str = "update manifests") -> Path:
        if not (root / ".git").exists():
            root.mkdir(parents=True, exist_ok=True)
            git(root, "init", "-q", "-b", "main")
        for rel, content in files.items():
            path = root / rel
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", message)
        return root

    return commit


Setup = tuple[Path, Callable[..., AuditReport], Path]  # repo, scan(ref), report path
AuditFactory = Callable[[dict[str, str], list[dict[str, Any]]], Setup]


@pytest.fixture
def audit(
    make_repo: RepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AuditFactory]:
    """A repo with ``files``, a test API server with ``objects``, and ``scan(ref)``."""
    monkeypatch.chdir(
        tmp_path
    )  # any file a command writes by mistake lands here, not in the checkout
    servers: list[TestAPIServer] = []

    def start(files: dict[str, str], objects: list[dict[str, Any]]) -> Setup:
        repo = make_repo(files)
        server = TestAPIServer(objects)
        server.start()
        servers.append(server)
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")
        report_path = tmp_path / "report.json"

        def scan(ref: str = "HEAD") -> AuditReport:
            main(
                [
                    *("scan", "--repo", str(repo), "--ref", ref, "--kubeconfig", str(kubeconfig)),
                    *("--format", "json", "--output", str(report_path)),
                ]
            )
            capsys.readouterr()
            return AuditReport.from_json(report_path.read_bytes())

        return repo, scan, report_path

    yield start
    for server in servers:
        server.stop()


# AWS: one moto server (server mode, over HTTP on loopback) per session, reset per test.


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
