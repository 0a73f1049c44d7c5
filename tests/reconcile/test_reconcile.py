"""Reconciling commits: edits that touch only their lines, on a new branch, proven by a rescan."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from driftwatch.cli import main
from driftwatch.report import AuditReport
from driftwatch.testing.fixtures import record_write, served
from tests.conftest import AuditFactory, RepoFactory, Setup, git
from tests.hostile_documents import HOSTILE

# Hand formatted: comments, flow style, quotes, CRLF line endings.
WEB = (
    "# The shop's web tier.\r\n"
    "apiVersion: apps/v1\r\n"
    "kind: Deployment\r\n"
    "metadata: {name: web, namespace: shop}  # flow style\r\n"
    "spec:\r\n"
    "  replicas: 2 # HPA-managed\r\n"
    "  template:\r\n"
    "    spec:\r\n"
    "      containers:\r\n"
    "        - name: web\r\n"
    "          image: 'nginx:1.25'   # pinned\r\n"
    '          env: [{name: MODE, value: "prod"}]\r\n'
)
GONE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n  namespace: shop\ndata: {a: '1'}\n"
)
KEEP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: shop\ndata: {a: '1'}\n"
)


def manifest(text: str) -> dict[str, object]:
    import yaml

    return yaml.safe_load(text)  # type: ignore[no-any-return]


@pytest.fixture
def audited(audit: AuditFactory) -> Setup:
    web = served(manifest(WEB.replace("\r\n", "\n")))
    web = record_write(
        web,
        "kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}},
    )
    web = record_write(
        web,
        "kubectl-edit",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "web", "env": [{"name": "MODE", "value": "debug"}]}]
                    }
                }
            }
        },
    )
    files = {
        "driftwatch.yaml": "policies: {builtin: false}\n",
        "shop/web.yaml": WEB,
        "shop/config.yaml": KEEP + "---\n" + GONE,
    }
    return audit(files, [web, served(manifest(KEEP))])


def reconcile(report_path: Path, *args: str) -> int:
    """``driftwatch reconcile --report REPORT ARGS...``, its exit code."""
    return main(["reconcile", "--report", str(report_path), *args])


WEB_ID = "kubernetes:default/apps/Deployment/shop/web"
GONE_ID = "kubernetes:default/core/ConfigMap/shop/gone"


def test_adopt_commits_on_a_new_branch_touching_only_the_changed_lines(
    audited, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    report = scan()
    assert {r.id: r.status for r in report.resources}[WEB_ID] == "modified"
    (repo / "scratch.txt").write_text("uncommitted work\n")
    git(repo, "add", "scratch.txt")
    before = (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "status", "--porcelain"),
        git(repo, "branch", "--show-current"),
    )

    assert (
        reconcile(report_path, "--action", "adopt", "--select", WEB_ID, "--branch", "fix/adopt-web")
        == 0
    )
    out = capsys.readouterr().out
    assert "committed" in out and "fix/adopt-web" in out

    # Nothing the user has was touched.
    assert (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "status", "--porcelain"),
        git(repo, "branch", "--show-current"),
    ) == before
    # The commit changes exactly two lines, keeping comments, quotes, flow style and CRLF.
    assert git(repo, "diff", "--numstat", "main", "fix/adopt-web") == "2\t2\tshop/web.yaml"
    adopted = git(repo, "show", "fix/adopt-web:shop/web.yaml")
    assert "image: 'nginx:1.26'   # pinned" in adopted
    assert 'env: [{name: MODE, value: "debug"}]' in adopted
    raw = subprocess.run(
        ["git", "cat-file", "-p", "fix/adopt-web:shop/web.yaml"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    assert raw.count(b"\r\n") == WEB.count("\r\n")  # every CRLF line ending kept
    message = git(repo, "log", "-1", "--format=%B", "fix/adopt-web")
    assert f"Driftwatch-Finding: {WEB_ID}" in message

    # Proof: the new commit audits in sync against the same live state.
    after = scan("fix/adopt-web")
    assert {r.id: r.status for r in after.resources}[WEB_ID] == "in_sync"


def test_remove_deletes_the_missing_document_and_proves_it(
    audited, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    assert {r.id: r.status for r in scan().resources}[GONE_ID] == "missing"
    assert (
        reconcile(report_path, "--action", "remove", "--select", GONE_ID, "--branch", "fix/gone")
        == 0
    )
    capsys.readouterr()
    assert git(repo, "show", "fix/gone:shop/config.yaml") == KEEP.strip()
    assert GONE_ID not in {r.id for r in scan("fix/gone").resources}


def test_dry_run_prints_the_diff_and_writes_nothing(
    audited, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    refs = git(repo, "for-each-ref")
    assert (
        reconcile(
            report_path,
            "--action",
            "adopt",
            "--select",
            f"{WEB_ID}#spec.template.spec.containers[name=web].image",
            "--dry-run",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "-          image: 'nginx:1.25'   # pinned" in out
        and "+          image: 'nginx:1.26'   # pinned" in out
    )
    edits = [
        line
        for line in out.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(edits) == 2  # only the selected change
    assert git(repo, "for-each-ref") == refs


@pytest.mark.parametrize(
    "args, reason",
    [
        (
            ["--action", "adopt", "--select", "kubernetes:default/apps/Deployment/shop/nope"],
            "no such resource",
        ),
        (["--action", "adopt", "--select", f"{WEB_ID}#spec.nope"], "has no change at spec.nope"),
        (["--action", "remove", "--select", WEB_ID], "remove is for missing objects"),
        (["--action", "adopt", "--select", GONE_ID], "adopt needs changed fields"),
    ],
)
def test_bad_selections_are_refused_and_nothing_is_written(
    audited, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    refs = git(repo, "for-each-ref")
    assert reconcile(report_path, *args) == 1
    assert reason in capsys.readouterr().err
    assert git(repo, "for-each-ref") == refs


def test_existing_branch_is_refused(audited, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _repo, scan, report_path = audited
    scan()
    assert (
        reconcile(report_path, "--action", "remove", "--select", GONE_ID, "--branch", "main") == 1
    )
    assert "branch main already exists" in capsys.readouterr().err


def test_stale_report_is_refused(
    audited, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    _repo, scan, report_path = audited
    scan()
    report = AuditReport.from_json(report_path.read_bytes())
    web = next(r for r in report.resources if r.id == WEB_ID)
    web.changes[0].desired = "nginx:0.1"  # as if the file had changed since the audit
    report_path.write_bytes(report.to_json())
    assert reconcile(report_path, "--action", "adopt", "--select", WEB_ID) == 1
    assert "not the audited" in capsys.readouterr().err


def test_ignore_adds_a_scoped_rule_with_a_reason_and_the_rescan_ignores(
    audited, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    image = f"{WEB_ID}#spec.template.spec.containers[name=web].image"
    mode = f"{WEB_ID}#spec.template.spec.containers[name=web].env[name=MODE].value"
    assert (
        reconcile(
            report_path,
            "--action",
            "ignore",
            "--select",
            image,
            mode,
            "--reason",
            "hotfix until INC-7 is merged",
            "--branch",
            "fix/ignore",
        )
        == 0
    )
    capsys.readouterr()
    config = git(repo, "show", "fix/ignore:driftwatch.yaml")
    assert config.startswith(
        "policies: {builtin: false}\nignoreDifferences:\n  - id: deployment-web-1"
    )
    assert 'select(.name == "web") | .image' in config and "hotfix until INC-7 is merged" in config
    after = {r.id: r for r in scan("fix/ignore").resources}[WEB_ID]
    assert after.status == "ignored"
    assert all(
        c.ignoredBy == "deployment-web-1: hotfix until INC-7 is merged" for c in after.changes
    )


def test_ignore_needs_a_reason(audited, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _, scan, report_path = audited
    scan()
    assert reconcile(report_path, "--action", "ignore", "--select", WEB_ID) == 1
    assert "ignore needs a reason" in capsys.readouterr().err


NO_LATEST = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata: {name: pinned-replicas, severity: high}
spec:
  match: {kinds: [Deployment]}
  validations:
    - name: two
      expression: "!has(object.spec.replicas) || object.spec.replicas != 2"
      message: two replicas are not enough
"""


