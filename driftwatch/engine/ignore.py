"""Ignore rules and expected managers: which changes are kept in the report as ``ignored``.

Rules use Argo CD's ``ignoreDifferences`` shapes (``jsonPointers``, ``jqPathExpressions``,
``managedFieldsManagers``) scoped by group/kind/namespace/name, so users can paste them.
Nothing is dropped: a matched change keeps its values and gains ``ignoredBy``.

jq expressions come from the repo: they are checked by :func:`jqsandbox.forbidden_use`
and evaluated only in the sandbox's worker.  An expression that fails on a resource
ignores nothing there and becomes a report error (:meth:`IgnoreRules.take_errors`); one
that stops the worker (too slow, too much memory) is not run again in this scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from driftwatch.config import CONFIG_FILE, ExpectedManager, IgnoreRule
from driftwatch.engine.jqsandbox import Sandbox, forbidden_use, shared_sandbox
from driftwatch.engine.paths import Path, from_pointer, is_prefix, parse_path, resolve
from driftwatch.report import ReportError
from driftwatch.textsafe import printable

# Paths each rule's jq expressions select on one subject (both sides), by rule index.
JqCache = dict[int, list[tuple[Any, ...]]]


class RuleError(ValueError):
    """An ignore rule that cannot be used (bad pointer or forbidden jq expression)."""


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


def _subject_name(subject: Subject) -> str:
    where = f"{subject.namespace}/" if subject.namespace else ""
    return printable(f"{subject.kind} {where}{subject.name}")


@dataclass(slots=True)
class _CompiledRule:
    index: int
    label: str
    rule: IgnoreRule
    pointers: list[tuple[str | int, ...]] = field(default_factory=list)


@dataclass(slots=True)
class _JqFailure:
    """A jq expression that failed: where first, why, and on how many resources."""

    subject: str
    reason: str
    count: int = 1


class IgnoreRules:
    def __init__(
        self,
        rules: list[IgnoreRule],
        expected: list[ExpectedManager],
        sandbox: Sandbox | None = None,
    ) -> None:
        self._rules = []
        for i, rule in enumerate(rules):
            compiled = _CompiledRule(i, rule.label(i), rule)
            try:
                compiled.pointers = [from_pointer(p) for p in rule.jsonPointers]
            except ValueError as exc:
                raise RuleError(f"{compiled.label}: {exc}") from exc
            for n, expression in enumerate(rule.jqPathExpressions):
                # load_config refuses these already; rules built another way are too.
                if (problem := forbidden_use(expression)) is not None:
                    raise RuleError(f"{compiled.label}: jqPathExpressions[{n}] {problem}")
            self._rules.append(compiled)
        self._expected = [(e, [parse_path(p) for p in e.paths]) for e in expected]
        self._sandbox = sandbox
        self._failures: dict[tuple[int, int], _JqFailure] = {}
        self._stopped: dict[tuple[int, int], str] = {}  # not run again: why
        self.failure_count = 0  # grows with every failed evaluation (memos watch it)

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
        jq_cache: JqCache,
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
            if rule.rule.jqPathExpressions:
                if rule.index not in jq_cache:
                    self._evaluate_jq(subject, rules, jq_cache)
                if any(is_prefix(p, c) for p in jq_cache[rule.index] for c in concrete):
                    return _describe(rule.label, rule.rule.reason)
        if manager:
            for expected, paths in self._expected:
                if any(fnmatchcase(manager, m) for m in expected.managers) and (
                    not paths or any(is_prefix(p, path) for p in paths)
                ):
                    return f"expected manager {manager}: {expected.reason}"
        return None

    def _evaluate_jq(self, subject: Subject, rules: list[_CompiledRule], into: JqCache) -> None:
        """Every jq expression of ``rules`` on both sides of ``subject``, in one batch."""
        jobs: list[tuple[str, Any]] = []
        owners: list[tuple[int, int]] = []
        for rule in rules:
            into.setdefault(rule.index, [])
            for n, expression in enumerate(rule.rule.jqPathExpressions):
                if (rule.index, n) in self._stopped:
                    self._fail(rule.index, n, subject, self._stopped[(rule.index, n)])
                    continue
                for side in (subject.live, subject.desired):
                    if side:
                        jobs.append((expression, side))
                        owners.append((rule.index, n))
        if not jobs:
            return
        sandbox = self._sandbox or shared_sandbox()
        failed: dict[tuple[int, int], str] = {}  # one failure per expression and subject
        for owner, outcome in zip(owners, sandbox.paths(jobs), strict=True):
            if outcome.paths is not None:
                into[owner[0]] += outcome.paths
                continue
            reason = outcome.error or "failed"
            if outcome.stopped:
                reason = self._stopped[owner] = f"{reason}, so it is not run again in this scan"
            failed.setdefault(owner, reason)
        for (index, n), reason in failed.items():
            self._fail(index, n, subject, reason)

    def _fail(self, index: int, n: int, subject: Subject, reason: str) -> None:
        self.failure_count += 1
        if (known := self._failures.get((index, n))) is not None:
            known.count += 1
        else:
            self._failures[(index, n)] = _JqFailure(_subject_name(subject), reason)

    def take_errors(self, target: str | None = None) -> list[ReportError]:
        """Report errors for the jq expressions that failed since the last call: one per
        expression, naming the rule and the first resource."""
        errors = []
        for (index, n), failure in sorted(self._failures.items()):
            rule = self._rules[index]
            more = failure.count - 1
            others = f" (and {more} more resource{'s' * (more > 1)})" if more else ""
            errors.append(
                ReportError(
                    target=target,
                    path=CONFIG_FILE,
                    key=f"ignoreDifferences.{index}.jqPathExpressions.{n}",
                    message=printable(
                        f"ignore rule {rule.label}: jq path expression failed on "
                        f"{failure.subject}{others}: {failure.reason}; it ignores nothing there"
                    ),
                )
            )
        self._failures.clear()
        return errors


def _describe(label: str, reason: str) -> str:
    return f"{label}: {reason}" if reason else label
