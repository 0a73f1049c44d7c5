"""Live state from a Kubernetes cluster, through the official client.

Discovery maps kinds to resources; each needed resource is listed once (cluster-wide or
per configured namespace), paginated, concurrently across types.  Responses are decoded
with orjson instead of the client's typed models (15x faster on big lists).

Kinds in Git are listed whole: the differ needs their bodies.  Kinds listed only to find
unmanaged objects (:class:`UnmanagedSearch` says which) are listed metadata only
(``PartialObjectMetadataList``), and only the objects that turn out unmanaged are then
fetched whole, one GET each, concurrently: the report shows and ``import`` writes them.

A cluster is data, not a trusted peer: every answer is checked for the shape driftwatch
relies on before it is used (:func:`_list_page`, :func:`_discovery`), transient answers
(429, 502-504, a reset connection) are retried with backoff, and a kind that is forbidden,
keeps failing or answers garbage becomes a recorded failure with the reason, never a crash.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import orjson
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, Field
from urllib3.exceptions import HTTPError, ProtocolError

from driftwatch.config import TargetConfig
from driftwatch.textsafe import short_value

PAGE_SIZE = 500  # as kubectl --chunk-size
MAX_LIST_RESTARTS = 3
# A list is a bounded walk: a server that keeps answering with continue tokens (the same
# one, or new ones for ever) fails that kind instead of holding the scan.
MAX_PAGES = 4_000  # two million objects of one kind at PAGE_SIZE
LIST_DEADLINE = 600.0  # seconds for one kind's pages, retries included
# Transient answers are retried: an overloaded apiserver (429, honouring Retry-After), a
# proxy or load balancer in trouble (502-504), a connection reset or closed unanswered.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_ATTEMPTS = 4  # per request, the first included
RETRY_BUDGET = 10.0  # seconds of waiting per request, at most
BACKOFF_BASE = 0.5  # seconds before the first retry without Retry-After; doubles
REASON_LIMIT = 300  # characters of a failure reason (the server chooses the message)
# A page of 500 objects of at most 1.5 MiB each (etcd's limit) stays below this; an answer
# above it is garbage, read no further so a hostile server cannot exhaust memory.
MAX_RESPONSE_BYTES = 1 << 30
JSON = "application/json"
# What kubectl and client-go's metadata client send: the apiserver answers each object's
# metadata only (a PartialObjectMetadataList); a server that cannot says 406.
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
WORKERS = 8  # concurrent requests of one scan (lists, then the GETs of unmanaged objects)


class ApiResource(BaseModel):
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class ListFailure(BaseModel):
    group: str
    kind: str
    namespace: str | None = None
    name: str | None = Field(None, description="set when one object could not be fetched")
    reason: str


class ClusterState(BaseModel):
    """Everything read from one cluster: a scan's input, and what ``snapshot`` records."""

    target: str
    context: str | None = None
    server: str | None = None
    namespaces: list[str] | None = Field(None, description="listed namespaces; null = all")
    resources: list[ApiResource] = Field(default_factory=list)
    objects: list[dict[str, Any]] = Field(default_factory=list)
    partial: list[dict[str, Any]] = Field(
        default_factory=list,
        description="objects of the kinds listed only for unmanaged detection, metadata only "
        "(kind and apiVersion set), that were not fetched whole: none of them was unmanaged",
    )
    failures: list[ListFailure] = Field(default_factory=list)
    openapi: dict[str, Any] | None = Field(
        None,
        description="list types read from the target's /openapi/v3, in schema.SchemaData's"
        " compact form (null: the bundled schema of the built-in types was used)",
    )

    predicted: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="server-side diff: the server's dry-run apply of each Git object, by"
        " resource id (Secrets as the objects are: masked in a snapshot)",
    )
    predictionFailures: list[ListFailure] = Field(
        default_factory=list,
        description="server-side diff: kinds whose dry-run failed, compared with the schema instead",
    )

    def resource_for(self, group: str, kind: str) -> ApiResource | None:
        for r in self.resources:
            if r.group == group and r.kind == kind:
                return r
        return None


class ClusterUnreachable(RuntimeError):
    """The cluster cannot be reached or refuses the credentials."""


class BadResponse(ValueError):
    """The server answered 2xx with something other than the document asked for."""


