"""Turn selected findings of a report into file edits (pure: texts in, texts out).

Actions in this increment:

* ``adopt`` — write the live value of changed scalar fields into the desired file;
* ``remove`` — delete a missing object's document (and the file when it empties).

Every edit first checks that the file still says what the audit saw; otherwise the
whole plan is refused and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from driftwatch.engine.paths import ItemKey, parse_path
from driftwatch.providers.kubernetes.schema import item_key
from driftwatch.reconcile.textedit import EditError, remove_document, replace_scalar
from driftwatch.report import AuditReport, Change, Op, Resource, Status
from driftwatch.yamldoc import parse_documents

ACTIONS = ("adopt", "remove")


class ReconcileError(ValueError):
    """A selection that cannot be turned into a safe edit; nothing is written."""


@dataclass
class Plan:
    action: str
    files: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # path → (before, after)
    done: list[str] = field(default_factory=list)  # one line per action, for the commit message
    findings: list[str] = field(default_factory=list)  # ids, for the trailers


def select(report: AuditReport, selection: list[str]) -> list[tuple[Resource, list[Change]]]:
    """Resources and changes named by ``id`` or ``id#change.path``; unknown ids are refused."""
    by_id = {r.id: r for r in report.resources}
    chosen: dict[str, tuple[Resource, list[Change]]] = {}
    for item in selection:
        rid, _, path = item.partition("#")
        resource = by_id.get(rid)
        if resource is None:
            raise ReconcileError(f"selection {item!r}: no such resource in the report")
        changes = resource.changes if not path else [c for c in resource.changes if c.path == path]
        if path and not changes:
            raise ReconcileError(f"selection {item!r}: the resource has no change at {path}")
        _, already = chosen.setdefault(rid, (resource, []))
        already.extend(c for c in changes if c not in already)
    return list(chosen.values())


def plan(
    report: AuditReport, action: str, selection: list[str], read: Callable[[str], str | None]
) -> Plan:
    """The edits ``action`` makes for the selection; ``read(path)`` gives a file's text at
    the audited commit (None when absent)."""
    if action not in ACTIONS:
        raise ReconcileError(
            f"unknown action {action!r} (this version supports: {', '.join(ACTIONS)})"
        )
    result = Plan(action)
    for resource, changes in select(report, selection):
        if resource.source is None:
            raise ReconcileError(f"{resource.id}: not declared in Git, nothing to {action}")
        path = resource.source.path
        if path not in result.files:
            text = read(path)
            if text is None:
                raise ReconcileError(f"{resource.id}: {path} is not in the audited commit")
            result.files[path] = (text, text)
        before, current = result.files[path]
        if current is None:
            raise ReconcileError(f"{resource.id}: {path} is already removed by this plan")
        try:
            if action == "adopt":
                current = _adopt(resource, changes, current)
                result.done.append(
                    f"adopt {len(changes)} live value(s) of {_name(resource)} into {path}"
                )
            else:
                current = _remove(resource, current) or None
                result.done.append(
                    f"remove {_name(resource)} from {path}" + ("" if current else " (file deleted)")
                )
        except EditError as exc:
            raise ReconcileError(f"{resource.id}: {exc}") from exc
        result.files[path] = (before, current)
        result.findings.append(resource.id)
    return result


def _name(resource: Resource) -> str:
    where = f"{resource.namespace}/" if resource.namespace else ""
    return f"{resource.kind} {where}{resource.name}"


def _document(resource: Resource, text: str) -> dict[str, Any]:
    assert resource.source is not None
    docs = parse_documents(text)
    index = resource.source.document
    data = docs[index].data if index < len(docs) else None
    meta = data.get("metadata") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or not isinstance(meta, dict)
        or data.get("kind") != resource.kind
        or meta.get("name") != resource.name
    ):
        raise ReconcileError(
            f"{resource.id}: document {index} of {resource.source.path} is no longer this object (stale report?)"
        )
    return data


def _concrete(data: Any, change: Change) -> list[str | int]:
    """The change's keyed path as keys and indices in the file's document."""
    out: list[str | int] = []
    node = data
    for seg in parse_path(change.path):
        if isinstance(seg, ItemKey):
            keys = tuple(k for k, _ in seg.fields)
            items = node if isinstance(node, list) else []
            index = next(
                (
                    i
                    for i, item in enumerate(items)
                    if isinstance(item, dict) and item_key(item, keys) == seg
                ),
                None,
            )
            if index is None:
                raise EditError(f"{change.path}: no list item [{seg}] in the file")
            out.append(index)
            node = items[index]
        elif (isinstance(node, dict) and isinstance(seg, str) and seg in node) or (
            isinstance(node, list) and isinstance(seg, int) and seg < len(node)
        ):
            out.append(seg)
            node = node[seg]  # type: ignore[index]  # a str for maps, an int for lists
        else:
            raise EditError(f"{change.path} is not in the file")
    return out


def _adopt(resource: Resource, changes: list[Change], text: str) -> str:
    if resource.status not in (Status.MODIFIED, Status.IGNORED):
        raise ReconcileError(
            f"{resource.id}: is {resource.status.value}; adopt needs changed fields"
        )
    for change in changes:
        if change.op is not Op.CHANGED:
            raise ReconcileError(
                f"{resource.id}: {change.path} was {change.op.value} live; this version adopts changed values only"
            )
        if isinstance(change.live, str) and change.live.startswith("<secret hmac:"):
            raise ReconcileError(
                f"{resource.id}: {change.path} is a secret; driftwatch never sees its value"
            )
        if isinstance(change.live, dict | list):
            raise ReconcileError(
                f"{resource.id}: {change.path} is a map or list; this version adopts scalars only"
            )
        data = _document(resource, text)
        path = _concrete(data, change)
        node: Any = data
        for seg in path:
            node = node[seg]
        if node != change.desired:
            raise ReconcileError(
                f"{resource.id}: {change.path} is {node!r} in the file, not the audited {change.desired!r}"
                " (stale report, or the value is set elsewhere, e.g. a kustomize overlay)"
            )
        assert resource.source is not None
        text = replace_scalar(text, resource.source.document, path, change.live)
    return text


def _remove(resource: Resource, text: str) -> str:
    if resource.status is not Status.MISSING:
        raise ReconcileError(
            f"{resource.id}: is {resource.status.value}; remove is for missing objects"
        )
    _document(resource, text)
    assert resource.source is not None
    return remove_document(text, resource.source.document)
