"""The compact human summary printed by ``driftwatch scan --format text``."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from driftwatch.report import AuditReport, Status, Violation
from driftwatch.textsafe import printable, short_value

GLYPHS: dict[Status, tuple[str, str]] = {
    Status.IN_SYNC: ("✓", "green"),
    Status.MODIFIED: ("~", "yellow"),
    Status.MISSING: ("-", "red"),
    Status.UNMANAGED: ("+", "magenta"),
    Status.IGNORED: ("○", "blue"),
    Status.NOT_CHECKED: ("?", "bright_black"),
}


SEVERITY_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def violation_line(violation: Violation) -> Text:
    """``⚑ high disallow-privileged-containers/privileged-containers [desired] file:line: message``."""
    line = Text("    ⚑ ", style=SEVERITY_STYLES.get(violation.severity, ""))
    line.append(f"{violation.severity} ", style=SEVERITY_STYLES.get(violation.severity, ""))
    line.append(f"{printable(violation.policy)}/{printable(violation.rule)}", style="bold")
    line.append(f" [{violation.scope}]", style="dim")
    if violation.path:
        line.append(f" {printable(violation.path)}:{violation.line}", style="dim")
    line.append(f": {printable(violation.message)}")
    if violation.waivedBy:
        line.append(f"  waived by {printable(violation.waivedBy)}", style="blue")
    return line


def render_text(report: AuditReport, console: Console, show_in_sync: bool = False) -> None:
    """Counts, then one line per finding with its changes; every string printed literally."""
    scan = report.scan
    commit = (scan.commit or "working tree")[:12]
    header = Text(
        f"driftwatch {scan.driftwatchVersion} · {printable(scan.repo)}@{printable(scan.ref)} ({commit})"
    )
    if scan.worktree:
        header.append(" · uncommitted files included", style="yellow")
    console.print(header)
    counts = Text()
    for status in Status:
        glyph, style = GLYPHS[status]
        counts.append(f"{glyph} {status.value} {report.counts.get(status, 0)}  ", style=style)
    console.print(counts)
    for resource in report.resources:
        if resource.status is Status.IN_SYNC and not show_in_sync and not resource.violations:
            continue
        glyph, style = GLYPHS[resource.status]
        line = Text(f"{glyph} ", style=style)
        where = f"{resource.namespace}/" if resource.namespace else ""
        line.append(f"{printable(resource.kind)} {printable(where + resource.name)}", style="bold")
        line.append(f"  [{resource.target}] {resource.status.value}", style=style)
        if resource.source:
            line.append(f"  {printable(resource.source.path)}:{resource.source.line}", style="dim")
        if resource.reason:
            line.append(f"  {printable(resource.reason)}", style="dim")
        console.print(line)
        for change in resource.changes:
            detail = Text("    ")
            detail.append(f"{change.op.value} {printable(change.path)}")
            if change.op.value == "changed":
                detail.append(f": {short_value(change.desired)} → {short_value(change.live)}")
            elif change.op.value == "added":
                detail.append(f": {short_value(change.live)}")
            if change.manager:
                detail.append(f"  by {printable(change.manager)}", style="cyan")
            if change.ignoredBy:
                detail.append(f"  ignored ({printable(change.ignoredBy)})", style="blue")
            console.print(detail)
        for violation in resource.violations:
            console.print(violation_line(violation))
    for error in report.errors:
        console.print(Text(f"error: {printable(error)}", style="red"))
