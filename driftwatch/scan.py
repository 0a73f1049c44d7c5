"""One scan, end to end: Git → manifests, targets → live state, engine → AuditReport.

This is the I/O edge that wires the pure engine to Git and the clusters; the CLI, the
TUI and the benchmark all call :func:`run_scan`.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from pydantic import BaseModel, Field

from driftwatch import __version__
from driftwatch.cache import ScanCache
from driftwatch.config import CONFIG_FILE, Config, ConfigError, TargetConfig, load_config
from driftwatch.engine.audit import ResultMemo
from driftwatch.engine.ignore import IgnoreRules, RuleError
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.hashkey import HashKeyError, hash_key
from driftwatch.policy.engine import (
    PolicySet,
    ViolationMemo,
    expired_exceptions,
    field_segments,
)
from driftwatch.policy.library import policy_set
from driftwatch.providers.base import Loaded
from driftwatch.providers.kubernetes.live import (
    ClusterState,
    ClusterUnreachable,
    failure_reason,
    scan_cluster,
)
from driftwatch.providers.kubernetes.manifests import load_manifests
from driftwatch.providers.kubernetes.normalize import SecretMasker, mask_secrets
from driftwatch.providers.kubernetes.provider import audit_cluster, wanted_kinds
from driftwatch.providers.kubernetes.schema import bundled
from driftwatch.providers.kubernetes.serverside import predictor
from driftwatch.providers.kubernetes.unmanaged import search as unmanaged_search
from driftwatch.report import AuditReport, ReportError, Resource, ScanMeta, Target
from driftwatch.textsafe import printable
from driftwatch.yamldoc import YamlError, decode, key_line

Progress = Callable[[str], None]
Partial = Callable[[AuditReport], None]


class ScanError(RuntimeError):
    """No meaningful report can be produced (exit code 1)."""


@dataclass
class ScanOptions:
    repo: str = "."
    ref: str = "HEAD"
    worktree: bool = False
    config_file: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    live_from: str | None = None
    use_cache: bool = True
    objects_in_sync: bool = False  # also put in-sync resources' desired objects in the report
    explain: bool = False  # list the differences that did not count, and why (`explain`)
    server_side_diff: bool = False  # --server-side-diff: every Kubernetes target, dry-run apply
    aws_profile: str | None = None  # --aws-profile: scan this AWS profile
    aws_regions: list[str] = field(default_factory=list)  # --aws-region (repeatable)
    phases: dict[str, float] = field(default_factory=dict)


class LiveRecording(BaseModel):
    """What ``driftwatch snapshot`` writes and ``scan --live-from`` reads."""

    schemaVersion: str = "1"
    recordedAt: datetime
    clusters: list[ClusterState] = Field(default_factory=list)


def secret_masker() -> SecretMasker:
    """The masker under this installation's hash key (a bad key is a :class:`ScanError`)."""
    try:
        return SecretMasker(hash_key())
    except HashKeyError as exc:
        raise ScanError(str(exc)) from exc


def cache_salt(config: Config, key_fingerprint: str) -> str:
    """What every cached audit result depends on besides the objects themselves."""
    code = Path(__file__).parent
    stamp = sorted((str(p.relative_to(code)), p.stat().st_mtime_ns) for p in code.rglob("*.py"))
    digest = hashlib.sha256(f"{__version__}{stamp}".encode())
    digest.update(config.model_dump_json().encode())
    digest.update(key_fingerprint.encode())
    return digest.hexdigest()


def violation_memo(
    cache: ScanCache | None, scope: str, salt: str, policies: PolicySet | None
) -> ViolationMemo | None:
    """The violations an earlier run of this scope found, for a rescan to reuse."""
    if cache is None or policies is None or not policies.policies:
        return None
    return ViolationMemo(salt + ViolationMemo.digest(policies), cache.results(scope))


def _timed(phases: dict[str, float], name: str, started: float) -> None:
    phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - started, 4)


def load_repo_config(source: GitSource, config_file: str | None) -> Config:
    if config_file:
        path = Path(config_file)
        try:
            return load_config(path.read_text(), str(path))
        except OSError as exc:
            raise ScanError(f"{config_file}: cannot read: {exc.strerror}") from exc
    data = source.read_path(CONFIG_FILE)
    if data is None:
        return Config()
    try:
        text = decode(data)
    except YamlError as exc:
        raise ConfigError(CONFIG_FILE, exc.line, None, exc.message) from exc
    return load_config(text, CONFIG_FILE)


