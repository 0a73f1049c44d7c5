"""The embedded demo's cluster: every status from a real scan, no secret leaks, a real Git
repo, and a clean exit (the AWS account: test_demo_aws.py)."""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from driftwatch.demo import COMMITS, CONTEXT, Demo, create_demo_repo, live_objects, run_headless
from driftwatch.demo.live import HAND_EDITED_PASSWORD, TRACKING_ANNOTATION
from driftwatch.report import AuditReport, Change, Resource, Status
from driftwatch.scan import run_scan

GIT_PASSWORD = "correct-horse-battery-staple"  # shop/secrets.yaml
SECRETS = (GIT_PASSWORD, HAND_EDITED_PASSWORD)

EXPECTED = {
    ("Deployment", "shop", "web"): Status.MODIFIED,
    ("ConfigMap", "shop", "web-config"): Status.MODIFIED,
    ("Secret", "shop", "web-db"): Status.MODIFIED,
    ("CronJob", "shop", "nightly-report"): Status.MODIFIED,
    ("PodDisruptionBudget", "shop", "web"): Status.MISSING,
    ("ConfigMap", "shop", "debug-flags"): Status.UNMANAGED,
    ("Deployment", "shop", "debug-shell"): Status.UNMANAGED,
    ("Deployment", "shop", "api"): Status.IGNORED,
    ("ConfigMap", "shop", "feature-flags"): Status.IGNORED,
    ("ServiceMonitor", "shop", "web"): Status.NOT_CHECKED,
    ("Service", "shop", "web"): Status.IN_SYNC,
    ("Service", "shop", "api"): Status.IN_SYNC,
    ("ServiceAccount", "shop", "web"): Status.IN_SYNC,
    ("HorizontalPodAutoscaler", "shop", "api"): Status.IN_SYNC,
    ("NetworkPolicy", "shop", "web-ingress"): Status.IN_SYNC,
    ("NetworkPolicy", "shop", "default-deny"): Status.IN_SYNC,
    ("ClusterRole", None, "shop-reader"): Status.IN_SYNC,
    ("ClusterRole", None, "shop-reader-workloads"): Status.IN_SYNC,
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def secret_forms() -> list[str]:
    """The plaintexts and their base64 (whole, and as a prefix that survives padding)."""
    forms: list[str] = []
    for value in SECRETS:
        encoded = base64.b64encode(value.encode()).decode()
        forms += [value, encoded, encoded[:12]]
    return forms


def by_ident(report: AuditReport) -> dict[tuple[str, str | None, str], Resource]:
    """The cluster's resources (the AWS account's are checked in test_demo_aws.py)."""
    return {
        (r.kind, r.namespace, r.name): r for r in report.resources if r.provider == "kubernetes"
    }


def change(resource: Resource, path: str) -> Change:
    (found,) = [c for c in resource.changes if c.path == path]
    return found


def test_headless_run_yields_every_status_with_the_expected_resources(
    headless_json: tuple[int, str], report: AuditReport
) -> None:
    assert headless_json[0] == 2
    statuses = {ident: r.status for ident, r in by_ident(report).items()}
    assert statuses == EXPECTED
    assert {s for s in EXPECTED.values()} == set(Status)
    assert Counter(statuses.values()) == {
        Status.IN_SYNC: 8,
        Status.MODIFIED: 4,
        Status.MISSING: 1,
        Status.UNMANAGED: 2,
        Status.IGNORED: 2,
        Status.NOT_CHECKED: 1,
    }
    assert [(t.name, t.provider) for t in report.scan.targets] == [
        ("demo", "kubernetes"),
        ("demo-account", "aws"),
    ]
    assert report.scan.targets[0].context == CONTEXT
    # the unserved kind is also reported as an error at its file and line
    (error,) = report.errors
    assert (error.path, error.line) == ("monitoring/web.yaml", 2)


def test_each_finding_is_attributed_to_its_writer(report: AuditReport) -> None:
    found = by_ident(report)
    web = found[("Deployment", "shop", "web")]
    assert len(web.changes) == 2  # no defaults, status, revision or tracking annotation
    image = change(web, "spec.template.spec.containers[name=web].image")
    assert (image.op, image.desired, image.live, image.manager) == (
        "changed",
        "registry.example.com/shop/web:1.8.2",
        "registry.example.com/shop/web:1.8.3-hotfix",
        "kubectl-set",
    )
    label = change(web, "metadata.labels.incident")
    assert (label.op, label.live, label.manager) == ("added", "inc-2291", "kubectl-label")

    (level,) = found[("ConfigMap", "shop", "web-config")].changes
    assert (level.path, level.desired, level.live, level.manager) == (
        "data.LOG_LEVEL",
        "info",
        "debug",
        "kubectl-edit",
    )
    (suspend,) = found[("CronJob", "shop", "nightly-report")].changes
    # Against the server default Git relies on (suspend: false).
    assert (suspend.path, suspend.op, suspend.desired, suspend.live, suspend.manager) == (
        "spec.suspend",
        "changed",
        False,
        True,
        "kubectl-patch",
    )
    (password,) = found[("Secret", "shop", "web-db")].changes
    assert (password.path, password.op, password.manager) == (
        "data.password",
        "changed",
        "kubectl-edit",
    )
    assert str(password.desired).startswith("<secret hmac:")
    assert str(password.live).startswith("<secret hmac:")
    assert password.desired != password.live

    # ignored: kept in the report with the rule that ignored it
    (replicas,) = found[("Deployment", "shop", "api")].changes
    assert (replicas.path, replicas.desired, replicas.live, replicas.manager) == (
        "spec.replicas",
        2,
        5,
        "kube-controller-manager",
    )
    assert replicas.ignoredBy and "HorizontalPodAutoscaler" in replicas.ignoredBy
    (rollout,) = found[("ConfigMap", "shop", "feature-flags")].changes
    assert (rollout.desired, rollout.live, rollout.manager) == ("10", "35", "rollout-operator")
    assert rollout.ignoredBy and rollout.ignoredBy.startswith("checkout-rollout:")

    monitor = found[("ServiceMonitor", "shop", "web")]
    assert monitor.reason and "not served" in monitor.reason
    missing = found[("PodDisruptionBudget", "shop", "web")]
    assert missing.source and missing.source.path == "shop/pdb.yaml"


def test_sources_carry_the_last_commit_that_touched_each_file(report: AuditReport) -> None:
    found = by_ident(report)
    subjects = {ident: r.source.subject for ident, r in found.items() if r.source is not None}
    assert subjects[("ClusterRole", None, "shop-reader")] == COMMITS[0].subject
    assert subjects[("Deployment", "shop", "web")] == COMMITS[1].subject
    assert subjects[("PodDisruptionBudget", "shop", "web")] == COMMITS[2].subject
    web = found[("Deployment", "shop", "web")].source
    assert web is not None and web.author == "driftwatch demo"


def test_no_secret_value_appears_in_any_output(
    headless_json: tuple[int, str], headless_text: tuple[int, str]
) -> None:
    assert headless_text[0] == 2
    for text in (headless_json[1], headless_text[1]):
        for form in secret_forms():
            assert form not in text
    # the cert-manager Secret is owned (never listed) and the username is masked too
    assert "web-tls" not in headless_json[1]
    assert base64.b64encode(b"shop").decode() not in headless_json[1]


def test_text_output_lists_every_finding_on_whole_lines(headless_text: tuple[int, str]) -> None:
    code, text = headless_text
    assert code == 2
    assert "\x1b[" not in text  # no colour codes into a file
    lines = text.splitlines()
    # the cluster's counts plus the account's (8+4, 4+4, 1+1, 2+2, 2+1, 1+2)
    assert lines[1].split() == [
        "✓",
        "in_sync",
        "12",
        "~",
        "modified",
        "8",
        "-",
        "missing",
        "2",
        "+",
        "unmanaged",
        "4",
        "○",
        "ignored",
        "3",
        "?",
        "not_checked",
        "3",
    ]
    assert any(
        "registry.example.com/shop/web:1.8.2 → registry.example.com/shop/web:1.8.3-hotfix" in line
        and line.endswith("by kubectl-set")
        for line in lines
    )
    for expected in (
        "- PodDisruptionBudget shop/web  [demo] missing  shop/pdb.yaml:1",
        "+ ConfigMap shop/debug-flags  [demo] unmanaged",
        "+ Deployment shop/debug-shell  [demo] unmanaged",
        "○ Deployment shop/api  [demo] ignored  shop/api.yaml:1",
        "? ServiceMonitor shop/web  [demo] not_checked  monitoring/web.yaml:2",
    ):
        assert any(line.startswith(expected) for line in lines), expected
    assert "Service shop/web" not in text  # in sync: not listed without --all


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        run_headless(io.StringIO(), fmt="yaml")


def test_demo_repo_is_a_git_repo_with_a_fixed_history(tmp_path: Path) -> None:
    repo = create_demo_repo(tmp_path / "demo")
    assert repo == tmp_path / "demo"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(repo, "status", "--porcelain") == ""
    log = git(repo, "log", "--reverse", "--format=%an <%ae>|%cn <%ce>|%aI|%s").splitlines()
    assert len(log) == len(COMMITS) == 4
    for line, commit in zip(log, COMMITS, strict=True):
        author, committer, date, subject = line.split("|")
        assert author == committer == "driftwatch demo <demo@driftwatch.dev>"
        assert (date, subject) == (commit.date, commit.subject)
    files = set(git(repo, "ls-files").splitlines())
    assert {
        "driftwatch.yaml",
        "README.md",
        "shop/web.yaml",
        "monitoring/web.yaml",
        "aws/storage.yaml",
    } <= files
    # same content, author and dates: the same commit ids everywhere
    again = create_demo_repo(tmp_path / "again")
    assert git(repo, "rev-parse", "HEAD") == git(again, "rev-parse", "HEAD")


def test_demo_repo_ignores_the_users_git_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    hooks = home / "hooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    (hooks / "pre-commit").chmod(0o755)
    (home / ".gitconfig").write_text(
        "[user]\n  name = Someone Else\n  email = someone@example.com\n"
        f"[commit]\n  gpgsign = true\n[core]\n  hooksPath = {hooks}\n"
        "[init]\n  defaultBranch = trunk\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))  # as inside a Git hook
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")
    repo = create_demo_repo(tmp_path / "demo")
    monkeypatch.delenv("GIT_DIR")
    assert git(repo, "log", "-1", "--format=%an|%G?") == "driftwatch demo|N"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert not (tmp_path / "elsewhere").exists()


def test_demo_repo_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(FileExistsError):
        create_demo_repo(tmp_path / "taken")
    (tmp_path / "empty").mkdir()
    assert (create_demo_repo(tmp_path / "empty") / ".git").is_dir()


def test_live_objects_are_deterministic_and_apiserver_shaped() -> None:
    objects = live_objects()
    assert objects == live_objects()
    for obj in objects:
        meta = obj["metadata"]
        assert meta["uid"] and meta["resourceVersion"] and meta["managedFields"], meta["name"]
    web = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "web")
    managers = {e["manager"] for e in web["metadata"]["managedFields"]}
    assert {
        "argocd-controller",
        "kubectl-set",
        "kubectl-label",
        "kube-controller-manager",
    } <= managers
    assert TRACKING_ANNOTATION in web["metadata"]["annotations"]
    assert web["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _port(url: str) -> int:
    return int(url.rpartition(":")[2])


def test_demo_stops_its_servers_and_removes_its_directory() -> None:
    with Demo() as demo:
        directory = demo.repo.parent
        port = demo.server.port
        aws_port = _port(demo.aws.endpoint_url)
        assert demo.kubeconfig.is_file() and (demo.repo / ".git").is_dir()
        assert f"http://127.0.0.1:{port}" in demo.kubeconfig.read_text()
        options = demo.scan_options()
        assert (options.repo, options.kubeconfig, options.context) == (
            str(demo.repo),
            str(demo.kubeconfig),
            CONTEXT,
        )
        counts = Counter((r.provider, r.status) for r in run_scan(options).resources)
        assert counts[("kubernetes", Status.MODIFIED)] == 4
        assert counts[("aws", Status.MODIFIED)] == 4
    assert not directory.exists()
    assert _refused(port) and _refused(aws_port)
    with pytest.raises(RuntimeError, match="not running"):
        _ = demo.repo
    with pytest.raises(RuntimeError, match="not running"):
        _ = demo.aws


def test_demo_keeps_a_given_workdir(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    with Demo(workdir) as demo:
        assert demo.repo == workdir / "repo"
        assert demo.kubeconfig == workdir / "kubeconfig"
        port = demo.server.port
    assert (workdir / "repo" / ".git").is_dir()
    assert _refused(port)


def test_demo_cleans_up_when_starting_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(prefix: str) -> str:
        path = real_mkdtemp(prefix=prefix)
        made.append(Path(path))
        return path

    def refuse(self: object) -> str:
        raise OSError("address already in use")

    monkeypatch.setattr("driftwatch.demo.session.tempfile.mkdtemp", mkdtemp)
    monkeypatch.setattr("driftwatch.demo.session.TestAPIServer.start", refuse)
    environ = dict(os.environ)
    with pytest.raises(OSError, match="in use"), Demo():
        pass
    assert made and not made[0].exists()
    assert dict(os.environ) == environ  # the AWS account started meanwhile: undone too
    assert run_headless(io.StringIO()) == 1
    assert len(made) == 2 and not made[1].exists()
    monkeypatch.undo()
    with Demo():  # nothing was left holding the AWS account
        pass
