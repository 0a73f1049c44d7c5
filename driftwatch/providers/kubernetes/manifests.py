"""Kubernetes manifests out of Git: plain files, ``kind: List`` and kustomize directories.

Every object keeps its provenance (file, document index, start line, last commit).
Parses are cached by blob id and renders by tree id, so an unchanged repo parses nothing.
A bad document is reported with its file and line and the rest of the repo still loads.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driftwatch.cache import ScanCache
from driftwatch.config import KubernetesSource
from driftwatch.gitsource import FileEntry, GitSource, compile_globs
from driftwatch.providers.base import Loaded, Manifest
from driftwatch.providers.kubernetes import kustomize
from driftwatch.providers.kubernetes.kustomize import KUSTOMIZATION_FILES as KUSTOMIZATION_FILES
from driftwatch.report import ReportError, Source
from driftwatch.yamldoc import (
    PARSER_VERSION,
    YamlError,
    decode,
    key_line,
    parse_documents,
    parse_stream,
)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Files that are YAML but never Kubernetes objects.
ALWAYS_EXCLUDED = [
    "driftwatch.yaml",
    ".github/**",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    "**/Chart.yaml",
    "**/values*.yaml",
    "**/.*.yaml",
    "**/.*.yml",
]
# Documents of driftwatch's own kinds (policies, exceptions, AWS specs) are read elsewhere.
OWN_API_PREFIX = "driftwatch.dev/"
_ORIGIN = "config.kubernetes.io/origin"


def load_manifests(source: GitSource, config: KubernetesSource, cache: ScanCache | None) -> Loaded:
    """Every Kubernetes object the commit declares, with the problems found on the way.

    A commit already loaded with the same settings comes back from one cached bundle.
    """
    key = None
    if cache and source.commit and not source.worktree:
        settings = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
        key = f"bundle{PARSER_VERSION}:{source.commit}:{settings}"
        bundle = cache.get_many([key]).get(key)
        if bundle is not None:
            try:
                return _from_bundle(bundle)
            except (TypeError, KeyError, ValueError):
                pass  # a bundle of another shape: loaded again, and stored anew
    loaded = _load(source, config, cache)
    # Renders depend on the local kubectl; Secrets are never stored in clear.
    if (
        cache
        and key
        and not any(m.source.renderedFrom or m.kind == "Secret" for m in loaded.manifests)
    ):
        cache.put_many({key: _to_bundle(loaded)})
    return loaded


def _to_bundle(loaded: Loaded) -> dict[str, Any]:
    return {
        "files": loaded.files_parsed + loaded.files_cached,
        "manifests": [
            [
                m.api_version,
                m.kind,
                m.namespace,
                m.name,
                m.body,
                m.source.model_dump(exclude_none=True),
            ]
            for m in loaded.manifests
        ],
        "errors": [e.model_dump(exclude_none=True) for e in loaded.errors],
        "own": loaded.own_files,
    }


def _from_bundle(bundle: dict[str, Any]) -> Loaded:
    manifests = [
        Manifest(api_version, kind, namespace, name, body, Source.model_construct(**source))
        for api_version, kind, namespace, name, body, source in bundle["manifests"]
    ]
    errors = [ReportError.model_validate(e) for e in bundle["errors"]]
    return Loaded(manifests, errors, 0, bundle["files"], list(bundle.get("own", [])))


def _load(source: GitSource, config: KubernetesSource, cache: ScanCache | None) -> Loaded:
    include = config.paths + [f"**/{k}" for k in KUSTOMIZATION_FILES]
    entries = source.files(include, config.exclude + ALWAYS_EXCLUDED)
    escaped = source.outside(include, config.exclude + ALWAYS_EXCLUDED)
    kustomize_dirs, render_roots, includes = _kustomizations(source, entries)
    manifest_globs = compile_globs(config.paths)
    plain = [
        e
        for e in entries
        if e.path.endswith(MANIFEST_SUFFIXES)
        and not any(_inside(e.path, d) for d in kustomize_dirs)
        and manifest_globs.match(e.path)
    ]
    loaded = Loaded(manifests=[], errors=[])
    loaded.errors += [
        ReportError(path=path, message="not read: a symlink on its path leads out of the checkout")
        for path in escaped
    ]
    key_of = {e.blob: f"yaml{PARSER_VERSION}:{e.blob}" for e in plain}
    cached = cache.get_many(list(key_of.values()), is_cached_parse) if cache else {}
    fresh: dict[str, Any] = {}
    texts: dict[str, str] = {}
    contents = source.read([e for e in plain if key_of[e.blob] not in cached])
    for entry in plain:
        parsed = cached.get(key_of[entry.blob])
        if parsed is None:
            parsed = fresh[key_of[entry.blob]] = parse_cacheable(contents[entry.blob])
            loaded.files_parsed += 1
        else:
            loaded.files_cached += 1
        _collect(
            entry.path,
            parsed,
            loaded,
            lambda p=entry.path, b=entry.blob: _text(source, texts, p, b),
        )
    if render_roots:
        # Every kustomization is checked before kubectl runs: one that refers outside the
        # repository (or, unless allowed, to a remote source) is reported, not rendered.
        tree = kustomize.DiskTree(source.root) if source.worktree else kustomize.CommitTree(source)
        tried: set[str] = set()
        roots = render_roots
        while roots:
            checked = kustomize.check(tree, roots, config.kustomize.allowRemote)
            loaded.errors.extend(e for e in checked.errors if e not in loaded.errors)
            failed = [
                directory
                for directory in roots
                if checked.closures[directory].refused
                or not _render(
                    source, directory, cache, fresh, loaded, tree, checked.closures[directory]
                )
            ]
            tried.update(roots)
            # What a refused or broken kustomization includes is still audited on its own:
            # a decoy that includes a directory must not hide it.
            roots = sorted({d for f in failed for d in includes.get(f, ())} - tried)
    _locate_origins(source, entries, loaded)
    if cache:
        cache.put_many(cacheable(fresh))
    _add_history(source, loaded)
    return loaded


def _text(source: GitSource, texts: dict[str, str], path: str, blob: str) -> str:
    """A file's text, read again only for the line of a key (its documents parsed fine)."""
    if path not in texts:
        try:
            texts[path] = decode(source.read([FileEntry(path, blob)])[blob])
        except YamlError:
            texts[path] = ""
    return texts[path]


