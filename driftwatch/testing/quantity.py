"""``resource.Quantity`` in its canonical form, as the apiserver stores it.

The apiserver decodes every ``resource.Quantity`` into Go and writes it back canonical
(``0.5`` → ``500m``, ``1024Mi`` → ``1Gi``, ``1000M`` → ``1G``): kubernetes/kubernetes
staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go ``CanonicalizeBytes``.  The
test API server does the same on server-side apply, so a dry run answers what a real one
would.  The format follows the suffix: binary (``Ki``…``Ei``), decimal SI (``n``…``E``) or
a decimal exponent (``e3``); a binary amount below 1024 or with a fraction is written
decimal; amounts are rounded up to nano precision.
"""

from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal, InvalidOperation
from typing import Any

from driftwatch.engine.paths import Path
from driftwatch.providers.kubernetes.schema import KindSchema

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_SI_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(.*)$")
_NANO = Decimal("1e-9")


def canonical(value: Any) -> Any:
    """The canonical text of a quantity; anything that does not parse is left as it is."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    match = _NUMBER.match(str(value).strip())
    if match is None:
        return value
    number, suffix = match.groups()
    try:
        amount = Decimal(number)
        if suffix in _BINARY:
            amount *= 2 ** _BINARY[suffix]
            binary, exponent_format = True, False
        elif suffix in _DECIMAL:
            amount = amount.scaleb(_DECIMAL[suffix])
            binary, exponent_format = False, False
        elif re.fullmatch(r"[eE][+-]?\d+", suffix):
            amount = amount.scaleb(int(suffix[1:]))
            binary, exponent_format = False, True
        else:
            return value
    except (InvalidOperation, ValueError, OverflowError):
        return value
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:  # finer than nano: rounded up
        amount = amount.quantize(_NANO, rounding=ROUND_UP)
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if binary and amount >= 1024 and amount == amount.to_integral_value():
        mantissa, power = int(amount), 0
        while mantissa % 1024 == 0 and power < 60:
            mantissa //= 1024
            power += 10
        suffix = {0: "", **{p: s for s, p in _BINARY.items()}}[power]
        return f"{sign}{mantissa}{suffix}"
    _, digits, exponent = amount.normalize().as_tuple()
    if not isinstance(exponent, int):  # infinity or NaN
        return value
    mantissa = int("".join(map(str, digits)))
    base = exponent - exponent % 3  # the largest multiple of 3 not above it
    mantissa *= 10 ** (exponent - base)
    if exponent_format:
        return f"{sign}{mantissa}" + (f"e{base}" if base else "")
    while base > 18:  # beyond exa: a longer mantissa
        mantissa, base = mantissa * 1000, base - 3
    return f"{sign}{mantissa}{_SI_SUFFIX[base]}"


def canonicalize(obj: Any, kind: KindSchema, path: Path = ()) -> Any:
    """``obj`` with every value the kind's schema types a ``resource.Quantity`` canonical."""
    if isinstance(obj, dict):
        return {k: canonicalize(v, kind, (*path, k)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [canonicalize(v, kind, (*path, i)) for i, v in enumerate(obj)]
    return canonical(obj) if kind.scalar(path) == "quantity" else obj
