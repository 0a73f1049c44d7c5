"""Staging in the TUI, lazygit-style: space chooses an action, d shows the diff, c commits.

Driven by Pilot against a real Git repo audited through the test API server; the commit
is checked with git, and the user's checkout is checked untouched.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, OptionList, Static, TextArea

from driftwatch.report import AuditReport
from driftwatch.testing.fixtures import record_write, served
from driftwatch.tui.app import DriftwatchApp, TuiOptions
from driftwatch.tui.screens.stage import ActionMenu, CommitScreen, DetailsForm, DiffScreen
from driftwatch.tui.widgets.staged import StagedPanel
from tests.conftest import AuditFactory, Setup, git

WEB = (
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: shop\n"
    "spec:\n"
    "  replicas: 2   # two is enough\n"
    "  template:\n"
    "    spec:\n"
    "      containers:\n"
    "        - name: web\n"
    "          image: nginx:1.25\n"
)
GONE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n  namespace: shop\n"
WEB_ID = "kubernetes:default/apps/Deployment/shop/web"
GONE_ID = "kubernetes:default/core/ConfigMap/shop/gone"


def _web_live() -> dict[str, Any]:
    import yaml

    live = served(yaml.safe_load(WEB))
    return record_write(
        live,
        "kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}},
    )


def setup(audit: AuditFactory) -> tuple[Setup, AuditReport]:
    files = {
        "driftwatch.yaml": "policies: {builtin: false}\nreconcile: {branch: 'drift/{action}-{name}'}\n",
        "shop/web.yaml": WEB,
        "shop/gone.yaml": GONE,
    }
    done = audit(files, [_web_live()])
    return done, done[1]()


def staged_text(app: DriftwatchApp) -> str:
    return str(app.query_one(StagedPanel).render())


async def test_stage_diff_and_commit_from_the_tui(audit: AuditFactory) -> None:
    (repo, scan, _), report = setup(audit)
    before = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"))
    app = DriftwatchApp(report=report)
    async with app.run_test(size=(100, 32)) as pilot:
        app.jump(("default", "Deployment", "shop"), WEB_ID)
        await pilot.pause()
        await pilot.press("space")
        assert isinstance(app.screen, ActionMenu)
        labels = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        assert labels[0] == "adopt all 1 live value(s) into Git"
        assert any("nginx:1.25 → nginx:1.26" in label for label in labels)
        await pilot.press("enter")  # adopt all
        assert "adopt" in staged_text(app) and "web" in staged_text(app)

        app.jump(("default", "ConfigMap", "shop"), GONE_ID)
        await pilot.pause()
        await pilot.press("space", "enter")  # remove (the only choice)
        assert staged_text(app).startswith("Staged (2)")

        await pilot.press("d")
        assert isinstance(app.screen, DiffScreen)
        diff = str(app.screen.query_one("#diff", Static).render())
        assert "-          image: nginx:1.25\n+          image: nginx:1.26" in diff
        assert "+++ /dev/null" in diff  # gone.yaml is deleted
        await pilot.press("escape")

        await pilot.press("c")
        assert isinstance(app.screen, CommitScreen)
        assert app.screen.query_one("#branch", Input).value == "drift/reconcile-web"
        message = app.screen.query_one("#message", TextArea)
        message.text = "Adopt the hotfix image, drop gone\n\n" + message.text.split("\n\n", 1)[1]
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.screen.query_one("#commit-status", Static).render())
        assert "committed" in status and "git commit-tree" in status
        await pilot.press("escape")
        assert not app.staged and not app.query_one(StagedPanel).display

    assert (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain")) == before
    assert git(repo, "log", "-1", "--format=%s", "drift/reconcile-web") == (
        "Adopt the hotfix image, drop gone"
    )
    assert "image: nginx:1.26" in git(repo, "show", "drift/reconcile-web:shop/web.yaml")
    after = {r.id: r.status for r in scan("drift/reconcile-web").resources}
    assert after[WEB_ID] == "in_sync" and GONE_ID not in after


async def test_space_unstages_and_waive_asks_for_owner_and_expiry(audit: AuditFactory) -> None:
    (_repo, _scan, _), report = setup(audit)
    app = DriftwatchApp(report=report)
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump(("default", "Deployment", "shop"), WEB_ID)
        await pilot.pause()
        await pilot.press("space")
        menu = app.screen.query_one(OptionList)
        ignore = next(i for i, o in enumerate(menu.options) if "ignore" in str(o.prompt))
        menu.highlighted = ignore
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsForm)
        await pilot.press("enter")  # no reason: refused, the form stays
        assert isinstance(app.screen, DetailsForm)
        assert "reason is required" in str(app.screen.query_one("#form-help", Static).render())
        await pilot.press(*"HPA owns it", "enter")
        assert app.staged[0].action == "ignore" and app.staged[0].details.reason == "HPA owns it"
        await pilot.press("space")  # on a staged resource: unstage
        assert not app.staged


async def test_read_only_removes_staging(audit: AuditFactory) -> None:
    (_repo, _scan, _), report = setup(audit)
    app = DriftwatchApp(report=report, options=TuiOptions(read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump(("default", "Deployment", "shop"), WEB_ID)
        await pilot.pause()
        await pilot.press("space", "d", "c")
        assert not isinstance(app.screen, ActionMenu | DiffScreen | CommitScreen)
        assert not app.staged
        keys = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert not {"diff", "commit"} & keys
        await pilot.press("question_mark")
        help_text = str(app.screen.query_one(Static).render())
        assert "Commit" not in help_text and "stage an action" not in help_text


async def test_a_stale_plan_is_reported_not_committed(audit: AuditFactory) -> None:
    (repo, _scan, _), report = setup(audit)
    app = DriftwatchApp(report=report)
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump(("default", "Deployment", "shop"), WEB_ID)
        await pilot.pause()
        await pilot.press("space", "enter")
        # The report's commit is fine; pretend the audit saw another value.
        app.report = report.model_copy(deep=True)
        (web,) = [r for r in app.report.resources if r.id == WEB_ID]
        web.changes[0].desired = "nginx:0.1"
        app._reconciler = None
        await pilot.press("d")
        assert not isinstance(app.screen, DiffScreen)
        await pilot.pause()
        assert any("not the audited" in n.message for n in app._notifications)
    assert "drift/" not in git(repo, "branch", "--list")


async def test_import_and_fix_round_trip_through_the_tui(audit: AuditFactory) -> None:
    import yaml

    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop}\n"
        "spec:\n  containers:\n    - {name: api, image: registry.example.com/api:2.1}\n"
    )
    stray = served(yaml.safe_load(GONE.replace("gone", "stray")), manager="kubectl-create")
    files = {
        "driftwatch.yaml": "policies: {builtin: true, enable: ['*']}\n"
        "reconcile: {branch: 'drift/{action}-{name}'}\n",
        "shop/api.yaml": pod,
        "shop/keep.yaml": GONE.replace("gone", "keep"),
    }
    repo, scan, _ = audit(
        files,
        [served(yaml.safe_load(pod)), stray, served(yaml.safe_load(GONE.replace("gone", "keep")))],
    )
    report = scan()
    app = DriftwatchApp(report=report)
    async with app.run_test(size=(100, 32)) as pilot:
        app.jump(("default", "ConfigMap", "shop"), "kubernetes:default/core/ConfigMap/shop/stray")
        await pilot.pause()
        await pilot.press("space", "enter")  # import (the only choice)
        app.jump(("default", "Pod", "shop"), "kubernetes:default/core/Pod/shop/api")
        await pilot.pause()
        await pilot.press("space")
        menu = app.screen.query_one(OptionList)
        fix = next(
            i for i, o in enumerate(menu.options) if "fix require-run-as-nonroot" in str(o.prompt)
        )
        menu.highlighted = fix
        await pilot.press("enter", "c", "ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "committed" in str(app.screen.query_one("#commit-status", Static).render())
    branch = "drift/reconcile-stray"
    assert yaml.safe_load(git(repo, "show", f"{branch}:shop/configmap-stray.yaml"))["metadata"] == {
        "name": "stray",
        "namespace": "shop",
    }
    assert "runAsNonRoot: true" in git(repo, "show", f"{branch}:shop/api.yaml")
    after = {r.id: r for r in scan(branch).resources}
    assert after["kubernetes:default/core/ConfigMap/shop/stray"].status == "in_sync"
    assert not [
        v
        for v in after["kubernetes:default/core/Pod/shop/api"].violations
        if v.policy == "require-run-as-nonroot" and "desired" in v.scope
    ]