def effective_targets(config: Config, options: ScanOptions) -> list[TargetConfig]:
    """Configured Kubernetes targets, with --kubeconfig/--context overriding or standing in
    for them.  None when only AWS is asked for (aws targets or --aws-* flags, no cluster)."""
    kube = [t for t in config.targets if t.provider == "kubernetes"]
    asked_cluster = bool(options.kubeconfig or options.context)
    if not kube and not asked_cluster and effective_aws_targets(config, options):
        return []
    if asked_cluster or not kube:
        base = kube[0] if kube else TargetConfig(name=options.context or "default")
        return [
            base.model_copy(
                update={
                    "kubeconfig": options.kubeconfig or base.kubeconfig,
                    "context": options.context or base.context,
                    "name": base.name if kube else (options.context or "default"),
                }
            )
        ]
    return kube


def effective_aws_targets(config: Config, options: ScanOptions) -> list[TargetConfig]:
    """Configured aws targets.  --aws-profile scans one: the first aws target (or a new
    one named after the profile) with that profile; --aws-region replaces the regions of
    every aws target, or alone asks for one target on boto3's default credentials."""
    aws = [t for t in config.targets if t.provider == "aws"]
    if options.aws_profile:
        base = aws[0] if aws else TargetConfig(name=options.aws_profile, provider="aws")
        aws = [base.model_copy(update={"profile": options.aws_profile})]
    elif not aws and options.aws_regions:
        aws = [TargetConfig(name="aws", provider="aws")]
    if options.aws_regions:
        aws = [t.model_copy(update={"regions": list(options.aws_regions)}) for t in aws]
    return aws


def prepare(options: ScanOptions) -> tuple[GitSource, Config, Loaded]:
    """Read the repo: config and desired manifests (phase ``git``)."""
    started = time.perf_counter()
    try:
        source = GitSource(open_repo(options.repo), options.ref, options.worktree)
        config = load_repo_config(source, options.config_file)
    except ConfigError as exc:
        raise ScanError(str(exc)) from exc
    except RuntimeError as exc:
        raise ScanError(str(exc)) from exc
    cache = ScanCache() if options.use_cache and not options.worktree else None
    try:
        loaded = load_manifests(source, config.sources.kubernetes, cache)
    finally:
        if cache:
            cache.close()
    _timed(options.phases, "git", started)
    return source, config, loaded


def live_states(
    config: Config, loaded: Loaded, options: ScanOptions, progress: Progress | None
) -> Iterator[ClusterState | ReportError]:
    """Each target's live state as soon as it is read (phase ``live``); an unreachable
    target is an error instead."""
    started = time.perf_counter()
    if options.live_from:
        try:
            recording = LiveRecording.model_validate(
                orjson.loads(Path(options.live_from).read_bytes())
            )
        except (OSError, ValueError) as exc:
            raise ScanError(f"{options.live_from}: cannot read the recording: {exc}") from exc
        _timed(options.phases, "live", started)
        yield from recording.clusters
        return
    kinds = wanted_kinds(loaded.manifests, config)
    search = unmanaged_search(loaded.manifests, config)
    for target in effective_targets(config, options):
        started = time.perf_counter()
        if refusal := repo_kubeconfig_refusal(target, options):
            yield ReportError(target=target.name, message=refusal)
            continue
        predict = None
        if options.server_side_diff or target.serverSideDiff:
            predict = predictor(loaded.manifests, config, target, secret_masker(), progress)
        try:
            state: ClusterState | ReportError = scan_cluster(
                target, kinds, progress, search, predict
            )
        except ClusterUnreachable as exc:
            state = ReportError(target=target.name, message=str(exc))
        except Exception as exc:  # a hostile target must not end the scan of the others
            state = ReportError(target=target.name, message=f"cannot scan: {failure_reason(exc)}")
        _timed(options.phases, "live", started)
        yield state


