"""The AWS edge of a scan: which types and regions each aws target lists, the concurrent
listing itself, and the audit of each target as soon as it is listed.

Every (type, region) is one job on a thread pool (one global job for types with a single
global listing, IAM and Route53).  A job that fails — AccessDenied, an opted-out region,
an endpoint that cannot be reached — becomes a :class:`ScanFailure` with the reason, and
the other jobs go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date

from driftwatch.config import Config, TargetConfig
from driftwatch.engine.ignore import IgnoreRules
from driftwatch.policy.engine import PolicySet, properties_read
from driftwatch.providers.aws.audit import (
    AccountAudit,
    AccountState,
    ScanFailure,
    audit_account,
    belongs,
)
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType
from driftwatch.providers.aws.specs import GLOBAL_REGION, AWSSpec
from driftwatch.providers.kubernetes.normalize import SecretMasker
from driftwatch.report import ReportError, Target
from driftwatch.textsafe import short_value

Progress = Callable[[str], None]
ClientsFactory = Callable[[TargetConfig], Clients]
DEFAULT_REGION = "us-east-1"
WORKERS = 16
REASON_LIMIT = 300  # characters of a failure reason (the endpoint chooses the message)


@dataclass(slots=True)
class TargetPlan:
    """One aws target, resolved: the specs it audits, the types and regions it lists."""

    target: TargetConfig
    regions: list[str]
    types: list[ResourceType]
    specs: list[AWSSpec] = field(default_factory=list)


def default_region(profile: str | None) -> str:
    """The region boto3 would use for ``profile`` (AWS_REGION, the config file...)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session(profile_name=profile).region_name or DEFAULT_REGION
    except BotoCoreError:
        return DEFAULT_REGION  # an unknown profile is reported when the target is listed


def plan_targets(
    targets: Sequence[TargetConfig],
    specs: Sequence[AWSSpec],
    types: Mapping[str, ResourceType],
    region_flags: Sequence[str] = (),
    fallback_region: Callable[[str | None], str] = default_region,
) -> tuple[list[TargetPlan], list[ReportError]]:
    """What each target lists and audits.

    Regions: ``--aws-region`` flags, else the target's ``regions``, else the regions its
    specs name, else the profile's default region.  Types: those of its specs plus the
    target's ``types`` (default: every registered type).  A spec no target audits is an
    error naming its file and line.
    """
    plans: list[TargetPlan] = []
    errors: list[ReportError] = []
    taken: set[int] = set()
    for target in targets:
        accepted = [s for s in specs if belongs(s, target.account, None)]
        regions = list(region_flags) or list(target.regions)
        if not regions:
            regions = sorted({s.region for s in accepted if s.region != GLOBAL_REGION})
        if not regions:
            regions = [fallback_region(target.profile)]
        regions = list(dict.fromkeys(regions))
        mine = [s for s in accepted if belongs(s, target.account, regions)]
        taken.update(id(s) for s in mine)
        wanted = list(target.types) or sorted(types)
        for name in wanted:
            if name not in types:
                errors.append(
                    ReportError(
                        target=target.name,
                        message=f"unknown resource type {name} in the target's types (known: {', '.join(sorted(types))})",
                    )
                )
        names = sorted({s.type for s in mine} | {n for n in wanted if n in types})
        plans.append(TargetPlan(target, regions, [types[n] for n in names], mine))
    if targets:
        for spec in specs:
            if id(spec) not in taken:
                where = f"account {spec.account}, " if spec.account else ""
                errors.append(
                    ReportError(
                        path=spec.source.path,
                        line=spec.source.line,
                        message=f"AWSResource {spec.name} ({spec.type}, {where}region {spec.region}) is not audited: no aws target scans that {'account and ' if spec.account else ''}region",
                    )
                )
    return plans, errors


