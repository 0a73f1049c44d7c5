"""Server-side printing: the ``meta.k8s.io/v1 Table`` that plain ``kubectl get`` asks for.

The columns of the common built-in kinds follow the apiserver's printers; every other kind
gets ``Name`` and ``Age``.  Cells are computed from the stored object at request time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Cell = str | int | float | bool | None
Column = tuple[str, str, int, Callable[[Mapping[str, Any], datetime], Cell]]  # name, type, prio

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients may "
    "not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the "
    "system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _get(obj: Mapping[str, Any], *keys: str) -> Any:
    cur: Any = obj
    for key in keys:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def _age(obj: Mapping[str, Any], now: datetime) -> Cell:
    created = parse_time(_get(obj, "metadata", "creationTimestamp"))
    if created is None:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


def _name(obj: Mapping[str, Any], now: datetime) -> Cell:
    return str(_get(obj, "metadata", "name") or "")


def _int(*keys: str) -> Callable[[Mapping[str, Any], datetime], Cell]:
    def cell(obj: Mapping[str, Any], now: datetime) -> Cell:
        value = _get(obj, *keys)
        return int(value) if isinstance(value, int) else 0

    return cell


def _ready_of(ready_keys: Sequence[str], want_keys: Sequence[str], default_want: int = 1) -> Any:
    def cell(obj: Mapping[str, Any], now: datetime) -> Cell:
        ready = _get(obj, *ready_keys) or 0
        want = _get(obj, *want_keys)
        if want is None:
            want = default_want
        return f"{ready}/{want}"

    return cell


def _pod_containers(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = _get(obj, "spec", "template", "spec") or _get(obj, "spec") or {}
    return list(spec.get("containers") or [])


def _containers(obj: Mapping[str, Any], now: datetime) -> Cell:
    return ",".join(str(c.get("name", "")) for c in _pod_containers(obj))


def _images(obj: Mapping[str, Any], now: datetime) -> Cell:
    return ",".join(str(c.get("image", "")) for c in _pod_containers(obj))


def _selector(obj: Mapping[str, Any], now: datetime) -> Cell:
    sel = _get(obj, "spec", "selector") or {}
    if "matchLabels" in sel or "matchExpressions" in sel:
        parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
        for expr in sel.get("matchExpressions") or []:
            op = str(expr.get("operator", "")).lower()
            key = expr.get("key", "")
            if op == "exists":
                parts.append(str(key))
            elif op == "doesnotexist":
                parts.append(f"!{key}")
            else:
                parts.append(f"{key} {op} ({','.join(expr.get('values') or [])})")
        return ",".join(parts) or "<none>"
    if sel:
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    return "<none>"


def _pod_ready(obj: Mapping[str, Any], now: datetime) -> Cell:
    total = len(_get(obj, "spec", "containers") or [])
    ready = sum(1 for c in _get(obj, "status", "containerStatuses") or [] if c.get("ready"))
    return f"{ready}/{total}"


def _pod_status(obj: Mapping[str, Any], now: datetime) -> Cell:
    if _get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    for cs in _get(obj, "status", "containerStatuses") or []:
        waiting = _get(cs, "state", "waiting", "reason")
        if waiting:
            return str(waiting)
    return str(_get(obj, "status", "reason") or _get(obj, "status", "phase") or "Pending")


def _pod_restarts(obj: Mapping[str, Any], now: datetime) -> Cell:
    return sum(
        int(c.get("restartCount", 0)) for c in _get(obj, "status", "containerStatuses") or []
    )


def _str(*keys: str, default: str = "<none>") -> Callable[[Mapping[str, Any], datetime], Cell]:
    def cell(obj: Mapping[str, Any], now: datetime) -> Cell:
        value = _get(obj, *keys)
        return default if value in (None, "") else str(value)

    return cell


def _svc_external_ip(obj: Mapping[str, Any], now: datetime) -> Cell:
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        return str(spec.get("externalName", "<none>"))
    ips = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        for ing in _get(obj, "status", "loadBalancer", "ingress") or []:
            ips.append(ing.get("ip") or ing.get("hostname") or "")
        if not ips:
            return "<pending>"
    return ",".join(ips) if ips else "<none>"


def _svc_ports(obj: Mapping[str, Any], now: datetime) -> Cell:
    parts = []
    for port in _get(obj, "spec", "ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _data_count(obj: Mapping[str, Any], now: datetime) -> Cell:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _secrets_count(obj: Mapping[str, Any], now: datetime) -> Cell:
    return len(obj.get("secrets") or [])


def _node_selector(obj: Mapping[str, Any], now: datetime) -> Cell:
    sel = _get(obj, "spec", "template", "spec", "nodeSelector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>"


_NAME: Column = ("Name", "string", 0, _name)
_AGE: Column = ("Age", "string", 0, _age)

PRINTERS: Mapping[tuple[str, str], tuple[Column, ...]] = {
    ("apps", "Deployment"): (
        _NAME,
        ("Ready", "string", 0, _ready_of(("status", "readyReplicas"), ("spec", "replicas"))),
        ("Up-to-date", "integer", 0, _int("status", "updatedReplicas")),
        ("Available", "integer", 0, _int("status", "availableReplicas")),
        _AGE,
        ("Containers", "string", 1, _containers),
        ("Images", "string", 1, _images),
        ("Selector", "string", 1, _selector),
    ),
    ("apps", "StatefulSet"): (
        _NAME,
        ("Ready", "string", 0, _ready_of(("status", "readyReplicas"), ("spec", "replicas"))),
        _AGE,
        ("Containers", "string", 1, _containers),
        ("Images", "string", 1, _images),
    ),
    ("apps", "ReplicaSet"): (
        _NAME,
        ("Desired", "integer", 0, _int("spec", "replicas")),
        ("Current", "integer", 0, _int("status", "replicas")),
        ("Ready", "integer", 0, _int("status", "readyReplicas")),
        _AGE,
        ("Containers", "string", 1, _containers),
        ("Images", "string", 1, _images),
        ("Selector", "string", 1, _selector),
    ),
    ("apps", "DaemonSet"): (
        _NAME,
        ("Desired", "integer", 0, _int("status", "desiredNumberScheduled")),
        ("Current", "integer", 0, _int("status", "currentNumberScheduled")),
        ("Ready", "integer", 0, _int("status", "numberReady")),
        ("Up-to-date", "integer", 0, _int("status", "updatedNumberScheduled")),
        ("Available", "integer", 0, _int("status", "numberAvailable")),
        ("Node Selector", "string", 0, _node_selector),
        _AGE,
        ("Containers", "string", 1, _containers),
        ("Images", "string", 1, _images),
        ("Selector", "string", 1, _selector),
    ),
    ("", "Pod"): (
        _NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, _pod_restarts),
        _AGE,
        ("IP", "string", 1, _str("status", "podIP")),
        ("Node", "string", 1, _str("spec", "nodeName")),
        ("Nominated Node", "string", 1, _str("status", "nominatedNodeName")),
        ("Readiness Gates", "string", 1, lambda o, n: "<none>"),
    ),
    ("", "Service"): (
        _NAME,
        ("Type", "string", 0, _str("spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", 0, _str("spec", "clusterIP")),
        ("External-IP", "string", 0, _svc_external_ip),
        ("Port(s)", "string", 0, _svc_ports),
        _AGE,
        ("Selector", "string", 1, _selector),
    ),
    ("", "ConfigMap"): (_NAME, ("Data", "integer", 0, _data_count), _AGE),
    ("", "Secret"): (
        _NAME,
        ("Type", "string", 0, _str("type", default="Opaque")),
        ("Data", "integer", 0, _data_count),
        _AGE,
    ),
    ("", "Namespace"): (_NAME, ("Status", "string", 0, _str("status", "phase", default="")), _AGE),
    ("", "ServiceAccount"): (_NAME, ("Secrets", "integer", 0, _secrets_count), _AGE),
}

DEFAULT_COLUMNS: tuple[Column, ...] = (_NAME, _AGE)


def columns_for(group: str, kind: str) -> tuple[Column, ...]:
    return PRINTERS.get((group, kind), DEFAULT_COLUMNS)


def column_definitions(columns: Sequence[Column]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, typ, prio, _ in columns:
        desc = NAME_DESCRIPTION if name == "Name" else AGE_DESCRIPTION if name == "Age" else name
        out.append(
            {
                "name": name,
                "type": typ,
                "format": "name" if name == "Name" else "",
                "description": desc,
                "priority": prio,
            }
        )
    return out


def row_cells(columns: Sequence[Column], obj: Mapping[str, Any], now: datetime) -> list[Cell]:
    return [fn(obj, now) for _, _, _, fn in columns]


def utcnow() -> datetime:
    return datetime.now(UTC)
