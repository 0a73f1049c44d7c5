"""AWS desired state out of Git: ``AWSResource`` documents.

```yaml
apiVersion: driftwatch.dev/v1alpha1
kind: AWSResource
metadata: {name: logs-bucket}
spec:
  type: AWS::S3::Bucket          # CloudFormation type name
  region: eu-west-1              # not needed for global types (IAM, Route53)
  account: "123456789012"        # optional: which aws target(s) audit it
  identifier: acme-prod-logs     # the primary identifier; default: the identifier property
  properties: {VersioningConfiguration: {Status: Enabled}}
```

The Kubernetes manifest loader already walks the source paths and records the files that
hold ``driftwatch.dev/`` documents (``Loaded.own_files``); this module reads those files
again through the same parse cache (keyed by blob id), so a file is parsed once per
content whichever loader sees it first.  A bad document is an error naming the file, line
and key, and the other documents still load.  An unknown property is reported and left
out, the rest of the spec is still audited (so the live resource does not turn into an
"unmanaged" one because of a typo).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from driftwatch.cache import ScanCache
from driftwatch.gitsource import FileEntry, GitSource
from driftwatch.providers.aws.model import API_VERSION, KIND, ResourceType
from driftwatch.providers.kubernetes.manifests import (
    cacheable,
    holds_secrets,
    is_cached_parse,
    parse_cacheable,
)
from driftwatch.report import ReportError, Source
from driftwatch.yamldoc import PARSER_VERSION, decode, key_line

GLOBAL_REGION = "global"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text_id(value: Any, width: int = 0) -> Any:
    # YAML reads an unquoted id as a number: an account id also loses its leading zeros
    # (``width`` 12), an identifier (a table named 2024) is just its digits.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).zfill(width)
    return value


class SpecMetadata(_Strict):
    name: str = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class SpecBody(_Strict):
    type: str = Field(min_length=1, description="CloudFormation type, e.g. AWS::S3::Bucket")
    region: str | None = Field(None, description="required for regional types")
    account: str | None = Field(None, description="account id; none: every aws target")
    identifier: str | None = Field(
        None, description="primary identifier; default: the type's identifier property"
    )
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        return _text_id(value, 12)

    @field_validator("identifier", mode="before")
    @classmethod
    def _identifier(cls, value: Any) -> Any:
        return _text_id(value)


class AWSResourceDoc(_Strict):
    apiVersion: Literal["driftwatch.dev/v1alpha1"]
    kind: Literal["AWSResource"]
    metadata: SpecMetadata
    spec: SpecBody


@dataclass(slots=True)
class AWSSpec:
    """One AWS resource declared in Git."""

    name: str  # metadata.name
    type: str
    region: str  # "global" for types with one global listing
    account: str | None
    identifier: str
    properties: dict[str, Any]  # known properties only
    labels: dict[str, str]
    source: Source

    def location(self) -> str:
        return f"{self.source.path}:{self.source.line}"

    def document(self, properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The AWSResource document, with ``properties`` in place of the declared ones."""
        return aws_document(
            self.name,
            self.type,
            self.region,
            self.account,
            self.identifier,
            dict(self.properties if properties is None else properties),
            self.labels,
        )


def aws_document(
    name: str,
    type_: str,
    region: str,
    account: str | None,
    identifier: str,
    properties: dict[str, Any],
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An AWSResource document (what the report shows and policies see, for both sides)."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    spec: dict[str, Any] = {"type": type_, "region": region}
    if account:
        spec["account"] = account
    spec["identifier"] = identifier
    spec["properties"] = properties
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


@dataclass(slots=True)
class LoadedSpecs:
    specs: list[AWSSpec] = field(default_factory=list)
    errors: list[ReportError] = field(default_factory=list)
    files_parsed: int = 0
    files_cached: int = 0


def _holds_secrets(data: Any, types: Mapping[str, ResourceType]) -> bool:
    """Whether a document holds secret values: a spec setting a secret or write-only
    property of its type (or of a type not known here), or a Kubernetes Secret."""
    if not (isinstance(data, dict) and data.get("kind") == KIND):
        return holds_secrets(data)
    spec = data.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("properties"), dict):
        return False
    type_ = types.get(str(spec.get("type")))
    if type_ is None:
        return True
    return bool(set(spec["properties"]) & {*type_.secret_properties, *type_.write_only})


