"""Numeric verification: is the scheme right, and how accurate is it in a dtype?

The two questions are kept apart, because a float tolerance cannot answer the
first one: in float16 an exact 8x8x8 or F(6x6,3x3) scheme loses as much
accuracy as a wrong 4x4x4 scheme shows error, so any fixed tolerance either
fails exact schemes or passes wrong ones.

*Right or wrong* (every dtype)
    A randomized identity test: the scheme and the problem's definition
    (:meth:`~discovery.core.problems.Problem.direct`, not the tensor) are
    evaluated in exact integer arithmetic on ``samples`` random integer
    inputs from {-8, ..., 8}.  An exact scheme always agrees.  A wrong one
    differs by a nonzero polynomial of degree 2, which vanishes at a random
    point with probability at most 2/17 (Schwartz-Zippel), so it passes all
    256 default samples with probability below 1e-238 (mod 2: (3/4)**256,
    below 1e-31).  In float64 and float32 the scheme's error on the accuracy
    inputs must also stay within the rigorous a-priori rounding bound that
    every exact scheme satisfies (``gamma_k * |W|^T (|U||x| * |V||y|)`` with
    ``k = nx + ny + R + 4``); a wrong scheme can exceed it, an exact one
    cannot.  In float16 that bound is looser than the error of a dropped
    product, so there it is not used.
*Accuracy* (a measurement, in the requested dtype)
    The maximum relative error against the float64 definition on standard
    normal inputs (rounded to the dtype), next to the standard algorithm's
    error on the same inputs in the same dtype: the ratio says how much
    accuracy the scheme costs.  ``tolerance`` makes it a requirement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from discovery.core.errors import InvalidInputError
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator
from verify.exact import integer_factors
from verify.result import Verification

__all__ = ["NumericReport", "numeric_report", "numeric_error", "verify_numeric", "DTYPES"]

#: The dtypes measured, by name.
DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}
#: Dtypes in which the rigorous rounding bound is also checked.
_BOUNDED = ("float64", "float32")
_SPREAD = 8  # identity-test inputs are uniform on {-8, ..., 8}


@dataclass(frozen=True)
class NumericReport:
    """What :func:`numeric_report` measured.

    Attributes
    ----------
    dtype : str
    error : float
        Max relative error of the scheme in ``dtype`` (``inf`` when not finite).
    standard_error : float
        The same for the standard algorithm (the problem's definition) in ``dtype``.
    bound : float or None
        Max relative rounding bound of an exact scheme in ``dtype`` (None where not used).
    exceeds_bound : int
        Output entries whose error exceeds that bound (only a wrong scheme has any).
    identity_wrong : int
        Output entries that differ from the definition on the integer inputs.
    identity_first : str
        The first such difference, or "".
    miss_probability : float
        Upper bound on the chance that a wrong scheme passes the identity test.
    samples : int
    """

    dtype: str
    error: float
    standard_error: float
    bound: Optional[float]
    exceeds_bound: int
    identity_wrong: int
    identity_first: str
    miss_probability: float
    samples: int

    @property
    def ratio(self) -> float:
        """``error / standard_error`` (1 when both are 0)."""
        if self.standard_error > 0:
            return self.error / self.standard_error
        return 1.0 if self.error == 0 else math.inf

    @property
    def finite(self) -> bool:
        return math.isfinite(self.error)

    @property
    def wrong(self) -> bool:
        """True when the scheme was shown wrong (never for an exact scheme)."""
        return self.identity_wrong > 0 or self.exceeds_bound > 0


def _check(dtype: str, samples: int) -> None:
    if dtype not in DTYPES:
        raise InvalidInputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise InvalidInputError(f"samples must be a positive integer, got {samples!r}")


def _float_matrix(mat: np.ndarray, dtype) -> np.ndarray:
    """Exact coefficients as floats; values beyond the float range become +-inf (never OverflowError)."""
    try:
        with np.errstate(over="ignore"):
            return mat.astype(np.float64).astype(dtype)
    except OverflowError:
        pass
    out = np.empty(mat.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(mat):
        try:
            out[idx] = float(v)
        except OverflowError:
            out[idx] = math.inf if v > 0 else -math.inf
    with np.errstate(over="ignore"):
        return out.astype(dtype)


def _gamma(k: int, unit: float) -> float:
    ku = k * unit
    return math.inf if ku >= 1 else ku / (1 - ku)


def _identity_test(scheme: Scheme, samples: int, rng) -> tuple[int, str, float]:
    """Exact evaluation of scheme and definition on random integer inputs."""
    p = scheme.problem
    nx, ny, nz = p.shape
    f2 = scheme.field == "F2"
    low, high = (0, 1) if f2 else (-_SPREAD, _SPREAD)
    x = rng.integers(low, high + 1, size=(samples, nx))
    y = rng.integers(low, high + 1, size=(samples, ny))
    (nu, du), (nv, dv), (nw, dw) = integer_factors(scheme)
    big = any(m.dtype == object for m in (nu, nv, nw))
    exact_float = False
    if not big:
        su = int(np.abs(nu).sum(axis=1).max()) * high
        sv = int(np.abs(nv).sum(axis=1).max()) * high
        bound = su * sv * int(np.abs(nw).sum(axis=0).max())
        big = bound >= 2**62
        exact_float = bound < 2**53  # every partial sum an integer below 2**53: float64 products are exact
    if big:
        x, y = x.astype(object), y.astype(object)
        nu, nv, nw = (m.astype(object) for m in (nu, nv, nw))
    if exact_float:
        fx, fy = x.astype(np.float64), y.astype(np.float64)
        got = (((fx @ nu.T.astype(np.float64)) * (fy @ nv.T.astype(np.float64))) @ nw.astype(np.float64))
        got = got.astype(np.int64)
    else:
        got = ((x @ nu.T) * (y @ nv.T)) @ nw          # = (du dv dw) * scheme(x, y), exactly
    want = np.asarray(p.direct(x.astype(object) if big else x, y.astype(object) if big else y))
    scale = du * dv * dw
    diff = got - want * scale if not f2 else (got - want * scale) % 2
    bad = np.argwhere(diff != 0)
    miss = (0.75 if f2 else 2 / (2 * _SPREAD + 1)) ** samples
    if len(bad) == 0:
        return 0, "", miss
    s, c = (int(i) for i in bad[0])
    wrong = len({int(c) for _, c in bad})
    first = (f"z[{c}] is {_fraction(got[s, c], scale)} instead of {want[s, c]} on integer inputs "
             f"x={x[s].tolist()}, y={y[s].tolist()}")
    if len(first) > 240:
        first = first[:240] + " ..."
    return wrong, first, miss


def _fraction(num, den) -> str:
    from fractions import Fraction

    return str(Fraction(int(num), int(den)))


def _abs_definition(problem, ax: np.ndarray, ay: np.ndarray) -> np.ndarray:
    """``sum_ab |T[a, b, c]| |x_a| |y_b|``: the definition applied to absolute values."""
    t = problem.tensor()
    if t.min() >= 0:
        return np.asarray(problem.direct(ax, ay), dtype=np.float64)
    return np.einsum("sa,sb,abc->sc", ax, ay, np.abs(t).astype(np.float64))


def numeric_report(scheme: Scheme, dtype: str = "float64", samples: int = 256, seed=0) -> NumericReport:
    """Measure the scheme in ``dtype`` and test it against its definition.

    Parameters
    ----------
    scheme : Scheme
    dtype : {"float64", "float32", "float16"}
    samples : int
        Random input pairs, for the accuracy and for the identity test each.
    seed : int or Generator

    Returns
    -------
    NumericReport

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> rep = numeric_report(strassen(), "float32")
    >>> rep.wrong, rep.error < 1e-6, rep.ratio < 10
    (False, True, True)
    """
    _check(dtype, samples)
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    rng = as_generator(seed)
    wrong, first, miss = _identity_test(scheme, samples, rng)
    if scheme.field == "F2":  # arithmetic mod 2 has no rounding to measure
        return NumericReport(dtype, 0.0, 0.0, None, 0, wrong, first, miss, samples)
    p = scheme.problem
    nx, ny, _ = p.shape
    ft = DTYPES[dtype]
    xd = rng.standard_normal((samples, nx)).astype(ft)
    yd = rng.standard_normal((samples, ny)).astype(ft)
    x64, y64 = xd.astype(np.float64), yd.astype(np.float64)
    # the reference in extended precision (x87 long double where the platform has it), so that the
    # standard algorithm's own float64 error can be measured
    ref = np.asarray(p.direct(x64.astype(np.longdouble), y64.astype(np.longdouble)), dtype=np.longdouble)
    scale = float(np.abs(ref).max()) or 1.0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        u, v, w = (_float_matrix(m, ft) for m in scheme.factors)
        z = (((xd @ u.T) * (yd @ v.T)) @ w).astype(np.longdouble)
        std = np.asarray(p.direct(xd, yd)).astype(np.longdouble)
        dev = np.abs(z - ref).astype(np.float64)
        error = float(dev.max()) / scale if np.all(np.isfinite(z)) else math.inf
        standard_error = float(np.abs(std - ref).max()) / scale if np.all(np.isfinite(std)) else math.inf
    bound = None
    exceeds = 0
    if dtype in _BOUNDED and math.isfinite(error):
        unit = float(np.finfo(ft).eps) / 2
        k = nx + ny + scheme.rank + 4
        ua, va, wa = (np.abs(_float_matrix(m, np.float64)) for m in scheme.factors)
        magnitude = ((np.abs(x64) @ ua.T) * (np.abs(y64) @ va.T)) @ wa
        unit_ref = float(np.finfo(np.longdouble).eps) / 2
        ref_bound = _gamma(nx * ny + 2, unit_ref) * _abs_definition(p, np.abs(x64), np.abs(y64))
        limit = (_gamma(k, unit) * magnitude + ref_bound) * (1 + 1e-6)
        exceeds = int(np.count_nonzero(np.any(dev > limit, axis=0)))
        bound = float(limit.max()) / scale
    return NumericReport(dtype, error, standard_error, bound, exceeds, wrong, first, miss, samples)


def numeric_error(scheme: Scheme, dtype: str = "float64", samples: int = 256, seed=0) -> float:
    """Max relative error of the scheme in ``dtype`` against float64 direct.

    Operands are standard normal (rounded to ``dtype``); the error is
    ``max |z - z_ref| / max |z_ref|`` over all samples, with ``z_ref`` the
    problem's definition in float64.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> numeric_error(standard_scheme(matmul(3, 3, 3))) < 1e-14
    True
    """
    return numeric_report(scheme, dtype, samples, seed).error


def verify_numeric(scheme: Scheme, dtype: str = "float64", tolerance: float | None = None,
                   samples: int = 256, seed=0) -> Verification:
    """Fail a wrong scheme in every dtype; report the accuracy in ``dtype``.

    Fails when the identity test shows the scheme wrong, when (float64,
    float32) its error exceeds the rounding bound of any exact scheme, or
    when ``tolerance`` is given and the relative error in ``dtype`` is above
    it.  Otherwise passes, and ``reason`` gives the accuracy measured: the
    error, and its ratio to the standard algorithm's in the same dtype.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import correlation
    >>> s = standard_scheme(correlation(2, 3))
    >>> verify_numeric(s, "float16").ok
    True
    >>> W = s.W.copy(); W[0, 0] = 0
    >>> bad = verify_numeric(s.replace(W=W), "float16"); bad.ok
    False
    >>> bad.reason.split(";")[0]
    'wrong: 1 output differs from the definition on random integer inputs'
    """
    rep = numeric_report(scheme, dtype, samples, seed)
    if rep.identity_wrong:
        n = rep.identity_wrong
        return Verification(False, "numeric",
                            f"wrong: {n} output{'' if n == 1 else 's'} differ{'s' if n == 1 else ''} from the "
                            f"definition on random integer inputs; first {rep.identity_first}", n)
    if rep.exceeds_bound:
        return Verification(False, "numeric",
                            f"wrong: error {rep.error:.3g} in {dtype} exceeds the rounding bound {rep.bound:.3g} "
                            f"of any exact scheme in {rep.exceeds_bound} outputs", rep.exceeds_bound)
    if scheme.field == "F2":
        return Verification(True, "numeric", f"exact mod 2 on {rep.samples} random inputs (no rounding mod 2)")
    text = _accuracy(rep)
    if tolerance is not None and not rep.error <= tolerance:
        return Verification(False, "numeric", f"{text} exceeds the tolerance {tolerance:.3g}", 1)
    return Verification(True, "numeric", text)


def _accuracy(rep: NumericReport) -> str:
    if not rep.finite:
        return f"not finite in {rep.dtype} (overflow); standard algorithm's error {rep.standard_error:.3g}"
    return (f"max relative error {rep.error:.3g} in {rep.dtype} "
            f"({rep.ratio:.3g}x the standard algorithm's {rep.standard_error:.3g})")
