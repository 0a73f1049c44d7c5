"""A scan of several targets, one of them hostile: through ``driftwatch scan`` against a
Git repo built with git and two test API servers over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from driftwatch.cli import main
from driftwatch.report import AuditReport, Status
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.fixtures import served
from tests.conftest import RepoFactory
from tests.test_cli import CM, SECRET, WEB, dump

HOSTILE = "hostile"


def _discovery_html(server: TestAPIServer) -> None:
    server.faults.garbage(b"<html>Bad Gateway</html>", path="/apis", content_type="text/html")


def _list_garbage(server: TestAPIServer) -> None:
    server.faults.garbage(b'{"items": 5}', "", "configmaps")


def _group_discovery_garbage(server: TestAPIServer) -> None:
    server.faults.garbage(b"[]", path="/apis/apps/v1")


def _resets(server: TestAPIServer) -> None:
    server.faults.reset()  # every request, discovery first


def _managed_fields_garbage(server: TestAPIServer) -> None:
    # Shaped like an object, but its managedFields hold what no apiserver writes.
    live = served(WEB)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    containers = {
        "k:{not json": {},
        'k:{"name": ["unhashable"]}': {},
        'k:"a string"': {},
        "i:x": {},
        'k:{"name":"web"}': {"f:image": 5, "f:ports": []},
    }
    path = {"f:spec": {"f:template": {"f:spec": {"f:containers": containers, "f:volumes": 7}}}}
    live["metadata"]["managedFields"] = [
        {
            "manager": "kubectl-edit",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": path,
        },
        {
            "manager": "kubectl-set",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": [1],
        },
    ]
    server.put(live)


def _malformed_object(server: TestAPIServer) -> None:
    # A merge key that is a list: no list item can be matched by it.
    live = served(WEB)
    live["spec"]["template"]["spec"]["containers"] = [{"name": ["web"], "image": "x"}]
    server.put(live)


# mode → (arm the hostile server, what its target's report says)
MODES: dict[str, tuple[Callable[[TestAPIServer], None], str]] = {
    "discovery-html": (_discovery_html, "error"),
    "list-garbage": (_list_garbage, "ConfigMap"),
    "group-discovery-garbage": (_group_discovery_garbage, "Deployment"),
    "connection-resets": (_resets, "error"),
    "managed-fields-garbage": (_managed_fields_garbage, "audited"),
    "malformed-object": (_malformed_object, "Deployment"),
}


@pytest.fixture
def two_clusters(tmp_path: Path) -> Iterator[tuple[TestAPIServer, Path, TestAPIServer, Path]]:
    healthy, hostile = TestAPIServer(), TestAPIServer()
    for server in (healthy, hostile):
        server.start()
        server.put(served(WEB))
        server.put(served({**CM, "data": {"level": "debug"}}, manager="kubectl-edit"))
    yield (
        healthy,
        healthy.write_kubeconfig(tmp_path / "healthy.kubeconfig"),
        hostile,
        hostile.write_kubeconfig(tmp_path / "hostile.kubeconfig"),
    )
    for server in (healthy, hostile):
        server.stop()


def _scan(repo: Path, ref: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, AuditReport, str]:
    code = main(["scan", "--repo", str(repo), "--ref", ref, "--format", "json", "--no-cache"])
    out, err = capsys.readouterr()
    return code, AuditReport.from_json(out), err


def _of(report: AuditReport, target: str) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in report.resources if r.target == target]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_hostile_target_fails_alone_and_the_healthy_one_is_unchanged(
    make_repo: RepoFactory,
    two_clusters: tuple[TestAPIServer, Path, TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
    mode: str,
) -> None:
    _, healthy_kc, hostile, hostile_kc = two_clusters
    arm, expected = MODES[mode]
    files = {"app.yaml": dump(WEB, CM)}
    config = "policies: {builtin: false}\ntargets:\n"
    alone = f"  - name: healthy\n    kubeconfig: {healthy_kc}\n"
    make_repo({"driftwatch.yaml": config + alone, **files})
    both = alone + f"  - name: {HOSTILE}\n    kubeconfig: {hostile_kc}\n"
    repo = make_repo({"driftwatch.yaml": config + both, **files})
    _, baseline, _ = _scan(repo, "HEAD~1", capsys)
    arm(hostile)

    code, report, err = _scan(repo, "HEAD", capsys)

    assert code == 2  # findings, not a crash (1) — the healthy CM was edited by hand
    assert "Traceback" not in err
    assert _of(report, "healthy") == _of(baseline, "healthy")
    assert [r.status for r in report.resources if r.target == "healthy"].count(Status.MODIFIED) == 1
    hostile_resources = {r.kind: r for r in report.resources if r.target == HOSTILE}
    hostile_errors = [e.message for e in report.errors if e.target == HOSTILE]
    if expected == "error":  # the target could not be read at all: an error naming it
        assert hostile_resources == {} and len(hostile_errors) == 1
        assert [t.name for t in report.scan.targets] == ["healthy"]
    elif expected == "audited":  # read, and its garbage audited without a crash
        assert hostile_resources["Deployment"].status is Status.MODIFIED
        assert hostile_resources["ConfigMap"].status is Status.MODIFIED
    else:  # that kind is not_checked with the reason; the other kind is audited
        broken = [r for r in report.resources if r.target == HOSTILE and r.kind == expected]
        assert broken and all(r.status is Status.NOT_CHECKED and r.reason for r in broken)
        other = "ConfigMap" if expected == "Deployment" else "Deployment"
        assert hostile_resources[other].status is not Status.NOT_CHECKED
        assert not any("unknown kind" in e for e in hostile_errors)


def test_a_malformed_live_secret_is_masked_never_shown(
    make_repo: RepoFactory,
    two_clusters: tuple[TestAPIServer, Path, TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, hostile, hostile_kc = two_clusters
    live = served(SECRET)
    live["data"] = ["s3cr3t-in-clear"]  # not a map: no apiserver stores this
    hostile.put(live)
    config = f"policies: {{builtin: false}}\ntargets:\n  - name: {HOSTILE}\n    kubeconfig: {hostile_kc}\n"
    repo = make_repo({"driftwatch.yaml": config, "secret.yaml": dump(SECRET)})
    code, report, err = _scan(repo, "HEAD", capsys)
    assert code == 2 and "Traceback" not in err
    (secret,) = [r for r in report.resources if r.kind == "Secret"]
    assert secret.status is Status.MODIFIED
    assert "s3cr3t" not in report.to_json().decode() and "hunter2" not in report.to_json().decode()


def test_an_unexpected_failure_of_one_target_is_an_error_naming_it(
    make_repo: RepoFactory,
    two_clusters: tuple[TestAPIServer, Path, TestAPIServer, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, healthy_kc, _, _ = two_clusters
    broken = tmp_path / "broken.kubeconfig"  # the client's loader fails with a TypeError
    broken.write_text("apiVersion: v1\nclusters: 5\ncontexts: [{name: x, context: 7}]\n")
    config = (
        "policies: {builtin: false}\ntargets:\n"
        f"  - name: {HOSTILE}\n    kubeconfig: {broken}\n"
        f"  - name: healthy\n    kubeconfig: {healthy_kc}\n"
    )
    repo = make_repo({"driftwatch.yaml": config, "app.yaml": dump(WEB, CM)})
    code, report, err = _scan(repo, "HEAD", capsys)
    assert code == 2 and "Traceback" not in err
    (error,) = [e for e in report.errors if e.target == HOSTILE]
    assert error.message.startswith("cannot scan: TypeError: ")
    assert {r.name: r.status for r in report.resources} == {
        "web": Status.IN_SYNC,
        "settings": Status.MODIFIED,
    }


def test_a_kubeconfig_committed_in_the_repo_never_runs_its_exec_plugin(
    make_repo: RepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pull request names a kubeconfig it commits, whose user runs a command to get a
    token: the scan refuses that target and runs nothing; --kubeconfig still trusts it."""
    marker = tmp_path / "pwned"
    kubeconfig = (
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\n"
        "users:\n- name: x\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        f"      command: sh\n      args: ['-c', 'touch {marker}']\n"
    )
    config = (
        "policies: {builtin: false}\ntargets:\n  - name: ci\n    kubeconfig: ci/kubeconfig.yaml\n"
    )
    repo = make_repo(
        {"driftwatch.yaml": config, "ci/kubeconfig.yaml": kubeconfig, "app.yaml": dump(CM)}
    )
    monkeypatch.chdir(repo)  # as CI runs it, from the checkout
    code = main(["scan", "--repo", ".", "--format", "json", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 1 and not marker.exists()
    assert "kubeconfig ci/kubeconfig.yaml is inside the audited repository" in err
    for flag in (["--context", "x"],):  # the repo's path, another context: still refused
        assert main(["scan", "--repo", ".", *flag, "--no-cache", "-q"]) == 1
        assert not marker.exists()
    capsys.readouterr()
    main(["scan", "--repo", ".", "--kubeconfig", "ci/kubeconfig.yaml", "--no-cache", "-q"])
    assert marker.exists()  # named on the command line: the user's own choice


PRIVILEGED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "root", "namespace": "shop"},
    "spec": {
        "selector": {"matchLabels": {"app": "root"}},
        "template": {
            "metadata": {"labels": {"app": "root"}},
            "spec": {
                "containers": [
                    {"name": "c", "image": "c:1", "securityContext": {"privileged": True}}
                ]
            },
        },
    },
}


