"""Equivalent matmul schemes with fewer additions: a walk on the sandwich orbit.

For invertible ``X`` (k x k), ``Y`` (m x m) and ``Z`` (n x n),
``AB = X^-1 (X A Y)(Y^-1 B Z) Z^-1``, so a ``matmul(k, m, n)`` scheme gives
another one of the same rank (de Groote 1978)::

    U'_r = X^T U_r Y^T      V'_r = Y^-T V_r Z^T      W'_r = X^-1 W_r Z^-1

with ``U_r`` read as a k x m matrix and so on.  The sparsity of the factors,
and the additions after elimination, change along the orbit.
:func:`orbit_walk` walks it with elementary moves (add +-1 times one row of
``X``, ``Y`` or ``Z`` to another, so every matrix stays unimodular and every
coefficient an integer), accepting a move by the Metropolis rule on the
greedy addition count (each map eliminated directly and as its transpose,
the cheaper counted)
and keeping the best schemes seen.  Every scheme it returns is checked with
:func:`verify.verify_exact`.
"""

from __future__ import annotations

import math
import time
from typing import Any, Optional

import numpy as np

from discovery.codegen.cse import eliminate, transpose
from discovery.core.errors import InvalidInputError
from discovery.core.problems import MatMul
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator
from verify import verify_exact

__all__ = ["sandwich", "orbit_walk"]


def _int_matrix(m: Any, size: int, name: str) -> np.ndarray:
    arr = np.asarray(m)
    if arr.shape != (size, size):
        raise InvalidInputError(f"{name} must be {size} x {size}, got shape {arr.shape}")
    try:
        ints = np.array(arr.tolist(), dtype=np.int64)
    except (TypeError, OverflowError, ValueError):
        raise InvalidInputError(f"{name} must be an integer matrix") from None
    if not np.array_equal(ints.astype(object), np.asarray(arr.tolist(), dtype=object)):
        raise InvalidInputError(f"{name} must be an integer matrix")
    return ints


def _inverse_unimodular(m: np.ndarray, name: str) -> np.ndarray:
    det = round(float(np.linalg.det(m)))
    if det not in (1, -1):
        raise InvalidInputError(f"{name} must be unimodular (determinant +-1), got determinant {det}")
    inv = np.rint(np.linalg.inv(m.astype(np.float64))).astype(np.int64)
    if not np.array_equal(m @ inv, np.eye(len(m), dtype=np.int64)):
        raise InvalidInputError(f"{name}: could not invert exactly")
    return inv


def _apply(u, v, w, k, m, n, x, y, z, xi, yi, zi):
    rank = len(u)
    um = u.reshape(rank, k, m)
    vm = v.reshape(rank, m, n)
    wm = w.reshape(rank, k, n)
    u2 = np.einsum("ai,rab,jb->rij", x, um, y)
    v2 = np.einsum("ai,rab,jb->rij", yi, vm, z)
    w2 = np.einsum("ia,rab,bj->rij", xi, wm, zi)
    return u2.reshape(rank, -1), v2.reshape(rank, -1), w2.reshape(rank, -1)


def _integer_factors(scheme: Scheme):
    try:
        return tuple(np.array(f.tolist(), dtype=np.int64) for f in scheme.factors)
    except (TypeError, OverflowError):
        raise InvalidInputError("the orbit walk needs integer coefficients of moderate size") from None


def _matmul_problem(scheme: Scheme, what: str) -> MatMul:
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"{what} needs a Scheme, got {type(scheme).__name__}")
    if not isinstance(scheme.problem, MatMul):
        raise InvalidInputError(f"{what} needs a matmul scheme, got {scheme.problem.kind} {scheme.problem.spec}")
    if scheme.field == "F2" or any(not isinstance(v, int) for f in scheme.factors for v in f.ravel()):
        raise InvalidInputError(f"{what} needs an integer scheme (field Z)")
    return scheme.problem


def sandwich(scheme: Scheme, x: Any, y: Any, z: Any) -> Scheme:
    """The equivalent scheme for ``X A Y`` times ``Y^-1 B Z`` (unimodular X, Y, Z).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from verify import verify_exact
    >>> s = sandwich(strassen(), [[1, 1], [0, 1]], [[1, 0], [0, 1]], [[0, 1], [1, 0]])
    >>> verify_exact(s).ok, s.rank
    (True, 7)
    """
    p = _matmul_problem(scheme, "sandwich")
    xm, ym, zm = _int_matrix(x, p.k, "X"), _int_matrix(y, p.m, "Y"), _int_matrix(z, p.n, "Z")
    xi, yi, zi = (_inverse_unimodular(a, name) for a, name in ((xm, "X"), (ym, "Y"), (zm, "Z")))
    u, v, w = _integer_factors(scheme)
    u2, v2, w2 = _apply(u, v, w, p.k, p.m, p.n, xm, ym, zm, xi, yi, zi)
    return Scheme(p, u2, v2, w2, scheme.field, scheme.meta)


