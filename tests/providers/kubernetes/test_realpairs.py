"""Config/live pairs recorded on real clusters by other GitOps tools, scanned end to end.

Each ``realpairs/<case>/`` holds ``desired.yaml`` (what Git says), ``live.yaml`` (what the
apiserver returned, managedFields and last-applied annotations included) and
``expected.yaml`` (the verdict the source project's own test asserts, in driftwatch's
path syntax); ``SOURCE`` names the repository, file, commit and license.  Nothing here
is derived from driftwatch's engine: ``live.yaml`` is served by the test API server and
``desired.yaml`` is scanned from a Git repo with ``driftwatch scan --format json``.

``KNOWN_FAILING`` lists the cases today's engine gets wrong.  Their test asserts they
*still* fail, so a fix must remove its case from the set (the lead empties it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.cli import main
from driftwatch.report import AuditReport, Resource
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.catalog import ResourceType, custom_resource
from tests.conftest import RepoFactory

CASES_DIR = Path(__file__).parent / "realpairs"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())

# Built-in kinds some recordings hold that the test API server's catalog does not serve.
EXTRA_BUILTINS: tuple[ResourceType, ...] = (custom_resource("", "v1", "Endpoints", "endpoints"),)

# case → why today's engine fails it (the assertion below prints the actual verdict).
KNOWN_FAILING: dict[str, str] = {}

Verdict = tuple[str, list[str], list[str]]  # status, counted change paths, report errors


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _expected(case: str) -> Verdict:
    data = yaml.safe_load((CASES_DIR / case / "expected.yaml").read_text())
    return data["status"], sorted(data.get("paths") or []), []


def _subject(report: AuditReport, desired: dict[str, Any]) -> Resource:
    """The report's resource for the case's one desired object."""
    kind, name = desired["kind"], desired["metadata"]["name"]
    found = [r for r in report.resources if r.kind == kind and r.name == name]
    assert len(found) == 1, f"{kind}/{name}: {[r.id for r in report.resources]}"
    return found[0]


def _scan(
    case: str, make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Verdict:
    case_dir = CASES_DIR / case
    desired_text = (case_dir / "desired.yaml").read_text()
    [desired] = _load(case_dir / "desired.yaml")
    repo = make_repo({f"manifests/{case}.yaml": desired_text})
    report_path = tmp_path / "report.json"
    with TestAPIServer(_load(case_dir / "live.yaml"), resources=EXTRA_BUILTINS) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")
        main(
            [
                *("scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig)),
                *("--format", "json", "--output", str(report_path)),
            ]
        )
    capsys.readouterr()
    report = AuditReport.from_json(report_path.read_bytes())
    resource = _subject(report, desired)
    paths = sorted(c.path for c in resource.changes if not c.ignored)
    return resource.status.value, paths, [str(e) for e in report.errors]


@pytest.mark.parametrize("case", CASES)
def test_real_pair(
    case: str,
    make_repo: RepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a file written by mistake lands here, not in the checkout
    expected = _expected(case)
    actual = _scan(case, make_repo, tmp_path, capsys)
    if case in KNOWN_FAILING:
        assert actual != expected, f"{case} now passes: remove it from KNOWN_FAILING"
    else:
        assert actual == expected


def test_every_case_is_complete_and_sourced() -> None:
    assert len(CASES) >= 30
    assert set(KNOWN_FAILING) <= set(CASES), set(KNOWN_FAILING) - set(CASES)
    for case in CASES:
        files = {p.name for p in (CASES_DIR / case).iterdir()}
        assert {"desired.yaml", "live.yaml", "expected.yaml", "SOURCE"} <= files, case
        source = (CASES_DIR / case / "SOURCE").read_text()
        assert "repo: " in source and "license: Apache-2.0" in source, case
        status, _, _ = _expected(case)
        assert status in {"in_sync", "modified", "missing"}, case