def parse_cacheable(content: str | bytes) -> dict[str, Any]:
    """A file's good documents (index, line, data) and the problems of the others, or its
    parse error, as the parse cache stores them (shared with the AWS spec loader)."""
    try:
        parsed = parse_stream(decode(content) if isinstance(content, bytes) else content)
    except YamlError as exc:
        return {"error": exc.message, "line": exc.line}
    return {
        "docs": [[d.index, d.line, d.data] for d in parsed.documents],
        "problems": [
            {"line": p.line, "message": p.message, "key": p.key, "warning": p.warning}
            for p in parsed.problems
        ],
    }


def is_cached_parse(value: Any) -> bool:
    """Whether a parse-cache row has the shape :func:`parse_cacheable` writes."""
    if not isinstance(value, dict):
        return False
    if "error" in value:
        return isinstance(value["error"], str) and isinstance(value.get("line"), int | None)
    docs, problems = value.get("docs"), value.get("problems", [])
    return (
        isinstance(docs, list)
        and all(
            isinstance(d, list) and len(d) == 3 and all(isinstance(n, int) for n in d[:2])
            for d in docs
        )
        and isinstance(problems, list)
        and all(
            isinstance(p, dict)
            and isinstance(p.get("message"), str)
            and isinstance(p.get("line"), int | None)
            and isinstance(p.get("key"), str | None)
            for p in problems
        )
    )


def holds_secrets(data: Any) -> bool:
    """A Secret (or a List with one), or a driftwatch document with ``spec.properties``:
    AWS specs may hold secret or write-only properties, which only the AWS spec loader
    can tell apart (it stores those that hold none)."""
    if not isinstance(data, dict):
        return False
    if data.get("kind") == "Secret":
        return True
    if str(data.get("apiVersion")).startswith(OWN_API_PREFIX):
        spec = data.get("spec")
        return isinstance(spec, dict) and "properties" in spec
    items = data.get("items")
    return isinstance(items, list) and any(holds_secrets(item) for item in items)


def cacheable(
    fresh: dict[str, Any], holds: Callable[[Any], bool] = holds_secrets
) -> dict[str, Any]:
    """The parses that may be stored: none with a document holding secret values, which
    the cache would keep in clear (``holds`` tells, by document)."""
    return {
        key: parsed
        for key, parsed in fresh.items()
        if not any(holds(data) for _, _, data in parsed.get("docs", []))
    }


def _inside(path: str, directory: str) -> bool:
    return directory == "" or path.startswith(directory + "/")


