"""Live state from a Kubernetes cluster, through the official client.

Discovery maps kinds to resources; each needed resource is listed once (cluster-wide or
per configured namespace), paginated, concurrently across types.  Responses are decoded
with orjson instead of the client's typed models (15x faster on big lists).  A kind that
is forbidden or not served becomes a recorded failure, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, Field
from urllib3.exceptions import HTTPError

from driftwatch.config import TargetConfig

PAGE_SIZE = 500  # as kubectl --chunk-size
MAX_LIST_RESTARTS = 3


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

    def resource_for(self, group: str, kind: str) -> ApiResource | None:
        for r in self.resources:
            if r.group == group and r.kind == kind:
                return r
        return None


class ClusterUnreachable(RuntimeError):
    """The cluster cannot be reached or refuses the credentials."""


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
    configuration.retries = 1
    return client.ApiClient(configuration), configuration.host


def _get(api: client.ApiClient, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
    """GET a path and decode it with orjson; a non-2xx answer raises ``ApiException``."""
    method, url, headers, _, _ = api.param_serialize(
        "GET",
        path,
        query_params=query or [],
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, header_params=headers, _request_timeout=60)
    data: bytes = response.read()  # type: ignore[no-untyped-call]
    if not 200 <= response.status < 300:
        raise ApiException(
            status=response.status, reason=response.reason, body=data.decode("utf-8", "replace")
        )
    return orjson.loads(data)


def discover(api: client.ApiClient) -> list[ApiResource]:
    """Listable resources of every served group version (preferred version first)."""
    try:
        core = _get(api, "/api")
        groups = _get(api, "/apis")
    except ApiException as exc:
        raise ClusterUnreachable(_describe(exc)) from exc
    except (HTTPError, OSError) as exc:
        raise ClusterUnreachable(f"cannot reach the API server: {exc}") from exc
    paths: list[tuple[str, str, str]] = [("", v, f"/api/{v}") for v in core.get("versions", [])]
    for group in groups.get("groups", []):
        preferred = group.get("preferredVersion", {}).get("version")
        versions = sorted(group.get("versions", []), key=lambda v: v["version"] != preferred)
        paths += [(group["name"], v["version"], f"/apis/{v['groupVersion']}") for v in versions]

    def fetch(item: tuple[str, str, str]) -> list[ApiResource]:
        group, version, path = item
        try:
            doc = _get(api, path)
        except ApiException:
            return []  # an unavailable aggregated API must not stop discovery
        return [
            ApiResource(
                group=group,
                version=version,
                kind=r["kind"],
                plural=r["name"],
                namespaced=bool(r.get("namespaced")),
            )
            for r in doc.get("resources", [])
            if "/" not in r["name"] and "list" in r.get("verbs", [])
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = [r for batch in pool.map(fetch, paths) for r in batch]
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in found:  # preferred versions came first
        if (r.group, r.kind) not in seen:
            seen.add((r.group, r.kind))
            unique.append(r)
    return unique


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
    for _ in range(MAX_LIST_RESTARTS):
        items: list[dict[str, Any]] = []
        token: str | None = None
        try:
            while True:
                query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
                if token:
                    query.append(("continue", token))
                page = _get(api, path, query)
                for item in page.get("items", []):
                    item.setdefault("apiVersion", resource.api_version)
                    item.setdefault("kind", resource.kind)
                    items.append(item)
                token = page.get("metadata", {}).get("continue")
                if not token:
                    return items
        except ApiException as exc:
            if exc.status == 410 and token:
                continue  # the snapshot behind the continue token expired: list again
            raise
    raise ApiException(status=410, reason=f"list of {resource.plural} kept expiring")


def scan_cluster(
    target: TargetConfig,
    kinds: Iterable[tuple[str, str]],
    progress: Progress | None = None,
) -> ClusterState:
    """List the given (group, kind) pairs on the target's cluster."""
    api, server = api_client(target)
    try:
        resources = discover(api)
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
                    raise ClusterUnreachable(f"credentials rejected: {_describe(exc)}") from exc
                failure = ListFailure(
                    group=resource.group,
                    kind=resource.kind,
                    namespace=namespace,
                    reason=_describe(exc),
                )
                return [], failure
            except (HTTPError, OSError) as exc:
                failure = ListFailure(
                    group=resource.group,
                    kind=resource.kind,
                    namespace=namespace,
                    reason=f"cannot list: {exc}",
                )
                return [], failure
            if progress:
                scope = f" in {namespace}" if namespace else ""
                progress(
                    f"{target.name}: {len(objects)} {resource.kind}{scope} ({time.monotonic() - started:.1f}s)"
                )
            return objects, None

        with ThreadPoolExecutor(max_workers=min(8, max(1, len(jobs)))) as pool:
            for objects, failure in pool.map(run, jobs):
                state.objects.extend(objects)
                if failure:
                    state.failures.append(failure)
        return state
    finally:
        api.close()  # type: ignore[no-untyped-call]
