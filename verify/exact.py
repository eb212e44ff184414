"""Exact verification: rebuild the tensor from U, V, W in integer arithmetic.

Rational factors are scaled to integers by their common denominators, so the
check ``sum_r U[r] (x) V[r] (x) W[r] == T`` is done on integers with no
rounding anywhere.  F2 schemes are checked mod 2.  int64 is used when a bound
on every partial sum shows it cannot overflow; Python integers otherwise.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from discovery.core.errors import NotExactError
from discovery.core.scheme import Scheme
from verify.result import Verification

__all__ = ["reconstruct_scaled", "residual", "wrong_entries", "verify_exact", "check_exact"]

_INT64_SAFE = 2**62


def reconstruct_scaled(scheme: Scheme) -> tuple[np.ndarray, int]:
    """``(N, D)`` with ``N / D == sum_r U[r] (x) V[r] (x) W[r]`` exactly.

    ``N`` has shape ``(nx, ny, nz)``; it is int64 or an object array of ints.
    """
    (nu, du), (nv, dv), (nw, dw) = scheme.integer_factors()
    rank = scheme.rank
    nx, ny, nz = scheme.problem.shape
    small = all(m.dtype != object for m in (nu, nv, nw))
    if small:
        bound = rank * max(1, int(np.abs(nu).max())) * max(1, int(np.abs(nv).max())) * max(
            1, int(np.abs(nw).max())
        )
        small = bound < _INT64_SAFE
    if small:
        uv = (nu[:, :, None] * nv[:, None, :]).reshape(rank, nx * ny)
        n = (uv.T @ nw).reshape(nx, ny, nz)
    else:
        nu, nv, nw = (m.astype(object) for m in (nu, nv, nw))
        uv = (nu[:, :, None] * nv[:, None, :]).reshape(rank, nx * ny)
        n = uv.T.dot(nw).reshape(nx, ny, nz)
    return n, du * dv * dw


def residual(scheme: Scheme) -> np.ndarray:
    """The exact residual ``sum_r U[r] (x) V[r] (x) W[r] - T``.

    int64 for integer schemes, an object array of ``Fraction`` otherwise;
    reduced mod 2 (entries 0/1) for F2 schemes.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> int(abs(residual(standard_scheme(matmul(2, 2, 2)))).sum())
    0
    """
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    if scheme.field == "F2":
        return np.asarray((n - t * d) % 2, dtype=np.int64)
    if d == 1:
        return n - t if n.dtype != object else (n - t.astype(object))
    diff = n - t.astype(object) * d
    return np.vectorize(lambda v: Fraction(int(v), d), otypes=[object])(diff)


def wrong_entries(scheme: Scheme) -> int:
    """How many tensor entries the scheme gets wrong (0 when exact)."""
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    if scheme.field == "F2":
        return int(np.count_nonzero((n - t * d) % 2))
    return int(np.count_nonzero(n != (t * d if n.dtype != object or d == 1 else t.astype(object) * d)))


def verify_exact(scheme: Scheme) -> Verification:
    """Check ``T == sum_r U[r] (x) V[r] (x) W[r]`` exactly (mod 2 for F2).

    Returns
    -------
    Verification
        ``ok`` with ``level`` "exact" or "mod2"; when wrong, ``reason`` names
        the first wrong entry ``T[a, b, c]`` with expected and actual values.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> s = standard_scheme(matmul(2, 2, 2))
    >>> verify_exact(s).ok
    True
    >>> U = s.U.copy(); U[0, 0] = 2
    >>> bad = verify_exact(s.replace(U=U)); bad.ok, bad.wrong
    (False, 1)
    """
    level = "mod2" if scheme.field == "F2" else "exact"
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    if scheme.field == "F2":
        bad = (n - t * d) % 2 != 0
    else:
        target = t * d if (n.dtype != object and d == 1) else t.astype(object) * d
        bad = np.asarray(n != target, dtype=bool)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return Verification(True, level)
    a, b, c = (int(i) for i in np.argwhere(bad)[0])
    got = Fraction(int(n[a, b, c]), d)
    if scheme.field == "F2":
        got = got % 2
    reason = (
        f"{count} wrong tensor entr{'y' if count == 1 else 'ies'}; first T[{a},{b},{c}]: "
        f"expected {int(t[a, b, c])}, scheme gives {got}"
    )
    return Verification(False, level, reason, count)


def check_exact(scheme: Scheme) -> Scheme:
    """Return ``scheme`` if it is exact, else raise :class:`NotExactError`."""
    result = verify_exact(scheme)
    if not result.ok:
        raise NotExactError(result.reason)
    return scheme
