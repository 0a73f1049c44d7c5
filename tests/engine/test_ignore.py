"""Ignore rules: Argo CD's jq forms still ignore, and a hostile or broken jq expression
ignores nothing, stops no scan and becomes one report error naming the rule."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest

from driftwatch.config import IgnoreRule
from driftwatch.engine.ignore import IgnoreRules, JqCache, RuleError, Subject
from driftwatch.engine.jqsandbox import Sandbox
from driftwatch.engine.paths import parse_path

LIVE: dict[str, Any] = {
    "metadata": {"name": "web", "annotations": {"sidecar.istio.io/status": "injected"}},
    "spec": {
        "replicas": 5,
        "template": {
            "spec": {
                "initContainers": [{"name": "injected-init-container", "image": "init"}],
                "containers": [
                    {"name": "web", "image": "nginx:2"},
                    {"name": "istio-proxy", "image": "envoy:1"},
                ],
            }
        },
    },
}
DESIRED: dict[str, Any] = {"metadata": {"name": "web"}, "spec": {"replicas": 2}}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(timeout=0.5)
    yield box
    box.close()


def subject(name: str = "web") -> Subject:
    return Subject("apps", "Deployment", "shop", name, copy.deepcopy(DESIRED), LIVE)


def ignored(
    rules: IgnoreRules, path: str, who: Subject | None = None, cache: JqCache | None = None
) -> str | None:
    """As ``compare`` asks: ``cache`` is one subject's (its jq runs once per subject)."""
    who = who or subject()
    cache = {} if cache is None else cache
    return rules.ignored_by(who, rules.applicable(who), parse_path(path), None, cache)


@pytest.mark.parametrize(
    ("expression", "path"),
    [
        (
            '.spec.template.spec.initContainers[] | select(.name == "injected-init-container")',
            "spec.template.spec.initContainers[name=injected-init-container]",
        ),
        (
            '.spec.template.spec.containers[] | select(.name == "istio-proxy") | .image',
            "spec.template.spec.containers[name=istio-proxy].image",
        ),
        (
            '.metadata.annotations | select(has("sidecar.istio.io/status")) | ."sidecar.istio.io/status"',
            'metadata.annotations["sidecar.istio.io/status"]',
        ),
        (".spec.replicas", "spec.replicas"),
        ("..|.image?", "spec.template.spec.containers[name=web].image"),
    ],
)
def test_argo_cd_forms_ignore_what_they_select(
    sandbox: Sandbox, expression: str, path: str
) -> None:
    rules = IgnoreRules([IgnoreRule(id="argo", jqPathExpressions=[expression])], [], sandbox)
    assert ignored(rules, path) == "argo"
    assert ignored(rules, "metadata.name") is None
    assert rules.take_errors() == []


def test_a_failing_expression_ignores_nothing_and_is_one_report_error(sandbox: Sandbox) -> None:
    rules = IgnoreRules(
        [
            IgnoreRule(id="boom", jqPathExpressions=['.spec | error("boom")']),
            IgnoreRule(id="replicas", jqPathExpressions=[".spec.replicas"]),
        ],
        [],
        sandbox,
    )
    for name in ("web-0", "web-1", "web-2"):
        who, cache = subject(name), {}
        assert ignored(rules, "spec.replicas", who, cache) == "replicas"
        assert ignored(rules, "spec.template", who, cache) is None
    (error,) = rules.take_errors("prod")
    assert error.target == "prod"
    assert error.path == "driftwatch.yaml"
    assert error.key == "ignoreDifferences.0.jqPathExpressions.0"
    assert error.message == (
        "ignore rule boom: jq path expression failed on Deployment shop/web-0"
        " (and 2 more resources): boom; it ignores nothing there"
    )
    assert rules.take_errors("prod") == []  # each target gets its own


def test_an_error_message_echoing_the_object_is_cut_short(sandbox: Sandbox) -> None:
    rules = IgnoreRules([IgnoreRule(id="echo", jqPathExpressions=["error(tostring)"])], [], sandbox)
    who = subject()
    assert who.live is not None
    who.live["metadata"]["annotations"]["note"] = "\x1b]0;owned\x07" + "x" * 1000
    assert ignored(rules, "spec.replicas", who) is None
    (error,) = rules.take_errors()
    assert len(error.message) < 400
    assert "\x1b" not in error.message  # escapes are shown, never sent to a terminal


def test_a_runaway_expression_is_stopped_once_and_not_run_again(sandbox: Sandbox) -> None:
    rules = IgnoreRules(
        [
            IgnoreRule(id="loop", jqPathExpressions=["def f: f; f"]),
            IgnoreRule(id="replicas", jqPathExpressions=[".spec.replicas"]),
        ],
        [],
        sandbox,
    )
    started = time.monotonic()
    for n in range(20):
        assert ignored(rules, "spec.replicas", subject(f"web-{n}")) == "replicas"
    assert time.monotonic() - started < 3  # one timeout (0.5 s), not twenty
    (error,) = rules.take_errors("prod")
    assert "ignore rule loop" in error.message
    assert "Deployment shop/web-0 (and 19 more resources)" in error.message
    assert "took longer than 0.5 s, so it is not run again in this scan" in error.message
    # The next target is told too, without running it again.
    assert ignored(rules, "spec.replicas", subject("api")) == "replicas"
    (again,) = rules.take_errors("staging")
    assert "Deployment shop/api:" in again.message


def test_a_memory_bomb_is_stopped(sandbox: Sandbox) -> None:
    rules = IgnoreRules([IgnoreRule(id="bomb", jqPathExpressions=['"x" * 1e9'])], [], sandbox)
    assert ignored(rules, "spec.replicas") is None
    (error,) = rules.take_errors()
    assert "ignore rule bomb" in error.message
    assert "exceeded the memory limit" in error.message or "took longer" in error.message


def test_failures_are_counted_for_memos(sandbox: Sandbox) -> None:
    rules = IgnoreRules([IgnoreRule(id="boom", jqPathExpressions=["error"])], [], sandbox)
    assert rules.failure_count == 0
    ignored(rules, "spec.replicas")
    assert rules.failure_count == 1


@pytest.mark.parametrize("expression", ["$ENV | tostring | error", "env.HOME", "input"])
def test_rules_built_without_load_config_are_checked_too(expression: str) -> None:
    with pytest.raises(RuleError, match=r"^leak: jqPathExpressions\[0\] uses "):
        IgnoreRules([IgnoreRule(id="leak", jqPathExpressions=[expression])], [])
