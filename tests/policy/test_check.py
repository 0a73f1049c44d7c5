"""`driftwatch check`, `driftwatch policy test` and policies in `driftwatch scan`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from driftwatch.cli import main
from driftwatch.policy.engine import PolicySubject, load_documents, violations
from driftwatch.policy.model import Scope
from driftwatch.providers.kubernetes.normalize import SecretMasker, secret_values
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


# ---------------------------------------------------------------------------------------
# Policies are repo code: they never see a clear secret value (issue 10, item 2).

GIT_PASSWORD = "hunter2-git-Zq9"
LIVE_PASSWORD = "s3cr3t-live-Xk7"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LEAKY = f"""\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata:
  name: leaky
  severity: high
spec:
  scope: [desired, live]
  match:
    kinds: [Secret]
  validations:
    - name: value
      expression: "false"
      messageExpression: "'value=' + object.data.password"
    - name: all-values
      expression: "false"
      messageExpression: "'all=' + object.data.map(k, k + ':' + object.data[k]).join(',')"
    - name: applied
      expression: "false"
      message: no annotation
      messageExpression: "'applied=' + object.metadata.annotations['{LAST_APPLIED}']"
    - name: applied-parsed
      expression: "false"
      message: no annotation
      messageExpression: >-
        'parsed=' + parseJson(object.metadata.annotations['{LAST_APPLIED}']).data.password
    - name: presence-keys-equality
      expression: >-
        has(object.data.password) && object.data.size() == 2
        && object.data.password == object.data.copy && object.data.password != 'x'
      message: masked values lost their shape
"""
SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: {GIT_PASSWORD}
  copy: {GIT_PASSWORD}
"""


def _clear_forms(*values: str) -> list[bytes]:
    """A value as written and in base64 (with and without padding)."""
    out = []
    for value in values:
        encoded = base64.b64encode(value.encode())
        out += [value.encode(), encoded, encoded.rstrip(b"=")]
    return out


def _every_format(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, bytes]:
    outputs = {}
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        target = tmp_path / f"report.{fmt}"
        main([*command, "--format", fmt, "--output", str(target)])
        outputs[fmt] = target.read_bytes()
    main(command)  # text on stdout too
    out, err = capsys.readouterr()
    outputs["stdout"], outputs["stderr"] = out.encode(), err.encode()
    return outputs


def _mask(value: str) -> str:
    return SecretMasker(os.environ["DRIFTWATCH_HASH_KEY"].encode()).mask(value.encode())


def _digest(mask: str) -> bytes:
    """The hash in a mask: what every format shows, whatever it escapes around it."""
    return mask.removeprefix("<secret hmac:").removesuffix(">").encode()


def _messages(report: AuditReport) -> dict[tuple[str, str], str]:
    return {(v.rule, v.scope): v.message for r in report.resources for v in r.violations}


def test_check_policies_see_git_secrets_masked_in_every_format(
    make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {"driftwatch.yaml": CONFIG, "policies/leaky.yaml": LEAKY, "shop/secret.yaml": SECRET}
    )
    outputs = _every_format(["check", "--repo", str(repo)], tmp_path, capsys)
    for fmt, data in outputs.items():
        for clear in _clear_forms(GIT_PASSWORD):
            assert clear not in data, (fmt, clear)
    mask = _mask(GIT_PASSWORD)
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        assert _digest(mask) in outputs[fmt], fmt
    messages = _messages(AuditReport.from_json(outputs["json"]))
    assert messages[("value", "desired")] == f"value={mask}"
    listed = messages[("all-values", "desired")].removeprefix("all=").split(",")
    assert sorted(listed) == [f"copy:{mask}", f"password:{mask}"]
    # Git has no last-applied annotation: the static message; equality etc. still hold.
    assert messages[("applied", "desired")] == "no annotation"
    assert ("presence-keys-equality", "desired") not in messages


def test_scan_policies_see_live_secrets_and_last_applied_masked_in_every_format(
    make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {"driftwatch.yaml": CONFIG, "policies/leaky.yaml": LEAKY, "shop/secret.yaml": SECRET}
    )
    # kubectl apply of a stringData manifest: data in base64, and the clear stringData
    # in the last-applied annotation.
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "stringData": {"password": LIVE_PASSWORD, "copy": LIVE_PASSWORD},
    }
    live = served(applied)
    assert LIVE_PASSWORD in live["metadata"]["annotations"][LAST_APPLIED]
    encoded = base64.b64encode(LIVE_PASSWORD.encode()).decode()
    assert live["data"] == {"password": encoded, "copy": encoded} and "stringData" not in live
    with TestAPIServer([live]) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kc")
        command = ["scan", "--repo", str(repo), "--kubeconfig", str(kubeconfig), "--all"]
        outputs = _every_format(command, tmp_path, capsys)
    for fmt, data in outputs.items():
        for clear in _clear_forms(GIT_PASSWORD, LIVE_PASSWORD):
            assert clear not in data, (fmt, clear)
    live_mask, git_mask = _mask(LIVE_PASSWORD), _mask(GIT_PASSWORD)
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        assert _digest(live_mask) in outputs[fmt] and _digest(git_mask) in outputs[fmt], fmt
    report = AuditReport.from_json(outputs["json"])
    messages = _messages(report)
    assert messages[("value", "live")] == f"value={live_mask}"
    assert messages[("value", "desired")] == f"value={git_mask}"
    assert messages[("applied-parsed", "live")] == f"parsed={live_mask}"
    assert LIVE_PASSWORD not in messages[("applied", "live")]
    assert live_mask in messages[("applied", "live")]
    assert not [k for k in messages if k[0] == "presence-keys-equality"]
    (secret,) = report.resources
    assert sorted(c.path for c in secret.changes) == ["data.copy", "data.password"]


