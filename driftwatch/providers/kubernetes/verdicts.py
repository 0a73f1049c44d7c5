"""Which differences between Git and a live Kubernetes object are drift, and why.

Git is the reference for what it declares: a declared field that differs is drift.
Where Git is silent — a field only live has, or one whose desired value is a server
default — the writer decides, as the apiserver's own bookkeeping records it:

* ``metadata.managedFields`` names who wrote each field.  A hand edit (a *manual*
  manager) is drift; a controller or webhook is not.  The applier counts only for what
  it still owns although Git dropped it: under server-side apply exactly its applied
  fields, except those inside an atomic value (a list or map replaced as a whole, by the
  schema) it owns whole, which the server may have filled with defaults; under
  client-side apply only what its last-applied annotation says it sent.
* Where no ``managedFields`` entry owns the field (objects older than them, which
  later writes such as a controller's status updates do not cover), the last-applied
  annotation alone: a field it holds that Git dropped is drift ("removed from Git, still live"); a
  live-only field it does not hold is the server's.

Every verdict carries the rule, so ``driftwatch explain`` can say why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftwatch.config import Managers, matches_any
from driftwatch.engine.audit import Verdict
from driftwatch.engine.diff import RawChange
from driftwatch.engine.paths import Path, format_path
from driftwatch.providers.kubernetes.normalize import Ownership, last_applied, path_exists
from driftwatch.providers.kubernetes.schema import KindSchema, ManagedEntry
from driftwatch.report import Op

DefaultSource = Callable[[Path], str | None]


def _unnamed_kubectl(entry: ManagedEntry | None) -> bool:
    """kubectl commands without a field manager of their own (``kubectl scale``, older
    edits and patches) are recorded as ``kubectl`` with an Update; ``kubectl apply
    --server-side`` is ``kubectl`` with an Apply, an applier."""
    return entry is not None and entry.manager == "kubectl" and entry.operation == "Update"


def _zero(value: Any) -> bool:
    return value is False or value == "" or (type(value) in (int, float) and value == 0)


class Judge:
    """The verdicts for one desired/live pair (both normalized alike, secrets masked)."""

    def __init__(
        self,
        git: dict[str, Any],
        live: dict[str, Any],
        kind: KindSchema,
        managers: Managers,
        default_source: DefaultSource,
    ) -> None:
        self._git = git  # as Git says it, without server defaults
        self._kind = kind
        self._managers = managers
        self._default_source = default_source
        self.ownership = Ownership(live)
        self._applied = last_applied(live)

    def attribute(self, change: RawChange) -> str | None:
        if change.op is Op.REMOVED:
            return None
        entry = self.ownership.writer(change.path, change.op is Op.ADDED, self._managers.manual)
        return entry.manager if entry else None

    def __call__(self, change: RawChange, manager: str | None) -> Verdict:
        path = change.path
        if change.op is Op.REMOVED and _zero(change.desired) and self._kind.omits_zero(path):
            # Go's omitempty: the API leaves zero values out, absent and zero are one value.
            return Verdict(False, "Git's zero value, which the API omits when it stores it")
        if change.op is not Op.ADDED and path_exists(self._git, path):
            return Verdict(True, "Git declares this field")
        if change.op is Op.REMOVED:
            return Verdict(False, f"{self._default(path)}; this server does not set it")
        verdict = self._git_silent(path, manager, default=change.op is Op.CHANGED)
        return verdict._replace(default=change.op is Op.CHANGED)

    def _default(self, path: Path) -> str:
        source = self._default_source(path)
        return f"server default ({source})" if source else "server default"

    def _git_silent(self, path: Path, manager: str | None, *, default: bool) -> Verdict:
        what = f"differs from the {self._default(path)} Git relies on" if default else "only live"
        if manager is None:  # no managedFields entry names a writer (older objects)
            return self._three_way(path, what)
        entry = self.ownership.writer(path, True, self._managers.manual)
        if matches_any(self._managers.manual, manager) or _unnamed_kubectl(entry):
            return Verdict(True, f"{what}; written by hand ({manager})")
        if not matches_any(self._managers.appliers, manager):
            return Verdict(False, f"{what}; written by {manager}, a controller or webhook")
        atomic = self._atomic_owned(path, entry)
        if atomic is not None:
            return Verdict(
                False,
                f"{what}; inside {format_path(atomic)}, an atomic value the applier {manager}"
                " owns whole: the server filled it in",
            )
        if entry is not None and entry.operation == "Apply":
            return Verdict(
                True,
                f"the applier {manager} owns it by server-side apply, but Git does not declare"
                " it (removed from Git, or applied from elsewhere)",
            )
        if self._applied is not None and path_exists(self._applied, path):
            return Verdict(True, "removed from Git, still live: in the last-applied configuration")
        return Verdict(
            False,
            f"{what}; {manager} owns it only as the server's (client-side apply did not send"
            " it: not in its last-applied configuration)",
        )

    def _three_way(self, path: Path, what: str) -> Verdict:
        """No field manager owns ``path``: the last-applied annotation is the evidence."""
        if self._applied is None:
            return Verdict(
                False, f"{what}; no field manager or last-applied annotation names a writer"
            )
        if path_exists(self._applied, path):
            return Verdict(True, "removed from Git, still live: in the last-applied configuration")
        return Verdict(False, f"{what}; not in the last-applied configuration: the server's")

    def _atomic_owned(self, path: Path, entry: ManagedEntry | None) -> Path | None:
        """The atomic value strictly above ``path`` that ``entry`` owns as a whole, if any:
        by the schema where it knows the kind, else by the FieldsV1 tree the apiserver
        recorded (it owns such a value as one leaf)."""
        if entry is None:
            return None
        node, depth = entry.reach(path)
        if not 0 < depth < len(path) or node:
            return None
        owned = path[:depth]
        if self._kind.known and not self._kind.atomic(owned):
            return None  # an empty map applied as {}: what is inside is not the applier's
        return owned
