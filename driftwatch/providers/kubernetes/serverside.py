"""Server-side diff: what the cluster would store were Git applied, asked of the cluster.

Each Git object that has a live counterpart is sent as a server-side apply with
``dryRun=All`` and ``force=true``, as its applier: the apiserver merges it into the live
object, prunes the fields the applier applied before and Git no longer declares, fills
its defaults and runs its mutating webhooks, and answers without storing anything.  That
answer replaces the schema-and-defaults guess as the desired side (:func:`expected`:
every difference from live is drift, and a hand edit the dry-run keeps is put back).  It is the technique of Argo CD's ServerSideDiff
and of Flux's kustomize-controller (both dry-run apply as their own field manager).

The field manager is ``managers.serverSideDiffManager`` when set; else, per object, the
applier (``managers.appliers``) that owns the live object through an ``Apply`` entry, so
that the server prunes what that applier dropped; else :data:`DEFAULT_MANAGER`.

A kind whose dry-run fails (403 without ``patch`` permission, a webhook that refuses, an
answer that is not the object asked for) falls back to the schema mode as a whole; the
report says so once per kind (:func:`fallback_errors`).  The requests go to the cluster
only: Secret values are sent as Git holds them, and answers are masked with the live
objects before anything reads them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import orjson
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from driftwatch.config import Config, TargetConfig, matches_any
from driftwatch.engine.audit import Judge as EngineJudge
from driftwatch.engine.audit import Verdict
from driftwatch.engine.diff import DiffRules, RawChange, diff
from driftwatch.engine.paths import Path, get, resolve
from driftwatch.providers.base import Manifest, ResourceKey
from driftwatch.providers.kubernetes.live import (
    ApiResource,
    ClusterState,
    ListFailure,
    Progress,
    _get,
    _item_problem,
    failure_reason,
)
from driftwatch.providers.kubernetes.normalize import SecretMasker, scrub, secret_values
from driftwatch.providers.kubernetes.schema import managed_entries
from driftwatch.providers.kubernetes.unmanaged import desired_key, live_key
from driftwatch.providers.kubernetes.verdicts import Judge
from driftwatch.report import Op, ReportError

DEFAULT_MANAGER = "driftwatch"
MAX_IN_FLIGHT = 8
WHY = "server-side dry-run of Git's object differs from live"
# A dry run answers one object, and etcd stores objects of 1.5 MiB at most.
MAX_ANSWER_BYTES = 8 << 20
FALLBACK = "compared with the schema and defaults table instead"
KEPT = "a server-side apply keeps it (the applier does not own it)"


def expected(
    predicted: dict[str, Any],
    guessed: dict[str, Any],
    live: dict[str, Any],
    judge: Judge,
    rules: DiffRules,
    manual: list[str],
) -> tuple[dict[str, Any], EngineJudge]:
    """The desired side and verdicts of a server-side diff (all three sides normalized).

    Against the server's own prediction every difference counts: defaults, webhooks and
    pruning are in it already.  One thing the dry-run cannot show: a hand edit of a field
    Git is silent about (a default) stays, as the applier does not own it.  Where the
    schema mode (``guessed``, ``judge``) finds such a hand edit and the prediction kept
    it, the guessed value is put back, so the edit is drift with the schema mode's reason.
    """
    out = copy.deepcopy(predicted)
    reasons: dict[Path, str] = {}
    for raw in diff(guessed, live, rules):
        manager = judge.attribute(raw)
        if raw.op is Op.REMOVED or manager is None or not matches_any(manual, manager):
            continue
        found = judge(raw, manager)
        if not found.counts:
            continue
        concrete = next(resolve(out, raw.path), None)
        if concrete is None or not concrete or get(out, raw.path) != raw.live:
            continue  # the prediction differs from live there already: counted anyway
        parent: Any = get(out, concrete[:-1]) if len(concrete) > 1 else out
        if raw.op is Op.CHANGED:
            parent[concrete[-1]] = copy.deepcopy(raw.desired)
        else:
            del parent[concrete[-1]]
        reasons[raw.path] = f"{found.why}; {KEPT}"

    def verdict(change: RawChange, _manager: str | None) -> Verdict:
        return Verdict(True, reasons.get(change.path, WHY))

    return out, verdict


def field_manager(live: dict[str, Any], config: Config) -> str:
    """The manager the dry-run applies as (see the module docstring)."""
    if config.managers.serverSideDiffManager:
        return config.managers.serverSideDiffManager
    for entry in managed_entries(live):
        if (
            matches_any(config.managers.appliers, entry.manager)
            and entry.operation == "Apply"
            and not entry.subresource
        ):
            return entry.manager
    return DEFAULT_MANAGER


def _object_path(resource: ApiResource, namespace: str | None, name: str) -> str:
    base = f"/api/{resource.version}" if not resource.group else f"/apis/{resource.api_version}"
    scope = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    # Quoted: a name from Git must not change the path (a "/" or "?" in it).
    return f"{base}{scope}/{resource.plural}/{quote(name, safe='')}"


class _Job:
    def __init__(
        self,
        manifest: Manifest,
        resource: ApiResource,
        namespace: str | None,
        key: ResourceKey,
        manager: str,
    ) -> None:
        self.manifest, self.resource, self.namespace = manifest, resource, namespace
        self.key, self.manager = key, manager


def predictor(
    manifests: list[Manifest],
    config: Config,
    target: TargetConfig,
    masker: SecretMasker,
    progress: Progress | None = None,
) -> Callable[[client.ApiClient, ClusterState], None]:
    """The ``predict`` step for :func:`live.scan_cluster`: fills ``state.predicted``."""
    # A server's refusal may quote any Secret Git sent (a webhook's message): taken out.
    clear: dict[str, str] = {}
    for manifest in manifests:
        clear.update(secret_values(manifest.body, manifest.kind, masker))

    def predict(api: client.ApiClient, state: ClusterState) -> None:
        started = time.monotonic()
        jobs = _jobs(manifests, config, state)
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_IN_FLIGHT, len(jobs)))) as pool:
            answers = list(pool.map(lambda job: _dry_run(api, job), jobs))
        failed: dict[tuple[str, str], str] = {}
        for job, answer in zip(jobs, answers, strict=True):
            kind = (job.resource.group, job.resource.kind)
            if isinstance(answer, str):
                failed.setdefault(kind, scrub(answer, clear))
            elif kind not in failed:
                state.predicted[job.key.id] = answer
        for job in jobs:  # a kind is predicted whole, or not at all
            if (job.resource.group, job.resource.kind) in failed:
                state.predicted.pop(job.key.id, None)
        state.predictionFailures += [
            ListFailure(group=group, kind=kind, reason=reason)
            for (group, kind), reason in sorted(failed.items())
        ]
        if progress:
            progress(
                f"{target.name}: server-side dry-run of {len(state.predicted)} objects"
                f" ({time.monotonic() - started:.1f}s)"
            )

    return predict


def _jobs(manifests: Iterable[Manifest], config: Config, state: ClusterState) -> list[_Job]:
    """One dry-run per Git object whose live object was read (the others are missing or
    not checked: nothing to compare a prediction with)."""
    apis = {(r.group, r.kind): r for r in state.resources}
    listed_failures = {(f.group, f.kind) for f in state.failures}
    # Keyed as the audit keys them, so a prediction lands on the object it is diffed with.
    live = {live_key(obj, state.target): obj for obj in state.objects}
    jobs: list[_Job] = []
    seen: set[str] = set()
    for manifest in manifests:
        resource = apis.get((manifest.group, manifest.kind))
        if resource is None or (manifest.group, manifest.kind) in listed_failures:
            continue
        key = desired_key(manifest, apis, config, state.target)
        found = live.get(key)
        if found is None:
            continue
        if key.id in seen:
            continue  # declared twice: the audit reports it and keeps the first
        seen.add(key.id)
        namespace = key.namespace
        jobs.append(_Job(manifest, resource, namespace, key, field_manager(found, config)))
    return jobs


def _dry_run(api: client.ApiClient, job: _Job) -> dict[str, Any] | str:
    """The server's answer, or why there is none (a fallback reason for the kind)."""
    kind = job.resource.kind
    if job.manifest.api_version != job.resource.api_version:
        # The answer would be in Git's version, live is listed in the served one.
        return (
            f"server-side diff not used for {kind}: Git declares {job.manifest.api_version},"
            f" the cluster lists {job.resource.api_version}: {FALLBACK}"
        )
    body = dict(job.manifest.body)
    if job.namespace and not (body.get("metadata") or {}).get("namespace"):
        body["metadata"] = {**(body.get("metadata") or {}), "namespace": job.namespace}
    query = [("dryRun", "All"), ("fieldManager", job.manager), ("force", "true")]
    path = _object_path(job.resource, job.namespace, job.manifest.name)
    try:
        answer = _get(api, path, query, apply=orjson.dumps(body), max_bytes=MAX_ANSWER_BYTES)
    except Exception as exc:  # refused, garbage, a dead connection: this kind falls back
        status = exc.status if isinstance(exc, ApiException) else None
        if status == 403:
            return f"server-side diff not permitted for {kind} (403): {FALLBACK}"
        if (job.resource.group, kind) == ("", "Secret"):
            # The server's words may quote the values sent (a webhook's denial, an
            # answer's first bytes): only the status or the error's type.
            why = f"HTTP {status}" if status else type(exc).__name__
        else:
            why = failure_reason(exc)
        return f"server-side diff failed for {kind} ({why}): {FALLBACK}"
    problem = _answer_problem(answer, job)
    if problem:
        return f"server-side diff failed for {kind} (the server answered {problem}): {FALLBACK}"
    return answer  # type: ignore[no-any-return]


def _answer_problem(answer: Any, job: _Job) -> str | None:
    """Why ``answer`` is not the object the dry-run asked about (the cluster is data)."""
    if not isinstance(answer, dict):
        return "something other than an object"
    shape = _item_problem(answer, job.resource)
    if shape is not None:
        return f"an object that {shape}"
    meta = answer["metadata"]
    same = (
        answer.get("kind") == job.resource.kind
        and str(answer.get("apiVersion", "")).rpartition("/")[0] == job.resource.group
        and meta.get("name") == job.manifest.name
        and meta.get("namespace") == job.namespace
    )
    return None if same else "another object"


def fallback_errors(state: ClusterState) -> list[ReportError]:
    """One warning per kind that fell back to the schema mode."""
    return [
        ReportError(target=state.target, message=failure.reason, level="warning")
        for failure in state.predictionFailures
    ]
