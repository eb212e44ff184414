"""Exact coefficients: integers and rationals, never floats.

Every coefficient that enters a :class:`~discovery.core.scheme.Scheme` passes
through :func:`exact`, which accepts Python/numpy integers, ``Fraction`` and
strings ``"p/q"``, and refuses floats.  Floats from other tools (AlphaTensor's
files, a gradient search) are converted on purpose with :func:`from_float`,
which refuses any value that is not an exact small rational.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Iterable

import numpy as np

from discovery.core.errors import InvalidInputError

__all__ = ["exact", "from_float", "mod2", "to_json", "common_denominator", "COEFFICIENT_SETS", "coefficient_set",
           "coefficient_values"]

_RATIONAL = re.compile(r"^\s*([+-]?\d+)\s*(?:/\s*(\d+)\s*)?$")

#: Named coefficient sets used by the search engines and solvers.
COEFFICIENT_SETS: dict[str, tuple[Fraction, ...]] = {
    "ternary": tuple(Fraction(v) for v in (-1, 0, 1)),
    "int2": tuple(Fraction(v) for v in (-2, -1, 0, 1, 2)),
    "dyadic": tuple(
        Fraction(v) for v in ("-2", "-1", "-1/2", "0", "1/2", "1", "2")
    ),
    # small rationals for Winograd transforms: p/q with |p| <= 2, q in {1, 2, 3, 4, 6, 8, 12, 24}
    "rational": tuple(sorted({Fraction(p, q) for p in range(-2, 3) for q in (1, 2, 3, 4, 6, 8, 12, 24)})),
}


def coefficient_set(name: str) -> tuple[Fraction, ...]:
    """The coefficient set called ``name`` (``ternary``, ``int2``, ``dyadic``, ``rational``).

    Examples
    --------
    >>> [str(c) for c in coefficient_set("dyadic")]
    ['-2', '-1', '-1/2', '0', '1/2', '1', '2']
    """
    try:
        return COEFFICIENT_SETS[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown coefficient set {name!r}: expected one of {', '.join(COEFFICIENT_SETS)}"
        ) from None


def exact(value: Any, where: str = "coefficient") -> int | Fraction:
    """Return ``value`` as an exact ``int`` or ``Fraction`` (ints when integral).

    Parameters
    ----------
    value : int, numpy integer, Fraction or str
        Strings are ``"p"`` or ``"p/q"``.
    where : str
        Named in the error message (e.g. ``"U[3][1]"``).

    Raises
    ------
    InvalidInputError
        For floats, booleans, zero denominators and anything else.

    Examples
    --------
    >>> exact("3/6"), exact(4), exact("-2")
    (Fraction(1, 2), 4, -2)
    >>> exact(0.5)
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: coefficient: float 0.5 where an exact integer or "p/q" is required
    """
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise InvalidInputError(f"{where}: boolean {value!r} is not a coefficient")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else value
    if isinstance(value, (float, np.floating)):
        raise InvalidInputError(
            f'{where}: float {value!r} where an exact integer or "p/q" is required'
        )
    if isinstance(value, str):
        match = _RATIONAL.match(value)
        if not match:
            raise InvalidInputError(f'{where}: {value!r} is not an integer or "p/q"')
        num = int(match.group(1))
        den = int(match.group(2)) if match.group(2) is not None else 1
        if den == 0:
            raise InvalidInputError(f"{where}: zero denominator in {value!r}")
        f = Fraction(num, den)
        return int(f) if f.denominator == 1 else f
    # sympy Integer / Rational, without importing sympy here
    if hasattr(value, "p") and hasattr(value, "q") and getattr(value, "is_Rational", False):
        return exact(Fraction(int(value.p), int(value.q)), where)
    raise InvalidInputError(f"{where}: {value!r} ({type(value).__name__}) is not an exact coefficient")


def from_float(value: float, where: str = "coefficient", max_denominator: int = 1024) -> int | Fraction:
    """Convert a float that holds an exact small rational (0.5, 0.125, -3.0).

    The float must equal ``p/q`` exactly with ``q <= max_denominator``;
    otherwise the value is refused rather than approximated.

    Examples
    --------
    >>> from_float(0.125), from_float(-3.0)
    (Fraction(1, 8), -3)
    >>> from_float(0.1)
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: coefficient: 0.1 is not an exact rational with denominator <= 1024
    """
    if isinstance(value, (int, np.integer, Fraction)) and not isinstance(value, bool):
        return exact(value, where)
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(f):
        raise InvalidInputError(f"{where}: {f!r} is not finite")
    frac = Fraction(f)  # exact binary value of the float
    if frac.denominator > max_denominator:
        raise InvalidInputError(
            f"{where}: {f!r} is not an exact rational with denominator <= {max_denominator}"
        )
    return int(frac) if frac.denominator == 1 else frac


def mod2(value: int | Fraction) -> int:
    """The image of an exact coefficient in F2 (odd denominators only).

    Examples
    --------
    >>> mod2(3), mod2(Fraction(1, 3)), mod2(-2)
    (1, 1, 0)
    """
    if isinstance(value, Fraction):
        if value.denominator % 2 == 0:
            raise InvalidInputError(f"coefficient {value} has an even denominator: no image mod 2")
        return (value.numerator * pow(value.denominator, -1, 2)) % 2
    return int(value) % 2


def to_json(value: int | Fraction) -> int | str:
    """JSON form of a coefficient: an int, or the string ``"p/q"``.

    Examples
    --------
    >>> to_json(3), to_json(Fraction(-1, 2))
    (3, '-1/2')
    """
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return int(value)


def common_denominator(values: Iterable[int | Fraction]) -> int:
    """Least common multiple of the denominators (1 for integers).

    Examples
    --------
    >>> common_denominator([1, Fraction(1, 2), Fraction(2, 3)])
    6
    """
    d = 1
    for v in values:
        if isinstance(v, Fraction):
            d = math.lcm(d, v.denominator)
    return d


def coefficient_values(spec: Any, where: str = "coefficients") -> tuple[Fraction, ...]:
    """A coefficient set given by name or by its values, as sorted Fractions.

    ``spec`` is a name of :data:`COEFFICIENT_SETS`, a comma-separated list of
    exact values (``"0,1,-1,1/2,-1/2"``) or an iterable of exact values.

    Raises
    ------
    InvalidInputError
        For an unknown name, a value that is not exact, or an empty set.

    Examples
    --------
    >>> [str(v) for v in coefficient_values("ternary")]
    ['-1', '0', '1']
    >>> [str(v) for v in coefficient_values("0, 1/2, -1/2")]
    ['-1/2', '0', '1/2']
    >>> len(coefficient_values("rational"))
    21
    >>> coefficient_values("quaternary")
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: coefficients: unknown set 'quaternary': use ternary, int2, dyadic, rational or a list such as 0,1,-1,1/2
    """
    if isinstance(spec, str):
        text = spec.strip()
        if text in COEFFICIENT_SETS:
            return COEFFICIENT_SETS[text]
        if "," not in text and not _RATIONAL.match(text):
            raise InvalidInputError(
                f"{where}: unknown set {spec!r}: use {', '.join(COEFFICIENT_SETS)} or a list such as 0,1,-1,1/2"
            )
        items: Iterable[Any] = [t for t in text.split(",")]
    else:
        try:
            items = list(spec)
        except TypeError:
            raise InvalidInputError(f"{where}: expected a set name or values, got {spec!r}") from None
    values = set()
    for item in items:
        if isinstance(item, str) and not item.strip():
            raise InvalidInputError(f"{where}: empty value in {spec!r}")
        values.add(Fraction(exact(item.strip() if isinstance(item, str) else item, where)))
    if not values:
        raise InvalidInputError(f"{where}: the coefficient set is empty")
    return tuple(sorted(values))