def repo_kubeconfig_refusal(target: TargetConfig, options: ScanOptions) -> str | None:
    """Why the kubeconfig a repo's own driftwatch.yaml names is not used, if it is not.

    A kubeconfig runs its ``exec`` credential plugins, so one committed in the audited
    repo (or lying in the directory driftwatch runs in, a CI checkout) would let a pull
    request run commands.  Paths given by ``--kubeconfig`` or ``--config`` are trusted.
    """
    if not target.kubeconfig or options.kubeconfig or options.config_file:
        return None
    real = Path(target.kubeconfig).expanduser().resolve()
    here = [Path.cwd().resolve()]
    if Path(options.repo).is_dir():
        here.append(Path(options.repo).resolve())
    if not any(real.is_relative_to(base) for base in here):
        return None
    return (
        f"{CONFIG_FILE}: targets: kubeconfig {printable(target.kubeconfig)} is inside the "
        "audited repository or the current directory, and a kubeconfig can run commands "
        "(exec credential plugins): refused; pass it with --kubeconfig, or the config "
        "with --config"
    )


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector: a scan allocates millions of acyclic containers, and
    repeated full collections over them cost a third of the listing time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_scan(
    options: ScanOptions, progress: Progress | None = None, partial: Partial | None = None
) -> AuditReport:
    """One scan; ``partial`` gets the report so far after each target."""
    with no_cyclic_gc():
        return _run_scan(options, progress, partial)


def _run_scan(
    options: ScanOptions, progress: Progress | None, partial: Partial | None
) -> AuditReport:
    started_at = datetime.now(UTC)
    source, config, loaded = prepare(options)
    if progress:
        progress(
            f"read {len(loaded.manifests)} objects from Git ({loaded.files_parsed} files parsed, {loaded.files_cached} cached)"
        )
    try:
        ignore = IgnoreRules(config.ignoreDifferences, config.managers.expected)
    except RuleError as exc:
        raise ScanError(f"{CONFIG_FILE}: {exc}") from exc
    masker = secret_masker()
    salt = cache_salt(config, masker.fingerprint)
    today = datetime.now(UTC).date()
    policies = policy_set(source, loaded.own_files, config.policies)
    resources: list[Resource] = []
    errors: list[ReportError] = [
        *loaded.errors,
        *policies.errors,
        *expired_exceptions(policies.exceptions, today),
    ]
    targets: list[Target] = []
    cache = ScanCache() if options.use_cache else None

    def report() -> AuditReport:
        scan = ScanMeta(
            repo=options.repo,
            ref=options.ref,
            commit=source.commit,
            worktree=options.worktree,
            targets=list(targets),
            startedAt=started_at,
            finishedAt=datetime.now(UTC),
            driftwatchVersion=__version__,
            phases=dict(options.phases),
        )
        return AuditReport.build(scan, list(resources), list(errors))

    try:
        for state in live_states(config, loaded, options, progress):
            if isinstance(state, ReportError):
                errors.append(state)
                continue
            started = time.perf_counter()
            scope = f"{options.repo}#{state.target}"
            memo = ResultMemo(salt, cache.results(scope)) if cache else None
            verdicts = violation_memo(cache, f"{scope}#violations", salt, policies)
            try:
                found, problems = audit_cluster(
                    loaded.manifests,
                    state,
                    config,
                    masker,
                    ignore,
                    memo,
                    options.objects_in_sync,
                    policies,
                    today,
                    explain=options.explain,
                    violation_memo=verdicts,
                )
            except Exception as exc:  # live data the engine chokes on: this target only
                # The type only: the message may quote live values (a secret).
                message = f"cannot audit the live data ({type(exc).__name__})"
                errors.append(ReportError(target=state.target, message=message))
                continue
            locate_violations(source, found)
            if cache and memo:
                cache.replace_results(scope, memo.fresh)
            if cache and verdicts:
                cache.replace_results(f"{scope}#violations", verdicts.fresh)
            resources.extend(found)
            errors.extend(problems)
            targets.append(
                Target(
                    name=state.target,
                    provider="kubernetes",
                    context=state.context,
                    server=state.server,
                    liveFrom=options.live_from,
                )
            )
            _timed(options.phases, "diff", started)
            if partial:
                partial(report())  # the TUI fills its tree target by target
    finally:
        if cache:
            cache.close()
    aws_targets = [] if options.live_from else effective_aws_targets(config, options)
    if aws_targets:
        _scan_aws(
            aws_targets,
            source,
            config,
            loaded,
            options,
            masker,
            ignore,
            policies,
            today,
            progress,
            (resources, errors, targets),
            (lambda: partial(report())) if partial else None,
        )
    if not targets:
        reasons = "; ".join(str(e) for e in errors if e.target) or "no target to scan"
        raise ScanError(reasons)
    return report()


