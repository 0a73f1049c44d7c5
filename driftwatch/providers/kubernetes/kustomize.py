"""Kustomize confined to the audited commit: what a kustomization may read, checked before kubectl runs.

driftwatch runs on pull requests, so a kustomization is hostile input.  Before a
directory is rendered, every path its kustomizations name (resources, bases, components,
patches, generator files, transformer configs, … and, recursively, the kustomizations of
the directories they include) is resolved inside the repository tree, following the
committed symlinks.  A reference that leaves the repository, does not exist, or is remote
(unless ``sources.kubernetes.kustomize.allowRemote``) is an error naming the file, line
and reference, and that directory is not rendered.

What passes is the directory's *closure*: the files, directories and symlinks kustomize
may read.  Only the closure is written to a fresh temporary tree for kubectl (regular
files first, then the symlinks, which all resolve inside it), so a field this module does
not know about finds nothing on disk instead of something outside the repository.
kubectl runs with a minimal environment and its own root-only load restrictor, never with
plugins, exec functions or helm.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from driftwatch.files import write_atomic
from driftwatch.gitsource import GitSource
from driftwatch.report import ReportError
from driftwatch.yamldoc import YamlError, key_line, parse_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGINS = b"\nbuildMetadata: [originAnnotations]\n"
ALLOW_REMOTE = "sources.kubernetes.kustomize.allowRemote"
_MAX_SYMLINKS = 40  # as Linux: more hops than this is a loop
# A remote reference as kustomize understands one (its git and HTTP loaders take these
# before looking at the disk), kept deliberately broad: a URL scheme, `git::`, scp-like
# `git@host:org/repo` (a colon in the first segment) or `git@host/org/repo` (a user@ in
# it), a `//` root separator, Azure's `_git/`, a `?ref=` query, or github.com without a
# scheme.
_REMOTE = re.compile(r"^[^/]*[:@]|//|_git/|\?|^github\.com(?:/|$)", re.IGNORECASE)
_FILE_URL = re.compile(r"^file:", re.IGNORECASE)
# Fields that make kustomize run helm.
_HELM = ("helmcharts", "helmglobals", "helmchartinflationgenerator")
_HELM_MESSAGE = (
    "helm charts are not rendered: kustomize needs --enable-helm for them, which driftwatch "
    "never passes (it would run the helm binary on the repository's charts)"
)

_ESCAPING_KUSTOMIZATION = "this kustomization file is a symlink to outside the repository: ignored"

Kind = Literal["file", "dir", "link"]
Want = Literal["any", "file", "plugin", "patch", "helm"]


class Tree(Protocol):
    """The repository as kustomize would see it: regular files, directories, symlinks."""

    def kind(self, path: str) -> Kind | None:
        """What ``path`` is, without following a symlink at its end (None: nothing)."""

    def link_target(self, path: str) -> str:
        """The target of the symlink at ``path``, as stored."""

    def read(self, path: str) -> bytes:
        """The content of the regular file at ``path`` (a path without symlinks)."""

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """Several files' contents, by path (in one round trip where that helps)."""

    def escaping_kustomization_links(self) -> list[str]:
        """Symlinks named like a kustomization file, wherever they are (where known)."""


class CommitTree:
    """The tree of the audited commit: paths and symlink targets from ``git ls-tree``."""

    def __init__(self, source: GitSource) -> None:
        self._source = source
        self._files = {e.path for e in source.files(["**"])}
        self._links = source.symlinks()
        self._dirs = {""}
        for path in (*self._files, *self._links):
            parent = posixpath.dirname(path)
            while parent not in self._dirs:
                self._dirs.add(parent)
                parent = posixpath.dirname(parent)

    def kind(self, path: str) -> Kind | None:
        if path in self._links:
            return "link"
        if path in self._files:
            return "file"
        return "dir" if path in self._dirs else None

    def link_target(self, path: str) -> str:
        return self._links[path]

    def read(self, path: str) -> bytes:
        return self._source.read_path(path) or b""

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        return self._source.read_paths(paths)

    def escaping_kustomization_links(self) -> list[str]:
        return sorted(
            path
            for path in self._links
            if posixpath.basename(path) in KUSTOMIZATION_FILES and resolve(self, path).path is None
        )


