"""Desired-vs-live YAML diffs as Rich ``Text``: unified, or side by side on wide screens.

Every line is built with ``Text.append`` from escaped strings, so values from Git or a
cluster are never read as markup or escape sequences.  Secrets are already masked in
the report's objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import yaml
from rich.text import Text

from driftwatch.textsafe import printable_lines

ADDED, REMOVED, CONTEXT = "green", "red", ""


def to_yaml(obj: dict[str, Any] | None) -> list[str]:
    if not obj:
        return []
    # libyaml's emitter: several times faster than the pure-Python one, on every move.
    text = yaml.dump(
        obj,
        Dumper=yaml.CSafeDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
    )
    return printable_lines(text)


def unified(
    desired: dict[str, Any] | None, live: dict[str, Any] | None, full: bool = False
) -> Text:
    """``-`` desired / ``+`` live lines; ``full`` shows every line, else 3 lines of context."""
    a, b = to_yaml(desired), to_yaml(live)
    out = Text(no_wrap=False)
    context = max(len(a), len(b)) if full else 3
    lines = list(difflib.unified_diff(a, b, "desired (Git)", "live", n=context, lineterm=""))
    if not lines:
        out.append("no differences in the YAML\n", style="dim")
        for line in a if full else []:
            out.append(f"  {line}\n")
        return out
    out.append_text(colour_diff(lines))
    return out


def colour_diff(lines: Iterable[str]) -> Text:
    """Unified-diff lines (without line ends) coloured; the lines are data, never markup."""
    out = Text(no_wrap=False)
    for line in lines:
        if line.startswith(("---", "+++")):
            out.append(line + "\n", style="bold")
        elif line.startswith("@@"):
            out.append(line + "\n", style="cyan")
        elif line.startswith("-"):
            out.append(line + "\n", style=REMOVED)
        elif line.startswith("+"):
            out.append(line + "\n", style=ADDED)
        else:
            out.append(line + "\n", style=CONTEXT)
    return out


def side_by_side(
    desired: dict[str, Any] | None, live: dict[str, Any] | None, width: int, full: bool = False
) -> Text:
    """Two columns, desired left and live right, changed lines highlighted."""
    a, b = to_yaml(desired), to_yaml(live)
    col = max(20, (width - 3) // 2)
    out = Text(no_wrap=True)
    out.append(f"{'desired (Git)':<{col}} │ live\n", style="bold")
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows = list(zip(a[i1:i2], b[j1:j2], strict=True))
            if not full and len(rows) > 6:
                rows = [*rows[:3], ("…", "…"), *rows[-3:]]
            for left, right in rows:
                _row(out, left, right, col, CONTEXT, CONTEXT)
            continue
        left_lines, right_lines = a[i1:i2], b[j1:j2]
        for k in range(max(len(left_lines), len(right_lines))):
            left = left_lines[k] if k < len(left_lines) else ""
            right = right_lines[k] if k < len(right_lines) else ""
            _row(out, left, right, col, REMOVED if left else CONTEXT, ADDED if right else CONTEXT)
    return out


def _clip(line: str, col: int) -> str:
    """Fit a line in a column keeping its key and its end, where values differ."""
    if len(line) <= col:
        return line
    head = min(len(line) - len(line.lstrip()) + line.lstrip().find(": ") + 2, col // 3)
    head = max(head, 0)
    return line[:head] + "…" + line[len(line) - (col - head - 1) :]


def _row(out: Text, left: str, right: str, col: int, left_style: str, right_style: str) -> None:
    out.append(f"{_clip(left, col):<{col}}", style=left_style)
    out.append(" │ ", style="dim")
    out.append(_clip(right, col) + "\n", style=right_style)
