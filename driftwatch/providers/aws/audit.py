"""Audit of one AWS target (an account seen through one set of credentials): match the
AWSResource specs from Git with the live resources and classify.  Pure: the live side
comes in as an :class:`AccountState` (from ``aws/scan.py`` or a test).

Semantics (see ``docs/aws.md``):

* only what a spec declares is compared; a property it omits is never drift (AWS fills
  it in), nor is a map key only live has inside a declared property — but an extra item
  of a keyed list (a tag, a security-group rule, an inline policy) is, and so is any key
  only live has inside a policy document or a map AWS adds nothing to (Lambda
  environment variables): see ``normalize.closed_map``;
* ``missing``: declared, not live; ``unmanaged``: live in a scanned (type, region), not
  declared, not created by AWS itself (``aws_managed``);
* a (type, region) whose listing failed yields one ``not_checked`` resource naming the
  reason, and the specs in it are ``not_checked`` too (never ``missing``);
* coverage per type: live resources Git declares / all live ones (not counting those
  AWS created), over the regions that were listed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any

from driftwatch.config import Unmanaged
from driftwatch.engine.audit import Judge, Verdict, compare, status_of
from driftwatch.engine.diff import RawChange
from driftwatch.engine.ignore import IgnoreRules, Subject
from driftwatch.engine.paths import ItemKey
from driftwatch.policy.engine import PolicySet, PolicySubject, merge_scopes, violations
from driftwatch.policy.model import Scope
from driftwatch.providers.aws.model import API_VERSION, LiveResource, ResourceType
from driftwatch.providers.aws.normalize import (
    DIFF_RULES,
    canonical_properties,
    closed_map,
    secret_values,
)
from driftwatch.providers.aws.specs import GLOBAL_REGION, AWSSpec, aws_document
from driftwatch.providers.base import ResourceKey
from driftwatch.providers.kubernetes.normalize import SecretMasker
from driftwatch.report import Change, Coverage, Op, ReportError, Resource, Status

PROVIDER = "aws"


@dataclass(frozen=True, slots=True)
class ScanFailure:
    """One (type, region) that could not be listed."""

    type: str
    region: str
    reason: str


@dataclass(slots=True)
class AccountState:
    """What one AWS target's scan found."""

    target: str
    resources: list[LiveResource] = field(default_factory=list)
    scanned: set[tuple[str, str]] = field(default_factory=set)  # (type, region) listed
    failures: list[ScanFailure] = field(default_factory=list)
    account: str | None = None


@dataclass(slots=True)
class AccountAudit:
    resources: list[Resource]
    errors: list[ReportError]
    coverage: dict[str, Coverage]


def resource_key(target: str, type_: str, region: str, identifier: str) -> ResourceKey:
    return ResourceKey(PROVIDER, target, "", type_, region, identifier)


def belongs(spec: AWSSpec, account: str | None, regions: Collection[str] | None) -> bool:
    """Whether a target (its configured ``account``, its scanned ``regions``; None: any)
    audits ``spec``: a spec naming an account goes only to targets without an account or
    with that one; a spec without an account goes to every target; a regional spec only
    to targets scanning its region."""
    if account and spec.account and spec.account != account:
        return False
    return regions is None or spec.region == GLOBAL_REGION or spec.region in regions


def tags_map(properties: Mapping[str, Any]) -> dict[str, str]:
    """Tags as a map (policy label selectors match them like labels)."""
    tags = properties.get("Tags")
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list):
        return {
            str(t["Key"]): str(t.get("Value", ""))
            for t in tags
            if isinstance(t, dict) and "Key" in t
        }
    return {}


def _judge_in(desired: Mapping[str, Any]) -> Judge:
    """Which changes are drift, given the desired side they were found against."""

    def judge(change: RawChange, manager: str | None) -> Verdict:
        # Where Git is silent AWS fills in defaults: a map key only live has is not drift.
        # An extra item of a keyed list (a tag, a rule, an inline policy) is, and so is
        # any key added inside a policy document or a map AWS adds nothing to.
        if change.op is not Op.ADDED:
            return Verdict(True, "the spec declares this property")
        if change.path and isinstance(change.path[-1], ItemKey):
            return Verdict(True, "an item only live has, in a list the spec declares")
        if change.path and closed_map(desired, change.path[:-1]):
            return Verdict(True, "a key only live has, in a map AWS adds nothing to")
        return Verdict(False, "a property the spec does not declare: AWS fills in defaults")

    return judge


