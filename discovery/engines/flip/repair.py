"""Finish a near miss on the flip graph: correction terms, then flips back to the rank.

A rounded gradient solution wrong in ``w`` tensor entries is, with one
rank-one correction term per wrong entry, an *exact* scheme of rank
``R + w``.  Flip-graph walks over Z from that scheme (reductions, with plus
transitions when they stall) bring it back to rank ``R``: the near misses
that CP-SAT's neighbourhood search cannot finish -- the restarts stuck at
loss 1, whose missing entry needs a change of structure rather than of a few
coefficients -- are a few thousand flips from exact.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from discovery.core.errors import InvalidInputError
from discovery.core.scheme import Scheme
from verify.exact import residual

__all__ = ["complete", "repair"]


def complete(scheme: Scheme) -> Scheme:
    """``scheme`` plus one rank-one term per wrong tensor entry: an exact scheme.

    Only integer (field Z) schemes: the correction ``-r e_i (x) e_j (x) e_k``
    of a residual entry ``r`` must be walkable over Z.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from verify import verify_exact
    >>> s = strassen(); U = s.U.copy(); U[0, 0] = 0
    >>> near = s.replace(U=U)  # m1 loses a11: four entries wrong
    >>> fixed = complete(near)
    >>> verify_exact(near).ok, fixed.rank, verify_exact(fixed).ok
    (False, 11, True)
    """
    if scheme.field != "Z":
        raise InvalidInputError(f"complete needs an integer scheme (field Z), got field {scheme.field}")
    res = residual(scheme)
    nx, ny, nz = scheme.problem.shape
    U, V, W = (m.tolist() for m in scheme.factors)
    for i, j, k in zip(*np.nonzero(res)):
        U.append([int(a == i) for a in range(nx)])
        V.append([int(b == j) for b in range(ny)])
        W.append([-int(res[i, j, k]) if c == k else 0 for c in range(nz)])
    return Scheme(scheme.problem, U, V, W, field="Z", meta=dict(scheme.meta))


def repair(scheme: Scheme, rank: int, *, seconds: float, seed: Any = 0,
           accepts=None) -> Optional[Scheme]:
    """An exact rank-``rank`` scheme walked from ``complete(scheme)``, or None.

    One walk on one thread for at most ``seconds``; ``accepts`` (a predicate
    on schemes, e.g. a coefficient domain) filters the finds.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen(); U = s.U.copy(); U[0, 0] = 0
    >>> repair(s.replace(U=U), 7, seconds=20).rank
    7
    """
    from discovery.engines.flip.engine import FlipOptions, walk

    start = complete(scheme)
    if start.rank <= rank:
        return start
    opts = FlipOptions(field="Z", start=start, walks=1, threads=1, stop_after=4)
    gen = walk(scheme.problem, rank, opts, seed=seed, time_limit=seconds)
    try:
        for found, _info in gen:
            if found.rank <= rank and (accepts is None or accepts(found)):
                return found
    finally:
        gen.close()
    return None
