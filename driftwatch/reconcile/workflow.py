"""Reconciling a report's findings end to end: choices, plan, diff, commit.

Shared by ``driftwatch reconcile`` and the TUI's staging, so both make the same commits.
Reads the audited commit through :class:`GitSource`; writes only new Git objects and a new
branch (see :mod:`driftwatch.reconcile.commit`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from driftwatch.config import Config
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.providers.kubernetes.normalize import mask_secrets
from driftwatch.reconcile.actions import (
    Details,
    Plan,
    ReconcileError,
    plan,
    repo_path_problem,
    verify,
)
from driftwatch.reconcile.commit import Committed, commit, default_branch, message, push
from driftwatch.reconcile.textedit import mask_secret_values
from driftwatch.report import AuditReport, Op, Resource, Status
from driftwatch.textsafe import printable, short_value

DEFAULT_WAIVER_DAYS = 30


@dataclass(frozen=True)
class Step:
    """One staged action: ``action`` on the ``selection`` (ids, id#path or id@policy)."""

    action: str
    selection: tuple[str, ...]
    label: str
    details: Details = field(default_factory=Details)

    @property
    def needs_details(self) -> bool:
        return self.action in ("ignore", "waive")


def choices(resource: Resource) -> list[Step]:
    """The actions that make sense for a resource, whole and per change or policy."""
    rid, out = resource.id, []
    changes = [c for c in resource.changes if not c.ignored]
    if resource.status is Status.MODIFIED and changes:
        out.append(Step("adopt", (rid,), f"adopt all {len(changes)} live value(s) into Git"))
        for change in changes:
            what = {
                Op.REMOVED: "drop from Git",
                Op.ADDED: f"add {short_value(change.live)}",
                Op.CHANGED: f"{short_value(change.desired)} → {short_value(change.live)}",
            }[change.op]
            out.append(Step("adopt", (f"{rid}#{change.path}",), f"adopt {change.path}: {what}"))
        out.append(Step("ignore", (rid,), "ignore these differences (rule in driftwatch.yaml)"))
    if resource.status is Status.MISSING:
        out.append(Step("remove", (rid,), "remove from Git (it was deleted on purpose)"))
    if resource.status is Status.UNMANAGED:
        out.append(Step("import", (rid,), "import into Git as a new manifest"))
    fixes = sorted({v.policy for v in resource.violations if v.fix and not v.waivedBy})
    for policy in fixes:
        out.append(Step("fix", (f"{rid}@{policy}",), f"fix {policy} (the policy's patch)"))
    if any(not v.waivedBy for v in resource.violations):
        out.append(Step("waive", (rid,), "waive its violations (an expiring exception)"))
    return out


def default_expiry(today: date | None = None) -> date:
    return (today or datetime.now(UTC).date()) + timedelta(days=DEFAULT_WAIVER_DAYS)


class Reconciler:
    """Plans and commits for one report, against the repo and commit it audited."""

    def __init__(self, report: AuditReport, repo: str | None = None) -> None:
        if not report.scan.commit:
            raise ReconcileError(
                "the audited commit is unknown (a --worktree scan): nothing to build on"
            )
        self.report = report
        self.source = GitSource(open_repo(repo or report.scan.repo), report.scan.commit)
        self.config = self._config()

    def _config(self) -> Config:
        from driftwatch.scan import load_repo_config

        return load_repo_config(self.source, None)

    def read(self, path: str) -> str | None:
        """A file's text at the audited commit; a path that is not a plain file path in
        the repo (a tampered report) and text that is not UTF-8 are refused."""
        bad = repo_path_problem(path)
        if bad:
            raise ReconcileError(f"{bad}; refused (a tampered report or repo file?)")
        data = self.source.read_path(path)
        try:
            return data.decode("utf-8") if data is not None else None
        except UnicodeDecodeError as exc:
            raise ReconcileError(
                f"{printable(path)} is not UTF-8 text (byte {exc.start}); driftwatch edits"
                " only UTF-8 files, so it is left to you"
            ) from exc

    def plan(self, steps: list[Step]) -> Plan:
        """One plan for several steps; each sees the files as the earlier ones left them."""
        if not steps:
            raise ReconcileError("nothing is staged")
        actions = {s.action for s in steps}
        combined = Plan(actions.pop() if len(actions) == 1 else "reconcile")

        def current(path: str) -> str | None:
            if path in combined.files:
                return combined.files[path][1]
            return self.read(path)

        for step in steps:
            part = plan(
                self.report, step.action, list(step.selection), current, step.details, self.config
            )
            for path, (before, after) in part.files.items():
                original = combined.files[path][0] if path in combined.files else before
                combined.files[path] = (original, after)
                combined.edits.setdefault(path, []).extend(part.edits.get(path, []))
            combined.done += part.done
            combined.findings += [f for f in part.findings if f not in combined.findings]
        # Each part was verified as it was planned; several on one file, once more together.
        return combined if len(steps) == 1 else verify(combined)

    def diff(self, edits: Plan) -> str:
        """The unified diff the commit will make, with Secret values shown as their keyed
        hashes (a removed or edited Secret's data never reaches the terminal)."""
        from driftwatch.scan import ScanError, secret_masker

        try:
            masker = secret_masker()
        except ScanError as exc:
            raise ReconcileError(str(exc)) from exc

        def mask(field: str, value: str) -> str:
            return str(mask_secrets({field: {"v": value}}, "Secret", masker)["data"]["v"])

        def shown(text: str) -> list[str]:
            masked = mask_secret_values(text, mask) if text else ""
            if masked is None:
                masked = "(the file's lines are not shown: it does not parse as YAML)\n"
            return masked.splitlines(keepends=True)

        out: list[str] = []
        for path, (before, after) in sorted(edits.files.items()):
            out += difflib.unified_diff(
                shown(before),
                shown(after or ""),
                f"a/{path}" if before else "/dev/null",
                "/dev/null" if after is None else f"b/{path}",
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)

    def branch(self, edits: Plan) -> str:
        return default_branch(edits, self.config.reconcile.branch)

    @staticmethod
    def message(edits: Plan, subject: str | None = None) -> str:
        return message(edits, subject)

    def commit(self, edits: Plan, branch: str | None = None, text: str | None = None) -> Committed:
        assert self.report.scan.commit is not None
        return commit(
            Path(self.source.repo.git_dir),
            self.report.scan.commit,
            edits,
            branch or self.branch(edits),
            text or self.message(edits),
        )

    def push(self, committed: Committed, remote: str = "origin") -> str:
        return push(Path(self.source.repo.git_dir), committed.branch, remote)