def _kustomizations(
    source: GitSource, entries: list[FileEntry]
) -> tuple[list[str], list[str], dict[str, set[str]]]:
    """All kustomization dirs, those no other kustomization includes (bases render via
    overlays), and which kustomization dirs each one includes."""
    kfiles = [e for e in entries if posixpath.basename(e.path) in KUSTOMIZATION_FILES]
    if not kfiles:
        return [], [], {}
    dirs = {posixpath.dirname(e.path): e for e in kfiles}
    contents = source.read(kfiles)
    includes: dict[str, set[str]] = {}
    for directory, entry in dirs.items():
        try:
            docs = parse_documents(decode(contents[entry.blob]))
        except YamlError:
            continue  # kustomize itself reports it when the dir is rendered
        spec = docs[0].data if docs else None
        includes[directory] = kustomize.included(directory, spec) & dirs.keys()
    referenced = set().union(*includes.values())
    return sorted(dirs), sorted(d for d in dirs if d not in referenced), includes


def _collect(
    path: str, parsed: dict[str, Any], loaded: Loaded, text: Any, rendered_from: str | None = None
) -> None:
    if "error" in parsed:
        loaded.errors.append(
            ReportError(path=path, line=parsed.get("line"), message=parsed["error"])
        )
        return
    for problem in parsed.get("problems", []):
        loaded.errors.append(
            ReportError(
                path=path,
                line=problem["line"],
                key=problem["key"],
                message=problem["message"],
                level="warning" if problem["warning"] else "error",
            )
        )
    for index, line, data in parsed["docs"]:
        _document(path, index, line, data, loaded, text, rendered_from, ())


def _document(
    path: str,
    index: int,
    line: int,
    data: Any,
    loaded: Loaded,
    text: Any,
    rendered_from: str | None,
    prefix: tuple[str | int, ...],
) -> None:
    def error(message: str, key: tuple[str | int, ...] = ()) -> None:
        full = (*prefix, *key)
        where = key_line(text(), index, full) if full and rendered_from is None else line
        loaded.errors.append(
            ReportError(
                path=path, line=where, key=".".join(map(str, full)) or None, message=message
            )
        )

    if not isinstance(data, dict):
        error(f"document is {_a(data)}, not a Kubernetes object")
        return
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if isinstance(api_version, str) and api_version.startswith(OWN_API_PREFIX):
        if path not in loaded.own_files:
            loaded.own_files.append(path)
        return
    if not isinstance(kind, str) or not kind:
        error("document has no kind", ("kind",) if "kind" in data else ())
        return
    if not isinstance(api_version, str) or not api_version:
        error(f"{kind} has no apiVersion", ("apiVersion",) if "apiVersion" in data else ())
        return
    if kind.endswith("List") and isinstance(data.get("items"), list):
        for i, item in enumerate(data["items"]):
            _document(path, index, line, item, loaded, text, rendered_from, (*prefix, "items", i))
        return
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    problem = _shape_problem(kind, data)
    if problem is not None:
        error(
            f"{kind} {name if isinstance(name, str) else '?'}: {problem[1]}: not loaded", problem[0]
        )
        return
    if not isinstance(name, str) or not name:
        error(f"{kind} has no metadata.name", ("metadata",) if isinstance(meta, dict) else ())
        return
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    loaded.manifests.append(
        Manifest(
            api_version=api_version,
            kind=kind,
            namespace=namespace if isinstance(namespace, str) and namespace else None,
            name=name,
            body=data,
            source=Source(path=path, line=line, document=index, renderedFrom=rendered_from),
        )
    )


