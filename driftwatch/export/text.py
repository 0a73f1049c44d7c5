"""The compact human summary printed by ``driftwatch scan --format text``."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.text import Text

from driftwatch.report import AuditReport, Coverage, Status, Target, Violation
from driftwatch.textsafe import printable, short_value

GLYPHS: dict[Status, tuple[str, str]] = {
    Status.IN_SYNC: ("✓", "green"),
    Status.MODIFIED: ("~", "yellow"),
    Status.MISSING: ("-", "red"),
    Status.UNMANAGED: ("+", "magenta"),
    Status.IGNORED: ("○", "blue"),
    Status.NOT_CHECKED: ("?", "bright_black"),
}


# How a target's provider is marked where targets are listed (here and in the TUI header).
TARGET_GLYPHS: dict[str, str] = {"kubernetes": "⎈", "aws": "☁"}

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
    line.append(
        f"{printable(violation.severity)} ", style=SEVERITY_STYLES.get(violation.severity, "")
    )
    line.append(f"{printable(violation.policy)}/{printable(violation.rule)}", style="bold")
    line.append(f" [{printable(violation.scope)}]", style="dim")
    if violation.path:
        line.append(f" {printable(violation.path)}:{violation.line}", style="dim")
    line.append(f": {printable(violation.message)}")
    if violation.waivedBy:
        line.append(f"  waived by {printable(violation.waivedBy)}", style="blue")
    return line


def total_coverage(coverage: Mapping[str, Coverage]) -> Coverage:
    """One target's coverage over all its types."""
    return Coverage(
        managed=sum(c.managed for c in coverage.values()),
        total=sum(c.total for c in coverage.values()),
    )


def coverage_percent(coverage: Coverage) -> int:
    """Whole percent, rounded down: 100 only when everything live is managed (or nothing
    is live)."""
    return coverage.managed * 100 // coverage.total if coverage.total else 100


def unlisted_scopes(report: AuditReport, target: Target) -> dict[str, list[str]]:
    """Per type, the regions of ``target`` that could not be listed (its ``*`` resources):
    coverage does not count them."""
    out: dict[str, list[str]] = {}
    for resource in report.resources:
        if (
            resource.target == target.name
            and resource.provider == target.provider
            and resource.status is Status.NOT_CHECKED
            and resource.name == "*"
        ):
            out.setdefault(resource.kind, []).append(resource.namespace or "")
    return {kind: sorted(regions) for kind, regions in out.items()}


def coverage_lines(target: Target, unlisted: Mapping[str, list[str]] | None = None) -> list[Text]:
    """driftctl-style coverage of one target: the total, then each type in name order,
    with the regions ``unlisted`` says could not be listed; none for a target without
    coverage (clusters)."""
    if target.coverage is None:
        return []
    unlisted = unlisted or {}
    glyph = TARGET_GLYPHS.get(target.provider)
    head = Text(f"{glyph} " if glyph else "", style="cyan")
    head.append(printable(target.name), style="bold cyan")
    where = [f"account {printable(target.account)}"] if target.account else []
    if target.regions:
        where.append(", ".join(printable(r) for r in target.regions))
    if where:
        head.append(f"  {'  '.join(where)}", style="dim")
    total = total_coverage(target.coverage)
    head.append(
        f"  coverage: {coverage_percent(total)}% ({total.managed} of {total.total} resources managed)"
    )
    lines = [head]
    types = sorted(set(target.coverage) | set(unlisted))
    width = max((len(printable(t)) for t in types), default=0)
    for name in types:
        line = Text(f"    {printable(name).ljust(width)}  ")
        coverage = target.coverage.get(name)
        if coverage is None:
            line.append("   ?", style="bold")  # listed nowhere: unknown, not 0 %
        else:
            line.append(f"{coverage_percent(coverage):>3}%", style="bold")
            line.append(f" ({coverage.managed} of {coverage.total})", style="dim")
        if name in unlisted:
            regions = ", ".join(printable(r) for r in unlisted[name])
            line.append(f"  not listed in {regions}", style="yellow")
        lines.append(line)
    return lines


def render_text(report: AuditReport, console: Console, show_in_sync: bool = False) -> None:
    """Counts, then one line per finding with its changes; every string printed literally."""
    scan = report.scan
    commit = (scan.commit or "working tree")[:12]
    header = Text(
        f"driftwatch {printable(scan.driftwatchVersion)} · {printable(scan.repo)}@{printable(scan.ref)} ({commit})"
    )
    if scan.worktree:
        header.append(" · uncommitted files included", style="yellow")
    console.print(header)
    counts = Text()
    for status in Status:
        glyph, style = GLYPHS[status]
        counts.append(f"{glyph} {status.value} {report.counts.get(status, 0)}  ", style=style)
    console.print(counts)
    for target in scan.targets:
        for line in coverage_lines(target, unlisted_scopes(report, target)):
            console.print(line)
    for resource in report.resources:
        if resource.status is Status.IN_SYNC and not show_in_sync and not resource.violations:
            continue
        glyph, style = GLYPHS[resource.status]
        line = Text(f"{glyph} ", style=style)
        where = f"{resource.namespace}/" if resource.namespace else ""
        line.append(f"{printable(resource.kind)} {printable(where + resource.name)}", style="bold")
        line.append(f"  [{printable(resource.target)}] {resource.status.value}", style=style)
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
        style = "red" if error.level == "error" else "yellow"
        console.print(Text(f"{error.level}: {printable(error)}", style=style))
