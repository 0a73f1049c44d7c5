"""The real app in a real pseudo-terminal: colour support and a clean exit."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.tui.conftest import make_report


def run_in_pty(
    args: list[str], env: dict[str, str], keys: list[bytes], size: tuple[int, int] = (80, 24)
) -> bytes:
    """Output of ``args`` in an 80×24 pty after the screen settles and ``keys`` are typed."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(args[0], args, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    output = bytearray()

    def drain(quiet: float, limit: float) -> None:
        deadline, last = time.monotonic() + limit, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                output.extend(chunk)
                last = time.monotonic()

    try:
        drain(quiet=1.0, limit=20)
        for key in keys:
            os.write(fd, key)
            drain(quiet=0.3, limit=5)
        os.write(fd, b"q")
        drain(quiet=0.5, limit=5)
    finally:
        for _ in range(50):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return bytes(output)


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_bytes(make_report().to_json())
    return path


def base_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "COLORTERM", "TEXTUAL", "FORCE_COLOR")
    }
    return {**env, "TERM": "xterm-256color", **extra}


TRUECOLOUR = re.compile(rb"\x1b\[[0-9;]*[34]8;2;")
PALETTE_256 = re.compile(rb"\x1b\[[0-9;]*[34]8;5;")


def view(report_file: Path) -> list[str]:
    return [sys.executable, "-m", "driftwatch", "view", str(report_file), "--low-bandwidth"]


GREYS = {0, 7, 8, 15, 16, 231, *range(232, 256)}


def test_no_color_is_honoured(report_file: Path) -> None:
    """NO_COLOR: no hue anywhere (Textual renders in greys); glyphs carry the status."""
    out = run_in_pty(view(report_file), base_env(NO_COLOR="1"), [b"j"])
    assert b"driftwatch" in out
    assert not TRUECOLOUR.search(out)
    used = {int(n) for n in re.findall(rb"[34]8;5;(\d+)", out)}
    assert used and used <= GREYS
    coloured = run_in_pty(view(report_file), base_env(), [b"j"])
    assert {int(n) for n in re.findall(rb"[34]8;5;(\d+)", coloured)} - GREYS


def test_256_and_truecolor_terminals(report_file: Path) -> None:
    out256 = run_in_pty(view(report_file), base_env(), [b"j"])
    assert PALETTE_256.search(out256) and not TRUECOLOUR.search(out256)
    truecolor = run_in_pty(view(report_file), base_env(COLORTERM="truecolor"), [b"j"])
    assert TRUECOLOUR.search(truecolor)