def test_a_clear_value_that_reaches_a_message_is_scrubbed() -> None:
    """Defence in depth: even if a policy's object held a clear value, the violation
    message carries only its mask."""
    policies = load_documents("leaky.yaml", LEAKY)
    masker = SecretMasker(b"k" * 32)
    raw = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}
    raw["data"] = {"password": base64.b64encode(GIT_PASSWORD.encode()).decode()}
    unmasked = {**raw, "data": {"password": GIT_PASSWORD}}  # as if masking were bypassed
    subject = PolicySubject(
        "kubernetes",
        "Secret",
        "",
        "shop",
        "db",
        {},
        unmasked,
        Scope.DESIRED,
        secrets=secret_values(raw, "Secret", masker),
    )
    found = {v.rule: v.message for v in violations(policies, subject, date(2026, 1, 1))}
    assert found["value"] == f"value={masker.mask(GIT_PASSWORD.encode())}"


LEAKY_LAMBDA = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata:
  name: leaky-lambda
  severity: high
spec:
  provider: aws
  scope: [desired, live]
  match:
    resourceTypes: [AWS::Lambda::Function]
  validations:
    - name: token
      expression: "false"
      messageExpression: "'token=' + properties.Environment.Variables.API_TOKEN"
    - name: same-shape
      expression: >-
        has(properties.Environment.Variables.API_TOKEN)
        && properties.Environment.Variables.API_TOKEN.startsWith('<secret hmac:')
      message: the token is not masked
"""


def test_check_aws_policies_see_secret_properties_masked_in_every_format(
    make_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {"driftwatch.yaml": CONFIG, "policies/leaky.yaml": LEAKY_LAMBDA, "aws/fn.yaml": FUNCTION}
    )
    token = "tok-5f0c2e9a-never-print-me"
    outputs = _every_format(["check", "--repo", str(repo)], tmp_path, capsys)
    for fmt, data in outputs.items():
        for clear in _clear_forms(token):
            assert clear not in data, (fmt, clear)
    mask = _mask(token)
    for fmt in ("text", "json", "sarif", "junit", "markdown"):
        assert _digest(mask) in outputs[fmt], fmt
    assert _messages(AuditReport.from_json(outputs["json"])) == {
        ("token", "desired"): f"token={mask}"
    }


def test_policy_tests_see_secrets_masked_as_a_scan_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/leaky.yaml").write_text(LEAKY)
    cases = tmp_path / "tests"
    cases.mkdir()
    (cases / "resources.yaml").write_text(SECRET)
    (cases / "test.yaml").write_text(
        """\
apiVersion: driftwatch.dev/v1alpha1
kind: PolicyTest
metadata: {name: masked}
policies: [../policies/leaky.yaml]
resources: [resources.yaml]
results:
  - {policy: leaky, rule: presence-keys-equality, kind: Secret, resource: db, result: pass}
"""
    )
    assert main(["policy", "test", str(cases)]) == 0
    assert capsys.readouterr().out.strip().endswith("1 passed, 0 failed")


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


BAD_QUANTITY = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata:
  name: sized
  severity: low
spec:
  scope: [desired]
  match:
    kinds: [ConfigMap]
  validations:
    - name: size
      expression: "quantity(object.data.size) < quantity('1Gi')"
      message: too big
"""


def test_a_helper_error_is_the_rules_not_a_stray_stderr_line(make_repo: RepoFactory) -> None:
    """The CEL library prints a Python helper's exception to stderr on its own; driftwatch
    reports it with the rule, escaped, and nothing else reaches stderr."""
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\ndata: {size: lots}\n"
    repo = make_repo(
        {"driftwatch.yaml": CONFIG, "policies/sized.yaml": BAD_QUANTITY, "cm.yaml": cm}
    )
    done = subprocess.run(  # a process of its own, as the library writes to its stderr
        [sys.executable, "-m", "driftwatch", "check", "--repo", str(repo), "--no-cache"],
        cwd=Path(__file__).parent.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stderr == ""
    assert "sized/size" in done.stdout and "not a quantity" in done.stdout
