"""Templates from driftwatch.yaml fill {field} and nothing else."""

from __future__ import annotations

import pytest

from driftwatch.reconcile.template import TemplateError, fill

FIELDS = {"name": "web", "kind": "deployment"}


def test_fields_and_escaped_braces_are_filled() -> None:
    assert fill("{kind}/{name}-{{x}}.yaml", FIELDS, "reconcile.importPath") == (
        "deployment/web-{x}.yaml"
    )


@pytest.mark.parametrize(
    "template",
    ["{name:>999999999}", "{name.__class__}", "{name[0]}", "{name!r}", "{0}", "{}", "{other}"],
)
def test_anything_else_is_refused_without_evaluating_it(template: str) -> None:
    with pytest.raises(
        TemplateError, match=r"reconcile\.branch .* is not one of \{name\}, \{kind\}"
    ):
        fill(template, FIELDS, "reconcile.branch")


def test_unbalanced_braces_are_refused() -> None:
    with pytest.raises(TemplateError, match=r"reconcile\.branch"):
        fill("{name", FIELDS, "reconcile.branch")
