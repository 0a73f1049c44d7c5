"""AWS::Lambda::Function against moto's server: CFN shapes, live changes, regions, faults."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import awslambda
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::Lambda::Function"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def role(clients: Any) -> str:
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
    iam = clients("iam", "us-east-1")
    return str(
        iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _create(clients: Any, role: str, name: str, region: str = "us-east-1", **extra: Any) -> str:
    function = clients("lambda", region).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        **extra,
    )
    return str(function["FunctionArn"])


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.identifier: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is awslambda.FUNCTION
    assert REGISTRY[TYPE].secret_properties == ("Environment",)
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any, role: str) -> None:
    lam = clients("lambda", "us-east-1")
    layer = lam.publish_layer_version(LayerName="deps", Content={"ZipFile": _zip()})
    layer_arn = layer["LayerVersionArn"]
    key_arn = clients("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    ec2 = clients("ec2", "us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = sorted(
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        for cidr in ("10.0.1.0/24", "10.0.2.0/24")
    )
    group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
    arn = _create(
        clients,
        role,
        "orders-api",
        Description="orders API",
        Timeout=30,
        MemorySize=512,
        Environment={"Variables": {"LOG_LEVEL": "info", "API_TOKEN": "s3cr3t"}},
        Architectures=["arm64"],
        Layers=[layer_arn],
        TracingConfig={"Mode": "Active"},
        KMSKeyArn=key_arn,
        VpcConfig={"SubnetIds": list(reversed(subnets)), "SecurityGroupIds": [group]},
        Tags={"team": "orders", "env": "prod", "aws:cloudformation:stack-name": "orders"},
    )

    found = _scan(clients)

    assert found["orders-api"].region == "us-east-1"
    assert found["orders-api"].aws_managed is None
    assert found["orders-api"].properties == {
        "FunctionName": "orders-api",
        "PackageType": "Zip",
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": role,
        "MemorySize": 512,
        "Timeout": 30,
        "Description": "orders API",
        "Environment": {"Variables": {"LOG_LEVEL": "info", "API_TOKEN": "s3cr3t"}},
        "Architectures": ["arm64"],
        "Layers": [layer_arn],
        "TracingConfig": {"Mode": "Active"},
        "EphemeralStorage": {"Size": 512},
        "KmsKeyArn": key_arn,
        "VpcConfig": {"SubnetIds": subnets, "SecurityGroupIds": [group]},
        # Sorted by Key; AWS's own aws: tags are not the template's.
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }

    lam.update_function_configuration(
        FunctionName="orders-api",
        MemorySize=1024,
        Timeout=60,
        Description="",
        Handler="app.main",
        Environment={"Variables": {"LOG_LEVEL": "debug"}},
        Layers=[],
    )
    lam.untag_resource(Resource=arn, TagKeys=["env"])
    lam.tag_resource(Resource=arn, Tags={"cost-center": "42"})

    changed = _scan(clients)["orders-api"].properties
    assert changed["MemorySize"] == 1024
    assert changed["Timeout"] == 60
    assert changed["Handler"] == "app.main"
    assert changed["Environment"] == {"Variables": {"LOG_LEVEL": "debug"}}
    assert "Description" not in changed  # emptied: absent, as in a template without it
    assert "Layers" not in changed
    assert changed["Tags"] == [
        {"Key": "cost-center", "Value": "42"},
        {"Key": "team", "Value": "orders"},
    ]


def test_minimal_function_omits_absent_settings(clients: Any, role: str) -> None:
    _create(clients, role, "plain")

    assert _scan(clients)["plain"].properties == {
        "FunctionName": "plain",
        "PackageType": "Zip",
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": role,
        "MemorySize": 128,
        "Timeout": 3,
        "Architectures": ["x86_64"],
        "TracingConfig": {"Mode": "PassThrough"},
        "EphemeralStorage": {"Size": 512},
    }


def test_other_region_lists_only_its_functions(clients: Any, role: str) -> None:
    _create(clients, role, "east")
    _create(clients, role, "west", region="eu-west-1")

    west = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.identifier, r.region) for r in west] == [("west", "eu-west-1")]


def test_throttling_is_retried(clients: Any, role: str, moto: MotoServer) -> None:
    _create(clients, role, "orders-api")
    moto.faults.throttle_next("lambda", "*", 2)

    assert list(_scan(clients)) == ["orders-api"]
    assert moto.faults.throttle[("lambda", "*")] == 0


def test_access_denied_raises(clients: Any, role: str, moto: MotoServer) -> None:
    _create(clients, role, "orders-api")
    moto.faults.deny("lambda")

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any, role: str) -> None:
    _create(clients, role, "orders-api", Tags={"team": "orders"})
    called: set[str] = set()
    clients("lambda", "us-east-1").meta.events.register(
        "before-call.lambda", lambda model, **_: called.add(f"lambda:{model.name}")
    )

    _scan(clients)

    assert called == {"lambda:ListFunctions", "lambda:ListTags"}
    assert called <= set(REGISTRY[TYPE].actions)
