from pathlib import Path

import orjson
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwatch.cache import ScanCache
from driftwatch.config import KubernetesSource
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.providers.base import Loaded
from driftwatch.providers.kubernetes.manifests import _collect, load_manifests, parse_cacheable
from tests.conftest import RepoFactory
from tests.corpora import CORPORA
from tests.hostile_documents import HOSTILE, good, hostile_repo

CORPUS = CORPORA / "k8s-examples"

TWO_DOCS = """\
# comment before
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
  namespace: other
"""


def load(root: Path, cache: ScanCache | None = None, **source: object):  # type: ignore[no-untyped-def]
    return load_manifests(GitSource(open_repo(str(root))), KubernetesSource(**source), cache)


def test_documents_keep_file_line_and_last_commit(make_repo: RepoFactory) -> None:
    root = make_repo({"apps/cm.yaml": TWO_DOCS}, message="add config maps")
    loaded = load(root)
    assert loaded.errors == []
    one, two = loaded.manifests
    assert (one.name, one.namespace, one.source.line, one.source.document) == ("one", None, 2, 0)
    assert (two.name, two.namespace, two.source.line, two.source.document) == ("two", "other", 8, 1)
    assert one.source.subject == "add config maps"
    assert one.source.commit and len(one.source.commit) == 40


def test_bad_documents_are_reported_and_the_rest_loads(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n",
            "broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
            "nokind.yaml": "apiVersion: v1\nmetadata:\n  name: x\n",
            "noname.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  labels: {}\n",
        }
    )
    loaded = load(root)
    assert [m.name for m in loaded.manifests] == ["good"]
    messages = {(e.path, e.line, e.message) for e in loaded.errors}
    assert ("nokind.yaml", 1, "document has no kind") in messages
    assert ("noname.yaml", 3, "Service has no metadata.name") in messages
    broken = next(e for e in loaded.errors if e.path == "broken.yaml")
    assert broken.line == 5 and broken.message.startswith("invalid YAML")


def test_kind_list_is_expanded(make_repo: RepoFactory) -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
    )
    loaded = load(make_repo({"list.yaml": text}))
    assert [m.name for m in loaded.manifests] == ["a", "b"]


def test_paths_and_excludes_and_own_kinds(make_repo: RepoFactory) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"
    root = make_repo(
        {
            "k8s/a.yaml": cm.format("a"),
            "k8s/skip/b.yaml": cm.format("b"),
            "other/c.yaml": cm.format("c"),
            "k8s/policy.yaml": "apiVersion: driftwatch.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\n",
            ".github/workflows/ci.yml": "on: push\n",
        }
    )
    loaded = load(root, paths=["k8s/**/*.yaml"], exclude=["k8s/skip/**"])
    assert [m.name for m in loaded.manifests] == ["a"]
    assert loaded.errors == []


def test_parse_cache_makes_a_rescan_parse_nothing(make_repo: RepoFactory, tmp_path: Path) -> None:
    root = make_repo({"a.yaml": TWO_DOCS})
    cache = ScanCache(tmp_path / "cache.sqlite")
    first = load(root, cache)
    second = load(root, cache)
    assert (first.files_parsed, second.files_parsed, second.files_cached) == (1, 0, 1)
    assert [m.body for m in first.manifests] == [m.body for m in second.manifests]


