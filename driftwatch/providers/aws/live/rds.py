"""AWS::RDS::DBInstance: DB instances from DescribeDBInstances (which carries the tags).

The master password is never read: no API returns it, and none is asked for.
DocumentDB and Neptune instances, which the RDS API also lists, are other
CloudFormation types and are left out.
"""

from __future__ import annotations

from typing import Any

from driftwatch.providers.aws.live.shapes import cfn_tags, compact, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::RDS::DBInstance"
_OTHER_TYPES = {"docdb", "neptune"}


def _properties(db: dict[str, Any]) -> dict[str, Any]:
    storage = db.get("AllocatedStorage")
    return compact(
        {
            "DBInstanceIdentifier": db["DBInstanceIdentifier"],
            "DBInstanceClass": db.get("DBInstanceClass"),
            "Engine": db.get("Engine"),
            "EngineVersion": db.get("EngineVersion"),
            "DBClusterIdentifier": db.get("DBClusterIdentifier"),
            # CloudFormation types AllocatedStorage as a string.
            "AllocatedStorage": str(storage) if storage else None,
            "StorageType": db.get("StorageType"),
            "Iops": db.get("Iops"),
            "StorageThroughput": db.get("StorageThroughput"),
            "StorageEncrypted": db.get("StorageEncrypted"),
            "KmsKeyId": db.get("KmsKeyId"),
            "MultiAZ": db.get("MultiAZ"),
            "PubliclyAccessible": db.get("PubliclyAccessible"),
            "BackupRetentionPeriod": db.get("BackupRetentionPeriod"),
            "DeletionProtection": db.get("DeletionProtection"),
            "MasterUsername": db.get("MasterUsername"),
            "AutoMinorVersionUpgrade": db.get("AutoMinorVersionUpgrade"),
            "CopyTagsToSnapshot": db.get("CopyTagsToSnapshot"),
            "EnableIAMDatabaseAuthentication": db.get("IAMDatabaseAuthenticationEnabled"),
            "Tags": cfn_tags(db.get("TagList")),
        }
    )


def scan(clients: Clients, region: str) -> list[LiveResource]:
    client = clients("rds", region)
    return [
        LiveResource(
            type=TYPE,
            region=region,
            identifier=db["DBInstanceIdentifier"],
            properties=_properties(db),
        )
        for db in pages(client, "describe_db_instances", "DBInstances")
        if db.get("Engine") not in _OTHER_TYPES
    ]


DB_INSTANCE = register(
    ResourceType(
        name=TYPE,
        service="rds",
        identifier="DBInstanceIdentifier",
        properties=frozenset(
            {
                "DBInstanceIdentifier",
                "DBInstanceClass",
                "Engine",
                "EngineVersion",
                "DBClusterIdentifier",
                "AllocatedStorage",
                "StorageType",
                "Iops",
                "StorageThroughput",
                "StorageEncrypted",
                "KmsKeyId",
                "MultiAZ",
                "PubliclyAccessible",
                "BackupRetentionPeriod",
                "DeletionProtection",
                "MasterUsername",
                "AutoMinorVersionUpgrade",
                "CopyTagsToSnapshot",
                "EnableIAMDatabaseAuthentication",
                "Tags",
            }
        ),
        scan=scan,
        write_only=frozenset(
            {
                "MasterUserPassword",
                "DBSnapshotIdentifier",
                "SourceDBInstanceIdentifier",
                "RestoreTime",
                "UseLatestRestorableTime",
            }
        ),
        actions=("rds:DescribeDBInstances",),
        docs=(
            "RDS DB instances (AllocatedStorage is a string, as in CloudFormation); "
            "the master password is never read."
        ),
        example={
            "DBInstanceIdentifier": "orders-db",
            "DBInstanceClass": "db.t4g.medium",
            "Engine": "postgres",
            "EngineVersion": "16.3",
            "AllocatedStorage": "100",
            "StorageType": "gp3",
            "StorageEncrypted": True,
            "MultiAZ": True,
            "PubliclyAccessible": False,
            "BackupRetentionPeriod": 7,
            "DeletionProtection": True,
            "Tags": [{"Key": "team", "Value": "orders"}],
        },
    )
)