def _no_manager(change: RawChange) -> str | None:
    return None


def audit_account(
    specs: list[AWSSpec],
    state: AccountState,
    types: Mapping[str, ResourceType],
    masker: SecretMasker,
    ignore: IgnoreRules,
    *,
    unmanaged: Unmanaged | None = None,
    policies: PolicySet | None = None,
    today: date | None = None,
    objects_in_sync: bool = False,
) -> AccountAudit:
    """Resources, errors and coverage of one AWS target.  ``specs`` are the target's
    (see :func:`belongs`); in-sync resources carry their desired document only when
    ``objects_in_sync``."""
    target = state.target
    scope = unmanaged or Unmanaged()
    failures = {(f.type, f.region): f.reason for f in state.failures}
    errors: list[ReportError] = []
    resources: list[Resource] = []
    # (resource, desired document, live document, spec) for the policy pass
    sides: list[tuple[Resource, dict[str, Any] | None, dict[str, Any] | None, AWSSpec | None]]
    sides = []
    clear: dict[str, str] = {}  # every clear secret value read → its mask, for messages

    def canonical(type_: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        secret = types[type_].secret_properties if type_ in types else ()
        clear.update(secret_values(properties, secret, masker))
        return canonical_properties(properties, secret, masker, type_)

    live_index: dict[ResourceKey, LiveResource] = {}
    for found in state.resources:
        live_index[resource_key(target, found.type, found.region, found.identifier)] = found

    desired_index: dict[ResourceKey, AWSSpec] = {}
    for spec in specs:
        key = resource_key(target, spec.type, spec.region, spec.identifier)
        if key in desired_index:
            first = desired_index[key]
            errors.append(
                ReportError(
                    path=spec.source.path,
                    line=spec.source.line,
                    message=f"{spec.type} {spec.identifier} in {spec.region} is declared twice; also at {first.location()} (the first one is audited)",
                )
            )
            continue
        desired_index[key] = spec
        desired_props = canonical(spec.type, spec.properties)
        desired_doc = spec.document(desired_props)
        base: dict[str, Any] = {
            "id": key.id,
            "provider": PROVIDER,
            "target": target,
            "apiVersion": API_VERSION,
            "kind": spec.type,
            "namespace": spec.region,
            "name": spec.identifier,
            "source": spec.source,
        }
        reason = failures.get((spec.type, spec.region))
        if reason is None and (spec.type, spec.region) not in state.scanned:
            reason = f"{spec.type} was not listed in {spec.region}"
        if reason is not None:
            resource = Resource(
                **base,
                status=Status.NOT_CHECKED,
                reason=f"{spec.type} in {spec.region} could not be listed: {reason}",
                desired=desired_doc,
            )
            resources.append(resource)
            sides.append((resource, desired_doc, None, spec))
            continue
        live = live_index.get(key)
        if live is None:
            resource = Resource(**base, status=Status.MISSING, desired=desired_doc)
            resources.append(resource)
            sides.append((resource, desired_doc, None, spec))
            continue
        live_props = canonical(live.type, live.properties)
        # The spec's account, not the target's: the YAML diff then shows only drift.
        live_doc = aws_document(
            spec.name, live.type, live.region, spec.account, live.identifier, live_props
        )
        changes = _changes(spec, desired_props, live_props, ignore)
        status = status_of(changes)
        finding = status is not Status.IN_SYNC
        resource = Resource(
            **base,
            status=status,
            changes=changes,
            desired=desired_doc if finding or objects_in_sync else None,
            live=live_doc if finding else None,
        )
        resources.append(resource)
        sides.append((resource, desired_doc, live_doc, spec))

    for key, extra in sorted(live_index.items()):
        if key in desired_index or extra.aws_managed or not scope.enabled:
            continue
        if _excluded(scope, extra):
            continue
        live_doc = aws_document(
            extra.identifier,
            extra.type,
            extra.region,
            state.account,
            extra.identifier,
            canonical(extra.type, extra.properties),
        )
        resource = Resource(
            id=key.id,
            provider=PROVIDER,
            target=target,
            apiVersion=API_VERSION,
            kind=extra.type,
            namespace=extra.region,
            name=extra.identifier,
            status=Status.UNMANAGED,
            live=live_doc,
        )
        resources.append(resource)
        sides.append((resource, None, live_doc, None))

    if policies is not None and policies.policies:
        _policy_findings(policies, today or date.today(), sides, clear)
    resources += _unchecked_scopes(state)
    coverage = _coverage(state, live_index, desired_index, scope)
    return AccountAudit(resources, errors + ignore.take_errors(target), coverage)


def _changes(
    spec: AWSSpec, desired: dict[str, Any], live: dict[str, Any], ignore: IgnoreRules
) -> list[Change]:
    desired_side, live_side = {"properties": desired}, {"properties": live}
    subject = Subject("", spec.type, spec.region, spec.identifier, desired_side, live_side)
    return compare(
        desired_side,
        live_side,
        rules=DIFF_RULES,
        attribute=_no_manager,
        judge=_judge_in(desired_side),
        ignore=ignore,
        subject=subject,
    )


def _excluded(scope: Unmanaged, live: LiveResource) -> bool:
    """``unmanaged.excludeObjects`` globs, written ``Type/identifier``."""
    return any(fnmatchcase(f"{live.type}/{live.identifier}", p) for p in scope.excludeObjects)


def _policy_findings(
    policies: PolicySet,
    today: date,
    sides: list[tuple[Resource, dict[str, Any] | None, dict[str, Any] | None, AWSSpec | None]],
    clear: Mapping[str, str],
) -> None:
    """Violations on both sides (desired: the spec document; live: the same shape built
    from live properties), merged where Git and AWS fail alike.  The documents hold
    secret properties masked; ``clear`` (clear value → mask) scrubs the messages."""
    for resource, desired, live, spec in sides:
        for scope, body in ((Scope.DESIRED, desired), (Scope.LIVE, live)):
            if body is None:
                continue
            properties = body["spec"]["properties"]
            labels = tags_map(properties)
            if scope is Scope.DESIRED and spec is not None:
                labels.update(spec.labels)
            subject = PolicySubject(
                PROVIDER,
                resource.kind,
                "",
                resource.namespace,
                resource.name,
                labels,
                body,
                scope,
                secrets=clear,
            )
            where = (
                (spec.source.path, spec.source.line)
                if spec is not None and scope is Scope.DESIRED
                else None
            )
            resource.violations += violations(policies, subject, today, where)
        resource.violations = merge_scopes(resource.violations)


def _unchecked_scopes(state: AccountState) -> list[Resource]:
    """A failed listing means the scope's unmanaged resources are unknown: say so once."""
    out = []
    for failure in sorted(state.failures, key=lambda f: (f.type, f.region)):
        key = resource_key(state.target, failure.type, failure.region, "*")
        out.append(
            Resource(
                id=key.id,
                provider=PROVIDER,
                target=state.target,
                apiVersion=API_VERSION,
                kind=failure.type,
                namespace=failure.region,
                name="*",
                status=Status.NOT_CHECKED,
                reason=f"{failure.type} in {failure.region} could not be listed: {failure.reason}",
            )
        )
    return out


def _coverage(
    state: AccountState,
    live_index: Mapping[ResourceKey, LiveResource],
    desired_index: Mapping[ResourceKey, AWSSpec],
    scope: Unmanaged,
) -> dict[str, Coverage]:
    """Per listed type: managed (declared) / total live, neither counting what AWS created
    (unless Git declares it) nor what ``unmanaged.excludeObjects`` leaves out."""
    counts = {type_: [0, 0] for type_, _ in state.scanned}
    for key, live in live_index.items():
        declared = key in desired_index
        if not declared and (live.aws_managed or _excluded(scope, live)):
            continue
        tally = counts.setdefault(live.type, [0, 0])
        tally[1] += 1
        tally[0] += declared
    return {t: Coverage(managed=m, total=n) for t, (m, n) in sorted(counts.items())}
