"""IAM roles, users and customer managed policies (``AWS::IAM::Role``, ``AWS::IAM::User``,
``AWS::IAM::ManagedPolicy``) in CloudFormation shape.  IAM is global: one listing, region
"global".  Policy documents are parsed JSON objects, as in a template.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, error_code, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

ROLE = "AWS::IAM::Role"
USER = "AWS::IAM::User"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"

REGION = "global"
# The entity was deleted between the listing and the reads.
_GONE = "NoSuchEntity"


def _document(value: Any) -> Any:
    """A policy document as a dict.  botocore already URL-decodes and parses IAM's
    documents; a string only comes from clients without that handler."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def _inline_policies(client: Any, kind: str, name: str) -> list[dict[str, Any]]:
    """``Policies`` ([{PolicyName, PolicyDocument}], by name) of a role or user."""
    names = sorted(
        pages(client, f"list_{kind}_policies", "PolicyNames", **{f"{kind.capitalize()}Name": name})
    )
    policies = []
    for policy_name in names:
        try:
            response = getattr(client, f"get_{kind}_policy")(
                **{f"{kind.capitalize()}Name": name, "PolicyName": policy_name}
            )
        except ClientError as error:
            if error_code(error) == _GONE:  # deleted since the listing: no longer there
                continue
            raise
        policies.append(
            {"PolicyName": policy_name, "PolicyDocument": _document(response["PolicyDocument"])}
        )
    return policies


def _attached(client: Any, kind: str, name: str) -> list[str]:
    return sorted(
        policy["PolicyArn"]
        for policy in pages(
            client,
            f"list_attached_{kind}_policies",
            "AttachedPolicies",
            **{f"{kind.capitalize()}Name": name},
        )
    )


def _common(client: Any, kind: str, entity: dict[str, Any]) -> dict[str, Any]:
    """The properties roles and users share, from their Get* answer."""
    name = entity[f"{kind.capitalize()}Name"]
    properties: dict[str, Any] = {"Path": entity["Path"]}
    managed = _attached(client, kind, name)
    if managed:
        properties["ManagedPolicyArns"] = managed
    inline = _inline_policies(client, kind, name)
    if inline:
        properties["Policies"] = inline
    boundary = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary:
        properties["PermissionsBoundary"] = boundary
    tags = cfn_tags(entity.get("Tags"))
    if tags:
        properties["Tags"] = tags
    return properties


def _unless_gone(
    read: Callable[[Any, str], LiveResource], client: Any, name: str
) -> Iterator[LiveResource]:
    """``read(client, name)``, or nothing when the entity was deleted since the listing."""
    try:
        yield read(client, name)
    except ClientError as error:
        if error_code(error) != _GONE:
            raise


# ---------------------------------------------------------------------------------------
# Role


def _role_managed_by_aws(path: str) -> str | None:
    if path.startswith("/aws-service-role/"):
        return "service-linked role"
    if path.startswith("/aws-reserved/"):
        return "AWS reserved role (IAM Identity Center)"
    return None


def _role(client: Any, name: str) -> LiveResource:
    # ListRoles leaves out tags and the permissions boundary.
    role = client.get_role(RoleName=name)["Role"]
    properties: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": _document(role["AssumeRolePolicyDocument"]),
    }
    if role.get("Description"):
        properties["Description"] = role["Description"]
    if role.get("MaxSessionDuration"):
        properties["MaxSessionDuration"] = role["MaxSessionDuration"]
    properties.update(_common(client, "role", role))
    return LiveResource(
        type=ROLE,
        region=REGION,
        identifier=name,
        properties=properties,
        aws_managed=_role_managed_by_aws(role["Path"]),
    )


def scan_roles(clients: Clients, region: str) -> Iterator[LiveResource]:
    client = clients("iam", REGION)
    for listed in pages(client, "list_roles", "Roles"):
        yield from _unless_gone(_role, client, listed["RoleName"])


# ---------------------------------------------------------------------------------------
# User


def _user(client: Any, name: str) -> LiveResource:
    # ListUsers leaves out tags and the permissions boundary.
    user = client.get_user(UserName=name)["User"]
    properties: dict[str, Any] = {"UserName": name, **_common(client, "user", user)}
    groups = sorted(
        group["GroupName"]
        for group in pages(client, "list_groups_for_user", "Groups", UserName=name)
    )
    if groups:
        properties["Groups"] = groups
    return LiveResource(type=USER, region=REGION, identifier=name, properties=properties)


def scan_users(clients: Clients, region: str) -> Iterator[LiveResource]:
    client = clients("iam", REGION)
    for listed in pages(client, "list_users", "Users"):
        yield from _unless_gone(_user, client, listed["UserName"])


