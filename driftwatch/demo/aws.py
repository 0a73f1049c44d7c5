"""The demo AWS account: moto's server in this process, on loopback, where the demo repo's
``AWSResource`` specs were deployed and then changed by hand.

Like the cluster (:mod:`driftwatch.demo.live`), the account is built from the repo's own
documents: each spec under ``aws/`` is created the way CloudFormation would create it
(except the one that never deployed), then the console clicks below happen, so a scan
finds every status:

=========================================  ===========  ===================================
resource                                   status       because
=========================================  ===========  ===================================
S3 bucket acme-shop-assets                 modified     versioning suspended in the console
SecurityGroup shop-web                     modified     SSH opened to 0.0.0.0/0 "for a
                                                        minute" (a live policy violation)
SQS queue shop-orders                      modified     re-tagged ``owner`` in the console
Lambda shop-order-events                   modified     ``PAYMENTS_API_KEY`` rotated in the
                                                        console (a keyed-hash change)
S3 bucket acme-shop-backups                missing      declared, its deploy never ran
S3 bucket acme-shop-export-tmp             unmanaged    made by hand: no Block Public
                                                        Access, no default encryption
SecurityGroup launch-wizard-1              unmanaged    the console's launch wizard, SSH open
S3 bucket acme-shop-invoices               ignored      the FinOps tool's ``cost-center`` tag
                                                        (``cost-tags`` in driftwatch.yaml)
Logs log group /shop/invoices (eu-west-1)  not_checked  an SCP denies CloudWatch Logs in
                                                        eu-west-1 (with the scope's ``*``)
everything else                            in_sync      bucket, IAM role, KMS key, log group
=========================================  ===========  ===================================

Identifiers AWS assigns (the security group's ``GroupId``, the KMS ``KeyId``) are in the
specs, so moto's random generator is seeded before anything is created: the same calls in
the same order give the same ids on every run.  Queue URLs are built by moto from the
request's host; :class:`DemoMotoServer` presents SQS requests as sent to AWS's own
endpoint, so they are AWS's URLs rather than ones carrying this run's port.

moto keeps its state per process, so one :class:`DemoAccount` runs at a time.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import yaml

from driftwatch.demo.gitrepo import repo_files
from driftwatch.providers.aws.model import API_VERSION, KIND
from driftwatch.testing.moto import FAKE_CREDENTIALS, MotoServer

__all__ = [
    "ACCOUNT",
    "DENIED_SCOPE",
    "NEVER_DEPLOYED",
    "REGIONS",
    "ROTATED_API_KEY",
    "DemoAccount",
    "DemoMotoServer",
    "aws_environment",
    "aws_specs",
    "seed_account",
]

ACCOUNT = "123456789012"  # moto's default account, as driftwatch.yaml names it
REGIONS = ("us-east-1", "eu-west-1")
SEED = 2026  # moto's random generator: the ids the specs name come from this seed
# The value PAYMENTS_API_KEY was rotated to in the console; it must never appear anywhere.
ROTATED_API_KEY = "sk_live_demo_7Qm2Zx9Lp4Vt8Rw1Yb6Nc3"
NEVER_DEPLOYED = {"backups"}  # by metadata.name: its deploy never ran
DENIED_SCOPE = ("logs", "eu-west-1")  # an SCP: CloudWatch Logs is off limits in the EU

_SIGNED = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request")
_lock = threading.Lock()  # one DemoAccount per process: moto's backends are global


def aws_specs() -> list[dict[str, Any]]:
    """The demo repo's AWSResource documents, in file order."""
    out: list[dict[str, Any]] = []
    for rel, data in repo_files().items():
        if rel.endswith(".yaml") and rel != "driftwatch.yaml":
            out += [
                d
                for d in yaml.safe_load_all(data)
                if isinstance(d, dict)
                and d.get("apiVersion") == API_VERSION
                and d.get("kind") == KIND
            ]
    return out


# -- moto, as the demo runs it ----------------------------------------------------------


class _AwsHostnames:
    """Present SQS requests to moto as sent to ``https://sqs.<region>.amazonaws.com``:
    moto builds queue URLs from the request's host, which on loopback carries the port."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        signed = _SIGNED.search(str(environ.get("HTTP_AUTHORIZATION", "")))
        if signed and signed.group(2) == "sqs":
            environ["HTTP_HOST"] = f"sqs.{signed.group(1)}.amazonaws.com"
            environ["wsgi.url_scheme"] = "https"
        return self.app(environ, start_response)


class DemoMotoServer(MotoServer):
    """:class:`MotoServer` whose SQS queue URLs are AWS's whatever the port."""

    def start(self) -> DemoMotoServer:
        super().start()
        assert self._server is not None
        self._server.app = _AwsHostnames(self._server.app)  # before any request is sent
        return self

    def reset_and_seed(self, seed: int) -> None:
        """Forget every resource and fault (moto's state is per process), then seed the
        generator moto draws ids from."""
        self.reset()
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/seed?a={seed}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