class GaveUp(RuntimeError):
    """A transient failure lasted through every retry; the last failure is the cause."""


Progress = Callable[[str], None]


def api_client(target: TargetConfig) -> tuple[client.ApiClient, str | None]:
    """A client for the target's kubeconfig context (or in-cluster config)."""
    configuration = client.Configuration()
    if target.inCluster:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return client.ApiClient(configuration), None
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=target.kubeconfig,
            context=target.context,
            client_configuration=configuration,
        )
    except (config.ConfigException, OSError) as exc:
        raise ClusterUnreachable(f"cannot load kubeconfig: {exc}") from exc
    # No urllib3 retries (nor redirects): _get is the one place that retries.
    configuration.retries = False
    return client.ApiClient(configuration), configuration.host


def _get(
    api: client.ApiClient,
    path: str,
    query: list[tuple[str, Any]] | None = None,
    accept: str = JSON,
    *,
    apply: bytes | None = None,
    max_bytes: int | None = None,
) -> Any:
    """GET a path (or PATCH it with a server-side ``apply`` body) and decode it with
    orjson, retrying transient failures.

    A non-2xx answer raises ``ApiException``, a 2xx that is not JSON ``BadResponse``, and
    a transient failure that outlasts the retries ``GaveUp``.
    """
    waited = 0.0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        retry_after: float | None = None
        try:
            status, reason, headers, data = _request(api, path, query, accept, apply, max_bytes)
        except ProtocolError as exc:  # reset, closed unanswered, or cut short mid-body
            failure: Exception = exc
        else:
            if 200 <= status < 300:
                return _decode(data, headers.get("Content-Type"), path)
            failure = ApiException(
                status=status, reason=reason, body=data.decode("utf-8", "replace")
            )
            if status not in RETRY_STATUSES:
                raise failure
            retry_after = _retry_after(headers.get("Retry-After"))
        delay = _delay(attempt, retry_after)
        if attempt == MAX_ATTEMPTS or waited + delay > RETRY_BUDGET:
            attempts = f"{attempt} attempt{'s' if attempt > 1 else ''}"
            raise GaveUp(
                f"gave up after {attempts} in {waited:.1f}s: {failure_reason(failure)}"
            ) from failure
        time.sleep(delay)
        waited += delay
    raise AssertionError("unreachable")  # the loop returns or raises


def _request(
    api: client.ApiClient,
    path: str,
    query: list[tuple[str, Any]] | None,
    accept: str = JSON,
    apply: bytes | None = None,
    max_bytes: int | None = None,
) -> tuple[int, str, Mapping[str, str], bytes]:
    limit = MAX_RESPONSE_BYTES if max_bytes is None else max_bytes
    header_params = {"Accept": accept}
    if apply is not None:
        header_params["Content-Type"] = "application/apply-patch+yaml"
    method, url, headers, _, _ = api.param_serialize(
        "GET" if apply is None else "PATCH",
        path,
        query_params=query or [],
        header_params=header_params,
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, header_params=headers, body=apply, _request_timeout=60)
    raw = response.response  # urllib3's, not read yet: read it in bounded chunks
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.stream(1 << 20):
        size += len(chunk)
        if size > limit:
            raw.close()  # drop the connection: the rest of the answer is never read
            raise BadResponse(f"{path} answered more than {limit >> 20} MiB")
        chunks.append(chunk)
    raw.release_conn()
    headers = response.getheaders()  # type: ignore[no-untyped-call]  # case-insensitive
    return response.status, str(response.reason), headers, b"".join(chunks)


