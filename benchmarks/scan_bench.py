"""Benchmark: `driftwatch scan` against `kubectl get` on the same N objects.

Generates N manifests in a Git repo and matching apiserver-shaped live objects with ~5 %
drift, serves them from the test API server in a separate process, then measures wall
time and peak RSS of a cold scan, a warm rescan (parse cache filled) and
`kubectl get <kinds> -A -o json`.  Usage:

    python benchmarks/scan_bench.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driftwatch.testing.fixtures import record_write, served

KINDS = ("Deployment", "Service", "ConfigMap")


def manifest(kind: str, i: int) -> dict[str, Any]:
    ns, name = f"team-{i % 20:02d}", f"app-{i:05d}"
    labels = {"app": name, "tier": "backend"}
    if kind == "Deployment":
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": f"registry.example.com/{name}:1.{i % 7}.0",
                                "ports": [{"containerPort": 8080, "name": "http"}],
                                "env": [
                                    {"name": "MODE", "value": "prod"},
                                    {"name": "ID", "value": str(i)},
                                ],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "512Mi"},
                                },
                                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                            }
                        ]
                    },
                },
            },
        }
    if kind == "Service":
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "selector": {"app": name},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "data": {"settings.yaml": f"level: info\nshard: {i}\n", "feature": "on"},
    }


def drift(obj: dict[str, Any], i: int) -> dict[str, Any]:
    """~5 % of objects get a hand edit."""
    obj = copy.deepcopy(obj)
    if obj["kind"] == "Deployment":
        obj["spec"]["template"]["spec"]["containers"][0]["image"] += "-hotfix"
        fields = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}}}
    elif obj["kind"] == "Service":
        obj["metadata"]["labels"]["debug"] = "true"
        fields = {"metadata": {"labels": {"debug": "true"}}}
    else:
        obj["data"]["feature"] = "off"
        fields = {"data": {"feature": "off"}}
    return record_write(obj, "kubectl-edit", fields)


def build(n: int, workdir: Path) -> tuple[Path, Path]:
    repo = workdir / "repo"
    repo.mkdir()
    live: list[dict[str, Any]] = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        m = manifest(kind, i)
        path = repo / m["metadata"]["namespace"] / f"{m['metadata']['name']}-{kind.lower()}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(_yaml(m))
        obj = served(m)
        live.append(drift(obj, i) if i % 20 == 0 else obj)
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
    objects = workdir / "live.json"
    objects.write_text(json.dumps(live))
    return repo, objects


def _yaml(obj: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False)


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of a child process."""
    wrapper = [sys.executable, "-c", _RSS_WRAPPER, *cmd]
    started = time.perf_counter()
    proc = subprocess.run(wrapper, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return wall, rss_kb / 1024, int(proc.stdout.strip().splitlines()[-1])


# Runs the command and prints its exit code (stdout) and peak RSS in KiB (stderr),
# so the parent's own memory is not counted.
_RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
"""


REPEAT = 3  # medians of three runs each: single runs vary by ±10 % on this machine


def _median(runs: list[tuple[float, float, int]]) -> tuple[float, float]:
    """Median wall time and the highest peak RSS of repeated runs."""
    walls = sorted(r[0] for r in runs)
    return walls[len(walls) // 2], max(r[1] for r in runs)


def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="driftwatch-bench-") as tmp:
        workdir = Path(tmp)
        repo, objects = build(n, workdir)
        kubeconfig = workdir / "kubeconfig"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "driftwatch.testing",
                "serve",
                "--objects",
                str(objects),
                "--kubeconfig",
                str(kubeconfig),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout
            server.stdout.readline()  # the URL: the server is up
            env = {**os.environ, "DRIFTWATCH_HASH_KEY": "bench-hash-key-0123456789abcdef01234567"}
            scan = [
                "driftwatch",
                "scan",
                "--repo",
                str(repo),
                "--kubeconfig",
                str(kubeconfig),
                "--format",
                "json",
                "--output",
                str(workdir / "r.json"),
                "--fail-on",
                "none",
            ]
            kubectl = [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "get",
                "deployments,services,configmaps",
                "-A",
                "-o",
                "json",
            ]
            runs: dict[str, list[tuple[float, float, int]]] = {
                "kubectl": [],
                "cold": [],
                "warm": [],
            }
            for i in range(REPEAT):
                cache = {**env, "XDG_CACHE_HOME": str(workdir / f"cache-{i}")}  # empty: cold
                runs["kubectl"].append(measured(kubectl, env))
                runs["cold"].append(measured(scan, cache))
                runs["warm"].append(measured(scan, cache))
            assert all(code == 0 for r in runs.values() for _, _, code in r), runs
            k_wall, k_rss = _median(runs["kubectl"])
            cold, cold_rss = _median(runs["cold"])
            warm, warm_rss = _median(runs["warm"])
            report = json.loads((workdir / "r.json").read_text())
            return {
                "n": n,
                "repeat": REPEAT,
                "kubectl_s": k_wall,
                "kubectl_rss_mb": k_rss,
                "cold_s": cold,
                "cold_rss_mb": cold_rss,
                "warm_s": warm,
                "warm_rss_mb": warm_rss,
                "ratio_cold_vs_kubectl": cold / k_wall,
                "ratio_warm_vs_cold": warm / cold,
                "modified": report["counts"]["modified"],
                "phases": report["scan"]["phases"],
            }
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")
    for n in args.sizes:
        result = run(n)
        print(json.dumps(result))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    main()
