"""Benchmark: one file with many documents must parse and load in linear time.

Times, for each size, reading one file of N ConfigMaps: ``parse_stream`` on the yaml-rs
fast path, on the libyaml path (the text has a YAML 1.1 ``yes``), a file whose every
document is skipped with a problem (an int key), and the manifest loader on a Git repo
holding the file with every document missing its name (an error located by
``key_line`` for each) — beside the peer, PyYAML's ``load_all`` with libyaml, which
parses the same file without any check.  Doubling N should about double every time.  Runs with the cycle
collector paused, as ``scan`` and ``check`` do: with it on, its full collections over
the ever more objects kept make any loader of many objects superlinear.  Usage:

    python benchmarks/many_documents.py --sizes 25000 50000 100000
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from driftwatch.config import KubernetesSource
from driftwatch.gitsource import GitSource, open_repo
from driftwatch.providers.kubernetes.manifests import load_manifests
from driftwatch.scan import no_cyclic_gc
from driftwatch.yamldoc import parse_stream

DOC = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: ns\ndata:\n  {key}: {value}\n"


def stream(n: int, key: str = "level", value: str = "info") -> str:
    return "---\n".join(DOC.format(i=i, key=key, value=value) for i in range(n))


def timed(label: str, n: int, run: Callable[[], int]) -> None:
    started = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {n:>7} docs  {elapsed:7.2f} s  {elapsed / n * 1e6:6.1f} µs/doc  ({count})")


def peer(text: str) -> int:
    return sum(1 for _ in yaml.load_all(text, Loader=yaml.CSafeLoader))


def load_repo(text: str) -> int:
    with tempfile.TemporaryDirectory(prefix="driftwatch-bench-") as tmp:
        root = Path(tmp)
        (root / "many.yaml").write_text(text)
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "many"]):
            subprocess.run(
                ["git", "-c", "user.name=b", "-c", "user.email=b@b", *args], cwd=root, check=True
            )
        loaded = load_manifests(GitSource(open_repo(str(root))), KubernetesSource(), None)
        return len(loaded.manifests) + len(loaded.errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000])
    sizes = parser.parse_args().sizes
    with no_cyclic_gc():
        run(sizes)


def run(sizes: list[int]) -> None:
    for n in sizes:
        fast, yaml11, bad = stream(n), stream(n, value="yes"), stream(n, key="1")
        nameless = fast.replace("  name: cm-", "  title: cm-")
        # The peer, in the same run: PyYAML's libyaml loader, which checks nothing.
        timed("peer: yaml.load_all (CSafeLoader)", n, lambda t=yaml11: peer(t))
        timed("parse_stream, yaml-rs", n, lambda t=fast: len(parse_stream(t).documents))
        timed("parse_stream, libyaml", n, lambda t=yaml11: len(parse_stream(t).documents))
        timed("parse_stream, every doc bad", n, lambda t=bad: len(parse_stream(t).problems))
        timed("load_manifests, every doc nameless", n, lambda t=nameless: load_repo(t))


if __name__ == "__main__":
    main()
