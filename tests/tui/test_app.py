"""Every key path of the TUI, driven by Textual's Pilot."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from rich.text import Text
from textual.command import CommandList
from textual.widgets import Input, Static

from driftwatch.config import TuiConfig
from driftwatch.report import AuditReport, Change, Coverage, Op, Resource, Status, Target
from driftwatch.tui.app import DriftwatchApp, TuiOptions, low_bandwidth_default
from driftwatch.tui.model import Group
from driftwatch.tui.widgets.detail import Detail
from driftwatch.tui.widgets.drift_tree import DriftTree
from tests.conftest import AuditFactory
from tests.test_textsafe import assert_unforged, hostile_scan
from tests.tui.conftest import HOSTILE, make_report, resource


def app_for(report: AuditReport, **options: object) -> DriftwatchApp:
    return DriftwatchApp(report=report, options=TuiOptions(**options))  # type: ignore[arg-type]


def text_of(app: DriftwatchApp, selector: str) -> str:
    rendered = app.query_one(selector, Static).render()
    return str(rendered)


def cursor(app: DriftwatchApp) -> Group | Resource | None:
    node = app.query_one(DriftTree).cursor_node
    return node.data if node else None


def detail_text(app: DriftwatchApp) -> str:
    return app.query_one(Detail).text.plain


async def test_header_shows_repo_commit_targets_and_counts(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)):
        header = text_of(app, "#header")
        assert "git@example.com:acme/infra.git@main 01234567" in header
        assert "prod" in header and "2026-01-02 03:04:05 UTC" in header
        assert "~ modified 1" in header and "- missing 1" in header and "+ unmanaged 1" in header
        assert "○ ignored 1" in header and "? not_checked 1" in header and "✓ in_sync 2" in header


async def test_header_marks_each_target_and_the_aws_coverage(report: AuditReport) -> None:
    report.scan.targets += [
        Target(
            name="sandbox",
            provider="aws",
            coverage={
                "AWS::S3::Bucket": Coverage(managed=3, total=4),
                "AWS::EC2::SecurityGroup": Coverage(managed=2, total=4),
            },
        ),
        Target(
            name=HOSTILE, provider="aws", coverage={"AWS::IAM::Role": Coverage(managed=0, total=0)}
        ),
        Target(name="audit", provider="aws"),  # listed nothing: no coverage to show
    ]
    app = app_for(report)
    async with app.run_test(size=(200, 48)):
        header = text_of(app, "#header")
        first = header.splitlines()[0]
        # 5 of 8 managed is 62.5 %: rounded down, 100 % only when all is managed
        assert "  ⎈ prod, ☁ sandbox 62% managed, ☁ evil[bold red]x[/]" in first
        assert "\\x1b[31mred\\x1b]8;;http://x\\x07 100% managed, ☁ audit  2026-01-02" in first
        assert "\x1b" not in header and "\x07" not in header


async def test_keyboard_navigation_to_a_resource_shows_its_detail(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        tree = app.query_one(DriftTree)
        assert tree.has_focus
        kinds = [c.data.label for c in tree.root.children[0].children if isinstance(c.data, Group)]
        assert kinds == ["ClusterRole", "ConfigMap", "Deployment", "ServiceMonitor"]
        await pilot.press("j", "j", "j", "enter")  # Deployment
        await pilot.press("j", "space")  # shop namespace
        await pilot.press("j")  # first resource: the worst status comes first
        selected = cursor(app)
        assert isinstance(selected, Resource) and selected.name == "web"
        body = detail_text(app)
        assert "modified" in body and "apps/shop/web.yaml:12" in body
        assert "0123456789" in body and "Ada Ops" in body and "Bump web to 1.25" in body
        assert "spec.template.spec.containers[name=web].image" in body and "by kubectl-set" in body
        assert "nginx:1.25" in body and "nginx:1.26" in body
        await pilot.press("k")
        assert isinstance(cursor(app), Group)
        await pilot.press("down", "down")
        ignored = cursor(app)
        assert isinstance(ignored, Resource) and ignored.name == "api"
        assert "ignored: expected manager kube-controller-manager" in detail_text(app)


async def test_side_by_side_diff_when_wide_and_unified_when_narrow(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        app.jump(("prod", "Deployment", "shop"), _id(report, "web"))
        await pilot.pause()
        assert "desired (Git)" in detail_text(app) and "│ live" in detail_text(app)
        assert not app.screen.has_class("narrow")
    app = app_for(report)
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump(("prod", "Deployment", "shop"), _id(report, "web"))
        await pilot.pause()
        body = detail_text(app)
        assert "--- desired (Git)" in body and "+++ live" in body
        assert "-        image: nginx:1.25" in body and "+        image: nginx:1.26" in body
        assert app.screen.has_class("narrow")


def _id(report: AuditReport, name: str) -> str:
    return next(r.id for r in report.resources if r.name == name)


async def test_filter_substring_glob_invert_and_escape(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("slash")
        field = app.query_one("#filter", Input)
        assert field.display and field.has_focus
        await pilot.press(*"str")
        assert _names(app) == {"stray"}
        assert "1 of 7" in text_of(app, "#status-line")
        field.value = "w*"
        await pilot.pause()
        assert _names(app) == {"web", "worker"}
        field.value = "!Deployment"
        await pilot.pause()
        assert _names(app) == {"gone", "stray", "metrics", "reader"}
        await pilot.press("enter")
        assert not field.display and app.query_one(DriftTree).has_focus
        assert app.filter.text == "!Deployment"
        await pilot.press("escape")
        assert app.filter.text == "" and len(_names(app)) == 7


def _names(app: DriftwatchApp) -> set[str]:
    from driftwatch.tui.model import build_tree

    root = build_tree(app.filter.apply(app.all_resources()))
    names: set[str] = set()

    def walk(group: Group) -> None:
        names.update(r.name for r in group.resources)
        for child in group.children.values():
            walk(child)

    walk(root)
    return names


@pytest.mark.parametrize(
    "key, expected",
    [
        ("1", 7),
        ("2", {"web"}),
        ("3", {"gone"}),
        ("4", {"stray"}),
        ("5", {"api"}),
        ("6", {"metrics"}),
    ],
)
async def test_quick_status_filters(
    report: AuditReport, key: str, expected: int | set[str]
) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(key)
        names = _names(app)
        assert (len(names) if isinstance(expected, int) else names) == expected


async def test_why_shows_every_difference_and_the_rule_that_decided_it(
    report: AuditReport,
) -> None:
    web = next(r for r in report.resources if r.name == "web")
    web.changes[0].why = "Git declares this field"
    web.suppressed = [
        Change(
            path="spec.template.spec.dnsPolicy",
            op=Op.ADDED,
            live="ClusterFirst",
            why="equals the server default (SetDefaults_PodSpec)",
        )
    ]
    app = app_for(report)
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump(("prod", "Deployment", "shop"), _id(report, "web"))
        await pilot.pause()
        assert "e: why" in detail_text(app) and "Not counted" not in detail_text(app)
        await pilot.press("e")
        body = detail_text(app)
        assert "Counted as drift (2):" in body and "why: Git declares this field" in body
        assert "Not counted (1):" in body and "spec.template.spec.dnsPolicy added" in body
        assert "SetDefaults_PodSpec" in body and "--- desired (Git)" not in body
        await pilot.press("e")
        assert "--- desired (Git)" in detail_text(app)


async def test_full_yaml_wrap_and_copy(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump(("prod", "Deployment", "shop"), _id(report, "web"))
        await pilot.pause()
        detail = app.query_one(Detail)
        assert "apiVersion: apps/v1" not in detail_text(app)  # 3 lines of context only
        await pilot.press("y")
        assert detail.full_yaml and "apiVersion: apps/v1" in detail_text(app)
        await pilot.press("w")
        assert not detail.wrap
        await pilot.press("C")
        assert app.clipboard == _id(report, "web")


async def test_rescan_in_view_mode_explains_itself(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test() as pilot:
        await pilot.press("r")
        assert any("saved report" in str(n.message) for n in app._notifications)


async def test_scan_runs_in_a_worker_and_refresh_rearms_after_each_scan(
    report: AuditReport,
) -> None:
    calls: list[str] = []
    ui_thread = threading.get_ident()

    def scan(progress, partial):  # type: ignore[no-untyped-def]
        assert threading.get_ident() != ui_thread  # never on the UI thread
        progress("listing Deployments")
        calls.append("scan")
        return make_report()

    app = DriftwatchApp(scan=scan, options=TuiOptions(low_bandwidth=True, refresh=0.05))
    async with app.run_test() as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if len(calls) >= 3:
                break
        assert len(calls) >= 3
        assert app.report is not None and app.report.counts[Status.MODIFIED] == 1
        await pilot.press("r")  # manual rescan works too
        await pilot.pause(0.1)


async def test_scan_failure_is_shown_not_raised() -> None:
    def scan(progress, partial):  # type: ignore[no-untyped-def]
        raise RuntimeError("cluster prod: 401 Unauthorized")

    app = DriftwatchApp(scan=scan, options=TuiOptions(low_bandwidth=True))
    async with app.run_test() as pilot:
        for _ in range(50):
            await pilot.pause(0.02)
            if not app.scanning:
                break
        assert "scan failed: cluster prod: 401 Unauthorized" in text_of(app, "#status-line")


async def test_help_lists_every_binding_with_its_id(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        shown = " ".join(" ".join(row) for row in app.screen.rows)  # type: ignore[attr-defined]
        for binding_id in (
            "rescan",
            "filter",
            "toggle_yaml",
            "copy_id",
            "command_palette",
            "filter.not_checked",
        ):
            assert binding_id in shown
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_command_palette_jumps_to_a_resource(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"stray")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.1)
        selected = cursor(app)
        assert isinstance(selected, Resource) and selected.name == "stray"


async def test_export_from_the_palette_writes_the_report(
    report: AuditReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = app_for(report)
    async with app.run_test(size=(160, 48)):
        for fmt in ("json", "sarif", "junit", "markdown"):
            app.export_report(fmt)
    saved = AuditReport.from_json((tmp_path / "driftwatch-report.json").read_bytes())
    assert saved.counts == report.counts
    sarif = json.loads((tmp_path / "driftwatch-report.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert "<testsuites" in (tmp_path / "driftwatch-report.xml").read_text()
    assert "| " in (tmp_path / "driftwatch-report.md").read_text()


async def test_keys_are_remappable_from_config(report: AuditReport) -> None:
    app = app_for(report, config=TuiConfig(keys={"toggle_yaml": "Y", "filter.modified": "m"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        assert _names(app) == {"web"}
        await pilot.press("Y")
        assert app.query_one(Detail).full_yaml


async def test_too_small_notice_and_production_accent(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(50, 15)):
        assert app.screen.has_class("too-small")
        assert "too small" in text_of(app, "#too-small")
        assert app.screen.has_class("production")  # target "prod" matches *prod*
    async with app_for(report).run_test(size=(80, 24)) as pilot:
        assert "PRODUCTION" in text_of(pilot.app, "#header")  # type: ignore[arg-type]
    quiet = app_for(report, config=TuiConfig(productionContexts=["live-*"]))
    async with quiet.run_test(size=(80, 24)):
        assert not quiet.screen.has_class("too-small")
        assert not quiet.screen.has_class("production")


async def test_hostile_names_and_values_are_shown_literally() -> None:
    evil = resource(
        HOSTILE,
        Status.UNMANAGED,
        kind="ConfigMap",
        live={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": HOSTILE},
            "data": {"k": "[link=http://x]click[/link]"},
        },
    )
    report = make_report([evil])
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        app.jump(("prod", "ConfigMap", "shop"), evil.id)
        await pilot.pause()
        label = app.query_one(DriftTree).cursor_node.label  # type: ignore[union-attr]
        assert isinstance(label, Text)
        assert "evil[bold red]x[/]\\x1b[31mred\\x1b]8;;http://x\\x07" in label.plain
        body = detail_text(app)
        assert "evil[bold red]x[/]\\x1b[31m" in body
        assert "[link=http://x]click[/link]" in body
        assert "\x1b" not in body and "\x07" not in body


def test_low_bandwidth_defaults_on_over_ssh() -> None:
    assert low_bandwidth_default({"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"})
    assert not low_bandwidth_default({})


async def test_tab_cycles_between_the_panes(report: AuditReport) -> None:
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.query_one(DriftTree).has_focus
        await pilot.press("tab")
        assert app.query_one(Detail).has_focus
        await pilot.press("tab")
        assert app.query_one(DriftTree).has_focus


async def test_tree_fills_as_targets_arrive_and_keeps_the_selection(report: AuditReport) -> None:
    first_target_done = threading.Event()
    release = threading.Event()

    def scan(progress, partial):  # type: ignore[no-untyped-def]
        partial(
            AuditReport.build(
                report.scan, [r for r in report.resources if r.kind == "Deployment"], []
            )
        )
        first_target_done.set()
        release.wait(5)
        return report

    app = DriftwatchApp(scan=scan, options=TuiOptions(low_bandwidth=True))
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if first_target_done.is_set() and app.report is not None:
                break
        assert app.scanning and app.report is not None
        assert {r.kind for r in app.all_resources()} == {"Deployment"}
        app.jump(("prod", "Deployment", "shop"), _id(report, "api"))
        await pilot.pause()
        release.set()
        for _ in range(100):
            await pilot.pause(0.02)
            if not app.scanning:
                break
        assert len(app.all_resources()) == 7
        await pilot.pause()
        selected = cursor(app)
        assert isinstance(selected, Resource) and selected.name == "api"  # kept across the refresh


async def test_policy_violations_are_shown(report: AuditReport) -> None:
    from driftwatch.report import Violation

    web = next(r for r in report.resources if r.name == "web")
    web.violations = [
        Violation(
            policy="disallow-latest-tag",
            rule="latest",
            severity="medium",
            message="image nginx:latest uses :latest",
            scope="desired",
            path="apps/shop/web.yaml",
            line=18,
        ),
        Violation(
            policy="require-probes",
            rule="probes",
            severity="low",
            message="no probes",
            scope="live",
            waivedBy="legacy-web",
        ),
    ]
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        assert "⚑ 1 violations" in text_of(app, "#header")
        app.jump(("prod", "Deployment", "shop"), web.id)
        await pilot.pause()
        body = detail_text(app)
        assert "policy violations (2)" in body
        assert (
            "medium disallow-latest-tag/latest [desired] apps/shop/web.yaml:18: image nginx:latest"
            in body
        )
        assert "waived by legacy-web" in body
        label = app.query_one(DriftTree).cursor_node.label  # type: ignore[union-attr]
        assert "⚑1" in str(label)


async def test_low_bandwidth_draws_the_detail_once_the_cursor_rests(report: AuditReport) -> None:
    app = app_for(report, low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.animation_level == "none"
        await pilot.pause(0.4)
        first = detail_text(app)
        await pilot.press("j", "j")
        assert detail_text(app) == first  # not redrawn on every move
        await pilot.pause(0.4)
        assert detail_text(app) != first and "Deployment" not in first


async def test_a_hostile_scan_shows_no_raw_character_and_no_forged_line(
    audit: AuditFactory, tmp_path: Path
) -> None:
    _, text = hostile_scan(audit, tmp_path, "json")
    report = AuditReport.from_json(text)
    (evil,) = report.resources
    app = app_for(report)
    async with app.run_test(size=(200, 60)) as pilot:
        app.jump(("default", "ConfigMap", "shop"), evil.id)
        await pilot.pause()
        label = app.query_one(DriftTree).cursor_node.label  # type: ignore[union-attr]
        assert isinstance(label, Text) and label.plain.startswith("~ settings")
        body = detail_text(app)
        assert "shop/f\\n✓ Secret prod/admin [prod] in_sync\\r\\x1b[2J\\u2028" in body
        header = text_of(app, "#header")
        screen = app.export_screenshot()
    for shown in (body, header, screen):
        assert_unforged(shown)


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_in_the_app_is_one_line(
    report: AuditReport,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    debug: bool,
) -> None:
    def broken(group: Group) -> Text:
        raise RuntimeError("boom\n✓ Secret prod/admin [prod] in_sync")

    monkeypatch.setattr("driftwatch.tui.widgets.detail.group_summary", broken)

    async def move(pilot: object) -> None:
        await pilot.press("j", "k")  # type: ignore[attr-defined]

    app = app_for(report, debug=debug)
    app.run(headless=True, size=(160, 48), auto_pilot=move)
    assert app.return_code == 1
    err = capsys.readouterr().err
    if debug:  # Textual's own traceback
        assert "Traceback" in err and "in broken" in err and err.count("\n") > 5
    else:
        assert err == (
            "driftwatch: internal error: RuntimeError: boom (run with --debug for the traceback)\n"
        )


async def test_an_export_that_cannot_be_written_is_a_notification(
    report: AuditReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "driftwatch-report.json").mkdir()  # where the export would go
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        app.export_report("json")
        await pilot.pause()
        (note,) = app._notifications
        assert note.severity == "error" and note.message.endswith("is a directory")
        assert "Report not written" in note.message
    assert app.return_code in (None, 0)


async def test_the_palette_shows_a_hostile_name_as_text() -> None:
    name = "evil[@click=app.quit]x[/][b]y[/b]\u202e"
    report = make_report([resource(name, Status.UNMANAGED, kind="ConfigMap")])
    app = app_for(report)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"evil")
        await pilot.pause(0.5)
        prompts = [
            str(getattr(option.prompt, "plain", option.prompt)).split("\n")[0]  # then the help
            for option in app.screen.query_one(CommandList).options
        ]
        assert prompts == ["Go to ConfigMap shop/evil[@click=app.quit]x[/][b]y[/b]\\u202e"]
