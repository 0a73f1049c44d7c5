"""Kubernetes normalization: the named noise sources every peer trips on.

Each function handles one source of false drift, so a reader can check the list:

* :func:`strip_noise` — status, server-owned metadata, the last-applied annotation and
  the tracking labels GitOps appliers inject;
* :func:`mask_secrets` — Secret ``stringData`` folded into ``data`` and every value
  replaced by a keyed hash, before anything is compared or shown;
* :func:`scalars_equal` — quantities (``1000m`` = ``1``) and int-or-string fields;
* :class:`Ownership` — who wrote each live field, from ``metadata.managedFields``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from driftwatch.engine.paths import ItemKey, Path
from driftwatch.providers.kubernetes.schema import (
    ManagedEntry,
    item_key,
    list_keys,
    managed_entries,
)

SERVER_METADATA = (
    "managedFields",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "namespace",
    "name",
)

# Written by the applier itself to track what it applied; never part of the desired state.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
APPLIER_ANNOTATIONS = (
    LAST_APPLIED,
    "argocd.argoproj.io/tracking-id",
)
APPLIER_LABELS = (
    "kustomize.toolkit.fluxcd.io/name",
    "kustomize.toolkit.fluxcd.io/namespace",
    "helm.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/namespace",
)

# Fields of type IntOrString: 8080 and "8080" are the same value.
INT_OR_STRING_FIELDS = frozenset(
    {"port", "targetPort", "maxSurge", "maxUnavailable", "minAvailable", "containerPort"}
)
# Maps whose values are resource.Quantity.
QUANTITY_PARENTS = frozenset(
    {"limits", "requests", "hard", "capacity", "allocatable", "storage", "sizeLimit", "overhead"}
)


def strip_noise(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` without the fields that are never drift."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
    meta = dict(out.get("metadata") or {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    for field, noise in (("annotations", APPLIER_ANNOTATIONS), ("labels", APPLIER_LABELS)):
        if isinstance(meta.get(field), dict):
            kept = {k: v for k, v in meta[field].items() if k not in noise}
            if kept:
                meta[field] = kept
            else:
                meta.pop(field)
    if meta:
        out["metadata"] = meta
    else:
        out.pop("metadata", None)
    return out


class SecretMasker:
    """Keyed hashes of secret values: equal values compare equal, nothing is revealed."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def mask(self, raw: bytes) -> str:
        digest = hmac.new(self._key, raw, hashlib.sha256).hexdigest()[:16]
        return f"<secret hmac:{digest}>"


def mask_secrets(obj: dict[str, Any], kind: str, masker: SecretMasker) -> dict[str, Any]:
    """Fold ``stringData`` into ``data`` and mask every value (for Secrets; others as is)."""
    if kind != "Secret":
        return obj
    out = copy.copy(obj)
    data: dict[str, str] = {}
    for key, value in _secret_map(obj.get("data")).items():
        try:
            raw = base64.b64decode(str(value), validate=False)
        except (binascii.Error, ValueError):
            raw = str(value).encode()
        data[key] = masker.mask(raw)
    for key, value in _secret_map(obj.get("stringData")).items():
        data[key] = masker.mask(str(value).encode())
    out.pop("stringData", None)
    if data or "data" in obj:
        out["data"] = data
    return out


def _secret_map(value: Any) -> dict[str, Any]:
    """A Secret's ``data``/``stringData``; anything but a map (no apiserver stores one)
    becomes a single entry holding all of it, so it is masked too, never shown."""
    if value is None or isinstance(value, dict):
        return value or {}
    return {"": json.dumps(value, sort_keys=True, default=str)}


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return Decimal(parse_quantity(value))  # type: ignore[no-untyped-call]
    except (ValueError, InvalidOperation, TypeError):
        return None


def scalars_equal(path: Path, desired: Any, live: Any) -> bool:
    if desired == live:
        return True
    field = path[-1] if path else None
    if isinstance(field, str) and field in INT_OR_STRING_FIELDS:
        ok = (str, int)
        if isinstance(desired, ok) and isinstance(live, ok) and not isinstance(desired, bool):
            return str(desired) == str(live)
    if any(isinstance(seg, str) and seg in QUANTITY_PARENTS for seg in path[-2:]):
        wanted = _quantity(desired)
        return wanted is not None and wanted == _quantity(live)
    return False


