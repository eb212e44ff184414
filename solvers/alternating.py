"""Alternating exact solves: two factors fixed, the third is linear.

With ``U`` and ``V`` fixed the Brent equations read, for every output ``c``::

    sum_r (U[r, a] * V[r, b]) * W[r, c] == T[a, b, c]      for all (a, b)

a linear system ``M w_c = t_c`` with ``M[(a, b), r] = U[r, a] V[r, b]``.  The
same holds for ``U`` (or ``V``) after moving that factor to the third place.
:func:`solve_factor` solves it exactly over Q (sympy, free parameters set to
zero) or over a coefficient domain (CP-SAT); :func:`alternate` rotates over
the three factors as a refinement move.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Optional

import numpy as np
from sympy import QQ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.sdm import SDM

from discovery.core.errors import InvalidInputError
from discovery.core.scheme import Scheme
from solvers.brent import build_model, solve_model

__all__ = ["solve_factor", "alternate"]

_NAMES = {"U": 0, "V": 1, "W": 2, 0: 0, 1: 1, 2: 2}


def _qq(v):
    f = Fraction(v)
    return QQ(f.numerator, f.denominator)


def _solve_q(scheme: Scheme, which: int) -> Optional[np.ndarray]:
    """Exact least-structure solution over Q of the linear system for one factor
    (sparse fraction-free elimination, free parameters set to zero); None when inconsistent."""
    t = scheme.problem.tensor()
    mats = list(scheme.factors)
    # move the unknown factor to the last place
    order = [o for o in range(3) if o != which] + [which]
    tt = np.transpose(t, order)
    a, b = mats[order[0]], mats[order[1]]
    n0, n1, n2 = tt.shape
    R = scheme.rank
    prod = (a[:, :, None] * b[:, None, :]).reshape(R, n0 * n1)   # M[(i, j), r] = a[r, i] * b[r, j]
    rhs = tt.reshape(n0 * n1, n2)
    rows = {}
    for i in range(n0 * n1):
        entries = {r: _qq(prod[r, i]) for r in np.flatnonzero(prod[:, i] != 0).tolist()}
        entries.update({R + c: QQ(int(rhs[i, c])) for c in np.flatnonzero(rhs[i]).tolist()})
        if entries:
            rows[i] = entries
    reduced, pivots = DomainMatrix.from_rep(SDM(rows, (n0 * n1, R + n2), QQ)).rref()
    if any(p >= R for p in pivots):  # a pivot in the right-hand side: inconsistent
        return None
    out = np.empty((R, n2), dtype=object)
    out[...] = 0
    red = reduced.to_sdm()
    for j, p in enumerate(pivots):
        for c, value in red.get(j, {}).items():
            if c >= R:
                f = Fraction(int(value.numerator), int(value.denominator))
                out[p, c - R] = int(f) if f.denominator == 1 else f
    return out


def solve_factor(
    scheme: Scheme,
    which: Any = "W",
    *,
    over: Any = "Q",
    time_limit: Optional[float] = 10.0,
    seed: int = 0,
) -> Optional[Scheme]:
    """Keep two factors of ``scheme``, solve exactly for the third.

    Parameters
    ----------
    scheme : Scheme
        Its factors other than ``which`` are kept (the scheme may be wrong).
    which : {"U", "V", "W"}
    over : "Q" or a coefficient domain
        ``"Q"``: exact linear algebra over the rationals (free parameters set
        to zero); a domain (``"ternary"``, ...): CP-SAT over that domain.

    Returns
    -------
    Scheme or None
        An exact scheme, or None when no solution exists (or none was found
        in time over a domain).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> broken = s.replace(W=[[0] * 4 for _ in range(7)])
    >>> solve_factor(broken, "W") == s
    True
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    if which not in _NAMES:
        raise InvalidInputError(f"which must be U, V or W, got {which!r}")
    which = _NAMES[which]
    if over == "Q":
        solved = _solve_q(scheme, which)
        if solved is None:
            return None
        mats = list(scheme.factors)
        mats[which] = solved
        field_ = "Z" if all(not isinstance(v, Fraction) for m in mats for v in m.ravel()) else "Q"
        return Scheme(scheme.problem, *mats, field=field_, meta=dict(scheme.meta))
    fixed = [m.tolist() for m in scheme.factors]
    fixed[which] = None
    bm = build_model(scheme.problem, scheme.rank, over, entry_values=fixed, symmetry_breaking=False)
    out = solve_model(bm, time_limit=time_limit, seed=seed)
    if out.status != "found":
        return None
    return out.scheme.with_meta(**dict(scheme.meta))


def alternate(
    scheme: Scheme,
    *,
    over: Any = "Q",
    time_limit: Optional[float] = 30.0,
    seed: int = 0,
) -> Optional[Scheme]:
    """Try :func:`solve_factor` for W, V and U in turn; first exact wins.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> U = [list(row) for row in s.U.tolist()]; U[0][0] = -1
    >>> fixed = alternate(s.replace(U=U))
    >>> fixed is not None and fixed.rank
    7
    """
    start = time.perf_counter()
    for which in (2, 1, 0):
        left = None if time_limit is None else time_limit - (time.perf_counter() - start)
        if left is not None and left <= 0:
            return None
        got = solve_factor(scheme, which, over=over, time_limit=left, seed=seed)
        if got is not None:
            return got
    return None
