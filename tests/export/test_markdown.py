"""Markdown: a summary table, findings per target and status, nothing a name can inject."""

from __future__ import annotations

from pathlib import Path

from driftwatch.export.markdown import md, md_code, to_markdown
from tests.conftest import AuditFactory
from tests.export.test_sarif import MASK, cli_scan, sample_report
from tests.test_textsafe import assert_unforged, hostile_scan


def test_summary_findings_and_changes_table() -> None:
    text = to_markdown(sample_report())
    lines = text.splitlines()
    assert "| \\~ modified | 3 |" in lines
    assert "| ✓ in_sync | 1 |" in lines
    assert "| critical | 0 | 1 |" in lines  # the waived one
    assert "| high | 1 | 0 |" in lines
    assert "### ⎈ prod" in lines
    assert "#### \\~ modified (3)" in lines
    assert "#### ? not_checked (1)" in lines
    assert (
        "  | spec\\.template\\.spec\\.containers\\[name=web\\]\\.image *(by kubectl\\-set)* | nginx\\:1\\.25 | nginx\\:1\\.26 |"
        in lines
    )
    assert f"  | data\\.password | {md(MASK)} | {md(MASK)} |" in lines
    assert "  | data\\.old | x\\|y | *absent* |" in lines
    assert any("waived by web\\-privileged\\-until\\-q3" in line for line in lines)
    assert "settings" not in text  # in sync and without violations
    assert "### Errors" in lines


def test_hostile_names_cannot_inject_markup() -> None:
    text = to_markdown(sample_report())
    escaped = "evil\\[bold\\]x&lt;/testcase&gt;&lt;x&gt;\\|\\`\\\\x1b\\[31m"
    assert f"- **ConfigMap shop/{escaped}**" in text
    assert "<x>" not in text and "</testcase>" not in text and "\x1b" not in text
    assert "|`" not in text
    for line in text.splitlines():  # no table row gains a column
        if line.lstrip().startswith("| data.new") or line.lstrip().startswith("| data\\.new"):
            assert line.replace("\\|", "").count("|") == 4


def test_in_sync_listed_when_asked() -> None:
    assert "#### ✓ in_sync (1)" in to_markdown(sample_report(), show_in_sync=True)


def test_cli_scan_markdown(audit: AuditFactory, tmp_path: Path) -> None:
    code, text = cli_scan(audit, "markdown", tmp_path)
    assert code == 2
    assert text.startswith("## driftwatch report")
    assert "| \\~ modified | 1 |" in text.splitlines()
    assert "nginx\\:1\\.25 | nginx\\:1\\.26 |" in text
    assert "**ConfigMap shop/stray**" in text


def test_a_hostile_scan_cannot_forge_lines_or_break_tables(
    audit: AuditFactory, tmp_path: Path
) -> None:
    code, text = hostile_scan(audit, tmp_path, "markdown")
    assert code == 2
    assert_unforged(text)
    assert "<b>" not in text and "](y)" not in text and "|`" not in text
    assert "\\[x\\]\\(y\\)" in text and "&lt;b&gt;" in text
    rows = [line for line in text.splitlines() if line.lstrip().startswith("|")]
    header = "  | Path | Git | live |"
    assert header in rows
    for row in rows[rows.index(header) :]:  # the changes table: no row gains a column
        assert row.replace("\\|", "").count("|") == 4, row


def test_a_name_cannot_mention_people() -> None:
    assert md("owner @org/team") == "owner @&#8203;org/team"


def test_code_spans_hold_any_backticks_verbatim() -> None:
    assert md_code("shop/web.yaml") == "`shop/web.yaml`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x``") == "``` `x`` ```"
    assert md_code("<img src=x>\u202e\n") == "`<img src=x>\\u202e\\n`"
