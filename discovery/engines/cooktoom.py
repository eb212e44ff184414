"""Engine ``cooktoom``: minimal Winograd algorithms found by least squares.

The Brent equations of F(m, r) at the minimal rank ``m + r - 1`` are solved
over the reals from random starts; the interpolation points are read off the
continuous solution, snapped to simple rationals and the algorithm is
rebuilt exactly by the Cook--Toom construction
(:func:`discovery.winograd.cooktoom.cook_toom`).  ``correlation2d`` nests two
1-D discoveries; ``polymul`` is the transpose of a correlation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np
from scipy.optimize import least_squares

from discovery.algebra.tensor import TensorResidual
from discovery.core.checks import positive_int
from discovery.core.errors import InvalidInputError, NotFoundError
from discovery.core.problems import Correlation, Correlation2D, PolyMul, correlation
from discovery.core.progress import ProgressEvent
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator, as_seed
from discovery.engines.base import Candidate, Engine, EngineOptions, Tally, option
from discovery.winograd.cooktoom import (
    INF,
    cook_toom,
    correlation_to_polymul,
    nest,
    recover_points,
    snap_points,
)
from verify import verify_exact

__all__ = ["ENGINE", "CookToomOptions", "discover", "run"]


def discover(m: int, r: int, *, seed: Any = 0, time_limit: float | None = 60.0, restarts: int = 64,
             max_denominator: int = 16, callback=None) -> Scheme:
    """Find a minimal F(m, r) by search, without being handed points.

    1. Solve the Brent equations of ``correlation(m, r)`` at rank
       ``m + r - 1`` over the reals from random starts (scipy's
       ``least_squares``, trust-region reflective, analytic Jacobian).
    2. Read the interpolation points off the continuous solution
       (:func:`recover_points` with a tolerance): every minimal algorithm
       evaluates at ``m + r - 1`` distinct points of the projective line,
       here real and arbitrary.
    3. Snap them to the nearest distinct simple rationals
       (:func:`snap_points`) and rebuild the algorithm exactly by
       :func:`cook_toom`; verify it exactly.

    Coefficient-restricted engines cannot always do this: over the dyadic
    set {0, ±1/2, ±1, ±2} a column of Aᵀ for F(4, 3) is a geometric
    sequence ``[1, a, a^2, a^3]`` up to scale, which forces
    ``a in {0, ±1, inf}`` -- four points where six are needed.

    Returns
    -------
    Scheme
        Exact, with ``meta["provenance"]`` holding the engine
        ``"least-squares+cook-toom"``, the seed, seconds, restarts, the
        real points found and the rational points used.

    Raises
    ------
    NotFoundError
        When no restart converged to an identifiable solution in the budget.

    Examples
    --------
    >>> s = discover(2, 3, seed=0, restarts=4)
    >>> s.rank, s.meta["provenance"]["engine"]
    (4, 'least-squares+cook-toom')
    """
    problem = correlation(m, r)
    restarts = positive_int(restarts, "restarts")
    R = problem.m + problem.r - 1
    T = problem.tensor().astype(np.float64)
    f = TensorResidual(T, R)
    split, fun = f.split, f

    def jac(x):
        return f.jacobian(x).toarray()

    seed_int = as_seed(seed)
    rng = as_generator(seed_int)
    start = time.monotonic()
    n_params = R * sum(T.shape)
    for attempt in range(1, int(restarts) + 1):
        if time_limit is not None and time.monotonic() - start > time_limit:
            break
        p0 = rng.standard_normal(n_params) * 0.7
        sol = least_squares(fun, p0, jac=jac, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=2000)
        residual = float(np.linalg.norm(sol.fun))
        if callback is not None:
            callback(ProgressEvent("least-squares", attempt, int(restarts), best=residual,
                                   message=f"F({problem.m},{problem.r}) rank {R}"))
        if residual > 1e-9:
            continue
        U, _, W = split(sol.x)
        real_points = recover_points(U, W, tol=1e-6)
        if real_points is None:
            continue
        try:
            pts = snap_points(real_points, max_denominator)
        except InvalidInputError:
            continue
        scheme = cook_toom(problem.m, problem.r, list(pts))
        if not verify_exact(scheme).ok:  # pragma: no cover - Cook-Toom is exact
            continue
        prov = dict(scheme.meta["provenance"])
        prov.update({
            "engine": "least-squares+cook-toom",
            "seed": seed_int,
            "seconds": round(time.monotonic() - start, 3),
            "restarts": attempt,
            "real_points": ["inf" if p is INF else float(f"{p:.6g}") for p in real_points],
            "construction": "real rank-%d solution of the Brent equations; its evaluation points "
                            "snapped to simple rationals; rebuilt exactly by Cook-Toom" % R,
        })
        return scheme.with_meta(provenance=prov)
    raise NotFoundError(
        f"no identifiable rank-{R} solution of F({problem.m},{problem.r}) in {attempt} restarts"
    )


@dataclass(frozen=True)
class CookToomOptions(EngineOptions):
    """Options of the ``cooktoom`` engine."""

    engine = "cooktoom"

    restarts: int = option(64, minimum=1, help="least-squares restarts per 1-D factor")
    max_denominator: int = option(16, minimum=1, help="largest denominator of the snapped points")


def run(problem, rank: int, options: CookToomOptions, *, seed: int = 0, time_limit: Optional[float] = None,
        callback=None) -> Iterator:
    """:func:`discover` behind the engine contract.

    Handles ``correlation`` F(m, r) and ``polymul`` at the minimal rank
    ``m + r - 1`` and ``correlation2d`` at ``(m1 + r1 - 1)(m2 + r2 - 1)``
    (two 1-D discoveries, nested).

    Raises
    ------
    InvalidInputError
        For other problems or ranks.

    Examples
    --------
    >>> from discovery.search import search
    >>> from discovery.core.problems import polymul
    >>> res = search(polymul(2, 3), 4, engine="cooktoom", restarts=8)
    >>> res.status, res.schemes[0].problem.spec
    ('found', 'poly(2,3)')
    """
    start = time.monotonic()
    if isinstance(problem, Correlation):
        axes = [(problem.m, problem.r)]
    elif isinstance(problem, PolyMul):
        axes = [(problem.q, problem.p)]
    elif isinstance(problem, Correlation2D):
        axes = list(zip(problem.m, problem.r))
    else:
        raise InvalidInputError(
            f"engine 'cooktoom' builds correlation and polymul algorithms, not {problem.kind}"
        )
    minimal = int(np.prod([m + r - 1 for m, r in axes]))
    if rank != minimal:
        raise InvalidInputError(
            f"engine 'cooktoom' finds {problem.spec} at its minimal rank {minimal} only, not {rank!r}"
        )
    parts = []
    try:
        for m, r in axes:
            left = None if time_limit is None else max(1e-3, time_limit - (time.monotonic() - start))
            parts.append(discover(m, r, seed=seed, time_limit=left, restarts=options.restarts,
                                  max_denominator=options.max_denominator, callback=callback))
    except NotFoundError:
        yield Tally(sum(p.meta["provenance"]["restarts"] for p in parts))
        return
    if isinstance(problem, Correlation):
        scheme = parts[0]
    elif isinstance(problem, PolyMul):
        scheme = correlation_to_polymul(parts[0])
    else:
        scheme = nest(parts[0], parts[1] if len(parts) > 1 else parts[0])
    info = dict(parts[0].meta["provenance"])
    info.pop("engine", None)
    info.pop("seed", None)
    info.pop("seconds", None)
    if len(parts) > 1:
        info["columns"] = {k: v for k, v in parts[1].meta["provenance"].items()
                           if k in ("points", "real_points", "restarts")}
    yield Tally(sum(p.meta["provenance"]["restarts"] for p in parts))
    yield Candidate(scheme.with_meta(provenance=None), time.monotonic() - start, info)


ENGINE = Engine(
    name="cooktoom",
    summary="minimal Winograd F(m,r) and 2-D tiles: least squares on the Brent equations, points snapped "
            "to rationals, rebuilt exactly by Cook-Toom",
    options=CookToomOptions,
    run=run,
    max_schemes=1,
)
