"""Every AWS type driftwatch supports, round-tripped through the whole product on moto's
server: create the resource, declare it in Git the way a user writes CloudFormation, scan
(``in_sync``), change it the way someone would in the console, scan again (``modified``
with exactly the expected changes).

The scan is the CLI's (``driftwatch scan --format json -o``) on a Git repo built with git;
moto answers over HTTP (``AWS_ENDPOINT_URL``, set by the ``moto`` fixture).  Each case is
declarative: how to create the resource, the spec's ``properties``, the live change and
the changes it must produce.  A type registered without a case fails
:func:`test_every_registered_type_has_a_round_trip`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwatch.cli import main
from driftwatch.providers.aws.model import Clients
from driftwatch.providers.aws.types import load_types
from driftwatch.report import AuditReport, Status
from driftwatch.testing.moto import MotoServer
from tests.conftest import RepoFactory
from tests.providers.aws.live.test_awslambda import _zip
from tests.providers.aws.live.test_ec2 import launch, make_vpc, tags
from tests.providers.aws.live.test_iam import TRUST, create_policy, make_role, make_user
from tests.providers.aws.live.test_rds import _create as create_db_instance
from tests.providers.aws.live.test_route53 import _create as create_hosted_zone

ACCOUNT = "123456789012"
EAST = "us-east-1"
WEST = "eu-west-1"  # the EC2 cases run outside the default region


@dataclass(frozen=True, slots=True)
class Made:
    """What ``create`` made: the resource's identifier and the ids its spec refers to."""

    identifier: str
    refs: dict[str, str] = field(default_factory=dict)


Expected = tuple[str, str, Any, Any]  # (path, op, desired, live), as the report shows them


@dataclass(frozen=True, slots=True)
class Case:
    type: str
    create: Callable[[Clients], Made]
    properties: Callable[[Made], dict[str, Any]]  # the spec, as a user writes it
    modify: Callable[[Clients, Made], None]  # a console-style change
    changes: Callable[[Made], list[Expected]]
    region: str = EAST
    # Raw values that must never appear in a report (secrets).
    secrets: tuple[bytes, ...] = ()
    # What else ``create`` made of the type, left out of unmanaged (Type/identifier globs).
    exclude: tuple[str, ...] = ()


def masked(value: str) -> str:
    """What a secret value looks like in a report: a keyed hash under the test key
    (``DRIFTWATCH_HASH_KEY``, set for every test), computed here independently."""
    key = os.environ["DRIFTWATCH_HASH_KEY"].encode()
    return f"<secret hmac:{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]}>"


# ---------------------------------------------------------------------------------------
# S3


def create_bucket(clients: Clients) -> Made:
    s3 = clients("s3", EAST)
    s3.create_bucket(Bucket="acme-logs")
    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="acme-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket="acme-logs",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="acme-logs",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-logs",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "logs/"},
                    "Expiration": {"Days": 365},
                    "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}],
                }
            ]
        },
    )
    deny_http = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::acme-logs", "arn:aws:s3:::acme-logs/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket="acme-logs", Policy=json.dumps(deny_http))
    s3.put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": tags(("team", "platform"), ("env", "prod"))}
    )
    return Made("acme-logs")