def _delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before retry ``attempt + 1``: what the server asked for, else exponential
    backoff; jittered so the concurrent listings do not retry in step."""
    if retry_after is not None:
        return retry_after * random.uniform(1.0, 1.2)
    return float(BACKOFF_BASE * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))


def _retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (it may be a number or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _decode(data: bytes, content_type: str | None, path: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadResponse(
            f"{path} did not answer JSON ({content_type or 'no content type'}: {exc}): "
            + short_value(data[:80].decode("utf-8", "replace"))
        ) from None


def failure_reason(exc: BaseException) -> str:
    """A failure on one line, short and printable: the server chooses part of it."""
    if isinstance(exc, ApiException):
        text = _describe(exc)
    elif isinstance(exc, ProtocolError):
        text = f"connection failed: {exc}"
    elif isinstance(exc, (HTTPError, OSError)):
        text = f"cannot reach the API server: {exc}"
    elif isinstance(exc, (BadResponse, GaveUp)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return short_value(" ".join(text.split()), REASON_LIMIT)


def discover(api: client.ApiClient) -> tuple[list[ApiResource], dict[str, str]]:
    """Listable resources of every served group version (preferred version first), and
    the groups some version of which could not be discovered, with the reason."""
    try:
        core = _discovery(_get(api, "/api"), "/api")
        groups = _discovery(_get(api, "/apis"), "/apis")
    except (BadResponse, GaveUp) as exc:
        raise ClusterUnreachable(f"unusable discovery: {failure_reason(exc)}") from exc
    except (ApiException, HTTPError, OSError) as exc:
        raise ClusterUnreachable(failure_reason(exc)) from exc
    paths: list[tuple[str, str, str]] = [("", v, f"/api/{v}") for v in core["versions"]]
    for group in groups["groups"]:
        preferred = (group.get("preferredVersion") or {}).get("version")
        versions = sorted(group["versions"], key=lambda v: v["version"] != preferred)
        paths += [(group["name"], v["version"], f"/apis/{v['groupVersion']}") for v in versions]

    def fetch(item: tuple[str, str, str]) -> list[ApiResource] | str:
        group, version, path = item
        try:
            doc = _discovery(_get(api, path), path)
        except Exception as exc:  # an unavailable aggregated API must not stop discovery
            return failure_reason(exc)
        return [
            ApiResource(
                group=group,
                version=version,
                kind=r["kind"],
                plural=r["name"],
                namespaced=r.get("namespaced") is True,
            )
            for r in doc["resources"]
            if "/" not in r["name"] and "list" in r["verbs"]
        ]

    broken: dict[str, str] = {}
    found: list[ApiResource] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for (group, _, path), batch in zip(paths, pool.map(fetch, paths), strict=True):
            if isinstance(batch, str):
                broken.setdefault(group, f"discovery of {path} failed: {batch}")
            else:
                found += batch
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in found:  # preferred versions came first
        if (r.group, r.kind) not in seen:
            seen.add((r.group, r.kind))
            unique.append(r)
    return unique, broken


def _discovery(doc: Any, path: str) -> dict[str, Any]:
    """``doc`` if it has the shape :func:`discover` reads at ``path``, else BadResponse."""
    if path == "/api":
        for where, version in _entries(doc, path, "versions"):
            _require(isinstance(version, str), where, "is not a string")
    elif path == "/apis":
        for where, group in _entries(doc, path, "groups"):
            _require(isinstance(group, dict), where, "is not an object")
            _require(isinstance(group.get("name"), str), where, "has no name string")
            for at, version in _entries(group, where, "versions"):
                ok = isinstance(version, dict) and all(
                    isinstance(version.get(f), str) for f in ("groupVersion", "version")
                )
                _require(ok, at, "lacks groupVersion or version strings")
            preferred = group.get("preferredVersion")
            _require(
                preferred is None or isinstance(preferred, dict), where, "bad preferredVersion"
            )
    else:
        for where, r in _entries(doc, path, "resources"):
            ok = isinstance(r, dict) and all(isinstance(r.get(f), str) for f in ("name", "kind"))
            _require(ok, where, "lacks name or kind strings")
            _require(isinstance(r.get("verbs", []), list), where, "verbs is not a list")
    return doc  # type: ignore[no-any-return]


def _entries(doc: Any, where: str, key: str) -> list[tuple[str, Any]]:
    """The entries of the list ``doc[key]``, each with its place for a message."""
    entries = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise BadResponse(f"{where}: expected an object with a list {key!r}, got {_shape(doc)}")
    return [(f"{where}: {key}[{i}]", entry) for i, entry in enumerate(entries)]


def _require(ok: bool, where: str, problem: str) -> None:
    if not ok:
        raise BadResponse(f"{where} {problem}")


def _shape(value: Any) -> str:
    """What a JSON value is, for a message (never its content: the server chose it)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else type(value).__name__


def _describe(exc: ApiException) -> str:
    try:
        message = orjson.loads(exc.body or "").get("message") or exc.reason
    except (orjson.JSONDecodeError, TypeError, AttributeError):
        message = exc.reason
    return f"{exc.status} {exc.reason}: {message}"


