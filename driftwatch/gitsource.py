"""Reading desired state out of Git: commits, trees, blobs and provenance.

Git is the source of truth, so files are read from the commit's tree, never from the
working tree (unless ``--worktree`` asks for it).  Nothing here writes to the user's
repository: no checkout, no index, no worktree, no ref update.  Remote repositories are
cloned into a cache under the XDG cache home and fetched on later runs.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git
from wcmatch import glob as wcglob

_GLOB_FLAGS = wcglob.GLOBSTAR | wcglob.DOTMATCH | wcglob.BRACE


class GitSourceError(RuntimeError):
    """The repository or ref cannot be read."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # repo-relative, forward slashes
    blob: str  # git blob id of the content


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author: str
    date: str
    subject: str


def cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "driftwatch"


def _looks_remote(repo: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", repo)) or bool(
        re.match(r"^[\w.-]+@[\w.-]+:", repo)
    )


def open_repo(repo: str) -> git.Repo:
    """A local repository, or a cached clone of a remote one (fetched on each call)."""
    if not _looks_remote(repo):
        try:
            return git.Repo(repo, search_parent_directories=False)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as exc:
            raise GitSourceError(f"{repo}: not a Git repository") from exc
    digest = hashlib.sha256(repo.encode()).hexdigest()[:16]
    target = cache_home() / "repos" / digest
    try:
        if (target / "HEAD").exists():
            cached = git.Repo(target)
            cached.git.fetch("--prune", "--tags", "origin", "+refs/heads/*:refs/heads/*")
            return cached
        target.parent.mkdir(parents=True, exist_ok=True)
        return git.Repo.clone_from(repo, target, bare=True)
    except git.GitCommandError as exc:
        raise GitSourceError(f"{repo}: cannot clone or fetch: {exc.stderr.strip()}") from exc


