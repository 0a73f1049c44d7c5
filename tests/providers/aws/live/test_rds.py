"""AWS::RDS::DBInstance against moto's server: CFN shapes, live changes, pages, faults."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import rds
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::RDS::DBInstance"
PASSWORD = "never-reported-1"


def _create(clients: Any, name: str, region: str = "us-east-1", **extra: Any) -> None:
    settings: dict[str, Any] = {
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "AllocatedStorage": 20,
        "MasterUsername": "admin",
        "MasterUserPassword": PASSWORD,
        **extra,
    }
    clients("rds", region).create_db_instance(DBInstanceIdentifier=name, **settings)


def _scan(clients: Any, region: str = "us-east-1") -> dict[str, LiveResource]:
    return {r.identifier: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_with_scanner() -> None:
    assert REGISTRY[TYPE] is rds.DB_INSTANCE
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    key_arn = clients("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    _create(
        clients,
        "orders-db",
        EngineVersion="16.3",
        AllocatedStorage=100,
        StorageType="gp3",
        StorageEncrypted=True,
        KmsKeyId=key_arn,
        MultiAZ=True,
        PubliclyAccessible=False,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
        Tags=[{"Key": "team", "Value": "orders"}, {"Key": "env", "Value": "prod"}],
    )

    found = _scan(clients)

    assert found["orders-db"].region == "us-east-1"
    assert found["orders-db"].properties == {
        "DBInstanceIdentifier": "orders-db",
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "EngineVersion": "16.3",
        "AllocatedStorage": "100",  # a string, as CloudFormation types it
        "StorageType": "gp3",
        "StorageEncrypted": True,
        "KmsKeyId": key_arn,
        "MultiAZ": True,
        "PubliclyAccessible": False,
        "BackupRetentionPeriod": 7,
        "DeletionProtection": True,
        "MasterUsername": "admin",
        "AutoMinorVersionUpgrade": True,
        "CopyTagsToSnapshot": False,
        "EnableIAMDatabaseAuthentication": False,
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "orders"}],
    }
    assert PASSWORD not in repr(found["orders-db"])

    client = clients("rds", "us-east-1")
    client.modify_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.small",
        AllocatedStorage=200,
        MultiAZ=False,
        BackupRetentionPeriod=14,
        DeletionProtection=False,
        ApplyImmediately=True,
    )
    client.remove_tags_from_resource(
        ResourceName="arn:aws:rds:us-east-1:123456789012:db:orders-db", TagKeys=["env"]
    )

    changed = _scan(clients)["orders-db"].properties
    assert changed["DBInstanceClass"] == "db.t3.small"
    assert changed["AllocatedStorage"] == "200"
    assert changed["MultiAZ"] is False
    assert changed["BackupRetentionPeriod"] == 14
    assert changed["DeletionProtection"] is False
    assert changed["Tags"] == [{"Key": "team", "Value": "orders"}]


def test_leaves_out_neptune_instances(clients: Any) -> None:
    # The RDS API lists Neptune (and DocumentDB, which moto cannot create) instances too;
    # CloudFormation has other types for them.
    client = clients("rds", "us-east-1")
    client.create_db_cluster(
        DBClusterIdentifier="graph",
        Engine="neptune",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
    )
    client.create_db_instance(
        DBInstanceIdentifier="graph-1",
        DBInstanceClass="db.r5.large",
        Engine="neptune",
        DBClusterIdentifier="graph",
    )
    _create(clients, "orders-db")

    assert list(_scan(clients)) == ["orders-db"]


def test_follows_describe_pages(clients: Any, moto: MotoServer) -> None:
    # DescribeDBInstances answers at most 100 instances a page.
    names = [f"db-{i:03d}" for i in range(101)]
    for name in names:
        _create(clients, name)
    moto.faults.calls.clear()

    assert sorted(_scan(clients)) == names
    assert sum(1 for s, _, a in moto.faults.calls if (s, a) == ("rds", "DescribeDBInstances")) == 2


def test_other_region_lists_only_its_instances(clients: Any) -> None:
    _create(clients, "east")
    _create(clients, "west", region="eu-west-1")

    west = list(REGISTRY[TYPE].scan(clients, "eu-west-1"))

    assert [(r.identifier, r.region) for r in west] == [("west", "eu-west-1")]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    _create(clients, "orders-db")
    moto.faults.throttle_next("rds", "*", 2)

    assert list(_scan(clients)) == ["orders-db"]
    assert moto.faults.throttle[("rds", "*")] == 0


def test_access_denied_raises(clients: Any, moto: MotoServer) -> None:
    _create(clients, "orders-db")
    moto.faults.deny("rds")

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "us-east-1"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any, moto: MotoServer) -> None:
    _create(clients, "orders-db")
    moto.faults.calls.clear()

    _scan(clients)

    called = {f"rds:{a}" for s, _, a in moto.faults.calls if s == "rds"}
    assert called == set(REGISTRY[TYPE].actions)