# -- deploying a spec the way CloudFormation would ---------------------------------------


class _Clients:
    """boto3 clients on the demo server with moto's fake keys, one per (service, region)."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3

        self._session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        self._endpoint_url = endpoint_url
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._cache:
            self._cache[key] = self._session.client(
                service, region_name=region, endpoint_url=self._endpoint_url
            )
        return self._cache[key]


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in properties.get("Tags", [])]


def _tag_map(properties: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in _tags(properties)}


def _bucket(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    s3, name = clients("s3", region), p["BucketName"]
    where = {} if region == "us-east-1" else {"LocationConstraint": region}
    s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": where} if where else {}))
    if "VersioningConfiguration" in p:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
    if "BucketEncryption" in p:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **(
                    {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                    if "BucketKeyEnabled" in rule
                    else {}
                ),
            }
            for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in p:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
        )
    if p.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(p)})
    return str(name)


def _permission(rule: dict[str, Any]) -> dict[str, Any]:
    peer: dict[str, Any] = {"CidrIp": rule["CidrIp"]}
    if "Description" in rule:
        peer["Description"] = rule["Description"]
    permission: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"]), "IpRanges": [peer]}
    for port in ("FromPort", "ToPort"):
        if port in rule:
            permission[port] = int(rule[port])
    return permission


def _security_group(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    ec2 = clients("ec2", region)
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    group = ec2.create_security_group(
        GroupName=p["GroupName"],
        Description=p["GroupDescription"],
        VpcId=vpc["VpcId"],
        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(p)}]
        if p.get("Tags")
        else [],
    )["GroupId"]
    rules = p.get("SecurityGroupIngress") or []
    if rules:
        ec2.authorize_security_group_ingress(
            GroupId=group, IpPermissions=[_permission(r) for r in rules]
        )
    return str(group)


def _role(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    iam, name = clients("iam", "us-east-1"), p["RoleName"]
    iam.create_role(
        RoleName=name,
        Path=p.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
        Tags=_tags(p),
    )
    for policy in p.get("Policies") or []:
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    return str(name)


_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")


def _queue(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    attributes = {k: str(p[k]) for k in _QUEUE_ATTRIBUTES if k in p}
    url = clients("sqs", region).create_queue(
        QueueName=p["QueueName"], Attributes=attributes, tags=_tag_map(p)
    )["QueueUrl"]
    return str(url)


def _code() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return None\n")
    return archive.getvalue()


def _function(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    clients("lambda", region).create_function(
        FunctionName=p["FunctionName"],
        Runtime=p["Runtime"],
        Handler=p["Handler"],
        Role=p["Role"],
        MemorySize=int(p["MemorySize"]),
        Timeout=int(p["Timeout"]),
        Environment=p.get("Environment", {}),
        Code={"ZipFile": _code()},
        Tags=_tag_map(p),
    )
    return str(p["FunctionName"])


def _key(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    kms = clients("kms", region)
    key = kms.create_key(
        Description=p.get("Description", ""),
        KeySpec=p.get("KeySpec", "SYMMETRIC_DEFAULT"),
        KeyUsage=p.get("KeyUsage", "ENCRYPT_DECRYPT"),
        Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(p)],
    )["KeyMetadata"]["KeyId"]
    if p.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key)
    return str(key)


def _log_group(clients: _Clients, region: str, p: dict[str, Any]) -> str:
    logs, name = clients("logs", region), p["LogGroupName"]
    logs.create_log_group(logGroupName=name, tags=_tag_map(p))
    if "RetentionInDays" in p:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
    return str(name)


_DEPLOY: dict[str, Callable[[_Clients, str, dict[str, Any]], str]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::IAM::Role": _role,
    "AWS::SQS::Queue": _queue,
    "AWS::Lambda::Function": _function,
    "AWS::KMS::Key": _key,
    "AWS::Logs::LogGroup": _log_group,
}


# -- a month of console clicks -----------------------------------------------------------


def _drift(clients: _Clients, deployed: dict[str, str], specs: dict[str, dict[str, Any]]) -> None:
    """What people and tools changed since the deploy, in place."""
    us, eu = REGIONS
    # "Suspend versioning while we bulk-delete old assets" — and it was never turned back on.
    clients("s3", us).put_bucket_versioning(
        Bucket=deployed["assets"], VersioningConfiguration={"Status": "Suspended"}
    )
    # SSH opened to the world "for a minute" to debug the load balancer.
    clients("ec2", us).authorize_security_group_ingress(
        GroupId=deployed["shop-web"],
        IpPermissions=[
            _permission(
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "CidrIp": "0.0.0.0/0",
                    "Description": "temporary debug access",
                }
            )
        ],
    )
    # The payments team took over the queue and re-tagged it.
    clients("sqs", us).tag_queue(QueueUrl=deployed["orders-queue"], Tags={"owner": "payments"})
    # The payments API key was rotated in the console, not in Git.
    variables = dict(specs["order-events"]["properties"]["Environment"]["Variables"])
    variables["PAYMENTS_API_KEY"] = ROTATED_API_KEY
    clients("lambda", us).update_function_configuration(
        FunctionName=deployed["order-events"], Environment={"Variables": variables}
    )
    # The FinOps tool tags what it can attribute (ignored by the cost-tags rule).
    invoices = specs["invoices"]["properties"]
    clients("s3", eu).put_bucket_tagging(
        Bucket=deployed["invoices"],
        Tagging={"TagSet": [*_tags(invoices), {"Key": "cost-center", "Value": "cc-4711"}]},
    )


def _by_hand(clients: _Clients) -> None:
    """What was created outside Git: unmanaged."""
    us = REGIONS[0]
    clients("s3", us).create_bucket(Bucket="acme-shop-export-tmp")  # a one-off CSV export
    _security_group(
        clients,
        us,
        {
            "GroupName": "launch-wizard-1",
            "GroupDescription": "launch-wizard-1 created 2026-03-04T21:20:11.000Z",
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
            ],
        },
    )


def seed_account(server: DemoMotoServer) -> dict[str, str]:
    """Reset ``server``'s (process-wide) moto state and build the demo account: the specs
    deployed, then drifted.  Returns the identifier AWS gave each deployed spec, by
    ``metadata.name`` — the ones AWS assigns must equal the specs' ``identifier``."""
    server.reset_and_seed(SEED)
    clients = _Clients(server.endpoint_url)
    specs: dict[str, dict[str, Any]] = {}
    deployed: dict[str, str] = {}
    for doc in aws_specs():
        spec, name = doc["spec"], doc["metadata"]["name"]
        specs[name] = spec
        if name in NEVER_DEPLOYED:
            continue
        deployed[name] = _DEPLOY[spec["type"]](
            clients, spec.get("region") or REGIONS[0], spec["properties"]
        )
    _drift(clients, deployed, specs)
    _by_hand(clients)
    service, region = DENIED_SCOPE
    server.faults.deny(service, region=region)
    return deployed


