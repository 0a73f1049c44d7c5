"""AWSResource documents out of a real Git repo: validation per type, located errors,
provenance, and the parse cache shared with the manifest loader."""

from __future__ import annotations

from pathlib import Path

from driftwatch.cache import ScanCache
from driftwatch.config import KubernetesSource
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.providers.aws.specs import LoadedSpecs, load_specs
from driftwatch.providers.aws.types import load_types
from driftwatch.providers.kubernetes.manifests import load_manifests
from tests.conftest import RepoFactory
from tests.hostile_documents import HOSTILE

TYPES = load_types()

GOOD = """\
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata:
  name: logs
  labels: {env: prod}
spec:
  type: AWS::S3::Bucket
  region: eu-west-1
  account: 012345678901
  properties:
    BucketName: acme-logs
    VersioningConfiguration: {Status: Enabled}
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: deploy-role}
spec:
  type: AWS::IAM::Role
  region: us-east-1
  identifier: deploy
  properties:
    AssumeRolePolicyDocument:
      Statement: {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {level: info}
"""

BAD = """\
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: typo}
spec:
  type: AWS::S3::Bucket
  region: eu-west-1
  identifier: typo-bucket
  properties:
    VersioningConfiguration: {Status: Enabled}
    Versioning: {Status: Enabled}
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: mystery}
spec:
  type: AWS::Nope::Thing
  region: eu-west-1
  identifier: x
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: nowhere}
spec:
  type: AWS::SQS::Queue
  identifier: q
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: noid}
spec:
  type: AWS::S3::Bucket
  region: eu-west-1
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: clash}
spec:
  type: AWS::S3::Bucket
  region: eu-west-1
  identifier: one
  properties: {BucketName: two}
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: extra}
spec:
  type: AWS::S3::Bucket
  region: eu-west-1
  identifier: extra
  regoin: eu-west-2
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: still-loaded}
spec:
  type: AWS::SQS::Queue
  region: eu-west-1
  identifier: https://sqs.eu-west-1.amazonaws.com/123456789012/jobs
  properties: {DelaySeconds: 5}
"""


def load(repo: Path, cache: ScanCache | None = None) -> LoadedSpecs:
    source = GitSource(open_repo(str(repo)))
    loaded = load_manifests(source, KubernetesSource(), cache)
    return load_specs(source, loaded.own_files, TYPES, cache)


def test_specs_load_with_provenance(make_repo: RepoFactory) -> None:
    repo = make_repo({"aws/prod.yaml": GOOD}, message="declare the buckets")
    found = load(repo)
    assert found.errors == []
    logs, role = found.specs
    assert (logs.name, logs.type, logs.region, logs.account, logs.identifier) == (
        "logs",
        "AWS::S3::Bucket",
        "eu-west-1",
        "012345678901",  # an unquoted account id keeps its leading zero
        "acme-logs",  # from the identifier property
    )
    assert logs.labels == {"env": "prod"}
    assert logs.properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert logs.source.path == "aws/prod.yaml" and logs.source.line == 1
    assert logs.source.document == 0
    assert logs.source.subject == "declare the buckets" and logs.source.author == "Ada Ops"
    assert logs.source.commit is not None and len(logs.source.commit) == 40
    # IAM is global: whatever region is written, the resource lives in "global".
    assert (role.region, role.identifier, role.source.line, role.source.document) == (
        "global",
        "deploy",
        14,
        1,
    )


def test_errors_name_file_line_and_key_and_the_rest_still_loads(make_repo: RepoFactory) -> None:
    repo = make_repo({"aws/bad.yaml": BAD, "aws/good.yaml": GOOD})
    found = load(repo)
    errors = {(e.path, e.line, e.key): e.message for e in found.errors}
    assert errors[("aws/bad.yaml", 10, "spec.properties.Versioning")].startswith(
        "AWSResource typo: unknown property Versioning of AWS::S3::Bucket (known: "
    )
    assert "unknown resource type AWS::Nope::Thing" in errors[("aws/bad.yaml", 16, "spec.type")]
    assert "spec.region is required for AWS::SQS::Queue" in errors[("aws/bad.yaml", 23, "spec")]
    assert "spec.identifier is required" in errors[("aws/bad.yaml", 30, "spec")]
    assert (
        "differs from properties.BucketName"
        in errors[("aws/bad.yaml", 41, "spec.properties.BucketName")]
    )
    assert errors[("aws/bad.yaml", 50, "spec.regoin")] == "AWSResource extra: unknown key"
    assert len(found.errors) == 6
    names = [s.name for s in found.specs]
    # The typo'd property is left out, the spec is still audited.
    assert names == ["typo", "still-loaded", "logs", "deploy-role"]
    typo = found.specs[0]
    assert typo.properties == {"VersioningConfiguration": {"Status": "Enabled"}}
    queue = found.specs[1]
    assert queue.identifier == "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"