def test_waive_writes_an_expiring_exception_and_the_rescan_marks_it_waived(
    audited, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    make_repo({"policies/pinned.yaml": NO_LATEST})
    report = scan()
    web = {r.id: r for r in report.resources}[WEB_ID]
    assert [(v.policy, v.waivedBy) for v in web.violations] == [("pinned-replicas", None)]
    refused = [
        "reconcile",
        "--report",
        str(report_path),
        "--action",
        "waive",
        "--select",
        f"{WEB_ID}@pinned-replicas",
        "--reason",
        "capacity review",
    ]
    assert main(refused) == 1
    assert "needs --owner and --expires" in capsys.readouterr().err
    assert (
        main(
            [
                *refused,
                "--owner",
                "team-web",
                "--expires",
                "2999-01-01",
                "--ticket",
                "OPS-1",
                "--branch",
                "fix/waive",
            ]
        )
        == 0
    )
    capsys.readouterr()
    exception = git(repo, "show", "fix/waive:exceptions/waive-deployment-web.yaml")
    assert (
        "kind: Exception" in exception
        and "expires: '2999-01-01'" in exception
        and "owner: team-web" in exception
    )
    after = {r.id: r for r in scan("fix/waive").resources}[WEB_ID]
    assert [(v.policy, v.waivedBy) for v in after.violations] == [
        ("pinned-replicas", "waive-deployment-web")
    ]


def test_push_and_pull_request_description(
    audited, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    scan()
    body_file = tmp_path / "out" / "pr.md"
    body_file.parent.mkdir()
    assert (
        reconcile(
            report_path,
            *("--action", "remove", "--select", GONE_ID, "--branch", "fix/gone", "--push"),
            *("--pr-body", str(body_file)),
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "$ git push origin fix/gone" in out and f"pull-request description: {body_file}" in out
    assert (
        subprocess.run(
            ["git", "rev-parse", "--verify", "refs/heads/fix/gone"], cwd=remote, capture_output=True
        ).returncode
        == 0
    )
    body = body_file.read_text()
    assert (
        body.startswith("## driftwatch: remove")
        and f"`{GONE_ID}`" in body
        and "`shop/config.yaml`" in body
    )


def test_pull_request_description_goes_to_stdout_on_request_and_nowhere_by_default(
    audited, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    _repo, scan, report_path = audited
    scan()
    args = ["--action", "remove", "--select", GONE_ID]
    assert reconcile(report_path, *args, "--branch", "a", "--pr-body", "-") == 0
    out = capsys.readouterr().out
    assert "## driftwatch: remove" in out and "Commit `" in out and "on `a`" in out
    listing = sorted(p.name for p in tmp_path.iterdir())
    assert reconcile(report_path, *args, "--branch", "b") == 0
    out = capsys.readouterr().out
    assert "## driftwatch" not in out and "--pr-body FILE writes" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # nothing new in the cwd


def test_adopt_writes_added_and_removed_fields_and_the_rescan_is_in_sync(audit) -> None:  # type: ignore[no-untyped-def]
    settings = (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: settings  # app settings\n"
        "  namespace: shop\n"
        "data:\n"
        "  mode: prod\n"
        "  legacy: 'yes'   # to be dropped\n"
    )
    live = record_write(
        served(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "shop"},
                "data": {"mode": "prod"},
            }
        ),
        "kubectl-edit",
        {"data": {"threads": "8"}, "metadata": {"labels": {"team": "shop"}}},
    )
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "settings.yaml": settings}, [live]
    )
    rid = "kubernetes:default/core/ConfigMap/shop/settings"
    (found,) = [r for r in scan("HEAD").resources if r.id == rid]
    assert {(c.path, c.op.value) for c in found.changes} == {
        ("data.legacy", "removed"),
        ("data.threads", "added"),
        ("metadata.labels.team", "added"),
    }
    assert reconcile(report_path, "--action", "adopt", "--select", rid, "--branch", "adopt") == 0
    adopted = git(repo, "show", "adopt:settings.yaml")
    assert adopted + "\n" == (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: settings  # app settings\n"
        "  namespace: shop\n"
        "  labels:\n"
        "    team: shop\n"
        "data:\n"
        "  mode: prod\n"
        "  threads: '8'\n"
    )
    (after,) = [r for r in scan("adopt").resources if r.id == rid]
    assert after.status == "in_sync"


def test_adopting_a_hand_edit_of_a_defaulted_field_writes_it_into_git(audit) -> None:  # type: ignore[no-untyped-def]
    """`kubectl patch` suspended a CronJob whose Git file relies on the default."""
    job = (
        "apiVersion: batch/v1\n"
        "kind: CronJob\n"
        "metadata:\n"
        "  name: report\n"
        "  namespace: shop\n"
        "spec:\n"
        "  schedule: 0 * * * *\n"
        "  jobTemplate:\n"
        "    spec:\n"
        "      template:\n"
        "        spec:\n"
        "          restartPolicy: Never\n"
        "          containers:\n"
        "          - name: r\n"
        "            image: busybox:1\n"
    )
    import yaml

    live = record_write(served(yaml.safe_load(job)), "kubectl-patch", {"spec": {"suspend": True}})
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "job.yaml": job}, [live]
    )
    rid = "kubernetes:default/batch/CronJob/shop/report"
    (found,) = [r for r in scan("HEAD").resources if r.id == rid]
    (change,) = found.changes
    assert (change.path, change.op.value, change.desiredIsDefault) == (
        "spec.suspend",
        "changed",
        True,
    )
    assert reconcile(report_path, "--action", "adopt", "--select", rid, "--branch", "adopt") == 0
    assert "\n  suspend: true" in git(repo, "show", "adopt:job.yaml")
    (after,) = [r for r in scan("adopt").resources if r.id == rid]
    assert after.status == "in_sync"


