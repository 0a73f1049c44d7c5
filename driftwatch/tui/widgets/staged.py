"""The Staged panel: the actions the next commit will make, one line each."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from driftwatch.reconcile.workflow import Step
from driftwatch.textsafe import printable


def staged_text(steps: list[Step]) -> Text:
    text = Text(f"Staged ({len(steps)})", style="bold")
    text.append("  d diff · c commit · space on a staged resource unstages\n", style="dim")
    for step in steps:
        target = ", ".join(s.rsplit("/", 1)[-1] for s in step.selection)
        text.append(f"  {step.action:<7}", style="cyan")
        text.append(printable(f"{target}  {step.label}") + "\n")
    text.rstrip()
    return text


class StagedPanel(Static):
    """Hidden while nothing is staged."""

    def show_steps(self, steps: list[Step]) -> None:
        self.display = bool(steps)
        self.update(staged_text(steps))
