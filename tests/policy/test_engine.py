"""The policy engine: loading with located errors, matching, CEL helpers, exceptions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from driftwatch.policy.engine import (
    PolicySubject,
    evaluate,
    expired_exceptions,
    load_documents,
    violations,
)
from driftwatch.policy.model import Scope
from tests.hostile_documents import HOSTILE

POLICY = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata:
  name: no-privileged
  severity: high
  references: [PSS:baseline/privileged-containers]
spec:
  match:
    kinds: [Pod, apps/Deployment]
    excludeNamespaces: [kube-*]
  variables:
    - name: privileged
      expression: >-
        containers.filter(c, has(c.securityContext) && has(c.securityContext.privileged)
        && c.securityContext.privileged)
  validations:
    - name: privileged-containers
      expression: variables.privileged.size() == 0
      messageExpression: "'privileged: ' + variables.privileged.map(c, c.name).join(', ')"
      fieldPath: podSpec.containers
  remediation: Set securityContext.privileged to false.
"""


def deployment(
    privileged: bool, namespace: str = "shop", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace, "labels": labels or {}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "securityContext": {"privileged": privileged}},
                        {"name": "ok"},
                    ]
                }
            }
        },
    }


def subject(body: dict[str, Any], scope: Scope = Scope.DESIRED) -> PolicySubject:
    meta = body["metadata"]
    group = body["apiVersion"].rpartition("/")[0]
    return PolicySubject(
        "kubernetes",
        body["kind"],
        group,
        meta.get("namespace"),
        meta["name"],
        meta.get("labels") or {},
        body,
        scope,
    )


def test_policy_runs_with_variables_and_message_expression() -> None:
    policies = load_documents("p.yaml", POLICY)
    assert policies.errors == []
    (bad,) = violations(policies, subject(deployment(True)), date(2026, 1, 1), ("apps/web.yaml", 3))
    assert (bad.policy, bad.rule, bad.severity, bad.message) == (
        "no-privileged",
        "privileged-containers",
        "high",
        "privileged: app",
    )
    assert (bad.path, bad.line, bad.fieldPath) == ("apps/web.yaml", 3, "podSpec.containers")
    assert violations(policies, subject(deployment(False)), date(2026, 1, 1)) == []


def test_match_kinds_namespaces_and_scope() -> None:
    policies = load_documents("p.yaml", POLICY)
    assert evaluate(policies.policies, subject(deployment(True, namespace="kube-system"))) == []
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert evaluate(policies.policies, subject(config_map)) == []
    desired_only = load_documents(
        "p.yaml", POLICY.replace("spec:\n  match:", "spec:\n  scope: [desired]\n  match:")
    )
    assert evaluate(desired_only.policies, subject(deployment(True), Scope.LIVE)) == []
    assert evaluate(desired_only.policies, subject(deployment(True), Scope.DESIRED))


def test_label_selector_and_names() -> None:
    text = POLICY.replace(
        "    excludeNamespaces: [kube-*]",
        "    names: [we*]\n    labelSelector:\n      matchLabels: {tier: web}\n      matchExpressions: [{key: legacy, operator: DoesNotExist}]",
    )
    policies = load_documents("p.yaml", text)
    assert policies.errors == []
    assert evaluate(policies.policies, subject(deployment(True, labels={"tier": "web"})))
    assert not evaluate(policies.policies, subject(deployment(True, labels={"tier": "db"})))
    assert not evaluate(
        policies.policies, subject(deployment(True, labels={"tier": "web", "legacy": "1"}))
    )


def test_bad_expression_names_file_line_policy_and_column_and_others_still_load() -> None:
    broken = POLICY.replace(
        "variables.privileged.size() == 0", "variables.privileged.size( == 0"
    ).replace("no-privileged", "broken")
    policies = load_documents("policies/p.yaml", broken + "---\n" + POLICY)
    assert [p.name for p in policies.policies] == ["no-privileged"]
    (error,) = policies.errors
    assert (error.path, error.line, error.key) == (
        "policies/p.yaml",
        18,
        "spec.validations.0.expression",
    )
    assert "policy broken: rule privileged-containers expression at column" in error.message