def _scan_aws(
    aws_targets: list[TargetConfig],
    source: GitSource,
    config: Config,
    loaded: Loaded,
    options: ScanOptions,
    masker: SecretMasker,
    ignore: IgnoreRules,
    policies: PolicySet,
    today: date,
    progress: Progress | None,
    into: tuple[list[Resource], list[ReportError], list[Target]],
    partial: Callable[[], None] | None,
) -> None:
    """AWS targets: specs from the files the manifest loader set aside, then each target
    listed and audited; the report grows target by target, like the clusters'."""
    from driftwatch.providers.aws.scan import audit_targets, plan_targets
    from driftwatch.providers.aws.specs import load_specs
    from driftwatch.providers.aws.types import load_types

    resources, errors, targets = into
    started = time.perf_counter()
    types = load_types()
    cache = ScanCache() if options.use_cache and not options.worktree else None
    try:
        specs = load_specs(source, loaded.own_files, types, cache)
    finally:
        if cache:
            cache.close()
    plans, problems = plan_targets(aws_targets, specs.specs, types, options.aws_regions)
    errors += [*specs.errors, *problems]
    _timed(options.phases, "git", started)
    if progress:
        progress(f"read {len(specs.specs)} AWS resources from Git")
    for result in audit_targets(
        plans,
        types,
        config,
        masker,
        ignore,
        policies,
        today,
        objects_in_sync=options.objects_in_sync,
        progress=progress,
        phases=options.phases,
    ):
        if result.audit is not None:
            locate_violations(source, result.audit.resources)
            resources.extend(result.audit.resources)
            targets.append(result.target)
        errors.extend(result.errors)
        if partial:
            partial()


def record_live(
    options: ScanOptions, progress: Progress | None = None, include_secret_values: bool = False
) -> tuple[LiveRecording, list[ReportError]]:
    """The live objects the scan would read, for ``driftwatch snapshot``.  Clusters only:
    each aws target is named in the errors as skipped.  Secret values are recorded masked
    (as a scan masks them, so ``scan --live-from`` still compares them) unless
    ``include_secret_values``."""
    _, config, loaded = prepare(options)
    masker = None if include_secret_values else secret_masker()
    found = list(live_states(config, loaded, options, progress))
    # Each snapshot records the schema it was taken with: the target's, else the bundled one.
    states = [
        s if s.openapi is not None else s.model_copy(update={"openapi": bundled().to_json()})
        for s in found
        if isinstance(s, ClusterState)
    ]
    if masker is not None:
        states = [masked_state(s, masker) for s in states]
    errors = [e for e in found if isinstance(e, ReportError)]
    errors += [
        ReportError(
            target=target.name,
            message="skipped: a snapshot records clusters only, not AWS targets",
        )
        for target in effective_aws_targets(config, options)
    ]
    return LiveRecording(recordedAt=datetime.now(UTC), clusters=states), errors


def masked_state(state: ClusterState, masker: SecretMasker) -> ClusterState:
    """``state`` with every Secret's values (and last-applied annotation) masked, in the
    live objects and in the server-side diff's predictions."""
    objects = [mask_secrets(obj, str(obj.get("kind")), masker) for obj in state.objects]
    partial = [mask_secrets(obj, str(obj.get("kind")), masker) for obj in state.partial]
    predicted = {
        rid: mask_secrets(obj, str(obj.get("kind")), masker) for rid, obj in state.predicted.items()
    }
    return state.model_copy(update={"objects": objects, "partial": partial, "predicted": predicted})


def locate_violations(source: GitSource, resources: list[Resource]) -> None:
    """Point desired-side violations at the line of their ``fieldPath`` in Git."""
    located = [
        (resource, violation)
        for resource in resources
        for violation in resource.violations
        if violation.path and violation.fieldPath and resource.source
    ]
    contents = source.read_paths({v.path for _, v in located if v.path})
    texts: dict[str, str] = {}
    for path, data in contents.items():
        try:
            texts[path] = decode(data)
        except YamlError:
            continue  # the manifest loader reported it
    for resource, violation in located:
        assert violation.path and violation.fieldPath and resource.source
        text = texts.get(violation.path)
        segments = field_segments(violation.fieldPath, resource.kind)
        if text is not None and segments:
            line = key_line(text, resource.source.document, list(segments))
            violation.line = line or violation.line
