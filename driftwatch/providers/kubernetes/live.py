"""Live state from a Kubernetes cluster, through the official client.

Discovery maps kinds to resources; each needed resource is listed once (cluster-wide or
per configured namespace), paginated, concurrently across types.  Responses are decoded
with orjson instead of the client's typed models (15x faster on big lists).

A cluster is data, not a trusted peer: every answer is checked for the shape driftwatch
relies on before it is used (:func:`_list_page`, :func:`_discovery`), transient answers
(429, 502-504, a reset connection) are retried with backoff, and a kind that is forbidden,
keeps failing or answers garbage becomes a recorded failure with the reason, never a crash.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

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
    reason: str


class ClusterState(BaseModel):
    """Everything read from one cluster: a scan's input, and what ``snapshot`` records."""

    target: str
    context: str | None = None
    server: str | None = None
    namespaces: list[str] | None = Field(None, description="listed namespaces; null = all")
    resources: list[ApiResource] = Field(default_factory=list)
    objects: list[dict[str, Any]] = Field(default_factory=list)
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
    *,
    apply: bytes | None = None,
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
            status, reason, headers, data = _request(api, path, query, apply)
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
    apply: bytes | None = None,
) -> tuple[int, str, Mapping[str, str], bytes]:
    header_params = {"Accept": "application/json"}
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
        if size > MAX_RESPONSE_BYTES:
            raw.close()  # drop the connection: the rest of the answer is never read
            raise BadResponse(f"{path} answered more than {MAX_RESPONSE_BYTES >> 20} MiB")
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


def list_objects(
    api: client.ApiClient, resource: ApiResource, namespace: str | None
) -> list[dict[str, Any]]:
    """All objects of one resource, paginated; restarts the list when a token expires (410)."""
    base = f"/api/{resource.version}" if not resource.group else f"/apis/{resource.api_version}"
    path = (
        f"{base}/namespaces/{namespace}/{resource.plural}"
        if namespace
        else f"{base}/{resource.plural}"
    )
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
                page, token = _list_page(_get(api, path, query), resource, path)
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
    doc: Any, resource: ApiResource, path: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The items and continue token of one list page, or BadResponse.

    One malformed item fails the whole page (the kind becomes not_checked): a list that
    is partly garbage cannot say which objects are missing or unmanaged.
    """
    what = f"{path}: not a {resource.kind} list"
    _require(isinstance(doc, dict), what, f"(got {_shape(doc)})")
    items, meta = doc.get("items"), doc.get("metadata") or {}
    _require(isinstance(items, list), what, f"(items is {_shape(items)})")
    _require(isinstance(meta, dict), what, "(metadata is not an object)")
    token = meta.get("continue") or None
    _require(token is None or isinstance(token, str), what, "(metadata.continue is not a string)")
    for i, item in enumerate(items):
        problem = _item_problem(item, resource)
        _require(problem is None, f"{path}: item {i}", str(problem))
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items, token


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


def scan_cluster(
    target: TargetConfig,
    kinds: Iterable[tuple[str, str]],
    progress: Progress | None = None,
    predict: Callable[[client.ApiClient, ClusterState], None] | None = None,
) -> ClusterState:
    """List the given (group, kind) pairs on the target's cluster; then ``predict``
    (server-side diff, :mod:`serverside`) adds to the state over the same client."""
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
        jobs: list[tuple[ApiResource, str | None]] = []
        for group, kind in sorted(set(kinds)):
            resource = by_kind.get((group, kind))
            if resource is None and group in broken:
                state.failures.append(ListFailure(group=group, kind=kind, reason=broken[group]))
            if resource is None:
                continue  # not served: the engine reports it as not_checked
            scopes: list[str | None] = (
                list(target.namespaces) if resource.namespaced and target.namespaces else [None]
            )
            jobs += [(resource, ns) for ns in scopes]

        def run(
            job: tuple[ApiResource, str | None],
        ) -> tuple[list[dict[str, Any]], ListFailure | None]:
            resource, namespace = job
            started = time.monotonic()
            try:
                objects = list_objects(api, resource, namespace)
            except ApiException as exc:
                if exc.status == 401:
                    raise ClusterUnreachable(
                        f"credentials rejected: {failure_reason(exc)}"
                    ) from exc
                failure = ListFailure(
                    group=resource.group,
                    kind=resource.kind,
                    namespace=namespace,
                    reason=failure_reason(exc),
                )
                return [], failure
            except Exception as exc:  # garbage or a dead connection: this kind only
                failure = ListFailure(
                    group=resource.group,
                    kind=resource.kind,
                    namespace=namespace,
                    reason=f"cannot list: {failure_reason(exc)}",
                )
                return [], failure
            if progress:
                scope = f" in {namespace}" if namespace else ""
                progress(
                    f"{target.name}: {len(objects)} {resource.kind}{scope} ({time.monotonic() - started:.1f}s)"
                )
            return objects, None

        with ThreadPoolExecutor(max_workers=min(8, max(1, len(jobs)))) as pool:
            listed = pool.map(run, jobs)
            # Imported here: openapi reads through this module's _get.
            from driftwatch.providers.kubernetes.openapi import read_schema

            state.openapi = read_schema(api, server, {(r.group, r.version) for r, _ in jobs})
            for objects, failure in listed:
                state.objects.extend(objects)
                if failure:
                    state.failures.append(failure)
        if predict is not None:
            predict(api, state)
        return state
    finally:
        api.close()  # type: ignore[no-untyped-call]
