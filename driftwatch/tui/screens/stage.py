"""Staging reconcile actions, lazygit-style: choose an action, review the diff, commit.

Every string from Git or the cluster is shown as ``Text`` (never markup).  The commit runs
in a worker thread; its result shows the branch, the sha and the git commands run.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from driftwatch.reconcile.actions import Details, Plan
from driftwatch.reconcile.commit import Committed
from driftwatch.reconcile.workflow import Reconciler, Step, default_expiry
from driftwatch.textsafe import printable, printable_lines
from driftwatch.tui.yamldiff import colour_diff


class ActionMenu(ModalScreen[Step | None]):
    """The actions for one resource; enter picks, esc cancels."""

    BINDINGS = [Binding("escape,q", "dismiss(None)", "Cancel", id="stage.cancel")]

    def __init__(self, title: str, steps: list[Step]) -> None:
        super().__init__()
        self.title_text = title
        self.steps = steps

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(printable(self.title_text), style="bold"))
            yield OptionList(
                *(Option(Text(printable(s.label)), id=str(i)) for i, s in enumerate(self.steps)),
                id="action-menu",
            )
            yield Static(Text("enter stages · esc cancels", style="dim"))

    @on(OptionList.OptionSelected, "#action-menu")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.steps[int(event.option_id or 0)])


class DetailsForm(ModalScreen[Details | None]):
    """Reason (and for waivers owner, ticket and expiry) before staging ignore or waive."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="details.cancel")]

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(f"{self.action}: why?", style="bold"))
            yield Input(placeholder="reason (required)", id="reason")
            if self.action == "waive":
                yield Input(placeholder="owner (required), e.g. team-shop", id="owner")
                yield Input(placeholder="ticket (optional)", id="ticket")
                yield Input(
                    value=default_expiry().isoformat(),
                    placeholder="expires YYYY-MM-DD",
                    id="expires",
                )
            yield Static(
                Text("enter on the last field stages · esc cancels", style="dim"), id="form-help"
            )

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            self.focus_next()
            return
        values = {i.id: i.value.strip() for i in inputs}
        problem = "" if values.get("reason") else "a reason is required"
        expires: date | None = None
        if self.action == "waive" and not problem:
            if not values.get("owner"):
                problem = "an owner is required"
            try:
                expires = date.fromisoformat(values.get("expires", ""))
            except ValueError:
                problem = problem or "expires must be a date, YYYY-MM-DD"
        if problem:
            self.query_one("#form-help", Static).update(Text(problem, style="bold red"))
            return
        self.dismiss(
            Details(
                values["reason"] or "",
                values.get("owner") or "",
                values.get("ticket") or "",
                expires,
            )
        )


class DiffScreen(ModalScreen[None]):
    """``d``: the exact diff the commit will make."""

    BINDINGS = [Binding("escape,q,d", "dismiss", "Close", id="diff.close")]

    def __init__(self, edits: Plan, diff: str) -> None:
        super().__init__()
        self.edits = edits
        self.diff = diff

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            summary = Text("The commit will:\n", style="bold")
            for line in self.edits.done:
                summary.append(f"  • {printable(line)}\n", style="")
            yield Static(summary)
            yield Static(colour_diff(printable_lines(self.diff)), id="diff")
            yield Static(Text("esc closes · c commits from the main view", style="dim"))


class CommitScreen(ModalScreen[Committed | None]):
    """``c``: edit the message and branch, then commit (ctrl+s)."""

    BINDINGS = [
        Binding("ctrl+s", "commit", "Commit", id="commit.confirm"),
        Binding("escape", "close", "Close", id="commit.cancel"),
    ]

    def __init__(self, reconciler: Reconciler, edits: Plan) -> None:
        super().__init__()
        self.reconciler = reconciler
        self.edits = edits
        self.committed: Committed | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text("Commit on a new branch (your checkout is not touched)", style="bold"))
            yield Input(value=self.reconciler.branch(self.edits), id="branch")
            yield TextArea(self.reconciler.message(self.edits), id="message", soft_wrap=True)
            yield Static(Text("ctrl+s commits · esc cancels", style="dim"), id="commit-status")

    def on_mount(self) -> None:
        self.query_one("#message", TextArea).focus()

    def action_commit(self) -> None:
        if self.committed is not None:
            self.dismiss(self.committed)
            return
        self.query_one("#commit-status", Static).update(Text("committing…", style="dim"))
        self._commit(
            self.query_one("#branch", Input).value.strip(),
            self.query_one("#message", TextArea).text,
        )

    @work(thread=True, exclusive=True, group="commit", exit_on_error=False)
    def _commit(self, branch: str, message: str) -> Committed:
        text = message if message.endswith("\n") else message + "\n"
        return self.reconciler.commit(self.edits, branch or None, text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "commit":
            return
        status = self.query_one("#commit-status", Static)
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, Committed):
            self.committed = done = event.worker.result
            text = Text(
                f"committed {done.sha[:12]} on {printable(done.branch)}\n", style="bold green"
            )
            for command in done.commands:
                text.append(f"$ {printable(command)}\n", style="dim")
            text.append("ctrl+s or esc closes", style="dim")
            status.update(text)
            self.query_one("#message", TextArea).read_only = True
            self.query_one("#branch", Input).disabled = True
        elif event.state is WorkerState.ERROR:
            status.update(Text(printable(f"not committed: {event.worker.error}"), style="bold red"))

    def action_close(self) -> None:
        self.dismiss(self.committed)
