"""Benchmark: `driftwatch scan` of N S3 buckets against Cloud Custodian on the same server.

One moto server (``python -m moto.server``) runs in its own process, so neither tool
shares a GIL with it.  N buckets are created on it, each with versioning, default
encryption and tags; a Git repo declares half of them as ``AWSResource`` specs (5 % of
those with a tag that differs from live, so there is drift to report).  Then, alternating
and as child processes, each tool runs ``REPEAT`` times against the same server:

* driftwatch: ``driftwatch scan --aws-region us-east-1 --format json -o FILE`` with the
  target limited to ``types: [AWS::S3::Bucket]`` (the properties the specs declare and the
  built-in policies read are read: five configuration calls per bucket; ``dw-drift`` is
  the same scan with the built-in policies off, the workload of c7n's one-filter policy:
  versioning, encryption and tags, three calls per bucket);
* Cloud Custodian: ``custodian run --cache-period 0 -s OUT policy.yml``, one ``aws.s3``
  policy with a ``Versioning.Status == Enabled`` value filter.  c7n's default
  ``augment-keys: all`` reads ten configurations per bucket; ``--c7n-detect`` also runs
  the policy with ``augment-keys: detect`` (only Location, Tags and Versioning).

Both reach the server through ``AWS_ENDPOINT_URL`` (boto3 ≥ 1.28 honours it, c7n builds
plain boto3 sessions) with fake credentials.  c7n lives in its own virtualenv,
``benchmarks/.c7n-venv``, created on first use with ``pip install c7n``.  Each run's output
is checked (every bucket reported) so a failing run cannot pass for a fast one.  API calls
per bucket are counted from the server's request log.  Usage:

    python benchmarks/aws_bench.py --buckets 1000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import moto
import yaml
from botocore.config import Config as BotoConfig

from driftwatch import __version__

HERE = Path(__file__).resolve().parent
C7N_VENV = HERE / ".c7n-venv"
REGION = "us-east-1"
REPEAT = 3  # medians of three runs each, alternating which tool goes first
FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def c7n_custodian() -> Path:
    """``custodian`` of the benchmark's own c7n virtualenv, created on first use."""
    custodian = C7N_VENV / "bin" / "custodian"
    if not custodian.exists():
        print(f"creating {C7N_VENV} with c7n from PyPI...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(C7N_VENV)], check=True)
        subprocess.run(
            [str(C7N_VENV / "bin" / "pip"), "install", "-q", "c7n"],
            check=True,
        )
    return custodian


def c7n_version() -> str:
    out = subprocess.run(
        [str(C7N_VENV / "bin" / "python"), "-c", "import c7n.version as v; print(v.version)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's server in its own process; its request log (one line a request) goes to ``log``."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
            time.sleep(0.1)


def bucket_name(i: int) -> str:
    return f"bench-{i:05d}"


def team(i: int) -> str:
    return f"team-{i % 7}"


def create_buckets(url: str, n: int) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=BotoConfig(max_pool_connections=32, retries={"mode": "standard"}),
    )

    def create(i: int) -> None:
        name = bucket_name(i)
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_bucket_tagging(
            Bucket=name,
            Tagging={
                "TagSet": [{"Key": "team", "Value": team(i)}, {"Key": "env", "Value": "bench"}]
            },
        )

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(create, range(n)))


def spec(i: int) -> dict[str, Any]:
    """The AWSResource of bucket ``i``; every 20th declares a team tag live does not have."""
    declared_team = team(i) if i % 20 else "team-other"
    return {
        "apiVersion": "driftwatch.dev/v1alpha1",
        "kind": "AWSResource",
        "metadata": {"name": bucket_name(i)},
        "spec": {
            "type": "AWS::S3::Bucket",
            "region": REGION,
            "properties": {
                "BucketName": bucket_name(i),
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "Tags": [
                    {"Key": "env", "Value": "bench"},
                    {"Key": "team", "Value": declared_team},
                ],
            },
        },
    }


def write_repo(root: Path, n: int, declared: int) -> Path:
    repo = root / "repo"
    (repo / "aws" / "s3").mkdir(parents=True)
    (repo / "driftwatch.yaml").write_text(
        yaml.safe_dump(
            {
                "targets": [
                    {
                        "name": "bench",
                        "provider": "aws",
                        "regions": [REGION],
                        "types": ["AWS::S3::Bucket"],
                    }
                ]
            },
            sort_keys=False,
        )
    )
    for i in range(min(declared, n)):
        (repo / "aws" / "s3" / f"{bucket_name(i)}.yaml").write_text(
            yaml.safe_dump(spec(i), sort_keys=False)
        )
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "bench"], cwd=repo, check=True, env=env)
    return repo


