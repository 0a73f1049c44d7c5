"""The driftwatch TUI: a drift tree on the left, the selected resource on the right.

It shows an :class:`AuditReport`, either given (``driftwatch view``) or produced by a
scan function run in a worker thread (``driftwatch`` / ``tui`` / ``demo``), so the UI
never blocks.  Periodic refresh re-arms a one-shot timer after each scan ends, so slow
clusters never pile scans up.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, Tree
from textual.worker import Worker, WorkerState

from driftwatch.config import ConfigError, TuiConfig
from driftwatch.export.text import TARGET_GLYPHS, coverage_percent, total_coverage
from driftwatch.gitsource import GitSourceError
from driftwatch.reconcile.actions import Details, Plan, ReconcileError, refers_to
from driftwatch.reconcile.commit import CommitError, Committed
from driftwatch.reconcile.workflow import Reconciler, Step, choices
from driftwatch.report import AuditReport, Resource, Status
from driftwatch.textsafe import internal_error, printable
from driftwatch.tui.commands import DriftCommands
from driftwatch.tui.model import GLYPHS, QUICK_FILTERS, Filter, Group, build_tree
from driftwatch.tui.screens.help import HelpScreen
from driftwatch.tui.screens.stage import ActionMenu, CommitScreen, DetailsForm, DiffScreen
from driftwatch.tui.widgets.detail import Detail
from driftwatch.tui.widgets.drift_tree import STATUS_STYLES, DriftTree
from driftwatch.tui.widgets.staged import StagedPanel

Progress = Callable[[str], None]
Partial = Callable[[AuditReport], None]
# Runs one scan, reporting progress lines and the report so far after each target.
ScanFunction = Callable[[Progress, Partial], AuditReport]

NARROW_WIDTH = 120  # below this the panes stack
DETAIL_DELAY = 0.25  # low-bandwidth mode: seconds the cursor rests before the detail is drawn
MIN_SIZE = (60, 20)  # below this only a notice is shown


@dataclass
class TuiOptions:
    refresh: float | None = None  # seconds between the end of a scan and the next
    low_bandwidth: bool = False
    theme: str = "dark"
    mouse: bool = True
    config: TuiConfig = field(default_factory=TuiConfig)
    read_only: bool = False  # no staging or commits (k9s's --readonly)
    debug: bool = False  # Textual's traceback for an internal error, instead of one line


def low_bandwidth_default(environ: dict[str, str] | None = None) -> bool:
    """On by default over SSH, where every repainted cell crosses a slow link."""
    return bool((environ if environ is not None else os.environ).get("SSH_CONNECTION"))


class InternalError(Exception):
    """An unexpected error, as Textual shows it on exit: the CLI's one line, no traceback
    (Textual's would print local variables, which may hold anything)."""

    def __rich__(self) -> Text:
        return Text(str(self), no_wrap=True, overflow="ignore")  # one line at any width


class DriftwatchApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "driftwatch"
    COMMANDS = App.COMMANDS | {DriftCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
        Binding("1", "quick_filter(0)", "All", show=False, id="filter.all"),
        Binding("2", "quick_filter(1)", "Modified", show=False, id="filter.modified"),
        Binding("3", "quick_filter(2)", "Missing", show=False, id="filter.missing"),
        Binding("4", "quick_filter(3)", "Unmanaged", show=False, id="filter.unmanaged"),
        Binding("5", "quick_filter(4)", "Ignored", show=False, id="filter.ignored"),
        Binding("6", "quick_filter(5)", "Not checked", show=False, id="filter.not_checked"),
        Binding("y", "toggle_yaml", "Full YAML", id="toggle_yaml"),
        Binding("e", "toggle_why", "Why", show=False, id="toggle_why"),
        Binding("w", "toggle_wrap", "Wrap", show=False, id="toggle_wrap"),
        Binding("d", "diff", "Diff", id="stage.diff"),
        Binding("c", "commit", "Commit", id="stage.commit"),
        Binding("C", "copy_id", "Copy id", show=False, id="copy_id"),
        Binding("r", "rescan", "Rescan", id="rescan"),
        Binding("colon,ctrl+p", "command_palette", "Commands", id="command_palette"),
    ]

    def __init__(
        self,
        *,
        report: AuditReport | None = None,
        scan: ScanFunction | None = None,
        options: TuiOptions | None = None,
    ) -> None:
        self.options = options or TuiOptions()
        if self.options.low_bandwidth:
            os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
        super().__init__()
        if self.options.low_bandwidth:
            self.animation_level = "none"
        self.report = report
        self.scan_function = scan
        self.filter = Filter()
        self.staged: list[Step] = []
        self._reconciler: Reconciler | None = None
        self.scanning = False
        self._detail_timer: Timer | None = None
        self.theme = "textual-light" if self.options.theme == "light" else "textual-dark"
        if self.options.config.keys:
            self.set_keymap(self.options.config.keys)
        self.error_console.soft_wrap = True  # an internal error's line, not cut at the width

    def _handle_exception(self, error: Exception) -> None:
        """Textual's hook for an unhandled error (the app then exits): one line unless
        ``--debug``, as in the CLI."""
        if not self.options.debug and not isinstance(error, InternalError):
            wrapped = InternalError(internal_error(error))
            wrapped.__cause__ = error
            error = wrapped
        super()._handle_exception(error)

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("driftwatch", style="bold"), id="header")
        with Horizontal(id="panes"):
            yield DriftTree(id="tree")
            yield Detail(id="detail")
        yield StagedPanel(id="staged")
        yield Static(Text(""), id="status-line")
        yield Input(
            placeholder="filter: text or glob over name, kind, namespace; ! inverts",
            id="filter",
            select_on_focus=False,
        )
        yield Static(
            Text("terminal too small for driftwatch: it needs at least 60×20", style="bold"),
            id="too-small",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#filter", Input).cursor_blink = False
        self.query_one(StagedPanel).show_steps(self.staged)
        self._apply_size()
        if self.report is not None:
            self.show_report(self.report)
        if self.scan_function is not None:
            self.action_rescan()
        self.query_one(DriftTree).focus()

    def on_resize(self) -> None:
        self._apply_size()
        self._update_header()
        self.query_one(Detail).refresh_content()

    def _apply_size(self) -> None:
        width, height = self.size
        self.screen.set_class(width < NARROW_WIDTH, "narrow")
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.screen.set_class(small, "too-small")

    # -- data -------------------------------------------------------------------------

    def all_resources(self) -> list[Resource]:
        return self.report.resources if self.report else []

    def show_report(self, report: AuditReport) -> None:
        self.report = report
        self._reconciler = None  # a new report may have audited another commit
        self.screen.set_class(self._is_production(report), "production")
        self._update_header()
        self._rebuild_tree()
        # A big report is millions of long-lived objects: keep them out of the cycle
        # collector's full passes, which otherwise stall cursor moves for ~200 ms.
        gc.freeze()

    def _is_production(self, report: AuditReport) -> bool:
        patterns = self.options.config.productionContexts
        return any(
            fnmatchcase(value, p)
            for t in report.scan.targets
            for value in (t.name, t.context or "")
            if value
            for p in patterns
        )

    def _rebuild_tree(self) -> None:
        """Show the filtered report, keeping the selection when it is still there."""
        tree = self.query_one(DriftTree)
        selected = self.selected()
        root = build_tree(self.filter.apply(self.all_resources()))
        tree.show(root)
        self.query_one(Detail).show(root if root.total else None)
        self._update_status_line(root)
        if isinstance(selected, Resource):
            fresh = next((r for r in self.all_resources() if r.id == selected.id), None)
            if fresh is not None:
                tree.reveal((fresh.target, fresh.kind, fresh.namespace or "(cluster)"), fresh.id)
        elif isinstance(selected, Group) and selected.path:
            tree.reveal(selected.path, None)

    def _update_header(self) -> None:
        report = self.report
        first, second = (
            Text(no_wrap=True, overflow="ellipsis"),
            Text(no_wrap=True, overflow="ellipsis"),
        )
        if self.screen.has_class("production"):
            first.append(" PRODUCTION ", style="bold white on red")
            first.append(" ")
        first.append("driftwatch ", style="bold")
        if report is None:
            first.append("scanning…", style="dim")
        else:
            scan = report.scan
            first.append(f"{printable(scan.repo)}@{printable(scan.ref)} ")
            first.append((scan.commit or "worktree")[:8], style="yellow")
            if scan.worktree:
                first.append(" +uncommitted", style="yellow")
            # "⎈ cluster, ☁ account 62% managed": one span per run of the same style
            names = "  "
            for index, target in enumerate(scan.targets):
                glyph = TARGET_GLYPHS.get(target.provider)
                names += (", " if index else "") + (f"{glyph} " if glyph else "")
                names += printable(target.name)
                if target.coverage is not None:
                    first.append(names, style="cyan")
                    names = ""
                    managed = coverage_percent(total_coverage(target.coverage))
                    first.append(f" {managed}% managed", style="dim")
            first.append(names, style="cyan")
            first.append(f"  {scan.finishedAt:%Y-%m-%d %H:%M:%S} UTC", style="dim")
            wide = self.size.width >= NARROW_WIDTH
            for status in Status:
                n = report.counts.get(status, 0)
                style = STATUS_STYLES[status] if n else "dim"
                label = (
                    f"{GLYPHS[status]} {status.value} {n}   " if wide else f"{GLYPHS[status]}{n} "
                )
                second.append(label, style=style)
            flagged = sum(1 for r in report.resources for v in r.violations if not v.waivedBy)
            if flagged:
                second.append(f"⚑ {flagged}" + (" violations " if wide else " "), style="red")
            if report.errors:
                second.append(f" ! errors {len(report.errors)}", style="bold red")
        header = Text("\n", no_wrap=True, overflow="ellipsis").join([first, second])
        header.no_wrap, header.overflow = True, "ellipsis"  # one line each, never wrapped
        self.query_one("#header", Static).update(header)

    def _update_status_line(self, root: Group | None = None, message: str | None = None) -> None:
        text = Text()
        if message:
            text.append(printable(message), style="dim")
        elif self.filter.text or self.filter.statuses is not None:
            text.append("filter: ", style="bold")
            if self.filter.statuses is not None:
                text.append(",".join(s.value for s in sorted(self.filter.statuses)) + " ")
            if self.filter.text:
                text.append(printable(self.filter.text))
            if root is not None:
                text.append(f"  ({root.total} of {len(self.all_resources())})", style="dim")
            text.append("  esc clears", style="dim")
        self.query_one("#status-line", Static).update(text)

    # -- scanning ---------------------------------------------------------------------

    def action_rescan(self) -> None:
        if self.scan_function is None:
            self.notify("Viewing a saved report: there is nothing to rescan.", severity="warning")
            return
        if self.scanning:
            self.notify("A scan is already running.")
            return
        self.scanning = True
        self._update_status_line(message="scanning…")
        self._scan_worker()

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def _scan_worker(self) -> AuditReport:
        assert self.scan_function is not None
        return self.scan_function(
            lambda message: self.call_from_thread(self._update_status_line, None, message),
            lambda report: self.call_from_thread(self.show_report, report),
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "scan" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            return
        self.scanning = False
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, AuditReport):
            self.show_report(event.worker.result)
        else:
            self._update_status_line(message=f"scan failed: {event.worker.error}")
            self.notify(
                printable(f"Scan failed: {event.worker.error}"), severity="error", markup=False
            )
        if self.options.refresh:
            self.set_timer(self.options.refresh, self.action_rescan)

    # -- selection --------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[Group | Resource]) -> None:
        detail = self.query_one(Detail)
        if not self.options.low_bandwidth:
            detail.show(event.node.data)
            return
        # Over a slow link the detail is drawn once the cursor rests, not on every move.
        if self._detail_timer is not None:
            self._detail_timer.stop()
        data = event.node.data
        self._detail_timer = self.set_timer(DETAIL_DELAY, lambda: detail.show(data))

    def jump(self, path: Sequence[str], resource_id: str | None) -> None:
        if not self.query_one(DriftTree).reveal(path, resource_id):
            self.action_quick_filter(0)
            self.filter = Filter()
            self._rebuild_tree()
            self.query_one(DriftTree).reveal(path, resource_id)
        self.query_one(DriftTree).focus()

    def selected(self) -> Resource | Group | None:
        node = self.query_one(DriftTree).cursor_node
        return node.data if node else None

    # -- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        rows = [
            (b.key_display or b.key, b.description or b.action, b.id or "")
            for b in self.BINDINGS
            if isinstance(b, Binding) and self.check_action(b.action, ()) is not False
        ]
        rows += [
            ("↑ ↓ j k", "move", "tree.down / tree.up"),
            ("enter", "expand", ""),
            (
                "space",
                "expand" if self.options.read_only else "stage an action / unstage",
                "tree.stage",
            ),
            ("tab", "next pane", ""),
        ]
        self.push_screen(HelpScreen(rows))

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.value = self.filter.text
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter = Filter(event.value, self.filter.statuses)
        self._rebuild_tree()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(DriftTree).focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = False
        if self.filter.text or self.filter.statuses is not None:
            self.filter = Filter()
            field.value = ""
            self._rebuild_tree()
        self.query_one(DriftTree).focus()

    def action_quick_filter(self, index: int) -> None:
        self.filter = Filter(self.filter.text, QUICK_FILTERS[index])
        self._rebuild_tree()

    def action_toggle_yaml(self) -> None:
        detail = self.query_one(Detail)
        detail.full_yaml = not detail.full_yaml
        detail.refresh_content()

    def action_toggle_why(self) -> None:
        detail = self.query_one(Detail)
        detail.why = not detail.why
        detail.refresh_content()

    def action_toggle_wrap(self) -> None:
        detail = self.query_one(Detail)
        detail.wrap = not detail.wrap
        detail.refresh_content()

    def action_copy_id(self) -> None:
        item = self.selected()
        if isinstance(item, Resource):
            self.copy_to_clipboard(item.id)
            self.notify(printable(f"Copied {item.id}"), markup=False)

    # -- staging (lazygit-style) -------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.options.read_only and action in ("stage", "diff", "commit"))

    def stage(self, resource: Resource) -> None:
        """``space`` on a resource: unstage it, or choose an action to stage."""
        mine = [s for s in self.staged if any(refers_to(x, resource.id) for x in s.selection)]
        if mine:
            self.staged = [s for s in self.staged if s not in mine]
            self._staged_changed(f"Unstaged {len(mine)} action(s) on {resource.name}")
            return
        steps = choices(resource)
        if not steps:
            self.notify("Nothing to reconcile here.", severity="warning")
            return

        def chosen(step: Step | None) -> None:
            if step is None:
                return
            if not step.needs_details:
                self._add(step)
                return

            def detailed(details: Details | None) -> None:
                if details is not None:
                    self._add(replace(step, details=details))

            self.push_screen(DetailsForm(step.action), detailed)

        self.push_screen(ActionMenu(f"{resource.kind} {resource.name}", steps), chosen)

    def _add(self, step: Step) -> None:
        self.staged.append(step)
        self._staged_changed(f"Staged: {step.label}")

    def _staged_changed(self, message: str) -> None:
        self.query_one(StagedPanel).show_steps(self.staged)
        self.notify(printable(message), markup=False)

    def _planned(self) -> tuple[Reconciler, Plan] | None:
        if not self.staged:
            self.notify(
                "Nothing is staged: space on a finding stages an action.", severity="warning"
            )
            return None
        if self.report is None:
            return None
        try:
            if self._reconciler is None:
                self._reconciler = Reconciler(self.report)
            return self._reconciler, self._reconciler.plan(self.staged)
        except (ReconcileError, ConfigError, GitSourceError, CommitError) as exc:
            self.notify(printable(f"Cannot plan the commit: {exc}"), severity="error", markup=False)
            return None

    def action_diff(self) -> None:
        planned = self._planned()
        if planned:
            reconciler, edits = planned
            self.push_screen(DiffScreen(edits, reconciler.diff(edits)))

    def action_commit(self) -> None:
        planned = self._planned()
        if not planned:
            return

        def done(committed: Committed | None) -> None:
            if committed is None:
                return
            self.staged = []
            self._staged_changed(f"Committed {committed.sha[:12]} on {committed.branch}")

        self.push_screen(CommitScreen(*planned), done)

    def export_report(self, fmt: str) -> None:
        if self.report is None:
            return
        from driftwatch.export import FILE_FORMATS, render
        from driftwatch.files import OutputError, write_atomic

        path = Path.cwd() / f"driftwatch-report.{FILE_FORMATS[fmt]}"
        try:
            write_atomic(str(path), render(self.report, fmt))
        except OutputError as exc:
            self.notify(printable(f"Report not written: {exc}"), severity="error", markup=False)
            return
        self.notify(printable(f"Report written to {path}"), markup=False)
