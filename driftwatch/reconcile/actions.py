"""Turn selected findings of a report into file edits (pure: texts in, texts out).

Actions:

* ``adopt`` — write the live value of changed scalar fields into the desired file;
* ``import`` — write an unmanaged live object as a new, clean manifest (the fields
  clients set: no status, server metadata or defaults) at the configured path;
* ``remove`` — delete a missing object's document (and the file when it empties);
* ``ignore`` — add an ignore rule with a reason to ``driftwatch.yaml``, scoped to the
  resource and the changed paths;
* ``waive`` — add a policy Exception (owner, reason, expiry) for selected violations;
* ``fix`` — apply the ``fix`` merge patch of the selected violations' policies to the
  desired file.

Every edit first checks that the file still says what the audit saw; otherwise the
whole plan is refused and nothing is written.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from driftwatch.config import Config, ConfigError, load_config
from driftwatch.engine.paths import ItemKey, parse_path, to_jq
from driftwatch.gitsource import compile_globs
from driftwatch.policy.engine import merge_patch_union
from driftwatch.policy.model import API_VERSION
from driftwatch.providers.aws.model import KIND as AWS_KIND
from driftwatch.providers.kubernetes.schema import item_key
from driftwatch.reconcile import kustomize
from driftwatch.reconcile.intent import Edit, problem
from driftwatch.reconcile.template import TemplateError, fill
from driftwatch.reconcile.textedit import (
    EditError,
    append_to_list,
    delete_at,
    dump,
    remove_document,
    set_value,
)
from driftwatch.report import AuditReport, Change, Op, Resource, Status, Violation
from driftwatch.textsafe import printable
from driftwatch.yamldoc import YamlError, parse_documents

ACTIONS = ("adopt", "import", "remove", "ignore", "waive", "fix")
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
    edits: dict[str, list[Edit]] = field(default_factory=dict)  # path → what its text edits mean

    def put(self, path: str, before: str, after: str | None, edit: Edit) -> None:
        """Record ``path``'s new text and the edit to its data it is meant to make."""
        self.files[path] = (self.files[path][0] if path in self.files else before, after)
        self.edits.setdefault(path, []).append(edit)


def verify(plan: Plan) -> Plan:
    """The plan, once every file it writes has a safe path and reads back as exactly its
    audited data with the planned edits applied; otherwise the whole plan is refused."""
    for path, (before, after) in sorted(plan.files.items()):
        bad = repo_path_problem(path)
        found = bad or problem(path, before, after, plan.edits.get(path, []))
        if found:
            raise ReconcileError(f"{found}; the plan is refused and nothing is written")
    return plan


def repo_path_problem(path: str) -> str | None:
    """Why ``path`` (from a report or a repo file) is not a plain file path inside the
    repo; None when it is."""
    shown = printable(repr(path))
    if not path or path.startswith("/") or "\\" in path:
        return f"path {shown} is not relative to the repo"
    if "\0" in path:
        return f"path {shown} holds a NUL character"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"path {shown} is not a normalized path inside the repo"
    if any(part.lower() == ".git" for part in parts):
        return f"path {shown} is inside .git"
    return None


def refers_to(item: str, resource_id: str) -> bool:
    """Whether the selection ``item`` (``id``, ``id#path`` or ``id@policy``) names the
    resource: by prefix, since ids may themselves hold ``@`` (IAM names do)."""
    return item == resource_id or item.startswith((f"{resource_id}#", f"{resource_id}@"))


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
        for change in changes:
            try:
                parse_path(change.path)
            except ValueError as exc:
                raise ReconcileError(
                    f"{rid}: the report's change path {printable(repr(change.path))} is malformed"
                    f" ({printable(exc)}; tampered report?)"
                ) from exc
        _, already = chosen.setdefault(rid, (resource, []))
        already.extend(c for c in changes if c not in already)
    return list(chosen.values())


