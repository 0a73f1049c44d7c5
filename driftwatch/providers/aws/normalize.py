"""AWS normalization: canonical forms of CloudFormation properties, so that only real
changes are drift.  Pure: no boto3, no I/O.

Each noise source has one named function or table, so a reader can check the list:

* :func:`canonical_policy` — IAM-style policy documents wherever they appear (IAM
  policies and trust policies, S3 bucket policies, KMS key policies, SQS queue and SNS
  topic policies: any value that is a mapping with ``Statement``, or a JSON string or
  URL-encoded JSON of one).  Statements are compared as a set; ``Action``,
  ``NotAction``, ``Resource``, ``NotResource``, the values of ``Principal`` /
  ``NotPrincipal`` and of ``Condition`` are sets of strings, where a lone string equals
  a one-item list; a missing ``Version`` is IAM's default, ``2008-10-17``; an account
  principal ``arn:aws:iam::123456789012:root`` equals ``123456789012`` (IAM rewrites
  the latter into the former); condition values are compared as text (``false`` equals
  ``"false"``).
* :data:`TAG_FIELDS` — tags: ``[{Key, Value}]`` lists are matched by ``Key``
  (``Tags[Key=team].Value``); ``aws:*`` tags, which only AWS can write, are dropped.
* :data:`SET_FIELDS` — lists of strings whose order CloudFormation ignores, sorted.
* :data:`KEYED_LISTS` — lists of objects matched by a key field instead of position.
* :data:`RULE_FIELDS` — security-group rules, a set matched by what the rule allows
  (protocol, ports, peer); ``6``/``17``/``1``/``all`` protocols are named, ports are
  numbers, and the ports of an all-traffic (``-1``) rule are dropped.
* :func:`scalars_equal` — CloudFormation accepts ``"20"`` for ``20`` and ``"true"``
  for ``true``: a number equals its numeric string, a boolean its text.
* :data:`TYPE_FIELDS` — properties whose canonical form belongs to their type: a hosted
  zone's ``Name`` is a DNS name, lowercase and without the trailing dot Route 53 treats
  as optional (``example.com.`` is ``example.com``); a DynamoDB table's disabled time to
  live or point-in-time recovery has no attribute name or recovery period (DynamoDB
  answers none, whatever a template says).
* :func:`mask_secrets` — the type's ``secret_properties`` (Lambda ``Environment``)
  have every value replaced by a keyed hash before anything is compared or shown.

And one rule of what counts, :func:`closed_map`: a map key only live has is usually a
default AWS filled in, but not inside a policy document or a :data:`CLOSED_MAPS` field,
where every key is someone's doing (a principal added to a trust policy, an environment
variable added in the console).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

import orjson

from driftwatch.engine.diff import DiffRules
from driftwatch.engine.paths import ItemKey, Path
from driftwatch.providers.kubernetes.normalize import SecretMasker

# IAM's default policy language version when a document does not name one.
DEFAULT_POLICY_VERSION = "2008-10-17"
_POLICY_SET_KEYS = ("Action", "NotAction", "Resource", "NotResource")
_PRINCIPAL_KEYS = ("Principal", "NotPrincipal")
_ACCOUNT_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")

# Properties holding tags as [{Key, Value}] (or as a map, for a few types).
TAG_FIELDS = frozenset({"Tags", "HostedZoneTags", "TagSet"})
# Lists of scalars whose order CloudFormation does not keep or use: compared sorted.
SET_FIELDS = frozenset(
    {
        "ManagedPolicyArns",  # IAM Role, User, Group
        "Groups",  # IAM User
        "Users",  # IAM Group membership, ManagedPolicy attachments
        "Roles",  # IAM ManagedPolicy attachments
        "SecurityGroupIds",  # Lambda VpcConfig, EC2 Instance
        "SubnetIds",  # Lambda VpcConfig, RDS DBSubnetGroup
        "VPCSecurityGroups",  # RDS DBInstance
        "VpcSecurityGroupIds",
        "EnableCloudwatchLogsExports",  # RDS DBInstance
        "ResourceRecords",  # Route53 RecordSet
        "AllowedHeaders",  # S3 CorsRules
        "AllowedMethods",
        "AllowedOrigins",
        "ExposedHeaders",
        "Queues",  # SQS QueuePolicy
        "Topics",  # SNS TopicPolicy
    }
)
# Lists of objects matched by these fields, not by position.
KEYED_LISTS: dict[str, tuple[str, ...]] = {
    **{field: ("Key",) for field in TAG_FIELDS},
    "Statement": ("Sid",),  # only when every statement has a Sid; else a sorted list
    "Policies": ("PolicyName",),  # IAM inline policies
    "AttributeDefinitions": ("AttributeName",),  # DynamoDB
    "KeySchema": ("AttributeName",),
    "GlobalSecondaryIndexes": ("IndexName",),
    "LocalSecondaryIndexes": ("IndexName",),
    "Rules": ("Id",),  # S3 lifecycle rules (only when every rule has an Id)
    "Subscription": ("Endpoint", "Protocol"),  # SNS Topic
    "VPCs": ("VPCId",),  # Route53 private HostedZone
    "AssociatedRoles": ("RoleArn",),  # RDS DBInstance
}
# Security-group rules: a set, each rule identified by what it allows.
RULE_FIELDS = frozenset({"SecurityGroupIngress", "SecurityGroupEgress"})
RULE_IDENTITY = (
    "IpProtocol",
    "FromPort",
    "ToPort",
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "SourceSecurityGroupName",
    "SourceSecurityGroupOwnerId",
    "SourcePrefixListId",
    "DestinationSecurityGroupId",
    "DestinationPrefixListId",
)
_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
# Maps AWS adds no key to: a key only live has was written by someone, and is drift.
# (Policy documents are closed too, wherever they are: see closed_map.)
CLOSED_MAPS = frozenset({"Variables"})  # Lambda Environment.Variables


def _domain_name(value: Any) -> Any:
    """A DNS name: case-insensitive, its trailing dot optional (Route 53 answers
    ``example.com.`` for a zone created as ``example.com``)."""
    if isinstance(value, str) and value.rstrip("."):
        return value.lower().removesuffix(".")
    return value


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _when_enabled(flag: str, *settings: str) -> Callable[[Any], Any]:
    """A setting that only exists while ``flag`` is on: switched off, it has no
    ``settings`` (DynamoDB answers a disabled TTL without its attribute name)."""

    def canonical(value: Any) -> Any:
        if isinstance(value, dict) and _is_false(value.get(flag)):
            return {k: v for k, v in value.items() if k not in settings}
        return value

    return canonical


# Properties whose canonical form is their type's, not their field name's.
TYPE_FIELDS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "AWS::Route53::HostedZone": {"Name": _domain_name},
    "AWS::DynamoDB::Table": {
        "TimeToLiveSpecification": _when_enabled("Enabled", "AttributeName"),
        "PointInTimeRecoverySpecification": _when_enabled(
            "PointInTimeRecoveryEnabled", "RecoveryPeriodInDays"
        ),
    },
}


def canonical_properties(
    properties: Mapping[str, Any],
    secret_properties: Iterable[str],
    masker: SecretMasker,
    type_: str | None = None,
) -> dict[str, Any]:
    """The canonical form of one side's properties (of a ``type_`` resource): what is
    diffed, shown and given to policies.  Secrets are masked last, so their hashes are
    of canonical text."""
    fields = TYPE_FIELDS.get(type_ or "", {})
    out = {}
    for key, value in properties.items():
        canon = _canonical(value, key)
        if key in fields and canon is not None:
            canon = fields[key](canon)
        if canon is not None:
            out[key] = canon
    return mask_secrets(out, secret_properties, masker)


def _canonical(value: Any, field: str | None) -> Any:
    policy = _as_policy(value)
    if policy is not None:
        return canonical_policy(policy)
    if isinstance(value, dict):
        if field in TAG_FIELDS:
            value = {k: v for k, v in value.items() if not str(k).startswith("aws:")}
        return {k: c for k, v in value.items() if (c := _canonical(v, k)) is not None}
    if isinstance(value, list):
        items = [c for v in value if (c := _canonical(v, None)) is not None]
        if field in TAG_FIELDS:
            items = _tags(items)
        elif field in RULE_FIELDS:
            items = _sorted_unique([_rule(i) if isinstance(i, dict) else i for i in items])
        elif field in SET_FIELDS and all(_is_scalar(i) for i in items):
            items = _sorted_unique(items)
        return items
    return value


def _as_policy(value: Any) -> dict[str, Any] | None:
    """``value`` as a policy document, if it is one (a mapping, JSON text or URL-encoded)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("%7B"):
            text = unquote(text)
        if not (text.startswith("{") and "Statement" in text):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
    if isinstance(value, dict) and isinstance(value.get("Statement"), dict | list):
        return value
    return None


