"""AWS::IAM::Role, User and ManagedPolicy read from moto's IAM over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import driftwatch.providers.aws.live.iam  # noqa: F401  (registers the types)
from driftwatch.policy.engine import PolicySubject, evaluate, load_documents
from driftwatch.policy.model import Scope
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer, iter_calls

ROLE = REGISTRY["AWS::IAM::Role"]
USER = REGISTRY["AWS::IAM::User"]
MANAGED_POLICY = REGISTRY["AWS::IAM::ManagedPolicy"]
TYPES = (ROLE, USER, MANAGED_POLICY)
POLICIES = Path(__file__).resolve().parents[4] / "policies" / "aws"
ACCOUNT = "123456789012"

TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
READ: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/*"}],
}
ADMIN: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def scan(type_: Any, clients: Any) -> dict[str, LiveResource]:
    return {r.identifier: r for r in type_.scan(clients, "global")}


def no_admin(type_name: str, properties: dict[str, Any]) -> bool | None:
    """The built-in iam-no-admin-policy's verdict on a live resource."""
    path = POLICIES / "iam-no-admin-policy.yaml"
    compiled = load_documents(str(path), path.read_text()).policies
    body = {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": "r"},
        "spec": {"type": type_name, "region": "global", "properties": properties},
    }
    subject = PolicySubject(
        provider="aws",
        kind=type_name,
        group="",
        namespace=None,
        name="r",
        labels={},
        body=body,
        scope=Scope.LIVE,
    )
    [result] = evaluate(compiled, subject)
    return result.passed


def tags(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs]


def create_policy(client: Any, name: str, document: dict[str, Any], **kwargs: Any) -> str:
    arn: str = client.create_policy(PolicyName=name, PolicyDocument=json.dumps(document), **kwargs)[
        "Policy"
    ]["Arn"]
    return arn


# ---------------------------------------------------------------------------------------
# Role


def make_role(client: Any) -> tuple[str, str]:
    deploy = create_policy(client, "deploy", READ, Path="/team/")
    boundary = create_policy(client, "boundary", READ)
    client.create_role(
        RoleName="app-server",
        Path="/apps/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="the shop's servers",
        MaxSessionDuration=7200,
        PermissionsBoundary=boundary,
        Tags=tags(("team", "shop"), ("env", "prod")),
    )
    client.attach_role_policy(RoleName="app-server", PolicyArn=deploy)
    client.attach_role_policy(RoleName="app-server", PolicyArn=boundary)
    client.put_role_policy(
        RoleName="app-server", PolicyName="read-assets", PolicyDocument=json.dumps(READ)
    )
    client.put_role_policy(
        RoleName="app-server", PolicyName="extra", PolicyDocument=json.dumps(READ)
    )
    return deploy, boundary


def test_role(clients: Any) -> None:
    client = clients("iam", "global")
    deploy, boundary = make_role(client)
    [role] = scan(ROLE, clients).values()
    assert (role.type, role.region, role.identifier, role.aws_managed) == (
        "AWS::IAM::Role",
        "global",
        "app-server",
        None,
    )
    assert role.properties == {
        "RoleName": "app-server",
        "Path": "/apps/",
        "AssumeRolePolicyDocument": TRUST,
        "Description": "the shop's servers",
        "MaxSessionDuration": 7200,
        "ManagedPolicyArns": sorted([boundary, deploy]),
        "Policies": [  # by name
            {"PolicyName": "extra", "PolicyDocument": READ},
            {"PolicyName": "read-assets", "PolicyDocument": READ},
        ],
        "PermissionsBoundary": boundary,
        "Tags": tags(("env", "prod"), ("team", "shop")),
    }
    assert set(role.properties) <= ROLE.properties
    assert no_admin(ROLE.name, role.properties) is True


def test_role_changes(clients: Any) -> None:
    client = clients("iam", "global")
    deploy, boundary = make_role(client)
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"AWS": ACCOUNT}}]}
    client.update_assume_role_policy(RoleName="app-server", PolicyDocument=json.dumps(trust))
    client.update_role(RoleName="app-server", Description="changed", MaxSessionDuration=3600)
    client.detach_role_policy(RoleName="app-server", PolicyArn=deploy)
    client.delete_role_policy(RoleName="app-server", PolicyName="extra")
    client.put_role_policy(
        RoleName="app-server", PolicyName="read-assets", PolicyDocument=json.dumps(ADMIN)
    )
    client.delete_role_permissions_boundary(RoleName="app-server")
    client.untag_role(RoleName="app-server", TagKeys=["env", "team"])
    properties = scan(ROLE, clients)["app-server"].properties
    assert properties == {
        "RoleName": "app-server",
        "Path": "/apps/",
        "AssumeRolePolicyDocument": trust,
        "Description": "changed",
        "MaxSessionDuration": 3600,
        "ManagedPolicyArns": [boundary],
        "Policies": [{"PolicyName": "read-assets", "PolicyDocument": ADMIN}],
    }
    assert no_admin(ROLE.name, properties) is False