def test_import_writes_a_clean_manifest_and_the_rescan_manages_it(audit) -> None:  # type: ignore[no-untyped-def]
    hand_made = served(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "hotfix", "namespace": "shop", "labels": {"app": "hotfix"}},
            "spec": {
                "selector": {"matchLabels": {"app": "hotfix"}},
                "template": {
                    "metadata": {"labels": {"app": "hotfix"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                },
            },
        },
        manager="kubectl-create",
    )
    config = (
        "policies: {builtin: false}\n"
        "unmanaged: {kinds: [apps/Deployment]}\n"
        "reconcile:\n"
        "  importPath: apps/{namespace}/{name}.{kind}.yaml\n"
    )
    repo, scan, report_path = audit(
        {"driftwatch.yaml": config, "apps/shop/keep.yaml": KEEP},
        [hand_made, served(manifest(KEEP))],
    )
    rid = "kubernetes:default/apps/Deployment/shop/hotfix"
    assert {r.id: r.status for r in scan().resources}[rid] == "unmanaged"

    assert reconcile(report_path, "--action", "import", "--select", rid, "--branch", "imp") == 0
    imported = manifest(git(repo, "show", "imp:apps/shop/hotfix.deployment.yaml"))
    # The fields kubectl wrote, nothing the server filled in.
    assert imported == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hotfix", "namespace": "shop", "labels": {"app": "hotfix"}},
        "spec": {
            "selector": {"matchLabels": {"app": "hotfix"}},
            "template": {
                "metadata": {"labels": {"app": "hotfix"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }
    assert {r.id: r.status for r in scan("imp").resources}[rid] == "in_sync"


def test_import_refuses_paths_outside_the_repo_and_the_sources(audit, capsys) -> None:  # type: ignore[no-untyped-def]
    stray = served(manifest(KEEP.replace("keep", "stray")), manager="kubectl-create")
    for template, reason in (
        ("../{name}.yaml", "outside the repo"),
        ("/etc/{name}.yaml", "outside the repo"),
        ("other/{name}.yaml", "outside sources.kubernetes.paths"),
    ):
        config = (
            "policies: {builtin: false}\n"
            "sources: {kubernetes: {paths: ['apps/**/*.yaml']}}\n"
            f"reconcile: {{importPath: '{template}'}}\n"
        )
        _repo, scan, report_path = audit(
            {"driftwatch.yaml": config, "apps/keep.yaml": KEEP}, [stray, served(manifest(KEEP))]
        )
        scan()
        rid = "kubernetes:default/core/ConfigMap/shop/stray"
        assert reconcile(report_path, "--action", "import", "--select", rid, "--dry-run") == 1
        assert reason in capsys.readouterr().err


def test_fix_applies_the_policy_patch_and_the_rescan_passes(audit) -> None:  # type: ignore[no-untyped-def]
    pod = (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: api, namespace: shop}\n"
        "spec:\n"
        "  containers:\n"
        "    - name: api   # the service\n"
        "      image: registry.example.com/api:2.1\n"
    )
    config = "policies: {builtin: true, enable: ['*']}\n"
    repo, scan, report_path = audit(
        {"driftwatch.yaml": config, "shop/api.yaml": pod}, [served(manifest(pod))]
    )
    rid = "kubernetes:default/core/Pod/shop/api"
    (found,) = [r for r in scan().resources if r.id == rid]
    failing = {v.policy for v in found.violations}
    assert {"require-run-as-nonroot", "restrict-seccomp-strict"} <= failing
    assert (
        reconcile(
            report_path,
            "--action",
            "fix",
            "--select",
            f"{rid}@require-run-as-nonroot",
            f"{rid}@restrict-seccomp-strict",
            "--branch",
            "fixed",
        )
        == 0
    )
    fixed = git(repo, "show", "fixed:shop/api.yaml")
    assert fixed + "\n" == pod + (
        "  securityContext:\n    runAsNonRoot: true\n    seccompProfile:\n      type: RuntimeDefault\n"
    )
    (after,) = [r for r in scan("fixed").resources if r.id == rid]
    desired_side = {v.policy for v in after.violations if "desired" in v.scope}
    assert not desired_side & {"require-run-as-nonroot", "restrict-seccomp-strict"}


def test_fix_refuses_a_policy_without_a_patch(audited, capsys) -> None:  # type: ignore[no-untyped-def]
    _repo, scan, report_path = audited
    scan()
    assert reconcile(report_path, "--action", "fix", "--select", WEB_ID) == 1
    assert "no violation with a fix" in capsys.readouterr().err


BASE_WEB = (
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: web\n"
    "spec:\n"
    "  replicas: 1\n"
    "  template:\n"
    "    spec:\n"
    "      containers:\n"
    "        - name: web\n"
    "          image: nginx:1.25   # shared by every environment\n"
)
PROD_KUSTOMIZATION = (
    "namePrefix: prod-\n"
    "namespace: shop\n"
    "resources:\n"
    "  - ../../base\n"
    "patches:\n"
    "  - path: replicas.yaml\n"
)
PROD_REPLICAS = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3  # prod\n"
)


def test_adopt_into_a_kustomize_overlay_edits_its_patch_or_adds_one(audit) -> None:  # type: ignore[no-untyped-def]
    import yaml

    rendered = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "prod-web", "namespace": "shop"},
        "spec": yaml.safe_load(BASE_WEB)["spec"] | {"replicas": 3},
    }
    live = record_write(
        record_write(served(rendered), "kubectl-scale", {"spec": {"replicas": 5}}),
        "kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}},
    )
    files = {
        "driftwatch.yaml": "policies: {builtin: false}\n",
        "base/kustomization.yaml": "resources: [web.yaml]\n",
        "base/web.yaml": BASE_WEB,
        "overlays/prod/kustomization.yaml": PROD_KUSTOMIZATION,
        "overlays/prod/replicas.yaml": PROD_REPLICAS,
    }
    repo, scan, report_path = audit(files, [live])
    rid = "kubernetes:default/apps/Deployment/shop/prod-web"
    (found,) = [r for r in scan().resources if r.id == rid]
    assert {c.path for c in found.changes} == {
        "spec.replicas",
        "spec.template.spec.containers[name=web].image",
    }

    assert reconcile(report_path, "--action", "adopt", "--select", rid, "--branch", "k") == 0
    # replicas: the overlay's own patch sets it, so that line changes
    assert git(repo, "show", "k:overlays/prod/replicas.yaml").endswith("replicas: 5  # prod")
    # image: the base is shared, so the overlay gets a new patch and the base is untouched
    assert git(repo, "diff", "--name-only", "main", "k").split() == [
        "overlays/prod/driftwatch-deployment-web.yaml",
        "overlays/prod/kustomization.yaml",
        "overlays/prod/replicas.yaml",
    ]
    patch = yaml.safe_load(git(repo, "show", "k:overlays/prod/driftwatch-deployment-web.yaml"))
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:1.26"}
    ]
    assert git(repo, "show", "k:overlays/prod/kustomization.yaml") + "\n" == PROD_KUSTOMIZATION + (
        "  - path: driftwatch-deployment-web.yaml\n"
    )
    message = git(repo, "log", "-1", "--format=%B", "k")
    assert "new patch in overlay overlays/prod" in message and "overlay patch that sets" in message
    after = {r.id: r.status for r in scan("k").resources}
    assert after[rid] == "in_sync"


