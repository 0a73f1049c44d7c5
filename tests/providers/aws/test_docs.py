"""docs/aws.md's resource-type reference is what scripts/aws_docs.py renders from the
registry, and every example in it is a valid AWSResource."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import yaml

from driftwatch.config import KubernetesSource
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.providers.aws.specs import load_specs
from driftwatch.providers.aws.types import LIVE_MODULES, load_types
from driftwatch.providers.kubernetes.manifests import load_manifests
from tests.conftest import RepoFactory

ROOT = Path(__file__).resolve().parents[3]


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aws_docs", ROOT / "scripts" / "aws_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_aws_md_is_up_to_date() -> None:
    aws_docs = script()
    text = (ROOT / "docs" / "aws.md").read_text()
    assert aws_docs.render(text, load_types()) == text, "run: python scripts/aws_docs.py"


def test_every_type_is_documented_with_a_valid_example(make_repo: RepoFactory) -> None:
    aws_docs = script()
    types = load_types()
    assert len(types) >= len(LIVE_MODULES)
    documents = [aws_docs.example_document(types[name]) for name in sorted(types)]
    repo = make_repo({"aws/examples.yaml": yaml.safe_dump_all(documents)})
    source = GitSource(open_repo(str(repo)))
    loaded = load_manifests(source, KubernetesSource(), None)
    found = load_specs(source, loaded.own_files, types)
    assert found.errors == []
    assert sorted(s.type for s in found.specs) == sorted(types)
    for spec in found.specs:
        assert spec.properties == dict(types[spec.type].example), spec.type