def _collection(resource: ApiResource, namespace: str | None) -> str:
    base = f"/api/{resource.version}" if not resource.group else f"/apis/{resource.api_version}"
    return (
        f"{base}/namespaces/{namespace}/{resource.plural}"
        if namespace
        else f"{base}/{resource.plural}"
    )


def list_objects(
    api: client.ApiClient,
    resource: ApiResource,
    namespace: str | None,
    metadata_only: bool = False,
) -> list[dict[str, Any]]:
    """All objects of one resource, paginated; restarts the list when a token expires (410).

    ``metadata_only``: each object's ``apiVersion``, ``kind`` and ``metadata`` only, asked
    as a PartialObjectMetadataList; a server that refuses that media type (406, as some
    aggregated APIs do) is asked for the full list, cut down the same way.
    """
    if not metadata_only:
        return _list(api, resource, namespace, JSON)
    try:
        items = _list(api, resource, namespace, METADATA_LIST)
    except ApiException as exc:
        if exc.status != 406:
            raise
        items = _list(api, resource, namespace, JSON)
    # Cut down whatever came (a server may ignore the media type): no Secret data is kept.
    return [_metadata_of(item) for item in items]


def _metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}


def _list(
    api: client.ApiClient, resource: ApiResource, namespace: str | None, accept: str
) -> list[dict[str, Any]]:
    path = _collection(resource, namespace)
    deadline = time.monotonic() + LIST_DEADLINE
    for _ in range(MAX_LIST_RESTARTS):
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        try:
            for _page in range(MAX_PAGES):
                query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
                if token:
                    query.append(("continue", token))
                doc = _get(api, path, query, accept)
                page, token = _list_page(doc, resource, path, accept == METADATA_LIST)
                items += page
                if not token:
                    return items
                _require(token not in seen, path, "the server repeated a continue token")
                _require(
                    time.monotonic() < deadline, path, f"listing took over {LIST_DEADLINE:.0f} s"
                )
                seen.add(token)
            raise BadResponse(f"{path}: more than {MAX_PAGES} pages")
        except ApiException as exc:
            if exc.status == 410 and token:
                continue  # the snapshot behind the continue token expired: list again
            raise
    raise ApiException(status=410, reason=f"list of {resource.plural} kept expiring")


def _list_page(
    doc: Any, resource: ApiResource, path: str, metadata_asked: bool = False
) -> tuple[list[dict[str, Any]], str | None]:
    """The items and continue token of one list page, or BadResponse.

    One malformed item fails the whole page (the kind becomes not_checked): a list that
    is partly garbage cannot say which objects are missing or unmanaged.
    """
    what = f"{path}: not a {resource.kind} list"
    _require(isinstance(doc, dict), what, f"(got {_shape(doc)})")
    items, meta = doc.get("items"), doc.get("metadata") or {}
    partial = doc.get("kind") == "PartialObjectMetadataList"
    _require(metadata_asked or not partial, what, "(it answered metadata only)")
    _require(isinstance(items, list), what, f"(items is {_shape(items)})")
    _require(isinstance(meta, dict), what, "(metadata is not an object)")
    token = meta.get("continue") or None
    _require(token is None or isinstance(token, str), what, "(metadata.continue is not a string)")
    for i, item in enumerate(items):
        if partial and isinstance(item, dict):
            # Each item is a PartialObjectMetadata; only the metadata is the object's.
            items[i] = item = {"metadata": item.get("metadata")}
        problem = _item_problem(item, resource)
        _require(problem is None, f"{path}: item {i}", str(problem))
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items, token


