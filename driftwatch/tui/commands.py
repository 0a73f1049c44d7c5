"""Command palette (``:`` / ``ctrl+p``): jump to a target, kind, namespace or resource;
export the report."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from driftwatch.export import FILE_FORMATS
from driftwatch.textsafe import printable

if TYPE_CHECKING:
    from driftwatch.tui.app import DriftwatchApp


class DriftCommands(Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        app: DriftwatchApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, str, object]] = [
            (
                f"Export report as {fmt.upper() if fmt != 'markdown' else 'Markdown'}",
                f"write driftwatch-report.{suffix} here",
                partial(app.export_report, fmt),
            )
            for fmt, suffix in FILE_FORMATS.items()
        ]
        out.append(("Rescan", "read Git and the targets again", app.action_rescan))
        seen: set[tuple[str, ...]] = set()
        for r in app.all_resources():
            for path in (
                (r.target,),
                (r.target, r.kind),
                (r.target, r.kind, r.namespace or "(cluster)"),
            ):
                if path not in seen:
                    seen.add(path)
                    what = ("target", "kind", "namespace")[len(path) - 1]
                    label = printable(" / ".join(path))
                    out.append((f"Go to {what} {label}", "", partial(app.jump, path, None)))
            where = f"{r.namespace}/" if r.namespace else ""
            group_path = (r.target, r.kind, r.namespace or "(cluster)")
            out.append(
                (
                    f"Go to {printable(r.kind)} {printable(where + r.name)}",
                    r.status.value,
                    partial(app.jump, group_path, r.id),
                )
            )
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands()[:2]:
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                # highlight() parses markup: a name is escaped so it stays text (no [@click=…])
                yield Hit(score, matcher.highlight(escape(name)), callback, help=help_text)  # type: ignore[arg-type]
