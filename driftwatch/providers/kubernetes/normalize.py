"""Kubernetes normalization: the named noise sources every peer trips on.

Each function handles one source of false drift, so a reader can check the list:

* :func:`strip_noise` — status, server-owned metadata, the last-applied annotation and
  the tracking labels GitOps appliers inject;
* :func:`mask_secrets` — Secret ``stringData`` folded into ``data`` and every value
  (also in the last-applied annotation) replaced by a keyed hash, before anything is
  compared, shown, recorded or given to a policy; :func:`scrub` takes clear values out
  of policy messages;
* :func:`scalars_equal_in` — quantities (``1000m`` = ``1``) and int-or-string fields,
  by the field's type in the schema;
* :class:`Ownership` — who wrote each live field, from ``metadata.managedFields``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from driftwatch.engine.diff import SET_KEYS
from driftwatch.engine.paths import ItemKey, Path
from driftwatch.providers.kubernetes.schema import (
    KindSchema,
    ManagedEntry,
    item_key,
    item_segment,
    kind_of,
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
    # Kept when empty: a live object whose only labels Git declares are gone must report
    # `metadata.labels`, not the whole `metadata` (name and namespace are stripped above).
    out["metadata"] = meta
    return out


MASKED = re.compile(r"<secret hmac:[0-9a-f]{16}>")


class SecretMasker:
    """Keyed hashes of secret values: equal values compare equal, nothing is revealed."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @property
    def fingerprint(self) -> str:
        """Names the key (for cache salts) without revealing it."""
        return hashlib.sha256(b"driftwatch hash key fingerprint\0" + self._key).hexdigest()

    def mask(self, raw: bytes) -> str:
        digest = hmac.new(self._key, raw, hashlib.sha256).hexdigest()[:16]
        return f"<secret hmac:{digest}>"

    def mask_text(self, value: str) -> str:
        """A value as text: masked, unless it already is (a masked snapshot read back)."""
        return value if MASKED.fullmatch(value) else self.mask(value.encode())


def scrub(text: str, clear: Mapping[str, str]) -> str:
    """``text`` with every clear secret value of ``clear`` replaced by its mask (longest
    first, so a value inside another does not leave a part of the longer one)."""
    found = [value for value in clear if value and value in text]  # usually none: no sort
    for value in sorted(found, key=len, reverse=True):
        text = text.replace(value, clear[value])
    return text


def _values(obj: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A Secret's ``data`` or ``stringData`` map; anything else there (a hostile or broken
    document) is a single value, so it is masked rather than passed on."""
    value = obj.get(field)
    if isinstance(value, dict):
        return value
    return {} if value is None else {"": value}


def _text(value: Any) -> str:
    """A Secret value as text.  The API stores values as bytes: ``null`` and ``""`` are
    the same empty value (a nil and an empty ``[]byte`` both serialize so), while an
    absent key is another thing — the key is not in the Secret at all."""
    return "" if value is None else str(value)


def _secret_bytes(value: Any) -> bytes:
    """A ``data`` value's bytes: base64-decoded, or as written when it is not base64."""
    try:
        return base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):
        return str(value).encode()


def mask_secrets(obj: dict[str, Any], kind: str, masker: SecretMasker) -> dict[str, Any]:
    """Fold ``stringData`` into ``data`` and mask every value, also inside the
    last-applied annotation (for Secrets; others as is).  Values already masked stay."""
    if kind != "Secret":
        return obj
    out = copy.copy(obj)
    data: dict[str, str] = {}
    for key, value in _values(obj, "data").items():
        text = _text(value)  # masked already, or base64 of the value
        data[key] = text if MASKED.fullmatch(text) else masker.mask(_secret_bytes(text))
    for key, value in _values(obj, "stringData").items():
        data[key] = masker.mask_text(_text(value))
    out.pop("stringData", None)
    if data or "data" in obj:
        out["data"] = data
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(meta, dict) and isinstance(annotations, dict) and LAST_APPLIED in annotations:
        kept = dict(annotations)
        applied = _json_object(kept.pop(LAST_APPLIED))
        if applied is not None:  # unreadable: dropped, it may hold values anywhere
            masked = mask_secrets(applied, "Secret", masker)
            kept[LAST_APPLIED] = json.dumps(masked, separators=(",", ":"), sort_keys=True)
        out["metadata"] = {**meta, "annotations": kept}
    return out


