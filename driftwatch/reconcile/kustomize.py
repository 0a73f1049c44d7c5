"""Where a live value goes when the object was rendered by kustomize.

A field is written to the file that defines it: a strategic-merge patch of the overlay
that sets it, or the object's own file when that file belongs to the overlay alone.  When
the object comes from a base other overlays share (editing it would change them too) or
no file sets the field, the value goes into a patch driftwatch adds to the overlay.
Pure functions of texts; ``read(path)`` gives a file as the plan has it so far.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import Any

from driftwatch.engine.diff import SET_KEYS
from driftwatch.engine.paths import ItemKey, Path, Segment
from driftwatch.providers.kubernetes.manifests import KUSTOMIZATION_FILES
from driftwatch.providers.kubernetes.schema import KindSchema, item_key, kind_of
from driftwatch.yamldoc import YamlError, parse_documents

Read = Callable[[str], str | None]


def kustomization(overlay: str, read: Read) -> tuple[str, dict[str, Any]] | None:
    """The overlay's kustomization file and its content."""
    for name in KUSTOMIZATION_FILES:
        path = posixpath.join(overlay, name) if overlay not in ("", ".") else name
        text = read(path)
        if text is not None:
            try:
                docs = parse_documents(text)
            except YamlError:
                return path, {}  # no patches to read; editing it is refused later
            data = docs[0].data if docs else None
            return path, data if isinstance(data, dict) else {}
    return None


def patch_files(overlay: str, read: Read) -> list[str]:
    """The overlay's strategic-merge patch files (JSON 6902 patches with a ``target`` are
    not edited: their paths are not the object's)."""
    found = kustomization(overlay, read)
    if found is None:
        return []
    _, spec = found
    paths: list[str] = []
    for entry in spec.get("patches") or []:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str) and "target" not in entry:
            paths.append(entry["path"])
    paths += [p for p in spec.get("patchesStrategicMerge") or [] if isinstance(p, str)]
    return [posixpath.normpath(posixpath.join(overlay, p)) for p in paths]


def find_document(text: str, kind: str, name: str) -> tuple[int, dict[str, Any]] | None:
    """The document for ``kind`` whose name the rendered ``name`` ends with (overlays add
    prefixes and suffixes)."""
    try:
        docs = parse_documents(text)
    except YamlError:
        return None
    best: tuple[int, dict[str, Any]] | None = None
    for doc in docs:
        data = doc.data if isinstance(doc.data, dict) else {}
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        own = str((meta or {}).get("name", ""))
        longer = best is None or len(own) > len(best[1]["metadata"]["name"])
        if data.get("kind") == kind and own and own in name and longer:
            best = doc.index, data
    return best


def inside(path: str, directory: str) -> bool:
    return directory in ("", ".") or path.startswith(directory.rstrip("/") + "/")


def fragment(segments: Sequence[Segment], value: Any, delete: bool) -> dict[str, Any]:
    """A strategic-merge patch that sets (or, with ``delete``, removes) one field."""
    if not segments or not isinstance(segments[0], str):
        raise ValueError("the path does not start at a field")
    head, rest = segments[0], segments[1:]
    if not rest:
        return {head: None if delete else value}
    nxt = rest[0]
    if isinstance(nxt, ItemKey):
        item: dict[str, Any] = dict(nxt.fields)
        if len(rest) == 1:
            item = {**item, "$patch": "delete"} if delete else {**(value or {}), **item}
        else:
            item.update(fragment(rest[1:], value, delete))
        return {head: [item]}
    if isinstance(nxt, int):
        raise ValueError("list items without a merge key cannot be patched")
    return {head: fragment(rest, value, delete)}


def merge(
    a: dict[str, Any], b: dict[str, Any], kind: KindSchema | None = None, path: Path = ()
) -> dict[str, Any]:
    """Two strategic-merge patches as one; items of map lists (by the kind's schema, from
    ``a``'s apiVersion and kind) with the same keys merge."""
    kind = kind if kind is not None else kind_of(a)
    out = dict(a)
    for key, value in b.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge(old, value, kind, (*path, key))
            continue
        keys = (
            kind.list_keys((*path, key), [*old, *value])
            if isinstance(old, list) and isinstance(value, list)
            else None
        )
        if not keys or keys == SET_KEYS or not isinstance(old, list):
            out[key] = value
            continue
        items = list(old)
        for new in value:
            at = next(
                (i for i, o in enumerate(items) if item_key(o, keys) == item_key(new, keys)), None
            )
            if at is None:
                items.append(new)
            else:
                items[at] = merge(items[at], new, kind, (*path, key, item_key(new, keys)))
        out[key] = items
    return out