def failure_reason(exc: BaseException) -> str:
    """A reason for a failed listing: one line, short, printable (the endpoint chooses part
    of it), the AWS error code first when there is one."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    from driftwatch.providers.aws.live.clients import MalformedResponse

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "error"
        message = error.get("Message") or str(exc)
        operation = getattr(exc, "operation_name", "")
        text = f"{code}: {message}" + (f" ({operation})" if operation else "")
    elif isinstance(exc, BotoCoreError | MalformedResponse):
        text = str(exc)
    elif isinstance(exc, ResponseParserError):
        text = f"unreadable answer: {exc}"
    else:
        text = f"the scanner failed: {type(exc).__name__}: {exc}"
    return short_value(" ".join(text.split()), REASON_LIMIT)


def _list(
    resource_type: ResourceType, clients: Clients, region: str, wanted: frozenset[str] | None
) -> list[LiveResource]:
    if wanted is not None and resource_type.scan_properties is not None:
        return list(resource_type.scan_properties(clients, region, wanted))
    return list(resource_type.scan(clients, region))


def needed_properties(
    plan: TargetPlan, policies: PolicySet | None
) -> dict[str, frozenset[str] | None]:
    """Per type, the properties worth an API call: those its specs declare and those the
    live-side policies read (None: all of them).  A property no spec declares is never
    drift, so reading it would only cost calls (and throttling)."""
    if plan.target.readAllProperties:
        return {rt.name: None for rt in plan.types}
    out: dict[str, frozenset[str] | None] = {}
    for rt in plan.types:
        read = properties_read(policies.policies, rt.name) if policies else frozenset()
        declared = {name for spec in plan.specs if spec.type == rt.name for name in spec.properties}
        out[rt.name] = None if read is None else frozenset({rt.identifier, *declared, *read})
    return out


def scan_account(
    name: str,
    clients: Clients,
    types: Sequence[ResourceType],
    regions: Sequence[str],
    progress: Progress | None = None,
    workers: int = WORKERS,
    wanted: Mapping[str, frozenset[str] | None] | None = None,
) -> AccountState:
    """List every (type, region) concurrently; a failed one becomes a ScanFailure.
    ``wanted`` names the properties to read per type (default: all)."""
    jobs = [
        (rt, region) for rt in types for region in (regions if rt.regional else [GLOBAL_REGION])
    ]
    state = AccountState(target=name)
    if not jobs:
        return state
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = {
            pool.submit(_list, rt, clients, region, (wanted or {}).get(rt.name)): (rt, region)
            for rt, region in jobs
        }
        for future in as_completed(futures):
            rt, region = futures[future]
            try:
                found = future.result()
            except Exception as exc:  # one scope's failure must not stop the others
                state.failures.append(ScanFailure(rt.name, region, failure_reason(exc)))
                continue
            state.scanned.add((rt.name, region))
            state.resources += found
    state.resources.sort(key=lambda r: (r.type, r.region, r.identifier))
    state.failures.sort(key=lambda f: (f.type, f.region))
    if progress:
        progress(
            f"{name}: listed {len(state.resources)} AWS resources in {len(state.scanned)} type/region scopes"
            + (f", {len(state.failures)} failed" if state.failures else "")
        )
    return state


def caller_account(clients: Clients, region: str) -> str | None:
    """The account the credentials belong to (STS GetCallerIdentity), if it answers."""
    try:
        return str(clients("sts", region).get_caller_identity()["Account"])
    except Exception:  # optional: without it the target's account is not checked
        return None


def make_target_clients(target: TargetConfig) -> Clients:
    from driftwatch.providers.aws.live.clients import make_clients

    return make_clients(target.profile, target.roleArn, target.endpointUrl)


@dataclass(slots=True)
class TargetResult:
    target: Target
    audit: AccountAudit | None
    errors: list[ReportError]


def audit_targets(
    plans: Sequence[TargetPlan],
    types: Mapping[str, ResourceType],
    config: Config,
    masker: SecretMasker,
    ignore: IgnoreRules,
    policies: PolicySet | None,
    today: date,
    *,
    objects_in_sync: bool = False,
    progress: Progress | None = None,
    phases: dict[str, float] | None = None,
    clients_for: ClientsFactory = make_target_clients,
) -> Iterator[TargetResult]:
    """Each target listed and audited, yielded as soon as it is done."""
    for plan in plans:
        target = plan.target
        started = time.perf_counter()
        errors: list[ReportError] = []
        try:
            clients = clients_for(target)
        except Exception as exc:  # an unknown profile, unreadable config files...
            yield TargetResult(
                Target(name=target.name, provider="aws", regions=plan.regions),
                None,
                [
                    ReportError(
                        target=target.name,
                        message=f"cannot use the AWS credentials: {failure_reason(exc)}",
                    )
                ],
            )
            continue
        if progress:
            progress(
                f"{target.name}: listing {len(plan.types)} AWS types in {', '.join(plan.regions)}"
            )
        account = caller_account(clients, plan.regions[0])
        if target.account and account and account != target.account:
            yield TargetResult(
                Target(name=target.name, provider="aws", account=account, regions=plan.regions),
                None,
                [
                    ReportError(
                        target=target.name,
                        message=f"the credentials are for account {account}, not the target's account {target.account}: not scanned",
                    )
                ],
            )
            continue
        wanted = needed_properties(plan, policies)
        state = scan_account(
            target.name, clients, plan.types, plan.regions, progress, wanted=wanted
        )
        state.account = target.account or account
        _add_phase(phases, "live", started)
        started = time.perf_counter()
        try:
            audit = audit_account(
                plan.specs,
                state,
                types,
                masker,
                ignore,
                unmanaged=config.unmanaged,
                policies=policies,
                today=today,
                objects_in_sync=objects_in_sync,
            )
        except Exception as exc:  # live data the engine chokes on: this target only
            # The type only: the message may quote live values (a secret).
            message = f"cannot audit the live data ({type(exc).__name__})"
            target_only = Target(name=target.name, provider="aws", regions=plan.regions)
            yield TargetResult(
                target_only, None, [ReportError(target=target.name, message=message)]
            )
            continue
        _add_phase(phases, "diff", started)
        errors += audit.errors
        yield TargetResult(
            Target(
                name=target.name,
                provider="aws",
                context=target.profile,
                server=target.endpointUrl,
                account=state.account,
                regions=plan.regions,
                coverage=audit.coverage,
            ),
            audit,
            errors,
        )


def _add_phase(phases: dict[str, float] | None, name: str, started: float) -> None:
    if phases is not None:
        phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - started, 4)