def _map_additions(mat) -> int:
    """The plain greedy on ``mat`` and on its transpose (transposed back), whichever is cheaper."""
    return min(eliminate(mat).additions, transpose(eliminate(mat.T)).additions)


def _greedy_additions(u, v, w) -> int:
    return _map_additions(u) + _map_additions(v) + _map_additions(w.T)


def orbit_walk(scheme: Scheme, time_limit: float = 10.0, seed: Any = 0, keep: int = 8,
               max_coefficient: int = 1, temperature: float = 1.0,
               steps: Optional[int] = None) -> list[tuple[int, Scheme]]:
    """Walk the sandwich orbit of ``scheme``; return the ``keep`` best ``(additions, scheme)``.

    Moves that make a coefficient larger than ``max_coefficient`` in absolute
    value are refused (ternary schemes stay ternary).  A move that adds
    ``d`` greedy additions is accepted with probability
    ``exp(-d / temperature)``; the walk restarts from the best scheme when
    it has not improved for a while.  ``steps`` caps the moves (for
    reproducible runs whatever the machine's speed); the time limit still
    applies.  The scheme itself is in the result (so the best is never
    worse).  Same seed and steps, same result.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> best = orbit_walk(strassen(), steps=200)[0]
    >>> best[0] <= 18
    True
    """
    p = _matmul_problem(scheme, "orbit_walk")
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InvalidInputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    rng = as_generator(seed)
    k, m, n = p.k, p.m, p.n
    u0, v0, w0 = _integer_factors(scheme)
    eye = [np.eye(s, dtype=np.int64) for s in (k, m, n)]
    cur = [e.copy() for e in eye] + [e.copy() for e in eye]  # X, Y, Z, X^-1, Y^-1, Z^-1
    cur_cost = _greedy_additions(u0, v0, w0)
    best: dict[bytes, tuple[int, tuple]] = {}

    def remember(cost: int, factors: tuple) -> None:
        key = b"".join(f.tobytes() for f in factors)
        if key not in best:
            best[key] = (cost, factors)
            if len(best) > 4 * keep:
                for drop in sorted(best, key=lambda q: best[q][0])[2 * keep:]:
                    del best[drop]

    remember(cur_cost, (u0, v0, w0))
    best_cost, best_state, stale = cur_cost, [c.copy() for c in cur], 0
    deadline = time.monotonic() + float(time_limit)
    step = 0
    sizes = (k, m, n)
    while time.monotonic() < deadline and (steps is None or step < steps):
        step += 1
        which = int(rng.integers(3))
        size = sizes[which]
        if size < 2:
            continue
        i, j = (int(t) for t in rng.choice(size, 2, replace=False))
        s = int(rng.choice((-1, 1)))
        e = np.eye(size, dtype=np.int64)
        e[i, j] = s
        ei = np.eye(size, dtype=np.int64)
        ei[i, j] = -s
        new = list(cur)
        new[which] = cur[which] @ e
        new[3 + which] = ei @ cur[3 + which]
        u, v, w = _apply(u0, v0, w0, k, m, n, *new)
        if max(np.abs(u).max(), np.abs(v).max(), np.abs(w).max()) > max_coefficient:
            continue
        cost = _greedy_additions(u, v, w)
        if cost <= cur_cost or rng.random() < math.exp((cur_cost - cost) / max(temperature, 1e-9)):
            cur, cur_cost = new, cost
            remember(cost, (u, v, w))
            if cost < best_cost:
                best_cost, best_state, stale = cost, [c.copy() for c in new], 0
        stale += 1
        if stale > 300:
            cur, cur_cost, stale = [c.copy() for c in best_state], best_cost, 0
    out = []
    for cost, (u, v, w) in sorted(best.values(), key=lambda t: t[0])[:keep]:
        s = Scheme(p, u, v, w, scheme.field, scheme.meta)
        result = verify_exact(s)
        if not result.ok:  # cannot happen for unimodular X, Y, Z; never return a wrong scheme
            raise AssertionError(f"internal error: an orbit scheme is not exact: {result.reason}")
        out.append((cost, s))
    return out
