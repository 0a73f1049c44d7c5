"""Loading and running policies: match first, then CEL, with exceptions applied.

Pure functions of texts and objects: files are read by the caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any

import cel
import orjson
from pydantic import ValidationError

from driftwatch.engine.paths import parse_path
from driftwatch.policy.cel import (
    CelError,
    compile_expression,
    inline_variables,
    kubernetes_values,
    new_context,
    pod_template_path,
    without_nulls,
)
from driftwatch.policy.model import (
    API_VERSION,
    ExceptionDoc,
    LabelSelector,
    Match,
    PolicyDoc,
    Scope,
    Validation,
)
from driftwatch.providers.kubernetes.normalize import scrub
from driftwatch.report import ReportError, Violation
from driftwatch.yamldoc import YamlError, key_line, parse_stream


@dataclass(frozen=True)
class Located:
    path: str
    line: int


@dataclass
class CompiledRule:
    validation: Validation
    program: cel.Program
    message: cel.Program | None


@dataclass
class CompiledPolicy:
    doc: PolicyDoc
    where: Located
    rules: list[CompiledRule]

    @property
    def name(self) -> str:
        return self.doc.metadata.name


@dataclass
class CompiledException:
    doc: ExceptionDoc
    where: Located

    def expired(self, today: date) -> bool:
        return self.doc.spec.expires < today


@dataclass
class PolicySet:
    policies: list[CompiledPolicy] = field(default_factory=list)
    exceptions: list[CompiledException] = field(default_factory=list)
    errors: list[ReportError] = field(default_factory=list)

    def extend(self, other: PolicySet) -> None:
        self.policies += other.policies
        self.exceptions += other.exceptions
        self.errors += other.errors


def load_documents(path: str, text: str, bad_documents: bool = True) -> PolicySet:
    """Policies and Exceptions of one file; errors name the file, line, policy and position.

    ``bad_documents=False`` leaves out the problems of documents that cannot be loaded at
    all, for files whose problems the manifest loader reports already.
    """
    found = PolicySet()
    try:
        parsed = parse_stream(text)
    except YamlError as exc:
        found.errors.append(ReportError(path=path, line=exc.line, message=exc.message))
        return found
    for problem in parsed.problems if bad_documents else ():
        found.errors.append(
            ReportError(
                path=path,
                line=problem.line,
                key=problem.key,
                message=problem.message,
                level="warning" if problem.warning else "error",
            )
        )
    for doc in parsed.documents:
        data = doc.data
        if not isinstance(data, dict) or data.get("apiVersion") != API_VERSION:
            continue
        kind = data.get("kind")
        where = Located(path, doc.line)
        try:
            if kind == "Policy":
                found.policies.append(
                    _compile(PolicyDoc.model_validate(data), where, text, doc.index)
                )
            elif kind == "Exception":
                found.exceptions.append(CompiledException(ExceptionDoc.model_validate(data), where))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [p for p in err["loc"] if isinstance(p, str | int)]
            name = (
                (data.get("metadata") or {}).get("name")
                if isinstance(data.get("metadata"), dict)
                else None
            )
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            found.errors.append(
                ReportError(
                    path=path,
                    line=key_line(text, doc.index, loc) or doc.line,
                    key=".".join(map(str, loc)) or None,
                    message=f"{kind} {name or '?'}: {message}",
                )
            )
        except _RuleError as exc:
            found.errors.append(
                ReportError(
                    path=path,
                    line=key_line(text, doc.index, exc.loc) or doc.line,
                    key=".".join(map(str, exc.loc)),
                    message=exc.message,
                )
            )
    return found


class _RuleError(ValueError):
    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def _compile(doc: PolicyDoc, where: Located, text: str, index: int) -> CompiledPolicy:
    name = doc.metadata.name
    variables: dict[str, str] = {}
    for i, variable in enumerate(doc.spec.variables):
        loc: list[str | int] = ["spec", "variables", i, "expression"]
        try:
            compile_expression(variable.expression)
            variables[variable.name] = inline_variables(variable.expression, variables)
        except CelError as exc:
            raise _RuleError(loc, _cel_message(name, f"variable {variable.name}", exc)) from exc
    rules = []
    for i, validation in enumerate(doc.spec.validations):
        programs: list[cel.Program | None] = []
        for key in ("expression", "messageExpression"):
            source = getattr(validation, key)
            if not source:
                programs.append(None)
                continue
            try:
                compile_expression(source)  # positions as the author wrote it
                programs.append(compile_expression(inline_variables(source, variables)))
            except CelError as exc:
                rule = validation.name or f"validations[{i}]"
                raise _RuleError(
                    ["spec", "validations", i, key], _cel_message(name, f"rule {rule} {key}", exc)
                ) from exc
        program, message = programs
        assert program is not None
        rules.append(CompiledRule(validation, program, message))
    return CompiledPolicy(doc, where, rules)


def _cel_message(policy: str, what: str, exc: CelError) -> str:
    column = f" at column {exc.column}" if exc.column else ""
    return f"policy {policy}: {what}{column}: {exc.message}"


# ---------------------------------------------------------------------------------------
# matching


@dataclass(frozen=True)
class PolicySubject:
    """One object a policy may apply to."""

    provider: str
    kind: str  # Kubernetes kind, or AWS resource type
    group: str
    namespace: str | None
    name: str
    labels: Mapping[str, str]
    body: Mapping[str, Any]
    scope: Scope
    # For Namespace subjects: the namespace's objects by kind (``namespaceObjects``).
    related: Mapping[str, list[Any]] | None = None
    # The object's clear secret values → their masks.  ``body`` holds only the masks;
    # messages are scrubbed with these too, in case a clear value got through anyway.
    secrets: Mapping[str, str] = field(default_factory=dict)


def namespace_subjects(subjects: Iterable[PolicySubject]) -> list[PolicySubject]:
    """A Namespace subject per namespace the objects use, carrying those objects, so
    policies can check a namespace as a whole (e.g. "has a default-deny NetworkPolicy").

    Declared Namespace objects are used as they are; the others are synthesized.  A
    Namespace subject's ``namespace`` is its own name, so namespace globs match it.
    """
    related: dict[tuple[Scope, str], dict[str, list[Any]]] = {}
    declared: dict[tuple[Scope, str], PolicySubject] = {}
    secrets: dict[tuple[Scope, str], dict[str, str]] = {}
    for s in subjects:
        if s.provider != "kubernetes":
            continue
        if s.kind == "Namespace" and not s.group:
            declared[(s.scope, s.name)] = s
        elif s.namespace:
            by_kind = related.setdefault((s.scope, s.namespace), {})
            by_kind.setdefault(s.kind, []).append(without_nulls(dict(s.body)))
            secrets.setdefault((s.scope, s.namespace), {}).update(s.secrets)
    out = []
    for (scope, name), objects in sorted(related.items()):
        base = declared.get((scope, name))
        body = (
            base.body
            if base
            else {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        labels = base.labels if base else {}
        out.append(
            PolicySubject(
                "kubernetes",
                "Namespace",
                "",
                name,
                name,
                labels,
                body,
                scope,
                objects,
                secrets.get((scope, name), {}),
            )
        )
    return out


def _globs(patterns: Sequence[str], value: str | None) -> bool:
    return not patterns or any(fnmatchcase(value or "", p) for p in patterns)


def _selector(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.matchLabels.items()):
        return False
    for req in selector.matchExpressions:
        present = req.key in labels
        ok = {
            "In": present and labels[req.key] in req.values,
            "NotIn": not present or labels[req.key] not in req.values,
            "Exists": present,
            "DoesNotExist": not present,
        }[req.operator]
        if not ok:
            return False
    return True


def _kind_matches(kinds: Sequence[str], subject: PolicySubject) -> bool:
    for spec in kinds:
        group, _, kind = spec.rpartition("/")
        if kind in (subject.kind, "*") and (not group or group == subject.group or group == "*"):
            return True
    return not kinds


def matches(match: Match, subject: PolicySubject) -> bool:
    if subject.provider == "aws":
        if match.resourceTypes and subject.kind not in match.resourceTypes:
            return False
    elif not _kind_matches(match.kinds, subject):
        return False
    return (
        _globs(match.namespaces, subject.namespace)
        and not (
            match.excludeNamespaces
            and _globs(match.excludeNamespaces, subject.namespace)
            and subject.namespace is not None
        )
        and _globs(match.names, subject.name)
        and _selector(match.labelSelector, subject.labels)
    )


# ---------------------------------------------------------------------------------------
# evaluation


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict on one object (``passed`` None when it could not be evaluated)."""

    policy: CompiledPolicy
    rule: CompiledRule
    passed: bool | None
    message: str


