"""The pure heart of an audit: compare one desired object with its live counterpart.

Providers decide how to normalize both sides, who wrote a live field, and whether a
field only live has counts as drift; this module runs the steps in order and turns the
result into report changes and a status.  No I/O happens here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from driftwatch.engine.diff import DiffRules, RawChange, diff
from driftwatch.engine.ignore import IgnoreRules, JqCache, Subject
from driftwatch.engine.paths import format_path
from driftwatch.report import Change, Op, Status

Attribute = Callable[[RawChange], str | None]


class Verdict(NamedTuple):
    """Whether a difference counts as drift, and the rule that decided it."""

    counts: bool
    why: str
    # The desired value is a server default: Git itself does not set the field.
    default: bool = False


Judge = Callable[[RawChange, str | None], Verdict]


def compare(
    desired: dict[str, Any],
    live: dict[str, Any],
    *,
    rules: DiffRules,
    attribute: Attribute,
    judge: Judge,
    ignore: IgnoreRules,
    subject: Subject,
    suppressed: list[Change] | None = None,
) -> list[Change]:
    """Changes between normalized ``desired`` and ``live``, attributed and classified.
    Differences that do not count go to ``suppressed`` (with why) when it is given."""
    changes: list[Change] = []
    applicable = None
    jq_cache: JqCache = {}
    for raw in diff(desired, live, rules):
        manager = attribute(raw)
        verdict = judge(raw, manager)
        if not verdict.counts:
            if suppressed is not None:
                suppressed.append(_change(raw, manager, verdict))
            continue
        if applicable is None:
            applicable = ignore.applicable(subject)
        ignored_by = ignore.ignored_by(subject, applicable, raw.path, manager, jq_cache)
        changes.append(_change(raw, manager, verdict, ignored_by))
    return changes


def _change(
    raw: RawChange, manager: str | None, verdict: Verdict, ignored_by: str | None = None
) -> Change:
    return Change(
        path=format_path(raw.path),
        op=raw.op,
        desired=raw.desired if raw.op is not Op.ADDED else None,
        live=raw.live if raw.op is not Op.REMOVED else None,
        manager=manager,
        ignoredBy=ignored_by,
        why=verdict.why,
        desiredIsDefault=verdict.default or None,
    )


def status_of(changes: list[Change]) -> Status:
    if not changes:
        return Status.IN_SYNC
    if all(c.ignoredBy for c in changes):
        return Status.IGNORED
    return Status.MODIFIED


@dataclass
class ResultMemo:
    """Changes computed by an earlier scan, keyed by a digest of everything they depend on.

    ``salt`` covers the code version, the configuration and the secret-hash key; the key
    adds the resource, the desired object and the live object's identity and version.
    A rescan then re-diffs only what changed in Git or live.
    """

    salt: str
    known: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fresh: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def key(self, resource_id: str, desired: dict[str, Any], live: dict[str, Any]) -> str:
        digest = hashlib.sha256(self.salt.encode())
        digest.update(resource_id.encode())
        digest.update(orjson.dumps(desired, option=orjson.OPT_SORT_KEYS))
        meta = live.get("metadata") or {}
        if meta.get("uid") and meta.get("resourceVersion"):
            digest.update(f"{meta['uid']}@{meta['resourceVersion']}".encode())
        else:  # no version to trust: the content itself
            digest.update(orjson.dumps(live, option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()

    def changes(self, key: str, compute: Callable[[], list[Change]]) -> list[Change]:
        if key in self.known:
            stored = self.known[key]
            try:
                changes = [Change.model_validate(c) for c in stored]
            except (TypeError, ValidationError):
                pass  # a row of another shape (a bug, another version): computed anew
            else:
                self.fresh[key] = stored
                return changes
        computed = compute()
        self.fresh[key] = [c.model_dump(mode="json", exclude_none=True) for c in computed]
        return computed
