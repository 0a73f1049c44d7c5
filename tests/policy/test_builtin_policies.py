"""The built-in policy library (``policies/``): it loads, it is documented, and each
non-PSS policy passes and fails the objects it should.  The PSS policies are checked
against Kyverno's corpus in ``test_kyverno_conformance.py``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from driftwatch.policy.engine import (
    CompiledPolicy,
    PolicySet,
    PolicySubject,
    RuleResult,
    evaluate,
    load_documents,
)
from driftwatch.policy.model import Scope
from driftwatch.yamldoc import parse_documents

LIBRARY = Path(__file__).resolve().parents[2] / "policies"
PSS_DIR = LIBRARY / "kubernetes" / "pod-security"
POD_KINDS = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
]

FILES = sorted(LIBRARY.rglob("*.yaml"))


def load_library() -> PolicySet:
    found = PolicySet()
    for path in FILES:
        found.extend(load_documents(str(path.relative_to(LIBRARY)), path.read_text()))
    return found


LOADED = load_library()
POLICIES: dict[str, CompiledPolicy] = {p.name: p for p in LOADED.policies}


# ---------------------------------------------------------------------------------------
# the library as a whole


def test_library_has_the_expected_files() -> None:
    assert len(list(PSS_DIR.glob("*.yaml"))) == 18
    assert len(FILES) >= 29


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_every_file_loads_without_errors_and_holds_one_policy(path: Path) -> None:
    found = load_documents(str(path), path.read_text())
    assert not found.errors, "\n".join(str(e) for e in found.errors)
    assert len(found.policies) == 1
    assert path.stem == found.policies[0].name, "file name = policy name"


def test_policy_names_are_unique() -> None:
    names = [p.name for p in LOADED.policies]
    assert len(names) == len(set(names)) == len(FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_every_policy_is_documented(path: Path) -> None:
    raw = parse_documents(path.read_text())[0].data
    meta, spec = raw["metadata"], raw["spec"]
    assert meta.get("severity") in ("critical", "high", "medium", "low", "info")
    assert meta.get("references"), "references"
    assert meta.get("category"), "category"
    assert len(meta.get("description", "")) > 80, "description"
    assert len(spec.get("remediation", "")) > 30, "remediation"
    assert spec.get("scope") in (["desired", "live"], ["desired"])  # Git-only ones say why
    for validation in spec["validations"]:
        assert validation.get("name"), "rule name"
        assert validation.get("message"), f"{validation['name']}: message"
        assert validation.get("fieldPath"), f"{validation['name']}: fieldPath"


@pytest.mark.parametrize("path", sorted(PSS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_pss_policies_share_match_category_and_references(path: Path) -> None:
    raw = parse_documents(path.read_text())[0].data
    meta, spec = raw["metadata"], raw["spec"]
    assert spec["provider"] == "kubernetes"
    assert spec["match"] == {"kinds": POD_KINDS}
    level = "Restricted" if meta["category"].endswith("(Restricted)") else "Baseline"
    assert meta["category"] == f"Pod Security Standards ({level})"
    refs = meta["references"]
    assert any(r.startswith(f"PSS:{level.lower()}/") for r in refs)
    assert f"Kyverno:pod-security/{level.lower()}/{meta['name']}" in refs
    if meta["name"] == "disallow-host-ports-range":
        assert "Not part of the upstream Kubernetes Pod Security Standards" in meta["description"]


@pytest.mark.parametrize("path", sorted((LIBRARY / "aws").glob("*.yaml")), ids=lambda p: p.stem)
def test_aws_policies_name_cis_and_resource_types(path: Path) -> None:
    raw = parse_documents(path.read_text())[0].data
    assert raw["spec"]["provider"] == "aws"
    assert raw["spec"]["match"]["resourceTypes"]
    assert any(r.startswith("CIS-AWS-") for r in raw["metadata"]["references"])


# ---------------------------------------------------------------------------------------
# helpers


def k8s_subject(body: Mapping[str, Any], scope: Scope = Scope.DESIRED) -> PolicySubject:
    metadata = body.get("metadata") or {}
    return PolicySubject(
        provider="kubernetes",
        kind=str(body["kind"]),
        group=str(body.get("apiVersion", "")).rpartition("/")[0],
        namespace=metadata.get("namespace"),
        name=str(metadata.get("name", "")),
        labels=metadata.get("labels") or {},
        body=body,
        scope=scope,
    )


def aws_subject(body: Mapping[str, Any]) -> PolicySubject:
    return PolicySubject(
        provider="aws",
        kind=str(body["spec"]["type"]),
        group="",
        namespace=None,
        name=str(body["metadata"]["name"]),
        labels={},
        body=body,
        scope=Scope.DESIRED,
    )


def results(policy: str, body: Mapping[str, Any]) -> list[RuleResult]:
    subject = aws_subject(body) if body.get("kind") == "AWSResource" else k8s_subject(body)
    found = evaluate([POLICIES[policy]], subject)
    assert all(r.passed is not None for r in found), [r.message for r in found]
    return found


def verdicts(policy: str, body: Mapping[str, Any]) -> dict[str, bool | None]:
    return {r.rule.validation.name: r.passed for r in results(policy, body)}


def messages(policy: str, body: Mapping[str, Any]) -> str:
    return " | ".join(r.message for r in results(policy, body) if not r.passed)


def workload(
    containers: list[dict[str, Any]],
    kind: str = "Deployment",
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers}
    if init is not None:
        spec["initContainers"] = init
    template = {"metadata": {"labels": {"app": "web"}}, "spec": spec}
    meta = {"name": "web", "namespace": "shop"}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if kind == "CronJob":
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": meta,
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}},
        }
    group = "batch/v1" if kind == "Job" else "apps/v1"
    return {"apiVersion": group, "kind": kind, "metadata": meta, "spec": {"template": template}}


def aws(type_: str, properties: dict[str, Any], name: str = "res") -> dict[str, Any]:
    return {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": name},
        "spec": {
            "type": type_,
            "region": "eu-west-1",
            "account": "123456789012",
            "identifier": name,
            "properties": properties,
        },
    }


# ---------------------------------------------------------------------------------------
# require-requests-limits

SIZED = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}


def test_requests_limits_pass() -> None:
    body = workload(
        [{"name": "app", "image": "app:1", "resources": SIZED}],
        init=[{"name": "migrate", "image": "app:1"}],  # ordinary init containers are exempt
    )
    assert verdicts("require-requests-limits", body) == {"requests-and-memory-limit": True}
    numbers = {"requests": {"cpu": 1, "memory": 134217728}, "limits": {"memory": "1Gi"}}
    body = workload([{"name": "app", "image": "app:1", "resources": numbers}], kind="CronJob")
    assert verdicts("require-requests-limits", body) == {"requests-and-memory-limit": True}


@pytest.mark.parametrize(
    "resources, missing",
    [
        (None, "requests.cpu, requests.memory, limits.memory"),
        ({"requests": {"cpu": "100m", "memory": "128Mi"}}, "limits.memory"),
        (
            {"requests": {"memory": "128Mi"}, "limits": {"memory": "1Gi", "cpu": "1"}},
            "requests.cpu",
        ),
        (
            {"requests": {"cpu": "100m", "memory": "128mb"}, "limits": {"memory": "1Gi"}},
            "requests.memory",
        ),
    ],
    ids=["none", "no-memory-limit", "no-cpu-request", "bad-quantity"],
)
def test_requests_limits_fail(resources: dict[str, Any] | None, missing: str) -> None:
    container: dict[str, Any] = {"name": "app", "image": "app:1"}
    if resources is not None:
        container["resources"] = resources
    body = workload([container], kind="Pod")
    assert verdicts("require-requests-limits", body) == {"requests-and-memory-limit": False}
    assert f"app (missing {missing})" in messages("require-requests-limits", body)


def test_requests_limits_cover_native_sidecars() -> None:
    sidecar = {"name": "proxy", "image": "envoy:1.30", "restartPolicy": "Always"}
    body = workload([{"name": "app", "image": "app:1", "resources": SIZED}], init=[sidecar])
    assert verdicts("require-requests-limits", body) == {"requests-and-memory-limit": False}
    assert "proxy (missing" in messages("require-requests-limits", body)


# ---------------------------------------------------------------------------------------
# disallow-latest-tag

TAG_RULES = ("require-image-tag", "validate-image-tag")


@pytest.mark.parametrize(
    "image, tagged, not_latest",
    [
        ("nginx:1.25", True, True),
        ("registry.example.com:5000/team/app:v1.2.3", True, True),
        ("app@sha256:" + "a" * 64, True, True),
        ("nginx:latest@sha256:" + "b" * 64, True, True),
        ("nginx", False, True),
        ("registry.example.com:5000/team/app", False, True),
        ("nginx:latest", True, False),
        ("registry.example.com:5000/app:latest", True, False),
    ],
)
def test_latest_tag(image: str, tagged: bool, not_latest: bool) -> None:
    body = workload([{"name": "app", "image": image}], kind="StatefulSet")
    expected = dict(zip(TAG_RULES, (tagged, not_latest), strict=True))
    assert verdicts("disallow-latest-tag", body) == expected
    if not (tagged and not_latest):
        assert f"app ({image})" in messages("disallow-latest-tag", body)


def test_latest_tag_checks_init_containers_too() -> None:
    body = workload(
        [{"name": "app", "image": "app:1"}], kind="Job", init=[{"name": "i", "image": "busybox"}]
    )
    assert verdicts("disallow-latest-tag", body) == {
        "require-image-tag": False,
        "validate-image-tag": True,
    }


# ---------------------------------------------------------------------------------------
# require-probes

PROBE = {"httpGet": {"path": "/healthz", "port": 8080}}
PROBE_RULES = ("require-liveness-probe", "require-readiness-probe")


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_probes_pass(kind: str) -> None:
    app = {"name": "app", "image": "app:1", "livenessProbe": PROBE, "readinessProbe": PROBE}
    body = workload([app], kind=kind, init=[{"name": "init", "image": "app:1"}])
    assert verdicts("require-probes", body) == dict.fromkeys(PROBE_RULES, True)


def test_probes_fail_per_rule() -> None:
    body = workload(
        [
            {"name": "app", "image": "app:1", "livenessProbe": PROBE},
            {"name": "metrics", "image": "exporter:1", "readinessProbe": PROBE},
        ]
    )
    assert verdicts("require-probes", body) == dict.fromkeys(PROBE_RULES, False)
    text = messages("require-probes", body)
    assert "A livenessProbe is required: metrics" in text
    assert "A readinessProbe is required: app" in text


@pytest.mark.parametrize("kind", ["Pod", "Job", "CronJob"])
def test_probes_ignore_pods_and_jobs(kind: str) -> None:
    body = workload([{"name": "app", "image": "app:1"}], kind=kind)
    assert verdicts("require-probes", body) == {}


# ---------------------------------------------------------------------------------------
# AWS: S3

ALL_BLOCKED = dict.fromkeys(
    ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
)


def test_s3_block_public_access() -> None:
    policy, rule = "s3-block-public-access", "block-public-access"
    ok = aws("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": ALL_BLOCKED})
    assert verdicts(policy, ok) == {rule: True}
    strings = {k: "true" for k in ALL_BLOCKED}
    ok = aws("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": strings})
    assert verdicts(policy, ok) == {rule: True}
    assert verdicts(policy, aws("AWS::S3::Bucket", {})) == {rule: False}
    partial = {**ALL_BLOCKED, "BlockPublicPolicy": False}
    partial.pop("RestrictPublicBuckets")
    bad = aws("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": partial})
    assert verdicts(policy, bad) == {rule: False}
    assert messages(policy, bad).endswith(
        "PublicAccessBlockConfiguration.BlockPublicPolicy, "
        "PublicAccessBlockConfiguration.RestrictPublicBuckets"
    )


DENY_HTTP = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
ALLOW_READ = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::b/*",
}


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return aws(
        "AWS::S3::BucketPolicy",
        {"Bucket": "b", "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}},
    )


@pytest.mark.parametrize(
    "body, passed",
    [
        (bucket_policy(ALLOW_READ, DENY_HTTP), True),
        (
            bucket_policy(
                {
                    **DENY_HTTP,
                    "Principal": {"AWS": "*"},
                    "Action": ["s3:*"],
                    "Condition": {"Bool": {"aws:SecureTransport": False}},
                }
            ),
            True,
        ),
        (
            aws(
                "AWS::S3::BucketPolicy",
                {"Bucket": "b", "PolicyDocument": {"Statement": {**DENY_HTTP, "Action": "*"}}},
            ),
            True,
        ),
        (bucket_policy(ALLOW_READ), False),
        (
            bucket_policy({**DENY_HTTP, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
            False,
        ),
        (bucket_policy({**DENY_HTTP, "Effect": "Allow"}), False),
        (bucket_policy({**DENY_HTTP, "Action": "s3:GetObject"}), False),
        (bucket_policy({k: v for k, v in DENY_HTTP.items() if k != "Condition"}), False),
        (aws("AWS::S3::BucketPolicy", {"Bucket": "b"}), False),
        # a bucket that does not embed its policy: the BucketPolicy resource is checked
        (aws("AWS::S3::Bucket", {"BucketName": "b"}), True),
        (
            aws(
                "AWS::S3::Bucket", {"BucketPolicy": {"PolicyDocument": {"Statement": [DENY_HTTP]}}}
            ),
            True,
        ),
        (aws("AWS::S3::Bucket", {"PolicyDocument": {"Statement": [ALLOW_READ]}}), False),
    ],
    ids=[
        "deny-http",
        "aws-star-principal-bool-false",
        "single-statement",
        "no-deny",
        "secure-transport-true",
        "allow-not-deny",
        "narrow-action",
        "no-condition",
        "no-document",
        "bucket-without-policy",
        "bucket-embedded-deny",
        "bucket-embedded-allow-only",
    ],
)
def test_s3_deny_insecure_transport(body: dict[str, Any], passed: bool) -> None:
    assert verdicts("s3-deny-insecure-transport", body) == {"deny-insecure-transport": passed}


@pytest.mark.parametrize(
    "properties, passed",
    [
        (
            {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:key/k",
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                }
            },
            True,
        ),
        (
            {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                }
            },
            True,
        ),
        ({}, False),
        ({"BucketEncryption": {"ServerSideEncryptionConfiguration": []}}, False),
        (
            {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"BucketKeyEnabled": True}]
                }
            },
            False,
        ),
    ],
    ids=["kms", "aes256", "absent", "empty", "no-algorithm"],
)
def test_s3_default_encryption(properties: dict[str, Any], passed: bool) -> None:
    body = aws("AWS::S3::Bucket", properties)
    assert verdicts("s3-default-encryption", body) == {"default-encryption": passed}


# ---------------------------------------------------------------------------------------
# AWS: EC2


def ingress(**rule: Any) -> dict[str, Any]:
    return aws("AWS::EC2::SecurityGroup", {"GroupDescription": "g", "SecurityGroupIngress": [rule]})


@pytest.mark.parametrize(
    "body, passed",
    [
        (ingress(IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8"), True),
        (ingress(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0"), True),
        (ingress(IpProtocol="icmp", FromPort=-1, ToPort=-1, CidrIp="0.0.0.0/0"), True),
        (ingress(IpProtocol="tcp", FromPort=1024, ToPort=3388, CidrIpv6="::/0"), True),
        (ingress(IpProtocol="-1", SourceSecurityGroupId="sg-1"), True),
        (aws("AWS::EC2::SecurityGroup", {"GroupDescription": "no rules"}), True),
        (ingress(IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0"), False),
        (ingress(IpProtocol="TCP", FromPort="20", ToPort="25", CidrIp="0.0.0.0/0"), False),
        (ingress(IpProtocol="udp", FromPort=3389, ToPort=3389, CidrIpv6="::/0"), False),
        (ingress(IpProtocol="6", FromPort=0, ToPort=65535, CidrIpv6="::/0"), False),
        (ingress(IpProtocol="-1", CidrIp="0.0.0.0/0"), False),
        (ingress(IpProtocol=-1, FromPort=443, ToPort=443, CidrIp="0.0.0.0/0"), False),
        (
            aws(
                "AWS::EC2::SecurityGroupIngress",
                {
                    "GroupId": "sg-1",
                    "IpProtocol": "tcp",
                    "FromPort": 3389,
                    "ToPort": 3389,
                    "CidrIp": "0.0.0.0/0",
                },
            ),
            False,
        ),
        (
            aws(
                "AWS::EC2::SecurityGroupIngress",
                {
                    "GroupId": "sg-1",
                    "IpProtocol": "tcp",
                    "FromPort": 3389,
                    "ToPort": 3389,
                    "CidrIp": "192.0.2.0/24",
                },
            ),
            True,
        ),
    ],
    ids=[
        "ssh-from-private",
        "https-from-internet",
        "icmp-from-internet",
        "range-below-rdp",
        "all-from-sg",
        "no-rules",
        "ssh-from-internet",
        "string-ports-range",
        "rdp-udp-ipv6",
        "all-ports-ipv6",
        "all-traffic",
        "all-traffic-int-protocol",
        "standalone-ingress-open",
        "standalone-ingress-closed",
    ],
)
def test_ec2_no_admin_ports_from_internet(body: dict[str, Any], passed: bool) -> None:
    policy = "ec2-no-admin-ports-from-internet"
    assert verdicts(policy, body) == {"no-admin-ports-from-internet": passed}


def test_ec2_admin_ports_message_names_the_rule() -> None:
    body = ingress(IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0")
    assert messages("ec2-no-admin-ports-from-internet", body).endswith("0.0.0.0/0 tcp 22-22")


@pytest.mark.parametrize(
    "body, passed",
    [
        (
            aws(
                "AWS::EC2::Instance",
                {"ImageId": "ami-1", "MetadataOptions": {"HttpTokens": "required"}},
            ),
            True,
        ),
        (aws("AWS::EC2::Instance", {"MetadataOptions": {"HttpEndpoint": "disabled"}}), True),
        (
            aws(
                "AWS::EC2::Instance",
                {"LaunchTemplate": {"LaunchTemplateId": "lt-1", "Version": "1"}},
            ),
            True,
        ),
        (aws("AWS::EC2::Instance", {"ImageId": "ami-1"}), False),
        (aws("AWS::EC2::Instance", {"MetadataOptions": {"HttpTokens": "optional"}}), False),
        (
            aws(
                "AWS::EC2::Instance",
                {
                    "LaunchTemplate": {"LaunchTemplateId": "lt-1"},
                    "MetadataOptions": {"HttpTokens": "optional"},
                },
            ),
            False,
        ),
        (
            aws(
                "AWS::EC2::LaunchTemplate",
                {
                    "LaunchTemplateData": {
                        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
                    }
                },
            ),
            True,
        ),
        (aws("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": {"ImageId": "ami-1"}}), False),
    ],
    ids=[
        "required",
        "endpoint-disabled",
        "from-launch-template",
        "absent",
        "optional",
        "template-overridden-optional",
        "template-required",
        "template-absent",
    ],
)
def test_ec2_imdsv2_required(body: dict[str, Any], passed: bool) -> None:
    assert verdicts("ec2-imdsv2-required", body) == {"imdsv2-required": passed}


# ---------------------------------------------------------------------------------------
# AWS: KMS, CloudTrail, IAM


@pytest.mark.parametrize(
    "properties, passed",
    [
        ({"EnableKeyRotation": True}, True),
        ({"EnableKeyRotation": True, "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS"}, True),
        ({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, True),
        ({"Origin": "EXTERNAL"}, True),
        ({}, False),
        ({"EnableKeyRotation": False}, False),
        ({"KeySpec": "SYMMETRIC_DEFAULT"}, False),
    ],
    ids=["on", "on-explicit-spec", "asymmetric", "imported", "absent", "off", "symmetric-absent"],
)
def test_kms_key_rotation(properties: dict[str, Any], passed: bool) -> None:
    body = aws("AWS::KMS::Key", properties)
    assert verdicts("kms-key-rotation", body) == {"key-rotation-enabled": passed}


@pytest.mark.parametrize(
    "properties, expected",
    [
        ({"IsMultiRegionTrail": True, "IsLogging": True, "S3BucketName": "logs"}, (True, True)),
        ({"IsMultiRegionTrail": False, "IsLogging": True}, (False, True)),
        ({"IsLogging": False}, (False, False)),
        ({"IsMultiRegionTrail": "true"}, (True, False)),
    ],
    ids=["good", "single-region", "stopped", "not-logging"],
)
def test_cloudtrail_multi_region(properties: dict[str, Any], expected: tuple[bool, bool]) -> None:
    body = aws("AWS::CloudTrail::Trail", properties)
    assert verdicts("cloudtrail-multi-region", body) == dict(
        zip(("multi-region", "logging"), expected, strict=True)
    )


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
S3_ALL = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}


@pytest.mark.parametrize(
    "body, passed",
    [
        (aws("AWS::IAM::ManagedPolicy", {"PolicyDocument": document(S3_ALL)}), True),
        (
            aws(
                "AWS::IAM::ManagedPolicy", {"PolicyDocument": document({**ADMIN, "Effect": "Deny"})}
            ),
            True,
        ),
        (
            aws(
                "AWS::IAM::ManagedPolicy",
                {"PolicyDocument": document({**ADMIN, "Resource": "arn:aws:s3:::b"})},
            ),
            True,
        ),
        (aws("AWS::IAM::User", {"UserName": "ci"}), True),
        (aws("AWS::IAM::ManagedPolicy", {"PolicyDocument": document(S3_ALL, ADMIN)}), False),
        (aws("AWS::IAM::ManagedPolicy", {"PolicyDocument": {"Statement": ADMIN}}), False),
        (
            aws(
                "AWS::IAM::ManagedPolicy",
                {
                    "PolicyDocument": document(
                        {**ADMIN, "Action": ["s3:GetObject", "*"], "Resource": ["*"]}
                    )
                },
            ),
            False,
        ),
        (aws("AWS::IAM::Policy", {"PolicyName": "p", "PolicyDocument": document(ADMIN)}), False),
        (
            aws(
                "AWS::IAM::Group",
                {"Policies": [{"PolicyName": "g", "PolicyDocument": document(ADMIN)}]},
            ),
            False,
        ),
    ],
    ids=[
        "service-wildcard",
        "deny-all",
        "scoped-resource",
        "user-without-policies",
        "admin-statement",
        "single-statement",
        "action-list",
        "iam-policy",
        "group-inline",
    ],
)
def test_iam_no_admin_policy(body: dict[str, Any], passed: bool) -> None:
    assert verdicts("iam-no-admin-policy", body) == {"no-full-admin": passed}


def test_iam_admin_message_names_the_inline_policies() -> None:
    role = aws(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ),
            "Policies": [
                {"PolicyName": "read", "PolicyDocument": document(S3_ALL)},
                {"PolicyName": "god-mode", "PolicyDocument": document(ADMIN)},
            ],
        },
    )
    assert verdicts("iam-no-admin-policy", role) == {"no-full-admin": False}
    assert messages("iam-no-admin-policy", role).endswith(": god-mode")


def test_aws_policies_do_not_run_on_kubernetes_objects_and_vice_versa() -> None:
    bucket = aws("AWS::S3::Bucket", {})
    assert {r.policy.name for r in evaluate(LOADED.policies, aws_subject(bucket))} == {
        "s3-block-public-access",
        "s3-deny-insecure-transport",
        "s3-default-encryption",
    }
    pod = workload([{"name": "app", "image": "app:1"}], kind="Pod")
    names = {r.policy.name for r in evaluate(LOADED.policies, k8s_subject(pod))}
    assert not any(n.startswith(("s3-", "ec2-", "kms-", "iam-", "cloudtrail-")) for n in names)
    assert "require-probes" not in names
    assert len(names) == 18 + 2  # the PSS policies, requests/limits and image tags


def test_live_scope_runs_the_same_policies() -> None:
    pod = workload([{"name": "app", "image": "app:latest"}], kind="Pod")
    desired = evaluate(LOADED.policies, k8s_subject(pod, Scope.DESIRED))
    live = evaluate(LOADED.policies, k8s_subject(pod, Scope.LIVE))
    assert [(r.policy.name, r.passed) for r in desired] == [(r.policy.name, r.passed) for r in live]


# ---------------------------------------------------------------------------------------
# PSS beyond the Kyverno corpus: every pod-bearing kind, and the documented differences


@pytest.mark.parametrize("kind", POD_KINDS)
def test_pss_policies_reach_the_pod_template_of_every_kind(kind: str) -> None:
    bad = {"name": "app", "image": "app:1", "securityContext": {"privileged": True}}
    body = workload([bad], kind=kind)
    assert verdicts("disallow-privileged-containers", body) == {"privileged-containers": False}
    assert messages("disallow-privileged-containers", body).endswith(": app")
    good = workload([{"name": "app", "image": "app:1"}], kind=kind)
    assert verdicts("disallow-privileged-containers", good) == {"privileged-containers": True}


def test_host_process_at_pod_level_fails() -> None:
    body = workload([{"name": "app", "image": "app:1"}], kind="Pod")
    body["spec"]["securityContext"] = {"windowsOptions": {"hostProcess": True}}
    assert verdicts("disallow-host-process", body) == {"host-process-containers": False}
    assert messages("disallow-host-process", body).endswith(": pod")


@pytest.mark.parametrize(
    "profile, passed",
    [
        ({"type": "RuntimeDefault"}, True),
        ({"type": "Localhost", "localhostProfile": "p"}, True),
        ({"type": "Unconfined"}, False),
    ],
)
def test_apparmor_profile_field_is_checked(profile: dict[str, str], passed: bool) -> None:
    app = {"name": "app", "image": "app:1", "securityContext": {"appArmorProfile": profile}}
    body = workload([app])
    assert verdicts("restrict-apparmor-profiles", body) == {"app-armor": passed}


@pytest.mark.parametrize(
    "ports, passed",
    [([0, 5555], True), ([5000, 6000], True), ([0], True), ([4999], False), ([5555, 6001], False)],
)
def test_host_port_range(ports: list[int], passed: bool) -> None:
    containers = [
        {"name": f"c{i}", "image": "app:1", "ports": [{"containerPort": 80, "hostPort": port}]}
        for i, port in enumerate(ports)
    ]
    body = workload(containers, kind="DaemonSet")
    assert verdicts("disallow-host-ports-range", body) == {"host-port-range": passed}


def test_pss_policies_accept_a_pod_spec_without_containers() -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {}}
    subject = k8s_subject(body)
    pss = [p for p in LOADED.policies if p.doc.metadata.category.startswith("Pod Security")]
    found = evaluate(pss, subject)
    assert len(found) == 20
    assert all(r.passed for r in found), [r.message for r in found if not r.passed]
