"""The drift tree: Target → Kind → Namespace → Resource, children built on first expand.

Building only what is expanded keeps first paint and filtering fast on 10,000 resources.
Labels are ``rich.text.Text`` built from escaped strings: a name is never markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from driftwatch.report import Resource, Status
from driftwatch.textsafe import printable
from driftwatch.tui.model import GLYPHS, SEVERITY, Group, sorted_groups, sorted_resources

NodeData = Group | Resource

STATUS_STYLES: dict[Status, str] = {
    Status.IN_SYNC: "green",
    Status.MODIFIED: "yellow",
    Status.MISSING: "red",
    Status.UNMANAGED: "magenta",
    Status.IGNORED: "blue",
    Status.NOT_CHECKED: "bright_black",
}


def counts_text(group: Group) -> Text:
    """``12 · 3~ 1-``: the total, then each non-zero finding count with its glyph."""
    text = Text(f" {group.total}", style="dim")
    for status in SEVERITY:
        n = group.counts.get(status, 0)
        if n and status is not Status.IN_SYNC:
            text.append(f" {n}{GLYPHS[status]}", style=STATUS_STYLES[status])
    return text


def group_label(group: Group) -> Text:
    status = group.status
    label = Text(f"{GLYPHS[status]} ", style=STATUS_STYLES[status])
    label.append(printable(group.label), style="bold")
    label.append_text(counts_text(group))
    return label


def resource_label(resource: Resource) -> Text:
    label = Text(f"{GLYPHS[resource.status]} ", style=STATUS_STYLES[resource.status])
    label.append(printable(resource.name))
    if resource.status is not Status.IN_SYNC:
        label.append(f"  {resource.status.value}", style=STATUS_STYLES[resource.status])
    active = sum(1 for v in resource.violations if not v.waivedBy)
    if active:
        label.append(f"  ⚑{active}", style="red")
    return label


class DriftTree(Tree[NodeData]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
        Binding("space", "stage", "Stage", id="tree.stage"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("targets"), id=id)
        self._last_sizes: tuple[Size, Size, Size] | None = None
        self.show_root = False
        self.guide_depth = 2

    def action_stage(self) -> None:
        """``space``: stage an action on a resource (the app decides); expand a group."""
        node = self.cursor_node
        if node is None:
            return
        stage = getattr(self.app, "stage", None)
        # The app's check_action says whether staging is on (off with --read-only).
        if isinstance(node.data, Resource) and stage and self.app.check_action("stage", ()):
            stage(node.data)
        else:
            self.action_toggle_node()

    def _refresh_node(self, node: TreeNode[NodeData]) -> None:
        """Repaint only the node's own line when the cursor moves (Textual repaints the
        whole branch to highlight its guides; our guides are not highlighted, and over
        SSH every repainted line costs bytes)."""
        line = node.line
        if line >= 0:
            self._refresh_line(line)

    def scroll_to_line(self, line: int, animate: bool = True) -> None:
        """Scroll only when the line leaves the view, and then by half a page, so most
        cursor moves repaint two lines instead of the whole pane."""
        top, height = self.scroll_offset.y, self.size.height
        if height <= 0 or top <= line < top + height:
            return
        self.scroll_to(y=max(0, line - height // 2), animate=False)

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Textual re-lays the tree out whenever the detail pane changes, redrawing its
        # scrollbar each time; skip when nothing about the tree's size changed.
        if (size, virtual_size, container_size) == self._last_sizes:
            return False
        self._last_sizes = (size, virtual_size, container_size)
        return super()._size_updated(size, virtual_size, container_size, layout)

    def show(self, root: Group) -> None:
        """Replace the tree's content; targets (and a lone target's kinds) are expanded."""
        self.clear()
        self.root.data = root
        targets = sorted_groups(root)
        for group in targets:
            node = self.root.add(group_label(group), group)
            if len(targets) == 1:
                node.expand()
        self.root.expand()
        self.cursor_line = 0
        self.scroll_home(animate=False)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        self.populate(event.node)

    def populate(self, node: TreeNode[NodeData]) -> None:
        """Add a group node's children, once."""
        group = node.data
        if not isinstance(group, Group) or node.children:
            return
        if group.children:
            for child in sorted_groups(group):
                node.add(group_label(child), child)
        else:
            for resource in sorted_resources(group):
                node.add_leaf(resource_label(resource), resource)

    def reveal(self, path: Sequence[str], resource_id: str | None = None) -> bool:
        """Expand along a group path (target, kind, namespace) and move the cursor there."""
        node = self.root
        for label in path:
            self.populate(node)
            node.expand()
            found = next(
                (c for c in node.children if isinstance(c.data, Group) and c.data.label == label),
                None,
            )
            if found is None:
                return False
            node = found
        if resource_id is not None:
            self.populate(node)
            node.expand()
            leaf = next(
                (
                    c
                    for c in node.children
                    if isinstance(c.data, Resource) and c.data.id == resource_id
                ),
                None,
            )
            if leaf is None:
                return False
            node = leaf
        # Line numbers of freshly expanded nodes exist only after the next refresh.
        self.call_after_refresh(self.move_cursor, node)
        return True