class DiskTree:
    """A checkout on disk (``--worktree``), read without following symlinks; ``.git`` is
    not part of it (it holds credentials, e.g. a CI checkout's auth header)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def kind(self, path: str) -> Kind | None:
        if ".git" in path.lower().split("/"):  # .GIT too, on case-insensitive disks
            return None
        try:
            mode = os.lstat(self._root / path).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISDIR(mode):
            return "dir"
        return "file" if stat.S_ISREG(mode) else None

    def link_target(self, path: str) -> str:
        return os.readlink(self._root / path)

    def read(self, path: str) -> bytes:
        fd = os.open(self._root / path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        return {path: self.read(path) for path in paths}

    def escaping_kustomization_links(self) -> list[str]:
        return []  # only those a kustomization references are found (and refused)


@dataclass(frozen=True, slots=True)
class Resolved:
    path: str | None  # repo path with every symlink resolved; None: it leaves the repository
    kind: Kind | None  # "file" or "dir"; None: nothing there
    links: tuple[str, ...]  # the symlinks passed on the way (all inside the repository)


def resolve(tree: Tree, path: str) -> Resolved:
    """``path`` (repo-relative, lexically normalized) with its symlinks followed, as the
    kernel would, but never past the repository root."""
    pending = [p for p in reversed(path.split("/")) if p not in ("", ".")]
    done: list[str] = []
    links: list[str] = []
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return Resolved(None, None, tuple(links))
            done.pop()
            continue
        here = "/".join([*done, part])
        kind = tree.kind(here)
        if kind == "link":
            target = tree.link_target(here)
            if target.startswith("/") or len(links) >= _MAX_SYMLINKS:
                return Resolved(None, None, tuple(links))
            links.append(here)
            pending.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
            continue
        if kind is None or (kind == "file" and pending):
            return Resolved("/".join([*done, part, *reversed(pending)]), None, tuple(links))
        done.append(part)
    final = "/".join(done)
    return Resolved(final, tree.kind(final) if final else "dir", tuple(links))


@dataclass
class Closure:
    """What kustomize may read to render one directory, once every reference checked out."""

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)
    remote: bool = False  # it names remote sources (allowed by the config)
    refused: bool = False  # a kustomization it includes failed the check: not rendered


@dataclass
class _Visit:
    """One kustomization directory's own references."""

    closure: Closure
    children: list[str]
    errors: list[ReportError]


@dataclass
class Checked:
    closures: dict[str, Closure]  # by render root
    errors: list[ReportError]


def check(tree: Tree, roots: list[str], allow_remote: bool) -> Checked:
    """Check the kustomizations of every render root (and all they include, recursively)."""
    checker = _Checker(tree, allow_remote)
    errors = [
        ReportError(path=path, message=_ESCAPING_KUSTOMIZATION)
        for path in tree.escaping_kustomization_links()
    ]
    closures = {root: checker.closure(root) for root in roots}
    seen: set[tuple[str | None, int | None, str | None, str]] = set()
    for visit in checker.visits.values():
        for error in visit.errors:
            mark = (error.path, error.line, error.key, error.message)
            if mark not in seen:
                seen.add(mark)
                errors.append(error)
    for root, closure in closures.items():
        own = checker.visits[checker.starts[root]]
        if closure.refused and not own.errors:
            errors.append(
                ReportError(
                    path=checker.kustomization_file(root),
                    message="not rendered: a kustomization it includes was refused "
                    "(see the errors on that file)",
                )
            )
    return Checked(closures, errors)


