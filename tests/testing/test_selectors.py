"""Label and field selector parsing and matching."""

from __future__ import annotations

import pytest

from driftwatch.testing.selectors import (
    SelectorError,
    field_getters,
    match_labels,
    parse_field_selector,
    parse_label_selector,
)

LABELS = {"app": "web", "tier": "frontend", "rank": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=api", False),
        ("app!=api", True),
        ("missing!=x", True),
        ("app in (api, web)", True),
        ("app in (api)", False),
        ("app notin (api,db)", True),
        ("missing notin (x)", True),
        ("missing in (x)", False),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("app=web,tier=frontend", True),
        ("app=web, tier=backend", False),
        ("rank>2", True),
        ("rank<2", False),
        ("app=", False),
        ("app in (web,),tier", True),
    ],
)
def test_label_selector_semantics(selector: str, matches: bool) -> None:
    assert match_labels(parse_label_selector(selector), LABELS) is matches


@pytest.mark.parametrize(
    "selector", ["app in web", "app in ()", "=web", "app=web,", "app web", "!", "rank>x", "a in (b"]
)
def test_label_selector_errors(selector: str) -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement"):
        parse_label_selector(selector)


def test_field_selector() -> None:
    obj = {"metadata": {"name": "a,b", "namespace": "ns"}, "type": "Opaque"}
    reqs = field_getters("", "Secret", parse_field_selector(r"metadata.name=a\,b,type!=tls"))
    assert [(r.field, r.op, r.value) for r, _ in reqs] == [
        ("metadata.name", "=", "a,b"),
        ("type", "!=", "tls"),
    ]
    assert all(r.matches(get(obj)) for r, get in reqs)
    assert parse_field_selector("metadata.namespace==ns")[0].op == "="
    with pytest.raises(SelectorError, match="field label not supported: type"):
        field_getters("", "ConfigMap", parse_field_selector("type=x"))
    with pytest.raises(SelectorError, match="invalid selector"):
        parse_field_selector("metadata.name")