def _shape_problem(kind: str, data: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
    """The one check of what the engine, normalizer and policies assume of an object's
    shape (string maps where Kubernetes has them), so nothing past the loader crashes."""
    meta = data.get("metadata")
    if meta is None:
        return None  # reported as a missing name
    if not isinstance(meta, dict):
        return ("metadata",), f"metadata is {_a(meta)}, not a map"
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        return ("metadata", "namespace"), f"metadata.namespace is {_a(namespace)}, not a string"
    fields: list[tuple[str, ...]] = [("metadata", "labels"), ("metadata", "annotations")]
    if kind == "Secret":
        fields += [("data",), ("stringData",)]
    for field in fields:
        value = meta.get(field[1]) if field[0] == "metadata" else data.get(field[0])
        if value is None:
            continue
        if not isinstance(value, dict):
            return field, f"{'.'.join(field)} is {_a(value)}, not a map of strings"
        for key, item in value.items():
            if not isinstance(item, str):
                return (*field, key), f"{'.'.join(field)}.{key} is {_a(item)}, not a string"
    return None


def _a(value: Any) -> str:
    """``value``'s YAML type, for messages: "a list", "an int", "null"…"""
    if value is None:
        return "null"
    name = {bool: "boolean", int: "int", float: "float", str: "string", dict: "map", list: "list"}
    kind = name.get(type(value), type(value).__name__)
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _render(
    source: GitSource,
    directory: str,
    cache: ScanCache | None,
    fresh: dict[str, Any],
    loaded: Loaded,
    tree: kustomize.Tree,
    closure: kustomize.Closure,
) -> bool:
    """Render one kustomization directory into ``loaded``; False if it failed (reported)."""
    where = posixpath.join(directory, "kustomization.yaml") if directory else "kustomization.yaml"
    key = (
        f"kustomize{PARSER_VERSION}:{source.commit}:{directory}"
        if source.commit and not source.worktree
        else None
    )
    parsed = (cache.get_many([key], is_cached_parse).get(key) if cache and key else None) or (
        fresh.get(key or "")
    )
    if parsed is None:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            loaded.errors.append(
                ReportError(
                    path=where,
                    message="kubectl is not installed: it is needed to render this kustomization (install kubectl or exclude the directory)",
                )
            )
            return False
        try:
            proc = _kustomize(kubectl, tree, closure, directory, origins=not source.worktree)
            if proc.returncode != 0 and not source.worktree:
                # Old kustomize versions do not know buildMetadata: render without origins.
                proc = _kustomize(kubectl, tree, closure, directory, origins=False)
        except OSError as exc:  # a --worktree file changed or vanished while copying it
            loaded.errors.append(ReportError(path=where, message=f"cannot render: {exc}"))
            return False
        if proc.returncode != 0:
            loaded.errors.append(
                ReportError(path=where, message=f"kustomize failed: {proc.stderr.strip()}")
            )
            return False
        parsed = parse_cacheable(proc.stdout)
        if key:
            fresh[key] = parsed
        loaded.files_parsed += 1
    else:
        loaded.files_cached += 1
    before = len(loaded.manifests)
    _collect(where, parsed, loaded, lambda: "", rendered_from=directory or ".")
    for manifest in loaded.manifests[before:]:
        _apply_origin(manifest, directory)
    return True


def _kustomize(
    kubectl: str,
    tree: kustomize.Tree,
    closure: kustomize.Closure,
    directory: str,
    origins: bool,
) -> subprocess.CompletedProcess[str]:
    """Render from a private copy of what the checked kustomizations may read (never the
    user's checkout), optionally with kustomize asked to record object origins."""
    with tempfile.TemporaryDirectory(prefix="driftwatch-kustomize-") as tmp:
        root = Path(tmp) / "tree"
        kustomize.materialize(tree, closure, root, origins)
        return subprocess.run(
            kustomize.kubectl_args(kubectl, root / directory),
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
            env=kustomize.kubectl_env(Path(tmp), closure.remote),
        )


def _apply_origin(manifest: Manifest, directory: str) -> None:
    """Point the provenance at the file that defines the object, and drop the annotation."""
    annotations = manifest.body.get("metadata", {}).get("annotations") or {}
    origin = annotations.pop(_ORIGIN, None)
    if not annotations and "annotations" in manifest.body.get("metadata", {}):
        del manifest.body["metadata"]["annotations"]
    if not isinstance(origin, str):
        return
    for line in origin.splitlines():
        if line.startswith("path:"):
            rel = line.partition(":")[2].strip()
            manifest.source.path = posixpath.normpath(posixpath.join(directory, rel))
            manifest.source.line = 0  # located by _locate_origins
            manifest.source.document = 0


def _locate_origins(source: GitSource, entries: list[FileEntry], loaded: Loaded) -> None:
    """Give rendered objects the line of their document in the file that defines them."""
    rendered = [m for m in loaded.manifests if m.source.renderedFrom and m.source.line == 0]
    by_path = {e.path: e for e in entries}
    wanted = [by_path[p] for p in {m.source.path for m in rendered} if p in by_path]
    contents = source.read(wanted)
    for entry in wanted:
        try:
            docs = parse_documents(contents[entry.blob].decode("utf-8", "replace"))
        except YamlError:
            continue
        for manifest in (m for m in rendered if m.source.path == entry.path):
            for doc in docs:
                data = doc.data if isinstance(doc.data, dict) else {}
                name = str((data.get("metadata") or {}).get("name", ""))
                if data.get("kind") == manifest.kind and name and manifest.name.endswith(name):
                    manifest.source.line, manifest.source.document = doc.line, doc.index
                    break
    for manifest in rendered:
        manifest.source.line = max(manifest.source.line, 1)


def _add_history(source: GitSource, loaded: Loaded) -> None:
    history = source.last_commits({m.source.path for m in loaded.manifests})
    for manifest in loaded.manifests:
        info = history.get(manifest.source.path)
        if info:
            manifest.source.commit = info.sha
            manifest.source.author = info.author
            manifest.source.date = info.date
            manifest.source.subject = info.subject
