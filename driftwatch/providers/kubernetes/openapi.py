"""The target's own schema, from ``/openapi/v3`` (the I/O edge of :mod:`schema`).

Only the group-versions of the kinds being audited are fetched.  Each document's URL
carries the server's content hash (``?hash=``), which changes with the server version
and whenever a CRD changes, so documents are cached in memory by URL for rescans in
the same process.  A server without ``/openapi/v3`` (before 1.27), or one that answers
garbage, leaves the bundled schema in charge; that is never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from threading import Lock
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from driftwatch.providers.kubernetes.live import BadResponse, GaveUp, _get
from driftwatch.providers.kubernetes.schema import SchemaData, compact_types

_documents: dict[tuple[str, str], SchemaData] = {}  # (server, serverRelativeURL) → types
_lock = Lock()
MAX_CACHED = 256


def gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def read_schema(
    api: client.ApiClient, server: str | None, group_versions: Iterable[tuple[str, str]]
) -> dict[str, Any] | None:
    """The compact schema of ``group_versions`` as the target serves it, or None."""
    try:
        index = _get(api, "/openapi/v3")
    except (ApiException, BadResponse, GaveUp, OSError):
        return None
    paths = index.get("paths") if isinstance(index, dict) else None
    if not isinstance(paths, dict):
        return None
    types: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for group, version in sorted(set(group_versions)):
        entry = paths.get(gv_path(group, version))
        url = entry.get("serverRelativeURL") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith("/openapi/v3/"):
            continue
        data = _document(api, server or "", url)
        if data is not None:
            types.update(data.types)
            kinds.update(data.kinds)
    if not kinds:
        return None
    return SchemaData(types, kinds, f"/openapi/v3 of {server or 'the target'}").to_json()


def _document(api: client.ApiClient, server: str, url: str) -> SchemaData | None:
    with _lock:
        known = _documents.get((server, url))
    if known is not None:
        return known
    parts = urlsplit(url)
    try:
        doc = _get(api, parts.path, parse_qsl(parts.query))
    except (ApiException, BadResponse, GaveUp, OSError):
        return None
    schemas = (doc.get("components") or {}).get("schemas") if isinstance(doc, dict) else None
    if not isinstance(schemas, dict):
        return None
    try:
        types, kinds = compact_types(schemas)
    except (RecursionError, TypeError, ValueError, AttributeError):
        return None  # a schema no apiserver writes (nested without end, wrong types)
    data = SchemaData(types, kinds)
    with _lock:
        if len(_documents) >= MAX_CACHED:
            _documents.clear()
        _documents[(server, url)] = data
    return data
