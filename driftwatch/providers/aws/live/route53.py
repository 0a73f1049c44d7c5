"""AWS::Route53::HostedZone: hosted zones (global), their VPCs when private, and tags.

Name is reported without Route 53's trailing dot, the way templates usually write it.
Zones another AWS service created for itself (Cloud Map namespaces...) carry a
LinkedService and are marked aws_managed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from driftwatch.providers.aws.live.shapes import cfn_tags, compact, is_gone, pages
from driftwatch.providers.aws.model import Clients, LiveResource, ResourceType, register

TYPE = "AWS::Route53::HostedZone"
_TAGS_BATCH = 10  # ListTagsForResources takes at most 10 ids


def _zone_id(raw: str) -> str:
    return raw.rpartition("/")[2]


def _tag_sets(client: Any, batch: list[str]) -> list[dict[str, Any]]:
    try:
        answer = client.list_tags_for_resources(ResourceType="hostedzone", ResourceIds=batch)
    except ClientError as error:
        if not is_gone(error, "NoSuchHostedZone"):
            raise
        if len(batch) == 1:  # deleted since the listing
            return []
        # One zone of the batch vanished: ask for each alone to keep the others' tags.
        return [tag_set for zone_id in batch for tag_set in _tag_sets(client, [zone_id])]
    return list(answer.get("ResourceTagSets") or [])


def _tags(client: Any, zone_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    tags: dict[str, list[dict[str, str]]] = {}
    for start in range(0, len(zone_ids), _TAGS_BATCH):
        for tag_set in _tag_sets(client, zone_ids[start : start + _TAGS_BATCH]):
            tags[str(tag_set["ResourceId"])] = cfn_tags(tag_set.get("Tags"))
    return tags


def _vpcs(client: Any, zone_id: str) -> list[dict[str, str]] | None:
    try:
        vpcs = client.get_hosted_zone(Id=zone_id).get("VPCs") or []
    except ClientError as error:
        if is_gone(error, "NoSuchHostedZone"):  # deleted since the listing
            return None
        raise
    return sorted(
        ({"VPCId": str(v["VPCId"]), "VPCRegion": str(v["VPCRegion"])} for v in vpcs),
        key=lambda v: (v["VPCRegion"], v["VPCId"]),
    )


def _resources(client: Any, zones: Iterable[dict[str, Any]]) -> list[LiveResource]:
    zones = list(zones)
    tags = _tags(client, [_zone_id(z["Id"]) for z in zones])
    found: list[LiveResource] = []
    for zone in zones:
        zone_id = _zone_id(zone["Id"])
        config = zone.get("Config") or {}
        properties: dict[str, Any] = {
            "Id": zone_id,
            "Name": str(zone["Name"]).removesuffix("."),
            "HostedZoneConfig": compact({"Comment": config.get("Comment")}),
            "HostedZoneTags": tags.get(zone_id),
        }
        if config.get("PrivateZone"):
            vpcs = _vpcs(client, zone_id)
            if vpcs is None:
                continue
            properties["VPCs"] = vpcs
        linked = (zone.get("LinkedService") or {}).get("ServicePrincipal")
        found.append(
            LiveResource(
                type=TYPE,
                region="global",
                identifier=zone_id,
                properties=compact(properties),
                aws_managed=f"created by {linked}" if linked else None,
            )
        )
    return found


def scan(clients: Clients, region: str) -> list[LiveResource]:
    """Route 53 is global: ``region`` only picks the client's endpoint region."""
    client = clients("route53", region)
    return _resources(client, pages(client, "list_hosted_zones", "HostedZones"))


HOSTED_ZONE = register(
    ResourceType(
        name=TYPE,
        service="route53",
        identifier="Id",
        properties=frozenset({"Id", "Name", "HostedZoneConfig", "VPCs", "HostedZoneTags"}),
        scan=scan,
        actions=(
            "route53:ListHostedZones",
            "route53:GetHostedZone",
            "route53:ListTagsForResources",
        ),
        regional=False,
        docs=(
            "Route 53 hosted zones (global; Id without /hostedzone/, Name without the "
            "trailing dot), with VPCs for private zones."
        ),
        example={
            "Name": "internal.example.com",
            "HostedZoneConfig": {"Comment": "service discovery"},
            "VPCs": [{"VPCId": "vpc-0a1b2c3d4e5f67890", "VPCRegion": "us-east-1"}],
            "HostedZoneTags": [{"Key": "team", "Value": "platform"}],
        },
    )
)
