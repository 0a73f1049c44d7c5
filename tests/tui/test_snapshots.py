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