def test_unknown_field_and_unknown_variable_are_errors() -> None:
    typo = POLICY.replace("  remediation:", "  remedation:")
    (error,) = load_documents("p.yaml", typo).errors
    assert (error.line, error.key) == (21, "spec.remedation")
    assert "unknown key" in error.message and "no-privileged" in error.message
    unknown = POLICY.replace("variables.privileged.size()", "variables.nope.size()")
    (error,) = load_documents("p.yaml", unknown).errors
    assert "unknown variable 'nope'" in error.message


def test_kubernetes_cel_helpers() -> None:
    text = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Policy
metadata: {name: helpers}
spec:
  validations:
    - name: quantity
      expression: quantity(object.spec.limit) <= quantity('1Gi') && quantity('500m') < quantity('1')
    - name: strings
      expression: object.spec.csv.split(',').join('+') == 'a+b' && split('x.y', '.').size() == 2
"""
    policies = load_documents("p.yaml", text)
    assert policies.errors == []
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "spec": {"limit": "512Mi", "csv": "a,b"},
    }
    assert [r.passed for r in evaluate(policies.policies, subject(body))] == [True, True]
    body["spec"]["limit"] = "2Gi"
    assert [r.passed for r in evaluate(policies.policies, subject(body))] == [False, True]


def test_evaluation_errors_are_reported_not_raised() -> None:
    text = "apiVersion: driftwatch.dev/v1alpha1\nkind: Policy\nmetadata: {name: strict}\nspec:\n  validations:\n    - expression: object.spec.missing == 1\n"
    policies = load_documents("p.yaml", text)
    (result,) = evaluate(
        policies.policies,
        subject({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "spec": {}}),
    )
    assert result.passed is None and "evaluation error" in result.message


EXCEPTION = """\
apiVersion: driftwatch.dev/v1alpha1
kind: Exception
metadata: {name: legacy-web}
spec:
  policies: [no-privileged]
  match: {kinds: [Deployment], names: [web]}
  reason: needs a privileged sidecar until INC-42 is fixed
  owner: team-web
  ticket: INC-42
  expires: 2026-06-30
