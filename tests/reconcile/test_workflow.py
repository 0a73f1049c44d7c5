"""The Reconciler the CLI and the TUI share: several staged steps as one verified plan."""

from __future__ import annotations

import pytest

from driftwatch.reconcile.actions import ReconcileError
from driftwatch.reconcile.workflow import Reconciler, Step
from driftwatch.report import AuditReport
from driftwatch.testing.fixtures import record_write, served
from driftwatch.yamldoc import parse_documents
from tests.conftest import AuditFactory, git
from tests.reconcile.test_reconcile import manifest

TWO = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n"
    "data:\n  note: 'one line'  # kept\n"
    "---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n"
    "data:\n  script: |\n    echo b\n"
)
A_ID = "kubernetes:default/core/ConfigMap/shop/a"
B_ID = "kubernetes:default/core/ConfigMap/shop/b"


def test_two_steps_edit_one_file_each_seeing_the_others_result(audit: AuditFactory) -> None:
    a, b = (manifest(d) for d in TWO.split("---\n"))
    live = [
        record_write(served(a), "kubectl-edit", {"data": {"note": "---\nline2\n"}}),
        record_write(served(b), "kubectl-edit", {"data": {"script": "echo \x1b[2J\x00\n"}}),
    ]
    repo, scan, _ = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "two.yaml": TWO}, live
    )
    report = scan()
    reconciler = Reconciler(report, str(repo))
    edits = reconciler.plan([Step("adopt", (A_ID,), "a"), Step("adopt", (B_ID,), "b")])
    assert [e.op for e in edits.edits["two.yaml"]] == ["set", "set"]
    before, after = edits.files["two.yaml"]
    assert before == TWO
    assert [d.data["data"] for d in parse_documents(after or "")] == [
        {"note": "---\nline2\n"},
        {"script": "echo \x1b[2J\x00\n"},
    ]
    assert "# kept" in (after or "")
    assert "\x1b" not in reconciler.diff(edits)  # escaped in the file, so never raw on screen
    done = reconciler.commit(edits, "two")
    assert git(repo, "rev-parse", "two") == done.sha
    assert {r.id: r.status for r in scan("two").resources}[B_ID] == "in_sync"


def test_a_step_whose_file_would_not_read_back_refuses_the_whole_plan(
    audit: AuditFactory,
) -> None:
    shadowed = TWO.replace("  note: 'one line'  # kept\n", "  note: x\n  note: 'one line'\n")
    a, b = (manifest(d) for d in shadowed.split("---\n"))
    live = [
        record_write(served(a), "kubectl-edit", {"data": {"note": "new"}}),
        record_write(served(b), "kubectl-edit", {"data": {"script": "echo c\n"}}),
    ]
    repo, scan, _ = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "two.yaml": shadowed}, live
    )
    report: AuditReport = scan()
    reconciler = Reconciler(report, str(repo))
    with pytest.raises(ReconcileError, match=r"two\.yaml: the edited file would not read back"):
        reconciler.plan([Step("adopt", (B_ID,), "b"), Step("adopt", (A_ID,), "a")])