def secret_values(obj: Mapping[str, Any], kind: str, masker: SecretMasker) -> dict[str, str]:
    """Every clear form of a Secret's values (as written and decoded, also those of its
    last-applied annotation) → its mask: what :func:`scrub` takes out of messages."""
    if kind != "Secret":
        return {}
    out: dict[str, str] = {}

    def add(raw: bytes, written: str) -> None:
        mask = masker.mask(raw)
        out[base64.b64encode(raw).decode()] = out[written] = mask
        with contextlib.suppress(UnicodeDecodeError):
            out[raw.decode()] = mask

    for value in _values(obj, "data").values():
        if not MASKED.fullmatch(_text(value)):
            add(_secret_bytes(_text(value)), _text(value))
    for value in _values(obj, "stringData").values():
        if not MASKED.fullmatch(_text(value)):
            add(_text(value).encode(), _text(value))
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    applied = _json_object(annotations.get(LAST_APPLIED)) if isinstance(annotations, dict) else None
    if applied is not None:
        out.update(secret_values(applied, "Secret", masker))
    return out


def _json_object(raw: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return Decimal(parse_quantity(value))  # type: ignore[no-untyped-call]
    except (ValueError, InvalidOperation, TypeError):
        return None


def scalars_equal_in(kind: KindSchema) -> Callable[[Path, Any, Any], bool]:
    """When two scalars of ``kind`` are the same value, by the field's type in the schema:
    a ``resource.Quantity`` (``1000m`` = ``1``, ``1024Mi`` = ``1Gi``) or an
    ``intstr.IntOrString`` (``8080`` = ``"8080"``), as the apiserver decodes them into Go
    types.  Anything else, and custom resources (stored as sent), must be equal."""

    def equal(path: Path, desired: Any, live: Any) -> bool:
        if desired == live:
            return True
        scalar = kind.scalar(path)
        if scalar == "int-or-string":
            ok = (str, int)
            if isinstance(desired, ok) and isinstance(live, ok) and not isinstance(desired, bool):
                return str(desired) == str(live)
        if scalar == "quantity":
            wanted = _quantity(desired)
            return wanted is not None and wanted == _quantity(live)
        return False

    return equal


class Ownership:
    """Who wrote each live field, from ``metadata.managedFields``.

    Queries walk each entry's FieldsV1 tree along the path, so nothing is decoded
    beyond the fields a change touches.
    """

    def __init__(self, live: dict[str, Any]) -> None:
        self.entries = managed_entries(live)

    def writer(
        self, path: Path, include_descendants: bool, manual: list[str]
    ) -> ManagedEntry | None:
        """The manager that last wrote ``path`` (or, for an added subtree, anything in it)."""
        candidates: list[ManagedEntry] = []
        atomic: list[ManagedEntry] = []
        for entry in self.entries:
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
    return _json_object((live.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED))


def path_exists(obj: Any, path: Path) -> bool:
    """Whether ``path`` exists in ``obj``, matching list items by merge key with defaults."""
    node = obj
    for seg in path:
        if isinstance(seg, ItemKey):
            keys = tuple(k for k, _ in seg.fields)
            items = node if isinstance(node, list) else []
            if keys == SET_KEYS:
                found = [
                    i for i in items if not isinstance(i, dict | list) and i == seg.fields[0][1]
                ]
            else:
                found = [i for i in items if isinstance(i, dict) and item_key(i, keys) == seg]
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


def owned_form(
    obj: dict[str, Any], skip_managers: list[str], kind: KindSchema | None = None
) -> dict[str, Any] | None:
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
    schema = kind if kind is not None else kind_of(obj)

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
            keys = schema.list_keys(path, value)
            out = []
            for i, item in enumerate(value):
                kept_item = walk(item, (*path, item_segment(item, keys, i)))
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
