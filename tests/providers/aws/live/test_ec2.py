"""AWS::EC2::VPC, Subnet, SecurityGroup and Instance read from moto's EC2 over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import driftwatch.providers.aws.live.ec2  # noqa: F401  (registers the types)
from driftwatch.policy.engine import PolicySubject, evaluate, load_documents
from driftwatch.policy.model import Scope
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer, iter_calls

REGION = "eu-west-1"
VPC = REGISTRY["AWS::EC2::VPC"]
SUBNET = REGISTRY["AWS::EC2::Subnet"]
SECURITY_GROUP = REGISTRY["AWS::EC2::SecurityGroup"]
INSTANCE = REGISTRY["AWS::EC2::Instance"]
TYPES = (VPC, SUBNET, SECURITY_GROUP, INSTANCE)
POLICIES = Path(__file__).resolve().parents[4] / "policies" / "aws"


def scan(type_: Any, clients: Any, region: str = REGION) -> dict[str, LiveResource]:
    return {r.identifier: r for r in type_.scan(clients, region)}


def mine(type_: Any, clients: Any, region: str = REGION) -> dict[str, LiveResource]:
    """The resources of the test, not the ones AWS (moto) creates in every region."""
    return {k: r for k, r in scan(type_, clients, region).items() if r.aws_managed is None}


def verdicts(policy: str, type_name: str, properties: dict[str, Any]) -> dict[str, bool | None]:
    path = POLICIES / f"{policy}.yaml"
    compiled = load_documents(str(path), path.read_text()).policies
    body = {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": "r"},
        "spec": {"type": type_name, "region": REGION, "properties": properties},
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
    return {r.rule.validation.name: r.passed for r in evaluate(compiled, subject)}


def tags(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs]


def make_vpc(ec2: Any, cidr: str = "10.0.0.0/16") -> str:
    vpc_id: str = ec2.create_vpc(
        CidrBlock=cidr,
        TagSpecifications=[
            {"ResourceType": "vpc", "Tags": tags(("Name", "prod"), ("env", "prod"))}
        ],
    )["Vpc"]["VpcId"]
    return vpc_id


# ---------------------------------------------------------------------------------------
# AWS's own resources


def test_default_vpc_subnets_and_security_group_are_aws_managed(clients: Any) -> None:
    [vpc] = scan(VPC, clients).values()
    assert vpc.aws_managed == "default VPC"
    assert vpc.properties == {
        "VpcId": vpc.identifier,
        "CidrBlock": "172.31.0.0/16",
        "EnableDnsSupport": True,
        "EnableDnsHostnames": True,
        "InstanceTenancy": "default",
    }
    subnets = list(scan(SUBNET, clients).values())
    assert len(subnets) == 3  # one per Availability Zone
    assert {s.aws_managed for s in subnets} == {"default subnet"}
    assert {s.properties["VpcId"] for s in subnets} == {vpc.identifier}
    [group] = scan(SECURITY_GROUP, clients).values()
    assert group.aws_managed == "default security group"
    assert group.properties == {
        "GroupId": group.identifier,
        "GroupName": "default",
        "GroupDescription": "default VPC security group",
        "VpcId": vpc.identifier,
        "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
    }
    assert scan(INSTANCE, clients) == {}


def test_new_vpc_gets_an_aws_managed_default_security_group(clients: Any) -> None:
    vpc_id = make_vpc(clients("ec2", REGION))
    groups = [g for g in scan(SECURITY_GROUP, clients).values() if g.properties["VpcId"] == vpc_id]
    assert [(g.properties["GroupName"], g.aws_managed) for g in groups] == [
        ("default", "default security group")
    ]


# ---------------------------------------------------------------------------------------
# VPC


def test_vpc(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    vpc_id = make_vpc(ec2)
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    [vpc] = mine(VPC, clients).values()
    assert (vpc.type, vpc.region, vpc.identifier) == ("AWS::EC2::VPC", REGION, vpc_id)
    assert vpc.properties == {
        "VpcId": vpc_id,
        "CidrBlock": "10.0.0.0/16",
        "EnableDnsSupport": True,
        "EnableDnsHostnames": True,
        "InstanceTenancy": "default",
        "Tags": tags(("Name", "prod"), ("env", "prod")),
    }

    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": False})
    ec2.create_tags(Resources=[vpc_id], Tags=tags(("env", "staging"), ("cost", "42")))
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "Name"}])
    assert mine(VPC, clients)[vpc_id].properties == {
        "VpcId": vpc_id,
        "CidrBlock": "10.0.0.0/16",
        "EnableDnsSupport": False,
        "EnableDnsHostnames": False,
        "InstanceTenancy": "default",
        "Tags": tags(("cost", "42"), ("env", "staging")),
    }


def test_dedicated_tenancy_and_no_tags(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16", InstanceTenancy="dedicated")["Vpc"]["VpcId"]
    properties = mine(VPC, clients)[vpc_id].properties
    assert properties["InstanceTenancy"] == "dedicated"
    assert "Tags" not in properties


# ---------------------------------------------------------------------------------------
# Subnet


def test_subnet(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    vpc_id = make_vpc(ec2)
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.1.0/24",
        AvailabilityZone="eu-west-1b",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(("Name", "private-b"))}],
    )["Subnet"]["SubnetId"]
    [subnet] = mine(SUBNET, clients).values()
    assert (subnet.identifier, subnet.region) == (subnet_id, REGION)
    assert subnet.properties == {
        "SubnetId": subnet_id,
        "VpcId": vpc_id,
        "CidrBlock": "10.0.1.0/24",
        "AvailabilityZone": "eu-west-1b",
        "MapPublicIpOnLaunch": False,
        "Tags": tags(("Name", "private-b")),
    }

    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    ec2.create_tags(Resources=[subnet_id], Tags=tags(("Name", "public-b")))
    changed = mine(SUBNET, clients)[subnet_id].properties
    assert changed["MapPublicIpOnLaunch"] is True
    assert changed["Tags"] == tags(("Name", "public-b"))


# ---------------------------------------------------------------------------------------
# Security group


def make_groups(ec2: Any, vpc_id: str) -> tuple[str, str]:
    web = ec2.create_security_group(
        GroupName="web",
        Description="web servers",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(("team", "web"))}],
    )["GroupId"]
    db = ec2.create_security_group(GroupName="db", Description="databases", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [
                    {"CidrIp": "0.0.0.0/0", "Description": "HTTPS"},
                    {"CidrIp": "10.0.0.0/8"},
                ],
                "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "HTTPS v6"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "UserIdGroupPairs": [{"GroupId": db, "Description": "from db"}],
            },
            {
                "IpProtocol": "icmp",
                "FromPort": -1,
                "ToPort": -1,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            },
            {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "pl-12345678"}]},
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": db}],
            }
        ],
    )
    return web, db


def test_security_group_rules_one_per_peer_sorted(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    vpc_id = make_vpc(ec2)
    web, db = make_groups(ec2, vpc_id)
    groups = mine(SECURITY_GROUP, clients)
    assert set(groups) == {web, db}
    assert groups[web].properties == {
        "GroupId": web,
        "GroupName": "web",
        "GroupDescription": "web servers",
        "VpcId": vpc_id,
        "SecurityGroupIngress": [
            {"IpProtocol": "-1", "SourcePrefixListId": "pl-12345678"},
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIp": "10.0.0.0/8"},
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "SourceSecurityGroupId": db,
                "Description": "from db",
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIp": "0.0.0.0/0",
                "Description": "HTTPS",
            },
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"},
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIpv6": "::/0",
                "Description": "HTTPS v6",
            },
        ],
        "SecurityGroupEgress": [
            {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"},  # AWS's default egress rule
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "DestinationSecurityGroupId": db,
            },
        ],
        "Tags": tags(("team", "web")),
    }
    assert groups[db].properties == {
        "GroupId": db,
        "GroupName": "db",
        "GroupDescription": "databases",
        "VpcId": vpc_id,
        "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
    }
    # The SSH rule comes from a group, not the internet.
    policy = "ec2-no-admin-ports-from-internet"
    assert verdicts(policy, SECURITY_GROUP.name, groups[web].properties) == {
        "no-admin-ports-from-internet": True
    }


def test_security_group_changes(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    web, db = make_groups(ec2, make_vpc(ec2))
    ec2.revoke_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "pl-12345678"}]},
            {
                "IpProtocol": "icmp",
                "FromPort": -1,
                "ToPort": -1,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            },
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    ec2.revoke_security_group_egress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    properties = mine(SECURITY_GROUP, clients)[web].properties
    assert [
        (r["IpProtocol"], r.get("FromPort"), r.get("CidrIp") or r.get("SourceSecurityGroupId"))
        for r in properties["SecurityGroupIngress"]
    ] == [
        ("tcp", 22, "0.0.0.0/0"),
        ("tcp", 22, db),
        ("tcp", 443, "0.0.0.0/0"),
        ("tcp", 443, "10.0.0.0/8"),
        ("tcp", 443, None),  # the ::/0 rule
    ]
    assert properties["SecurityGroupEgress"] == [
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "DestinationSecurityGroupId": db}
    ]
    policy = "ec2-no-admin-ports-from-internet"
    assert verdicts(policy, SECURITY_GROUP.name, properties) == {
        "no-admin-ports-from-internet": False
    }


# ---------------------------------------------------------------------------------------
# Instance


def launch(clients: Any) -> tuple[str, dict[str, Any]]:
    """One fully configured instance: its id and the properties expected."""
    ec2 = clients("ec2", REGION)
    profile = clients("iam", "global").create_instance_profile(
        InstanceProfileName="app-server", Path="/apps/"
    )["InstanceProfile"]
    vpc_id = make_vpc(ec2)
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    web, db = make_groups(ec2, vpc_id)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_key_pair(KeyName="ops")
    [instance] = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet_id,
        SecurityGroupIds=[web, db],
        KeyName="ops",
        IamInstanceProfile={"Arn": profile["Arn"]},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
        Monitoring={"Enabled": True},
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": tags(("Name", "app-1"), ("app", "shop"))}
        ],
    )["Instances"]
    expected = {
        "InstanceId": instance["InstanceId"],
        "ImageId": image,
        "InstanceType": "t3.micro",
        "SubnetId": subnet_id,
        "SecurityGroupIds": sorted([web, db]),
        "KeyName": "ops",
        "IamInstanceProfile": "app-server",  # CloudFormation takes the name, not the ARN
        "MetadataOptions": {
            "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled",
            "HttpPutResponseHopLimit": 2,
            "HttpTokens": "required",
            "InstanceMetadataTags": "disabled",
        },
        "Monitoring": True,
        "Tags": tags(("Name", "app-1"), ("app", "shop")),
    }
    return instance["InstanceId"], expected


def test_instance(clients: Any) -> None:
    instance_id, expected = launch(clients)
    [instance] = scan(INSTANCE, clients).values()
    assert (instance.type, instance.region, instance.identifier) == (
        "AWS::EC2::Instance",
        REGION,
        instance_id,
    )
    assert instance.aws_managed is None
    assert instance.properties == expected
    assert verdicts("ec2-imdsv2-required", INSTANCE.name, instance.properties) == {
        "imdsv2-required": True
    }


def test_instance_changes(clients: Any) -> None:
    instance_id, expected = launch(clients)
    ec2 = clients("ec2", REGION)
    # moto replaces every option on modify (AWS keeps those not given): pass them all.
    ec2.modify_instance_metadata_options(
        InstanceId=instance_id,
        HttpTokens="optional",
        HttpPutResponseHopLimit=2,
        HttpEndpoint="enabled",
        HttpProtocolIpv6="disabled",
        InstanceMetadataTags="disabled",
    )
    # (moto implements neither monitor_instances nor unmonitor_instances)
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": "t3.large"})
    ec2.create_tags(Resources=[instance_id], Tags=tags(("app", "checkout")))
    changed = scan(INSTANCE, clients)[instance_id].properties
    assert changed == {
        **expected,
        "InstanceType": "t3.large",
        "MetadataOptions": {**expected["MetadataOptions"], "HttpTokens": "optional"},
        "Tags": tags(("Name", "app-1"), ("app", "checkout")),
    }
    assert verdicts("ec2-imdsv2-required", INSTANCE.name, changed) == {"imdsv2-required": False}


def test_terminated_instances_are_skipped(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [
        i["InstanceId"]
        for i in ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3)["Instances"]
    ]
    ec2.terminate_instances(InstanceIds=ids[:1])
    found = scan(INSTANCE, clients)
    assert sorted(found) == sorted(ids[1:])
    # Launched into the default VPC without options: no key, profile or tags.  (AWS lists
    # the default security group as SecurityGroupIds; moto leaves the instance's empty.)
    properties = found[ids[1]].properties
    assert set(properties) - {"SecurityGroupIds"} == {
        "InstanceId",
        "ImageId",
        "InstanceType",
        "SubnetId",
        "MetadataOptions",
        "Monitoring",
    }
    assert properties["Monitoring"] is False
    assert properties["InstanceType"] == "m1.small"  # EC2's default type


# ---------------------------------------------------------------------------------------
# Regions, faults, registration


def test_resources_are_per_region(clients: Any) -> None:
    vpc_id = make_vpc(clients("ec2", REGION))
    assert vpc_id in scan(VPC, clients, REGION)
    elsewhere = scan(VPC, clients, "us-west-2")
    assert vpc_id not in elsewhere
    assert [v.aws_managed for v in elsewhere.values()] == ["default VPC"]
    assert {v.region for v in elsewhere.values()} == {"us-west-2"}


def test_vpc_deleted_during_the_scan_is_skipped(clients: Any) -> None:
    ec2 = clients("ec2", REGION)
    created = {make_vpc(ec2, "10.1.0.0/16"), make_vpc(ec2, "10.2.0.0/16")}
    scanner = iter(VPC.scan(clients, REGION))
    yielded = [next(scanner).identifier]  # DescribeVpcs has listed all three
    ec2.delete_vpc(VpcId=sorted(created - set(yielded))[0])
    yielded += [v.identifier for v in scanner]
    assert len(yielded) == 2


def test_throttling_is_retried(moto: MotoServer, clients: Any) -> None:
    vpc_id = make_vpc(clients("ec2", REGION))
    moto.faults.calls.clear()
    moto.faults.throttle_next("ec2", "DescribeVpcs", 2)
    assert vpc_id in scan(VPC, clients)
    assert list(iter_calls(moto.faults, "ec2")).count("DescribeVpcs") == 3


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.name)
def test_access_denied_is_raised(moto: MotoServer, clients: Any, type_: Any) -> None:
    moto.faults.deny("ec2")
    with pytest.raises(ClientError) as raised:
        list(type_.scan(clients, REGION))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_denied_attribute_call_is_raised(moto: MotoServer, clients: Any) -> None:
    moto.faults.deny("ec2", "DescribeVpcAttribute")
    with pytest.raises(ClientError) as raised:
        list(VPC.scan(clients, REGION))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_scanners_call_only_their_declared_actions(moto: MotoServer, clients: Any) -> None:
    launch(clients)
    for type_ in TYPES:
        moto.faults.calls.clear()
        list(type_.scan(clients, REGION))
        called = {f"ec2:{action}" for action in iter_calls(moto.faults, "ec2")}
        assert called == set(type_.actions), type_.name


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.name)
def test_registration(type_: Any) -> None:
    assert type_.service == "ec2" and type_.regional
    assert type_.identifier in type_.properties
    assert set(type_.example) <= type_.properties
    assert type_.docs
    assert all(a.startswith("ec2:Describe") for a in type_.actions)
