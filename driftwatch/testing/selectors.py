"""Label and field selectors with the apiserver's grammar and semantics.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``,
``!a``, ``a>1``, ``a<1``, comma-separated (AND).  Field selectors: ``field=value``,
``field==value``, ``field!=value``, comma-separated (AND), with ``\\,`` ``\\=`` ``\\\\``
escapes; each resource supports a fixed set of fields (``metadata.name`` and
``metadata.namespace`` always), anything else is ``field label not supported: X``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    """A selector that does not parse, or names an unsupported field (HTTP 400)."""


# ---------------------------------------------------------------------------------------
# label selectors


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:
            return False
        try:
            number = int(str(value))
        except ValueError:
            return False
        bound = int(self.values[0])
        return number > bound if self.op == "gt" else number < bound


_SPECIAL = set(" \t\n,()=!<>")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\n":
            i += 1
        elif ch in "(),<>":
            tokens.append(ch)
            i += 1
        elif ch in "=!":
            if text.startswith("==", i) or text.startswith("!=", i):
                tokens.append(text[i : i + 2])
                i += 2
            else:
                tokens.append(ch)
                i += 1
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIAL:
                j += 1
            tokens.append("\x00" + text[i:j])  # mark identifiers
            i = j
    return tokens


def _ident(tok: str | None) -> str | None:
    return tok[1:] if tok is not None and tok.startswith("\x00") else None


def _shown(tok: str | None) -> str:
    if tok is None:
        return ""
    return _ident(tok) or tok


def parse_label_selector(text: str) -> list[LabelRequirement]:
    """Parse a label selector; raises :class:`SelectorError` like the apiserver would reject it."""
    tokens = _tokenize(text)
    if not tokens:
        return []
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str | None:
        nonlocal pos
        tok = peek()
        pos += 1
        return tok

    def fail(found: str | None, expected: str) -> SelectorError:
        return SelectorError(
            f"unable to parse requirement: found '{_shown(found)}', expected: {expected}"
        )

    reqs: list[LabelRequirement] = []
    while True:
        tok = take()
        if tok == "!":
            key_tok = take()
            key = _ident(key_tok)
            if key is None:
                raise fail(key_tok, "identifier")
            reqs.append(LabelRequirement(key, "!"))
        else:
            key = _ident(tok)
            if key is None:
                raise fail(tok, "!, identifier, or 'end of string'")
            nxt = peek()
            if nxt is None or nxt == ",":
                reqs.append(LabelRequirement(key, "exists"))
            else:
                op_tok = take()
                word = _ident(op_tok)
                if op_tok in ("=", "==", "!="):
                    value = _ident(peek())
                    if value is not None:
                        take()
                    op = "!=" if op_tok == "!=" else "="
                    reqs.append(LabelRequirement(key, op, (value or "",)))
                elif op_tok in ("<", ">"):
                    val = _ident(take())
                    if val is None or not val.lstrip("-").isdigit():
                        raise SelectorError(
                            f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {val!r}"
                        )
                    reqs.append(LabelRequirement(key, "gt" if op_tok == ">" else "lt", (val,)))
                elif word in ("in", "notin"):
                    paren = take()
                    if paren != "(":
                        raise fail(paren, "'('")
                    values: list[str] = []
                    while True:
                        item = take()
                        if item == ")":
                            break
                        val = _ident(item)
                        if val is None and item == ",":
                            values.append("")
                            continue
                        if val is None:
                            raise fail(item, "',', ')' or identifier")
                        values.append(val)
                        sep = take()
                        if sep == ")":
                            break
                        if sep != ",":
                            raise fail(sep, "',' or ')'")
                    if not values:
                        raise SelectorError(
                            "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty"
                        )
                    reqs.append(LabelRequirement(key, word, tuple(values)))
                else:
                    raise fail(op_tok, "=, ==, !=, <, >, in, notin")
        tok = take()
        if tok is None:
            return reqs
        if tok != ",":
            raise fail(tok, "',' or 'end of string'")
        if peek() is None:
            raise fail(None, "identifier")


def match_labels(reqs: list[LabelRequirement], labels: Mapping[str, str]) -> bool:
    return all(r.matches(labels) for r in reqs)


# ---------------------------------------------------------------------------------------
# field selectors


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str

    def matches(self, actual: str) -> bool:
        return (actual == self.value) if self.op == "=" else (actual != self.value)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_field_selector(text: str) -> list[FieldRequirement]:
    """Parse a field selector (syntax only; :func:`check_fields` validates field names)."""
    reqs: list[FieldRequirement] = []
    if not text.strip():
        return reqs
    for term in _split_unescaped(text, ","):
        for op, norm in (("!=", "!="), ("==", "="), ("=", "=")):
            idx = _find_unescaped(term, op)
            if idx >= 0:
                reqs.append(
                    FieldRequirement(term[:idx].strip(), norm, _unescape(term[idx + len(op) :]))
                )
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
    return reqs


def _find_unescaped(text: str, needle: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(needle, i):
            return i
        i += 1
    return -1


FieldGetter = Callable[[Mapping[str, Any]], str]


def _path(*keys: str) -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str:
        cur: Any = obj
        for key in keys:
            if not isinstance(cur, Mapping):
                return ""
            cur = cur.get(key)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


COMMON_FIELDS: Mapping[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

# Extra field labels the apiserver supports per (group, kind).
EXTRA_FIELDS: Mapping[tuple[str, str], Mapping[str, FieldGetter]] = {
    ("", "Pod"): {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    ("", "Secret"): {"type": _path("type")},
    ("", "Namespace"): {"status.phase": _path("status", "phase")},
    ("", "Node"): {"spec.unschedulable": _path("spec", "unschedulable")},
    ("", "ReplicationController"): {"status.replicas": _path("status", "replicas")},
    ("apps", "ReplicaSet"): {"status.replicas": _path("status", "replicas")},
    ("batch", "Job"): {"status.successful": _path("status", "succeeded")},
    ("", "Event"): {
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
}


def field_getters(
    group: str, kind: str, reqs: list[FieldRequirement]
) -> list[tuple[FieldRequirement, FieldGetter]]:
    """Pair each requirement with its getter; unsupported fields raise :class:`SelectorError`."""
    extra = EXTRA_FIELDS.get((group, kind), {})
    out: list[tuple[FieldRequirement, FieldGetter]] = []
    for req in reqs:
        getter = COMMON_FIELDS.get(req.field) or extra.get(req.field)
        if getter is None:
            raise SelectorError(f"field label not supported: {req.field}")
        out.append((req, getter))
    return out
