"""Text from Git or a cluster is printed literally: no markup, no escape sequences."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from driftwatch.export.text import render_text
from driftwatch.report import AuditReport, Change, Op, Resource, ScanMeta, Status

HOSTILE = "evil[bold red]x[/]\x1b[31m\x1b]8;;http://x\x07link"


def test_hostile_names_and_values_are_printed_literally() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    report = AuditReport.build(
        ScanMeta(
            repo="r",
            ref="HEAD",
            commit="a" * 40,
            startedAt=now,
            finishedAt=now,
            driftwatchVersion="0",
        ),
        [
            Resource(
                id="x",
                provider="kubernetes",
                target="t",
                apiVersion="v1",
                kind="ConfigMap",
                namespace="ns",
                name=HOSTILE,
                status=Status.MODIFIED,
                changes=[
                    Change(
                        path="data.k",
                        op=Op.CHANGED,
                        desired="[link=http://x]a[/link]",
                        live=HOSTILE,
                        manager="kubectl-edit",
                    )
                ],
            )
        ],
        [],
    )
    out = io.StringIO()
    render_text(report, Console(file=out, force_terminal=True, width=200, color_system="truecolor"))
    text = out.getvalue()
    assert "evil[bold red]x[/]" in text  # markup shown, not interpreted
    assert "[link=http://x]a[/link]" in text
    assert "\\x1b[31m" in text and "\\x1b]8;;" in text and "\\x07" in text  # escapes made visible
    assert "\x1b]8" not in text and "\x07" not in text  # nothing raw reaches the terminal