def plan(
    report: AuditReport,
    action: str,
    selection: list[str],
    read: Callable[[str], str | None],
    details: Details | None = None,
    config: Config | None = None,
) -> Plan:
    """The edits ``action`` makes for the selection; ``read(path)`` gives a file's text at
    the audited commit (None when absent); ``config`` is the repo's driftwatch.yaml there.
    Every edited file is checked to read back as intended (:func:`verify`)."""
    try:
        return verify(_plan(report, action, selection, read, details, config))
    except EditError as exc:  # an edit no rule above expected to fail: still refused cleanly
        raise ReconcileError(str(exc)) from exc


def _plan(
    report: AuditReport,
    action: str,
    selection: list[str],
    read: Callable[[str], str | None],
    details: Details | None,
    config: Config | None,
) -> Plan:
    config = config or Config()
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
    if action == "import":
        return _import(report, selection, read, config)
    if action == "fix":
        return _fix(report, selection, read)
    result = Plan(action)
    files = _Files(read, result)
    for resource, changes in select(report, selection):
        if resource.source is None:
            raise ReconcileError(f"{resource.id}: not declared in Git, nothing to {action}")
        try:
            if action == "adopt":
                _adopt(resource, changes, files, result)
            else:
                _remove(resource, files, result)
        except EditError as exc:
            raise ReconcileError(f"{resource.id}: {exc}") from exc
        result.findings.append(resource.id)
    return result


class _Files:
    """The plan's view of the repo: files as earlier edits left them."""

    def __init__(self, read: Callable[[str], str | None], plan: Plan) -> None:
        self._read = read
        self._plan = plan

    def get(self, path: str) -> str | None:
        if path in self._plan.files:
            return self._plan.files[path][1]
        return self._read(path)

    def need(self, path: str, resource: Resource) -> str:
        text = self.get(path)
        if text is None:
            gone = path in self._plan.files
            raise ReconcileError(
                f"{resource.id}: {path} is "
                + ("already removed by this plan" if gone else "not in the audited commit")
            )
        return text

    def put(self, path: str, text: str | None, edit: Edit) -> None:
        before = self._plan.files[path][0] if path in self._plan.files else self._read(path) or ""
        self._plan.put(path, before, text, edit)


def _name(resource: Resource) -> str:
    where = f"{resource.namespace}/" if resource.namespace else ""
    return f"{resource.kind} {where}{resource.name}"


def _document(resource: Resource, text: str) -> dict[str, Any]:
    """The resource's document in ``text`` (the whole document, checked to still be the
    audited object)."""
    assert resource.source is not None
    index = resource.source.document
    if index < 0:
        raise ReconcileError(f"{resource.id}: the report gives document {index} (tampered report?)")
    try:
        docs = parse_documents(text)
    except YamlError as exc:  # a document the audit skipped: never edit around it
        where = f"{resource.source.path}:{exc.line}" if exc.line else resource.source.path
        raise ReconcileError(f"{resource.id}: {where}: {exc.message}") from exc
    data = docs[index].data if index < len(docs) else None
    if not isinstance(data, dict) or not _is(resource, data):
        raise ReconcileError(
            f"{resource.id}: document {index} of {resource.source.path} is no longer this object (stale report?)"
        )
    return data


def _is(resource: Resource, data: dict[str, Any]) -> bool:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = (meta or {}).get("name")
    if resource.provider == "aws":
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        properties = (spec or {}).get("properties") or {}
        names = {
            (spec or {}).get("identifier"),
            *(v for v in properties.values() if isinstance(v, str)),
        }
        return (
            data.get("kind") == AWS_KIND
            and (spec or {}).get("type") == resource.kind
            and resource.name in names
        )
    # A kustomize overlay may have added a prefix or suffix to the file's name.
    renamed = bool(
        resource.source
        and resource.source.renderedFrom
        and isinstance(name, str)
        and name in resource.name
    )
    return data.get("kind") == resource.kind and (name == resource.name or renamed)


