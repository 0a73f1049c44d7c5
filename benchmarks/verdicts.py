"""Benchmark (issue #11): driftwatch's verdicts on an apiserver-shaped corpus.

Builds the corpus of ``benchmarks/apicorpus.py`` (desired manifests in a Git repo, live
objects with server defaults, managedFields of SSA and CSA appliers, controller-made
objects and ~6 % injected drifts), serves the live side from the test API server in a
separate process, runs ``driftwatch scan --format json`` and scores the report against
the ground truth:

* false drifts: resources reported modified / missing / unmanaged with no drift injected;
* noise: counted change paths on truly drifted resources that the truth does not list;
* recall: injected drifts reported with the right status and every expected path.

Prints Markdown for docs/benchmarks.md.  Usage::

    python benchmarks/verdicts.py [--objects 1500] [--seed 11] [--details] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # this checkout's driftwatch, not the venv's

from apicorpus import Corpus, Key, Truth, build  # noqa: E402

DRIFT = {"modified", "missing", "unmanaged"}


def extra_resources() -> list[Any]:
    """Built-in kinds controllers create that the test API server's catalog lacks."""
    from driftwatch.testing.catalog import custom_resource

    return [
        custom_resource("", "v1", "Endpoints", "endpoints"),
        custom_resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
        custom_resource("apps", "v1", "ControllerRevision", "controllerrevisions"),
        custom_resource("coordination.k8s.io", "v1", "Lease", "leases"),
    ]


def serve(objects: Path, kubeconfig: Path) -> int:
    """``python -m driftwatch.testing serve``, plus the kinds of ``extra_resources``."""
    import signal
    import threading

    from driftwatch.testing.apiserver import TestAPIServer, load_objects

    server = TestAPIServer(load_objects(objects), extra_resources(), record_requests=False)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    url = server.start()
    try:
        server.write_kubeconfig(kubeconfig)
        print(url, flush=True)
        while not done.wait(1.0):
            pass
    finally:
        server.stop()
    return 0