def bucket_spec(made: Made) -> dict[str, Any]:
    return {
        "BucketName": "acme-logs",
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "LifecycleConfiguration": {
            "Rules": [
                {
                    "Id": "expire-logs",
                    "Status": "Enabled",
                    "Prefix": "logs/",
                    "ExpirationInDays": 365,
                    "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
                }
            ]
        },
        "BucketPolicy": {
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::acme-logs/*", "arn:aws:s3:::acme-logs"],
                        "Condition": {"Bool": {"aws:SecureTransport": False}},
                    }
                ],
            }
        },
        "Tags": tags(("env", "prod"), ("team", "platform")),
    }


def modify_bucket(clients: Clients, made: Made) -> None:
    s3 = clients("s3", EAST)
    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": tags(("team", "data"), ("env", "prod"))}
    )


BUCKET = Case(
    type="AWS::S3::Bucket",
    create=create_bucket,
    properties=bucket_spec,
    modify=modify_bucket,
    changes=lambda made: [
        ("properties.VersioningConfiguration.Status", "changed", "Enabled", "Suspended"),
        ("properties.Tags[Key=team].Value", "changed", "platform", "data"),
    ],
)


# ---------------------------------------------------------------------------------------
# EC2


def create_vpc(clients: Clients) -> Made:
    ec2 = clients("ec2", WEST)
    vpc_id = make_vpc(ec2)  # tagged Name=prod, env=prod
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    return Made(vpc_id)


def modify_vpc(clients: Clients, made: Made) -> None:
    ec2 = clients("ec2", WEST)
    ec2.modify_vpc_attribute(VpcId=made.identifier, EnableDnsHostnames={"Value": False})
    ec2.create_tags(Resources=[made.identifier], Tags=tags(("env", "staging")))


VPC = Case(
    type="AWS::EC2::VPC",
    region=WEST,
    create=create_vpc,
    properties=lambda made: {
        "CidrBlock": "10.0.0.0/16",
        "EnableDnsSupport": True,
        "EnableDnsHostnames": True,
        "InstanceTenancy": "default",
        "Tags": tags(("Name", "prod"), ("env", "prod")),
    },
    modify=modify_vpc,
    changes=lambda made: [
        ("properties.EnableDnsHostnames", "changed", True, False),
        ("properties.Tags[Key=env].Value", "changed", "prod", "staging"),
    ],
)


def create_subnet(clients: Clients) -> Made:
    ec2 = clients("ec2", WEST)
    vpc_id = make_vpc(ec2)
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.1.0/24",
        AvailabilityZone="eu-west-1b",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(("Name", "private-b"))}],
    )["Subnet"]["SubnetId"]
    return Made(subnet_id, {"vpc": vpc_id})


SUBNET = Case(
    type="AWS::EC2::Subnet",
    region=WEST,
    create=create_subnet,
    properties=lambda made: {
        "VpcId": made.refs["vpc"],
        "CidrBlock": "10.0.1.0/24",
        "AvailabilityZone": "eu-west-1b",
        "MapPublicIpOnLaunch": False,
        "Tags": tags(("Name", "private-b")),
    },
    modify=lambda clients, made: clients("ec2", WEST).modify_subnet_attribute(
        SubnetId=made.identifier, MapPublicIpOnLaunch={"Value": True}
    ),
    changes=lambda made: [("properties.MapPublicIpOnLaunch", "changed", False, True)],
)


def create_security_group(clients: Clients) -> Made:
    ec2 = clients("ec2", WEST)
    vpc_id = make_vpc(ec2)
    group_id = ec2.create_security_group(
        GroupName="web",
        Description="web servers",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(("team", "web"))}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTPS"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "HTTPS v6"}],
            },
            {
                "IpProtocol": "icmp",
                "FromPort": -1,
                "ToPort": -1,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            },
        ],
    )
    return Made(group_id, {"vpc": vpc_id})


def open_ssh(clients: Clients, made: Made) -> None:
    clients("ec2", WEST).authorize_security_group_ingress(
        GroupId=made.identifier,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )


SECURITY_GROUP = Case(
    type="AWS::EC2::SecurityGroup",
    region=WEST,
    create=create_security_group,
    properties=lambda made: {
        "GroupName": "web",
        "GroupDescription": "web servers",
        "VpcId": made.refs["vpc"],
        "SecurityGroupIngress": [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIp": "0.0.0.0/0",
                "Description": "HTTPS",
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIpv6": "::/0",
                "Description": "HTTPS v6",
            },
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIp": "10.0.0.0/8"},
        ],
        "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
        "Tags": tags(("team", "web")),
    },
    modify=open_ssh,
    changes=lambda made: [
        (
            "properties.SecurityGroupIngress[IpProtocol=tcp,FromPort=22,ToPort=22,CidrIp=0.0.0.0/0]",
            "added",
            None,
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
        )
    ],
)


def create_instance(clients: Clients) -> Made:
    instance_id, launched = launch(clients)  # in eu-west-1, with a profile, key and groups
    refs = {
        "image": launched["ImageId"],
        "subnet": launched["SubnetId"],
        **{f"group{i}": g for i, g in enumerate(launched["SecurityGroupIds"])},
    }
    return Made(instance_id, refs)


def require_imdsv1(clients: Clients, made: Made) -> None:
    ec2 = clients("ec2", WEST)
    # moto replaces every option on modify (AWS keeps those not given): pass them all.
    ec2.modify_instance_metadata_options(
        InstanceId=made.identifier,
        HttpTokens="optional",
        HttpPutResponseHopLimit=2,
        HttpEndpoint="enabled",
        HttpProtocolIpv6="disabled",
        InstanceMetadataTags="disabled",
    )
    ec2.create_tags(Resources=[made.identifier], Tags=tags(("app", "checkout")))


INSTANCE = Case(
    type="AWS::EC2::Instance",
    region=WEST,
    create=create_instance,
    properties=lambda made: {
        "ImageId": made.refs["image"],
        "InstanceType": "t3.micro",
        "SubnetId": made.refs["subnet"],
        "SecurityGroupIds": [made.refs["group1"], made.refs["group0"]],
        "KeyName": "ops",
        "IamInstanceProfile": "app-server",
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
        "Monitoring": True,
        "Tags": tags(("Name", "app-1"), ("app", "shop")),
    },
    modify=require_imdsv1,
    changes=lambda made: [
        ("properties.MetadataOptions.HttpTokens", "changed", "required", "optional"),
        ("properties.Tags[Key=app].Value", "changed", "shop", "checkout"),
    ],
)


# ---------------------------------------------------------------------------------------
# IAM


def create_role(clients: Clients) -> Made:
    deploy, boundary = make_role(clients("iam", "global"))
    return Made("app-server", {"deploy": deploy, "boundary": boundary})


def read_objects(resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": resource}],
    }


def role_spec(made: Made) -> dict[str, Any]:
    return {
        "RoleName": "app-server",
        "Path": "/apps/",
        "Description": "the shop's servers",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["ec2.amazonaws.com"]},
                    "Action": ["sts:AssumeRole"],
                }
            ],
        },
        "MaxSessionDuration": 7200,
        "PermissionsBoundary": made.refs["boundary"],
        "ManagedPolicyArns": [made.refs["deploy"], made.refs["boundary"]],
        "Policies": [
            {"PolicyName": "read-assets", "PolicyDocument": read_objects("arn:aws:s3:::a/*")},
            {"PolicyName": "extra", "PolicyDocument": read_objects("arn:aws:s3:::a/*")},
        ],
        "Tags": tags(("team", "shop"), ("env", "prod")),
    }


def trust_another_account(clients: Clients, made: Made) -> None:
    statement = {**TRUST["Statement"][0]}
    statement["Principal"] = {
        "Service": "ec2.amazonaws.com",
        "AWS": "arn:aws:iam::210987654321:root",
    }
    clients("iam", "global").update_assume_role_policy(
        RoleName="app-server", PolicyDocument=json.dumps({**TRUST, "Statement": [statement]})
    )


ROLE = Case(
    type="AWS::IAM::Role",
    create=create_role,
    properties=role_spec,
    modify=trust_another_account,
    changes=lambda made: [
        (
            "properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS",
            "added",
            None,
            "210987654321",
        )
    ],
)


def create_user(clients: Clients) -> Made:
    deploy = make_user(clients("iam", "global"))  # in groups deployers and auditors
    return Made("ci", {"deploy": deploy})


def join_admins(clients: Clients, made: Made) -> None:
    iam = clients("iam", "global")
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="ci")


USER = Case(
    type="AWS::IAM::User",
    create=create_user,
    properties=lambda made: {
        "UserName": "ci",
        "Path": "/automation/",
        "Groups": ["deployers", "auditors"],
        "ManagedPolicyArns": [made.refs["deploy"]],
        "Policies": [{"PolicyName": "push", "PolicyDocument": read_objects("arn:aws:s3:::a/*")}],
        "Tags": tags(("owner", "platform")),
    },
    modify=join_admins,
    changes=lambda made: [
        (
            "properties.Groups",
            "changed",
            ["auditors", "deployers"],
            ["admins", "auditors", "deployers"],
        )
    ],
)


def create_managed_policy(clients: Clients) -> Made:
    iam = clients("iam", "global")
    arn = create_policy(
        iam,
        "read-assets",
        read_objects("arn:aws:s3:::acme-assets/*"),
        Path="/team/",
        Description="Read the public assets bucket",
    )
    for role in ("web", "app"):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return Made(arn)


def allow_writes(clients: Clients, made: Made) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::acme-assets/*",
            }
        ],
    }
    clients("iam", "global").create_policy_version(
        PolicyArn=made.identifier, PolicyDocument=json.dumps(document), SetAsDefault=True
    )


MANAGED_POLICY = Case(
    type="AWS::IAM::ManagedPolicy",
    create=create_managed_policy,
    properties=lambda made: {
        "ManagedPolicyName": "read-assets",
        "Path": "/team/",
        "Description": "Read the public assets bucket",
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::acme-assets/*",
                }
            ],
        },
        "Roles": ["web", "app"],
    },
    modify=allow_writes,
    changes=lambda made: [
        (
            "properties.PolicyDocument.Statement[0].Action",
            "changed",
            "s3:GetObject",
            ["s3:GetObject", "s3:PutObject"],
        )
    ],
)


# ---------------------------------------------------------------------------------------
# Lambda: environment values are secrets

DB_PASSWORD = "Db-Pa55word-in-git-xyzzy"
ROTATED = "Rotated-by-hand-plugh"
DEBUG_TOKEN = "Debug-t0ken-frobozz"


def create_function(clients: Clients) -> Made:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = clients("iam", "global").create_role(
        RoleName="orders-api", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    clients("lambda", EAST).create_function(
        FunctionName="orders-api",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        MemorySize=512,
        Timeout=30,
        Architectures=["arm64"],
        TracingConfig={"Mode": "Active"},
        Environment={"Variables": {"LOG_LEVEL": "info", "DB_PASSWORD": DB_PASSWORD}},
        Tags={"team": "orders"},
    )
    return Made("orders-api", {"role": role})


def rotate_password(clients: Clients, made: Made) -> None:
    # Rotated by hand, and a debug switch added while at it.
    variables = {"LOG_LEVEL": "info", "DB_PASSWORD": ROTATED, "DEBUG_TOKEN": DEBUG_TOKEN}
    clients("lambda", EAST).update_function_configuration(
        FunctionName="orders-api", Environment={"Variables": variables}
    )


FUNCTION = Case(
    type="AWS::Lambda::Function",
    create=create_function,
    properties=lambda made: {
        "FunctionName": "orders-api",
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": made.refs["role"],
        "MemorySize": 512,
        "Timeout": 30,
        "Architectures": ["arm64"],
        "TracingConfig": {"Mode": "Active"},
        "Environment": {"Variables": {"LOG_LEVEL": "info", "DB_PASSWORD": DB_PASSWORD}},
        "Tags": tags(("team", "orders")),
    },
    modify=rotate_password,
    changes=lambda made: [
        (
            "properties.Environment.Variables.DB_PASSWORD",
            "changed",
            masked(DB_PASSWORD),
            masked(ROTATED),
        ),
        ("properties.Environment.Variables.DEBUG_TOKEN", "added", None, masked(DEBUG_TOKEN)),
    ],
    secrets=(b"Pa55word", b"xyzzy", b"plugh", b"t0ken", b"frobozz"),
)


# ---------------------------------------------------------------------------------------
# DynamoDB, SQS, SNS, KMS, RDS, Route 53, Logs


def create_table(clients: Clients) -> Made:
    ddb = clients("dynamodb", EAST)
    ddb.create_table(
        TableName="orders",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
        Tags=tags(("team", "orders")),
    )
    ddb.update_continuous_backups(
        TableName="orders",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return Made("orders")


TABLE = Case(
    type="AWS::DynamoDB::Table",
    create=create_table,
    properties=lambda made: {
        "TableName": "orders",
        "AttributeDefinitions": [
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "pk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        # TTL not switched on yet: DynamoDB then answers no attribute name.
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": False},
        "DeletionProtectionEnabled": True,
        "Tags": tags(("team", "orders")),
    },
    modify=lambda clients, made: clients("dynamodb", EAST).update_continuous_backups(
        TableName="orders",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    ),
    changes=lambda made: [
        (
            "properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled",
            "changed",
            True,
            False,
        )
    ],
)


def create_queue(clients: Clients) -> Made:
    sqs = clients("sqs", EAST)
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="orders",
        Attributes={
            "VisibilityTimeout": "60",
            "MessageRetentionPeriod": "1209600",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
        tags={"team": "orders"},
    )["QueueUrl"]
    return Made(url, {"dlq": dlq_arn})


QUEUE = Case(
    type="AWS::SQS::Queue",
    create=create_queue,
    properties=lambda made: {
        "QueueName": "orders",
        "VisibilityTimeout": 60,
        "MessageRetentionPeriod": 1209600,
        "RedrivePolicy": {"deadLetterTargetArn": made.refs["dlq"], "maxReceiveCount": 5},
        "Tags": tags(("team", "orders")),
    },
    modify=lambda clients, made: clients("sqs", EAST).set_queue_attributes(
        QueueUrl=made.identifier, Attributes={"VisibilityTimeout": "120"}
    ),
    changes=lambda made: [("properties.VisibilityTimeout", "changed", 60, 120)],
    exclude=("AWS::SQS::Queue/*/orders-dlq",),
)


ORDERS_QUEUE_ARN = f"arn:aws:sqs:{EAST}:{ACCOUNT}:orders"


def create_topic(clients: Clients) -> Made:
    sns = clients("sns", EAST)
    arn = sns.create_topic(
        Name="orders-events",
        Attributes={"DisplayName": "Order events"},
        Tags=tags(("team", "orders")),
    )["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=ORDERS_QUEUE_ARN)
    return Made(arn)


TOPIC = Case(
    type="AWS::SNS::Topic",
    create=create_topic,
    properties=lambda made: {
        "TopicName": "orders-events",
        "DisplayName": "Order events",
        "Subscription": [{"Endpoint": ORDERS_QUEUE_ARN, "Protocol": "sqs"}],
        "Tags": tags(("team", "orders")),
    },
    modify=lambda clients, made: clients("sns", EAST).subscribe(
        TopicArn=made.identifier, Protocol="email", Endpoint="ops@example.com"
    ),
    changes=lambda made: [
        (
            "properties.Subscription[Endpoint=ops@example.com,Protocol=email]",
            "added",
            None,
            {"Endpoint": "ops@example.com", "Protocol": "email"},
        )
    ],
)


def key_policy(principal: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def create_key(clients: Clients) -> Made:
    kms = clients("kms", EAST)
    key_id = kms.create_key(
        Description="orders data",
        Policy=json.dumps(key_policy(f"arn:aws:iam::{ACCOUNT}:root")),
        # AWS's defaults, which moto leaves unset (DescribeKey then has no KeyUsage).
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Tags=[{"TagKey": "team", "TagValue": "orders"}],
    )["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id)
    return Made(key_id)


KEY = Case(
    type="AWS::KMS::Key",
    create=create_key,
    properties=lambda made: {
        "Description": "orders data",
        "Enabled": True,
        "EnableKeyRotation": True,
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT",
        # IAM rewrites an account id into its root ARN; either form may be written.
        "KeyPolicy": key_policy(ACCOUNT),
        "Tags": tags(("team", "orders")),
    },
    modify=lambda clients, made: clients("kms", EAST).disable_key_rotation(KeyId=made.identifier),
    changes=lambda made: [("properties.EnableKeyRotation", "changed", True, False)],
)


def create_database(clients: Clients) -> Made:
    create_db_instance(
        clients,
        "orders-db",
        EngineVersion="16.3",
        AllocatedStorage=100,
        StorageType="gp3",
        StorageEncrypted=True,
        PubliclyAccessible=False,
        BackupRetentionPeriod=7,
        Tags=tags(("team", "orders")),
    )
    return Made("orders-db")


DB_INSTANCE = Case(
    type="AWS::RDS::DBInstance",
    create=create_database,
    properties=lambda made: {
        "DBInstanceIdentifier": "orders-db",
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "EngineVersion": "16.3",
        "AllocatedStorage": 100,  # CloudFormation's type is a string; a number is accepted
        "StorageType": "gp3",
        "StorageEncrypted": True,
        "MultiAZ": False,
        "PubliclyAccessible": False,
        "BackupRetentionPeriod": 7,
        "MasterUsername": "admin",
        "Tags": tags(("team", "orders")),
    },
    modify=lambda clients, made: clients("rds", EAST).modify_db_instance(
        DBInstanceIdentifier="orders-db",
        PubliclyAccessible=True,
        BackupRetentionPeriod=1,
        ApplyImmediately=True,
    ),
    changes=lambda made: [
        ("properties.PubliclyAccessible", "changed", False, True),
        ("properties.BackupRetentionPeriod", "changed", 7, 1),
    ],
)


def create_zone(clients: Clients) -> Made:
    ec2 = clients("ec2", EAST)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    zone_id = create_hosted_zone(
        clients,
        "internal.example.com",
        VPC={"VPCRegion": EAST, "VPCId": vpc},
        HostedZoneConfig={"Comment": "service discovery", "PrivateZone": True},
    )
    clients("route53", "global").change_tags_for_resource(
        ResourceType="hostedzone", ResourceId=zone_id, AddTags=tags(("team", "platform"))
    )
    return Made(zone_id, {"vpc": vpc, "other": other})


ZONE = Case(
    type="AWS::Route53::HostedZone",
    create=create_zone,
    properties=lambda made: {
        # Route 53 treats the trailing dot as optional; the API answers with it.
        "Name": "internal.example.com.",
        "HostedZoneConfig": {"Comment": "service discovery"},
        "VPCs": [{"VPCId": made.refs["vpc"], "VPCRegion": EAST}],
        "HostedZoneTags": tags(("team", "platform")),
    },
    modify=lambda clients, made: clients("route53", "global").associate_vpc_with_hosted_zone(
        HostedZoneId=made.identifier, VPC={"VPCRegion": EAST, "VPCId": made.refs["other"]}
    ),
    changes=lambda made: [
        (
            f"properties.VPCs[VPCId={made.refs['other']}]",
            "added",
            None,
            {"VPCId": made.refs["other"], "VPCRegion": EAST},
        )
    ],
)


def create_log_group(clients: Clients) -> Made:
    logs = clients("logs", EAST)
    logs.create_log_group(logGroupName="/orders/api", tags={"team": "orders"})
    logs.put_retention_policy(logGroupName="/orders/api", retentionInDays=30)
    return Made("/orders/api")


LOG_GROUP = Case(
    type="AWS::Logs::LogGroup",
    create=create_log_group,
    properties=lambda made: {
        "LogGroupName": "/orders/api",
        "RetentionInDays": 30,
        "Tags": tags(("team", "orders")),
    },
    modify=lambda clients, made: clients("logs", EAST).put_retention_policy(
        logGroupName="/orders/api", retentionInDays=90
    ),
    changes=lambda made: [("properties.RetentionInDays", "changed", 30, 90)],
)


CASES = [
    BUCKET,
    VPC,
    SUBNET,
    SECURITY_GROUP,
    INSTANCE,
    ROLE,
    USER,
    MANAGED_POLICY,
    FUNCTION,
    TABLE,
    QUEUE,
    TOPIC,
    KEY,
    DB_INSTANCE,
    ZONE,
    LOG_GROUP,
]


# ---------------------------------------------------------------------------------------
# the round trip


def test_every_registered_type_has_a_round_trip() -> None:
    names = [case.type for case in CASES]
    assert len(names) == len(set(names))
    assert set(names) == set(load_types())


def repo_files(case: Case, made: Made) -> dict[str, str]:
    config: dict[str, Any] = {
        "policies": {"builtin": False},
        "targets": [
            {
                "name": "sandbox",
                "provider": "aws",
                "regions": [case.region],
                "types": [case.type],
            }
        ],
    }
    if case.exclude:
        config["unmanaged"] = {"excludeObjects": list(case.exclude)}
    document = {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": "roundtrip"},
        "spec": {
            "type": case.type,
            "region": case.region,
            "identifier": made.identifier,
            "properties": case.properties(made),
        },
    }
    return {
        "driftwatch.yaml": yaml.safe_dump(config, sort_keys=False),
        "aws/roundtrip.yaml": yaml.safe_dump(document, sort_keys=False),
    }


@pytest.mark.parametrize("case", CASES, ids=[case.type for case in CASES])
def test_round_trip(
    case: Case,
    moto: MotoServer,
    clients: Clients,
    make_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    made = case.create(clients)
    repo = make_repo(repo_files(case, made))
    rtype = load_types()[case.type]
    region = case.region if rtype.regional else "global"
    resource_id = f"aws:sandbox/core/{case.type}/{region}/{made.identifier}"
    out = tmp_path / "report.json"

    def scan() -> tuple[int, AuditReport]:
        code = main(["scan", "--repo", str(repo), "--no-cache", "--format", "json", "-o", str(out)])
        captured = capsys.readouterr()
        data = out.read_bytes()
        for raw in case.secrets:
            assert raw not in data
            assert raw not in (captured.out + captured.err).encode()
        return code, AuditReport.from_json(data)

    code, report = scan()
    assert report.errors == []
    found = {r.id: r for r in report.resources}
    assert {i: r.status for i, r in found.items()} == {resource_id: Status.IN_SYNC}, [
        (c.path, c.op.value, c.desired, c.live) for r in found.values() for c in r.changes
    ]
    assert found[resource_id].changes == []
    assert code == 0

    case.modify(clients, made)
    code, report = scan()
    assert report.errors == []
    found = {r.id: r for r in report.resources}
    assert {i: r.status for i, r in found.items()} == {resource_id: Status.MODIFIED}
    changes = [(c.path, c.op.value, c.desired, c.live) for c in found[resource_id].changes]
    assert changes == case.changes(made)
    assert code == 2
