"""A read-only, in-process Kubernetes API server for tests, benchmarks and the demo.

It speaks the apiserver's HTTP API closely enough for ``kubectl`` and the official
``kubernetes`` Python client: version and health endpoints, legacy and aggregated
discovery, collection lists with ``limit``/``continue`` pagination over consistent
snapshots, label and field selectors, single gets, server-side ``Table`` printing,
``metav1.Status`` errors, and injectable faults (:mod:`driftwatch.testing.faults`).

Objects are stored as given (apiserver-shaped, see :mod:`driftwatch.testing.fixtures`) and
served byte-for-byte as stored; list items omit ``kind``/``apiVersion`` as a real server's
do.  Each object is serialised once when stored, so listing 10,000 objects costs little
more than joining bytes.  The one write served over HTTP is server-side apply
(``PATCH`` ``application/apply-patch+yaml``, ``dryRun=All`` included; the merge is
:mod:`driftwatch.testing.apply`); other writes are refused (405), and tests change the
state through :meth:`TestAPIServer.put`, :meth:`~TestAPIServer.add` and
:meth:`~TestAPIServer.delete`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gc
import hashlib
import socket
import struct
import threading
import uuid
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
import yaml

from driftwatch.providers.kubernetes import defaults
from driftwatch.providers.kubernetes.defaults import schema_defaults
from driftwatch.providers.kubernetes.schema import (
    KindSchema,
    Schema,
    SchemaData,
    bundled,
    compact_types,
)
from driftwatch.testing import openapi, tables
from driftwatch.testing.apply import ApplyConflict, conflict_causes, server_side_apply
from driftwatch.testing.catalog import BUILTIN_RESOURCES, ResourceType, from_crd
from driftwatch.testing.faults import FaultRule, Faults
from driftwatch.testing.selectors import (
    FieldGetter,
    FieldRequirement,
    LabelRequirement,
    SelectorError,
    field_getters,
    parse_field_selector,
    parse_label_selector,
)

__all__ = [
    "DEFAULT_TOKEN",
    "RequestRecord",
    "TestAPIServer",
    "load_objects",
    "write_kubeconfig",
]

DEFAULT_TOKEN = "driftwatch-test-token"
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)
NOT_FOUND_MESSAGE = "the server could not find the requested resource"
SNAPSHOT_HISTORY = 16  # list snapshots kept per resource for continue tokens
_CONTINUE_VERSION = "meta.k8s.io/v1"
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_MESSAGES = {
    401: "Unauthorized",
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}
_JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"


class RequestRecord(NamedTuple):
    """One request the server received: ``(method, path, query)`` and its Accept header."""

    method: str
    path: str
    query: dict[str, str]
    accept: str = ""


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str  # "namespace/name", or "name" when cluster-scoped: the etcd key order
    namespace: str
    name: str
    obj: dict[str, Any]
    full: bytes  # GET body: the stored object, kind and apiVersion included
    item: bytes  # list item: the stored object without kind and apiVersion
    labels: Mapping[str, str]


@dataclass(slots=True)
class _Snapshot:
    created: int  # store resourceVersion when taken
    keys: list[str]
    entries: list[_Entry]
    valid_until: int | None = None  # resourceVersion of the next change to the collection


class _Collection:
    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.current: _Snapshot | None = None
        self.history: deque[_Snapshot] = deque(maxlen=SNAPSHOT_HISTORY)

    def snapshot(self, rv: int) -> _Snapshot:
        if self.current is None:
            keys = sorted(self.entries)
            self.current = _Snapshot(rv, keys, [self.entries[k] for k in keys])
            self.history.append(self.current)
        return self.current

    def touch(self, rv: int) -> None:
        if self.current is not None:
            self.current.valid_until = rv
            self.current = None

    def find(self, rv: int) -> _Snapshot | None:
        for snap in reversed(self.history):
            if snap.created <= rv and (snap.valid_until is None or rv < snap.valid_until):
                return snap
        return None


@dataclass(slots=True)
class _Response:
    code: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None


@dataclass(slots=True)
class _RequestInfo:
    kind: str  # "resource", "discovery", "other"
    group: str = ""
    version: str = ""
    resource: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    verb: str = ""
    rt: ResourceType | None = None
    valid: bool = True
    discovery_target: str = ""  # "api", "apis", "group", "groupversion"


class _Reset(Exception):
    """Raised by the ``reset`` fault: the handler drops the connection unanswered."""


class _APIError(Exception):
    def __init__(self, response: _Response) -> None:
        super().__init__(response.code)
        self.response = response


def status_body(
    code: int, message: str, reason: str | None = None, details: Mapping[str, Any] | None = None
) -> bytes:
    """A ``metav1.Status`` failure document."""
    doc: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason if reason is not None else _REASONS.get(code, ""),
    }
    if details is not None:
        doc["details"] = dict(details)
    doc["code"] = code
    return orjson.dumps(doc)


def _status(
    code: int,
    message: str,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> _Response:
    return _Response(code, status_body(code, message, reason, details), headers=headers or {})


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _details(rt: ResourceType, name: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if rt.group:
        out["group"] = rt.group
    out["kind"] = rt.plural
    return out


def encode_continue(rv: int, start: str) -> str:
    """The apiserver's continue token: base64url of ``{"v","rv","start"}``."""
    raw = orjson.dumps({"v": _CONTINUE_VERSION, "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """Decode a continue token; raises ``ValueError`` with the apiserver's wording."""
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        doc = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"continue key is not valid: {exc}") from None
    if not isinstance(doc, dict) or doc.get("v") != _CONTINUE_VERSION:
        version = doc.get("v") if isinstance(doc, dict) else None
        raise ValueError(
            f"continue key is not valid: server does not recognize this encoded version {version!r}"
        )
    rv = doc.get("rv")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv <= 0:
        raise ValueError(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    start = doc.get("start")
    if not isinstance(start, str) or not start:
        raise ValueError("continue key is not valid: encoded start key empty")
    if start.startswith("/") or "/../" in f"/{start}":
        raise ValueError("continue key is not valid: invalid start key")
    return rv, start


def _negotiate(accept: str, allowed: Iterable[str]) -> str | None:
    """The first media type in ``accept`` we can serve, as json / table:vX / partial:vX / agg:vX."""
    allowed = set(allowed)
    if not accept.strip():
        return "json"
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if media not in ("application/json", "*/*", "application/*"):
            continue
        params = dict(p.split("=", 1) for p in pieces[1:] if "=" in p)
        as_kind, group, version = params.get("as"), params.get("g"), params.get("v")
        if as_kind is None:
            choice = "json"
        elif as_kind == "Table" and group == "meta.k8s.io" and version in ("v1", "v1beta1"):
            choice = f"table:{version}"
        elif (
            as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList")
            and group == "meta.k8s.io"
            and version in ("v1", "v1beta1")
        ):
            choice = f"partial:{version}"
        elif (
            as_kind == "APIGroupDiscoveryList"
            and group == "apidiscovery.k8s.io"
            and version in ("v2", "v2beta1")
        ):
            choice = f"agg:{version}"
        else:
            continue
        if choice.split(":")[0] in allowed:
            return choice
    return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: TestAPIServer) -> None:
        super().__init__(address, _Handler)
        self.api = api


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "driftwatch-test-apiserver"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        api: TestAPIServer = self.server.api  # type: ignore[attr-defined]
        try:
            resp = api._serve(method, self.path, self.headers, body)
        except _Reset:
            # SO_LINGER 0: close() sends a TCP RST instead of a FIN, as a crashed peer does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        except Exception as exc:  # pragma: no cover - defensive
            resp = _status(500, f"Internal error occurred: {exc!r}", "InternalError")
        try:
            self._send(resp, head=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, resp: _Response, *, head: bool) -> None:
        self.send_response(resp.code)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if resp.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in resp.stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if not head:
            self.wfile.write(resp.body)


class TestAPIServer:
    """A read-only Kubernetes API server on ``127.0.0.1`` serving the objects it is given.

    ``objects``: apiserver-shaped objects (each with ``apiVersion`` and ``kind``);
    ``CustomResourceDefinition`` objects among them also register their resources.
    ``resources``: extra resource types (:class:`ResourceType` or CRD manifests) besides
    the built-in catalog.  ``token``: when set, requests must carry
    ``Authorization: Bearer <token>`` or get 401.  ``aggregated_discovery``: answer
    ``/api`` and ``/apis`` with ``apidiscovery.k8s.io/v2`` when the client asks for it
    (as servers since 1.30 do); otherwise only the legacy documents.

    Server-side apply (``PATCH``, or :meth:`apply` in tests) merges as the apiserver does,
    fills server and CRD schema defaults, then runs :attr:`apply_hooks` (stand-ins for
    mutating webhooks, dry-run included).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        objects: Iterable[Mapping[str, Any]] = (),
        resources: Iterable[ResourceType | Mapping[str, Any]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        server_version: str = "v1.32.4",
        aggregated_discovery: bool = True,
        record_requests: bool = True,
        openapi_v3: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.server_version = server_version
        self.aggregated_discovery = aggregated_discovery
        self.record_requests = record_requests
        self.openapi_v3 = openapi_v3  # False: a server without /openapi/v3 (before 1.27)
        self._openapi_index: dict[str, bytes] = {}
        self.faults = Faults()
        # Mutating admission stand-ins: each gets the object a server-side apply (dry-run
        # included) is about to store, after defaulting, and may change it in place.
        self.apply_hooks: list[Callable[[dict[str, Any]], None]] = []
        self._apply_schemas: dict[tuple[str, str, str, str], KindSchema] = {}
        self.clock: Callable[[], str] = _now
        self._lock = threading.RLock()
        self._types: list[ResourceType] = []
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._collections: dict[tuple[str, str], _Collection] = {}
        self._discovery_cache: dict[str, bytes] = {}
        self._rv = 0
        self._compacted = 0
        self._requests: list[RequestRecord] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for rt in BUILTIN_RESOURCES:
            self.add_resource(rt)
        for res in resources or ():
            self.add_resource(res)
        self.add_all(objects)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread; returns the base URL (``http://127.0.0.1:PORT``)."""
        if self._httpd is not None:
            return self.url
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"test-apiserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TestAPIServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def write_kubeconfig(
        self, path: str | Path, context: str = "test", namespace: str | None = None
    ) -> Path:
        """Write a kubeconfig whose current context points at this server (plain http,
        bearer-token user)."""
        return write_kubeconfig(
            path, self.url, context=context, namespace=namespace, token=self.token or DEFAULT_TOKEN
        )

    # --- requests log -------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The requests received so far, oldest first: ``(method, path, query)``."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- catalog ------------------------------------------------------------------------

    def add_resource(self, resource: ResourceType | Mapping[str, Any]) -> list[ResourceType]:
        """Serve another resource type: a :class:`ResourceType`, or a CRD manifest (all
        its served versions).  Re-adding the same group/version/plural replaces it."""
        types = [resource] if isinstance(resource, ResourceType) else from_crd(resource)
        with self._lock:
            for rt in types:
                key = (rt.group, rt.version, rt.plural)
                old = self._by_gvr.get(key)
                if old is not None:
                    self._types[self._types.index(old)] = rt
                else:
                    self._types.append(rt)
                self._by_gvr[key] = rt
                self._collections.setdefault((rt.group, rt.plural), _Collection())
            self._discovery_cache.clear()
        return types

    @property
    def resources(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types)

    def resource_for(self, group: str, kind_or_resource: str) -> ResourceType:
        """The resource type of ``group`` named by kind, plural, singular or short name."""
        with self._lock:
            for rt in self._types:
                if rt.group == group and rt.matches(kind_or_resource):
                    return rt
        raise KeyError(f"no resource {kind_or_resource!r} in group {group!r}")

    def _type_of(self, obj: Mapping[str, Any]) -> ResourceType:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            raise ValueError("object needs apiVersion and kind")
        group, version = _split_api_version(api_version)
        fallback: ResourceType | None = None
        for rt in self._types:
            if rt.group == group and rt.kind == kind:
                if rt.version == version:
                    return rt
                fallback = fallback or rt
        if fallback is not None:
            return fallback
        raise ValueError(
            f"no resource registered for {api_version} {kind}; register it with add_resource()"
        )

    # --- objects ------------------------------------------------------------------------

    def add_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Upsert many objects; CustomResourceDefinitions go first so their kinds resolve."""
        objs = list(objects)
        # Copying many objects allocates millions of containers; the cyclic GC would
        # rescan the growing heap again and again (they hold no cycles).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for obj in [o for o in objs if _is_crd(o)]:
                self._store(obj, create_only=False)
            for obj in objs:
                if not _is_crd(obj):
                    self._store(obj, create_only=False)
        finally:
            if gc_was_enabled:
                gc.enable()

    def add(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new object; ``ValueError`` if it already exists.  Returns the stored copy."""
        return orjson.loads(self._store(obj, create_only=True).full)  # type: ignore[no-any-return]

    def put(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store an object, replacing any with the same identity.  Returns the stored copy."""
        return orjson.loads(self._store(obj, create_only=False).full)  # type: ignore[no-any-return]

    def _store(self, obj: Mapping[str, Any], *, create_only: bool) -> _Entry:
        data = orjson.loads(orjson.dumps(obj))  # a private deep copy
        if not isinstance(data, dict):
            raise TypeError("object must be a mapping")
        if _is_crd(data):
            with contextlib.suppress(ValueError, KeyError):
                self.add_resource(data)
        with self._lock:
            rt = self._type_of(data)
            meta = data.setdefault("metadata", {})
            name = meta.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError("object needs metadata.name")
            namespace = ""
            if rt.namespaced:
                namespace = meta.get("namespace") or "default"
                meta["namespace"] = namespace
            key = f"{namespace}/{name}" if rt.namespaced else name
            coll = self._collections[(rt.group, rt.plural)]
            if create_only and key in coll.entries:
                raise ValueError(f'{rt.qualified} "{name}" already exists')
            self._rv += 1
            given_rv = meta.get("resourceVersion")
            # An update always gets a new resourceVersion, as on a real apiserver.
            if key not in coll.entries and isinstance(given_rv, str) and given_rv.isdigit():
                self._rv = max(self._rv, int(given_rv))
            else:
                meta["resourceVersion"] = str(self._rv)
            if not meta.get("uid"):
                meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rt.qualified}/{key}"))
            full = orjson.dumps(data)
            item = orjson.dumps({k: v for k, v in data.items() if k not in ("kind", "apiVersion")})
            labels = meta.get("labels") or {}
            entry = _Entry(key, namespace, name, data, full, item, labels)
            coll.entries[key] = entry
            coll.touch(self._rv)
        return entry

    def delete(
        self, group: str, kind_or_resource: str, namespace: str | None, name: str
    ) -> dict[str, Any]:
        """Remove an object; returns it.  ``KeyError`` if absent."""
        rt = self.resource_for(group, kind_or_resource)
        key = f"{namespace or 'default'}/{name}" if rt.namespaced else name
        with self._lock:
            coll = self._collections[(rt.group, rt.plural)]
            entry = coll.entries.pop(key, None)
            if entry is None:
                raise KeyError(f'{rt.qualified} "{name}" not found')
            self._rv += 1
            coll.touch(self._rv)
        return orjson.loads(entry.full)  # type: ignore[no-any-return]

    def get(
        self, group: str, kind_or_resource: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        """A copy of one stored object, or ``None``."""
        rt = self.resource_for(group, kind_or_resource)
        key = f"{namespace or 'default'}/{name}" if rt.namespaced else name
        with self._lock:
            entry = self._collections[(rt.group, rt.plural)].entries.get(key)
        return None if entry is None else orjson.loads(entry.full)

    def objects(
        self, group: str | None = None, kind_or_resource: str | None = None
    ) -> list[dict[str, Any]]:
        """Copies of the stored objects (optionally of one resource), by resource then key."""
        out: list[dict[str, Any]] = []
        with self._lock:
            seen: set[tuple[str, str]] = set()
            for rt in self._types:
                ckey = (rt.group, rt.plural)
                if ckey in seen:
                    continue
                seen.add(ckey)
                if group is not None and rt.group != group:
                    continue
                if kind_or_resource is not None and not rt.matches(kind_or_resource):
                    continue
                coll = self._collections[ckey]
                out.extend(orjson.loads(coll.entries[k].full) for k in sorted(coll.entries))
        return out

    @property
    def resource_version(self) -> int:
        """The store's current resourceVersion (that of the latest change)."""
        with self._lock:
            return self._rv

    def compact(self) -> None:
        """Forget list snapshots, as etcd compaction does: continue tokens issued before the
        latest change now get 410 Expired."""
        with self._lock:
            self._compacted = self._rv
            for coll in self._collections.values():
                coll.history.clear()
                if coll.current is not None:
                    coll.history.append(coll.current)

    # --- HTTP serving -------------------------------------------------------------------

    def _serve(
        self,
        method: str,
        raw_path: str,
        headers: Message | Mapping[str, str],
        body: bytes = b"",
    ) -> _Response:
        split = urlsplit(raw_path)
        path = split.path or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if self.record_requests:
            with self._lock:
                accept = headers.get("Accept") or ""
                self._requests.append(RequestRecord(method, path, query, accept))
        info = self._request_info(method, path, query)
        try:
            self._apply_faults(info, query, headers, path)
            if method == "PATCH" and info.kind == "resource":
                return self._serve_patch(info, query, headers, body)
            if method not in ("GET", "HEAD"):
                return _status(
                    405, "the server does not allow this method on the requested resource"
                )
            accept = headers.get("Accept") or ""
            if info.kind == "resource":
                return self._serve_resource(info, query, accept)
            if info.kind == "discovery":
                return self._serve_discovery(info, accept)
            return self._serve_other(path, query)
        except _APIError as err:
            return err.response

    def _apply_faults(
        self,
        info: _RequestInfo,
        query: Mapping[str, str],
        headers: Message | Mapping[str, str],
        path: str,
    ) -> None:
        faults = self.faults
        rt, verb = info.rt, info.verb
        if faults.take("reset", rt, verb, path=path):
            raise _Reset
        delays = faults.take("delay", rt, verb, all_matches=True)
        if delays:
            self._stopping.wait(sum(r.seconds for r in delays))
        if faults.take("unauthorized", rt, verb):
            raise _APIError(_status(401, "Unauthorized"))
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            raise _APIError(_status(401, "Unauthorized"))
        if info.kind == "resource" and rt is not None:
            forbid = faults.take("forbid", rt, verb)
            if forbid:
                raise _APIError(self._forbidden(forbid[0], info, rt))
            if query.get("continue") and faults.take("gone", rt, verb):
                raise _APIError(_status(410, EXPIRED_MESSAGE, "Expired"))
        errors = faults.take("error", rt, verb)
        if errors:
            raise _APIError(self._injected_error(errors[0], info))
        garbage = faults.take("garbage", rt, verb, path=path)
        if garbage:
            rule = garbage[0]
            raise _APIError(_Response(rule.code, rule.body, rule.content_type))

    @staticmethod
    def _forbidden(rule: FaultRule, info: _RequestInfo, rt: ResourceType) -> _Response:
        subject = f'{rt.qualified} "{info.name}"' if info.name else rt.qualified
        scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
        resource = f"{rt.plural}/{info.subresource}" if info.subresource else rt.plural
        message = (
            f'{subject} is forbidden: User "{rule.user}" cannot {info.verb} resource '
            f'"{resource}" in API group "{rt.group}" {scope}'
        )
        return _status(403, message, "Forbidden", _details(rt, info.name))

    @staticmethod
    def _injected_error(rule: FaultRule, info: _RequestInfo) -> _Response:
        code = rule.code
        reason = rule.reason or _REASONS.get(code, "")
        message = rule.message or _MESSAGES.get(code) or f"injected fault (HTTP {code})"
        details: dict[str, Any] | None = None
        headers: dict[str, str] = {}
        if info.rt is not None:
            details = _details(info.rt, info.name)
        if code == 404 and rule.message is None and info.rt is not None:
            message = (
                f'{info.rt.qualified} "{info.name}" not found' if info.name else NOT_FOUND_MESSAGE
            )
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
            if isinstance(rule.retry_after, int):
                details = {**(details or {}), "retryAfterSeconds": rule.retry_after}
        if code == 500 and details is not None:
            details = {**details, "causes": [{"message": message}]}
        return _status(code, message, reason, details, headers)

    def _request_info(self, method: str, path: str, query: Mapping[str, str]) -> _RequestInfo:
        segs = [unquote(s) for s in path.split("/") if s]
        if not segs or segs[0] not in ("api", "apis"):
            return _RequestInfo("other")
        if segs[0] == "api":
            if len(segs) == 1:
                return _RequestInfo("discovery", discovery_target="api")
            group, version, rest = "", segs[1], segs[2:]
        else:
            if len(segs) == 1:
                return _RequestInfo("discovery", discovery_target="apis")
            if len(segs) == 2:
                return _RequestInfo("discovery", group=segs[1], discovery_target="group")
            group, version, rest = segs[1], segs[2], segs[3:]
        if not rest:
            return _RequestInfo(
                "discovery", group=group, version=version, discovery_target="groupversion"
            )
        info = _RequestInfo("resource", group=group, version=version)
        if rest[0] == "namespaces" and len(rest) > 1:
            info.namespace = rest[1]
            if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
        info.resource = rest[0]
        if len(rest) > 1:
            info.name = rest[1]
        if len(rest) > 2:
            info.subresource = rest[2]
        if len(rest) > 3:
            info.valid = False
        watch = query.get("watch", "").lower() in ("true", "1")
        if method in ("GET", "HEAD"):
            info.verb = "watch" if watch else ("get" if info.name else "list")
        else:
            info.verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "")
            if method == "DELETE":
                info.verb = "delete" if info.name else "deletecollection"
        with self._lock:
            info.rt = self._by_gvr.get((group, version, info.resource))
        return info

    # --- resources ------------------------------------------------------------------------

    def _serve_resource(
        self, info: _RequestInfo, query: Mapping[str, str], accept: str
    ) -> _Response:
        rt = info.rt
        if rt is None or not info.valid:
            raise _APIError(_status(404, NOT_FOUND_MESSAGE, details={}))
        namespace = info.namespace
        if rt.plural == "namespaces" and rt.group == "":
            namespace = ""
        elif namespace and not rt.namespaced:
            raise _APIError(_status(404, NOT_FOUND_MESSAGE, details={}))
        mode = _negotiate(accept, ("json", "table", "partial"))
        if mode is None:
            raise _APIError(
                _status(
                    406,
                    "only the following media types are accepted: application/json, "
                    "application/yaml, application/vnd.kubernetes.protobuf",
                )
            )
        if not info.name:
            return self._serve_list(rt, namespace, query, mode, watch=info.verb == "watch")
        return self._serve_get(rt, namespace, info.name, info.subresource, query, mode)

    def _serve_get(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        subresource: str,
        query: Mapping[str, str],
        mode: str,
    ) -> _Response:
        if rt.namespaced and not namespace:
            raise _APIError(_status(404, NOT_FOUND_MESSAGE, details={}))
        key = f"{namespace}/{name}" if rt.namespaced else name
        with self._lock:
            entry = self._collections[(rt.group, rt.plural)].entries.get(key)
        if subresource and subresource not in rt.subresources:
            raise _APIError(_status(404, NOT_FOUND_MESSAGE, details={}))
        if entry is None:
            raise _APIError(
                _status(404, f'{rt.qualified} "{name}" not found', "NotFound", _details(rt, name))
            )
        if subresource == "scale":
            return _Response(200, _scale(entry.obj))
        if subresource and subresource != "status":
            raise _APIError(
                _status(405, "the server does not allow this method on the requested resource")
            )
        if mode.startswith("table"):
            return self._table(rt, [entry], str(self._rv), None, None, query, mode)
        if mode.startswith("partial"):
            return _Response(200, orjson.dumps(_partial(entry, mode)))
        return _Response(200, entry.full)

    def _serve_list(
        self,
        rt: ResourceType,
        namespace: str,
        query: Mapping[str, str],
        mode: str,
        *,
        watch: bool,
    ) -> _Response:
        try:
            label_reqs = parse_label_selector(query.get("labelSelector", ""))
            field_reqs = field_getters(
                rt.group, rt.kind, parse_field_selector(query.get("fieldSelector", ""))
            )
        except SelectorError as exc:
            raise _APIError(_status(400, str(exc), "BadRequest")) from None
        limit_text = query.get("limit", "")
        try:
            limit = int(limit_text) if limit_text else 0
        except ValueError:
            raise _APIError(
                _status(400, f'invalid value for "limit": {limit_text!r}', "BadRequest")
            ) from None
        limit = max(limit, 0)
        token = query.get("continue", "")
        start = ""
        with self._lock:
            coll = self._collections[(rt.group, rt.plural)]
            if token and not watch:
                try:
                    rv, start = decode_continue(token)
                except ValueError as exc:
                    raise _APIError(
                        _status(400, f"invalid continue token: {exc}", "BadRequest")
                    ) from None
                snap = coll.find(rv) if rv >= self._compacted else None
                if snap is None:
                    raise _APIError(_status(410, EXPIRED_MESSAGE, "Expired"))
            else:
                rv = self._rv
                snap = coll.snapshot(rv)
        if watch:
            return self._watch(snap, rt, namespace, label_reqs, field_reqs, query)
        keys, entries = snap.keys, snap.entries
        prefix = f"{namespace}/" if namespace and rt.namespaced else ""
        lo = bisect_left(keys, max(prefix, start)) if (prefix or start) else 0
        hi = bisect_left(keys, f"{namespace}0") if prefix else len(keys)
        filtered = bool(label_reqs or field_reqs)
        selected: list[_Entry] = []
        i = lo
        while i < hi:
            entry = entries[i]
            i += 1
            if filtered and not _matches(entry, label_reqs, field_reqs):
                continue
            selected.append(entry)
            if limit and len(selected) >= limit:
                break
        more = bool(limit) and len(selected) >= limit and i < hi
        cont = encode_continue(rv, selected[-1].key + "\x00") if more else None
        remaining = (hi - i) if (more and not filtered) else None
        if mode.startswith("table"):
            return self._table(rt, selected, str(rv), cont, remaining, query, mode)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if cont is not None:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        if mode.startswith("partial"):
            doc = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": f"meta.k8s.io/{mode.split(':')[1]}",
                "metadata": meta,
                "items": [_partial(e, mode) for e in selected],
            }
            return _Response(200, orjson.dumps(doc))
        head = orjson.dumps(
            {"kind": rt.list_kind, "apiVersion": rt.group_version, "metadata": meta}
        )
        body = b"".join((head[:-1], b',"items":[', b",".join(e.item for e in selected), b"]}"))
        return _Response(200, body)

    def _table(
        self,
        rt: ResourceType,
        selected: list[_Entry],
        rv: str,
        cont: str | None,
        remaining: int | None,
        query: Mapping[str, str],
        mode: str,
    ) -> _Response:
        version = mode.split(":")[1]
        columns = tables.columns_for(rt.group, rt.kind)
        include = query.get("includeObject", "Metadata") or "Metadata"
        now = tables.utcnow()
        rows: list[dict[str, Any]] = []
        for entry in selected:
            row: dict[str, Any] = {"cells": tables.row_cells(columns, entry.obj, now)}
            if include == "Object":
                row["object"] = orjson.Fragment(entry.full)
            elif include != "None":
                row["object"] = _partial(entry, f"partial:{version}")
            rows.append(row)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont is not None:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        doc = {
            "kind": "Table",
            "apiVersion": f"meta.k8s.io/{version}",
            "metadata": meta,
            "columnDefinitions": tables.column_definitions(columns),
            "rows": rows,
        }
        return _Response(200, orjson.dumps(doc))

    def _watch(
        self,
        snap: _Snapshot,
        rt: ResourceType,
        namespace: str,
        label_reqs: list[LabelRequirement],
        field_reqs: list[tuple[FieldRequirement, FieldGetter]],
        query: Mapping[str, str],
    ) -> _Response:
        """Minimal watch: the current objects as ADDED events (unless a specific
        resourceVersion was asked for), then an idle stream until ``timeoutSeconds``."""
        events: list[bytes] = []
        if query.get("resourceVersion", "") in ("", "0"):
            for entry in snap.entries:
                if namespace and rt.namespaced and entry.namespace != namespace:
                    continue
                if _matches(entry, label_reqs, field_reqs):
                    events.append(b'{"type":"ADDED","object":' + entry.full + b"}\n")
        try:
            timeout = float(query.get("timeoutSeconds") or 60)
        except ValueError:
            timeout = 60.0
        stopping = self._stopping

        def stream() -> Iterator[bytes]:
            yield from events
            stopping.wait(min(timeout, 3600))

        return _Response(200, stream=stream())

    # --- server-side apply ----------------------------------------------------------------

    def _serve_patch(
        self,
        info: _RequestInfo,
        query: Mapping[str, str],
        headers: Message | Mapping[str, str],
        body: bytes,
    ) -> _Response:
        """``PATCH`` with ``application/apply-patch+yaml``: server-side apply (the only
        patch type served), ``dryRun=All`` answering without storing."""
        rt = info.rt
        if rt is None or not info.valid or not info.name:
            raise _APIError(_status(404 if rt is None else 405, NOT_FOUND_MESSAGE, details={}))
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != APPLY_PATCH:
            raise _APIError(
                _status(
                    415,
                    f"the body of the request was in an unknown format - accepted media types include: {APPLY_PATCH}",
                    "UnsupportedMediaType",
                )
            )
        if info.subresource:
            raise _APIError(
                _status(405, "the server does not allow this method on the requested resource")
            )
        manager = query.get("fieldManager", "")
        if not manager:
            raise _APIError(
                _status(
                    422,
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                    "Invalid",
                )
            )
        dry_run = query.get("dryRun", "")
        if dry_run not in ("", "All"):
            raise _APIError(
                _status(
                    422,
                    f'PatchOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "{dry_run}": supported values: "All"',
                    "Invalid",
                )
            )
        force = query.get("force", "").lower() == "true"
        config = self._apply_config(rt, info, body)
        namespace = info.namespace if rt.namespaced else ""
        code, stored = self._apply(rt, namespace, info.name, config, manager, force, bool(dry_run))
        return _Response(code, stored)

    def apply(
        self, obj: Mapping[str, Any], manager: str, *, force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` as ``manager``, as a ``PATCH`` does (without HTTP, for
        tests that build live state); returns the stored (or, dry-run, the would-be) object.
        A conflict raises ``ValueError`` with the apiserver's message."""
        config = orjson.loads(orjson.dumps(obj))
        rt = self._type_of(config)
        meta = config.get("metadata") or {}
        namespace = (meta.get("namespace") or "default") if rt.namespaced else ""
        try:
            _, body = self._apply(
                rt, namespace, str(meta.get("name", "")), config, manager, force, dry_run
            )
        except _APIError as err:
            raise ValueError(orjson.loads(err.response.body).get("message")) from None
        return orjson.loads(body)  # type: ignore[no-any-return]

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        config: dict[str, Any],
        manager: str,
        force: bool,
        dry_run: bool,
    ) -> tuple[int, bytes]:
        """The apply itself: (HTTP status, answered object)."""
        key = f"{namespace}/{name}" if rt.namespaced else name
        now = self.clock()
        with self._lock:
            entry = self._collections[(rt.group, rt.plural)].entries.get(key)
            live = None if entry is None else entry.obj
            kind = self._apply_schema(rt)
            extra = schema_defaults(kind)
            try:
                result = server_side_apply(
                    live,
                    config,
                    manager,
                    kind=kind,
                    force=force,
                    time=now,
                    status_subresource="status" in rt.subresources,
                    defaults=lambda obj: defaults.apply_defaults(obj, rt.group, rt.kind, extra),
                )
            except ApplyConflict as exc:
                causes = conflict_causes(exc.conflicts)
                raise _APIError(_status(409, str(exc), "Conflict", {"causes": causes})) from None
            except (TypeError, ValueError) as exc:
                raise _APIError(_status(400, f"cannot apply: {exc}", "BadRequest")) from None
            if (rt.group, rt.kind) == ("", "Secret"):
                _fold_string_data(result)
            for hook in self.apply_hooks:
                hook(result)
            if self.apply_hooks:  # a webhook's patch is decoded with defaulting, as any body
                result = defaults.apply_defaults(result, rt.group, rt.kind, extra)
            meta = result.setdefault("metadata", {})
            if entry is not None and _same_but_time(entry.obj, result, manager):
                return 200, entry.full  # a no-op apply: nothing stored
            if entry is None:
                if rt.namespaced:
                    meta["namespace"] = namespace
                meta["creationTimestamp"] = now
                meta["uid"] = str(uuid.uuid4())
                meta.pop("resourceVersion", None)
                if "spec" in result:
                    meta["generation"] = 1
            elif "generation" in meta and _spec_changed(entry.obj, result):
                meta["generation"] = int(meta["generation"]) + 1
            code = 201 if entry is None else 200
            if dry_run:
                return code, orjson.dumps(result)
            return code, self._store(result, create_only=False).full

    def _apply_config(self, rt: ResourceType, info: _RequestInfo, body: bytes) -> dict[str, Any]:
        """The applied configuration, checked against the request as the apiserver does."""
        try:
            config = yaml.safe_load(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise _APIError(
                _status(400, f"error decoding YAML: {exc}".splitlines()[0], "BadRequest")
            ) from None
        if not isinstance(config, dict):
            raise _APIError(
                _status(400, "the applied configuration is not an object", "BadRequest")
            )
        if config.get("apiVersion") != rt.group_version or config.get("kind") != rt.kind:
            raise _APIError(
                _status(
                    400,
                    f"the API version and kind in the data ({config.get('apiVersion')}, "
                    f"{config.get('kind')}) do not match the expected ({rt.group_version}, {rt.kind})",
                    "BadRequest",
                )
            )
        meta = config.get("metadata")
        if not isinstance(meta, dict) or meta.get("name") != info.name:
            raise _APIError(
                _status(
                    400,
                    f"the name of the object ({(meta or {}).get('name') if isinstance(meta, dict) else None}) "
                    f"does not match the name on the URL ({info.name})",
                    "BadRequest",
                )
            )
        if rt.namespaced and meta.get("namespace") not in (None, info.namespace):
            raise _APIError(
                _status(
                    400,
                    "the namespace of the provided object does not match the namespace sent on the request",
                    "BadRequest",
                )
            )
        return config

    def _apply_schema(self, rt: ResourceType) -> KindSchema:
        """The kind's list types from this server's own ``/openapi/v3`` document (CRDs
        included), cached until a CRD changes."""
        crds = self.objects("apiextensions.k8s.io", "CustomResourceDefinition")
        stamp = ",".join(str(c["metadata"].get("resourceVersion")) for c in crds)
        key = (rt.group, rt.version, rt.kind, stamp)
        cached = self._apply_schemas.get(key)
        if cached is None:
            doc = openapi.document(rt.group, rt.version, crds) or {}
            types, kinds = compact_types((doc.get("components") or {}).get("schemas") or {})
            cached = Schema(SchemaData(types, kinds), bundled()).kind(rt.group_version, rt.kind)
            self._apply_schemas[key] = cached
        return cached

    # --- discovery ------------------------------------------------------------------------

    def _group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for rt in self._types:
            versions = groups.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return groups

    def _serve_discovery(self, info: _RequestInfo, accept: str) -> _Response:
        target = info.discovery_target
        allowed = ("json", "agg") if target in ("api", "apis") and self.aggregated_discovery else ()
        mode = _negotiate(accept, ("json", *allowed))
        if mode is None:
            raise _APIError(_status(406, "only application/json is served"))
        cache_key = f"{target}|{info.group}|{info.version}|{mode}"
        with self._lock:
            body = self._discovery_cache.get(cache_key)
            if body is None:
                doc = self._discovery_doc(info, mode)
                if doc is None:
                    raise _APIError(_status(404, NOT_FOUND_MESSAGE, details={}))
                body = orjson.dumps(doc)
                self._discovery_cache[cache_key] = body
        if mode.startswith("agg:"):
            version = mode.split(":")[1]
            ctype = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
            etag = hashlib.sha256(body).hexdigest()[:32].upper()
            return _Response(200, body, ctype, {"Vary": "Accept", "ETag": f'"{etag}"'})
        return _Response(200, body, headers={"Vary": "Accept"} if allowed else {})

    def _discovery_doc(self, info: _RequestInfo, mode: str) -> dict[str, Any] | None:
        groups = self._group_versions()
        target = info.discovery_target
        if mode.startswith("agg:"):
            api_version = f"apidiscovery.k8s.io/{mode.split(':')[1]}"
            names = [""] if target == "api" else [g for g in groups if g]
            items = []
            for group in names:
                meta: dict[str, Any] = {"name": group} if group else {}
                meta["creationTimestamp"] = None
                versions = []
                for version in groups.get(group, []):
                    res = sorted(
                        (rt for rt in self._types if rt.group == group and rt.version == version),
                        key=lambda r: r.plural,
                    )
                    versions.append(
                        {
                            "version": version,
                            "resources": [r.discovery_v2() for r in res],
                            "freshness": "Current",
                        }
                    )
                items.append({"metadata": meta, "versions": versions})
            return {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": api_version,
                "metadata": {},
                "items": items,
            }
        if target == "api":
            return {
                "kind": "APIVersions",
                "versions": groups.get("", []),
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
                ],
            }
        if target == "apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [_api_group(g, vs) for g, vs in groups.items() if g],
            }
        if target == "group":
            if not info.group or info.group not in groups:
                return None
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **_api_group(info.group, groups[info.group]),
            }
        if info.version not in groups.get(info.group, []):
            return None
        resources: list[dict[str, Any]] = []
        for rt in self._types:
            if rt.group == info.group and rt.version == info.version:
                resources.extend(rt.api_resources())
        resources.sort(key=lambda r: str(r["name"]))
        doc: dict[str, Any] = {"kind": "APIResourceList"}
        if info.group:
            doc["apiVersion"] = "v1"
        doc["groupVersion"] = f"{info.group}/{info.version}" if info.group else info.version
        doc["resources"] = resources
        return doc

    # --- non-resource endpoints -----------------------------------------------------------

    def _serve_other(self, path: str, query: Mapping[str, str]) -> _Response:
        stripped = path.rstrip("/") or "/"
        if stripped == "/version":
            return _Response(200, orjson.dumps(self._version_info()))
        head = stripped.split("/")[1] if stripped != "/" else ""
        if head in ("healthz", "livez", "readyz"):
            if "verbose" in query:
                text = f"[+]ping ok\n[+]log ok\n[+]etcd ok\n{head} check passed\n"
                return _Response(200, text.encode(), "text/plain; charset=utf-8")
            return _Response(200, b"ok", "text/plain; charset=utf-8")
        if self.openapi_v3 and (stripped == "/openapi/v3" or stripped.startswith("/openapi/v3/")):
            return self._serve_openapi(stripped.removeprefix("/openapi/v3").strip("/"))
        if stripped == "/":
            with self._lock:
                groups = self._group_versions()
            paths = ["/api", *(f"/api/{v}" for v in groups.get("", []))]
            paths.append("/apis")
            for group, versions in groups.items():
                if group:
                    paths.append(f"/apis/{group}")
                    paths.extend(f"/apis/{group}/{v}" for v in versions)
            paths += ["/healthz", "/livez", "/readyz", "/version"]
            return _Response(200, orjson.dumps({"paths": sorted(paths)}))
        return _status(404, NOT_FOUND_MESSAGE, details={})

    def _serve_openapi(self, path: str) -> _Response:
        with self._lock:
            groups = self._group_versions()
            resources = list(self._types)
        crds = self.objects("apiextensions.k8s.io", "CustomResourceDefinition")
        versions = [(g, v) for g, vs in groups.items() for v in vs]
        if not path:
            # Built once per set of resources and CRD versions, as the real server does.
            served = [(rt.group, rt.version, rt.plural) for rt in resources]
            key = repr((served, [c["metadata"].get("resourceVersion") for c in crds]))
            if key not in self._openapi_index:
                self._openapi_index[key] = orjson.dumps(openapi.index(versions, crds, resources))
            return _Response(200, self._openapi_index[key])
        for group, version in versions:
            if path == openapi.gv_path(group, version):
                doc = openapi.document(group, version, crds, resources)
                if doc is not None:
                    return _Response(200, orjson.dumps(doc))
        return _status(404, NOT_FOUND_MESSAGE, details={})

    def _version_info(self) -> dict[str, str]:
        text = self.server_version.lstrip("v")
        major, minor = [*text.split("."), "0", "0"][:2]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{text}",
            "gitCommit": hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest(),
            "gitTreeState": "clean",
            "buildDate": "2025-04-22T16:00:00Z",
            "goVersion": "go1.23.6",
            "compiler": "gc",
            "platform": "linux/amd64",
        }


# ---------------------------------------------------------------------------------------
# helpers


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_but_time(live: Mapping[str, Any], result: Mapping[str, Any], manager: str) -> bool:
    """An apply that changes nothing but its own entry's time is a no-op: the apiserver
    stores nothing and answers the live object."""

    def timeless(obj: Mapping[str, Any]) -> Any:
        meta = dict(obj.get("metadata") or {})
        meta["managedFields"] = [
            {k: v for k, v in e.items() if k != "time"}
            if e.get("manager") == manager and e.get("operation") == "Apply"
            else e
            for e in meta.get("managedFields") or []
        ]
        return {**obj, "metadata": meta}

    return bool(timeless(live) == timeless(result))


def _fold_string_data(secret: dict[str, Any]) -> None:
    """A Secret's write-only ``stringData`` goes into ``data``, base64-encoded, over the
    same keys (core/v1 conversion ``Convert_v1_Secret_To_core_Secret``)."""
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = dict(secret.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def _spec_changed(live: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
    """metadata.generation counts changes outside metadata and status."""
    skip = ("metadata", "status")
    return {k: v for k, v in live.items() if k not in skip} != {
        k: v for k, v in result.items() if k not in skip
    }


def _is_crd(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "CustomResourceDefinition" and str(
        obj.get("apiVersion", "")
    ).startswith("apiextensions.k8s.io/")


def _api_group(group: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": dict(entries[0])}


def _matches(
    entry: _Entry,
    label_reqs: list[LabelRequirement],
    field_reqs: list[tuple[FieldRequirement, FieldGetter]],
) -> bool:
    for lreq in label_reqs:
        if not lreq.matches(entry.labels):
            return False
    return all(freq.matches(getter(entry.obj)) for freq, getter in field_reqs)


def _partial(entry: _Entry, mode: str) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{mode.split(':')[1]}",
        "metadata": entry.obj.get("metadata", {}),
    }


def _scale(obj: Mapping[str, Any]) -> bytes:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or spec.get("selector") or {}
    scale_meta = {
        k: meta[k]
        for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if k in meta
    }
    doc = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(
                f"{k}={v}" for k, v in sorted(selector.items()) if isinstance(v, str)
            ),
        },
    }
    return orjson.dumps(doc)


def write_kubeconfig(
    path: str | Path,
    server_url: str,
    *,
    context: str = "test",
    namespace: str | None = None,
    token: str = DEFAULT_TOKEN,
) -> Path:
    """Write a kubeconfig with one cluster/user/context (plain http, bearer token)."""
    ctx: dict[str, Any] = {"cluster": context, "user": context}
    if namespace:
        ctx["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server_url}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
        "preferences": {},
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def load_objects(path: str | Path) -> list[dict[str, Any]]:
    """Read objects from a JSON list, a JSON ``{"items": [...]}`` (a ``kubectl get -o
    json`` dump), a single JSON object, or multi-document YAML."""
    text = Path(path).read_bytes()
    try:
        docs: list[Any] = [orjson.loads(text)]
    except orjson.JSONDecodeError:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        docs = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    out: list[dict[str, Any]] = []
    for doc in docs:
        out.extend(_expand(doc))
    return out


def _expand(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return [o for d in doc for o in _expand(d)]
    if not isinstance(doc, dict):
        raise ValueError(f"expected an object or a list of objects, got {type(doc).__name__}")
    if "items" in doc and isinstance(doc["items"], list):
        list_kind = str(doc.get("kind", ""))
        api_version = doc.get("apiVersion")
        items: list[dict[str, Any]] = []
        for item in doc["items"]:
            if list_kind.endswith("List") and list_kind != "List" and "kind" not in item:
                item = {"apiVersion": api_version, "kind": list_kind[:-4], **item}
            items.append(item)
        return items
    return [doc]