def test_minimal_role(clients: Any) -> None:
    clients("iam", "global").create_role(
        RoleName="bare", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    assert scan(ROLE, clients)["bare"].properties == {
        "RoleName": "bare",
        "Path": "/",
        "AssumeRolePolicyDocument": TRUST,
        "MaxSessionDuration": 3600,
    }


def test_service_linked_role_is_aws_managed(clients: Any) -> None:
    client = clients("iam", "global")
    client.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    client.create_role(RoleName="mine", AssumeRolePolicyDocument=json.dumps(TRUST))
    roles = scan(ROLE, clients)
    assert roles["AWSServiceRoleForAutoScaling"].aws_managed == "service-linked role"
    assert roles["AWSServiceRoleForAutoScaling"].properties["Path"].startswith("/aws-service-role/")
    assert roles["mine"].aws_managed is None


def test_many_roles_are_paginated(clients: Any) -> None:
    client = clients("iam", "global")
    names = sorted(f"role-{i:03d}" for i in range(120))  # ListRoles pages hold 100
    for name in names:
        client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    assert sorted(scan(ROLE, clients)) == names


# ---------------------------------------------------------------------------------------
# User


def make_user(client: Any) -> str:
    deploy = create_policy(client, "deploy", READ)
    client.create_user(UserName="ci", Path="/automation/", Tags=tags(("owner", "platform")))
    for group in ("deployers", "auditors"):
        client.create_group(GroupName=group)
        client.add_user_to_group(GroupName=group, UserName="ci")
    client.attach_user_policy(UserName="ci", PolicyArn=deploy)
    client.put_user_policy(UserName="ci", PolicyName="push", PolicyDocument=json.dumps(READ))
    return deploy


def test_user(clients: Any) -> None:
    deploy = make_user(clients("iam", "global"))
    [user] = scan(USER, clients).values()
    assert (user.type, user.region, user.identifier, user.aws_managed) == (
        "AWS::IAM::User",
        "global",
        "ci",
        None,
    )
    assert user.properties == {
        "UserName": "ci",
        "Path": "/automation/",
        "ManagedPolicyArns": [deploy],
        "Policies": [{"PolicyName": "push", "PolicyDocument": READ}],
        "Groups": ["auditors", "deployers"],
        "Tags": tags(("owner", "platform")),
    }
    assert set(user.properties) <= USER.properties
    assert no_admin(USER.name, user.properties) is True


def test_user_changes(clients: Any) -> None:
    client = clients("iam", "global")
    deploy = make_user(client)
    client.remove_user_from_group(GroupName="auditors", UserName="ci")
    client.detach_user_policy(UserName="ci", PolicyArn=deploy)
    client.put_user_policy(UserName="ci", PolicyName="push", PolicyDocument=json.dumps(ADMIN))
    client.tag_user(UserName="ci", Tags=tags(("owner", "security"), ("env", "prod")))
    properties = scan(USER, clients)["ci"].properties
    assert properties == {
        "UserName": "ci",
        "Path": "/automation/",
        "Policies": [{"PolicyName": "push", "PolicyDocument": ADMIN}],
        "Groups": ["deployers"],
        "Tags": tags(("env", "prod"), ("owner", "security")),
    }
    assert no_admin(USER.name, properties) is False


# ---------------------------------------------------------------------------------------
# Managed policy


def test_managed_policy(clients: Any) -> None:
    client = clients("iam", "global")
    arn = create_policy(client, "read-assets", READ, Path="/team/", Description="read assets")
    client.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(TRUST))
    client.create_user(UserName="bob")
    client.create_group(GroupName="devs")
    client.attach_role_policy(RoleName="app", PolicyArn=arn)
    client.attach_user_policy(UserName="bob", PolicyArn=arn)
    client.attach_group_policy(GroupName="devs", PolicyArn=arn)
    unattached = create_policy(client, "spare", READ)
    found = scan(MANAGED_POLICY, clients)
    assert set(found) == {arn, unattached}
    policy = found[arn]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/team/read-assets"
    assert (policy.type, policy.region, policy.aws_managed) == (
        "AWS::IAM::ManagedPolicy",
        "global",
        None,
    )
    assert policy.properties == {
        "PolicyArn": arn,
        "ManagedPolicyName": "read-assets",
        "Path": "/team/",
        "Description": "read assets",
        "PolicyDocument": READ,
        "Groups": ["devs"],
        "Roles": ["app"],
        "Users": ["bob"],
    }
    assert found[unattached].properties == {
        "PolicyArn": unattached,
        "ManagedPolicyName": "spare",
        "Path": "/",
        "PolicyDocument": READ,
    }
    assert set(policy.properties) <= MANAGED_POLICY.properties
    assert no_admin(MANAGED_POLICY.name, policy.properties) is True