# Values that used to be written wrongly (issue 10, item 6): each must reach Git exactly.
NASTY_VALUES = {
    "motd": "line1\nline2\n",  # into a single-quoted scalar: was committed as 'line1 line2 '
    "banner": "---\nkind: Secret\n...",  # document markers at line starts
    "nul": "a\x00b\x07c\x1b[31m",  # NUL and other control characters
    "nel": "x\x85y\u2028z\u2029",  # U+0085 came back as a newline
    "script": "set -e\n  indented\ntrailing  \n\n",  # into a literal block
    "looks": "yes",  # plain text that YAML 1.1 reads as a boolean
}
SETTINGS = (
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: settings  # app settings\n"
    "  namespace: shop\n"
    "data:\n"
    "  motd: 'hello'\n"
    "  banner: plain text   # shown on login\n"
    '  nul: "x"\n'
    "  nel: 'y'\n"
    "  script: |\n"
    "    echo hi\n"
    "  looks: no-way\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata: {name: other, namespace: shop}\n"
    "data:\n"
    "  note: >-\n"
    "    folded\n"
)
SETTINGS_ID = "kubernetes:default/core/ConfigMap/shop/settings"
OTHER_ID = "kubernetes:default/core/ConfigMap/shop/other"


def test_adopted_values_reach_git_exactly_in_every_style(audit) -> None:  # type: ignore[no-untyped-def]
    """Six values that YAML treats specially, adopted in one plan into one file (two
    documents, so the file is edited again after each earlier edit), read back exactly."""
    import yaml

    settings, other = (manifest(d) for d in SETTINGS.split("---\n"))
    live = record_write(served(settings), "kubectl-edit", {"data": NASTY_VALUES})
    other_live = record_write(served(other), "kubectl-edit", {"data": {"note": "a\n\nb\n"}})
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "shop/settings.yaml": SETTINGS},
        [live, other_live],
    )
    found = {r.id: r for r in scan().resources}
    assert {c.path for c in found[SETTINGS_ID].changes} == {f"data.{k}" for k in NASTY_VALUES}
    assert (
        reconcile(
            report_path, "--action", "adopt", "--select", SETTINGS_ID, OTHER_ID, "--branch", "v"
        )
        == 0
    )
    raw = subprocess.run(
        ["git", "cat-file", "-p", "v:shop/settings.yaml"], cwd=repo, capture_output=True, check=True
    ).stdout.decode()
    docs = list(yaml.load_all(raw, Loader=yaml.CSafeLoader))
    assert docs[0]["data"] == NASTY_VALUES and docs[1]["data"] == {"note": "a\n\nb\n"}
    assert "  name: settings  # app settings\n" in raw and "# shown on login" in raw
    assert "  script: |" in raw  # the literal block stays literal where it can
    after = {r.id: r.status for r in scan("v").resources}
    assert after[SETTINGS_ID] == "in_sync" and after[OTHER_ID] == "in_sync"


