"""Shapes every provider shares: identity of a resource and the two sides being compared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from driftwatch.report import ReportError, Source


@dataclass(frozen=True, slots=True, order=True)
class ResourceKey:
    """Identity of one resource on one target, independent of API version."""

    provider: str
    target: str
    group: str
    kind: str
    namespace: str | None
    name: str

    @property
    def id(self) -> str:
        group = self.group or "core"
        return (
            f"{self.provider}:{self.target}/{group}/{self.kind}/{self.namespace or '-'}/{self.name}"
        )


@dataclass(slots=True)
class Manifest:
    """One object declared in Git, before it is assigned to a target."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any]
    source: Source

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def location(self) -> str:
        return f"{self.source.path}:{self.source.line}"


@dataclass(slots=True)
class Loaded:
    """Desired objects read from Git, with the problems found on the way."""

    manifests: list[Manifest]
    errors: list[ReportError]
    files_parsed: int = 0
    files_cached: int = 0
    # Files holding driftwatch's own documents (Policy, Exception, AWSResource).
    own_files: list[str] = field(default_factory=list)