# -- the environment a demo scan runs in --------------------------------------------------

# boto3 settings that would send the demo's requests elsewhere or use other credentials.
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


@contextmanager
def aws_environment(endpoint_url: str) -> Iterator[None]:
    """boto3's environment pointing at ``endpoint_url`` with moto's fake keys, restored on
    exit: the user's profiles, config files and service-specific endpoints are set aside,
    so a demo scan can only reach the demo server."""
    loopback = "127.0.0.1"
    no_proxy = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    changes: dict[str, str | None] = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # moto: no public AMI catalogue (1,300 images per region, a third of a second each)
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        "NO_PROXY": f"{no_proxy},{loopback}" if no_proxy else loopback,
        "no_proxy": f"{no_proxy},{loopback}" if no_proxy else loopback,
    }
    changes.update({name: None for name in _CLEARED})
    changes.update({name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")})
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            _setenv(name, value)
        yield
    finally:
        for name, value in saved.items():
            _setenv(name, value)


def _setenv(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class DemoAccount:
    """The demo AWS account while it runs: the server, seeded, and boto3's environment
    pointing at it (:func:`aws_environment`) until :meth:`close`."""

    def __init__(self) -> None:
        self.server = DemoMotoServer()
        self.deployed: dict[str, str] = {}
        self._stack: ExitStack | None = None

    def start(self) -> DemoAccount:
        """:meth:`open`, then :meth:`seed`."""
        self.open()
        try:
            self.seed()
        except BaseException:
            self.close()
            raise
        return self

    def open(self) -> DemoAccount:
        """Start the (empty) server and point boto3's environment at it.  The environment
        is process-wide: call this on the thread that owns it, not in a worker."""
        if self._stack is not None:
            raise RuntimeError("this DemoAccount is already running")
        if not _lock.acquire(blocking=False):
            raise RuntimeError(
                "another driftwatch demo is running in this process (moto's AWS state is per process)"
            )
        stack = ExitStack()
        stack.callback(_lock.release)
        try:
            self.server.start()
            stack.callback(self.server.stop)
            stack.enter_context(aws_environment(self.server.endpoint_url))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def seed(self) -> None:
        """Build the account (:func:`seed_account`); safe on a worker thread."""
        if self._stack is None:
            raise RuntimeError("open() the DemoAccount first")
        self.deployed = seed_account(self.server)

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def close(self) -> None:
        """Restore the environment, stop the server (idempotent)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()