_PROPERTY = re.compile(r"\bproperties\s*\.\s*(\w+)")
# ``properties`` used whole: indexed, passed on, or a method called on it (``.size()``).
_WHOLE_PROPERTIES = re.compile(r"\bproperties\b(?!\s*\.\s*\w+\b(?!\s*\())")
_OBJECT_FIELD = re.compile(r"\bobject\b(?:\s*\.\s*(\w+))?")


def properties_read(
    policies: Iterable[CompiledPolicy], resource_type: str
) -> frozenset[str] | None:
    """The AWS properties that the live-side policies for ``resource_type`` read, from
    their CEL text; None when a policy reads ``properties`` as a whole (it may read any)."""
    names: set[str] = set()
    for policy in policies:
        spec = policy.doc.spec
        types = spec.match.resourceTypes
        if spec.provider != "aws" or Scope.LIVE not in spec.scope:
            continue
        if types and resource_type not in types:
            continue
        texts = [v.expression for v in spec.variables]
        texts += [t for v in spec.validations for t in (v.expression, v.messageExpression)]
        for text in texts:
            if _WHOLE_PROPERTIES.search(text):
                return None
            for match in _OBJECT_FIELD.finditer(text):
                if match.group(1) not in ("properties", "type", "region", "identifier", "account"):
                    return None
            names.update(_PROPERTY.findall(text))
    return frozenset(names)


