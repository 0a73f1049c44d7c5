"""Benchmark: the TUI on a large report — first paint, cursor moves, filter keystrokes, and
bytes written to a real terminal per cursor move.

Bars (N = 10,000): first paint ≤ 1 s after the report is ready, cursor move ≤ 50 ms, filter
keystroke ≤ 100 ms; with ``--low-bandwidth`` ≤ 2 KiB written per cursor move.

In-process (Textual's Pilot, 160×48, headless): the app's ``_display`` — where every
compositor frame goes to the driver — is wrapped to timestamp each frame and encode it
as the Linux driver would (256 colours).  An action's latency is from just before the key
is posted to the last frame rendered before the app is idle again (``pilot.press`` and
``pilot.pause`` return only after ≥ 40 ms of idle polling; that wait is not counted, it
only decides when the action is over).  It includes Textual's frame pacing (≤ 1/60 s).

Through a pty: ``python -m driftwatch view REPORT.json [--low-bandwidth]`` as a child of
``pty.fork()`` with TERM=xterm-256color and the window size set before exec; output is
drained until quiet after each key, which gives bytes per move and an end-to-end latency
(key written → last byte of the burst).  Usage:

    python benchmarks/tui_bench.py [--size 10000] [--skip-pty]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import io
import json
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from make_report import build_report

from driftwatch.report import AuditReport
from driftwatch.tui.model import Group, build_tree, sorted_groups

SIZE = (160, 48)
MOVES = 50  # key presses per in-process series
PTY_MOVES = 40  # measured cursor moves per pty run
PTY_SIZES = ((80, 24), (160, 48))
FILTER_TEXT = "worker-1"
QUIET = 0.12  # seconds without output that end a burst (Textual paces frames at 60 Hz)


def stats(values: list[float], scale: float = 1.0, digits: int = 1) -> dict[str, float]:
    """Median, p95 and max (nearest rank) of ``values`` times ``scale``."""
    if not values:
        return {}
    ordered = sorted(v * scale for v in values)
    p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
    return {
        "n": len(ordered),
        "median": round(ordered[len(ordered) // 2], digits),
        "p95": round(p95, digits),
        "max": round(ordered[-1], digits),
    }


def biggest_path(report: AuditReport) -> tuple[list[Group], Group, Group]:
    """Kinds of the (single) target, the kind and the namespace group with most resources."""
    root = build_tree(report.resources)
    (target,) = sorted_groups(root)
    kinds = sorted_groups(target)
    kind, ns = max(
        ((k, n) for k in kinds for n in sorted_groups(k)), key=lambda kn: len(kn[1].resources)
    )
    return kinds, kind, ns


# -- in-process ---------------------------------------------------------------------------


async def in_process(report: AuditReport) -> dict[str, Any]:
    from rich.console import Console
    from textual.widgets.tree import TreeNode

    from driftwatch.tui.app import DriftwatchApp, TuiOptions
    from driftwatch.tui.widgets.drift_tree import DriftTree

    frames: list[float] = []
    populated: list[float] = []  # frames drawn once the kinds are in the tree
    console = Console(
        color_system="256", force_terminal=True, file=io.StringIO(), legacy_windows=False
    )

    started = time.perf_counter()
    app = DriftwatchApp(report=report, options=TuiOptions())
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is None:
            return
        if hasattr(renderable, "render_segments"):  # what the driver would write
            renderable.render_segments(console)
        now = time.perf_counter()
        frames.append(now)
        if not populated:
            trees = screen.query(DriftTree)
            if trees and any(n.children for n in trees.first().root.children):
                populated.append(now)

    app._display = timed_display  # type: ignore[method-assign]

    async def timed(pilot: Any, key: str) -> tuple[float | None, float, int]:
        """(key posted → last frame before idle, press+pause wall time, frames) in seconds."""
        before = len(frames)
        t0 = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        wall = time.perf_counter() - t0
        mine = frames[before:]
        return (mine[-1] - t0 if mine else None), wall, len(mine)

    async def series(pilot: Any, key: str, n: int) -> dict[str, Any]:
        lat, walls, nframes, missing = [], [], 0, 0
        for _ in range(n):
            latency, wall, count = await timed(pilot, key)
            walls.append(wall)
            nframes += count
            if latency is None:
                missing += 1
            else:
                lat.append(latency)
        out = {"key": key, **stats(lat, 1000), "wall_median_ms": stats(walls, 1000)["median"]}
        out["frames_per_key"] = round(nframes / n, 2)
        if missing:
            out["keys_without_frame"] = missing
        return out

    kinds, big_kind, big_ns = biggest_path(report)
    result: dict[str, Any] = {"size": f"{SIZE[0]}x{SIZE[1]}"}
    async with app.run_test(size=SIZE) as pilot:
        entered = time.perf_counter()
        await pilot.pause()
        await pilot.pause()
        tree = app.query_one(DriftTree)
        result["first_paint"] = {
            "run_test_entered_ms": round((entered - started) * 1000, 1),
            "first_frame_ms": round((frames[0] - started) * 1000, 1) if frames else None,
            "tree_populated_frame_ms": (
                round((populated[0] - started) * 1000, 1) if populated else None
            ),
            "settled_ms": round((frames[-1] - started) * 1000, 1),
            "frames": len(frames),
            "tree_lines": tree.last_line + 1,
        }

        def node_of(parent: TreeNode[Any], group: Group) -> TreeNode[Any]:
            return next(
                c for c in parent.children if isinstance(c.data, Group) and c.data.label == group.label
            )

        target_node = tree.root.children[0]
        kind_node = node_of(target_node, big_kind)
        kind_node.expand()
        await pilot.pause()
        tree.move_cursor(target_node)
        await pilot.pause()
        result["cursor_groups"] = await series(pilot, "j", MOVES)  # kinds, then namespaces

        ns_node = node_of(kind_node, big_ns)
        ns_node.expand()
        await pilot.pause()
        tree.move_cursor(ns_node)
        await pilot.pause()
        result["big_namespace"] = f"{big_kind.label}/{big_ns.label} ({len(big_ns.resources)})"
        result["cursor_resources_down"] = await series(pilot, "down", MOVES)
        result["cursor_resources_j"] = await series(pilot, "j", MOVES)

        await pilot.press("slash")
        await pilot.pause()
        typed = []
        for char in FILTER_TEXT:
            latency, _, count = await timed(pilot, char)
            typed.append((char, latency, count))
        erased = []
        for _ in FILTER_TEXT:
            latency, _, count = await timed(pilot, "backspace")
            erased.append(latency)
        result["filter_typing"] = {
            "text": FILTER_TEXT,
            **stats([lat for _, lat, _ in typed if lat is not None], 1000),
            "per_key_ms": [round(lat * 1000, 1) if lat else None for _, lat, _ in typed],
        }
        result["filter_backspace"] = stats([e for e in erased if e is not None], 1000)
        await pilot.press("escape")
    return result


# -- through a pty ------------------------------------------------------------------------


def drain(fd: int, quiet: float, first: float, until: bytes = b"") -> tuple[bytes, float]:
    """Read until ``quiet`` seconds pass without output once ``until`` was seen; give up
    after ``first`` seconds without any output, or 60 s in all.

    Returns the bytes and the time of the last read (0.0 if nothing came)."""
    data = bytearray()
    start = time.monotonic()
    last = 0.0
    while True:
        now = time.monotonic()
        if last and until in data:
            wait = last + quiet - now
        elif last:
            wait = start + 60 - now
        else:
            wait = start + first - now
        if wait <= 0:
            break
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
        last = time.monotonic()
    return bytes(data), last


def pty_run(
    report_path: str, cols: int, rows: int, low_bandwidth: bool, nav: list[str]
) -> dict[str, Any]:
    """Open the app in a pty, walk ``nav`` (group moves), then PTY_MOVES resource moves."""
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_CONNECTION", "COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", COLORTERM="", TEXTUAL_FPS="60")
    argv = [sys.executable, "-m", "driftwatch", "view", report_path]
    argv.append("--low-bandwidth" if low_bandwidth else "--no-low-bandwidth")
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # child: size the terminal before the app reads it
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    result: dict[str, Any] = {"size": f"{cols}x{rows}", "low_bandwidth": low_bandwidth}
    try:
        first, last = drain(fd, quiet=0.5, first=60, until=b"Deployment")
        if b"Deployment" not in first:
            raise RuntimeError(f"the app did not draw its tree: {first[-500:]!r}")
        result["startup_s"] = round(last - started, 2)
        result["startup_bytes"] = len(first)

        def move(key: bytes) -> tuple[int, float]:
            sent = time.monotonic()
            os.write(fd, key)
            data, last = drain(fd, quiet=QUIET, first=1.0)
            return len(data), (last - sent if last else 0.0)

        group_bytes, group_lat = [], []
        for key in nav:
            n, lat = move(key.encode())
            if key == "j":
                group_bytes.append(n)
                group_lat.append(lat)
        res_bytes, res_lat = [], []
        for _ in range(PTY_MOVES):
            n, lat = move(b"j")
            res_bytes.append(n)
            res_lat.append(lat)
        result["group_move_bytes"] = stats([float(b) for b in group_bytes], digits=0)
        result["resource_move_bytes"] = stats([float(b) for b in res_bytes], digits=0)
        result["resource_move_latency_ms"] = stats(res_lat, 1000)
        result["group_move_latency_ms"] = stats(group_lat, 1000)
        all_bytes = group_bytes + res_bytes
        result["bytes_per_move"] = {
            "median": sorted(all_bytes)[len(all_bytes) // 2],
            "max": max(all_bytes),
            "over_2KiB": sum(b > 2048 for b in all_bytes),
            "moves": len(all_bytes),
        }
        os.write(fd, b"q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            drain(fd, quiet=0.05, first=0.2)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                result["exit"] = os.waitstatus_to_exitcode(status)
                break
    finally:
        if "exit" not in result:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            result["exit"] = "killed"
        os.close(fd)
    return result


def navigation(report: AuditReport) -> list[str]:
    """Keys from the first row to the first resource of the biggest namespace."""
    kinds, big_kind, big_ns = biggest_path(report)
    namespaces = sorted_groups(big_kind)
    return [
        *["j"] * (kinds.index(big_kind) + 1),
        " ",
        *["j"] * (namespaces.index(big_ns) + 1),
        " ",
    ]


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="resources in the report")
    parser.add_argument("--skip-pty", action="store_true", help="only the in-process timings")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")

    t0 = time.perf_counter()
    report = build_report(args.size)
    built = time.perf_counter() - t0
    data = report.to_json()
    t0 = time.perf_counter()
    AuditReport.from_json(data)
    loaded = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "n": args.size,
                "counts": {s.value: n for s, n in report.counts.items()},
                "report_mb": round(len(data) / 1e6, 1),
                "build_s": round(built, 2),
                "from_json_s": round(loaded, 2),
            }
        )
    )

    result = asyncio.run(in_process(report))
    result["n"] = args.size
    print(json.dumps(result))

    if args.skip_pty:
        return
    nav = navigation(report)
    with tempfile.TemporaryDirectory(prefix="driftwatch-tui-bench-") as tmp:
        path = Path(tmp) / "report.json"
        path.write_bytes(data)
        for cols, rows in PTY_SIZES:
            for low in (True, False):
                out = pty_run(str(path), cols, rows, low, nav)
                out["n"] = args.size
                print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
