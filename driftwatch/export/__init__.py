"""Exporters: pure functions of an :class:`AuditReport` (text is rendered by ``text``)."""

from __future__ import annotations

import json

from driftwatch.report import AuditReport

# Formats written as files, with their file suffix.
FILE_FORMATS = {"json": "json", "sarif": "sarif", "junit": "xml", "markdown": "md"}


def render(report: AuditReport, fmt: str, show_in_sync: bool = False) -> bytes:
    """The report in ``fmt`` (one of ``FILE_FORMATS``), as bytes."""
    if fmt == "json":
        return report.to_json()
    if fmt == "sarif":
        from driftwatch.export.sarif import to_sarif

        # ASCII: the texts a viewer shows are printable, and the exact values kept in
        # ``properties`` for machines cannot put a raw bidi or line separator in the file.
        return json.dumps(to_sarif(report), indent=2, ensure_ascii=True).encode() + b"\n"
    if fmt == "junit":
        from driftwatch.export.junit import to_junit

        return to_junit(report).encode()
    if fmt == "markdown":
        from driftwatch.export.markdown import to_markdown

        return to_markdown(report, show_in_sync).encode()
    raise ValueError(f"unknown export format {fmt!r}")