def values_for(subject: PolicySubject) -> dict[str, Any]:
    if subject.provider == "kubernetes":
        values = kubernetes_values(subject.body)
        if subject.kind == "Namespace":
            values["namespaceObjects"] = dict(subject.related or {})
        return values
    spec = without_nulls(subject.body.get("spec"))
    spec = spec if isinstance(spec, dict) else without_nulls(dict(subject.body))
    properties = spec.get("properties")
    return {"object": spec, "properties": properties if isinstance(properties, dict) else {}}


def evaluate(policies: Iterable[CompiledPolicy], subject: PolicySubject) -> list[RuleResult]:
    """Every rule of every matching policy on one object; the CEL context is built once."""
    applicable = [
        p
        for p in policies
        if p.doc.spec.provider == subject.provider
        and subject.scope in p.doc.spec.scope
        and matches(p.doc.spec.match, subject)
    ]
    if not applicable:
        return []
    context = new_context(values_for(subject))
    results = []
    # The CEL library also prints a helper's exception (``quantity('x')``) to stderr,
    # unlocated and unescaped; the error is reported with its rule instead.
    with contextlib.redirect_stderr(_DISCARD):
        for policy in applicable:
            for rule in policy.rules:
                try:
                    passed = rule.program.execute(context)
                except (RuntimeError, ValueError, TypeError, KeyError) as exc:
                    results.append(RuleResult(policy, rule, None, f"evaluation error: {exc}"))
                    continue
                if not isinstance(passed, bool):
                    results.append(
                        RuleResult(
                            policy,
                            rule,
                            None,
                            f"expression returned {type(passed).__name__}, not bool",
                        )
                    )
                    continue
                results.append(
                    RuleResult(policy, rule, passed, "" if passed else _message(rule, context))
                )
    return results


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


_DISCARD = _Discard()


def _message(rule: CompiledRule, context: cel.Context) -> str:
    if rule.message is not None:
        try:
            text = rule.message.execute(context)
            if isinstance(text, str) and text:
                return text
        except (RuntimeError, ValueError, TypeError, KeyError):
            pass
    return rule.validation.message or f"failed: {rule.validation.expression}"