class Ownership:
    """Who wrote each live field, from ``metadata.managedFields``.

    Queries walk each entry's FieldsV1 tree along the path, so nothing is decoded
    beyond the fields a change touches.
    """

    def __init__(self, live: dict[str, Any]) -> None:
        self._entries = managed_entries(live)

    def writer(
        self, path: Path, include_descendants: bool, manual: list[str]
    ) -> ManagedEntry | None:
        """The manager that last wrote ``path`` (or, for an added subtree, anything in it)."""
        candidates: list[ManagedEntry] = []
        atomic: list[ManagedEntry] = []
        for entry in self._entries:
            node, depth = entry.reach(path)
            if depth == len(path):
                if include_descendants or not node or "." in node:
                    candidates.append(entry)
            elif depth > 0 and not node:
                atomic.append(entry)  # an ancestor owned as a whole (an atomic field)
        candidates = candidates or atomic
        if not candidates:
            return None

        def rank(entry: ManagedEntry) -> tuple[str, bool]:
            return entry.time, any(fnmatchcase(entry.manager, m) for m in manual)

        return max(candidates, key=rank)


def last_applied(live: dict[str, Any]) -> dict[str, Any] | None:
    """What client-side apply last sent, from its annotation (None when absent or broken)."""
    raw = (live.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def path_exists(obj: Any, path: Path) -> bool:
    """Whether ``path`` exists in ``obj``, matching list items by merge key with defaults."""
    node = obj
    for seg in path:
        if isinstance(seg, ItemKey):
            keys = tuple(k for k, _ in seg.fields)
            found = (
                [i for i in node if isinstance(i, dict) and item_key(i, keys) == seg]
                if isinstance(node, list)
                else []
            )
            if not found:
                return False
            node = found[0]
        elif isinstance(seg, int):
            if not isinstance(node, list) or seg >= len(node):
                return False
            node = node[seg]
        else:
            if not isinstance(node, dict) or seg not in node:
                return False
            node = node[seg]
    return True


_FIELD_TOKENS = ("f:", "k:", "v:", "i:")


def owned_form(obj: dict[str, Any], skip_managers: list[str]) -> dict[str, Any] | None:
    """``obj`` cut down to the fields some client set, from ``metadata.managedFields``:
    what a person or pipeline wrote, without server defaults or status.  Entries of the
    ``status`` subresource and of ``skip_managers`` (controllers) do not count.  None when
    the object has no managedFields to go by."""
    entries = [
        e
        for e in managed_entries(obj)
        if e.subresource != "status" and not any(fnmatchcase(e.manager, m) for m in skip_managers)
    ]
    if not entries:
        return None

    def walk(value: Any, path: Path) -> Any:
        reached = [node for node, depth in (e.reach(path) for e in entries) if depth == len(path)]
        if not reached:
            return _DROPPED
        if any(not any(t.startswith(_FIELD_TOKENS) for t in node) for node in reached):
            return value  # owned as a whole: a scalar, or an atomic map or list
        if isinstance(value, dict):
            kept = {k: walk(v, (*path, k)) for k, v in value.items()}
            return {k: v for k, v in kept.items() if v is not _DROPPED}
        if isinstance(value, list):
            keys = list_keys(path[-1] if path else None, value)
            out = []
            for i, item in enumerate(value):
                if keys and isinstance(item, dict):
                    seg: Any = item_key(item, keys)
                elif not isinstance(item, dict | list):
                    seg = ItemKey((("$value", item),))
                else:
                    seg = i
                kept_item = walk(item, (*path, seg))
                if kept_item is not _DROPPED:
                    out.append(kept_item)
            return out
        return value

    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    owned = walk(body, ())
    meta = obj.get("metadata") or {}
    kept_meta = walk({k: meta[k] for k in ("labels", "annotations") if k in meta}, ("metadata",))
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {
            **{k: meta[k] for k in ("name", "namespace") if k in meta},
            **strip_noise({"metadata": kept_meta if kept_meta is not _DROPPED else {}}).get(
                "metadata", {}
            ),
        },
        **(owned if owned is not _DROPPED else {}),
    }


_DROPPED = object()