def _root(resource: Resource) -> tuple[str, ...]:
    """Where change paths start in the document: AWS paths (``properties.X``) are under
    the AWSResource's ``spec``."""
    return ("spec",) if resource.provider == "aws" else ()


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


def _adopt(resource: Resource, changes: list[Change], files: _Files, result: Plan) -> None:
    if resource.status not in (Status.MODIFIED, Status.IGNORED):
        raise ReconcileError(
            f"{resource.id}: is {resource.status.value}; adopt needs changed fields"
        )
    assert resource.source is not None
    for change in changes:
        if "<secret hmac:" in json.dumps(change.live, default=str):
            raise ReconcileError(
                f"{resource.id}: {change.path} is a secret; driftwatch never sees its value"
            )
    overlay = resource.source.renderedFrom
    written: dict[str, int] = {}
    # Deepest paths first, so earlier edits never shift the indices of later ones.
    for change in sorted(changes, key=lambda c: c.path, reverse=True):
        path = _adopt_rendered(resource, change, files) if overlay else None
        if path is None:
            path = resource.source.path
            text = files.need(path, resource)
            files.put(
                path,
                *_edit(resource, change, text, resource.source.document, _document(resource, text)),
            )
        written[path] = written.get(path, 0) + 1
    for path, count in written.items():
        where = _role(resource, path)
        result.done.append(f"adopt {count} live value(s) of {_name(resource)} into {path}{where}")


def _edit(
    resource: Resource, change: Change, text: str, document: int, data: Any
) -> tuple[str, Edit]:
    """``text`` with the change's live value written into ``document`` (whose data is
    ``data``), after checking the file still says what the audit saw; and that edit."""
    root = _root(resource)
    for key in root:
        data = data.get(key) if isinstance(data, dict) else None
    path, value = _concrete(data, change)
    path = [*root, *path]
    # Git does not set a field that is only live or whose desired value is a server default.
    silent = change.op is Op.ADDED or bool(change.desiredIsDefault)
    stale = value is not _ABSENT if silent else value is _ABSENT or not _same(value, change.desired)
    if stale:
        found = "absent" if value is _ABSENT else repr(value)
        raise ReconcileError(
            f"{resource.id}: {change.path} is {found} in the file, not the audited {change.desired!r}"
            " (stale report, or the value is set elsewhere)"
        )
    if change.op is Op.REMOVED:
        return delete_at(text, document, path), Edit("delete", document, tuple(path))
    return set_value(text, document, path, change.live), Edit(
        "set", document, tuple(path), change.live
    )


def _adopt_rendered(resource: Resource, change: Change, files: _Files) -> str | None:
    """Write one change of a kustomize-rendered object where the field is defined: the
    overlay patch that sets it, or a patch driftwatch adds to the overlay.  None when the
    object's own file belongs to the overlay alone and should be edited directly."""
    assert resource.source is not None and resource.source.renderedFrom is not None
    overlay = resource.source.renderedFrom
    for patch in kustomize.patch_files(overlay, files.get):
        text = files.get(patch)
        found = kustomize.find_document(text or "", resource.kind, resource.name)
        if text is None or found is None:
            continue
        index, data = found
        try:
            _, value = _concrete(data, change)
        except EditError:
            continue
        if value is _ABSENT:
            continue  # this patch does not set the field
        files.put(patch, *_edit(resource, change, text, index, data))
        return patch
    base = resource.source.path
    if kustomize.inside(base, overlay):
        return None
    return _add_overlay_patch(resource, change, files)