def test_a_rescan_reuses_the_violations_of_unchanged_objects(
    make_repo: RepoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from driftwatch.policy import engine
    from tests.policy.test_engine import POLICY

    evaluated: list[str] = []
    real = engine.violations

    def counting(policy_set: Any, subject: Any, *args: Any) -> Any:
        evaluated.append(subject.name)
        return real(policy_set, subject, *args)

    monkeypatch.setattr(engine, "violations", counting)
    with TestAPIServer([served(PRIVILEGED)]) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")

        def scan(repo: Path) -> AuditReport:
            out = tmp_path / "r.json"
            flags = ["--kubeconfig", str(kubeconfig), "--format", "json", "-o", str(out), "-q"]
            main(["scan", "--repo", str(repo), *flags])
            capsys.readouterr()
            return AuditReport.from_json(out.read_bytes())

        repo = make_repo({"root.yaml": dump(PRIVILEGED)})
        first = scan(repo)
        cold = len(evaluated)
        assert evaluated.count("root") == 2  # desired and live
        second = scan(repo)
        assert len(evaluated) == cold  # nothing changed: nothing evaluated again
        (before,) = [r for r in first.resources if r.name == "root"]
        (after,) = [r for r in second.resources if r.name == "root"]
        assert before.violations and after.violations == before.violations
        # A policy of the repo's own changes the policy set: every subject evaluated anew.
        scan(make_repo({"policies/no-priv.yaml": POLICY}))
        assert evaluated.count("root") == 4