def fetch_object(
    api: client.ApiClient, obj: dict[str, Any], resource: ApiResource
) -> dict[str, Any]:
    """The whole object that ``obj`` (a listed object's metadata) names, checked to be that
    object: a server answering another one (or garbage) is a BadResponse."""
    meta = obj["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    path = f"{_collection(resource, namespace)}/{name}"
    body = _get(api, path)
    problem = _item_problem(body, resource)
    _require(problem is None, path, f"answered an object that {problem}")
    answered = body["metadata"]
    _require(
        answered["name"] == name and answered.get("namespace") == namespace,
        path,
        "answered another object",
    )
    body.setdefault("apiVersion", resource.api_version)
    body.setdefault("kind", resource.kind)
    return body  # type: ignore[no-any-return]


def _item_problem(item: Any, resource: ApiResource) -> str | None:
    """Why ``item`` is not an object of ``resource`` as the audit reads one, or None."""
    if not isinstance(item, dict):
        return f"is {_shape(item)}, not an object"
    meta = item.get("metadata")
    if not isinstance(meta, dict):
        return "has no metadata object"
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        return "has no metadata.name string"
    namespace = meta.get("namespace")
    if resource.namespaced and (not isinstance(namespace, str) or not namespace):
        return "has no metadata.namespace string"
    if namespace is not None and not isinstance(namespace, str):
        return "has a metadata.namespace that is not a string"
    if item.get("kind", resource.kind) != resource.kind:
        return f"is not a {resource.kind}"
    api_version = item.get("apiVersion", resource.api_version)
    if not isinstance(api_version, str) or api_version.rpartition("/")[0] != resource.group:
        return f"is not in API group {resource.group or 'core'}"
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            return f"has metadata.{key} that is not a map of strings"
    for key in ("managedFields", "ownerReferences"):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            return f"has metadata.{key} that is not a list of objects"
    return None


class UnmanagedSearch(Protocol):
    """What :func:`scan_cluster` asks the engine when it also looks for unmanaged objects."""

    def plan(self, resources: Sequence[ApiResource]) -> tuple[list[ApiResource], set[str]]:
        """The kinds to list metadata only (besides those listed whole), and the namespaces
        whose objects of those kinds count; cluster-scoped objects always count."""
        ...

    def unmanaged(self, state: ClusterState) -> list[dict[str, Any]]:
        """The objects of ``state.partial`` that are unmanaged: they are fetched whole."""
        ...


Job = tuple[ApiResource, str | None, bool]  # resource, namespace (None: all), metadata only


def scan_cluster(
    target: TargetConfig,
    kinds: Iterable[tuple[str, str]],
    progress: Progress | None = None,
    search: UnmanagedSearch | None = None,
    predict: Callable[[client.ApiClient, ClusterState], None] | None = None,
) -> ClusterState:
    """List the given (group, kind) pairs on the target's cluster, whole; with ``search``,
    also the kinds it asks for, metadata only, then GET the unmanaged among them; then
    ``predict`` (server-side diff, :mod:`serverside`) adds to the state over the same
    client."""
    kinds = set(kinds)
    api, server = api_client(target)
    try:
        resources, broken = discover(api)
        state = ClusterState(
            target=target.name,
            context=target.context,
            server=server,
            namespaces=list(target.namespaces) or None,
            resources=resources,
        )
        by_kind = {(r.group, r.kind): r for r in resources}
        jobs: list[Job] = []
        for group, kind in sorted(kinds):
            resource = by_kind.get((group, kind))
            if resource is None and group in broken:
                state.failures.append(ListFailure(group=group, kind=kind, reason=broken[group]))
            if resource is None:
                continue  # not served: the engine reports it as not_checked
            jobs += [(resource, ns, False) for ns in _scopes(resource, target.namespaces)]
        keep: set[str] | None = None
        if search is not None:
            metadata_kinds, keep = search.plan(resources)
            whole = {(r.group, r.kind) for r, _, _ in jobs}
            # In the namespaces that count: each one the target lists, else cluster-wide.
            listed = [ns for ns in target.namespaces if ns in keep]
            namespaced: list[str | None] = list(listed) if target.namespaces else [None]
            for resource in metadata_kinds:
                if (resource.group, resource.kind) in whole:
                    continue
                if not resource.namespaced:
                    jobs.append((resource, None, True))
                elif keep:
                    jobs += [(resource, ns, True) for ns in namespaced]

        def run(job: Job) -> tuple[list[dict[str, Any]], ListFailure | None]:
            resource, namespace, metadata_only = job
            started = time.monotonic()
            try:
                objects = list_objects(api, resource, namespace, metadata_only)
            except Exception as exc:
                return [], _failure(resource, namespace, exc, "cannot list: ")
            if progress:
                scope = f" in {namespace}" if namespace else ""
                progress(
                    f"{target.name}: {len(objects)} {resource.kind}{scope} ({time.monotonic() - started:.1f}s)"
                )
            return objects, None

        metadata_failures: dict[tuple[str, str], list[ListFailure]] = {}
        with ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(jobs)))) as pool:
            answers = pool.map(run, jobs)
            # Imported here: openapi reads through this module's _get.  Only the kinds
            # diffed need list types; metadata-only ones are not compared.
            from driftwatch.providers.kubernetes.openapi import read_schema

            diffed = {(job[0].group, job[0].version) for job in jobs if not job[2]}
            state.openapi = read_schema(api, server, diffed)
            for job, (objects, failure) in zip(jobs, answers, strict=True):
                metadata_only = job[2]
                if not metadata_only:
                    state.objects.extend(objects)
                elif keep is not None:
                    state.partial += [
                        o for o in objects if _namespace(o) in keep or not job[0].namespaced
                    ]
                if failure and metadata_only:
                    metadata_failures.setdefault((failure.group, failure.kind), []).append(failure)
                elif failure:
                    state.failures.append(failure)
        state.failures += [_one_per_kind(found) for found in metadata_failures.values()]
        if search is not None:
            state.failures += [
                ListFailure(group=group, kind="*", reason=reason)
                for group, reason in broken.items()
                if group not in {g for g, _ in kinds}  # those are named per kind above
            ]
            _fetch_unmanaged(api, state, search, by_kind)
        if predict is not None:
            predict(api, state)
        return state
    finally:
        api.close()  # type: ignore[no-untyped-call]


