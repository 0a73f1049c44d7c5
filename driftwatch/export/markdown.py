"""GitHub-flavoured Markdown for pull-request comments and ``$GITHUB_STEP_SUMMARY``:
``scan --format markdown``.

Every string from Git or a cluster is data: Markdown and HTML special characters are
escaped (``|`` included, for tables) and control characters made visible, so a hostile
name can neither add markup nor break a table.
"""

from __future__ import annotations

import re

from driftwatch.export.sarif import drift_audited
from driftwatch.export.text import (
    GLYPHS,
    TARGET_GLYPHS,
    coverage_lines,
    unlisted_scopes,
    violation_line,
)
from driftwatch.report import AuditReport, Change, Op, Resource, Status
from driftwatch.textsafe import printable, short_value

SEVERITIES = ("critical", "high", "medium", "low", "info")

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")
# A zero-width space after ``@`` keeps GitHub from turning ``@org/team`` in a name into a
# mention that notifies people (what GitHub's own bots do).
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "@": "@&#8203;"}


def md(text: object) -> str:
    """``text`` as literal Markdown inline text (also safe in a table cell)."""
    text = _SPECIAL.sub(r"\\\1", printable(text))
    return "".join(_ENTITIES.get(ch, ch) for ch in text)  # after: entities hold a "#"


def md_code(text: object) -> str:
    """``text`` as a Markdown code span: shown verbatim, whatever backticks it holds."""
    text = printable(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    # A space inside the fence keeps a backtick at either end (or two end spaces) as text.
    edge = text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " ")
    pad = " " if edge else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _value(change: Change, side: str) -> str:
    if (side == "desired" and change.op is Op.ADDED) or (
        side == "live" and change.op is Op.REMOVED
    ):
        return "*absent*"
    return md(short_value(change.desired if side == "desired" else change.live))


def _summary(report: AuditReport) -> list[str]:
    lines = ["| Status | Resources |", "| --- | ---: |"]
    for status in Status:
        glyph, _ = GLYPHS[status]
        lines.append(f"| {md(glyph)} {status.value} | {report.counts.get(status, 0)} |")
    violations = [v for r in report.resources for v in r.violations]
    if violations:
        lines += ["", "| Severity | Violations | Waived |", "| --- | ---: | ---: |"]
        others = sorted({v.severity for v in violations} - set(SEVERITIES))
        for severity in (*SEVERITIES, *others):
            open_ = sum(v.severity == severity and not v.waivedBy for v in violations)
            waived = sum(v.severity == severity and bool(v.waivedBy) for v in violations)
            lines.append(f"| {md(severity)} | {open_} | {waived} |")
    return lines


def _resource(resource: Resource) -> list[str]:
    where = f"{resource.namespace}/" if resource.namespace else ""
    head = f"- **{md(resource.kind)} {md(where + resource.name)}**"
    if resource.source:
        head += f" — {md(resource.source.path)}:{resource.source.line}"
    if resource.reason:
        head += f" — {md(resource.reason)}"
    lines = [head]
    if resource.changes:
        lines += ["", "  | Path | Git | live |", "  | --- | --- | --- |"]
        for change in resource.changes:
            path = md(change.path)
            if change.ignoredBy:
                path += f" *(ignored: {md(change.ignoredBy)})*"
            elif change.manager:
                path += f" *(by {md(change.manager)})*"
            lines.append(f"  | {path} | {_value(change, 'desired')} | {_value(change, 'live')} |")
        lines.append("")
    for violation in resource.violations:
        lines.append(f"  - ⚑ {md(violation_line(violation).plain.strip().removeprefix('⚑ '))}")
    return lines


def to_markdown(report: AuditReport, show_in_sync: bool = False) -> str:
    """A summary table, then per target the findings grouped by status."""
    scan = report.scan
    commit = (scan.commit or "working tree")[:12]
    lines = [
        "## driftwatch report",
        "",
        f"{md(scan.repo)} @ {md(scan.ref)} ({md(commit)}) · driftwatch {md(scan.driftwatchVersion)}"
        + (" · uncommitted files included" if scan.worktree else ""),
        "",
        *_summary(report),
    ]
    targets = [(t.name, t.provider) for t in scan.targets]
    for r in report.resources:
        if (r.target, r.provider) not in targets:
            targets.append((r.target, r.provider))
    for name, provider in targets:
        resources = [r for r in report.resources if r.target == name and r.provider == provider]
        glyph = TARGET_GLYPHS.get(provider)
        lines += ["", f"### {glyph + ' ' if glyph else ''}{md(name)}"]
        target = next((t for t in scan.targets if t.name == name and t.provider == provider), None)
        if target is not None:
            coverage = coverage_lines(target, unlisted_scopes(report, target))
            if coverage:
                lines += ["", md(coverage[0].plain)]
                lines += [f"- {md(line.plain.strip())}" for line in coverage[1:]]
        shown = 0
        for status in Status:
            group = [
                r
                for r in resources
                if r.status is status
                and (status is not Status.IN_SYNC or show_in_sync or r.violations)
            ]
            if not group:
                continue
            audited = any(drift_audited(report, r) for r in group)
            glyph_, _ = GLYPHS[status]
            title = f"{md(glyph_)} {status.value}" if audited else "policy findings"
            lines += ["", f"#### {title} ({len(group)})", ""]
            for resource in group:
                lines += _resource(resource)
            shown += len(group)
        if not shown:
            lines += ["", "No findings."]
    if report.errors:
        lines += ["", "### Errors", ""]
        lines += [f"- {md(error)}" for error in report.errors]
    return "\n".join(lines) + "\n"
