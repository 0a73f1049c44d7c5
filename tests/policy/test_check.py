"""`driftwatch check`, `driftwatch policy test` and policies in `driftwatch scan`."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwatch.cli import main
from driftwatch.report import AuditReport
from driftwatch.testing.apiserver import TestAPIServer
from driftwatch.testing.fixtures import served
from tests.conftest import RepoFactory
from tests.hostile_documents import HOSTILE
from tests.policy.test_engine import EXCEPTION, POLICY

# Only the repo's own policy, so the tests do not depend on the built-in library.
CONFIG = "policies:\n  builtin: false\n"

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.25
          securityContext:
            privileged: true
"""


def test_check_reports_file_and_line_of_the_field(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {"driftwatch.yaml": CONFIG, "policies/no-priv.yaml": POLICY, "apps/web.yaml": WEB}
    )
    assert main(["check", "--repo", str(repo)]) == 2
    out = capsys.readouterr().out
    assert (
        "high no-privileged/privileged-containers [desired] apps/web.yaml:9: privileged: app" in out
    )
    assert main(["check", "--repo", str(repo), "--fail-on", "critical"]) == 0
    capsys.readouterr()
    assert main(["check", "--repo", str(repo), "--format", "json"]) == 2
    report = AuditReport.from_json(capsys.readouterr().out)
    (resource,) = report.resources
    (violation,) = resource.violations
    assert (violation.path, violation.line, violation.scope) == ("apps/web.yaml", 9, "desired")
    assert resource.status == "not_checked" and report.scan.targets[0].name == "git"


def test_check_with_exception_and_expired_exception(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    waiver = EXCEPTION.replace("2026-06-30", "2999-01-01")
    repo = make_repo(
        {
            "driftwatch.yaml": CONFIG,
            "policies/no-priv.yaml": POLICY,
            "policies/waiver.yaml": waiver,
            "apps/web.yaml": WEB,
        }
    )
    assert main(["check", "--repo", str(repo)]) == 0
    assert "waived by legacy-web" in capsys.readouterr().out
    make_repo({"policies/waiver.yaml": EXCEPTION.replace("2026-06-30", "2020-01-01")})
    assert main(["check", "--repo", str(repo)]) == 2
    out = capsys.readouterr().out
    assert "exception legacy-web expired on 2020-01-01" in out
    assert "policies/waiver.yaml:1" in out


def test_bad_policy_is_reported_and_the_rest_runs(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = POLICY.replace("no-privileged", "broken").replace("size() == 0", "size( == 0")
    repo = make_repo(
        {
            "driftwatch.yaml": CONFIG,
            "policies/a.yaml": broken,
            "policies/b.yaml": POLICY,
            "apps/web.yaml": WEB,
        }
    )
    assert main(["check", "--repo", str(repo)]) == 2
    out = capsys.readouterr().out
    assert "policies/a.yaml:18" in out and "policy broken" in out
    assert "no-privileged/privileged-containers" in out


def test_scan_reports_violations_on_desired_and_live(
    make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {
            "driftwatch.yaml": CONFIG,
            "policies/no-priv.yaml": POLICY,
            "apps/web.yaml": WEB.replace("privileged: true", "privileged: false"),
        }
    )
    live = served(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "nginx:1.25",
                                "securityContext": {"privileged": True},
                            }
                        ]
                    }
                }
            },
        }
    )
    with TestAPIServer([live]) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")
        code = main(
            ["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--format", "json"]
        )
    report = AuditReport.from_json(capsys.readouterr().out)
    assert code == 2
    (web,) = report.resources
    assert web.status == "modified"
    assert [(v.policy, v.scope) for v in web.violations] == [("no-privileged", "live")]


TEST_CASE = """\
apiVersion: driftwatch.dev/v1alpha1
kind: PolicyTest
metadata: {name: privileged}
policies: [../policies/no-priv.yaml]
resources: [resources.yaml]
results:
  - {policy: no-privileged, rule: privileged-containers, kind: Deployment, resource: web, result: fail}
  - {policy: no-privileged, rule: privileged-containers, kind: Deployment, resource: safe, result: pass}
"""