def _scopes(resource: ApiResource, namespaces: Sequence[str]) -> list[str | None]:
    """Where to list a resource: in each of ``namespaces`` if given, else cluster-wide."""
    return list(namespaces) if resource.namespaced and namespaces else [None]


def _namespace(obj: dict[str, Any]) -> str | None:
    return obj["metadata"].get("namespace")  # type: ignore[no-any-return]


def _failure(
    resource: ApiResource,
    namespace: str | None,
    exc: Exception,
    prefix: str,
    name: str | None = None,
) -> ListFailure:
    """A failed request as a recorded failure; a 401 stops the scan of the target."""
    if isinstance(exc, ApiException):
        if exc.status == 401:
            raise ClusterUnreachable(f"credentials rejected: {failure_reason(exc)}") from exc
        reason = failure_reason(exc)
    else:  # garbage or a dead connection: this kind (or object) only
        reason = f"{prefix}{failure_reason(exc)}"
    return ListFailure(
        group=resource.group, kind=resource.kind, namespace=namespace, name=name, reason=reason
    )


def _one_per_kind(failures: list[ListFailure]) -> ListFailure:
    """The failures of one kind listed only for unmanaged detection, as one: a kind
    forbidden in every namespace is one not_checked row, not one per namespace."""
    first = failures[0]
    if len(failures) == 1:
        return first
    where = ", ".join(sorted(str(f.namespace) for f in failures))
    return ListFailure(
        group=first.group,
        kind=first.kind,
        reason=f"in {len(failures)} namespaces ({where}): {first.reason}",
    )


def _fetch_unmanaged(
    api: client.ApiClient,
    state: ClusterState,
    search: UnmanagedSearch,
    by_kind: Mapping[tuple[str, str], ApiResource],
) -> None:
    """GET each unmanaged object of ``state.partial``, concurrently: its whole body moves
    to ``state.objects``.  One deleted in the meantime (404) is gone; one that cannot be
    read stays metadata only, with a failure naming it."""
    wanted = search.unmanaged(state)
    if not wanted:
        return

    def fetch(obj: dict[str, Any]) -> dict[str, Any] | ListFailure | None:
        resource = by_kind[(str(obj["apiVersion"]).rpartition("/")[0], str(obj["kind"]))]
        try:
            return fetch_object(api, obj, resource)
        except Exception as exc:
            if isinstance(exc, ApiException) and exc.status == 404:
                return None
            meta = obj["metadata"]
            return _failure(resource, meta.get("namespace"), exc, "cannot read: ", meta["name"])

    done: set[int] = set()
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(wanted))) as pool:
        for obj, outcome in zip(wanted, pool.map(fetch, wanted), strict=True):
            if isinstance(outcome, ListFailure):
                state.failures.append(outcome)
                continue
            done.add(id(obj))
            if outcome is not None:
                state.objects.append(outcome)
    state.partial = [o for o in state.partial if id(o) not in done]
