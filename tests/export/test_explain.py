"""``driftwatch explain``: every difference of a resource with the rule that decided it,
end to end (a git repo, the real client against the test API server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.cli import main
from driftwatch.testing.fixtures import record_write, served
from tests.conftest import AuditFactory

JOB = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "report", "namespace": "shop"},
    "spec": {
        "schedule": "0 * * * *",
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "r", "image": "busybox:1"}],
                    }
                }
            }
        },
    },
}


def _explain(
    audit: AuditFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    live: dict[str, Any],
) -> tuple[int, str]:
    repo, _scan, _ = audit({"job.yaml": yaml.safe_dump(JOB)}, [live])
    code = main(
        [
            *("explain", "CronJob/shop/report", "--repo", str(repo)),
            *("--kubeconfig", str(tmp_path / "kc"), "--quiet"),
        ]
    )
    return code, capsys.readouterr().out


def test_explain_names_the_server_defaults_it_did_not_count(
    audit: AuditFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _explain(audit, tmp_path, capsys, served(JOB))
    assert code == 0
    assert out.splitlines()[0].endswith("CronJob/shop/report: in_sync")
    not_counted = out.split("Not counted")[1]
    # Each default the apiserver stored is named with the upstream function it comes from.
    assert "spec.concurrencyPolicy" in not_counted and "SetDefaults_CronJob" in not_counted
    assert "terminationMessagePath" in not_counted and "SetDefaults_Container" in not_counted


def test_explain_says_why_a_hand_edit_counts(
    audit: AuditFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patched = record_write(served(JOB), "kubectl-patch", {"spec": {"suspend": True}})
    code, out = _explain(audit, tmp_path, capsys, patched)
    assert code == 0
    counted = out.split("Counted as drift (1):")[1].split("Kept, but ignored")[0]
    assert "spec.suspend changed by kubectl-patch" in counted
    assert "written by hand (kubectl-patch)" in counted


def test_explain_of_an_unknown_resource_is_one_line(
    audit: AuditFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _scan, _ = audit({"job.yaml": yaml.safe_dump(JOB)}, [served(JOB)])
    code = main(
        ["explain", "CronJob/shop/nope", "--repo", str(repo), "--kubeconfig", str(tmp_path / "kc")]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "no resource CronJob/shop/nope" in err