def test_parses_are_shared_with_the_manifest_loader(make_repo: RepoFactory, tmp_path: Path) -> None:
    repo = make_repo({"aws/prod.yaml": GOOD})
    cache = ScanCache(tmp_path / "cache.sqlite")
    try:
        # The manifest loader leaves spec files to this loader, which can tell whether
        # they hold secrets; it stores them under the blob key both loaders read.
        first = load(repo, cache)
        assert (first.files_parsed, first.files_cached) == (1, 0)
        again = load(repo, cache)  # the manifest loader's bundle, then the same blob
        assert (again.files_parsed, again.files_cached) == (0, 1)
        assert [s.name for s in again.specs] == ["logs", "deploy-role"]
    finally:
        cache.close()
    uncached = load(repo)
    assert (uncached.files_parsed, uncached.files_cached) == (1, 0)


def test_only_files_the_manifest_loader_set_aside_are_read(make_repo: RepoFactory) -> None:
    repo = make_repo(
        {
            "aws/prod.yaml": GOOD,
            "driftwatch.yaml": "sources: {kubernetes: {paths: ['k8s/**/*.yaml']}}\n",
            "k8s/app.yaml": GOOD.split("---")[0],
        }
    )
    source = GitSource(open_repo(str(repo)))
    loaded = load_manifests(source, KubernetesSource(paths=["k8s/**/*.yaml"]), None)
    found = load_specs(source, loaded.own_files, TYPES)
    assert [(s.name, s.source.path) for s in found.specs] == [("logs", "k8s/app.yaml")]


def test_an_unquoted_numeric_identifier_is_its_digits(make_repo: RepoFactory) -> None:
    document = """\
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: year}
spec:
  type: AWS::DynamoDB::Table
  region: eu-west-1
  account: 12345678901
  identifier: 2024
  properties: {TableName: 2024}
"""
    found = load(make_repo({"aws/year.yaml": document}))
    assert found.errors == []
    [year] = found.specs
    # Only an account id is zero-padded back to its 12 digits.
    assert (year.identifier, year.account) == ("2024", "012345678901")


def test_write_only_template_properties_are_accepted_and_not_compared(
    make_repo: RepoFactory,
) -> None:
    pasted = (
        "apiVersion: driftwatch.dev/v1alpha1\n"
        "kind: AWSResource\n"
        "metadata: {name: orders-db}\n"
        "spec:\n"
        "  type: AWS::RDS::DBInstance\n"
        "  region: us-east-1\n"
        "  properties:\n"
        "    DBInstanceIdentifier: orders-db\n"
        "    DBInstanceClass: db.t3.micro\n"
        "    MasterUserPassword: '{{resolve:secretsmanager:orders-db}}'\n"
        "    Typo: 1\n"
    )
    loaded = load(make_repo({"aws/db.yaml": pasted}))
    (spec,) = loaded.specs
    assert set(spec.properties) == {"DBInstanceIdentifier", "DBInstanceClass"}
    assert [(e.line, e.key) for e in loaded.errors] == [(11, "spec.properties.Typo")]


def test_bad_documents_beside_a_spec_never_reach_the_spec_loader(
    make_repo: RepoFactory, tmp_path: Path
) -> None:
    text = "---\n".join([GOOD, HOSTILE["int-key"].text, HOSTILE["alias-bomb"].text])
    repo = make_repo({"aws/prod.yaml": text})
    cache = ScanCache(tmp_path / "cache.sqlite")
    for _run in ("cold", "warm"):
        found = load(repo, cache)
        assert [s.name for s in found.specs] == ["logs", "deploy-role"]  # GOOD's two
        assert found.errors == []  # the manifest loader reports them, once
