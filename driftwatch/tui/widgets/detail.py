"""The right pane: one resource's status, provenance, changes and YAML diff."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from driftwatch.engine.patch import apply_changes
from driftwatch.export.explain import explanation_lines
from driftwatch.export.text import violation_line
from driftwatch.report import Op, Resource
from driftwatch.textsafe import printable, short_value
from driftwatch.tui.model import GLYPHS, Group
from driftwatch.tui.widgets.drift_tree import STATUS_STYLES, counts_text
from driftwatch.tui.yamldiff import side_by_side, unified

SIDE_BY_SIDE_MIN_WIDTH = 140


def resource_summary(resource: Resource) -> Text:
    style = STATUS_STYLES[resource.status]
    out = Text()
    out.append(f"{GLYPHS[resource.status]} {resource.status.value}", style=f"bold {style}")
    out.append(f"  {printable(resource.kind)} ", style="bold")
    where = f"{resource.namespace}/" if resource.namespace else ""
    out.append(printable(where + resource.name), style="bold")
    out.append(f"  [{printable(resource.target)}]\n", style="dim")
    out.append(f"id      {printable(resource.id)}\n", style="dim")
    if resource.reason:
        out.append(f"reason  {printable(resource.reason)}\n")
    source = resource.source
    if source:
        out.append("source  ")
        out.append(f"{printable(source.path)}:{source.line}", style="underline")
        if source.renderedFrom:
            out.append(f"  (rendered from {printable(source.renderedFrom)})", style="dim")
        out.append("\n")
        if source.commit:
            out.append("commit  ")
            out.append(source.commit[:10], style="yellow")
            out.append(
                f"  {printable(source.author or '')}  {printable((source.date or '')[:10])}\n"
            )
            out.append(f"        {printable(source.subject or '')}\n", style="italic")
    if resource.changes:
        out.append(f"\nchanges ({len(resource.changes)})\n", style="bold")
        for change in resource.changes:
            mark = {Op.CHANGED: "~", Op.ADDED: "+", Op.REMOVED: "-"}[change.op]
            style = "blue" if change.ignoredBy else {"~": "yellow", "+": "green", "-": "red"}[mark]
            out.append(f" {mark} ", style=style)
            out.append(printable(change.path), style="bold")
            if change.op is Op.CHANGED:
                out.append(f"  {short_value(change.desired)} → {short_value(change.live)}")
            elif change.op is Op.ADDED:
                out.append(f"  {short_value(change.live)}")
            else:
                out.append(f"  was {short_value(change.desired)}")
            out.append("\n")
            if change.manager:
                out.append(f"     by {printable(change.manager)}\n", style="cyan")
            if change.ignoredBy:
                out.append(f"     ignored: {printable(change.ignoredBy)}\n", style="blue")
    if resource.violations:
        out.append(f"\npolicy violations ({len(resource.violations)})\n", style="bold")
        for violation in resource.violations:
            out.append_text(violation_line(violation))
            out.append("\n")
    return out


def group_summary(group: Group) -> Text:
    out = Text()
    out.append(printable(" / ".join(group.path) or "all targets"), style="bold")
    out.append_text(counts_text(group))
    out.append("\n\nselect a resource to see its changes and YAML diff", style="dim")
    return out


class Detail(VerticalScroll):
    """Scrollable detail of the tree's selection."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.full_yaml = False
        self.wrap = True
        self.why = False  # the explanation (every difference and its rule) instead of the diff
        self._shown: Resource | Group | None = None
        self.text = Text()  # what is shown, for tests and copy
        self._body = Static(Text("loading…", style="dim"), id="detail-body")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._body

    def show(self, item: Resource | Group | None) -> None:
        self._shown = item
        self.refresh_content()

    def refresh_content(self) -> None:
        item = self._shown
        if item is None:
            self._show(Text("nothing selected", style="dim"))
            return
        if isinstance(item, Group):
            self._show(group_summary(item))
            return
        summary = resource_summary(item)
        if self.why:
            summary.append("\nwhy: every difference and the rule that decided it\n", style="bold")
            # The first line repeats the id and status shown above.
            summary.append("\n".join(explanation_lines(item)[1:]))
            summary.append("\n\ne: back to the diff", style="dim")
            summary.no_wrap = not self.wrap
            self._show(summary)
            self.scroll_home(animate=False)
            return
        wide = self.app.size.width >= SIDE_BY_SIDE_MIN_WIDTH
        left, right = item.desired, item.live
        if not self.full_yaml and item.desired is not None and item.changes:
            # Only the drift: desired beside desired-with-live-values, in context.
            right = apply_changes(item.desired, item.changes)
        if left is None and right is None:
            diff = Text("\n(no objects in the report for this resource)", style="dim")
        elif wide:
            diff = side_by_side(left, right, self.size.width or 120, self.full_yaml)
        else:
            diff = unified(left, right, self.full_yaml)
        if not self.full_yaml:
            diff.append("\ny: full desired and live YAML", style="dim")
        diff.append("\ne: why is (or isn't) this drift", style="dim")
        summary.append("\n")
        summary.append_text(diff)
        summary.no_wrap = not self.wrap
        self._show(summary)
        self.scroll_home(animate=False)

    def _show(self, text: Text) -> None:
        self.text = text
        self._body.update(text)