def canonical_policy(document: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Version": DEFAULT_POLICY_VERSION}
    for key, value in document.items():
        if key == "Statement":
            statements = value if isinstance(value, list) else [value]
            out[key] = _sorted_unique(
                [_statement(s) if isinstance(s, dict) else s for s in statements]
            )
        elif value is not None:
            out[key] = _canonical(value, key)
    return out


def _statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if value is None:
            continue
        if key in _POLICY_SET_KEYS:
            out[key] = _string_set(value)
        elif key in _PRINCIPAL_KEYS:
            out[key] = _principal(value)
        elif key == "Condition" and isinstance(value, dict):
            out[key] = {
                operator: (
                    {k: _string_set(v) for k, v in tests.items()}
                    if isinstance(tests, dict)
                    else tests
                )
                for operator, tests in value.items()
            }
        else:
            out[key] = _canonical(value, key)
    return out


def _principal(value: Any) -> Any:
    if not isinstance(value, dict):
        return _string_set(value)
    out = {}
    for kind, ids in value.items():
        found = _string_set(ids)
        if kind == "AWS":
            accounts = [_account_principal(i) for i in _as_list(found)]
            found = _collapse(_sorted_unique(accounts))
        out[kind] = found
    return out


def _account_principal(value: Any) -> Any:
    match = _ACCOUNT_ROOT.match(value) if isinstance(value, str) else None
    return match.group(1) if match else value


def _string_set(value: Any) -> Any:
    """A lone value or a list, as a sorted set of strings; one item collapses to itself."""
    return _collapse(_sorted_unique([_text(v) for v in _as_list(value)]))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _collapse(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    return value


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _sort_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _sorted_unique(items: Sequence[Any]) -> list[Any]:
    unique = {_sort_key(i): i for i in items}
    return [unique[k] for k in sorted(unique)]


def _tags(items: list[Any]) -> list[Any]:
    out = []
    for item in items:
        if isinstance(item, dict) and "Key" in item:
            key = str(item["Key"])
            if key.startswith("aws:"):
                continue
            item = {**item, "Key": key}
        out.append(item)
    return out


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    out = dict(rule)
    protocol = out.get("IpProtocol")
    if protocol is not None:
        text = str(protocol).lower()
        out["IpProtocol"] = _PROTOCOL_NAMES.get(text, text)
    for port in ("FromPort", "ToPort"):
        number = _number(out.get(port))
        if number is not None and number == number.to_integral_value():
            out[port] = int(number)
    if out.get("IpProtocol") == "-1":
        out.pop("FromPort", None)
        out.pop("ToPort", None)
    return out


def _is_policy(value: Any) -> bool:
    # After canonical_policy every policy document is a mapping with Statement.
    return isinstance(value, dict) and "Statement" in value


def closed_map(declared: Any, path: Path) -> bool:
    """Whether the map at ``path`` is one Git declares (it is in ``declared``, the desired
    side) and is a policy document, lies inside one, or is a :data:`CLOSED_MAPS` field:
    AWS fills in no key there, so a key only live has is drift (a principal added to a
    trust policy, a condition, an environment variable), not a default.  A policy Git
    does not declare (SNS's default topic policy) is not compared at all."""
    node = declared
    for segment in path:
        if _is_policy(node):
            return True
        if isinstance(segment, str):
            node = node.get(segment) if isinstance(node, dict) else None
        elif isinstance(segment, int):
            node = (
                node[segment]
                if isinstance(node, list) and -len(node) <= segment < len(node)
                else None
            )
        else:
            node = (
                next((i for i in node if segment.matches(i)), None)
                if isinstance(node, list)
                else None
            )
        if node is None:
            return False
    return _is_policy(node) or (bool(path) and path[-1] in CLOSED_MAPS)


# ---------------------------------------------------------------------------------------
# secrets


def mask_secrets(
    properties: dict[str, Any], secret_properties: Iterable[str], masker: SecretMasker
) -> dict[str, Any]:
    """Every scalar inside a secret property replaced by its keyed hash (names stay)."""
    secret = [p for p in secret_properties if p in properties]
    if not secret:
        return properties
    out = dict(properties)
    for name in secret:
        out[name] = _mask(out[name], masker)
    return out


def secret_values(
    properties: Mapping[str, Any], secret_properties: Iterable[str], masker: SecretMasker
) -> dict[str, str]:
    """Each clear scalar inside a secret property → its mask (to scrub messages with)."""
    out: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            out[str(_text(value))] = _mask(value, masker)

    for name in secret_properties:
        walk(properties.get(name))
    return out


def _mask(value: Any, masker: SecretMasker) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, masker) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, masker) for v in value]
    if value is None:
        return None
    return masker.mask(str(_text(value)).encode())