def test_policy_test_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/no-priv.yaml").write_text(POLICY)
    cases = tmp_path / "tests"
    cases.mkdir()
    (cases / "resources.yaml").write_text(
        WEB
        + "---\n"
        + WEB.replace("name: web", "name: safe").replace("privileged: true", "privileged: false")
    )
    (cases / "test.yaml").write_text(TEST_CASE)
    assert main(["policy", "test", str(cases)]) == 0
    out = capsys.readouterr().out
    assert (
        "ok   privileged: no-privileged/privileged-containers on Deployment web: expected fail, got fail"
        in out
    )
    assert out.strip().endswith("2 passed, 0 failed")
    (cases / "test.yaml").write_text(
        TEST_CASE.replace("resource: safe, result: pass", "resource: safe, result: fail")
    )
    assert main(["policy", "test", str(cases)]) == 2
    assert "FAIL" in capsys.readouterr().out
    (cases / "test.yaml").write_text(TEST_CASE.replace("resources.yaml]", "nope.yaml]"))
    assert main(["policy", "test", str(cases)]) == 1
    assert "resource file nope.yaml not found" in capsys.readouterr().err


def test_builtin_library_with_disable_and_opt_in(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n      ports: [{containerPort: 80, hostPort: 5555}]\n"
    repo = make_repo({"pod.yaml": pod})
    main(["check", "--repo", str(repo), "--format", "json"])
    report = AuditReport.from_json(capsys.readouterr().out)
    policies = {v.policy for r in report.resources for v in r.violations}
    assert (
        "disallow-host-ports" in policies and "disallow-host-ports-range" not in policies
    )  # off by default
    assert "require-requests-limits" in policies
    make_repo(
        {
            "driftwatch.yaml": "policies:\n  disable: [require-*, disallow-host-ports]\n  enable: [disallow-host-ports-range]\n",
            "pod.yaml": pod.replace("5555", "8080"),
        }
    )
    main(["check", "--repo", str(repo), "--format", "json"])
    report = AuditReport.from_json(capsys.readouterr().out)
    policies = {v.policy for r in report.resources for v in r.violations}
    assert "disallow-host-ports" not in policies and "require-requests-limits" not in policies
    assert "disallow-host-ports-range" in policies  # opted in; 8080 is outside 5000-6000


def test_default_deny_networkpolicy_per_namespace(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {ns}}}\ndata: {{a: '1'}}\n"
    deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
    allow = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-web, namespace: blog}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{}]\n"
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: blog}\n"
    repo = make_repo(
        {
            "driftwatch.yaml": "policies:\n  disable: ['*']\n  enable: []\n",
            "shop.yaml": cm.format(ns="shop") + "---\n" + deny,
            "blog.yaml": namespace + "---\n" + cm.format(ns="blog") + "---\n" + allow,
            "kube.yaml": cm.format(ns="kube-system"),
        }
    )
    make_repo({"driftwatch.yaml": "policies:\n  disable: ['[!r]*', 'require-[!d]*']\n"})
    assert main(["check", "--repo", str(repo), "--format", "json"]) == 2
    report = AuditReport.from_json(capsys.readouterr().out)
    flagged = {(r.kind, r.name): [v.policy for v in r.violations] for r in report.resources}
    assert flagged == {("Namespace", "blog"): ["require-default-deny-networkpolicy"]}
    (violation,) = report.resources[0].violations
    assert (violation.path, violation.line) == ("blog.yaml", 3)  # the declared Namespace's name
    assert "1 NetworkPolicies" in violation.message


def test_the_builtin_library_ships_inside_the_package() -> None:
    from driftwatch.policy.library import BUILTIN_DIR, builtin_policies

    top_level = Path(__file__).parents[2] / "policies"
    assert sorted(p.name for p in BUILTIN_DIR.rglob("*.yaml")) == sorted(
        p.name for p in top_level.rglob("*.yaml")
    )
    loaded = builtin_policies()
    assert loaded.errors == [] and len(loaded.policies) >= 29


PUBLIC_BUCKET = """\
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata:
  name: assets
spec:
  type: AWS::S3::Bucket
  region: us-east-1
  properties:
    BucketName: acme-assets
    BucketEncryption:
      ServerSideEncryptionConfiguration:
        - ServerSideEncryptionByDefault:
            SSEAlgorithm: AES256
    PublicAccessBlockConfiguration:
      BlockPublicAcls: false
      BlockPublicPolicy: true
      IgnorePublicAcls: true
      RestrictPublicBuckets: true
---
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata:
  name: private
spec:
  type: AWS::S3::Bucket
  region: us-east-1
  properties:
    BucketName: acme-private
    BucketEncryption:
      ServerSideEncryptionConfiguration:
        - ServerSideEncryptionByDefault:
            SSEAlgorithm: AES256
    PublicAccessBlockConfiguration:
      BlockPublicAcls: true
      BlockPublicPolicy: true
      IgnorePublicAcls: true
      RestrictPublicBuckets: true
"""

TRACED = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata:
  name: lambda-tracing
  severity: low
