"""Benchmark: the TUI on a large report — first paint, cursor moves, filter keystrokes, and
bytes written to a real terminal per cursor move.

Bars at N = 10,000: first paint ≤ 1 s after the report is ready, a cursor move ≤ 50 ms, a
filter keystroke ≤ 100 ms; with ``--low-bandwidth`` ≤ 2 KiB written per cursor move.

In-process (Textual's Pilot, 160×48, headless, the report already built): the app's
``_display``, where every compositor frame goes to the driver, is wrapped to timestamp
each frame and encode it as the Linux driver would (256 colours).  First paint is from
constructing the app to the first frame showing the tree's kinds.  An action's latency is
from just before ``pilot.press`` posts the key to the *last* frame rendered before the app
is idle again (``pilot.press`` and ``pilot.pause`` return only after ≥ 40 ms of idle
polling; that wait is not counted, it only decides when the action is over).  Latencies
include Textual's frame pacing (one frame per 1/60 s at most).

Through a pty: ``python -m driftwatch view REPORT.json --[no-]low-bandwidth`` as the child
of ``pty.fork()``, TERM=xterm-256color, the window size set before exec.  Keys walk to the
biggest namespace (group moves) and then down its resources (resource moves); the output
is drained until quiet after each key, which gives bytes per move and an end-to-end
latency (key written → last byte of the burst).  A late frame (a GC pause longer than the
quiet period) is counted in the next move, so ``mean`` (total bytes / moves) is exact
while median and max are per burst.  ``held_key`` sends 20 moves at 30 Hz (key repeat).

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
import re
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
PTY_MOVES = 40  # resource moves per pty run
PTY_SIZES = ((80, 24), (160, 48))
HELD_KEY = (20, 1 / 30)  # moves, seconds between them
FILTER_TEXT = "worker-1"
QUIET = 0.15  # seconds without output that end a burst
BARS = {"first_paint_ms": 1000, "cursor_ms": 50, "filter_ms": 100, "bytes_per_move": 2048}

_SGR = re.compile(rb"\x1b\[[0-9;:]*m")
_CUP = re.compile(rb"\x1b\[(\d+);\d+H")


def stats(values: list[float], scale: float = 1.0, digits: int = 1) -> dict[str, float]:
    """Count, median, p95 (nearest rank), max and mean of ``values`` times ``scale``."""
    if not values:
        return {"n": 0}
    ordered = sorted(v * scale for v in values)
    p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
    return {
        "n": len(ordered),
        "median": round(ordered[len(ordered) // 2], digits),
        "p95": round(p95, digits),
        "max": round(ordered[-1], digits),
        "mean": round(sum(ordered) / len(ordered), digits),
    }


def biggest_path(report: AuditReport) -> tuple[list[Group], Group, Group]:
    """Kinds of the (single) target, and the kind and namespace with most resources."""
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
        display(screen, renderable)  # headless: writes nothing
        if renderable is None:
            return
        if hasattr(renderable, "render_segments"):  # what the Linux driver would write
            renderable.render_segments(console)
        now = time.perf_counter()
        frames.append(now)
        if not populated:
            trees = screen.query(DriftTree)
            if trees and any(n.children for n in trees.first().root.children):
                populated.append(now)

    app._display = timed_display  # type: ignore[method-assign]

    async def timed(pilot: Any, key: str) -> tuple[list[float], float]:
        """(frame times after the key was posted, press+pause wall time), in seconds."""
        before = len(frames)
        t0 = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        wall = time.perf_counter() - t0
        return [f - t0 for f in frames[before:]], wall

    async def series(pilot: Any, keys: list[str], per_key: bool = False) -> dict[str, Any]:
        last, first, walls, nframes, missing = [], [], [], 0, 0
        for key in keys:
            mine, wall = await timed(pilot, key)
            walls.append(wall)
            nframes += len(mine)
            if mine:
                first.append(mine[0])
                last.append(mine[-1])
            else:
                missing += 1
        return {
            "keys": "".join(k if len(k) == 1 else f"<{k}>" for k in keys[:12])
            + ("…" if len(keys) > 12 else ""),
            **stats(last, 1000),
            "first_frame_median": stats(first, 1000).get("median"),
            "frames_per_key": round(nframes / len(keys), 2),
            "keys_without_frame": missing,
            "press_pause_wall_median": stats(walls, 1000).get("median"),
            **({"per_key": [round(v * 1000, 1) for v in last]} if per_key else {}),
        }

    _, big_kind, big_ns = biggest_path(report)
    result: dict[str, Any] = {"bench": "in_process", "size": f"{SIZE[0]}x{SIZE[1]}"}
    async with app.run_test(size=SIZE) as pilot:
        entered = time.perf_counter()
        await pilot.pause()
        await pilot.pause()
        tree = app.query_one(DriftTree)
        result["first_paint_ms"] = {
            "run_test_entered": round((entered - started) * 1000, 1),
            "first_frame": round((frames[0] - started) * 1000, 1) if frames else None,
            "tree_populated_frame": (
                round((populated[0] - started) * 1000, 1) if populated else None
            ),
            "settled": round((frames[-1] - started) * 1000, 1) if frames else None,
            "frames": len(frames),
        }

        def node_of(parent: TreeNode[Any], group: Group) -> TreeNode[Any]:
            return next(
                c
                for c in parent.children
                if isinstance(c.data, Group) and c.data.label == group.label
            )

        # Group rows: the kinds, then the namespaces of the biggest kind (expanded).
        target_node = tree.root.children[0]
        kind_node = node_of(target_node, big_kind)
        kind_node.expand()
        await pilot.pause()
        tree.move_cursor(target_node)
        await pilot.pause()
        result["cursor_groups_ms"] = await series(pilot, ["j"] * MOVES)

        # Resource rows: down the biggest namespace (findings first, then in sync).
        ns_node = node_of(kind_node, big_ns)
        ns_node.expand()
        await pilot.pause()
        tree.move_cursor(ns_node)
        await pilot.pause()
        result["big_namespace"] = f"{big_kind.label}/{big_ns.label} ({len(big_ns.resources)})"
        result["cursor_resources_down_ms"] = await series(pilot, ["down"] * MOVES)
        result["cursor_resources_j_ms"] = await series(pilot, ["j"] * MOVES)

        await pilot.press("slash")
        await pilot.pause()
        result["filter_typing_ms"] = await series(pilot, list(FILTER_TEXT), per_key=True)
        result["filter_backspace_ms"] = await series(pilot, ["backspace"] * len(FILTER_TEXT))
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
    env.update(TERM="xterm-256color", COLORTERM="")
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
    result: dict[str, Any] = {
        "bench": "pty",
        "size": f"{cols}x{rows}",
        "low_bandwidth": low_bandwidth,
    }
    try:
        screen, last = drain(fd, quiet=0.5, first=60, until=b"Deployment")
        if b"Deployment" not in screen:
            raise RuntimeError(f"the app did not draw its tree: {screen[-300:]!r}")
        result["startup_s"] = round(last - started, 2)  # process start → first screen
        result["startup_bytes"] = len(screen)

        bursts: list[tuple[str, bytes, float]] = []  # (kind of move, output, latency)
        for key in [*nav, *["j"] * PTY_MOVES]:
            sent = time.monotonic()
            os.write(fd, key.encode())
            data, last = drain(fd, quiet=QUIET, first=1.0)
            kind = "expand" if key != "j" else "group" if len(bursts) < len(nav) else "resource"
            bursts.append((kind, data, last - sent if last else 0.0))
        moves = [(k, d, lat) for k, d, lat in bursts if k != "expand"]
        sizes = [float(len(d)) for _, d, _ in moves]
        total = b"".join(d for _, d, _ in moves)
        result["bytes_per_move"] = {
            **stats(sizes, digits=0),
            "over_2KiB": sum(s > 2048 for s in sizes),
            "sgr_share": round(sum(map(len, _SGR.findall(total))) / max(1, len(total)), 2),
            "rows_touched_median": sorted(len(set(_CUP.findall(d))) for _, d, _ in moves)[
                len(moves) // 2
            ],
        }
        for kind in ("group", "resource"):
            result[f"{kind}_move_bytes"] = stats(
                [float(len(d)) for k, d, _ in moves if k == kind], digits=0
            )
            result[f"{kind}_move_latency_ms"] = stats(
                [lat for k, _, lat in moves if k == kind], 1000
            )

        # Holding j: key-repeat rate, then one drain.
        count, gap = HELD_KEY
        held = bytearray()
        for _ in range(count):
            os.write(fd, b"j")
            data, _ = drain(fd, quiet=gap, first=gap)
            held += data
        data, _ = drain(fd, quiet=QUIET * 2, first=1.0)
        held += data
        result["held_key_bytes_per_move"] = round(len(held) / count)

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


def verdict(inproc: dict[str, Any], ptys: list[dict[str, Any]]) -> dict[str, Any]:
    cursor = [inproc[k] for k in inproc if k.startswith("cursor_")]
    filt = inproc["filter_typing_ms"]
    low = [p for p in ptys if p["low_bandwidth"]]
    out: dict[str, Any] = {
        "first_paint_ms": inproc["first_paint_ms"]["tree_populated_frame"],
        "cursor_ms_median": max(c["median"] for c in cursor),
        "cursor_ms_p95": max(c["p95"] for c in cursor),
        "filter_ms_median": filt["median"],
        "filter_ms_p95": filt["p95"],
    }
    ok = {
        "first_paint": (out["first_paint_ms"] or 1e9) <= BARS["first_paint_ms"],
        "cursor_median": out["cursor_ms_median"] <= BARS["cursor_ms"],
        "cursor_p95": out["cursor_ms_p95"] <= BARS["cursor_ms"],
        "filter_median": out["filter_ms_median"] <= BARS["filter_ms"],
        "filter_p95": out["filter_ms_p95"] <= BARS["filter_ms"],
    }
    if low:
        out["low_bandwidth_bytes_median"] = max(p["bytes_per_move"]["median"] for p in low)
        out["low_bandwidth_bytes_max"] = max(p["bytes_per_move"]["max"] for p in low)
        ok["bytes_median"] = out["low_bandwidth_bytes_median"] <= BARS["bytes_per_move"]
        ok["bytes_max"] = out["low_bandwidth_bytes_max"] <= BARS["bytes_per_move"]
    return {"bench": "verdict", **out, "bars": BARS, "met": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="resources in the report")
    parser.add_argument("--skip-pty", action="store_true", help="only the in-process timings")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}", flush=True)

    t0 = time.perf_counter()
    report = build_report(args.size)
    built = time.perf_counter() - t0
    data = report.to_json()
    t0 = time.perf_counter()
    AuditReport.from_json(data)
    loaded = time.perf_counter() - t0
    summary = {
        "bench": "report",
        "n": args.size,
        "counts": {s.value: n for s, n in report.counts.items()},
        "json_mb": round(len(data) / 1e6, 1),
        "build_s": round(built, 2),
        "from_json_s": round(loaded, 2),
    }
    print(json.dumps(summary), flush=True)

    inproc = asyncio.run(in_process(report))
    print(json.dumps({"n": args.size, **inproc}), flush=True)

    ptys: list[dict[str, Any]] = []
    if not args.skip_pty:
        nav = navigation(report)
        with tempfile.TemporaryDirectory(prefix="driftwatch-tui-bench-") as tmp:
            path = Path(tmp) / "report.json"
            path.write_bytes(data)
            for cols, rows in PTY_SIZES:
                for low in (True, False):
                    out = pty_run(str(path), cols, rows, low, nav)
                    ptys.append(out)
                    print(json.dumps({"n": args.size, **out}), flush=True)
    print(json.dumps({"n": args.size, **verdict(inproc, ptys)}), flush=True)


if __name__ == "__main__":
    main()