class _Checker:
    def __init__(self, tree: Tree, allow_remote: bool) -> None:
        self.tree = tree
        self.allow_remote = allow_remote
        self.visits: dict[str, _Visit] = {}  # by directory, after symlinks
        self.starts: dict[str, str] = {}  # render root → its directory after symlinks

    def kustomization_file(self, directory: str) -> str:
        for name in KUSTOMIZATION_FILES:
            path = posixpath.join(directory, name)
            if self.tree.kind(path) is not None:
                return path
        return posixpath.join(directory, KUSTOMIZATION_FILES[0])

    def closure(self, root: str) -> Closure:
        """The union of the visits reachable from ``root`` (each directory once: cycles end)."""
        total = Closure()
        start = resolve(self.tree, root)  # a checkout's directory may be a symlink
        self.starts[root] = root if start.path is None else start.path
        if start.path is None:
            error = ReportError(
                path=root, message="this directory is a symlink to outside the repository"
            )
            self.visits[root] = _Visit(Closure(), [], [error])
            total.refused = True
            return total
        total.links |= set(start.links)
        stack, reached = [start.path], set()
        while stack:
            directory = stack.pop()
            if directory in reached:
                continue
            reached.add(directory)
            visit = self.visits.get(directory) or self._visit(directory)
            self.visits[directory] = visit
            total.files |= visit.closure.files
            total.dirs |= visit.closure.dirs
            total.links |= visit.closure.links
            total.remote |= visit.closure.remote
            total.refused |= bool(visit.errors)
            stack.extend(visit.children)
        return total

    def _visit(self, directory: str) -> _Visit:
        visit = _Visit(Closure(dirs={directory}), [], [])
        kfile = None
        for name in KUSTOMIZATION_FILES:
            path = posixpath.join(directory, name)
            found = resolve(self.tree, path)
            if found.path is None:
                visit.errors.append(ReportError(path=path, message=_ESCAPING_KUSTOMIZATION))
            elif found.kind == "file":
                visit.closure.links.update(found.links)
                visit.closure.files.add(found.path)
                kfile = kfile or (path, found.path)
        if kfile is None:
            return visit  # kustomize reports the missing file itself
        shown, real = kfile
        text = self._read(visit, real)
        if text is None:
            return visit
        try:
            docs = parse_documents(text)
        except YamlError as exc:
            visit.errors.append(ReportError(path=shown, line=exc.line, message=exc.message))
            return visit
        spec = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
        for keys, ref, want in _references(spec):
            self._reference(visit, directory, _Where(shown, text, 0, keys), ref, want)
        return visit

    def _reference(self, visit: _Visit, base: str, where: _Where, ref: str, want: Want) -> None:
        """Check one reference made from kustomization directory ``base``."""
        if want == "patch" and ("\n" in ref or isinstance(_inline(ref), dict)):
            return  # an inline patch, not a file
        if want == "plugin" and ("\n" in ref or isinstance(_inline(ref), dict)):
            self._plugin_configs(visit, base, where, ref)
            return
        if want == "helm":
            visit.errors.append(where.error(_HELM_MESSAGE))
            return
        if _REMOTE.search(ref) and not _FILE_URL.match(ref):
            if self.allow_remote:
                visit.closure.remote = True
                return
            visit.errors.append(
                where.error(
                    f"remote reference {ref!r} refused: kustomize would fetch it over the "
                    f"network (set {ALLOW_REMOTE}: true to allow remote references)"
                )
            )
            return
        path = posixpath.normpath(posixpath.join(base, ref))
        found = (
            Resolved(None, None, ())
            if ref.startswith("/") or _FILE_URL.match(ref) or path == ".." or path.startswith("../")
            else resolve(self.tree, "" if path == "." else path)
        )
        if found.path is None:
            visit.errors.append(where.error(f"{ref!r} points outside the repository: refused"))
            return
        if found.kind is None:
            visit.errors.append(where.error(f"{ref!r} does not exist in the repository"))
            return
        visit.closure.links.update(found.links)
        if found.kind == "dir":
            if want in ("any", "plugin"):
                visit.children.append(found.path)
            return
        visit.closure.files.add(found.path)
        if want == "plugin" and (text := self._read(visit, found.path)) is not None:
            self._plugin_configs(visit, base, _Where(found.path, text, 0, ()), text)

    def _read(self, visit: _Visit, path: str) -> str | None:
        try:
            return self.tree.read(path).decode("utf-8", "replace")
        except OSError as exc:  # a checkout changing under us, or unreadable
            visit.errors.append(ReportError(path=path, message=f"cannot read: {exc.strerror}"))
            return None

    def _plugin_configs(self, visit: _Visit, base: str, where: _Where, text: str) -> None:
        """Generator/transformer/validator configs: kustomize's builtins only, their files
        checked like the kustomization's own (relative to the kustomization directory)."""
        try:
            docs = parse_documents(text)
        except YamlError as exc:
            visit.errors.append(where.error(exc.message))
            return
        for doc in docs:
            data = doc.data if isinstance(doc.data, dict) else {}
            at = where if where.keys else _Where(where.path, where.text, doc.index, ())
            if data.get("apiVersion") != "builtin":
                kind = data.get("kind")
                visit.errors.append(
                    (at if at.keys else at.nested(("apiVersion",))).error(
                        f"plugin {data.get('apiVersion')}/{kind} refused: only kustomize's "
                        "builtin plugins (apiVersion: builtin) are rendered"
                    )
                )
                continue
            for keys, ref, want in _plugin_references(data):
                self._reference(visit, base, at.nested(keys), ref, want)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a reference is written: file, its text, document and key path (for the line)."""

    path: str
    text: str
    document: int
    keys: tuple[str | int, ...]

    def nested(self, keys: tuple[str | int, ...]) -> _Where:
        return _Where(self.path, self.text, self.document, (*self.keys, *keys))

    def error(self, message: str) -> ReportError:
        line = key_line(self.text, self.document, self.keys) if self.keys else None
        key = ".".join(map(str, self.keys)) or None
        return ReportError(path=self.path, line=line, key=key, message=message)


def _inline(text: str) -> Any:
    try:
        docs = parse_documents(text)
    except YamlError:
        return None
    return docs[0].data if docs else None


def _fields(mapping: Any, *names: str) -> Iterator[tuple[str, Any]]:
    """Entries of ``mapping`` for these field names, matched case-insensitively as
    kustomize's JSON decoding does (``Resources:`` is ``resources``).  Go folds Unicode
    too (``reſources`` with U+017F, ``K`` U+212A): ``casefold`` folds at least as much."""
    if isinstance(mapping, dict):
        for key, value in mapping.items():
            if isinstance(key, str) and key.casefold() in names:
                yield key, value


def included(directory: str, spec: Any) -> set[str]:
    """The directories a kustomization in ``directory`` includes (resources, bases,
    components), read as kustomize reads its fields."""
    return {
        posixpath.normpath(posixpath.join(directory, ref))
        for _, value in _fields(spec, "resources", "bases", "components")
        for _, ref in _strings(value)
    }


def _strings(value: Any) -> Iterator[tuple[int, str]]:
    for i, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, str) and item:
            yield i, item


Reference = tuple[tuple[str | int, ...], str, Want]


def _references(spec: dict[str, Any]) -> Iterator[Reference]:
    """Every (key path, reference, how it is read) of a kustomization."""
    for key, value in _fields(spec, "resources", "bases", "components"):
        yield from (((key, i), ref, "any") for i, ref in _strings(value))
    for key, value in _fields(spec, "crds", "configurations"):
        yield from (((key, i), ref, "file") for i, ref in _strings(value))
    for key, value in _fields(spec, "patchesstrategicmerge"):
        yield from (((key, i), ref, "patch") for i, ref in _strings(value))
    for key, value in _fields(spec, "generators", "transformers", "validators"):
        yield from (((key, i), ref, "plugin") for i, ref in _strings(value))
    for key, value in _fields(spec, "openapi"):
        for sub, path in _fields(value, "path"):
            if isinstance(path, str) and path:
                yield (key, sub), path, "file"
    for key, value in _fields(spec, "patches", "patchesjson6902", "replacements"):
        for i, item in enumerate(value if isinstance(value, list) else []):
            for sub, path in _fields(item, "path"):
                if isinstance(path, str) and path:
                    yield (key, i, sub), path, "file"
    for key, value in _fields(spec, "configmapgenerator", "secretgenerator"):
        for i, item in enumerate(value if isinstance(value, list) else []):
            for keys, ref, want in _generator_files(item):
                yield (key, i, *keys), ref, want
    for key, _ in _fields(spec, *_HELM):
        yield (key,), "", "helm"


def _generator_files(args: Any) -> Iterator[Reference]:
    """The files of a ConfigMap/Secret generator: ``files`` (``key=path`` or a path),
    ``envs`` and the older ``env``."""
    for key, value in _fields(args, "files"):
        for i, entry in _strings(value):
            yield (key, i), entry.partition("=")[2] if "=" in entry else entry, "file"
    for key, value in _fields(args, "envs"):
        yield from (((key, i), ref, "file") for i, ref in _strings(value))
    for key, value in _fields(args, "env"):
        if isinstance(value, str) and value:
            yield (key,), value, "file"


def _plugin_references(config: dict[str, Any]) -> Iterator[Reference]:
    """The files a builtin plugin's config names (the builtins that read files)."""
    kind = config.get("kind")
    if kind in ("PatchTransformer", "PatchJson6902Transformer"):
        for key, path in _fields(config, "path"):
            if isinstance(path, str) and path:
                yield (key,), path, "file"
    elif kind == "PatchStrategicMergeTransformer":
        for key, value in _fields(config, "paths"):
            yield from (((key, i), ref, "patch") for i, ref in _strings(value))
    elif kind in ("ConfigMapGenerator", "SecretGenerator"):
        yield from _generator_files(config)
    elif kind == "ReplacementTransformer":
        for key, value in _fields(config, "replacements"):
            for i, item in enumerate(value if isinstance(value, list) else []):
                for sub, path in _fields(item, "path"):
                    if isinstance(path, str) and path:
                        yield (key, i, sub), path, "file"
    elif kind == "HelmChartInflationGenerator":
        yield ("kind",), "", "helm"


