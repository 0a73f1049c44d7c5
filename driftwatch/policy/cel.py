"""CEL for policies: compilation with located errors, the Kubernetes helpers, the context.

Uses the Rust-backed ``common-expression-language`` package (~5 µs per evaluation here).
Each resource's values are put into one context, built once, and every matching policy
runs on it.  Declared ``variables`` are inlined into the expressions that use them at
load time (they are pure), so no context is rebuilt per policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any

import cel
from kubernetes.utils.quantity import parse_quantity

# Where the pod template lives in each pod-bearing kind (what Kyverno calls autogen).
POD_TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


class CelError(ValueError):
    """An expression that does not compile; ``column`` is 1-based when known."""

    def __init__(self, message: str, column: int | None) -> None:
        super().__init__(message)
        self.message, self.column = message, column


def _quantity(value: object) -> float:
    """``quantity('500m') < quantity('1')``: Kubernetes quantities as numbers."""
    try:
        return float(Decimal(parse_quantity(value)))  # type: ignore[no-untyped-call]
    except (ValueError, InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a quantity: {value!r}") from exc


def _is_quantity(value: object) -> bool:
    try:
        _quantity(value)
    except ValueError:
        return False
    return True


def _split(value: str, separator: str) -> list[str]:
    return value.split(separator)


def _join(values: list[Any], separator: str = "") -> str:
    return separator.join(str(v) for v in values)


def _parse_json(value: str) -> Any:
    """``parseJson(s)``: JSON written as a string (e.g. a CloudFormation PolicyDocument)."""
    return json.loads(value)


def without_nulls(value: Any) -> Any:
    """Kubernetes treats ``field: null`` as unset; CEL's ``has()`` cannot test a null map."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def _glob(value: str, pattern: str) -> bool:
    return fnmatchcase(value, pattern)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "quantity": _quantity,
    "isQuantity": _is_quantity,
    "split": _split,
    "join": _join,
    "glob": _glob,
    "parseJson": _parse_json,
}

_POSITION = re.compile(r"<input>:\d+:(\d+):")


def compile_expression(expression: str) -> cel.Program:
    try:
        return cel.compile(expression)
    except ValueError as exc:
        text = str(exc)
        m = _POSITION.search(text)
        detail = text.split("ERROR:", 1)[-1].strip().splitlines()[0] if "ERROR:" in text else text
        detail = _POSITION.sub("", detail).strip()
        raise CelError(detail, int(m.group(1)) + 1 if m else None) from exc


def inline_variables(expression: str, variables: Mapping[str, str]) -> str:
    """Replace ``variables.name`` with ``(its expression)``."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise CelError(f"unknown variable {name!r}", match.start() + 1)
        return f"({variables[name]})"

    return re.sub(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)", sub, expression)


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def kubernetes_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What policies see: ``object``, and for pod-bearing kinds ``podSpec``, ``podMeta``
    and ``containers`` (containers, initContainers and ephemeralContainers together)."""
    body: dict[str, Any] = without_nulls(dict(raw))
    template_path = POD_TEMPLATE_PATHS.get(str(body.get("kind")))
    template = _at(body, template_path) if template_path is not None else None
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    pod_meta = template.get("metadata") if isinstance(template, dict) else None
    containers: list[Any] = []
    if isinstance(pod_spec, dict):
        for field in CONTAINER_LISTS:
            items = pod_spec.get(field)
            if isinstance(items, list):
                containers.extend(c for c in items if isinstance(c, dict))
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    return {
        "object": body,
        "podSpec": pod_spec if isinstance(pod_spec, dict) else {},
        "podMeta": pod_meta if isinstance(pod_meta, dict) else {},
        "isPod": template_path is not None,
        "containers": containers,
        "namespace": (meta or {}).get("namespace") or "",
    }


def pod_template_path(kind: str) -> tuple[str, ...] | None:
    return POD_TEMPLATE_PATHS.get(kind)


def new_context(values: Mapping[str, Any]) -> cel.Context:
    context = cel.Context()
    for name, function in FUNCTIONS.items():
        context.add_function(name, function)
    for name, value in values.items():
        context.add_variable(name, value)
    return context