def test_kustomize_overlay_renders_and_points_at_the_defining_file(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
            "base/deploy.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"
            ),
            "overlays/prod/kustomization.yaml": "namespace: prod\nresources:\n- ../../base\nimages:\n- name: nginx\n  newTag: '1.26'\n",
        }
    )
    loaded = load(root)
    assert loaded.errors == []
    (web,) = loaded.manifests  # the base is rendered through its overlay only
    assert web.namespace == "prod"
    assert web.body["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert web.source.renderedFrom == "overlays/prod"
    assert (web.source.path, web.source.line) == ("base/deploy.yaml", 1)
    assert "annotations" not in web.body["metadata"]
    # The user's files are untouched by the origin-annotation trick.
    assert "buildMetadata" not in (root / "overlays/prod/kustomization.yaml").read_text()


def test_upstream_examples_load_without_errors(make_repo: RepoFactory) -> None:
    files = {str(p.relative_to(CORPUS)): p.read_text() for p in CORPUS.rglob("*.yaml")}
    loaded = load(make_repo(files))
    assert loaded.errors == []
    assert len(loaded.manifests) == 44  # as counted in the corpus' SOURCE.md


def test_a_loaded_commit_comes_back_from_one_bundle(make_repo: RepoFactory, tmp_path: Path) -> None:
    root = make_repo({"a.yaml": TWO_DOCS, "bad.yaml": "kind: [\n"})
    cache = ScanCache(tmp_path / "cache.sqlite")
    first = load(root, cache)
    again = load(root, cache)
    assert (again.files_parsed, again.files_cached) == (0, 2)
    assert [(m.name, m.body, m.source) for m in again.manifests] == [
        (m.name, m.body, m.source) for m in first.manifests
    ]
    assert again.errors == first.errors
    make_repo({"a.yaml": TWO_DOCS.replace("one", "uno")})
    changed = load(root, cache)
    assert [m.name for m in changed.manifests] == ["uno", "two"]
    assert changed.files_parsed == 1  # only the changed blob


# Hostile documents (issue 10, item 5): a real repo holds each one between good documents;
# every one is an error naming file, line and key, and every good object still loads —
# cold, from the parse cache, and from the commit's bundle alike.


def assert_hostile_loaded(loaded: Loaded, expected: dict[str, tuple[int, str | None, str]]) -> None:
    names = {m.name for m in loaded.manifests}
    assert names == {f"{n}-{side}" for n in HOSTILE for side in ("before", "after")} | {
        "utf16",
        "utf8bom",
    }
    errors = {e.path: e for e in loaded.errors}
    assert len(errors) == len(loaded.errors) == len(expected)  # one error per bad file
    for path, (line, key, message) in expected.items():
        error = errors[path]
        assert (error.line, error.key, error.level) == (line, key, "error"), path
        assert message in error.message, path
    # Nothing downstream ever sees what a Kubernetes object cannot hold.
    for manifest in loaded.manifests:
        orjson.dumps(manifest.body)


def test_hostile_documents_are_errors_and_the_rest_loads(
    make_repo: RepoFactory, tmp_path: Path
) -> None:
    root, expected = hostile_repo(make_repo)
    cache = ScanCache(tmp_path / "cache.sqlite")
    cold = load(root, cache)
    assert_hostile_loaded(cold, expected)
    bundled = load(root, cache)  # the commit's bundle
    assert bundled.files_parsed == 0
    assert_hostile_loaded(bundled, expected)
    assert bundled.errors == cold.errors
    make_repo({"other.yaml": good("other")})  # a new commit: files come from the parse cache
    warm = load(root, cache)
    # Files holding a Secret are never cached (their values would be stored in clear).
    secrets = sum(b"kind: Secret" in p.read_bytes() for p in root.rglob("*.yaml"))
    assert secrets == 4 and warm.files_parsed == 1 + secrets
    assert [e for e in warm.errors] == cold.errors
    assert len(warm.manifests) == len(cold.manifests) + 1


def test_duplicate_keys_warn_and_the_object_loads(make_repo: RepoFactory) -> None:
    root = make_repo({"dup.yaml": good("dup") + "data:\n  a: '1'\n  a: '2'\n"})
    loaded = load(root)
    (manifest,) = loaded.manifests
    assert manifest.body["data"] == {"a": "2"}
    (warning,) = loaded.errors
    assert (warning.path, warning.line, warning.key, warning.level) == (
        "dup.yaml",
        8,
        "data.a",
        "warning",
    )
    assert str(warning).startswith("dup.yaml:8 [data.a]: duplicate key 'a'")


WEIRD_KEYS = st.one_of(st.sampled_from(["a", "data", "metadata"]), st.integers(0, 2), st.none())
WEIRD_VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), st.sampled_from(["x", ""])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WEIRD_KEYS, inner, max_size=3),
    max_leaves=10,
)
HOSTILE_TEXTS = st.sampled_from([c.text for c in HOSTILE.values()])
BAD_DOCUMENTS = st.one_of(
    HOSTILE_TEXTS,
    WEIRD_VALUES.map(lambda v: yaml.safe_dump(v)),
    st.dictionaries(WEIRD_KEYS, WEIRD_VALUES, max_size=3).map(
        lambda body: yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", **body})
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 999), BAD_DOCUMENTS), min_size=1, max_size=5))
def test_whatever_the_documents_the_good_ones_load_and_the_rest_are_located(
    documents: list[int | str],
) -> None:
    text = "".join(f"---\n{good(f'cm-{d}') if isinstance(d, int) else d}" for d in documents)
    cached = orjson.loads(orjson.dumps(parse_cacheable(text.encode())))  # as the cache has it
    loaded = Loaded(manifests=[], errors=[])
    _collect("f.yaml", cached, loaded, lambda: text)
    wanted = [f"cm-{d}" for d in documents if isinstance(d, int)]
    assert [m.name for m in loaded.manifests if m.name.startswith("cm-")] == wanted
    assert all(e.path == "f.yaml" and e.line and e.line >= 1 for e in loaded.errors)
    for manifest in loaded.manifests:
        orjson.dumps(manifest.body)