def _add_overlay_patch(resource: Resource, change: Change, files: _Files) -> str:
    """Put the live value into ``driftwatch-<kind>-<name>.yaml`` in the overlay, listed
    under the kustomization's ``patches``."""
    assert resource.source is not None and resource.source.renderedFrom is not None
    overlay = resource.source.renderedFrom
    found = kustomize.kustomization(overlay, files.get)
    if found is None:
        raise ReconcileError(f"{resource.id}: {overlay} has no kustomization file")
    kfile, spec = found
    base = kustomize.find_document(
        files.need(resource.source.path, resource), resource.kind, resource.name
    )
    name = str(base[1]["metadata"]["name"]) if base else resource.name
    file_name = f"driftwatch-{resource.kind.lower()}-{name}.yaml"
    path = posixpath.join(overlay, file_name) if overlay not in ("", ".") else file_name
    try:
        patch = kustomize.fragment(parse_path(change.path), change.live, change.op is Op.REMOVED)
    except ValueError as exc:
        raise ReconcileError(f"{resource.id}: {change.path}: {exc}") from exc
    existing = files.get(path)
    doc: dict[str, Any] = {
        "apiVersion": resource.apiVersion,
        "kind": resource.kind,
        "metadata": {"name": name},
    }
    if existing:
        docs = parse_documents(existing)
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            raise ReconcileError(f"{resource.id}: {path} is not one patch document")
        doc = docs[0].data
    doc = kustomize.merge(doc, patch)
    header = (
        "# Added by driftwatch: live values adopted into this overlay only"
        f" ({resource.source.path} is shared with other overlays).\n"
    )
    files.put(path, header + dump(doc), Edit("replace", value=[doc]))
    listed = any(
        isinstance(e, dict) and e.get("path") == file_name for e in spec.get("patches") or []
    )
    if not listed:
        entry = [{"path": file_name}]
        files.put(
            kfile,
            append_to_list(files.need(kfile, resource), "patches", entry),
            Edit("append_items", path=("patches",), value=entry),
        )
    return path


def _role(resource: Resource, path: str) -> str:
    """How a written file relates to a rendered object, for the commit message."""
    source = resource.source
    if source is None or not source.renderedFrom:
        return ""
    if path == source.path:
        return " (the object's file in the overlay)"
    if posixpath.basename(path).startswith("driftwatch-"):
        return f" (a new patch in overlay {source.renderedFrom}: {source.path} is shared)"
    return " (the overlay patch that sets the field)"


def _remove(resource: Resource, files: _Files, result: Plan) -> None:
    if resource.status is not Status.MISSING:
        raise ReconcileError(
            f"{resource.id}: is {resource.status.value}; remove is for missing objects"
        )
    assert resource.source is not None
    path = resource.source.path
    if resource.source.renderedFrom:
        raise ReconcileError(
            f"{resource.id}: rendered by kustomize from {resource.source.renderedFrom};"
            " remove it from the kustomization's resources by hand"
        )
    text = files.need(path, resource)
    _document(resource, text)
    after = remove_document(text, resource.source.document) or None
    files.put(path, after, Edit("remove_document", resource.source.document))
    result.done.append(
        f"remove {_name(resource)} from {path}" + ("" if after else " (file deleted)")
    )


def _ignore(
    report: AuditReport, selection: list[str], read: Callable[[str], str | None], details: Details
) -> Plan:
    result = Plan("ignore")
    rules: list[dict[str, Any]] = []
    for resource, changes in select(report, selection):
        if not changes:
            raise ReconcileError(f"{resource.id}: has no changes to ignore")
        group = "" if resource.provider == "aws" else resource.apiVersion.rpartition("/")[0]
        label = resource.kind.replace("::", "-").lower()
        rule: dict[str, Any] = {"id": f"{label}-{resource.name}-{len(rules) + 1}"}
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
    try:  # the rules must load as the next scan will load them (jq compiled, in the sandbox)
        load_config(after, CONFIG_PATH)
    except ConfigError as exc:
        raise ReconcileError(f"the ignore rules would not load: {exc}") from exc
    result.put(
        CONFIG_PATH,
        before or "",
        after,
        Edit("append_items", path=("ignoreDifferences",), value=rules),
    )
    return result


