"""EC2 networking and instances: ``AWS::EC2::VPC``, ``AWS::EC2::Subnet``,
``AWS::EC2::SecurityGroup`` and ``AWS::EC2::Instance`` in CloudFormation shape.

Every region has a default VPC with default subnets, and every VPC a default security
group: AWS creates them, so they are marked ``aws_managed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, error_code, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
INSTANCE = "AWS::EC2::Instance"

# Instances in these states are gone (or about to be) and no longer describe the account.
_GONE_STATES = frozenset({"shutting-down", "terminated"})


def _with_tags(properties: dict[str, Any], tags: list[dict[str, str]] | None) -> dict[str, Any]:
    cfn = cfn_tags(tags)
    if cfn:
        properties["Tags"] = cfn
    return properties


# ---------------------------------------------------------------------------------------
# VPC


def scan_vpcs(clients: Clients, region: str) -> Iterator[LiveResource]:
    client = clients("ec2", region)
    for vpc in pages(client, "describe_vpcs", "Vpcs"):
        vpc_id = vpc["VpcId"]
        # The DNS settings are attributes, not part of DescribeVpcs.
        try:
            support = client.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
            hostnames = client.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
        except ClientError as error:
            if error_code(error) == "InvalidVpcID.NotFound":  # deleted since the listing
                continue
            raise
        properties = {
            "VpcId": vpc_id,
            "CidrBlock": vpc["CidrBlock"],
            "EnableDnsSupport": support["EnableDnsSupport"]["Value"],
            "EnableDnsHostnames": hostnames["EnableDnsHostnames"]["Value"],
            "InstanceTenancy": vpc["InstanceTenancy"],
        }
        yield LiveResource(
            type=VPC,
            region=region,
            identifier=vpc_id,
            properties=_with_tags(properties, vpc.get("Tags")),
            aws_managed="default VPC" if vpc.get("IsDefault") else None,
        )


# ---------------------------------------------------------------------------------------
# Subnet


def scan_subnets(clients: Clients, region: str) -> Iterator[LiveResource]:
    for subnet in pages(clients("ec2", region), "describe_subnets", "Subnets"):
        properties = {
            "SubnetId": subnet["SubnetId"],
            "VpcId": subnet["VpcId"],
            "CidrBlock": subnet["CidrBlock"],
            "AvailabilityZone": subnet["AvailabilityZone"],
            "MapPublicIpOnLaunch": subnet["MapPublicIpOnLaunch"],
        }
        yield LiveResource(
            type=SUBNET,
            region=region,
            identifier=subnet["SubnetId"],
            properties=_with_tags(properties, subnet.get("Tags")),
            aws_managed="default subnet" if subnet.get("DefaultForAz") else None,
        )


# ---------------------------------------------------------------------------------------
# Security group


def _rules(permissions: list[dict[str, Any]], owner: str, egress: bool) -> list[dict[str, Any]]:
    """EC2's IpPermissions (one per protocol and ports, many peers) as CloudFormation
    rules (one per protocol, ports and peer)."""
    group_key = "DestinationSecurityGroupId" if egress else "SourceSecurityGroupId"
    prefix_key = "DestinationPrefixListId" if egress else "SourcePrefixListId"
    rules: list[dict[str, Any]] = []
    for permission in permissions:
        base: dict[str, Any] = {"IpProtocol": permission["IpProtocol"]}
        # All-traffic rules (-1) have no ports; CloudFormation omits them too.
        for port in ("FromPort", "ToPort"):
            if port in permission:
                base[port] = permission[port]
        peers: list[dict[str, Any]] = []
        for ip_range in permission.get("IpRanges") or []:
            peers.append({"CidrIp": ip_range["CidrIp"], **_description(ip_range)})
        for ip_range in permission.get("Ipv6Ranges") or []:
            peers.append({"CidrIpv6": ip_range["CidrIpv6"], **_description(ip_range)})
        for prefix_list in permission.get("PrefixListIds") or []:
            peers.append({prefix_key: prefix_list["PrefixListId"], **_description(prefix_list)})
        for pair in permission.get("UserIdGroupPairs") or []:
            peer = {group_key: pair["GroupId"]}
            if not egress and pair.get("UserId") and pair["UserId"] != owner:
                peer["SourceSecurityGroupOwnerId"] = pair["UserId"]  # another account's group
            peers.append({**peer, **_description(pair)})
        rules.extend({**base, **peer} for peer in peers)
    return sorted(rules, key=_rule_order)


def _description(peer: dict[str, Any]) -> dict[str, str]:
    return {"Description": peer["Description"]} if peer.get("Description") else {}


# A rule's peer, in the order rules with the same protocol and ports are listed.
_PEER_KEYS = (
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "DestinationSecurityGroupId",
    "SourcePrefixListId",
    "DestinationPrefixListId",
)


def _rule_order(rule: dict[str, Any]) -> tuple[Any, ...]:
    kind, peer = next(
        ((i, str(rule[key])) for i, key in enumerate(_PEER_KEYS) if key in rule), (-1, "")
    )
    return (
        str(rule["IpProtocol"]),
        rule.get("FromPort", -2),  # no ports (-1 protocol) first
        rule.get("ToPort", -2),
        kind,
        peer,
        str(rule.get("SourceSecurityGroupOwnerId", "")),
        str(rule.get("Description", "")),
    )


def scan_security_groups(clients: Clients, region: str) -> Iterator[LiveResource]:
    for group in pages(clients("ec2", region), "describe_security_groups", "SecurityGroups"):
        owner = group.get("OwnerId", "")
        properties: dict[str, Any] = {
            "GroupId": group["GroupId"],
            "GroupName": group["GroupName"],
            "GroupDescription": group["Description"],
        }
        if group.get("VpcId"):
            properties["VpcId"] = group["VpcId"]
        ingress = _rules(group.get("IpPermissions") or [], owner, egress=False)
        if ingress:
            properties["SecurityGroupIngress"] = ingress
        egress = _rules(group.get("IpPermissionsEgress") or [], owner, egress=True)
        if egress:
            properties["SecurityGroupEgress"] = egress
        yield LiveResource(
            type=SECURITY_GROUP,
            region=region,
            identifier=group["GroupId"],
            properties=_with_tags(properties, group.get("Tags")),
            aws_managed="default security group" if group["GroupName"] == "default" else None,
        )


# ---------------------------------------------------------------------------------------
# Instance

# The instance metadata service settings CloudFormation (and the IMDSv2 policy) read.
_METADATA_OPTIONS = (
    "HttpEndpoint",
    "HttpProtocolIpv6",
    "HttpPutResponseHopLimit",
    "HttpTokens",
    "InstanceMetadataTags",
)


def _instance(instance: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "InstanceId": instance["InstanceId"],
        "ImageId": instance["ImageId"],
        "InstanceType": instance["InstanceType"],
    }
    if instance.get("SubnetId"):
        properties["SubnetId"] = instance["SubnetId"]
    groups = sorted(g["GroupId"] for g in instance.get("SecurityGroups") or [])
    if groups:
        properties["SecurityGroupIds"] = groups
    if instance.get("KeyName"):
        properties["KeyName"] = instance["KeyName"]
    profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
    if profile:
        # CloudFormation takes the profile's name: the ARN's last segment (after the path).
        properties["IamInstanceProfile"] = profile.rpartition("/")[2]
    options = instance.get("MetadataOptions") or {}
    metadata = {key: options[key] for key in _METADATA_OPTIONS if key in options}
    if metadata:
        properties["MetadataOptions"] = metadata
    monitoring = (instance.get("Monitoring") or {}).get("State")
    if monitoring:
        properties["Monitoring"] = monitoring in ("enabled", "pending")
    return _with_tags(properties, instance.get("Tags"))


def scan_instances(clients: Clients, region: str) -> Iterator[LiveResource]:
    for reservation in pages(clients("ec2", region), "describe_instances", "Reservations"):
        for instance in reservation.get("Instances", []):
            if instance.get("State", {}).get("Name") in _GONE_STATES:
                continue
            yield LiveResource(
                type=INSTANCE,
                region=region,
                identifier=instance["InstanceId"],
                properties=_instance(instance),
            )


# ---------------------------------------------------------------------------------------
# Registration

register(
    ResourceType(
        name=VPC,
        service="ec2",
        identifier="VpcId",
        properties=frozenset(
            {
                "VpcId",
                "CidrBlock",
                "EnableDnsSupport",
                "EnableDnsHostnames",
                "InstanceTenancy",
                "Tags",
            }
        ),
        scan=scan_vpcs,
        actions=("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute"),
        docs="VPCs: IPv4 CIDR block, DNS support and hostnames, tenancy and tags; the default VPC is AWS-managed.",
        example={
            "CidrBlock": "10.0.0.0/16",
            "EnableDnsSupport": True,
            "EnableDnsHostnames": True,
            "InstanceTenancy": "default",
            "Tags": [{"Key": "Name", "Value": "prod"}],
        },
    )
)

register(
    ResourceType(
        name=SUBNET,
        service="ec2",
        identifier="SubnetId",
        properties=frozenset(
            {"SubnetId", "VpcId", "CidrBlock", "AvailabilityZone", "MapPublicIpOnLaunch", "Tags"}
        ),
        scan=scan_subnets,
        actions=("ec2:DescribeSubnets",),
        docs="Subnets: VPC, IPv4 CIDR block, Availability Zone, public IP on launch and tags; default subnets are AWS-managed.",
        example={
            "VpcId": "vpc-0a1b2c3d4e5f67890",
            "CidrBlock": "10.0.1.0/24",
            "AvailabilityZone": "eu-west-1a",
            "MapPublicIpOnLaunch": False,
            "Tags": [{"Key": "Name", "Value": "prod-private-a"}],
        },
    )
)

register(
    ResourceType(
        name=SECURITY_GROUP,
        service="ec2",
        identifier="GroupId",
        properties=frozenset(
            {
                "GroupId",
                "GroupName",
                "GroupDescription",
                "VpcId",
                "SecurityGroupIngress",
                "SecurityGroupEgress",
                "Tags",
            }
        ),
        scan=scan_security_groups,
        actions=("ec2:DescribeSecurityGroups",),
        docs="Security groups with their ingress and egress rules, one CloudFormation rule per protocol, port range and peer; default groups are AWS-managed.",
        example={
            "GroupName": "web",
            "GroupDescription": "HTTPS from the internet",
            "VpcId": "vpc-0a1b2c3d4e5f67890",
            "SecurityGroupIngress": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "CidrIp": "0.0.0.0/0",
                    "Description": "HTTPS",
                }
            ],
            "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
            "Tags": [{"Key": "team", "Value": "web"}],
        },
    )
)

register(
    ResourceType(
        name=INSTANCE,
        service="ec2",
        identifier="InstanceId",
        properties=frozenset(
            {
                "InstanceId",
                "ImageId",
                "InstanceType",
                "SubnetId",
                "SecurityGroupIds",
                "KeyName",
                "IamInstanceProfile",
                "MetadataOptions",
                "Monitoring",
                "Tags",
            }
        ),
        scan=scan_instances,
        actions=("ec2:DescribeInstances",),
        docs="EC2 instances (not terminated): AMI, type, subnet, security groups, key pair, instance profile, IMDS options, detailed monitoring and tags.",
        example={
            "ImageId": "ami-0123456789abcdef0",
            "InstanceType": "t3.micro",
            "SubnetId": "subnet-0a1b2c3d4e5f67890",
            "SecurityGroupIds": ["sg-0a1b2c3d4e5f67890"],
            "IamInstanceProfile": "app-server",
            "MetadataOptions": {
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": 1,
                "HttpEndpoint": "enabled",
            },
            "Monitoring": True,
            "Tags": [{"Key": "Name", "Value": "app-1"}],
        },
    )
)
