"""Benchmark (issue #12, first increment): driftwatch beside kubectl and Checkov on the
apiserver-shaped platform corpus of ``benchmarks/apicorpus.py``.

The corpus (desired manifests in a Git repo; live objects with SSA and client-side-apply
managers, server defaults, controller-made objects, HPA-scaled replicas and injected
drift) is served from the test API server in a separate process.  Each repeat runs, in
alternating order:

* ``kubectl get <the kinds Git declares> -A -o json`` (the peer for the live read);
* ``driftwatch scan`` cold (an empty cache) and warm (a rescan with that cache);
* ``driftwatch check`` cold and warm (Git only, the built-in policies);
* Checkov (``checkov -d REPO --framework kubernetes``, its own virtualenv
  ``benchmarks/.checkov-venv``, created on first use) — the peer for ``check``; it runs
  once (it takes minutes), or every repeat with ``--checkov-repeat``.

Wall time and peak RSS come from ``/usr/bin/time``-style ``wait4`` accounting of each
child.  Prints Markdown with medians and the ratios issue #12 sets bars on.  Usage::

    python benchmarks/platform_bench.py [--objects 10000] [--repeat 3] [--no-checkov]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE)]

from apicorpus import build  # noqa: E402

CHECKOV_VENV = HERE / ".checkov-venv"
KEY = "bench-hash-key-0123456789abcdef01234567"


def checkov() -> Path:
    """``checkov`` of the benchmark's own virtualenv, created on first use."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", "checkov"], check=True)
    return binary


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one child process."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty child never blocks
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        failed = code not in (0, 1, 2) or (code == 1 and "checkov" not in cmd[0])
        if failed:
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            raise SystemExit(f"{' '.join(cmd[:3])} failed ({code}): {text[-2000:]}")
    return wall, usage.ru_maxrss / 1024, code


def kinds_in_git(repo: Path) -> list[str]:
    """``plural.group`` of every kind the corpus declares, for kubectl."""
    import yaml

    from driftwatch.testing.catalog import BUILTIN_RESOURCES

    plural = {(rt.group, rt.kind): rt.plural for rt in BUILTIN_RESOURCES}
    seen: set[str] = set()
    for path in repo.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or "kind" not in doc:
                continue
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            name = plural.get((group, doc["kind"]))
            if name:
                seen.add(f"{name}.{group}" if group else name)
    return sorted(seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000, help="live objects, at least")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--checkov-repeat", action="store_true", help="Checkov every repeat")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="driftwatch-platform-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        corpus = build(opts.objects, work, opts.seed)
        print(
            f"corpus: {corpus.live_count} live objects, {corpus.desired_count} manifests"
            f" ({time.perf_counter() - started:.1f} s to build)",
            file=sys.stderr,
        )
        kubeconfig = work / "kubeconfig"
        server = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "verdicts.py"),
                "serve",
                str(corpus.objects),
                str(kubeconfig),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout
            server.stdout.readline()
            env = {
                **os.environ,
                "DRIFTWATCH_HASH_KEY": KEY,
                "XDG_CONFIG_HOME": str(work / "config"),
                "PYTHONPATH": str(ROOT),
                "HOME": str(work / "home"),
            }
            kinds = kinds_in_git(corpus.repo)
            dw = [sys.executable, "-m", "driftwatch"]
            repo = str(corpus.repo)
            scan = [*dw, "scan", "--repo", repo, "--kubeconfig", str(kubeconfig)]
            scan += ["--format", "json", "--output", str(work / "scan.json"), "--fail-on", "none"]
            check = [*dw, "check", "--repo", repo, "--format", "json"]
            check += ["--output", str(work / "check.json"), "--fail-on", "none"]
            tools: dict[str, list[str]] = {
                "kubectl": [
                    "kubectl",
                    "--kubeconfig",
                    str(kubeconfig),
                    "get",
                    ",".join(kinds),
                    "-A",
                    "-o",
                    "json",
                ],
                "scan": scan,
                "check": check,
            }
            runs: dict[str, list[tuple[float, float]]] = {
                t: []
                for t in (
                    "kubectl",
                    "scan cold",
                    "scan warm",
                    "check cold",
                    "check warm",
                    "checkov",
                )
            }
            for i in range(opts.repeat):
                order = list(tools) if i % 2 == 0 else list(reversed(tools))
                for tool in order:
                    cache = {"XDG_CACHE_HOME": str(work / f"cache-{tool}-{i}")}
                    run_env = {**env, **cache}
                    if tool == "kubectl":
                        wall, rss, _ = timed(tools[tool], run_env, work)
                        runs["kubectl"].append((wall, rss))
                        continue
                    for phase in ("cold", "warm"):
                        wall, rss, _ = timed(tools[tool], run_env, work)
                        runs[f"{tool} {phase}"].append((wall, rss))
                if not opts.no_checkov and (i == 0 or opts.checkov_repeat):
                    cmd = [
                        str(checkov()),
                        "-d",
                        repo,
                        "--framework",
                        "kubernetes",
                        "--quiet",
                        "--compact",
                    ]
                    wall, rss, _ = timed(cmd, {**env, "HOME": str(work / "checkov-home")}, work)
                    runs["checkov"].append((wall, rss))
        finally:
            server.terminate()
            server.wait()
        report = json.loads((work / "scan.json").read_text())
        counts = Counter(r["status"] for r in report["resources"])
        violations = sum(len(r.get("violations", [])) for r in report["resources"])
    med = {
        t: (statistics.median(w for w, _ in r), max(m for _, m in r)) for t, r in runs.items() if r
    }
    print(
        f"`python benchmarks/platform_bench.py --objects {opts.objects}`: {corpus.live_count} live"
        f" objects, {corpus.desired_count} manifests, {len(kinds)} kinds in Git; report"
        f" {dict(sorted(counts.items()))}, {violations} violations; median of {opts.repeat}"
        f" (Checkov: {len(runs['checkov'])} run(s)), on {os.cpu_count()} cores.\n"
    )
    print("| tool | wall | peak RSS |\n|---|---:|---:|")
    for tool, (wall, rss) in med.items():
        print(f"| {tool} | {wall:.2f} s | {rss:.0f} MB |")
    kubectl, cold, warm = med["kubectl"][0], med["scan cold"][0], med["scan warm"][0]
    print(
        f"\nscan cold / kubectl = {cold / kubectl:.2f} (bar ≤ 0.75); warm / cold = {warm / cold:.2f} (bar ≤ 0.3);"
    )
    print(f"scan cold peak RSS = {med['scan cold'][1]:.0f} MB (bar ≤ 400 MB)")
    if "checkov" in med:
        c_wall, c_rss = med["checkov"]
        print(
            f"check cold / Checkov = {med['check cold'][0] / c_wall:.3f} (bar ≤ 0.02);"
            f" check RSS / Checkov's = {med['check cold'][1] / c_rss:.2f} (bar ≤ 0.15);"
            f" check warm / cold = {med['check warm'][0] / med['check cold'][0]:.2f} (bar ≤ 0.3)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
