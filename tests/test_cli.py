"""End to end: the CLI against a real Git repo and the test API server over HTTP."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftwatch.cli import main
from driftwatch.report import AuditReport
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.fixtures import record_write, served
from tests.conftest import RepoFactory
from tests.hostile_documents import hostile_repo

WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}
CM = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop"},
    "data": {"level": "info"},
}
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "stringData": {"password": "hunter2"},
}


def dump(*objs: dict[str, Any]) -> str:
    return "---\n".join(json.dumps(o) + "\n" for o in objs)


def drift_repo(make_repo: RepoFactory, files: dict[str, str]) -> Path:
    """A repo for drift tests: the built-in policies are off unless the test configures."""
    return make_repo({"driftwatch.yaml": "policies: {builtin: false}\n", **files})


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[TestAPIServer, Path]]:
    server = TestAPIServer()
    server.start()
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    yield server, kubeconfig
    server.stop()


def scan(
    repo: Path, kubeconfig: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, AuditReport | None, str]:
    code = main(
        ["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--format", "json", *extra]
    )
    out, err = capsys.readouterr()
    return code, (AuditReport.from_json(out) if out.strip() else None), err


def web_with_a_patched_in_sidecar() -> dict[str, Any]:
    """WEB as served after someone patched a ``proxy`` container in by hand."""
    web = served(WEB)
    web["spec"]["template"]["spec"]["containers"].append({"name": "proxy", "image": "envoy"})
    return record_write(
        web,
        "kubectl-patch",
        {"spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy"}]}}}},
    )


def test_every_status_end_to_end(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    gone = {**CM, "metadata": {"name": "gone", "namespace": "shop"}}
    repo = drift_repo(
        make_repo,
        {
            "shop/web.yaml": dump(WEB),
            "shop/config.yaml": dump(CM, gone),
            "shop/secret.yaml": dump(SECRET),
        },
    )
    live_web = copy.deepcopy(served(WEB))
    live_web["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    live_web = record_write(
        live_web,
        "kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}},
    )
    live_web["spec"]["replicas"] = 5
    live_web = record_write(
        live_web, "kube-controller-manager", {"spec": {"replicas": 5}}, subresource="scale"
    )
    stray = served(
        {**CM, "metadata": {"name": "stray", "namespace": "shop"}}, manager="kubectl-create"
    )
    root_ca = served({**CM, "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"}})
    for obj in (live_web, served(CM), served(SECRET), stray, root_ca):
        server.put(obj)

    code, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert code == 2 and report is not None
    by_name = {r.name: r for r in report.resources}
    assert by_name["web"].status == "modified"
    image = next(c for c in by_name["web"].changes if c.path.endswith("image"))
    assert (image.desired, image.live, image.manager) == ("nginx:1.25", "nginx:1.26", "kubectl-set")
    replicas = next(c for c in by_name["web"].changes if c.path == "spec.replicas")
    assert replicas.ignoredBy and "HorizontalPodAutoscaler" in replicas.ignoredBy
    assert by_name["web"].source and by_name["web"].source.path == "shop/web.yaml"
    assert by_name["settings"].status == "in_sync"
    assert by_name["db"].status == "in_sync"
    assert by_name["gone"].status == "missing"
    assert by_name["stray"].status == "unmanaged"
    assert "kube-root-ca.crt" not in by_name
    assert report.counts["modified"] == 1 and report.counts["missing"] == 1


def test_secret_values_never_appear(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    repo = drift_repo(make_repo, {"secret.yaml": dump(SECRET)})
    live = served({**SECRET, "stringData": {"password": "s3cr3t-live"}})
    server.put(live)
    _code, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert report is not None
    (secret,) = report.resources
    assert secret.status == "modified"
    assert [c.path for c in secret.changes] == ["data.password"]
    text = report.to_json().decode()
    assert "hunter2" not in text and "s3cr3t-live" not in text
    assert "aHVudGVyMg" not in text  # nor their base64
    main(["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig)])
    assert "s3cr3t" not in capsys.readouterr().out


def test_json_is_deterministic_and_exit_codes(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    repo = drift_repo(make_repo, {"cm.yaml": dump(CM)})
    server.put(served(CM))
    first = scan(repo, kubeconfig, capsys=capsys)
    second = scan(repo, kubeconfig, capsys=capsys)
    assert first[0] == second[0] == 0

    def stable(report: AuditReport | None) -> dict[str, Any]:
        assert report is not None
        data = json.loads(report.to_json())
        for key in ("startedAt", "finishedAt", "phases"):
            data["scan"].pop(key)
        return data

    assert stable(first[1]) == stable(second[1])
    server.put(served({**CM, "data": {"level": "debug"}}, manager="kubectl-edit"))
    assert scan(repo, kubeconfig, "--fail-on", "none", capsys=capsys)[0] == 0
    assert scan(repo, kubeconfig, "--fail-on", "drift", capsys=capsys)[0] == 2


def test_forbidden_kind_is_not_checked_and_the_rest_goes_on(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    repo = drift_repo(make_repo, {"all.yaml": dump(WEB, CM)})
    server.put(served(WEB))
    server.put(served(CM))
    server.faults.forbid("apps", "deployments")
    code, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert code == 2 and report is not None
    by_name = {r.name: r for r in report.resources}
    assert by_name["web"].status == "not_checked"
    assert by_name["web"].reason and "forbidden" in by_name["web"].reason
    assert by_name["settings"].status == "in_sync"
    assert code == 2
    assert scan(repo, kubeconfig, "--fail-on", "drift", capsys=capsys)[0] == 0


def test_unknown_kind_names_file_and_line(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, kubeconfig = cluster
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    repo = drift_repo(make_repo, {"w.yaml": "# widgets\n" + dump(widget)})
    _, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert report is not None
    assert report.resources[0].status == "not_checked"
    (error,) = report.errors
    assert (error.path, error.line) == ("w.yaml", 2)
    assert "Widget" in error.message


def test_pagination_and_expired_continue_token(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, kubeconfig = cluster
    monkeypatch.setattr("driftwatch.providers.kubernetes.live.PAGE_SIZE", 3)
    cms = [{**CM, "metadata": {"name": f"cm-{i}", "namespace": "shop"}} for i in range(10)]
    repo = drift_repo(make_repo, {"cms.yaml": dump(*cms)})
    for cm in cms:
        server.put(served(cm))
    server.faults.gone_on_continue("", "configmaps", times=1)
    code, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert report is not None
    assert code == 0, report.errors
    assert report.counts["in_sync"] == 10
    continues = [r for r in server.requests if "continue" in r.query and "configmaps" in r.path]
    assert len(continues) >= 3


def test_unreachable_cluster_exits_1(
    make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = TestAPIServer()
    server.start()
    kubeconfig = server.write_kubeconfig(tmp_path / "kc")
    server.stop()
    repo = drift_repo(make_repo, {"cm.yaml": dump(CM)})
    code, report, err = scan(repo, kubeconfig, capsys=capsys)
    assert code == 1 and report is None
    assert "cannot reach" in err and len(err.strip().splitlines()) == 1


def test_expired_credentials_exit_1(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    server.faults.unauthorized()
    code, _, err = scan(drift_repo(make_repo, {"cm.yaml": dump(CM)}), kubeconfig, capsys=capsys)
    assert code == 1 and "401" in err


def test_snapshot_and_replay(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    repo = drift_repo(make_repo, {"cm.yaml": dump(CM)})
    server.put(served({**CM, "data": {"level": "debug"}}, manager="kubectl-edit"))
    recording = tmp_path / "live.json"
    assert (
        main(
            [
                "snapshot",
                "--repo",
                str(repo),
                "--kubeconfig",
                str(kubeconfig),
                "--output",
                str(recording),
            ]
        )
        == 0
    )
    server.stop()  # the replay needs no cluster
    code = main(["scan", "--repo", str(repo), "--live-from", str(recording), "--format", "json"])
    report = AuditReport.from_json(capsys.readouterr().out)
    assert code == 2
    assert report.resources[0].status == "modified"
    assert report.scan.targets[0].liveFrom == str(recording)


AWS_TARGET = "  - name: sandbox\n    provider: aws\n    regions: [us-east-1]\n"


def test_snapshot_skips_aws_targets_and_says_so(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, kubeconfig = cluster
    recording = tmp_path / "live.json"
    # AWS only: nothing to record, and the reason is given
    repo = drift_repo(make_repo, {"driftwatch.yaml": "targets:\n" + AWS_TARGET})
    assert main(["snapshot", "--repo", str(repo), "--output", str(recording)]) == 1
    err = capsys.readouterr().err
    assert "driftwatch: sandbox: skipped: a snapshot records clusters only, not AWS targets" in err
    assert "nothing to record" in err and not recording.exists()
    # a cluster next to the account: the cluster is recorded, the account still named
    cluster_target = f"  - name: kind\n    kubeconfig: {kubeconfig}\n"
    make_repo({"driftwatch.yaml": "targets:\n" + cluster_target + AWS_TARGET, "cm.yaml": dump(CM)})
    assert main(["snapshot", "--repo", str(repo), "--output", str(recording)]) == 0
    err = capsys.readouterr().err
    assert "sandbox: skipped" in err and "nothing to record" not in err
    saved = json.loads(recording.read_text())
    assert [c["target"] for c in saved["clusters"]] == ["kind"]


def test_bad_config_exits_1_naming_the_key(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, kubeconfig = cluster
    repo = drift_repo(
        make_repo, {"driftwatch.yaml": "unmanaged:\n  kinds: [ConfigMap]\n  bogus: 1\n"}
    )
    code, _, err = scan(repo, kubeconfig, capsys=capsys)
    assert code == 1
    assert "driftwatch.yaml:3: unmanaged.bogus: unknown key" in err


def test_ignore_rules_keep_changes_as_ignored(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    config = (
        "policies: {builtin: false}\n"
        "ignoreDifferences:\n"
        "  - id: sidecar\n    group: apps\n    kind: Deployment\n"
        "    jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == \"proxy\")']\n"
        "    reason: injected by the mesh\n"
        "  - kind: ConfigMap\n    jsonPointers: [/data/level]\n"
    )
    repo = drift_repo(make_repo, {"driftwatch.yaml": config, "app.yaml": dump(WEB, CM)})
    server.put(web_with_a_patched_in_sidecar())
    server.put(served({**CM, "data": {"level": "debug"}}, manager="kubectl-edit"))
    _code, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert report is not None
    by_name = {r.name: r for r in report.resources}
    assert by_name["web"].status == "ignored"
    assert by_name["web"].changes[0].ignoredBy == "sidecar: injected by the mesh"
    assert by_name["settings"].status == "ignored"
    assert by_name["settings"].changes[0].ignoredBy == "ignoreDifferences[1]"


def test_version_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("driftwatch ")
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "resources" in schema["properties"]


def test_jq_rule_reading_the_environment_is_refused_and_leaks_nothing(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pull request adds ``$ENV | tostring | error``: CI tokens would be in the error."""
    monkeypatch.setenv("DW_CANARY_TOKEN", "s3cr3t-canary")
    _, kubeconfig = cluster
    config = (
        "policies: {builtin: false}\n"
        "ignoreDifferences:\n"
        "  - id: leak\n    kind: Deployment\n"
        "    jqPathExpressions: ['$ENV | tostring | error']\n"
    )
    repo = drift_repo(make_repo, {"driftwatch.yaml": config, "app.yaml": dump(WEB)})
    code = main(["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "driftwatch.yaml:5: ignoreDifferences.0.jqPathExpressions.0: rule leak: uses $ENV" in err
    assert "s3cr3t-canary" not in out + err
    assert "Traceback" not in err


def test_runaway_and_failing_jq_rules_are_report_errors_and_the_scan_goes_on(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, kubeconfig = cluster
    config = (
        "policies: {builtin: false}\n"
        "ignoreDifferences:\n"
        "  - id: loop\n    kind: Deployment\n    jqPathExpressions: ['def f: f; f']\n"
        "  - id: bomb\n    kind: Deployment\n    jqPathExpressions: ['[range(1e8)]']\n"
        "  - id: boom\n    kind: Deployment\n    jqPathExpressions: ['.spec | error(\"boom\")']\n"
        "  - id: sidecar\n    kind: Deployment\n"
        "    jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == \"proxy\")']\n"
    )
    repo = drift_repo(make_repo, {"driftwatch.yaml": config, "app.yaml": dump(WEB, CM)})
    server.put(web_with_a_patched_in_sidecar())
    server.put(served(CM))
    started = time.monotonic()
    _code, report, err = scan(repo, kubeconfig, capsys=capsys)
    assert time.monotonic() - started < 20  # two 2 s timeouts at most, not a hang
    assert report is not None
    assert "Traceback" not in err
    by_name = {r.name: r for r in report.resources}
    assert by_name["web"].status == "ignored"  # the working rule still applies
    assert by_name["web"].changes[0].ignoredBy == "sidecar"
    assert by_name["settings"].status == "in_sync"
    messages = {e.key: e.message for e in report.errors}
    assert messages["ignoreDifferences.0.jqPathExpressions.0"].startswith(
        "ignore rule loop: jq path expression failed on Deployment shop/web: took longer than 2 s"
    )
    assert messages["ignoreDifferences.1.jqPathExpressions.0"].startswith(
        "ignore rule bomb: jq path expression failed on Deployment shop/web: "
    )
    assert messages["ignoreDifferences.2.jqPathExpressions.0"] == (
        "ignore rule boom: jq path expression failed on Deployment shop/web: boom;"
        " it ignores nothing there"
    )


def test_snapshot_masks_secrets_in_a_private_file_and_replays_the_same_audit(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, kubeconfig = cluster
    api = {**SECRET, "metadata": {"name": "api", "namespace": "shop"}}
    repo = drift_repo(make_repo, {"secret.yaml": dump(SECRET, api)})
    server.put(served(SECRET))  # in sync, its clear stringData in the last-applied annotation
    server.put(served({**api, "stringData": {"password": "s3cr3t-live"}}))  # drifted
    clear = [b"hunter2", b"aHVudGVyMg", b"s3cr3t-live", b"czNjcjN0LWxpdmU"]
    _, direct, _ = scan(repo, kubeconfig, capsys=capsys)
    assert direct is not None

    def statuses(report: AuditReport) -> list[tuple[str, str, list[str]]]:
        return [(r.name, r.status, [c.path for c in r.changes]) for r in report.resources]

    assert statuses(direct) == [("api", "modified", ["data.password"]), ("db", "in_sync", [])]
    recording = tmp_path / "live.json"
    recording.write_text("an older recording")
    recording.chmod(0o644)
    snapshot = ["snapshot", "--repo", str(repo), "--kubeconfig", str(kubeconfig)]
    assert main([*snapshot, "--output", str(recording)]) == 0
    data = recording.read_bytes()
    assert not [c for c in clear if c in data]
    assert b"<secret hmac:" in data
    assert recording.stat().st_mode & 0o777 == 0o600
    replay = ["scan", "--repo", str(repo), "--live-from", str(recording), "--format", "json"]
    main(replay)
    assert statuses(AuditReport.from_json(capsys.readouterr().out)) == statuses(direct)

    sensitive = tmp_path / "sensitive.json"
    assert main([*snapshot, "--include-secret-values", "--output", str(sensitive)]) == 0
    assert b"czNjcjN0LWxpdmU" in sensitive.read_bytes()  # kept, as asked
    assert sensitive.stat().st_mode & 0o777 == 0o600
    main([*replay[:-4], "--live-from", str(sensitive), "--format", "json"])
    assert statuses(AuditReport.from_json(capsys.readouterr().out)) == statuses(direct)


def test_ignore_rules_from_the_repo_see_secrets_masked(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A jq ignore rule is repo code too: it sees masks, so it cannot select on (and
    leak bit by bit) a clear value."""
    server, kubeconfig = cluster
    config = (
        "policies: {builtin: false}\n"
        "ignoreDifferences:\n"
        "  - kind: Secret\n    name: db\n"
        "    jqPathExpressions: ['.data | select(.password | startswith(\"<secret hmac:\"))']\n"
        "  - kind: Secret\n    name: api\n"
        "    jqPathExpressions: ['.data | select(.password | startswith(\"czNj\"))']\n"
    )
    api = {**SECRET, "metadata": {"name": "api", "namespace": "shop"}}
    repo = drift_repo(make_repo, {"driftwatch.yaml": config, "secret.yaml": dump(SECRET, api)})
    server.put(served({**SECRET, "stringData": {"password": "s3cr3t-live"}}))
    server.put(served({**api, "stringData": {"password": "s3cr3t-live"}}))
    _code, report, _ = scan(repo, kubeconfig, capsys=capsys)
    assert report is not None
    by_name = {r.name: r for r in report.resources}
    assert by_name["db"].status == "ignored"
    assert by_name["api"].status == "modified"  # the base64 of the clear value is not there


# No traceback for bad input, anywhere: one line and exit 1; --debug shows the traceback.


def run_driftwatch(*args: str, close_stdout: bool = False) -> tuple[int, str]:
    """``python -m driftwatch args`` in a child process: its exit code and stderr.  With
    ``close_stdout`` the reader goes away before the first byte, as ``| head -0`` does."""
    child = subprocess.Popen(
        [sys.executable, "-m", "driftwatch", *args],
        cwd=Path(__file__).parent.parent,  # this checkout's driftwatch
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if close_stdout:
        assert child.stdout is not None
        child.stdout.close()
    _, err = child.communicate(timeout=120)
    return child.returncode, err


def test_an_unexpected_error_is_one_line_and_exit_1(
    make_repo: RepoFactory,
    cluster: tuple[TestAPIServer, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("deep failure\x1b[2J\n✓ Secret prod/admin [prod] in_sync")

    _, kubeconfig = cluster
    repo = drift_repo(make_repo, {"cm.yaml": dump(CM)})
    # Inside one target's audit a failure is that target's error, its text never shown.
    monkeypatch.setattr("driftwatch.scan.audit_cluster", broken)
    code, report, err = scan(repo, kubeconfig, capsys=capsys)
    assert code == 1 and report is None
    assert err == "driftwatch: default: cannot audit the live data (RuntimeError)\n"
    monkeypatch.setattr("driftwatch.scan.load_manifests", broken)  # outside any target
    code, report, err = scan(repo, kubeconfig, capsys=capsys)
    assert code == 1 and report is None
    assert err == (
        "driftwatch: internal error: RuntimeError: deep failure\\x1b[2J"
        " (run with --debug for the traceback)\n"
    )
    for debug in (["--debug"], ["--debug", "--quiet"]):  # after the command, anywhere
        code, _, err = scan(repo, kubeconfig, *debug, capsys=capsys)
        assert code == 1
        assert "Traceback (most recent call last)" in err and "in broken" in err
    code = main(["--debug", "scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig)])
    assert code == 1 and "in broken" in capsys.readouterr().err  # before the command
    monkeypatch.setenv("DRIFTWATCH_DEBUG", "1")
    code, _, err = scan(repo, kubeconfig, capsys=capsys)
    assert code == 1 and "in broken" in err


def test_a_hostile_kubeconfig_gives_no_traceback(make_repo: RepoFactory, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: 5\ncontexts: {a: [1]}\ncurrent-context: {x: 1}\n")
    repo = drift_repo(make_repo, {"cm.yaml": dump(CM)})
    code, err = run_driftwatch("scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig))
    assert code == 1
    assert "Traceback (most recent call last)" not in err
    assert err.startswith("driftwatch: ") and err.count("\n") == 1


def test_a_closed_pipe_exits_quietly(make_repo: RepoFactory) -> None:
    repo = make_repo({"cm.yaml": dump(CM)})  # the built-in policies find something to print
    for args in (["check", "--repo", str(repo)], ["schema"]):
        code, err = run_driftwatch(*args, close_stdout=True)
        assert (code, err) == (1, "")


def test_hostile_documents_never_stop_check_or_scan(
    make_repo: RepoFactory, cluster: tuple[TestAPIServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A repo with one of each bad document: both commands finish, name file and line of
    every one, and audit the good objects — on a cold and on a warm parse cache alike."""
    server, kubeconfig = cluster
    repo, expected = hostile_repo(make_repo)
    make_repo({"driftwatch.yaml": "policies: {builtin: false}\n", "apps/cm.yaml": dump(CM)})
    server.put(served(CM))

    def located(report: AuditReport | None) -> set[tuple[str | None, int | None]]:
        assert report is not None
        return {(e.path, e.line) for e in report.errors}

    wanted = {(path, line) for path, (line, _key, _message) in expected.items()}
    for _run in ("cold", "warm"):
        code, report, err = scan(repo, kubeconfig, "--fail-on", "drift", capsys=capsys)
        assert code == 2 and "Traceback" not in err  # drift: the good ConfigMaps are missing live
        assert located(report) == wanted
        assert report is not None
        statuses = {r.name: r.status for r in report.resources}
        assert statuses["settings"] == "in_sync"
        assert statuses["int-key-before"] == statuses["alias-bomb-after"] == "missing"
        assert main(["check", "--repo", str(repo), "--format", "json", "--fail-on", "none"]) == 0
        out, err = capsys.readouterr()
        assert located(AuditReport.from_json(out)) == wanted and "Traceback" not in err
    main(["check", "--repo", str(repo), "--fail-on", "none"])
    text = capsys.readouterr().out
    assert "error: hostile/int-key.yaml:12 [data.1]: key '1' is an int, not a string" in text
