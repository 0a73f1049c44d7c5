"""One headless demo run (JSON) shared by the demo tests: starting the demo takes seconds."""

from __future__ import annotations

import io
import tempfile

import pytest

from driftwatch.demo import run_headless
from driftwatch.report import AuditReport


@pytest.fixture(scope="package")
def headless_json() -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as home:
        # package scope: the autouse isolation fixture is function-scoped, so isolate here too
        mp.setenv("XDG_CACHE_HOME", f"{home}/cache")
        mp.setenv("XDG_CONFIG_HOME", f"{home}/config")
        mp.setenv("DRIFTWATCH_HASH_KEY", "test-hash-key-0123456789abcdef0123456789")
        out = io.StringIO()
        code = run_headless(out, fmt="json")
    return code, out.getvalue()


@pytest.fixture
def report(headless_json: tuple[int, str]) -> AuditReport:
    return AuditReport.from_json(headless_json[1])


@pytest.fixture(scope="package")
def headless_text() -> tuple[int, str]:
    """``driftwatch demo --headless`` as written to a file or pipe."""
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as home:
        mp.setenv("XDG_CACHE_HOME", f"{home}/cache")
        mp.setenv("XDG_CONFIG_HOME", f"{home}/config")
        mp.setenv("DRIFTWATCH_HASH_KEY", "test-hash-key-0123456789abcdef0123456789")
        out = io.StringIO()
        code = run_headless(out)
    return code, out.getvalue()
