"""The AuditReport: the one contract between the engine and everything that shows or acts on it.

The TUI, exporters and reconciler read only this model.  JSON output is deterministic
(sorted keys, sorted resources) so two scans of the same state differ only in timestamps.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"


class Status(StrEnum):
    IN_SYNC = "in_sync"
    MODIFIED = "modified"
    MISSING = "missing"
    UNMANAGED = "unmanaged"
    IGNORED = "ignored"
    NOT_CHECKED = "not_checked"


# Statuses that mean "live differs from Git" for --fail-on drift.
DRIFT_STATUSES = frozenset({Status.MODIFIED, Status.MISSING, Status.UNMANAGED})


class Op(StrEnum):
    CHANGED = "changed"  # both sides have the field, with different values
    ADDED = "added"  # live has it, Git does not
    REMOVED = "removed"  # Git has it, live does not


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", use_enum_values=False)


class Source(_Model):
    """Where a desired object came from in Git."""

    path: str
    line: int = Field(description="1-based line where the document starts")
    document: int = Field(0, description="0-based index of the document in the file")
    commit: str | None = Field(None, description="last commit that touched the file")
    author: str | None = None
    date: str | None = None
    subject: str | None = None
    renderedFrom: str | None = Field(None, description="kustomization directory, when rendered")


class Change(_Model):
    path: str = Field(description="field path, e.g. spec.template.spec.containers[name=web].image")
    op: Op
    desired: Any = None
    live: Any = None
    manager: str | None = Field(None, description="field manager that last wrote the live value")
    ignoredBy: str | None = Field(None, description="rule that classified this change as ignored")
    why: str | None = Field(
        None, description="the rule that made this difference count (or, when suppressed, not)"
    )
    desiredIsDefault: bool | None = Field(
        None,
        description="true when desired is the server default Git relies on (Git does not set the field)",
    )

    @property
    def ignored(self) -> bool:
        return self.ignoredBy is not None


class Violation(_Model):
    """A policy rule the desired or live object fails."""

    policy: str
    rule: str
    severity: str = Field(description="critical | high | medium | low | info")
    message: str
    scope: str = Field(description="desired (Git), live, or desired+live when both fail alike")
    fieldPath: str | None = None
    path: str | None = Field(None, description="file in Git (desired scope)")
    line: int | None = Field(None, description="line of fieldPath when known, else the document's")
    waivedBy: str | None = Field(None, description="the unexpired Exception that waives it")
    error: bool = Field(False, description="the rule could not be evaluated on this object")
    fix: dict[str, Any] | None = Field(
        None,
        description="JSON merge patch for the desired object that fixes it (`reconcile --action fix`)",
    )


class Resource(_Model):
    id: str
    provider: str
    target: str
    apiVersion: str
    kind: str
    namespace: str | None = None
    name: str
    status: Status
    reason: str | None = Field(None, description="why, for not_checked (and unmanaged scope)")
    source: Source | None = None
    changes: list[Change] = Field(default_factory=list)
    desired: dict[str, Any] | None = Field(
        None, description="desired object, secrets masked; omitted when in sync unless asked for"
    )
    live: dict[str, Any] | None = Field(
        None,
        description="live object without noise, secrets masked; omitted when in sync. For unmanaged objects: the fields clients set (managedFields), without server defaults",
    )
    violations: list[Violation] = Field(default_factory=list)
    suppressed: list[Change] = Field(
        default_factory=list,
        description="differences not counted as drift, each with why (only with --explain)",
    )


class ReportError(_Model):
    message: str
    target: str | None = None
    path: str | None = None
    line: int | None = None
    key: str | None = None
    level: Literal["error", "warning"] = Field(
        "error", description="warning: noted, the object was still audited (e.g. a duplicate key)"
    )

    def __str__(self) -> str:
        where = self.path or self.target or ""
        if self.path and self.line:
            where = f"{self.path}:{self.line}"
        if self.key:
            where = f"{where} [{self.key}]" if where else self.key
        return f"{where}: {self.message}" if where else self.message


class Coverage(_Model):
    """How much of one resource type's live inventory Git declares (driftctl's coverage)."""

    managed: int = Field(description="live resources a spec in Git declares")
    total: int = Field(description="live resources, not counting those AWS itself created")

    @property
    def percent(self) -> float:
        """Managed share in percent; 100 when there is nothing live to manage."""
        return round(100.0 * self.managed / self.total, 1) if self.total else 100.0


class Target(_Model):
    name: str
    provider: str
    context: str | None = None
    server: str | None = None
    liveFrom: str | None = Field(None, description="recording the live state was read from")
    account: str | None = Field(None, description="AWS account id, when known")
    regions: list[str] | None = Field(None, description="AWS regions scanned")
    coverage: dict[str, Coverage] | None = Field(
        None, description="per resource type (AWS): live resources Git declares / all live"
    )


class ScanMeta(_Model):
    repo: str
    ref: str
    commit: str | None = None  # None: a --worktree scan of a repo without commits
    worktree: bool = Field(False, description="uncommitted working-tree files were read")
    targets: list[Target] = Field(default_factory=list)
    startedAt: datetime
    finishedAt: datetime
    driftwatchVersion: str
    phases: dict[str, float] = Field(default_factory=dict, description="seconds per phase")


class AuditReport(_Model):
    schemaVersion: str = SCHEMA_VERSION
    scan: ScanMeta
    counts: dict[Status, int] = Field(default_factory=dict)
    resources: list[Resource] = Field(default_factory=list)
    errors: list[ReportError] = Field(default_factory=list)

    @classmethod
    def build(
        cls, scan: ScanMeta, resources: list[Resource], errors: list[ReportError]
    ) -> AuditReport:
        resources = sorted(resources, key=lambda r: r.id)
        counts = {status: 0 for status in Status}
        for r in resources:
            counts[r.status] += 1
        return cls(scan=scan, counts=counts, resources=resources, errors=errors)

    def to_json(self) -> bytes:
        # pydantic's Rust serializer, then orjson for sorted keys: 5x faster than model_dump.
        data = orjson.loads(self.model_dump_json(exclude_none=True))
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS) + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> AuditReport:
        return cls.model_validate(orjson.loads(data))

    def has_findings(self, fail_on: str) -> bool:
        """Whether anything is at or above ``--fail-on`` (drift|any|none)."""
        if fail_on == "none":
            return False
        statuses = DRIFT_STATUSES if fail_on == "drift" else DRIFT_STATUSES | {Status.NOT_CHECKED}
        if any(r.status in statuses for r in self.resources):
            return True
        if fail_on == "any" and any(
            not v.waivedBy and v.severity != "info" for r in self.resources for v in r.violations
        ):
            return True
        return fail_on == "any" and any(e.level == "error" for e in self.errors)
