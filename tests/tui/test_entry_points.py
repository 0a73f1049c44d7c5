"""`driftwatch`, `tui`, `view` and `demo` open the app with the right options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftwatch.cli import main
from driftwatch.tui.app import DriftwatchApp
from tests.conftest import RepoFactory
from tests.tui.conftest import make_report


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[DriftwatchApp, dict[str, Any]]]:
    """Apps the CLI would run, captured instead of taking over the terminal."""
    seen: list[tuple[DriftwatchApp, dict[str, Any]]] = []

    def fake_run(self: DriftwatchApp, **kwargs: Any) -> None:
        seen.append((self, kwargs))

    monkeypatch.setattr(DriftwatchApp, "run", fake_run)
    return seen


def test_view_opens_a_saved_report(
    tmp_path: Path,
    opened: list[tuple[DriftwatchApp, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    path = tmp_path / "report.json"
    path.write_bytes(make_report().to_json())
    assert main(["view", str(path), "--theme", "light", "--no-mouse"]) == 0
    ((app, kwargs),) = opened
    assert app.report is not None and app.report.counts == make_report().counts
    assert app.scan_function is None
    assert app.options.theme == "light" and kwargs == {"mouse": False}
    assert not app.options.low_bandwidth


def test_view_of_a_bad_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], opened: list[Any]
) -> None:
    path = tmp_path / "nope.json"
    path.write_text(json.dumps({"not": "a report"}))
    assert main(["view", str(path)]) == 1
    assert "nope.json: cannot read the report" in capsys.readouterr().err
    assert opened == []


def test_default_command_is_the_tui_with_scan_flags(
    make_repo: RepoFactory,
    opened: list[tuple[DriftwatchApp, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.1.1.1 50000 10.1.1.2 22")
    repo = make_repo(
        {"driftwatch.yaml": "tui:\n  keys: {rescan: ctrl+r}\n  productionContexts: ['live-*']\n"}
    )
    assert main(["--repo", str(repo), "--context", "live-eu", "--refresh", "30"]) == 0
    ((app, _),) = opened
    assert app.scan_function is not None
    assert app.options.low_bandwidth  # over SSH by default
    assert app.options.refresh == 30
    assert app.options.config.keys == {"rescan": "ctrl+r"}
    opened.clear()
    assert main(["tui", "--repo", str(repo), "--no-low-bandwidth"]) == 0
    assert not opened[0][0].options.low_bandwidth


def test_tui_with_a_broken_config_exits_1(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str], opened: list[Any]
) -> None:
    repo = make_repo({"driftwatch.yaml": "tui:\n  colours: dark\n"})
    assert main(["tui", "--repo", str(repo)]) == 1
    assert "driftwatch.yaml:2: tui.colours: unknown key" in capsys.readouterr().err


def test_demo_opens_the_app_on_a_live_demo_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    reports: list[Any] = []

    def fake_run(self: DriftwatchApp, **kwargs: Any) -> None:
        assert self.scan_function is not None
        reports.append(
            self.scan_function(lambda message: None, lambda report: None)
        )  # while the demo runs

    monkeypatch.setattr(DriftwatchApp, "run", fake_run)
    assert main(["demo", "--low-bandwidth"]) == 0
    (report,) = reports
    statuses = {r.status.value for r in report.resources}
    assert statuses == {"in_sync", "modified", "missing", "unmanaged", "ignored", "not_checked"}
    assert all(r.desired is not None for r in report.resources if r.status.value == "in_sync")