def test_an_edit_that_would_not_read_back_refuses_the_plan(
    audit, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """A hostile file with a duplicate key: the scan sees the last one, the splice would
    land on the first, so the commit would not say what it claims; nothing is written."""
    shadowed = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n"
        "data:\n  mode: prod\n  mode: prod\n"
    )
    live = record_write(served(manifest(shadowed)), "kubectl-edit", {"data": {"mode": "debug"}})
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "shop/settings.yaml": shadowed}, [live]
    )
    scan()
    refs = git(repo, "for-each-ref")
    assert reconcile(report_path, "--action", "adopt", "--select", SETTINGS_ID) == 1
    err = capsys.readouterr().err
    assert "shop/settings.yaml: the edited file would not read back as the intended data" in err
    assert "at data.mode" in err and "nothing is written" in err and "Traceback" not in err
    assert git(repo, "for-each-ref") == refs


def checkout_state(repo: Path) -> tuple[object, ...]:
    """Everything of the user's checkout a command could change."""
    tree = sorted(
        (str(p.relative_to(repo)), p.stat().st_mtime_ns)
        for p in repo.rglob("*")
        if ".git" not in p.relative_to(repo).parts
    )
    return (
        git(repo, "--no-optional-locks", "status", "--porcelain", "--ignored"),
        tree,
        git(repo, "rev-parse", "HEAD"),
        (repo / ".git" / "index").read_bytes(),
        git(repo, "branch", "--show-current"),
    )


