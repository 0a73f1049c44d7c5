from pathlib import Path

import pytest

from driftwatch.cache import ScanCache
from driftwatch.gitsource import GitSource, GitSourceError, blob_id, open_repo
from tests.conftest import RepoFactory, git


def test_reads_the_commit_not_the_working_tree(make_repo: RepoFactory) -> None:
    root = make_repo({"k8s/a.yaml": "a: 1\n"})
    (root / "k8s/a.yaml").write_text("a: 2\n")  # uncommitted edit
    (root / "k8s/new.yaml").write_text("n: 1\n")  # untracked file
    source = GitSource(open_repo(str(root)))
    files = source.files(["k8s/**"])
    assert [f.path for f in files] == ["k8s/a.yaml"]
    assert source.read(files)[files[0].blob] == b"a: 1\n"
    status_before = git(root, "status", "--porcelain")

    worktree = GitSource(open_repo(str(root)), worktree=True)
    files = worktree.files(["k8s/**"])
    assert [f.path for f in files] == ["k8s/a.yaml", "k8s/new.yaml"]
    assert worktree.read(files)[files[0].blob] == b"a: 2\n"
    assert files[0].blob == blob_id(b"a: 2\n")
    # Reading never touches the user's working tree or index.
    assert git(root, "status", "--porcelain") == status_before


def test_ref_selects_an_older_commit(make_repo: RepoFactory) -> None:
    root = make_repo({"a.yaml": "v: 1\n"}, message="first")
    first = git(root, "rev-parse", "HEAD")
    make_repo({"a.yaml": "v: 2\n"}, message="second")
    source = GitSource(open_repo(str(root)), ref=first)
    files = source.files(["*.yaml"])
    assert source.read(files)[files[0].blob] == b"v: 1\n"
    assert source.commit == first


def test_last_commit_per_path(make_repo: RepoFactory) -> None:
    root = make_repo({"a.yaml": "1", "b.yaml": "1"}, message="add both")
    make_repo({"b.yaml": "2"}, message="touch b")
    history = GitSource(open_repo(str(root))).last_commits(["a.yaml", "b.yaml"])
    assert history["a.yaml"].subject == "add both"
    assert history["b.yaml"].subject == "touch b"
    assert history["b.yaml"].author == "Ada Ops"


def test_unknown_ref_and_non_repo_are_clear_errors(make_repo: RepoFactory, tmp_path: Path) -> None:
    root = make_repo({"a.yaml": "1"})
    with pytest.raises(GitSourceError, match="unknown ref 'nope'"):
        GitSource(open_repo(str(root)), ref="nope")
    with pytest.raises(GitSourceError, match="not a Git repository"):
        open_repo(str(tmp_path / "missing"))


def test_clone_url_is_cached_and_fetched(make_repo: RepoFactory) -> None:
    root = make_repo({"a.yaml": "v: 1\n"})
    url = f"file://{root}"
    first = GitSource(open_repo(url))
    make_repo({"a.yaml": "v: 2\n"})
    second = GitSource(open_repo(url), ref="main")
    assert first.commit != second.commit
    assert second.commit == git(root, "rev-parse", "HEAD")


def test_parse_cache_round_trip(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite")
    cache.put_many({"yaml:abc": {"docs": [[0, 1, {"a": 1}]]}})
    assert cache.get_many(["yaml:abc", "yaml:zzz"]) == {"yaml:abc": {"docs": [[0, 1, {"a": 1}]]}}


def test_read_path_returns_the_committed_bytes(make_repo: RepoFactory) -> None:
    root = make_repo({"a.yaml": "a: 1\r\n\n", "b.yaml": "x"})
    source = GitSource(open_repo(str(root)))
    assert source.read_path("a.yaml") == b"a: 1\r\n\n"
    assert source.read_path("missing.yaml") is None


def test_read_paths_reads_several_files_at_once_byte_exact(make_repo: RepoFactory) -> None:
    root = make_repo({"a.yaml": "a: 1\r\n", "dir/b.yaml": "b: 2", "c.yaml": ""})
    (root / "a.yaml").write_text("changed in the working tree\n")
    source = GitSource(open_repo(str(root)), "HEAD")
    found = source.read_paths(["dir/b.yaml", "a.yaml", "missing.yaml", "c.yaml"])
    assert found == {"a.yaml": b"a: 1\r\n", "dir/b.yaml": b"b: 2", "c.yaml": b""}


def test_symlinks_come_with_their_committed_targets_and_are_not_files(
    make_repo: RepoFactory,
) -> None:
    root = make_repo({"a/real.yaml": "x: 1\n"})
    (root / "a/inside.yaml").symlink_to("real.yaml")
    (root / "out").symlink_to("/etc")
    make_repo({}, message="links")
    source = GitSource(open_repo(str(root)))
    assert source.symlinks() == {"a/inside.yaml": "real.yaml", "out": "/etc"}
    assert [e.path for e in source.files(["**"])] == ["a/real.yaml"]


def test_worktree_reads_stay_inside_the_checkout(make_repo: RepoFactory, tmp_path: Path) -> None:
    """A tracked directory replaced by a symlink out of the checkout, a symlinked file and
    `.git` are never read with --worktree: the checkout is the only tree it reads."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.yaml").write_text("token: from-outside\n")
    root = make_repo({"k8s/a.yaml": "a: 1\n", "keep/b.yaml": "b: 1\n"})
    (root / "k8s/a.yaml").unlink()
    (root / "k8s").rmdir()
    (root / "k8s").symlink_to(outside)  # the tracked directory now points outside
    (root / "keep/link.yaml").symlink_to(outside / "stolen.yaml")
    source = GitSource(open_repo(str(root)), worktree=True)
    files = source.files(["**"])
    assert [f.path for f in files] == ["keep/b.yaml"]
    assert source.outside(["**"]) == ["k8s", "keep/link.yaml"]
    assert source.read_path("k8s/a.yaml") is None
    assert source.read_path("k8s/stolen.yaml") is None
    assert source.read_path("keep/link.yaml") is None
    assert source.read_path(".git/config") is None
    assert source.read_paths(["keep/b.yaml", "k8s/stolen.yaml"]) == {"keep/b.yaml": b"b: 1\n"}


def test_a_path_holding_a_newline_cannot_shift_what_other_paths_read(
    make_repo: RepoFactory,
) -> None:
    """``git cat-file --batch`` reads one name a line: ``a\\n<blob>`` would be two requests,
    and every later path would get the previous answer (a blob from anywhere)."""
    root = make_repo({"other.yaml": "elsewhere: 1\n"})
    blob = git(root, "rev-parse", "HEAD:other.yaml")
    git(root, "rm", "-q", "other.yaml")
    git(root, "commit", "-qm", "the blob now lives only in history")
    make_repo({f"k/a\n{blob}": "a: 1\n", "k/b.yaml": "b: 2\n", "k/c.yaml": "c: 3\n"})
    source = GitSource(open_repo(str(root)))
    found = source.read_paths([f"k/a\n{blob}", "k/b.yaml", "k/c.yaml"])
    assert found == {"k/b.yaml": b"b: 2\n", "k/c.yaml": b"c: 3\n"}