# ---------------------------------------------------------------------------------------
# Managed policy


def _managed_policy(client: Any, arn: str) -> LiveResource:
    # ListPolicies leaves out the description.
    policy = client.get_policy(PolicyArn=arn)["Policy"]
    version = client.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
    properties: dict[str, Any] = {
        "PolicyArn": arn,
        "ManagedPolicyName": policy["PolicyName"],
        "Path": policy["Path"],
        "PolicyDocument": _document(version["PolicyVersion"]["Document"]),
    }
    if policy.get("Description"):
        properties["Description"] = policy["Description"]
    if policy.get("AttachmentCount"):
        attached: dict[str, list[str]] = {"Groups": [], "Roles": [], "Users": []}
        for page in client.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
            attached["Groups"] += (g["GroupName"] for g in page.get("PolicyGroups", []))
            attached["Roles"] += (r["RoleName"] for r in page.get("PolicyRoles", []))
            attached["Users"] += (u["UserName"] for u in page.get("PolicyUsers", []))
        properties.update({key: sorted(names) for key, names in attached.items() if names})
    return LiveResource(type=MANAGED_POLICY, region=REGION, identifier=arn, properties=properties)


def scan_managed_policies(clients: Clients, region: str) -> Iterator[LiveResource]:
    client = clients("iam", REGION)
    # Scope=Local: customer managed policies only, not the ~1,000 AWS managed ones.
    for listed in pages(client, "list_policies", "Policies", Scope="Local"):
        yield from _unless_gone(_managed_policy, client, listed["Arn"])


# ---------------------------------------------------------------------------------------
# Registration

_READ_ASSETS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::acme-assets/*"}
    ],
}

register(
    ResourceType(
        name=ROLE,
        service="iam",
        identifier="RoleName",
        properties=frozenset(
            {
                "RoleName",
                "AssumeRolePolicyDocument",
                "Description",
                "MaxSessionDuration",
                "Path",
                "ManagedPolicyArns",
                "Policies",
                "PermissionsBoundary",
                "Tags",
            }
        ),
        scan=scan_roles,
        actions=(
            "iam:ListRoles",
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
        ),
        regional=False,
        docs="IAM roles: trust policy, inline and attached managed policies, permissions boundary, session duration and tags; service-linked roles are AWS-managed.",
        example={
            "RoleName": "app-server",
            "Path": "/",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "MaxSessionDuration": 3600,
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
            "Policies": [{"PolicyName": "read-assets", "PolicyDocument": _READ_ASSETS}],
            "Tags": [{"Key": "team", "Value": "platform"}],
        },
    )
)

register(
    ResourceType(
        name=USER,
        service="iam",
        identifier="UserName",
        properties=frozenset(
            {
                "UserName",
                "Path",
                "ManagedPolicyArns",
                "Policies",
                "Groups",
                "PermissionsBoundary",
                "Tags",
            }
        ),
        scan=scan_users,
        write_only=frozenset({"LoginProfile"}),
        actions=(
            "iam:ListUsers",
            "iam:GetUser",
            "iam:ListUserPolicies",
            "iam:GetUserPolicy",
            "iam:ListAttachedUserPolicies",
            "iam:ListGroupsForUser",
        ),
        regional=False,
        docs="IAM users: path, groups, inline and attached managed policies, permissions boundary and tags (not login profiles or access keys).",
        example={
            "UserName": "ci-deployer",
            "Path": "/automation/",
            "Groups": ["deployers"],
            "ManagedPolicyArns": ["arn:aws:iam::123456789012:policy/deploy"],
            "Tags": [{"Key": "owner", "Value": "platform"}],
        },
    )
)

register(
    ResourceType(
        name=MANAGED_POLICY,
        service="iam",
        identifier="PolicyArn",
        properties=frozenset(
            {
                "PolicyArn",
                "ManagedPolicyName",
                "Description",
                "Path",
                "PolicyDocument",
                "Groups",
                "Roles",
                "Users",
            }
        ),
        scan=scan_managed_policies,
        actions=(
            "iam:ListPolicies",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListEntitiesForPolicy",
        ),
        regional=False,
        docs="Customer managed IAM policies (identified by ARN): name, path, description, the default version's document and the groups, roles and users it is attached to.",
        example={
            "ManagedPolicyName": "read-assets",
            "Path": "/",
            "Description": "Read the public assets bucket",
            "PolicyDocument": _READ_ASSETS,
            "Roles": ["app-server"],
        },
    )
)