def test_a_full_run_from_inside_the_checkout_leaves_it_literally_untouched(
    audited, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "shop" / "web.yaml").write_text("# being edited by hand\n")  # a dirty work tree
    git(repo, "add", ".gitignore")
    monkeypatch.chdir(repo)
    before = checkout_state(repo)
    assert reconcile(report_path, "--action", "adopt", "--select", WEB_ID) == 0
    assert "untouched" in capsys.readouterr().out
    assert checkout_state(repo) == before
    assert git(repo, "branch", "--list", "driftwatch/*")  # the commit went to a new branch


@pytest.mark.parametrize(
    "branch, reason",
    [
        ("HEAD", "reserved by git"),
        ("@", "reserved by git"),
        ("refs/heads/x", "starts with 'refs/'"),
        ("-f", "starts with '-'"),
        ("fix..it", "contains '..'"),
        ("fix/x.lock", "ends with '.lock'"),
        ("fix it", "contains a space"),
        ("fix\x1b[31m", "control character"),
        ("a~1", "one of ~ ^ : ? * ["),
        ("fix/.hidden", "starts with '.'"),
        ("fix//x", "empty path component"),
        ("fix.", "ends with '.'"),
        ("a@{1}", "contains '@{'"),
    ],
)
def test_invalid_branch_names_are_refused_with_the_reason(
    audited, capsys: pytest.CaptureFixture[str], branch: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    refs = git(repo, "for-each-ref")
    assert (
        reconcile(report_path, "--action", "remove", "--select", GONE_ID, f"--branch={branch}") == 1
    )
    err = capsys.readouterr().err
    assert "is not valid" in err and reason in err and "\x1b" not in err
    assert git(repo, "for-each-ref") == refs
    # git refuses the name too, unless driftwatch refuses it on its own account
    extra = branch in ("HEAD", "@", "-f") or branch.startswith("refs/")
    checked = subprocess.run(
        ["git", "check-ref-format", "--branch", branch], cwd=repo, capture_output=True
    )
    assert extra or checked.returncode != 0


def import_stray(audit: AuditFactory, config: str) -> int:
    """``reconcile --action import`` of a hand-made ConfigMap under ``config``; asserts no
    branch was created when it is refused."""
    stray = served(manifest(KEEP.replace("keep", "stray")), manager="kubectl-create")
    config = f"policies: {{builtin: false}}\nunmanaged: {{kinds: [ConfigMap]}}\n{config}"
    repo, scan, report_path = audit({"driftwatch.yaml": config, "keep.yaml": KEEP}, [stray])
    scan()
    refs = git(repo, "for-each-ref")
    rid = "kubernetes:default/core/ConfigMap/shop/stray"
    code = reconcile(report_path, "--action", "import", "--select", rid)
    if code != 0:
        assert git(repo, "for-each-ref") == refs
    return code


@pytest.mark.parametrize(
    "setting, template, shown",
    [
        ("branch", "x-{name:>999999999}", "{name:>999999999}"),
        ("branch", "x-{action.__class__}", "{action.__class__}"),
        ("importPath", "{name:>999999999}.yaml", "{name:>999999999}"),
        ("importPath", "{kind.__class__.__mro__}.yaml", "{kind.__class__.__mro__}"),
        ("importPath", "{name!r}.yaml", "{name!r}"),
        ("importPath", "{0}.yaml", "{0}"),
    ],
)
def test_hostile_templates_in_the_repo_are_refused(
    audit, capsys: pytest.CaptureFixture[str], setting: str, template: str, shown: str
) -> None:  # type: ignore[no-untyped-def]
    assert import_stray(audit, f"reconcile: {{{setting}: '{template}'}}\n") == 1
    err = capsys.readouterr().err
    assert f"reconcile.{setting}" in err and shown in err and "not allowed" in err
    assert "Traceback" not in err and len(err) < 1000


@pytest.mark.parametrize(
    "template", [".github/workflows/{name}.yml", ".gitmodules", "a/.x/{name}.yaml"]
)
def test_import_never_writes_hidden_files_where_ci_and_git_settings_live(
    audit, capsys: pytest.CaptureFixture[str], template: str
) -> None:  # type: ignore[no-untyped-def]
    config = (
        f"sources: {{kubernetes: {{paths: ['**']}}}}\nreconcile: {{importPath: '{template}'}}\n"
    )
    assert import_stray(audit, config) == 1
    assert "a hidden file or directory" in capsys.readouterr().err


def test_a_pr_body_that_cannot_be_written_is_refused_before_the_branch_exists(
    audited, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    refs = git(repo, "for-each-ref")
    for where in (tmp_path, tmp_path / "missing" / "pr.md"):
        args = ("--action", "remove", "--select", GONE_ID, "--pr-body", str(where))
        assert reconcile(report_path, *args) == 1
        assert "pr.md" in capsys.readouterr().err or where == tmp_path
        assert git(repo, "for-each-ref") == refs
    capsys.readouterr()
    assert (
        reconcile(report_path, "--action", "remove", "--select", GONE_ID, "--branch", "x" * 256)
        == 1
    )
    assert "longer than 255 bytes" in capsys.readouterr().err


def test_ignore_rules_quote_keys_jq_would_misread_and_the_rescan_ignores(
    audit, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    settings = (
        "apiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: settings\n  namespace: shop\n  annotations: {owner: shop}\n"
        "data: {mode: prod}\n"
    )
    odd = {"a.b/c": "1", "$ref": "2", 'it\'s "q"': "3", "caf\u00e9 [x]": "4"}
    live = record_write(
        served(manifest(settings)), "kubectl-edit", {"metadata": {"annotations": odd}}
    )
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "settings.yaml": settings}, [live]
    )
    (found,) = [r for r in scan().resources if r.id == SETTINGS_ID]
    assert len(found.changes) == len(odd)
    assert (
        reconcile(
            report_path,
            *("--action", "ignore", "--select", SETTINGS_ID, "--reason", "set by a controller"),
            *("--branch", "ign"),
        )
        == 0
    )
    capsys.readouterr()
    config = git(repo, "show", "ign:driftwatch.yaml")
    assert (
        '.metadata.annotations[\\"a.b/c\\"]' in config or '.metadata.annotations["a.b/c"]' in config
    )
    assert ".$ref" not in config
    (after,) = [r for r in scan("ign").resources if r.id == SETTINGS_ID]
    assert after.status == "ignored" and all(c.ignored for c in after.changes)


SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n"
    "data:\n  password: aHVudGVyMg==  # base64\n"
    "stringData:\n  token: s3cr3t-token\n  cert: |\n    -----BEGIN KEY-----\n    MIIBOgIBAAJBAKj34\n"
)