def expand_fix(fix: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """A policy's ``fix`` merge patch for an object of ``kind``: top-level ``podSpec`` and
    ``podMeta`` keys become the kind's pod template (``spec.template.spec`` for a
    Deployment, ``spec`` for a Pod)."""
    if not fix:
        return None
    out: dict[str, Any] = {}
    for key, value in fix.items():
        segments = field_segments(key, kind) if key in ("podSpec", "podMeta") else (key,)
        for seg in reversed(segments):
            value = {seg: value}
        out = merge_patch_union(out, value)
    return out


def merge_patch_union(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two merge patches as one (``b`` wins where both set a leaf)."""
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch_union(out[key], value)
        else:
            out[key] = value
    return out


def field_segments(field_path: str, kind: str) -> tuple[str | int, ...]:
    """A rule's ``fieldPath`` as segments of the object (``podSpec.`` expanded for the kind)."""
    text = field_path
    if not text:
        return ()
    prefix: tuple[str, ...] = ()
    for name, part in (("podSpec", "spec"), ("podMeta", "metadata")):
        if text == name or text.startswith(name + ".") or text.startswith(name + "["):
            template = pod_template_path(kind)
            prefix = (*template, part) if template is not None else (part,)
            text = text.removeprefix(name).lstrip(".")
            break
    try:
        segments = parse_path(text) if text else ()
    except ValueError:
        return prefix
    return (*prefix, *(s for s in segments if isinstance(s, str | int)))


def waiver(
    exceptions: Iterable[CompiledException],
    policy: str,
    rule: str,
    subject: PolicySubject,
    today: date,
) -> CompiledException | None:
    """The unexpired exception that covers this finding, if any."""
    for exception in exceptions:
        spec = exception.doc.spec
        named = any(
            fnmatchcase(policy, p) or fnmatchcase(f"{policy}/{rule}", p) for p in spec.policies
        )
        if named and not exception.expired(today) and matches(spec.match, subject):
            return exception
    return None


def violations(
    policy_set: PolicySet,
    subject: PolicySubject,
    today: date,
    location: tuple[str, int] | None = None,
) -> list[Violation]:
    """Failed rules on one object as report entries, waived ones marked."""
    out = []
    for result in evaluate(policy_set.policies, subject):
        if result.passed:
            continue
        meta = result.policy.doc.metadata
        rule_name = result.rule.validation.name or "rule"
        exception = waiver(policy_set.exceptions, meta.name, rule_name, subject, today)
        out.append(
            Violation(
                policy=meta.name,
                rule=rule_name,
                severity=meta.severity.value,
                message=scrub(result.message, subject.secrets),
                scope=subject.scope.value,
                fieldPath=result.rule.validation.fieldPath or None,
                path=location[0] if location else None,
                line=location[1] if location else None,
                waivedBy=exception.doc.metadata.name if exception else None,
                error=result.passed is None,
                fix=expand_fix(result.policy.doc.spec.fix, subject.kind)
                if subject.scope is not Scope.LIVE
                else None,
            )
        )
    return out


@dataclass
class ViolationMemo:
    """Violations found by an earlier run, keyed by everything they depend on: the policy
    set (``salt`` covers it, with the code and configuration), the subject — identity,
    scope, content and, for a namespace, its objects —, the day (exceptions expire) and
    the location in Git.  A rescan evaluates only what changed."""

    salt: str
    known: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fresh: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @staticmethod
    def digest(policy_set: PolicySet) -> str:
        """What the policy set's verdicts depend on: every Policy and Exception document."""
        digest = hashlib.sha256()
        for doc in [p.doc for p in policy_set.policies] + [e.doc for e in policy_set.exceptions]:
            digest.update(doc.model_dump_json().encode())
        return digest.hexdigest()

    def violations(
        self,
        policy_set: PolicySet,
        subject: PolicySubject,
        today: date,
        location: tuple[str, int] | None = None,
    ) -> list[Violation]:
        digest = hashlib.sha256(self.salt.encode())
        identity = (subject.provider, subject.kind, subject.group, subject.namespace)
        digest.update(repr((identity, subject.name, subject.scope.value, today, location)).encode())
        digest.update(orjson.dumps(subject.body, option=orjson.OPT_SORT_KEYS))
        if subject.related is not None:
            digest.update(orjson.dumps(subject.related, option=orjson.OPT_SORT_KEYS))
        key = digest.hexdigest()
        stored = self.known.get(key)
        if stored is not None:
            try:
                found = [Violation.model_validate(v) for v in stored]
            except (TypeError, ValidationError):
                pass  # a row of another shape: evaluated anew
            else:
                self.fresh[key] = stored
                return found
        found = violations(policy_set, subject, today, location)
        self.fresh[key] = [v.model_dump(mode="json", exclude_none=True) for v in found]
        return found


def merge_scopes(found: list[Violation]) -> list[Violation]:
    """One entry, scope ``desired+live``, for a finding Git and the cluster share."""

    def same(v: Violation) -> tuple[str, str, str, str | None]:
        return v.policy, v.rule, v.message, v.waivedBy

    shared = {same(v) for v in found if v.scope == "live"} & {
        same(v) for v in found if v.scope == "desired"
    }
    out = []
    for v in found:
        if same(v) not in shared:
            out.append(v)
        elif v.scope == "desired":
            out.append(v.model_copy(update={"scope": "desired+live"}))
    return out


def expired_exceptions(exceptions: Iterable[CompiledException], today: date) -> list[ReportError]:
    return [
        ReportError(
            path=e.where.path,
            line=e.where.line,
            message=f"exception {e.doc.metadata.name} expired on {e.doc.spec.expires.isoformat()} and no longer waives {', '.join(e.doc.spec.policies)} (owner {e.doc.spec.owner})",
        )
        for e in exceptions
        if e.expired(today)
    ]
