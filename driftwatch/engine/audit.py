"""The pure heart of an audit: compare one desired object with its live counterpart.

Providers decide how to normalize both sides, who wrote a live field, and whether a
field only live has counts as drift; this module runs the steps in order and turns the
result into report changes and a status.  No I/O happens here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftwatch.engine.diff import DiffRules, RawChange, diff
from driftwatch.engine.ignore import IgnoreRules, Subject
from driftwatch.engine.paths import format_path
from driftwatch.report import Change, Op, Status

Attribute = Callable[[RawChange], str | None]
Relevant = Callable[[RawChange, str | None], bool]


def compare(
    desired: dict[str, Any],
    live: dict[str, Any],
    *,
    rules: DiffRules,
    attribute: Attribute,
    relevant: Relevant,
    ignore: IgnoreRules,
    subject: Subject,
) -> list[Change]:
    """Changes between normalized ``desired`` and ``live``, attributed and classified."""
    changes: list[Change] = []
    applicable = None
    jq_cache: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    for raw in diff(desired, live, rules):
        manager = attribute(raw)
        if not relevant(raw, manager):
            continue
        if applicable is None:
            applicable = ignore.applicable(subject)
        ignored_by = ignore.ignored_by(subject, applicable, raw.path, manager, jq_cache)
        changes.append(
            Change(
                path=format_path(raw.path),
                op=raw.op,
                desired=raw.desired if raw.op is not Op.ADDED else None,
                live=raw.live if raw.op is not Op.REMOVED else None,
                manager=manager,
                ignoredBy=ignored_by,
            )
        )
    return changes


def status_of(changes: list[Change]) -> Status:
    if not changes:
        return Status.IN_SYNC
    if all(c.ignoredBy for c in changes):
        return Status.IGNORED
    return Status.MODIFIED
