"""SVG snapshots of the main screens at 80×24 and 160×48 (update with --snapshot-update)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from driftwatch.tui.app import DriftwatchApp, TuiOptions
from tests.tui.conftest import make_report

WEB = "kubernetes:prod/apps/Deployment/shop/web"


def app() -> DriftwatchApp:
    return DriftwatchApp(report=make_report(), options=TuiOptions())


async def select_web(pilot: Pilot[Any]) -> None:
    pilot.app.jump(("prod", "Deployment", "shop"), WEB)  # type: ignore[attr-defined]
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_resource_selected(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=select_web)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_tree_overview(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(app(), terminal_size=size)


def test_help(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=(80, 24), press=["question_mark"])


def test_filter(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=(80, 24), press=["slash", "!", "D", "e", "p"])


def test_quick_filter_modified_at_full_size(snap_compare: Any) -> None:
    async def expand(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await select_web(pilot)

    assert snap_compare(app(), terminal_size=(160, 48), run_before=expand)


def test_too_small(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=(50, 15))


def test_action_menu(snap_compare: Any) -> None:
    async def stage(pilot: Pilot[Any]) -> None:
        await select_web(pilot)
        await pilot.press("space")

    assert snap_compare(app(), terminal_size=(80, 24), run_before=stage)


def test_staged_panel_and_diff(
    snap_compare: Any, audit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tui.test_staging import GONE_ID, WEB_ID, setup

    (repo, _scan, _), report = setup(audit)
    monkeypatch.chdir(repo)
    report.scan.repo = "."  # the header shows no temporary path…
    report.scan.finishedAt = make_report().scan.finishedAt  # …and no wall-clock time
    staged = DriftwatchApp(report=report, options=TuiOptions())

    async def stage_two(pilot: Pilot[Any]) -> None:
        for path, rid in (
            (("default", "Deployment", "shop"), WEB_ID),
            (("default", "ConfigMap", "shop"), GONE_ID),
        ):
            staged.jump(path, rid)
            await pilot.pause()
            await pilot.press("space", "enter")
        await pilot.press("d")

    assert snap_compare(staged, terminal_size=(80, 24), run_before=stage_two)