def scan(
    corpus: Corpus, workdir: Path, repeat: int = 3, code: Path = ROOT
) -> tuple[dict[str, Any], float]:
    kubeconfig = workdir / "kubeconfig"
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", str(corpus.objects), str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout
        server.stdout.readline()  # the URL: up and serving
        report = workdir / "report.json"
        env = {
            **os.environ,
            "DRIFTWATCH_HASH_KEY": "bench-hash-key-0123456789abcdef01234567",
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "PYTHONPATH": str(code),  # whose engine scans (the live side is served alike)
        }
        cmd = [sys.executable, "-m", "driftwatch", "scan", "--repo", str(corpus.repo)]
        cmd += ["--kubeconfig", str(kubeconfig), "--format", "json", "--output", str(report)]
        walls = []
        for run in range(repeat):  # the median: single runs vary by ±10 % on a shared machine
            cold = {**env, "XDG_CACHE_HOME": str(workdir / f"cache-{run}")}  # empty: a cold scan
            started = time.perf_counter()
            proc = subprocess.run(
                [*cmd, "--fail-on", "none"], env=cold, cwd=workdir, capture_output=True, text=True
            )
            walls.append(time.perf_counter() - started)
            if proc.returncode != 0:
                raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return json.loads(report.read_text()), sorted(walls)[len(walls) // 2]
    finally:
        server.terminate()
        server.wait()


def _key(resource: dict[str, Any]) -> Key:
    return resource["kind"], resource.get("namespace") or "", resource["name"]


def _shape(path: str) -> str:
    """``containers[name=web].image`` → ``containers[name=*].image``, to group findings."""
    return re.sub(r"=(\"(?:[^\"\\]|\\.)*\"|[^,\]]*)", "=*", path)


def score(report: dict[str, Any], truth: dict[Key, Truth]) -> dict[str, Any]:
    seen: dict[Key, dict[str, Any]] = {_key(r): r for r in report["resources"]}
    false_drifts: list[tuple[Key, str, list[str]]] = []
    noise: list[tuple[Key, str]] = []
    found: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    missed: list[tuple[Key, str, str, list[str]]] = []
    for key, r in seen.items():
        t = truth.get(key)
        counted = sorted(c["path"] for c in r.get("changes", []) if not c.get("ignoredBy"))
        if r["status"] in DRIFT and (t is None or not t.drift):
            false_drifts.append((key, r["status"], counted))
        elif t is not None and t.drift and r["status"] == "modified":
            noise += [(key, p) for p in counted if p not in t.paths]
    for key, t in truth.items():
        if not t.drift:
            continue
        injected[t.drift] += 1
        got = seen.get(key)
        status = got["status"] if got else "absent"
        reported = (
            {c["path"] for c in got.get("changes", []) if not c.get("ignoredBy")} if got else set()
        )
        if status == t.status and t.paths <= reported:
            found[t.drift] += 1
        else:
            missed.append((key, t.drift, status, sorted(reported)))
    return {
        "false_drifts": false_drifts,
        "noise": noise,
        "found": found,
        "injected": injected,
        "missed": missed,
        "in_truth_not_drifted": sum(1 for t in truth.values() if not t.drift),
    }


def markdown(
    corpus: Corpus, report: dict[str, Any], result: dict[str, Any], wall: float, commit: str
) -> str:
    injected, found = result["injected"], result["found"]
    total_inj, total_found = sum(injected.values()), sum(found.values())
    lines = [
        "## Verdicts on an apiserver-shaped corpus (issue #11)",
        "",
        f"`python benchmarks/verdicts.py --objects {corpus.live_count}` on driftwatch {commit}: "
        f"{corpus.live_count} live objects ({corpus.desired_count} desired manifests, SSA / CSA / "
        "pre-1.18 CSA appliers, server defaults, controller-made objects), "
        f"{total_inj} injected drifts. Scan wall time {wall:.2f} s (median of "
        "cold scans).",
        "",
        "| measure | result | bar |",
        "|---|---:|---:|",
        f"| false drifts (reported, none injected) | {len(result['false_drifts'])} | 0 |",
        f"| noise changes on drifted resources | {len(result['noise'])} | 0 |",
        f"| injected drifts found with their paths | {total_found} / {total_inj} ({100 * total_found / max(total_inj, 1):.0f} %) | 100 % |",
        f"| scan wall time | {wall:.2f} s | no regression |",
        "",
        "| injected drift | found / injected |",
        "|---|---:|",
        *(f"| {k} | {found[k]} / {v} |" for k, v in sorted(injected.items())),
        "",
    ]
    by_shape: Counter[str] = Counter()
    for k, status, paths in result["false_drifts"]:
        by_shape.update({f"{k[0]} {_shape(p)}" for p in paths} or {f"{k[0]} ({status})"})
    if by_shape:
        lines += ["| false drift (kind, path) | resources |", "|---|---:|"]
        lines += [f"| {shape} | {n} |" for shape, n in by_shape.most_common(15)]
        lines.append("")
    noise_shapes = Counter(f"{k[0]} {_shape(p)}" for k, p in result["noise"])
    if noise_shapes:
        lines += ["| noise change (kind, path) | count |", "|---|---:|"]
        lines += [f"| {shape} | {n} |" for shape, n in noise_shapes.most_common(10)]
        lines.append("")
    lines.append(
        f"Counts in the report: {json.dumps(report['counts'], sort_keys=True)}; phases (s): {json.dumps(report['scan'].get('phases', {}))}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "serve":
        return serve(Path(args[1]), Path(args[2]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1500, help="live objects, at least")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3, help="cold scans timed (median)")
    parser.add_argument(
        "--details", action="store_true", help="also list every miss and false drift"
    )
    parser.add_argument(
        "--driftwatch",
        metavar="DIR",
        type=Path,
        default=ROOT,
        help="a directory holding the driftwatch package that scans (default: this checkout), "
        "e.g. an older commit's `git archive` to compare",
    )
    parser.add_argument("--keep", metavar="DIR", help="build the corpus here and keep it")
    opts = parser.parse_args(args)
    with tempfile.TemporaryDirectory(prefix="driftwatch-verdicts-") as tmp:
        workdir = Path(opts.keep) if opts.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        corpus = build(opts.objects, workdir, opts.seed)
        report, wall = scan(corpus, workdir, opts.repeat, opts.driftwatch.resolve())
        result = score(report, corpus.truth)
        commit = subprocess.run(
            ["git", "-C", str(opts.driftwatch), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip() or str(opts.driftwatch)
        print(markdown(corpus, report, result, wall, commit))
        if opts.details:
            print("\nmissed:")
            for key, drift, status, paths in result["missed"]:
                print(
                    f"  {'/'.join(key)} [{drift}] reported {status} {paths} expected {sorted(corpus.truth[key].paths)}"
                )
            print("\nfalse drifts:")
            for key, status, paths in result["false_drifts"]:
                print(f"  {'/'.join(key)} {status} {paths}")
            print("\nnoise:")
            for key, path in result["noise"]:
                print(f"  {'/'.join(key)} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