def compile_globs(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex for a list of globs (``**``, braces, dotfiles), matched against repo paths."""
    include, _ = wcglob.translate(list(patterns), flags=_GLOB_FLAGS)
    return re.compile("|".join(f"(?:{p})" for p in include) or "(?!)")


def blob_id(data: bytes) -> str:
    """Git's object id of a blob with this content (for working-tree files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class GitSource:
    """The files of one commit (or of the working tree) and their history."""

    def __init__(self, repo: git.Repo, ref: str = "HEAD", worktree: bool = False) -> None:
        self.repo = repo
        self.ref = ref
        self.worktree = worktree
        try:
            self.commit: str | None = repo.commit(ref).hexsha
        except (git.BadName, ValueError) as exc:
            if not worktree:
                raise GitSourceError(f"unknown ref {ref!r} in {repo.git_dir}") from exc
            self.commit = None
        if worktree and repo.bare:
            raise GitSourceError("--worktree needs a repository with a working tree")
        self._history: dict[str, CommitInfo] | None = None
        self._entries: list[FileEntry] | None = None
        self._outside: list[str] = []
        self._tree: list[tuple[str, str, str, str]] | None = None

    @property
    def root(self) -> Path:
        return Path(self.repo.working_tree_dir or self.repo.git_dir)

    def files(self, include: Iterable[str], exclude: Iterable[str] = ()) -> list[FileEntry]:
        """Files matching the globs, sorted by path."""
        if self._entries is None:
            self._entries = self._worktree_files() if self.worktree else self._tree_files()
        keep = _matcher(include, exclude)
        return [e for e in self._entries if keep(e.path)]

    def outside(self, include: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
        """With ``--worktree``: paths matching the globs that were not read because a
        symlink on the way leads out of the checkout (to be reported, not followed)."""
        self.files(include, exclude)
        keep = _matcher(include, exclude)
        return [p for p in self._outside if keep(p)]

    def _tree_files(self) -> list[FileEntry]:
        entries = [
            FileEntry(path, sha)
            for mode, kind, sha, path in self._ls_tree()
            if kind == "blob" and mode != "120000"  # symlinks are not manifests
        ]
        return sorted(entries, key=lambda e: e.path)

    def _ls_tree(self) -> list[tuple[str, str, str, str]]:
        """(mode, type, object id, path) of every entry of the commit's tree, listed once."""
        assert self.commit
        if self._tree is None:
            out = self.repo.git.ls_tree("-r", "-z", "--full-tree", self.commit)
            self._tree = []
            for record in out.split("\0"):
                if record:
                    meta, path = record.split("\t", 1)
                    mode, kind, sha = meta.split()
                    self._tree.append((mode, kind, sha, path))
        return self._tree

    def symlinks(self) -> dict[str, str]:
        """The commit's symlinks (mode 120000) and their targets, as committed: on disk
        they could point anywhere, so tools that need files on disk must check them."""
        links = {path: sha for mode, _, sha, path in self._ls_tree() if mode == "120000"}
        wanted = sorted(set(links.values()))
        targets = dict(zip(wanted, self._batch(wanted), strict=True))
        return {
            path: (targets[sha] or b"").decode("utf-8", "surrogateescape")
            for path, sha in links.items()
        }

    def _worktree_files(self) -> list[FileEntry]:
        # Tracked and untracked-but-not-ignored files, as they are on disk now.
        out = self.repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard")
        entries = []
        for path in sorted(set(out.split("\0")) - {""}):
            full = self._on_disk(path)
            if full is not None:
                entries.append(FileEntry(path, blob_id(full.read_bytes())))
            elif os.path.lexists(self.root / path) and not self._inside(self.root / path):
                self._outside.append(path)
        return entries

    def _inside(self, full: Path) -> bool:
        root = self.root.resolve()
        real = full.resolve()
        return real.is_relative_to(root) and real.relative_to(root).parts[:1] != (".git",)

    def _on_disk(self, path: str) -> Path | None:
        """The checkout's file at ``path`` if it is a regular file inside the checkout:
        a symlink, or a directory on the way replaced by one, may point anywhere."""
        full = self.root / path
        if full.is_symlink() or not full.is_file() or not self._inside(full):
            return None
        return full

    def read_path(self, path: str) -> bytes | None:
        """One file's content at the commit (or on disk with ``--worktree``), if it exists."""
        if self.worktree:
            full = self._on_disk(path)
            return full.read_bytes() if full is not None else None
        assert self.commit
        try:
            return bytes(
                self.repo.git.cat_file(
                    "blob",
                    f"{self.commit}:{path}",
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,  # the bytes exactly as committed
                )
            )
        except git.GitCommandError:
            return None

    def read(self, entries: list[FileEntry]) -> dict[str, bytes]:
        """Contents by blob id, read in one ``git cat-file --batch`` round trip."""
        if self.worktree:
            found = {e.blob: self._on_disk(e.path) for e in entries}
            return {blob: full.read_bytes() for blob, full in found.items() if full is not None}
        wanted = sorted({e.blob for e in entries})
        return {
            sha: data
            for sha, data in zip(wanted, self._batch(wanted), strict=True)
            if data is not None
        }

    def read_paths(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Several files' contents at the commit, in one round trip; absent ones left out."""
        wanted = sorted(set(paths))
        if self.worktree:
            return {p: data for p in wanted if (data := self.read_path(p)) is not None}
        assert self.commit
        found = self._batch([f"{self.commit}:{p}" for p in wanted])
        return {p: data for p, data in zip(wanted, found, strict=True) if data is not None}

    def _batch(self, names: list[str]) -> list[bytes | None]:
        """``git cat-file --batch`` of object names (ids or ``commit:path``), in order."""
        # The batch protocol is line-based: a name holding a newline (a committed path
        # can) would read as two requests and shift every answer after it.
        unsafe = [("\n" in n or "\r" in n) for n in names]
        if any(unsafe):
            answers = iter(
                self._batch([n for n, bad in zip(names, unsafe, strict=True) if not bad])
            )
            return [None if bad else next(answers) for bad in unsafe]
        if not names:
            return []
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.repo.git_dir,
            input=("\n".join(names) + "\n").encode(),
            capture_output=True,
            check=True,
        )
        data, pos = proc.stdout, 0
        out: list[bytes | None] = []
        for _ in names:
            header_end = data.index(b"\n", pos)
            header = data[pos:header_end].split()
            if header[-1] == b"missing" or len(header) != 3:
                out.append(None)
                pos = header_end + 1
                continue
            start = header_end + 1
            out.append(data[start : start + int(header[2])])
            pos = start + int(header[2]) + 1
        return out

    def last_commits(self, paths: Iterable[str]) -> dict[str, CommitInfo]:
        """The last commit that touched each path, walking history once, newest first."""
        if self.commit is None:
            return {}
        wanted = set(paths)
        if self._history is None:
            self._history = {}
        found = {p: self._history[p] for p in wanted if p in self._history}
        missing = wanted - found.keys()
        if not missing:
            return found
        for info, touched in self._walk_history():
            for path in touched & missing:
                found[path] = self._history.setdefault(path, info)
            missing -= touched
            if not missing:
                break
        return found

    def _walk_history(self) -> Iterator[tuple[CommitInfo, set[str]]]:
        assert self.commit
        proc = subprocess.Popen(
            [
                "git",
                "log",
                "--no-renames",
                "--name-only",
                "-z",
                "--format=%x01%H%x00%an%x00%aI%x00%s",
                self.commit,
            ],
            cwd=self.repo.git_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout
        try:
            buffer, decoder = "", codecs.getincrementaldecoder("utf-8")("replace")
            while block := proc.stdout.read(1 << 16):
                buffer += decoder.decode(block)
                *complete, buffer = buffer.split("\x01")
                yield from (_parse_log_record(r) for r in complete if r)
            if buffer:
                yield _parse_log_record(buffer)
        finally:
            proc.kill()
            proc.wait()


def _matcher(include: Iterable[str], exclude: Iterable[str]) -> Callable[[str], bool]:
    """Whether a repo path matches ``include`` and not ``exclude``."""
    wanted, unwanted = compile_globs(include), compile_globs(exclude)
    return lambda path: bool(wanted.match(path)) and not unwanted.match(path)


def _parse_log_record(record: str) -> tuple[CommitInfo, set[str]]:
    fields = record.split("\0")
    sha, author, date, subject = fields[:4]
    names = {n.strip("\n") for n in fields[4:] if n.strip("\n")}
    return CommitInfo(sha, author, date, subject), names