def materialize(tree: Tree, closure: Closure, destination: Path, origins: bool) -> None:
    """Write the closure to ``destination`` (a new, empty directory of driftwatch's own).

    Regular files are written first, while the tree holds no symlink at all, so no write
    can follow one; the symlinks come last and all resolve inside ``destination``.  With
    ``origins``, kustomization files ask kustomize to record where each object came from.
    """
    for directory in sorted(closure.dirs):
        _inside(destination, directory).mkdir(parents=True, exist_ok=True)
    contents = tree.read_many(sorted(closure.files))
    for path, data in sorted(contents.items()):
        named = posixpath.basename(path) in KUSTOMIZATION_FILES
        if origins and named and b"buildMetadata" not in data:
            data = data.rstrip(b"\n") + ORIGINS
        target = _inside(destination, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
    for path in sorted(closure.links):
        link = _inside(destination, path)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(tree.link_target(path), link)


def _inside(destination: Path, path: str) -> Path:
    """``destination / path``, for a resolved repo path (never absolute, never ``..``)."""
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError(f"not a path inside the tree: {path!r}")  # resolve() never gives one
    return destination / path


# What kubectl kustomize may see of driftwatch's environment: nothing secret.  Remote
# sources (when allowed) also get the proxy and CA settings they may need.
_NETWORK_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def kubectl_env(home: Path, remote: bool) -> dict[str, str]:
    """A minimal environment for ``kubectl kustomize``, with ``home`` as its home."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "KUBECONFIG": os.devnull,
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
    }
    if remote:
        env.update({name: os.environ[name] for name in _NETWORK_ENV if name in os.environ})
        env["GIT_ALLOW_PROTOCOL"] = "https:http:ssh:git"  # never file:// or ext::
    else:
        # Behind the check, in case it ever misses a reference: kustomize clones with
        # git, which then refuses every transport, and fetches files over HTTP, which
        # goes to a dead proxy (Go never proxies loopback; the check is what stops that).
        env["GIT_ALLOW_PROTOCOL"] = ""
        env["HTTP_PROXY"] = env["HTTPS_PROXY"] = "http://127.0.0.1:9"
    return env


def kubectl_args(kubectl: str, directory: Path) -> list[str]:
    """The one way driftwatch calls kustomize: never plugins, exec functions or helm."""
    return [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsRootOnly", str(directory)]
