"""Reading a hostile or failing cluster: the test API server answers garbage, throttles,
resets connections; each kind or target fails alone, with the reason, and transient
failures are retried."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from driftwatch.config import TargetConfig
from driftwatch.providers.kubernetes.live import (
    MAX_ATTEMPTS,
    ClusterState,
    ClusterUnreachable,
    scan_cluster,
)
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.fixtures import served

KINDS = {("", "ConfigMap"), ("apps", "Deployment")}
CONFIGMAPS = "/api/v1/configmaps"


def configmap(name: str) -> dict[str, Any]:
    return served(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "shop"},
            "data": {"level": "info"},
        }
    )


def deployment(name: str) -> dict[str, Any]:
    return served(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": name, "image": "nginx:1.25"}]},
                },
            },
        }
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[TestAPIServer, TargetConfig]]:
    server = TestAPIServer([configmap("settings"), deployment("web")])
    server.start()
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    yield server, TargetConfig(name="hostile", kubeconfig=str(kubeconfig))
    server.stop()


def lists(server: TestAPIServer, path: str) -> int:
    return sum(1 for r in server.requests if r.path == path and "watch" not in r.query)


def names(state: ClusterState, kind: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in state.objects if o["kind"] == kind)


def failure(state: ClusterState, kind: str) -> str:
    (reason,) = [f.reason for f in state.failures if f.kind == kind]
    return reason


# --- garbage answers: the kind fails alone, with the reason ----------------------------

NESTED = b"[" * 100_000 + b"]" * 100_000
GARBAGE = {
    "html": (b"<html><body><h1>Welcome to nginx!</h1></body></html>", "did not answer JSON"),
    "truncated": (b'{"kind":"ConfigMapList","items":[{"metadata":{"na', "did not answer JSON"),
    "nested": (NESTED, "did not answer JSON"),
    "list": (b"[]", "not a ConfigMap list (got a list)"),
    "items-number": (b'{"items": 5}', "items is int"),
    "items-scalars": (b'{"items": [1, "x"]}', "item 0 is int, not an object"),
    "no-metadata": (b'{"items": [{"data": {}}]}', "item 0 has no metadata object"),
    "name-number": (
        b'{"items": [{"metadata": {"name": 5, "namespace": "shop"}}]}',
        "item 0 has no metadata.name string",
    ),
    "no-namespace": (b'{"items": [{"metadata": {"name": "a"}}]}', "no metadata.namespace"),
    "other-kind": (
        b'{"items": [{"kind": "Secret", "metadata": {"name": "a", "namespace": "shop"}}]}',
        "item 0 is not a ConfigMap",
    ),
    "labels-list": (
        b'{"items": [{"metadata": {"name": "a", "namespace": "shop", "labels": [1]}}]}',
        "metadata.labels that is not a map of strings",
    ),
    "managed-fields": (
        b'{"items": [{"metadata": {"name": "a", "namespace": "shop", "managedFields": 5}}]}',
        "metadata.managedFields that is not a list of objects",
    ),
    "continue-number": (b'{"metadata": {"continue": 7}, "items": []}', "continue is not a string"),
    # A full list answered with metadata only: the differ would see bodies without spec.
    "metadata-only": (
        b'{"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "items": []}',
        "it answered metadata only",
    ),
}


@pytest.mark.parametrize("mode", sorted(GARBAGE))
def test_a_garbage_list_fails_that_kind_only(
    cluster: tuple[TestAPIServer, TargetConfig], mode: str
) -> None:
    server, target = cluster
    body, expected = GARBAGE[mode]
    server.faults.garbage(body, "", "configmaps", content_type="text/html")
    state = scan_cluster(target, KINDS)
    reason = failure(state, "ConfigMap")
    assert expected in reason and reason.startswith("cannot list: ")
    assert len(reason) <= 320 and "\n" not in reason
    assert names(state, "ConfigMap") == []
    assert names(state, "Deployment") == ["web"]  # the other kind is read as usual
    assert lists(server, CONFIGMAPS) == 1  # garbage is not retried


def test_a_server_that_never_ends_a_list_fails_that_kind_only(
    cluster: tuple[TestAPIServer, TargetConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same continue token for ever, or a new one for ever: a bounded walk."""
    server, target = cluster
    server.faults.garbage(
        b'{"kind":"ConfigMapList","items":[],"metadata":{"continue":"same"}}', "", "configmaps"
    )
    state = scan_cluster(target, KINDS)
    assert "repeated a continue token" in failure(state, "ConfigMap")
    assert lists(server, CONFIGMAPS) == 2
    assert names(state, "Deployment") == ["web"]

    server.faults.clear()
    monkeypatch.setattr("driftwatch.providers.kubernetes.live.PAGE_SIZE", 1)
    monkeypatch.setattr("driftwatch.providers.kubernetes.live.MAX_PAGES", 3)
    for i in range(5):
        server.put(configmap(f"cm-{i}"))
    state = scan_cluster(target, KINDS)
    assert "more than 3 pages" in failure(state, "ConfigMap")


