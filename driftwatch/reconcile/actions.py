"""Turn selected findings of a report into file edits (pure: texts in, texts out).

Actions in this increment:

* ``adopt`` — write the live value of changed scalar fields into the desired file;
* ``remove`` — delete a missing object's document (and the file when it empties);
* ``ignore`` — add an ignore rule with a reason to ``driftwatch.yaml``, scoped to the
  resource and the changed paths;
* ``waive`` — add a policy Exception (owner, reason, expiry) for selected violations.

Every edit first checks that the file still says what the audit saw; otherwise the
whole plan is refused and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from driftwatch.engine.paths import ItemKey, parse_path, to_jq
from driftwatch.policy.model import API_VERSION
from driftwatch.providers.kubernetes.schema import item_key
from driftwatch.reconcile.textedit import (
    EditError,
    append_to_list,
    delete_at,
    remove_document,
    set_value,
)
from driftwatch.report import AuditReport, Change, Op, Resource, Status
from driftwatch.yamldoc import parse_documents

ACTIONS = ("adopt", "remove", "ignore", "waive")
CONFIG_PATH = "driftwatch.yaml"
EXCEPTIONS_DIR = "exceptions"


@dataclass(frozen=True)
class Details:
    """What ``ignore`` and ``waive`` record besides the finding."""

    reason: str = ""
    owner: str = ""
    ticket: str = ""
    expires: date | None = None


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
    report: AuditReport,
    action: str,
    selection: list[str],
    read: Callable[[str], str | None],
    details: Details | None = None,
) -> Plan:
    """The edits ``action`` makes for the selection; ``read(path)`` gives a file's text at
    the audited commit (None when absent)."""
    if action not in ACTIONS:
        raise ReconcileError(
            f"unknown action {action!r} (this version supports: {', '.join(ACTIONS)})"
        )
    details = details or Details()
    if action in ("ignore", "waive") and not details.reason.strip():
        raise ReconcileError(f"{action} needs a reason (--reason)")
    if action == "ignore":
        return _ignore(report, selection, read, details)
    if action == "waive":
        return _waive(report, selection, read, details)
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


def _concrete(data: Any, change: Change) -> tuple[list[str | int], Any]:
    """The change's keyed path as keys and indices in the file's document, and the value
    there (``_ABSENT`` when the tail is missing; a missing keyed item at the end becomes
    the index that appends it)."""
    out: list[str | int] = []
    node = data
    segments = parse_path(change.path)
    for depth, seg in enumerate(segments):
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
                if depth == len(segments) - 1 and isinstance(node, list):
                    return [*out, len(node)], _ABSENT
                raise EditError(f"{change.path}: no list item [{seg}] in the file")
            out.append(index)
            node = items[index]
        elif isinstance(node, dict) and isinstance(seg, str):
            out.append(seg)
            if seg not in node:
                rest = segments[depth + 1 :]
                if any(not isinstance(r, str) for r in rest):
                    raise EditError(f"{change.path}: {seg} is not in the file")
                return [*out, *(str(r) for r in rest)], _ABSENT
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and seg < len(node):
            out.append(seg)
            node = node[seg]
        else:
            raise EditError(f"{change.path} is not in the file")
    return out, node


_ABSENT = object()


def _same(file_value: Any, audited: Any) -> bool:
    """Whether the file still says what the audit saw (quantities and int-or-strings are
    compared as the text they are written as)."""
    if file_value == audited:
        return True
    scalars = (str, int, float, bool)
    return (
        isinstance(file_value, scalars)
        and isinstance(audited, scalars)
        and str(file_value) == str(audited)
    )


def _adopt(resource: Resource, changes: list[Change], text: str) -> str:
    if resource.status not in (Status.MODIFIED, Status.IGNORED):
        raise ReconcileError(
            f"{resource.id}: is {resource.status.value}; adopt needs changed fields"
        )
    assert resource.source is not None
    document = resource.source.document
    # Deepest paths first, and removals of list items from the end, so earlier edits
    # never shift the indices of later ones.
    for change in sorted(changes, key=lambda c: c.path, reverse=True):
        if "<secret hmac:" in json.dumps(change.live, default=str):
            raise ReconcileError(
                f"{resource.id}: {change.path} is a secret; driftwatch never sees its value"
            )
        path, value = _concrete(_document(resource, text), change)
        stale = (
            value is not _ABSENT
            if change.op is Op.ADDED
            else value is _ABSENT or not _same(value, change.desired)
        )
        if stale:
            found = "absent" if value is _ABSENT else repr(value)
            raise ReconcileError(
                f"{resource.id}: {change.path} is {found} in the file, not the audited {change.desired!r}"
                " (stale report, or the value is set elsewhere, e.g. a kustomize overlay)"
            )
        if change.op is Op.REMOVED:
            text = delete_at(text, document, path)
        else:
            text = set_value(text, document, path, change.live)
    return text


def _remove(resource: Resource, text: str) -> str:
    if resource.status is not Status.MISSING:
        raise ReconcileError(
            f"{resource.id}: is {resource.status.value}; remove is for missing objects"
        )
    _document(resource, text)
    assert resource.source is not None
    return remove_document(text, resource.source.document)


def _ignore(
    report: AuditReport, selection: list[str], read: Callable[[str], str | None], details: Details
) -> Plan:
    result = Plan("ignore")
    rules: list[dict[str, Any]] = []
    for resource, changes in select(report, selection):
        if not changes:
            raise ReconcileError(f"{resource.id}: has no changes to ignore")
        group = resource.apiVersion.rpartition("/")[0]
        rule: dict[str, Any] = {"id": f"{resource.kind.lower()}-{resource.name}-{len(rules) + 1}"}
        if group:
            rule["group"] = group
        rule["kind"] = resource.kind
        if resource.namespace:
            rule["namespace"] = resource.namespace
        rule["name"] = resource.name
        rule["jqPathExpressions"] = sorted({to_jq(parse_path(c.path)) for c in changes})
        rule["reason"] = details.reason
        rules.append(rule)
        result.done.append(
            f"ignore {len(changes)} field(s) of {_name(resource)} in {CONFIG_PATH}: {details.reason}"
        )
        result.findings.append(resource.id)
    before = read(CONFIG_PATH)
    try:
        after = append_to_list(before or "", "ignoreDifferences", rules)
    except EditError as exc:
        raise ReconcileError(f"{CONFIG_PATH}: {exc}") from exc
    result.files[CONFIG_PATH] = (before or "", after)
    return result


def _waive(
    report: AuditReport, selection: list[str], read: Callable[[str], str | None], details: Details
) -> Plan:
    if details.expires is None or not details.owner.strip():
        raise ReconcileError("waive needs --owner and --expires (exceptions always expire)")
    by_id = {r.id: r for r in report.resources}
    result = Plan("waive")
    for item in selection:
        rid, _, wanted = item.partition("@")
        resource = by_id.get(rid)
        if resource is None:
            raise ReconcileError(f"selection {item!r}: no such resource in the report")
        found = [
            v
            for v in resource.violations
            if not v.waivedBy and (not wanted or wanted in (v.policy, f"{v.policy}/{v.rule}"))
        ]
        if not found:
            raise ReconcileError(f"selection {item!r}: no unwaived violation to waive")
        name = f"waive-{resource.kind.lower()}-{resource.name}"[:60].strip("-")
        path = f"{EXCEPTIONS_DIR}/{name}.yaml"
        if read(path) is not None or path in result.files:
            raise ReconcileError(f"{path} already exists; waive this resource's findings in one go")
        match: dict[str, Any] = {"kinds": [resource.kind], "names": [resource.name]}
        if resource.namespace:
            match["namespaces"] = [resource.namespace]
        spec: dict[str, Any] = {
            "policies": sorted({f"{v.policy}/{v.rule}" for v in found}),
            "match": match,
            "reason": details.reason,
            "owner": details.owner,
        }
        if details.ticket:
            spec["ticket"] = details.ticket
        spec["expires"] = details.expires.isoformat()
        doc = {
            "apiVersion": API_VERSION,
            "kind": "Exception",
            "metadata": {"name": name},
            "spec": spec,
        }
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
        result.files[path] = ("", text)
        result.done.append(
            f"waive {', '.join(spec['policies'])} for {_name(resource)} until {spec['expires']} in {path}"
        )
        result.findings.append(resource.id)
    return result
