"""Ignore rules and expected managers: which changes are kept in the report as ``ignored``.

Rules use Argo CD's ``ignoreDifferences`` shapes (``jsonPointers``, ``jqPathExpressions``,
``managedFieldsManagers``) scoped by group/kind/namespace/name, so users can paste them.
Nothing is dropped: a matched change keeps its values and gains ``ignoredBy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

import jq

from driftwatch.config import ExpectedManager, IgnoreRule
from driftwatch.engine.paths import Path, from_pointer, is_prefix, parse_path, resolve


class RuleError(ValueError):
    """An ignore rule that cannot be used (bad pointer or jq expression)."""


@cache
def _jq_paths_program(expression: str) -> Any:
    try:
        return jq.compile(f"[path({expression})]")
    except ValueError as exc:
        raise RuleError(f"invalid jq path expression {expression!r}: {exc}") from exc


def _glob(pattern: str | None, value: str | None) -> bool:
    return pattern in (None, "", "*") or fnmatchcase(value or "", pattern or "")


@dataclass(frozen=True, slots=True)
class Subject:
    """What a rule is matched against: one resource's identity and both sides."""

    group: str
    kind: str
    namespace: str | None
    name: str
    desired: dict[str, Any] | None
    live: dict[str, Any] | None


@dataclass(slots=True)
class _CompiledRule:
    label: str
    rule: IgnoreRule
    pointers: list[tuple[str | int, ...]] = field(default_factory=list)


class IgnoreRules:
    def __init__(self, rules: list[IgnoreRule], expected: list[ExpectedManager]) -> None:
        self._rules = []
        for i, rule in enumerate(rules):
            compiled = _CompiledRule(rule.label(i), rule)
            try:
                compiled.pointers = [from_pointer(p) for p in rule.jsonPointers]
                for expression in rule.jqPathExpressions:
                    _jq_paths_program(expression)
            except ValueError as exc:
                raise RuleError(f"{compiled.label}: {exc}") from exc
            self._rules.append(compiled)
        self._expected = [(e, [parse_path(p) for p in e.paths]) for e in expected]

    def applicable(self, subject: Subject) -> list[_CompiledRule]:
        return [
            r
            for r in self._rules
            if (r.rule.group is None or _glob(r.rule.group, subject.group))
            and _glob(r.rule.kind, subject.kind)
            and _glob(r.rule.namespace, subject.namespace)
            and _glob(r.rule.name, subject.name)
        ]

    def ignored_by(
        self,
        subject: Subject,
        rules: list[_CompiledRule],
        path: Path,
        manager: str | None,
        jq_cache: dict[tuple[int, int], list[tuple[Any, ...]]],
    ) -> str | None:
        """The label of the first rule that ignores this change, if any."""
        concrete = [
            c for side in (subject.live, subject.desired) if side for c in resolve(side, path)
        ]
        for rule in rules:
            if manager and any(fnmatchcase(manager, m) for m in rule.rule.managedFieldsManagers):
                return _describe(rule.label, rule.rule.reason)
            if any(is_prefix(p, c) for p in rule.pointers for c in concrete):
                return _describe(rule.label, rule.rule.reason)
            for n, expression in enumerate(rule.rule.jqPathExpressions):
                for side_index, side in enumerate((subject.live, subject.desired)):
                    if not side:
                        continue
                    cache_key = (id(rule) * 31 + n, side_index)
                    if cache_key not in jq_cache:
                        found = _jq_paths_program(expression).input_value(side).first()
                        jq_cache[cache_key] = [tuple(p) for p in found or []]
                    if any(is_prefix(p, c) for p in jq_cache[cache_key] for c in concrete):
                        return _describe(rule.label, rule.rule.reason)
        if manager:
            for expected, paths in self._expected:
                if any(fnmatchcase(manager, m) for m in expected.managers) and (
                    not paths or any(is_prefix(p, path) for p in paths)
                ):
                    return f"expected manager {manager}: {expected.reason}"
        return None


def _describe(label: str, reason: str) -> str:
    return f"{label}: {reason}" if reason else label