def load_specs(
    source: GitSource,
    files: list[str],
    types: Mapping[str, ResourceType],
    cache: ScanCache | None = None,
) -> LoadedSpecs:
    """Every AWSResource in ``files`` (the loader's ``own_files``), validated per type."""
    loaded = LoadedSpecs()
    wanted = set(files)
    entries = [e for e in source.files(["**"]) if e.path in wanted]
    keys = {e.path: f"yaml{PARSER_VERSION}:{e.blob}" for e in entries}
    cached = cache.get_many(sorted(set(keys.values())), is_cached_parse) if cache else {}
    contents = source.read([e for e in entries if keys[e.path] not in cached])
    texts: dict[str, str] = {}
    fresh: dict[str, Any] = {}
    for entry in entries:
        parsed = cached.get(keys[entry.path]) or fresh.get(keys[entry.path])
        if parsed is None:
            parsed = fresh[keys[entry.path]] = parse_cacheable(contents[entry.blob])
            loaded.files_parsed += 1
        else:
            loaded.files_cached += 1
        if "error" in parsed:
            continue  # the manifest loader reported it (and bad documents) already

        def text(entry: FileEntry = entry) -> str:
            if entry.path not in texts:
                texts[entry.path] = decode(source.read([entry])[entry.blob])
            return texts[entry.path]

        for index, line, data in parsed["docs"]:
            if isinstance(data, dict) and data.get("kind") == KIND:
                _document(entry.path, index, line, data, types, loaded, text)
    if cache and not source.worktree:
        cache.put_many(cacheable(fresh, lambda data: _holds_secrets(data, types)))
    _add_history(source, loaded)
    return loaded


def _document(
    path: str,
    index: int,
    line: int,
    data: dict[str, Any],
    types: Mapping[str, ResourceType],
    loaded: LoadedSpecs,
    text: Callable[[], str],
) -> None:
    name = (
        (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
    )
    label = f"AWSResource {name or '?'}"

    def error(message: str, loc: tuple[str | int, ...] = ()) -> None:
        loaded.errors.append(
            ReportError(
                path=path,
                line=(key_line(text(), index, loc) if loc else None) or line,
                key=".".join(map(str, loc)) or None,
                message=f"{label}: {message}",
            )
        )

    if data.get("apiVersion") != API_VERSION:
        error(
            f"unknown apiVersion {data.get('apiVersion')!r} (expected {API_VERSION})",
            ("apiVersion",),
        )
        return
    try:
        doc = AWSResourceDoc.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        error(message + more, loc)
        return
    spec = doc.spec
    resource_type = types.get(spec.type)
    if resource_type is None:
        known = ", ".join(sorted(types)) or "none registered"
        error(f"unknown resource type {spec.type} (known: {known})", ("spec", "type"))
        return
    if resource_type.regional:
        if not spec.region:
            error(f"spec.region is required for {spec.type}", ("spec",))
            return
        region = spec.region
    else:
        region = GLOBAL_REGION  # one global listing; a region written here changes nothing
    properties: dict[str, Any] = {}
    for key, value in spec.properties.items():
        if key in resource_type.properties:
            properties[key] = value
        elif key in resource_type.write_only:
            continue  # AWS never returns it: nothing to compare
        else:
            known = ", ".join(sorted(resource_type.properties))
            error(
                f"unknown property {key} of {spec.type} (known: {known})",
                ("spec", "properties", key),
            )
    declared = properties.get(resource_type.identifier)
    identifier = spec.identifier
    if identifier is None:
        if declared is None or isinstance(declared, dict | list):
            error(
                f"spec.identifier is required: the {spec.type} primary identifier"
                f" ({resource_type.identifier})",
                ("spec",),
            )
            return
        identifier = str(declared)
    elif declared is not None and str(declared) != identifier:
        error(
            f"spec.identifier {identifier!r} differs from properties.{resource_type.identifier}"
            f" {declared!r}",
            ("spec", "properties", resource_type.identifier),
        )
        return
    loaded.specs.append(
        AWSSpec(
            name=doc.metadata.name,
            type=spec.type,
            region=region,
            account=spec.account,
            identifier=identifier,
            properties=properties,
            labels=dict(doc.metadata.labels),
            source=Source(path=path, line=line, document=index),
        )
    )


def _add_history(source: GitSource, loaded: LoadedSpecs) -> None:
    history = source.last_commits({s.source.path for s in loaded.specs})
    for spec in loaded.specs:
        info = history.get(spec.source.path)
        if info:
            spec.source.commit = info.sha
            spec.source.author = info.author
            spec.source.date = info.date
            spec.source.subject = info.subject