def test_remove_dry_run_of_a_secret_never_prints_its_values(
    audit, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    _repo, scan, report_path = audit(
        {
            "driftwatch.yaml": "policies: {builtin: false}\n",
            "shop/db.yaml": SECRET,
            "keep.yaml": KEEP,
        },
        [served(manifest(KEEP))],
    )
    rid = "kubernetes:default/core/Secret/shop/db"
    assert {r.id: r.status for r in scan().resources}[rid] == "missing"
    assert reconcile(report_path, "--action", "remove", "--select", rid, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "-kind: Secret" in out and "-  password: <secret hmac:" in out
    for clear in ("aHVudGVyMg==", "hunter2", "s3cr3t-token", "MIIBOgIBAAJBAKj34", "BEGIN KEY"):
        assert clear not in out


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda r: setattr(r.changes[0], "path", "spec..template[["), "is malformed"),
        (lambda r: setattr(r.source, "document", -1), "document -1"),
        (lambda r: setattr(r.source, "document", 2**62), "is no longer this object"),
        (lambda r: setattr(r.source, "path", "../outside.yaml"), "not a normalized path"),
        (
            lambda r: setattr(r.source, "path", "shop/web.yaml\n100644 x\tevil"),
            "not in the audited commit",
        ),
        (lambda r: setattr(r.source, "path", "shop/web.yaml\0x"), "NUL character"),
        (lambda r: setattr(r.source, "path", ".git/config"), "inside .git"),
    ],
)
def test_tampered_reports_are_refused_with_a_message(
    audited, capsys: pytest.CaptureFixture[str], tamper, reason: str
) -> None:  # type: ignore[no-untyped-def]
    repo, scan, report_path = audited
    scan()
    report = AuditReport.from_json(report_path.read_bytes())
    tamper(next(r for r in report.resources if r.id == WEB_ID))
    report_path.write_bytes(report.to_json())
    refs = git(repo, "for-each-ref")
    assert reconcile(report_path, "--action", "adopt", "--select", WEB_ID) == 1
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err
    assert git(repo, "for-each-ref") == refs


def test_the_diff_cannot_forge_lines(
    audit: AuditFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile text from Git (a comment beside the edited line) and from the cluster (the
    adopted value) reaches the printed diff escaped, one diff line per line."""
    from tests.test_textsafe import ATTACK, assert_unforged

    hidden = "\u202e\u2066\u200b\ufeff\u061c\u00ad"  # all YAML lets a comment hold
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: shop}\n"
        f"data:\n  # note{hidden}\n  level: info\n"
    )
    live = record_write(served(manifest(text)), "kubectl-edit", {"data": {"level": f"v{ATTACK}"}})
    files = {"driftwatch.yaml": "policies: {builtin: false}\n", "shop/cm.yaml": text}
    _, scan, report_path = audit(files, [live])
    scan()
    cm = "kubernetes:default/core/ConfigMap/shop/cm"
    assert reconcile(report_path, "--action", "adopt", "--select", cm, "--dry-run") == 0
    out = capsys.readouterr().out
    assert_unforged(out)
    assert "   # note\\u202e\\u2066\\u200b\\ufeff\\u061c\\xad" in out.splitlines()
    assert [line for line in out.splitlines() if line.startswith("+  level: ")]


def test_the_pull_request_description_cannot_inject_markdown(
    audit: AuditFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file name from Git with a backtick, HTML, a link and a mention stays literal text;
    with a newline it cannot add a trailer to the commit message either."""
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: shop}\ndata: {a: '1'}\n"
    )
    live = record_write(served(manifest(text)), "kubectl-edit", {"data": {"a": "2"}})
    path = "shop/x`<img src=x onerror=alert(1)>[y](e.x) @org/all\u202e\nSigned-off-by: M <m@x>.yaml"
    files = {"driftwatch.yaml": "policies: {builtin: false}\n", path: text}
    repo, scan, report_path = audit(files, [live])
    scan()
    cm = "kubernetes:default/core/ConfigMap/shop/cm"
    body_file = tmp_path / "pr.md"
    assert (
        reconcile(
            report_path,
            *(
                "--action",
                "adopt",
                "--select",
                cm,
                "--branch",
                "fix/cm",
                "--pr-body",
                str(body_file),
            ),
        )
        == 0
    )
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", "fix/cm")
    assert trailers == f"Driftwatch-Finding: {cm}"
    assert "\nSigned-off-by" not in git(repo, "log", "-1", "--format=%B", "fix/cm")
    capsys.readouterr()
    body = body_file.read_text()
    assert (
        "- ``shop/x`<img src=x onerror=alert(1)>[y](e.x) @org/all\\u202e\\nSigned-off-by: M <m@x>.yaml``"
        in body
    )
    assert "<img" not in body.replace("``shop/x`<img", "")  # only inside the code span
    assert "\u202e" not in body
    assert "@&#8203;org/all" in body  # the action line: no mention
    assert f"- `{cm}`" in body