# ---------------------------------------------------------------------------------------
# diff rules


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def scalars_equal(path: Path, desired: Any, live: Any) -> bool:
    """CloudFormation's scalar coercions: ``20`` = ``"20"``, ``true`` = ``"true"``."""
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        texts = {str(_text(v)).lower() for v in (desired, live) if _is_scalar(v)}
        return len(texts) == 1 and texts <= {"true", "false"}
    if isinstance(desired, int | float) or isinstance(live, int | float):
        a, b = _number(desired), _number(live)
        return a is not None and a == b
    return bool(desired == live)


def list_keys(path: Path, items: Sequence[Any]) -> tuple[str, ...] | None:
    field = path[-1] if path else None
    if not isinstance(field, str):
        return None
    if field in RULE_FIELDS:
        return RULE_IDENTITY
    keys = KEYED_LISTS.get(field)
    if keys is None:
        return None
    if field in ("Statement", "Rules") and not all(
        isinstance(i, dict) and all(k in i for k in keys) for i in items
    ):
        return None  # optional ids: without them the list is compared whole
    return keys


def item_key(item: dict[str, Any], keys: tuple[str, ...]) -> ItemKey:
    present = [k for k in keys if k in item] if keys == RULE_IDENTITY else list(keys)
    fields = [(k, item.get(k)) for k in present]
    if all(_is_scalar(v) for _, v in fields) and fields:
        return ItemKey(tuple(fields))
    # An item without a usable key (unusual): identified by its whole content.
    return ItemKey((("item", _sort_key(item).decode()),))


DIFF_RULES = DiffRules(list_keys=list_keys, item_key=item_key, scalars_equal=scalars_equal)
