"""Write report changes into an object: the desired object as live has it.

Used to show drift as a YAML diff of only the drifted fields, and by actions that adopt
live values into Git.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from driftwatch.engine.paths import ItemKey, Path, parse_path
from driftwatch.report import Change, Op


def apply_changes(obj: dict[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A copy of ``obj`` with each change's live value at its path (``removed`` deletes)."""
    out = copy.deepcopy(obj)
    for change in changes:
        path = parse_path(change.path)
        if change.op is Op.REMOVED:
            _delete(out, path)
        else:
            _set(out, path, copy.deepcopy(change.live))
    return out


def _child(node: Any, seg: Any) -> tuple[Any, Any]:
    """(container, index-or-key) of ``seg`` in ``node``; index None when absent."""
    if isinstance(seg, ItemKey) and isinstance(node, list):
        return node, next((i for i, item in enumerate(node) if seg.matches(item)), None)
    if isinstance(seg, int) and isinstance(node, list):
        return node, seg if seg < len(node) else None
    if isinstance(seg, str) and isinstance(node, dict):
        return node, seg if seg in node else None
    return node, None


def _set(root: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = root
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        container, at = _child(node, seg)
        if at is None:
            fresh: Any = value if last else ([] if isinstance(path[i + 1], ItemKey | int) else {})
            if isinstance(seg, ItemKey) and not last:
                fresh = dict(seg.fields)
            if isinstance(container, list):
                container.append(fresh)
                at = len(container) - 1
            elif isinstance(container, dict) and isinstance(seg, str):
                container[seg] = fresh
                at = seg
            else:
                return  # the shape differs from the path: nothing sensible to write
        elif last:
            container[at] = value
        node = container[at]


def _delete(root: dict[str, Any], path: Path) -> None:
    node: Any = root
    for i, seg in enumerate(path):
        container, at = _child(node, seg)
        if at is None:
            return
        if i == len(path) - 1:
            del container[at]
            return
        node = container[at]
