"""AWS::Route53::HostedZone against moto's server: CFN shapes, live changes, pages, faults."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftwatch.providers.aws.live import route53
from driftwatch.providers.aws.model import REGISTRY, LiveResource
from driftwatch.testing.moto import MotoServer

TYPE = "AWS::Route53::HostedZone"


def _create(clients: Any, name: str, **extra: Any) -> str:
    zone = clients("route53", "global").create_hosted_zone(
        Name=name, CallerReference=name, **extra
    )["HostedZone"]
    return str(zone["Id"]).removeprefix("/hostedzone/")


def _vpc(clients: Any, region: str, cidr: str) -> str:
    return str(clients("ec2", region).create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"])


def _scan(clients: Any, region: str = "global") -> dict[str, LiveResource]:
    return {r.identifier: r for r in REGISTRY[TYPE].scan(clients, region)}


def test_registered_as_global() -> None:
    assert REGISTRY[TYPE] is route53.HOSTED_ZONE
    assert REGISTRY[TYPE].regional is False
    assert set(REGISTRY[TYPE].example) <= REGISTRY[TYPE].properties


def test_reports_cfn_properties_and_follows_live_changes(clients: Any) -> None:
    client = clients("route53", "global")
    east = _vpc(clients, "us-east-1", "10.0.0.0/16")
    public = _create(clients, "example.com", HostedZoneConfig={"Comment": "public site"})
    private = _create(
        clients,
        "internal.example.com",
        VPC={"VPCRegion": "us-east-1", "VPCId": east},
        HostedZoneConfig={"Comment": "service discovery", "PrivateZone": True},
    )
    client.change_tags_for_resource(
        ResourceType="hostedzone",
        ResourceId=private,
        AddTags=[{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "prod"}],
    )

    found = _scan(clients)

    assert {r.region for r in found.values()} == {"global"}
    assert found[public].properties == {
        "Id": public,
        "Name": "example.com",
        "HostedZoneConfig": {"Comment": "public site"},
    }
    assert found[private].properties == {
        "Id": private,
        "Name": "internal.example.com",
        "HostedZoneConfig": {"Comment": "service discovery"},
        "VPCs": [{"VPCId": east, "VPCRegion": "us-east-1"}],
        "HostedZoneTags": [
            {"Key": "env", "Value": "prod"},
            {"Key": "team", "Value": "platform"},
        ],
    }

    west = _vpc(clients, "eu-west-1", "10.1.0.0/16")
    client.associate_vpc_with_hosted_zone(
        HostedZoneId=private, VPC={"VPCRegion": "eu-west-1", "VPCId": west}
    )
    client.update_hosted_zone_comment(Id=private, Comment="shared")
    client.update_hosted_zone_comment(Id=public, Comment="")
    client.change_tags_for_resource(
        ResourceType="hostedzone", ResourceId=private, RemoveTagKeys=["env"]
    )

    changed = _scan(clients)
    assert changed[private].properties["VPCs"] == [  # sorted by region, then VPC
        {"VPCId": west, "VPCRegion": "eu-west-1"},
        {"VPCId": east, "VPCRegion": "us-east-1"},
    ]
    assert changed[private].properties["HostedZoneConfig"] == {"Comment": "shared"}
    assert changed[private].properties["HostedZoneTags"] == [{"Key": "team", "Value": "platform"}]
    assert "HostedZoneConfig" not in changed[public].properties


def test_follows_list_pages_and_tag_batches(clients: Any) -> None:
    # ListHostedZones answers at most 100 zones a page; tags are asked 10 zones at a time.
    client = clients("route53", "global")
    ids = [_create(clients, f"zone{i:03d}.example") for i in range(101)]
    for zone_id in ids[::7]:
        client.change_tags_for_resource(
            ResourceType="hostedzone",
            ResourceId=zone_id,
            AddTags=[{"Key": "zone", "Value": zone_id}],
        )
    calls: list[str] = []
    client.meta.events.register("before-call.route53", lambda model, **_: calls.append(model.name))

    found = _scan(clients)

    assert sorted(found) == sorted(ids)
    for zone_id in ids:
        expected = [{"Key": "zone", "Value": zone_id}] if zone_id in ids[::7] else None
        assert found[zone_id].properties.get("HostedZoneTags") == expected
    assert calls.count("ListHostedZones") == 2
    assert calls.count("ListTagsForResources") == 11


def test_region_argument_only_picks_the_endpoint(clients: Any) -> None:
    zone = _create(clients, "example.com")

    assert [(r.identifier, r.region) for r in REGISTRY[TYPE].scan(clients, "us-east-1")] == [
        (zone, "global")
    ]


def test_throttling_is_retried(clients: Any, moto: MotoServer) -> None:
    zone = _create(clients, "example.com")
    moto.faults.throttle_next("route53", "*", 2)

    assert list(_scan(clients)) == [zone]
    assert moto.faults.throttle[("route53", "*")] == 0


def test_access_denied_raises(clients: Any, moto: MotoServer) -> None:
    _create(clients, "example.com")
    moto.faults.deny("route53")

    with pytest.raises(ClientError) as raised:
        list(REGISTRY[TYPE].scan(clients, "global"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_actions_cover_every_call(clients: Any) -> None:
    _create(
        clients,
        "internal.example.com",
        VPC={"VPCRegion": "us-east-1", "VPCId": _vpc(clients, "us-east-1", "10.0.0.0/16")},
        HostedZoneConfig={"Comment": "private", "PrivateZone": True},
    )
    called: set[str] = set()
    clients("route53", "global").meta.events.register(
        "before-call.route53", lambda model, **_: called.add(f"route53:{model.name}")
    )

    _scan(clients)

    assert called == set(REGISTRY[TYPE].actions)