def test_removing_a_file_whose_name_holds_a_newline_removes_only_it(audit) -> None:  # type: ignore[no-untyped-def]
    """A Git file name can hold a newline: the index record that removes it must not be
    able to add another entry (git update-index -z)."""
    blob = "0" * 39 + "1"
    path = f"shop/gone\n100644 {blob}\tinjected.yaml"
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", path: GONE, "keep.yaml": KEEP},
        [served(manifest(KEEP))],
    )
    assert {r.id: r.status for r in scan().resources}[GONE_ID] == "missing"
    assert reconcile(report_path, "--action", "remove", "--select", GONE_ID, "--branch", "rm") == 0
    changed = git(repo, "diff", "--name-status", "-z", "main", "rm").split("\0")
    assert changed == ["D", path, ""]


def test_a_file_holding_a_bad_document_is_refused_not_edited(
    audit: AuditFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = HOSTILE["int-key"]
    web_text = WEB.replace("\r\n", "\n")
    repo, scan, report_path = audit(
        {
            "driftwatch.yaml": "policies: {builtin: false}\n",
            "shop/web.yaml": f"{web_text}---\n{bad.text}",
        },
        [record_write(served(manifest(web_text)), "kubectl-set", {"spec": {"replicas": 5}})],
    )
    report = scan()
    bad_line = web_text.count("\n") + 1 + bad.line
    assert [(e.path, e.line) for e in report.errors] == [("shop/web.yaml", bad_line)]
    assert reconcile(report_path, "--action", "adopt", "--select", WEB_ID) == 1
    err = capsys.readouterr().err
    assert f"shop/web.yaml:{bad_line}: data.1: key '1' is an int" in err and "Traceback" not in err
    assert git(repo, "branch", "--list") == "* main"


def test_a_utf16_file_is_audited_but_not_edited(
    audit: AuditFactory, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    web_text = WEB.replace("\r\n", "\n")
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n"},
        [record_write(served(manifest(web_text)), "kubectl-set", {"spec": {"replicas": 5}})],
    )
    (repo / "shop").mkdir()
    (repo / "shop/web.yaml").write_bytes(("\ufeff" + web_text).encode("utf-16-le"))
    make_repo({}, message="a file saved by Windows PowerShell")
    report = scan()
    assert report.errors == []
    assert next(r for r in report.resources if r.id == WEB_ID).status == "modified"
    assert reconcile(report_path, "--action", "adopt", "--select", WEB_ID) == 1
    err = capsys.readouterr().err
    assert "shop/web.yaml is not UTF-8 text (byte 0)" in err
    assert git(repo, "branch", "--list") == "* main"


def test_items_named_like_json_values_are_adopted_and_ignored_by_name(
    audit, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Containers named ``123`` and ``true`` are valid: their change paths keep the names
    strings, so adopt finds the item and ignore writes jq that selects it."""
    web = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
        "spec:\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
        "      - name: '123'\n        image: nginx:1.25\n"
        "      - name: 'true'\n        image: envoy:1.0\n"
    )
    edited = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "123", "image": "nginx:1.26"},
                        {"name": "true", "image": "envoy:1.1"},
                    ]
                }
            }
        }
    }
    live = record_write(served(manifest(web)), "kubectl-set", edited)
    repo, scan, report_path = audit(
        {"driftwatch.yaml": "policies: {builtin: false}\n", "web.yaml": web}, [live]
    )
    (found,) = [r for r in scan().resources if r.id == WEB_ID]
    paths = sorted(c.path for c in found.changes)
    assert paths == [
        'spec.template.spec.containers[name="123"].image',
        'spec.template.spec.containers[name="true"].image',
    ]
    adopt = ("--action", "adopt", "--select", f"{WEB_ID}#{paths[0]}", "--branch", "adopt")
    assert reconcile(report_path, *adopt) == 0
    ignore = ("--action", "ignore", "--select", f"{WEB_ID}#{paths[1]}", "--reason", "r")
    assert reconcile(report_path, *ignore, "--branch", "ign") == 0
    capsys.readouterr()
    assert "image: nginx:1.26" in git(repo, "show", "adopt:web.yaml")
    (after,) = [r for r in scan("ign").resources if r.id == WEB_ID]
    assert {c.path: bool(c.ignored) for c in after.changes} == {paths[0]: False, paths[1]: True}
