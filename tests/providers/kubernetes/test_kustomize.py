"""Kustomize is confined to the audited commit: hostile repos (built with git, rendered by
the real kubectl) neither reach outside the repository nor touch the network."""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwatch.cli import main
from driftwatch.config import KubernetesSource
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.providers.kubernetes.kustomize import DiskTree, kubectl_args, kubectl_env, resolve
from driftwatch.providers.kubernetes.manifests import load_manifests
from driftwatch.report import AuditReport, ReportError
from tests.conftest import AuditFactory, RepoFactory, git

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\ndata:\n  a: '1'\n"
DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
    "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"
)


class Listener:
    """A loopback HTTP server that counts every connection made to it."""

    def __init__(self, body: bytes) -> None:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/yaml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def verify_request(self, request: Any, client_address: Any) -> bool:
                listener.connections += 1
                return True

        self.connections = 0
        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener(CM.format("fetched").encode())
    yield server
    server.stop()


def snapshot(directory: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under ``directory``: mode, size, mtime and content hash (links unfollowed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            out[str(path.relative_to(directory))] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return out


def sentinel_dir(tmp_path: Path) -> Path:
    """Files outside the repository that a hostile kustomization aims at."""
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "kustomization.yaml").write_text("resources:\n- stolen.yaml\n")
    (sentinel / "stolen.yaml").write_text(CM.format("stolen"))
    (sentinel / "patch.yaml").write_text(CM.format("web"))
    (sentinel / "secret.env").write_text("TOKEN=hunter2\n")
    return sentinel


def hostile_files(sentinel: Path, url: str) -> dict[str, str]:
    deep = "../" * 30 + str(sentinel).lstrip("/")
    return {
        "driftwatch.yaml": "policies: {builtin: false}\n",
        # Good: a plain file, a base, and an overlay reaching it through an in-repo symlink.
        "apps/plain.yaml": CM.format("plain"),
        "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
        "base/deploy.yaml": DEPLOY,
        "good/kustomization.yaml": (
            "namespace: good\nresources:\n- base\n"
            "configMapGenerator:\n- name: settings\n  files:\n  - app.properties\n"
        ),
        "good/app.properties": "level=info\n",
        # (a) includes a directory whose kustomization.yaml is a symlink out of the repo
        "evil-a/kustomization.yaml": "resources:\n- ../evil-link\n",
        # (b) a resource far above the repository
        "evil-b/kustomization.yaml": f"resources:\n- {deep}\n",
        # (c) a remote resource on a loopback listener
        "evil-c/kustomization.yaml": f"resources:\n- {url}/x.yaml\n",
        # (d) symlinked directories that escape (evil-d/outside, evil-d/up)
        "evil-d/kustomization.yaml": "resources:\n- outside\n- up\n",
        # (e) patch and generator files that escape, directly or through a symlink
        "evil-e/kustomization.yaml": (
            "resources:\n- cm.yaml\n"
            "patches:\n- path: ../../sentinel/patch.yaml\n"
            "configMapGenerator:\n- name: loot\n  files:\n  - key=../../sentinel/secret.env\n"
            "  envs:\n  - leak.env\n"
        ),
        "evil-e/cm.yaml": CM.format("evil-e"),
        # (f) git remotes in every spelling kustomize takes
        "evil-f/kustomization.yaml": (
            "resources:\n- github.com/org/repo//path?ref=x\n"
            "components:\n- git@github.com:org/repo.git\n"
            f"bases:\n- {url.replace('http', 'https')}/base?ref=main\n"
        ),
        # helm and an exec plugin
        "evil-g/kustomization.yaml": (
            f"helmCharts:\n- name: x\n  repo: {url}/charts\ntransformers:\n- plugin.yaml\n"
        ),
        "evil-g/plugin.yaml": (
            "apiVersion: someteam.example.com/v1\nkind: Steal\nmetadata:\n  name: x\n"
            "  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./x.sh\n"
        ),
        # kustomize matches field names case-insensitively
        "evil-h/kustomization.yaml": "Resources:\n- ../../sentinel\n",
        # the repository's .git (a CI checkout keeps its token there)
        "evil-i/kustomization.yaml": (
            "configMapGenerator:\n- name: creds\n  files:\n  - ../.git/config\n"
        ),
        # an overlay over a refused base is refused too
        "evil-n/kustomization.yaml": "resources:\n- ../evil-e\n",
    }


def add_hostile_symlinks(repo: Path, sentinel: Path, make_repo: RepoFactory) -> None:
    (repo / "good/base").symlink_to("../base")
    (repo / "evil-link").mkdir()
    (repo / "evil-link/kustomization.yaml").symlink_to(sentinel / "kustomization.yaml")
    (repo / "evil-rel").mkdir()
    (repo / "evil-rel/kustomization.yaml").symlink_to("../../sentinel/kustomization.yaml")
    (repo / "evil-d/outside").symlink_to(sentinel)
    (repo / "evil-d/up").symlink_to("../../sentinel")
    (repo / "evil-e/leak.env").symlink_to(sentinel / "secret.env")
    make_repo({}, message="hostile symlinks")
    assert "120000" in git(repo, "ls-tree", "HEAD", "evil-link/")  # committed as a symlink


def refusals(errors: list[ReportError]) -> dict[tuple[str | None, int | None, str | None], str]:
    return {(e.path, e.line, e.key): e.message for e in errors}


def objects(report: AuditReport) -> set[tuple[str, str | None, str]]:
    return {(r.kind, r.namespace, r.name.split("-")[0]) for r in report.resources}


def test_a_hostile_repo_is_refused_and_nothing_outside_it_is_touched_or_contacted(
    audit: AuditFactory,
    make_repo: RepoFactory,
    listener: Listener,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sentinel = sentinel_dir(tmp_path)
    repo, scan, _ = audit(hostile_files(sentinel, listener.url), [])
    add_hostile_symlinks(repo, sentinel, make_repo)
    before = snapshot(sentinel)

    report = scan()

    assert snapshot(sentinel) == before
    assert listener.connections == 0
    found = refusals(report.errors)
    url = listener.url
    expected = {
        ("evil-link/kustomization.yaml", None, None): "symlink to outside the repository",
        ("evil-rel/kustomization.yaml", None, None): "symlink to outside the repository",
        ("evil-a/kustomization.yaml", None, None): "not rendered",
        ("evil-b/kustomization.yaml", 2, "resources.0"): "points outside the repository",
        ("evil-c/kustomization.yaml", 2, "resources.0"): f"remote reference '{url}/x.yaml'",
        ("evil-d/kustomization.yaml", 2, "resources.0"): "'outside' points outside",
        ("evil-d/kustomization.yaml", 3, "resources.1"): "'up' points outside",
        ("evil-e/kustomization.yaml", 4, "patches.0.path"): "'../../sentinel/patch.yaml'",
        ("evil-e/kustomization.yaml", 8, "configMapGenerator.0.files.0"): "secret.env' points",
        ("evil-e/kustomization.yaml", 10, "configMapGenerator.0.envs.0"): "'leak.env' points",
        ("evil-f/kustomization.yaml", 2, "resources.0"): "'github.com/org/repo//path?ref=x'",
        ("evil-f/kustomization.yaml", 4, "components.0"): "'git@github.com:org/repo.git'",
        ("evil-f/kustomization.yaml", 6, "bases.0"): "remote reference 'https://127.0.0.1",
        ("evil-g/kustomization.yaml", 1, "helmCharts"): "--enable-helm",
        ("evil-g/plugin.yaml", 1, "apiVersion"): "someteam.example.com/v1/Steal refused",
        ("evil-h/kustomization.yaml", 2, "Resources.0"): "'../../sentinel' points outside",
        ("evil-i/kustomization.yaml", 4, "configMapGenerator.0.files.0"): "'../.git/config' does",
        ("evil-n/kustomization.yaml", None, None): "not rendered",
    }
    for where, words in expected.items():
        assert where in found, where
        assert words in found[where], (where, found[where])
    assert "allowRemote: true" in found[("evil-c/kustomization.yaml", 2, "resources.0")]
    assert set(found) == set(expected)  # nothing else failed: the good ones rendered
    assert objects(report) == {
        ("ConfigMap", "default", "plain"),
        ("Deployment", "default", "web"),  # the base on its own
        ("Deployment", "good", "web"),  # through the overlay's in-repo symlink
        ("ConfigMap", "good", "settings"),  # generated from an in-repo file
    }
    # The error output names file, line and reference, and no traceback reaches the user.
    assert main(["check", "--repo", str(repo)]) in (0, 2)
    out = capsys.readouterr()
    assert "evil-c/kustomization.yaml:2 [resources.0]" in out.out + out.err
    assert "Traceback" not in out.out + out.err
    assert snapshot(sentinel) == before and listener.connections == 0


def test_worktree_mode_is_confined_too_and_never_writes_into_the_checkout(
    audit: AuditFactory,
    make_repo: RepoFactory,
    listener: Listener,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sentinel = sentinel_dir(tmp_path)
    repo, _, _ = audit(hostile_files(sentinel, listener.url), [])
    add_hostile_symlinks(repo, sentinel, make_repo)
    (repo / "good/app.properties").write_text("level=debug\n")  # an uncommitted edit
    # a committed kustomization directory replaced, in the checkout, by a symlink out
    (repo / "evil-b/kustomization.yaml").unlink()
    (repo / "evil-b").rmdir()
    (repo / "evil-b").symlink_to(sentinel)
    before, checkout = snapshot(sentinel), snapshot(repo)
    out = tmp_path / "worktree.json"

    main(
        [
            *("scan", "--repo", str(repo), "--worktree", "--kubeconfig", str(tmp_path / "kc")),
            *("--format", "json", "--output", str(out)),
        ]
    )
    capsys.readouterr()
    report = AuditReport.from_json(out.read_bytes())

    assert snapshot(sentinel) == before and snapshot(repo) == checkout
    assert listener.connections == 0
    found = refusals(report.errors)
    for where in [
        ("evil-link/kustomization.yaml", None, None),  # reached through evil-a
        ("evil-b/kustomization.yaml", None, None),  # its directory leads out: not read
        ("evil-c/kustomization.yaml", 2, "resources.0"),
        ("evil-d/kustomization.yaml", 3, "resources.1"),
        ("evil-e/kustomization.yaml", 10, "configMapGenerator.0.envs.0"),
        ("evil-i/kustomization.yaml", 4, "configMapGenerator.0.files.0"),  # .git is hidden
    ]:
        assert where in found, where
    assert ("ConfigMap", "good", "settings") in objects(report)
    assert not any(r.name == "stolen" for r in report.resources)
    settings = next(r for r in report.resources if r.name.startswith("settings-"))
    assert settings.desired and "level=debug" in settings.desired["data"]["app.properties"]


def test_allow_remote_lets_a_remote_reference_through_to_kubectl(
    make_repo: RepoFactory, listener: Listener, tmp_path: Path
) -> None:
    sentinel = sentinel_dir(tmp_path)
    before = snapshot(sentinel)
    root = make_repo(
        {
            "remote/kustomization.yaml": f"resources:\n- {listener.url}/cm.yaml\n",
            # allowing remote sources does not allow local files outside the repository
            "local/kustomization.yaml": f"resources:\n- file://{sentinel}\n- ../../sentinel\n",
        }
    )
    source = KubernetesSource.model_validate({"kustomize": {"allowRemote": True}})
    loaded = load_manifests(GitSource(open_repo(str(root))), source, None)
    assert listener.connections >= 1
    assert [(m.name, m.source.renderedFrom) for m in loaded.manifests] == [("fetched", "remote")]
    assert {(e.path, e.line) for e in loaded.errors} == {
        ("local/kustomization.yaml", 2),
        ("local/kustomization.yaml", 3),
    }
    assert all("points outside the repository" in e.message for e in loaded.errors)
    assert snapshot(sentinel) == before


def test_unicode_folded_field_names_are_checked_as_kustomize_reads_them(
    make_repo: RepoFactory, tmp_path: Path, listener: Listener
) -> None:
    """Go's JSON decoding folds U+017F (ſ) to s and U+212A (K) to k: ``baſes`` is
    ``bases`` to kustomize, so it is to the check."""
    sentinel = sentinel_dir(tmp_path)
    deep = "../" * 30 + str(sentinel).lstrip("/")
    before = snapshot(sentinel)
    root = make_repo(
        {
            "a/kustomization.yaml": f"baſes:\n- {deep}\n",
            "b/kustomization.yaml": f"reſources:\n- {listener.url}/x.yaml\n",
            "c/kustomization.yaml": f"configMapGenerator:\n- name: c\n  fileſ:\n  - {deep}/secret.env\n",
        }
    )
    loaded = load_manifests(GitSource(open_repo(str(root))), KubernetesSource(), None)
    assert loaded.manifests == []
    found = {(e.path, e.key) for e in loaded.errors}
    assert found == {
        ("a/kustomization.yaml", "baſes.0"),
        ("b/kustomization.yaml", "reſources.0"),
        ("c/kustomization.yaml", "configMapGenerator.0.fileſ.0"),
    }
    assert listener.connections == 0 and snapshot(sentinel) == before


def test_a_decoy_that_includes_a_directory_cannot_hide_it(make_repo: RepoFactory) -> None:
    """A refused or broken kustomization that includes ``prod`` would make ``prod`` look
    like a base rendered through it: it is audited on its own instead."""
    root = make_repo(
        {
            "prod/kustomization.yaml": "resources:\n- cm.yaml\n",
            "prod/cm.yaml": CM.format("prod"),
            "staging/kustomization.yaml": "resources:\n- cm.yaml\n",
            "staging/cm.yaml": CM.format("staging"),
            "decoy/kustomization.yaml": "resources:\n- ../prod\nnotAField: 1\n",  # kustomize fails
            "decoy2/kustomization.yaml": "resources:\n- ../staging\n- https://example.com/x\n",
            "single/kustomization.yaml": "resources: cm.yaml\n",  # a string, not a list
            "single/cm.yaml": CM.format("single"),
        }
    )
    loaded = load_manifests(GitSource(open_repo(str(root))), KubernetesSource(), None)
    assert sorted(m.name for m in loaded.manifests) == ["prod", "staging"]
    paths = {e.path for e in loaded.errors}
    assert {"decoy/kustomization.yaml", "decoy2/kustomization.yaml"} <= paths
    assert "single/kustomization.yaml" in paths  # kustomize says what is wrong with it


def test_cycles_end_and_inline_patches_and_builtin_plugins_pass(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "c/kustomization.yaml": "resources:\n- ../a\n",
            "a/kustomization.yaml": "resources:\n- ../b\n",
            "b/kustomization.yaml": "resources:\n- ../a\n",
            "app/kustomization.yaml": (
                "resources:\n- cm.yaml\n"
                "patchesStrategicMerge:\n- |-\n  apiVersion: v1\n  kind: ConfigMap\n"
                "  metadata:\n    name: app\n  data:\n    b: '2'\n"
                "transformers:\n- prefix.yaml\n"
            ),
            "app/cm.yaml": CM.format("app"),
            "app/prefix.yaml": (
                "apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: p\n"
                "prefix: pre-\nfieldSpecs:\n- path: metadata/name\n"
            ),
        }
    )
    loaded = load_manifests(GitSource(open_repo(str(root))), KubernetesSource(), None)
    (app,) = loaded.manifests
    assert (app.name, app.body["data"]) == ("pre-app", {"a": "1", "b": "2"})
    # the a <-> b cycle is checked once each and left to kustomize to report; what the
    # failed c includes is then rendered on its own, and fails the same way
    assert {e.path for e in loaded.errors} == {f"{d}/kustomization.yaml" for d in ("a", "b", "c")}
    assert all("kustomize failed" in e.message for e in loaded.errors)


def test_kubectl_sees_no_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "KUBECONFIG", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "secret")
    env = kubectl_env(tmp_path, remote=False)
    assert "secret" not in env.values()
    assert env["HOME"] == str(tmp_path) and env["KUBECONFIG"] == os.devnull
    assert kubectl_env(tmp_path, remote=True)["HTTPS_PROXY"] == "secret"  # only to fetch


@pytest.mark.parametrize("remote", [False, True])
def test_kubectl_cannot_clone_from_outside_even_past_the_check(
    make_repo: RepoFactory, tmp_path: Path, remote: bool
) -> None:
    """The environment alone stops kustomize's git clone of a local repository outside
    (``file://``), as if the check had missed the reference."""
    upstream = make_repo(
        {"kustomization.yaml": "resources:\n- cm.yaml\n", "cm.yaml": CM.format("cloned")}
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(f"resources:\n- file://{upstream}\n")
    home = tmp_path / "home-for-kubectl"
    home.mkdir()
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render kustomizations"
    proc = subprocess.run(
        kubectl_args(kubectl, overlay),
        capture_output=True,
        text=True,
        env=kubectl_env(home, remote),
        check=False,
    )
    assert proc.returncode != 0 and "cloned" not in proc.stdout
    assert "transport 'file' not allowed" in proc.stderr


NAMES = st.sampled_from(["a", "b", "c"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)
TARGETS = st.lists(st.sampled_from(["a", "b", "c", "..", "."]), min_size=1, max_size=4).map(
    "/".join
)
TREES = st.lists(st.tuples(PATHS, st.sampled_from(["dir", "file", "link"]), TARGETS), max_size=12)


@settings(max_examples=150, deadline=None)
@given(tree=TREES, queries=st.lists(PATHS, min_size=1, max_size=6))
def test_resolve_agrees_with_the_kernel_and_never_leaves_the_root(
    tree: list[tuple[str, str, str]], queries: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve() / "repo"  # realpath resolves a symlinked /tmp too
        root.mkdir()
        for path, kind, target in tree:
            full = root / path
            if not full.parent.is_dir() or os.path.lexists(full):
                continue
            if kind == "dir":
                full.mkdir()
            elif kind == "file":
                full.write_text("x")
            else:
                full.symlink_to(target)
        for query in queries:
            found = resolve(DiskTree(root), posixpath.normpath(query))
            real = Path(os.path.realpath(root / query))
            if found.path is not None and found.kind is not None:
                # what the checker says is inside the repository is where the kernel goes
                assert real == (root / found.path if found.path else root)
                assert found.kind == ("dir" if real.is_dir() else "file")
            elif found.path is not None:
                assert not (root / query).exists()
            else:
                assert found.links  # only a symlink can lead out of the repository
