"""Canonical quantities, on the cases of upstream's own tests (kubernetes/kubernetes
staging/src/k8s.io/apimachinery/pkg/api/resource/quantity_test.go: TestQuantityString's
alternates and TestQuantityParseEmit)."""

from __future__ import annotations

import pytest

from driftwatch.testing.quantity import canonical


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("1024Mi", "1Gi"),
        ("307200Ki", "300Mi"),
        ("1025024Mi", "1001Gi"),
        ("1024Gi", "1Ti"),
        ("5000m", "5"),
        ("0.5", "500m"),
        ("1000M", "1G"),
        ("0.001T", "1G"),
        ("1000u", "1m"),
        ("1.08", "1080m"),
        ("1080000000n", "1080m"),
        (".001e12", "1e9"),
        ("0.001e0", "1e-3"),
        ("1000e-12", "1e-9"),
        ("00", "0"),
        ("1Ki", "1Ki"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        ("3k", "3k"),
        ("1025", "1025"),
        ("-1024Mi", "-1Gi"),
        ("-0.5", "-500m"),
        (2, "2"),
        (0.5, "500m"),
    ],
)
def test_the_canonical_form_upstream_stores(written: object, stored: str) -> None:
    assert canonical(written) == stored


@pytest.mark.parametrize("garbage", ["aoeu", "1.1.M", "0.1mi", True, None, [1]])
def test_what_does_not_parse_is_left_alone(garbage: object) -> None:
    assert canonical(garbage) == garbage