def _violations(
    report: AuditReport, item: str, keep: Callable[[Violation], bool]
) -> tuple[Resource, list[Violation]]:
    """The resource and its violations named by ``id`` or ``id@policy[/rule]``."""
    # The longest id that fits: `role/deploy@corp` is the role, not `role/deploy` @corp.
    named = [r for r in report.resources if refers_to(item, r.id)]
    resource = max(named, key=lambda r: len(r.id), default=None)
    if resource is None:
        raise ReconcileError(f"selection {item!r}: no such resource in the report")
    wanted = item[len(resource.id) + 1 :]
    found = [
        v
        for v in resource.violations
        if keep(v) and (not wanted or wanted in (v.policy, f"{v.policy}/{v.rule}"))
    ]
    return resource, found


def _fix(report: AuditReport, selection: list[str], read: Callable[[str], str | None]) -> Plan:
    result = Plan("fix")
    for item in selection:
        resource, found = _violations(report, item, lambda v: v.fix is not None)
        if not found:
            raise ReconcileError(
                f"selection {item!r}: no violation with a fix (the policy has no `fix` patch,"
                " or the finding is on the live side only)"
            )
        if resource.source is None:
            raise ReconcileError(f"{resource.id}: not declared in Git, nothing to fix")
        path = resource.source.path
        before, current = result.files.get(path, (read(path), None))
        if before is None:
            raise ReconcileError(f"{resource.id}: {path} is not in the audited commit")
        text = current if current is not None else before
        _document(resource, text)
        patch: dict[str, Any] = {}
        for violation in found:
            patch = merge_patch_union(patch, violation.fix or {})
        try:
            for leaf, value in _patch_leaves(patch, ()):
                doc = _document(resource, text)
                exists, node = True, doc
                for seg in leaf:
                    if not isinstance(node, dict) or seg not in node:
                        exists = False
                        break
                    node = node[seg]
                document = resource.source.document
                if value is None:
                    if exists:
                        text = delete_at(text, document, leaf)
                        result.put(path, before, text, Edit("delete", document, leaf))
                elif not exists or node != value:
                    text = set_value(text, document, leaf, value)
                    result.put(path, before, text, Edit("set", document, leaf, value))
        except EditError as exc:
            raise ReconcileError(f"{resource.id}: {exc}") from exc
        names = ", ".join(sorted({f"{v.policy}/{v.rule}" for v in found}))
        result.done.append(f"fix {names} on {_name(resource)} in {path}")
        result.findings.append(resource.id)
    return result