spec:
  provider: aws
  scope: [desired, live]
  match:
    resourceTypes: [AWS::Lambda::Function]
  validations:
    - name: tracing
      expression: has(properties.TracingConfig)
      message: Lambda functions must be traced.
      fieldPath: spec.properties.TracingConfig
"""

FUNCTION = """\
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata:
  name: worker
spec:
  type: AWS::Lambda::Function
  region: eu-west-1
  properties:
    FunctionName: worker
    Runtime: python3.12
    Handler: app.handler
    Role: arn:aws:iam::123456789012:role/worker
    Environment:
      Variables:
        API_TOKEN: tok-5f0c2e9a-never-print-me
    Versioning: oops
"""


def test_check_runs_aws_policies_on_the_specs_in_git(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"aws/buckets.yaml": PUBLIC_BUCKET})  # the built-in library applies
    assert main(["check", "--repo", str(repo)]) == 2
    out = capsys.readouterr().out
    assert (
        "high s3-block-public-access/block-public-access [desired] aws/buckets.yaml:14:"
        " S3 Block Public Access is not fully on; set to true:"
        " PublicAccessBlockConfiguration.BlockPublicAcls"
    ) in out
    assert main(["check", "--repo", str(repo), "--format", "json"]) == 2
    report = AuditReport.from_json(capsys.readouterr().out)
    (bucket,) = report.resources  # the private bucket has nothing to report
    assert (bucket.provider, bucket.kind, bucket.namespace, bucket.name) == (
        "aws",
        "AWS::S3::Bucket",
        "us-east-1",
        "acme-assets",
    )
    assert bucket.status == "not_checked" and bucket.source is not None
    assert (bucket.source.path, bucket.source.line) == ("aws/buckets.yaml", 1)
    (violation,) = bucket.violations
    assert (violation.path, violation.line, violation.scope) == ("aws/buckets.yaml", 14, "desired")
    assert report.errors == []


def test_check_masks_aws_secrets_and_reports_bad_specs(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {"driftwatch.yaml": CONFIG, "policies/traced.yaml": TRACED, "aws/worker.yaml": FUNCTION}
    )
    assert main(["check", "--repo", str(repo), "--format", "json"]) == 2
    text = capsys.readouterr().out
    assert "tok-5f0c2e9a-never-print-me" not in text
    report = AuditReport.from_json(text)
    (function,) = report.resources
    assert function.desired is not None
    (token,) = function.desired["spec"]["properties"]["Environment"]["Variables"].values()
    assert token.startswith("<secret hmac:")
    (violation,) = function.violations
    assert (violation.policy, violation.path, violation.line) == (
        "lambda-tracing",
        "aws/worker.yaml",
        8,  # no TracingConfig to point at: the nearest key there is, properties
    )
    (error,) = report.errors
    assert (error.path, error.line, error.key) == (
        "aws/worker.yaml",
        16,
        "spec.properties.Versioning",
    )


def test_a_bad_document_in_a_policy_file_is_reported_once(
    make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # The manifest loader reads the file first (and sets it aside for the policy loader):
    # its bad document must not be reported twice, and the policy must still run.
    repo = make_repo(
        {
            "driftwatch.yaml": CONFIG,
            "policies/no-priv.yaml": POLICY + "---\n" + HOSTILE["int-key"].text,
            "apps/web.yaml": WEB,
        }
    )
    assert main(["check", "--repo", str(repo), "--format", "json"]) == 2
    report = AuditReport.from_json(capsys.readouterr().out)
    (error,) = report.errors
    assert (error.path, error.line, error.key) == (
        "policies/no-priv.yaml",
        POLICY.count("\n") + 7,
        "data.1",
    )
    (resource,) = report.resources
    assert [v.policy for v in resource.violations] == ["no-privileged"]


def test_policy_test_reports_bad_resource_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/no-priv.yaml").write_text(POLICY)
    cases = tmp_path / "tests"
    cases.mkdir()
    (cases / "test.yaml").write_text(TEST_CASE)
    (cases / "resources.yaml").write_text(WEB + "---\n" + HOSTILE["alias-bomb"].text)
    assert main(["policy", "test", str(cases)]) == 1
    bomb_line = WEB.count("\n") + 2
    assert (
        f"resource file resources.yaml:{bomb_line}: document expands aliases"
        in capsys.readouterr().err
    )
    (cases / "resources.yaml").write_bytes(WEB.encode() + b"# caf\xe9\n")
    assert main(["policy", "test", str(cases)]) == 1
    invalid_line = WEB.count("\n") + 1
    assert f"resources.yaml:{invalid_line}: not valid UTF-8: byte 0xe9" in capsys.readouterr().err