"""


def test_exceptions_waive_until_they_expire() -> None:
    policies = load_documents("p.yaml", POLICY + "---\n" + EXCEPTION)
    assert policies.errors == []
    (waived,) = violations(policies, subject(deployment(True)), date(2026, 6, 30))
    assert waived.waivedBy == "legacy-web"
    (active,) = violations(policies, subject(deployment(True)), date(2026, 7, 1))
    assert active.waivedBy is None
    (expired,) = expired_exceptions(policies.exceptions, date(2026, 7, 1))
    assert "exception legacy-web expired on 2026-06-30" in expired.message and expired.line == 23


@pytest.mark.parametrize("missing", ["expires", "owner", "reason"])
def test_exceptions_require_expiry_owner_and_reason(missing: str) -> None:
    text = "\n".join(
        line for line in EXCEPTION.splitlines() if not line.strip().startswith(f"{missing}:")
    )
    (error,) = load_documents("e.yaml", text).errors
    assert error.key == f"spec.{missing}"


def test_null_fields_count_as_unset() -> None:
    policies = load_documents("p.yaml", POLICY)
    body = deployment(False)
    body["spec"]["template"]["spec"]["containers"][0]["securityContext"] = None
    (result,) = evaluate(policies.policies, subject(body))
    assert result.passed is True


def test_field_paths_for_pod_template_parts() -> None:
    from driftwatch.policy.engine import field_segments

    assert field_segments("podSpec.containers", "CronJob") == (
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "spec",
        "containers",
    )
    assert field_segments("podMeta.annotations", "Deployment") == (
        "spec",
        "template",
        "metadata",
        "annotations",
    )
    assert field_segments("podSpec.hostNetwork", "Pod") == ("spec", "hostNetwork")
    assert field_segments("spec.replicas", "Deployment") == ("spec", "replicas")


def test_parse_json_for_policy_documents_written_as_strings() -> None:
    text = "apiVersion: driftwatch.dev/v1alpha1\nkind: Policy\nmetadata: {name: j}\nspec:\n  provider: aws\n  validations:\n    - expression: parseJson(properties.PolicyDocument).Version == '2012-10-17'\n"
    policies = load_documents("p.yaml", text)
    body = {
        "spec": {
            "type": "AWS::IAM::ManagedPolicy",
            "properties": {"PolicyDocument": '{"Version": "2012-10-17"}'},
        }
    }
    aws = PolicySubject("aws", "AWS::IAM::ManagedPolicy", "", None, "p", {}, body, Scope.DESIRED)
    assert [r.passed for r in evaluate(policies.policies, aws)] == [True]


def test_findings_shared_by_git_and_cluster_are_merged() -> None:
    from driftwatch.policy.engine import merge_scopes

    policies = load_documents("p.yaml", POLICY)
    today = date(2026, 1, 1)
    desired = violations(policies, subject(deployment(True)), today, ("a.yaml", 3))
    live = violations(policies, subject(deployment(True), Scope.LIVE), today)
    (merged,) = merge_scopes(desired + live)
    assert (merged.scope, merged.path) == ("desired+live", "a.yaml")
    other = deployment(True)
    other["spec"]["template"]["spec"]["containers"][1]["securityContext"] = {"privileged": True}
    live = violations(policies, subject(other, Scope.LIVE), today)
    assert [v.scope for v in merge_scopes(desired + live)] == ["desired", "live"]  # messages differ


def test_properties_read_lists_what_live_side_aws_policies_look_at() -> None:
    from driftwatch.policy.engine import PolicySet, properties_read

    def policy(expression: str, scope: str = "[desired, live]") -> str:
        return (
            "apiVersion: driftwatch.dev/v1alpha1\nkind: Policy\n"
            "metadata: {name: p, severity: high}\n"
            f"spec:\n  provider: aws\n  scope: {scope}\n"
            "  match: {resourceTypes: [AWS::S3::Bucket]}\n"
            f"  validations: [{{expression: '{expression}'}}]\n"
        )

    def read(*texts: str, type_: str = "AWS::S3::Bucket") -> frozenset[str] | None:
        found = PolicySet()
        for text in texts:
            found.extend(load_documents("p.yaml", text))
        assert not found.errors
        return properties_read(found.policies, type_)

    assert read(policy('has(properties.BucketEncryption) && object.region != "x"')) == {
        "BucketEncryption"
    }
    assert read(policy("properties.size() > 0")) is None  # the whole map: anything
    assert read(policy("has(properties.Tags)", "[desired]")) == frozenset()  # Git side only
    assert read(policy("has(properties.Tags)"), type_="AWS::SQS::Queue") == frozenset()


def test_bad_documents_beside_a_policy_are_reported_and_the_policy_loads() -> None:
    text = "---\n".join(
        [
            POLICY,
            HOSTILE["int-key"].text,
            HOSTILE["alias-bomb"].text,
            POLICY.replace("no-privileged", "second"),
        ]
    )
    policies = load_documents("policies/p.yaml", text)
    assert [p.name for p in policies.policies] == ["no-privileged", "second"]
    first = POLICY.count("\n") + 2
    assert [(e.line, e.key) for e in policies.errors] == [
        (first + 5, "data.1"),
        (first + HOSTILE["int-key"].text.count("\n") + 1, None),
    ]
    # The manifest loader reports these for files it read itself.
    assert load_documents("policies/p.yaml", text, bad_documents=False).errors == []