def _patch_leaves(
    patch: dict[str, Any], path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], Any]]:
    """A merge patch as (path, value) pairs; maps merge, everything else replaces."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            out += _patch_leaves(value, (*path, key))
        else:
            out.append(((*path, key), value))
    return out


def _waive(
    report: AuditReport, selection: list[str], read: Callable[[str], str | None], details: Details
) -> Plan:
    if details.expires is None or not details.owner.strip():
        raise ReconcileError("waive needs --owner and --expires (exceptions always expire)")
    result = Plan("waive")
    for item in selection:
        resource, found = _violations(report, item, lambda v: not v.waivedBy)
        if not found:
            raise ReconcileError(f"selection {item!r}: no unwaived violation to waive")
        label = re.sub(r"[^a-z0-9-]+", "-", f"{resource.kind}-{resource.name}".lower())
        name = f"waive-{label}"[:60].strip("-")
        path = f"{EXCEPTIONS_DIR}/{name}.yaml"
        if read(path) is not None or path in result.files:
            raise ReconcileError(f"{path} already exists; waive this resource's findings in one go")
        kinds = "resourceTypes" if resource.provider == "aws" else "kinds"
        match: dict[str, Any] = {kinds: [resource.kind], "names": [resource.name]}
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
        result.put(path, "", dump(doc), Edit("append_document", value=doc))
        result.done.append(
            f"waive {', '.join(spec['policies'])} for {_name(resource)} until {spec['expires']} in {path}"
        )
        result.findings.append(resource.id)
    return result


def _without_secrets(resource: Resource) -> tuple[dict[str, Any], list[str]]:
    """The live object to import and the properties left out because they hold masked
    secret values (an AWS resource's); a Kubernetes Secret is refused whole."""
    assert resource.live is not None
    if "<secret hmac:" not in json.dumps(resource.live, default=str):
        return resource.live, []
    spec = resource.live.get("spec")
    if resource.provider != "aws" or not isinstance(spec, dict):
        raise ReconcileError(
            f"{resource.id}: holds secret values driftwatch never sees; write it by hand"
            " (or with a sealed-secrets or external-secrets tool)"
        )
    properties = dict(spec.get("properties") or {})
    withheld = sorted(
        k for k, v in properties.items() if "<secret hmac:" in json.dumps(v, default=str)
    )
    kept = {k: v for k, v in properties.items() if k not in withheld}
    return {**resource.live, "spec": {**spec, "properties": kept}}, withheld


def import_path(template: str, resource: Resource) -> str:
    """The repo path ``template`` gives for ``resource``; refused when it would leave the
    repo (names come from the live side and are not trusted)."""

    def safe(value: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip(".-") or "_"

    fields = {
        "target": safe(resource.target),
        "namespace": safe(resource.namespace or "_cluster"),
        "kind": safe(resource.kind.replace("::", "-").lower()),
        "name": safe(resource.name),
    }
    try:
        path = fill(template, fields, "reconcile.importPath")
    except TemplateError as exc:
        raise ReconcileError(str(exc)) from exc
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        raise ReconcileError(
            f"reconcile.importPath gives {printable(repr(path))}, which is outside the repo"
        )
    if any(part.startswith(".") for part in parts):
        # .git*, .github/workflows, .gitlab-ci.yml: where writing runs CI, not manifests.
        raise ReconcileError(
            f"reconcile.importPath gives {printable(repr(path))}: a hidden file or directory"
            " (CI and git settings live there); refused"
        )
    return str(PurePosixPath(*parts))


def _import(
    report: AuditReport, selection: list[str], read: Callable[[str], str | None], config: Config
) -> Plan:
    result = Plan("import")
    sources = config.sources.kubernetes
    wanted, excluded = compile_globs(sources.paths), compile_globs(sources.exclude)
    for resource, _ in select(report, selection):
        if resource.status is not Status.UNMANAGED:
            raise ReconcileError(
                f"{resource.id}: is {resource.status.value}; import is for unmanaged objects"
            )
        if resource.live is None:
            raise ReconcileError(f"{resource.id}: the report has no live object to import")
        live, withheld = _without_secrets(resource)
        path = import_path(config.reconcile.importPath, resource)
        if resource.provider == "kubernetes" and (
            not wanted.fullmatch(path) or excluded.fullmatch(path)
        ):
            raise ReconcileError(
                f"{resource.id}: {path} is outside sources.kubernetes.paths, so the next audit"
                " would not read it; change reconcile.importPath"
            )
        before, current = result.files.get(path, (read(path) or "", None))
        current = current if current is not None else before
        text = dump(live)
        if current.strip():
            newline = "\r\n" if "\r\n" in current else "\n"
            lead = "" if current.endswith("\n") else newline
            text = current + lead + "---" + newline + text.replace("\n", newline)
        result.put(path, before, text, Edit("append_document", value=live))
        result.done.append(
            f"import {_name(resource)} into {path}"
            + (" (appended)" if before.strip() else "")
            + (
                f"; {', '.join(withheld)} left out: secret values are never seen"
                if withheld
                else ""
            )
        )
        result.findings.append(resource.id)
    return result
