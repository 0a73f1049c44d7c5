"""AWS::Lambda::Function: functions' configuration ($LATEST) and tags.

Environment variable values are secrets: they are returned raw for the comparison layer
to hash, and never logged here.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, compact, is_gone, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::Lambda::Function"


def _properties(function: dict[str, Any], tags: list[dict[str, str]]) -> dict[str, Any]:
    variables = (function.get("Environment") or {}).get("Variables")
    vpc = function.get("VpcConfig") or {}
    return compact(
        {
            "FunctionName": function["FunctionName"],
            "PackageType": function.get("PackageType"),
            # Container-image functions have neither runtime nor handler.
            "Runtime": function.get("Runtime"),
            "Handler": function.get("Handler"),
            "Role": function.get("Role"),
            "MemorySize": function.get("MemorySize"),
            "Timeout": function.get("Timeout"),
            "Description": function.get("Description"),
            "Environment": {"Variables": dict(variables)} if variables else None,
            "Architectures": list(function.get("Architectures") or []),
            "Layers": [layer["Arn"] for layer in function.get("Layers") or []],
            "TracingConfig": (
                {"Mode": function["TracingConfig"]["Mode"]}
                if (function.get("TracingConfig") or {}).get("Mode")
                else None
            ),
            "KmsKeyArn": function.get("KMSKeyArn"),
            "EphemeralStorage": (
                {"Size": function["EphemeralStorage"]["Size"]}
                if function.get("EphemeralStorage")
                else None
            ),
            "VpcConfig": (
                {
                    "SubnetIds": sorted(vpc.get("SubnetIds") or []),
                    "SecurityGroupIds": sorted(vpc.get("SecurityGroupIds") or []),
                }
                if vpc.get("SubnetIds")
                else None
            ),
            "DeadLetterConfig": (
                {"TargetArn": function["DeadLetterConfig"]["TargetArn"]}
                if (function.get("DeadLetterConfig") or {}).get("TargetArn")
                else None
            ),
            "Tags": tags,
        }
    )


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("lambda", region)
    found: list[LiveResource] = []
    for function in pages(client, "list_functions", "Functions"):
        try:
            tags = client.list_tags(Resource=function["FunctionArn"]).get("Tags")
        except ClientError as error:
            if is_gone(error):  # deleted since the listing
                continue
            raise
        found.append(
            LiveResource(
                type=TYPE,
                region=region,
                identifier=function["FunctionName"],
                properties=_properties(function, cfn_tags(tags)),
            )
        )
    return found


FUNCTION = register(
    ResourceType(
        name=TYPE,
        service="lambda",
        identifier="FunctionName",
        properties=frozenset(
            {
                "FunctionName",
                "PackageType",
                "Runtime",
                "Handler",
                "Role",
                "MemorySize",
                "Timeout",
                "Description",
                "Environment",
                "Architectures",
                "Layers",
                "TracingConfig",
                "KmsKeyArn",
                "EphemeralStorage",
                "VpcConfig",
                "DeadLetterConfig",
                "Tags",
            }
        ),
        scan=scan,
        actions=("lambda:ListFunctions", "lambda:ListTags"),
        secret_properties=("Environment",),
        write_only=frozenset({"Code", "SnapStart"}),
        docs=(
            "Lambda functions ($LATEST configuration; code is not compared). "
            "Environment values are secrets: compared by keyed hash, shown masked."
        ),
        example={
            "FunctionName": "orders-api",
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "Role": "arn:aws:iam::123456789012:role/orders-api",
            "MemorySize": 512,
            "Timeout": 30,
            "Architectures": ["arm64"],
            "Environment": {"Variables": {"LOG_LEVEL": "info"}},
            "TracingConfig": {"Mode": "Active"},
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