def test_managed_policy_new_default_version(clients: Any) -> None:
    client = clients("iam", "global")
    arn = create_policy(client, "grows", READ)
    client.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ADMIN), SetAsDefault=True)
    properties = scan(MANAGED_POLICY, clients)[arn].properties
    assert properties["PolicyDocument"] == ADMIN
    assert no_admin(MANAGED_POLICY.name, properties) is False
    # Back to v1: the default version is what counts, not the newest.
    client.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert scan(MANAGED_POLICY, clients)[arn].properties["PolicyDocument"] == READ


def test_only_customer_managed_policies_are_listed(
    moto: MotoServer, clients: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto then loads AWS's ~1,000 managed policies, as IAM lists them with Scope=All.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    moto.reset()
    client = clients("iam", "global")
    assert len(client.list_policies(Scope="AWS", MaxItems=10)["Policies"]) == 10
    mine = create_policy(client, "mine", READ)
    client.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(TRUST))
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    client.attach_role_policy(RoleName="app", PolicyArn=read_only)
    assert list(scan(MANAGED_POLICY, clients)) == [mine]
    assert scan(ROLE, clients)["app"].properties["ManagedPolicyArns"] == [read_only]


# ---------------------------------------------------------------------------------------
# Faults, registration


def test_throttling_is_retried(moto: MotoServer, clients: Any) -> None:
    make_role(clients("iam", "global"))
    moto.faults.calls.clear()
    moto.faults.throttle_next("iam", "GetRolePolicy", 1)
    assert len(scan(ROLE, clients)["app-server"].properties["Policies"]) == 2
    assert list(iter_calls(moto.faults, "iam")).count("GetRolePolicy") == 2 + 1


def test_entities_deleted_during_the_scan_are_skipped(clients: Any) -> None:
    client = clients("iam", "global")
    for name in ("first", "second", "third"):
        client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    scanner = iter(ROLE.scan(clients, "global"))
    yielded = [next(scanner).identifier]  # the listing page is read: all three are listed
    client.delete_role(RoleName=next(n for n in ("second", "third") if n not in yielded))
    yielded += [r.identifier for r in scanner]
    assert len(yielded) == 2


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.name)
def test_access_denied_is_raised(moto: MotoServer, clients: Any, type_: Any) -> None:
    make_role(clients("iam", "global"))
    moto.faults.deny("iam")
    with pytest.raises(ClientError) as raised:
        list(type_.scan(clients, "global"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_denied_inline_policy_read_is_raised(moto: MotoServer, clients: Any) -> None:
    make_role(clients("iam", "global"))
    moto.faults.deny("iam", "GetRolePolicy")
    with pytest.raises(ClientError) as raised:
        list(ROLE.scan(clients, "global"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_scanners_call_only_their_declared_actions(moto: MotoServer, clients: Any) -> None:
    client = clients("iam", "global")
    make_role(client)
    make_user(client)
    for type_ in TYPES:
        moto.faults.calls.clear()
        list(type_.scan(clients, "global"))
        called = {f"iam:{action}" for action in iter_calls(moto.faults, "iam")}
        assert called == set(type_.actions), type_.name


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.name)
def test_registration(type_: Any) -> None:
    assert type_.service == "iam" and not type_.regional
    assert type_.identifier in type_.properties
    assert set(type_.example) <= type_.properties
    assert type_.docs
    read_only = ("iam:List", "iam:Get")
    assert all(action.startswith(read_only) for action in type_.actions)