def test_items_without_kind_are_what_a_list_holds(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    body = b'{"items": [{"metadata": {"name": "a", "namespace": "shop"}}]}'
    server.faults.garbage(body, "", "configmaps")
    state = scan_cluster(target, KINDS)
    assert state.failures == []
    (item,) = [o for o in state.objects if o["kind"] == "ConfigMap"]
    assert item["apiVersion"] == "v1" and item["metadata"]["name"] == "a"


def test_server_text_in_a_reason_is_escaped_and_short(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    forged = b"\x1b[2J\x1b]8;;http://evil\x07click\nERROR all clear" + b"x" * 5000
    server.faults.garbage(forged, "", "configmaps", content_type="text/plain")
    reason = failure(scan_cluster(target, KINDS), "ConfigMap")
    assert "\x1b" not in reason and "\x07" not in reason and "\n" not in reason
    assert "\\x1b" in reason and len(reason) <= 320


@pytest.mark.parametrize("path", ["/api", "/apis"])
def test_garbage_discovery_makes_the_target_unreachable(
    cluster: tuple[TestAPIServer, TargetConfig], path: str
) -> None:
    server, target = cluster
    server.faults.garbage(b"<html>login required</html>", path=path, content_type="text/html")
    with pytest.raises(ClusterUnreachable, match=f"unusable discovery: {path} did not answer JSON"):
        scan_cluster(target, KINDS)
    server.faults.clear()
    server.faults.garbage(b'{"groups": [{"name": 5}]}', path=path)
    with pytest.raises(ClusterUnreachable, match="unusable discovery"):
        scan_cluster(target, KINDS)


def test_a_broken_group_version_fails_its_kinds_with_the_reason(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    server.faults.garbage(b'{"resources": "none"}', path="/apis/apps/v1")
    state = scan_cluster(target, KINDS)
    assert "discovery of /apis/apps/v1 failed" in failure(state, "Deployment")
    assert names(state, "ConfigMap") == ["settings"]


# --- transient answers: retried with backoff, then given up ----------------------------


def test_throttling_is_retried_honouring_retry_after(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    server.faults.error("", "configmaps", code=429, retry_after=1, times=2)
    started = time.monotonic()
    state = scan_cluster(target, KINDS)
    assert time.monotonic() - started >= 2.0
    assert lists(server, CONFIGMAPS) == 3
    assert state.failures == [] and names(state, "ConfigMap") == ["settings"]


def test_retry_after_as_an_http_date(cluster: tuple[TestAPIServer, TargetConfig]) -> None:
    server, target = cluster
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    server.faults.error("", "configmaps", code=503, retry_after=when, times=1)
    started = time.monotonic()
    state = scan_cluster(target, KINDS)
    assert time.monotonic() - started >= 1.0  # the date has a one-second resolution
    assert lists(server, CONFIGMAPS) == 2 and names(state, "ConfigMap") == ["settings"]


@pytest.mark.parametrize("code", [502, 503, 504])
def test_gateway_errors_are_retried_with_backoff(
    cluster: tuple[TestAPIServer, TargetConfig], code: int
) -> None:
    server, target = cluster
    server.faults.error("", "configmaps", code=code, times=2)
    state = scan_cluster(target, KINDS)
    assert lists(server, CONFIGMAPS) == 3
    assert state.failures == [] and names(state, "ConfigMap") == ["settings"]


def test_reset_connections_are_retried(cluster: tuple[TestAPIServer, TargetConfig]) -> None:
    server, target = cluster
    server.faults.reset("", "configmaps", times=2)
    server.faults.reset(path="/apis", times=1)  # discovery too
    state = scan_cluster(target, KINDS)
    assert lists(server, CONFIGMAPS) == 3 and lists(server, "/apis") == 2
    assert state.failures == [] and names(state, "ConfigMap") == ["settings"]


def test_endless_throttling_gives_up_in_bounded_time(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    server.faults.error("", "configmaps", code=429, retry_after=1)
    started = time.monotonic()
    state = scan_cluster(target, KINDS)
    assert time.monotonic() - started < 6.0
    assert lists(server, CONFIGMAPS) == MAX_ATTEMPTS
    reason = failure(state, "ConfigMap")
    assert f"gave up after {MAX_ATTEMPTS} attempts" in reason and "429" in reason
    assert names(state, "Deployment") == ["web"]


def test_endless_resets_give_up(cluster: tuple[TestAPIServer, TargetConfig]) -> None:
    server, target = cluster
    server.faults.reset("", "configmaps")
    state = scan_cluster(target, KINDS)
    assert lists(server, CONFIGMAPS) == MAX_ATTEMPTS
    assert "connection failed" in failure(state, "ConfigMap")
    assert names(state, "Deployment") == ["web"]


def test_a_retry_after_beyond_the_budget_gives_up_at_once(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    server.faults.error("", "configmaps", code=429, retry_after=3600)
    started = time.monotonic()
    state = scan_cluster(target, KINDS)
    assert time.monotonic() - started < 2.0
    assert lists(server, CONFIGMAPS) == 1
    assert "gave up after 1 attempt in" in failure(state, "ConfigMap")


def test_errors_that_are_not_transient_are_not_retried(
    cluster: tuple[TestAPIServer, TargetConfig],
) -> None:
    server, target = cluster
    server.faults.error("", "configmaps", code=500)
    state = scan_cluster(target, KINDS)
    assert lists(server, CONFIGMAPS) == 1 and "500" in failure(state, "ConfigMap")


def test_pagination_goes_on_after_a_retried_page(
    cluster: tuple[TestAPIServer, TargetConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, target = cluster
    monkeypatch.setattr("driftwatch.providers.kubernetes.live.PAGE_SIZE", 2)
    for i in range(5):
        server.put(configmap(f"cm-{i}"))
    server.faults.reset("", "configmaps", times=1)
    server.faults.gone_on_continue("", "configmaps", times=1)
    state = scan_cluster(target, KINDS)
    assert state.failures == []
    assert names(state, "ConfigMap") == [*(f"cm-{i}" for i in range(5)), "settings"]
    continues = [r for r in server.requests if r.path == CONFIGMAPS and "continue" in r.query]
    assert len(continues) >= 3  # the 410 restarted the list, whose tokens then worked


def test_an_oversized_answer_is_not_read_to_the_end(
    cluster: tuple[TestAPIServer, TargetConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, target = cluster
    monkeypatch.setattr("driftwatch.providers.kubernetes.live.MAX_RESPONSE_BYTES", 1 << 20)
    server.faults.garbage(b'{"items": [' + b" " * (3 << 20) + b"]}", "", "configmaps")
    state = scan_cluster(target, KINDS)
    assert "answered more than 1 MiB" in failure(state, "ConfigMap")
    assert names(state, "Deployment") == ["web"]
    server.faults.clear()
    state = scan_cluster(target, KINDS)  # the client's connections are still good
    assert state.failures == [] and names(state, "ConfigMap") == ["settings"]