def c7n_policy(path: Path, detect: bool) -> Path:
    policy: dict[str, Any] = {
        "name": "s3-versioned",
        "resource": "aws.s3",
        "filters": [{"type": "value", "key": "Versioning.Status", "value": "Enabled"}],
    }
    if detect:
        policy["query"] = [{"augment-keys": "detect"}]
    path.write_text(yaml.safe_dump({"policies": [policy]}, sort_keys=False))
    return path


# "GET /bench-00001?versioning HTTP/1.1" 200 -  → ("GET", "versioning")
_REQUEST = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (/[^ ?"]*)(?:\?([^ "]*))? HTTP/')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours error responses


def operations(log: Path, start: int) -> tuple[Counter[str], int]:
    """S3 and other requests in the server log since byte ``start``, by operation."""
    with log.open("rb") as fh:
        fh.seek(start)
        text = _ANSI.sub("", fh.read().decode("utf-8", "replace"))
    found: Counter[str] = Counter()
    for match in _REQUEST.finditer(text):
        method, path, query = match.groups()
        if path.startswith("/moto-api"):
            continue
        subresource = (query or "").split("&")[0].split("=")[0]
        found[f"{method} {'bucket' if path.strip('/') else '/'}?{subresource}"] += 1
    return found, log.stat().st_size


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and the CPU seconds of the child (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def check_driftwatch(report_path: Path, n: int, declared: int) -> dict[str, int]:
    report = json.loads(report_path.read_text())
    buckets = [r for r in report["resources"] if r["kind"] == "AWS::S3::Bucket"]
    counts = Counter(r["status"] for r in buckets)
    # In-sync resources are counted, not listed, in the JSON report.
    in_sync = report["counts"].get("in_sync", 0)
    assert counts["unmanaged"] == n - declared, counts
    assert counts["modified"] + in_sync == declared, (counts, in_sync)
    assert counts["modified"] == len([i for i in range(declared) if i % 20 == 0]), counts
    return {"in_sync": in_sync, **counts}


def check_c7n(out: Path, n: int) -> int:
    [resources] = list(out.glob("*/resources.json"))
    found = len(json.loads(resources.read_text()))
    assert found == n, f"c7n matched {found} of {n} buckets"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--declared", type=float, default=0.5, help="share declared in Git")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument(
        "--c7n-detect",
        action="store_true",
        help="also run c7n with augment-keys: detect (only the subdocuments the filter needs)",
    )
    args = parser.parse_args()
    n, declared = args.buckets, int(args.buckets * args.declared)
    custodian = c7n_custodian()
    driftwatch = Path(sys.executable).parent / "driftwatch"
    print(
        f"cpus={os.cpu_count()} python={sys.version.split()[0]} driftwatch={__version__}"
        f" c7n={c7n_version()} moto={moto.__version__} boto3={boto3.__version__}"
    )
    with tempfile.TemporaryDirectory(prefix="driftwatch-aws-bench-") as tmp:
        work = Path(tmp)
        log = work / "moto.log"
        server, url = start_moto(log)
        try:
            started = time.perf_counter()
            create_buckets(url, n)
            print(f"created {n} buckets in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            repo = write_repo(work, n, declared)
            env = {
                **os.environ,
                **FAKE,
                "AWS_ENDPOINT_URL": url,
                "DRIFTWATCH_HASH_KEY": "bench-hash-key-0123456789abcdef01234567",
                "HOME": str(work / "home"),  # no ~/.aws, no c7n cache from earlier runs
            }
            env.pop("AWS_PROFILE", None)
            # The same target with the built-in policies off: the work c7n's one-filter
            # policy does (versioning, encryption, tags), so only those are read.
            drift_only = work / "drift-only.yaml"
            drift_only.write_text(
                (repo / "driftwatch.yaml").read_text() + "policies: {builtin: false}\n"
            )
            tools: dict[str, list[str]] = {
                "driftwatch": [],
                "dw-drift": ["--config", str(drift_only)],
                "c7n": [
                    str(custodian),
                    "run",
                    "--cache-period",
                    "0",
                    "--region",
                    REGION,
                    "-s",
                    "OUT",
                    str(c7n_policy(work / "policy.yml", detect=False)),
                ],
            }
            if args.c7n_detect:
                tools["c7n-detect"] = [
                    *tools["c7n"][:-1],
                    str(c7n_policy(work / "policy-detect.yml", detect=True)),
                ]
            walls: dict[str, list[float]] = {tool: [] for tool in tools}
            client_cpu: dict[str, list[float]] = {tool: [] for tool in tools}
            server_cpu: dict[str, list[float]] = {tool: [] for tool in tools}
            calls: dict[str, Counter[str]] = {}
            offset = log.stat().st_size
            for i in range(args.repeat):
                order = list(tools) if i % 2 == 0 else list(reversed(tools))
                for tool in order:
                    run_dir = work / f"{tool}-{i}"
                    run_dir.mkdir()
                    run_env = {**env, "XDG_CACHE_HOME": str(run_dir / "cache")}  # cold
                    if tool in ("driftwatch", "dw-drift"):
                        cmd = [
                            str(driftwatch),
                            "scan",
                            "--repo",
                            str(repo),
                            "--aws-region",
                            REGION,
                            "--format",
                            "json",
                            "-o",
                            str(run_dir / "report.json"),
                            "--fail-on",
                            "none",
                            "--quiet",
                            *tools[tool],
                        ]
                    else:
                        cmd = [str(run_dir) if part == "OUT" else part for part in tools[tool]]
                    _, offset = operations(log, offset)
                    server_before = cpu_seconds(server.pid)
                    wall, cpu = run(cmd, run_env)
                    walls[tool].append(wall)
                    client_cpu[tool].append(cpu)
                    server_cpu[tool].append(cpu_seconds(server.pid) - server_before)
                    time.sleep(0.2)  # let the server flush its log
                    seen, offset = operations(log, offset)
                    calls.setdefault(tool, seen)
                    if tool in ("driftwatch", "dw-drift"):
                        statuses = check_driftwatch(run_dir / "report.json", n, declared)
                    else:
                        check_c7n(run_dir, n)
                    print(f"run {i + 1} {tool}: {walls[tool][-1]:.2f} s", file=sys.stderr)
        finally:
            server.terminate()
            server.wait()

    medians = {tool: statistics.median(w) for tool, w in walls.items()}
    print()
    print(f"N = {n} buckets ({declared} declared in Git), {args.repeat} runs each, medians")
    print(
        f"{'tool':<12} {'median':>8} {'runs':<24} {'calls':>7} {'per bucket':>10}"
        f" {'tool CPU':>9} {'server CPU':>10}"
    )
    for tool, median in medians.items():
        runs = ", ".join(f"{w:.2f}" for w in walls[tool])
        total = sum(calls[tool].values())
        print(
            f"{tool:<12} {median:>7.2f}s {runs:<24} {total:>7} {total / n:>10.2f}"
            f" {statistics.median(client_cpu[tool]):>8.2f}s"
            f" {statistics.median(server_cpu[tool]):>9.2f}s"
        )
    ratio = medians["driftwatch"] / medians["c7n"]
    print(f"ratio driftwatch / c7n = {ratio:.3f} (bar: ≤ 0.5) {'✓' if ratio <= 0.5 else '✗'}")
    drift_ratio = medians["dw-drift"] / medians["c7n"]
    print(
        f"ratio driftwatch, policies off (versioning, encryption, tags) / c7n = {drift_ratio:.3f}"
        f" (bar: ≤ 0.5) {'✓' if drift_ratio <= 0.5 else '✗'}"
    )
    for tool, seen in calls.items():
        print(f"{tool} requests: " + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
    print(
        json.dumps(
            {
                "n": n,
                "declared": declared,
                "repeat": args.repeat,
                "walls": walls,
                "medians": medians,
                "ratio": ratio,
                "ratio_policies_off": drift_ratio,
                "calls_per_bucket": {t: sum(c.values()) / n for t, c in calls.items()},
                "tool_cpu_s": client_cpu,
                "server_cpu_s": server_cpu,
                "driftwatch_statuses": statuses,
            }
        )
    )


if __name__ == "__main__":
    main()
