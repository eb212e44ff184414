"""Engine ``lm``: Levenberg--Marquardt on the tensor residual, then rounding.

Each restart draws random factors and minimises::

    || sum_r U[r] (x) V[r] (x) W[r] - T ||^2  +  lam * ||(U, V, W)||^2

with :func:`scipy.optimize.least_squares` and the *analytic* Jacobian (the
residual is trilinear: ``d/dU[r, a]`` of entry ``(a, b, c)`` is
``V[r, b] * W[r, c]``).  Small problems use MINPACK's Levenberg--Marquardt
(``method="lm"``, dense Jacobian); larger ones the trust-region reflective
method with a sparse Jacobian and LSMR (``method="trf"``), whose cost per
iteration is linear in the Jacobian's nonzeros.  The small Tikhonov term keeps
the factors bounded (Smirnov's regularised ALS uses the same idea).

A restart that reaches (numerically) zero residual enters the *rounding
phase*: penalty residuals ``mu * (x - nearest domain value)`` are appended
with ``mu`` growing stage by stage, and at each stage the entries already
within ``snap`` of a domain value are fixed there (removed from the
optimisation), so the factors are driven onto the coefficient grid while the
tensor residual stays small.  The rounded scheme is verified exactly; one
that is wrong in a few entries is a *near miss*, handed to CP-SAT
refinement (:func:`solvers.refine.refine`) when ``refine=True``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional

import numpy as np
from scipy import sparse
from scipy.optimize import least_squares

from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.algebra.tensor import TensorResidual
from solvers.refine import refine as refine_scheme
from verify import wrong_entries
from discovery.engines.base import (
    Candidate,
    Engine,
    EngineOptions,
    NearMiss,
    Tally,
    check_coefficients,
    coefficient_domain_check,
    domain_of,
    option,
)

__all__ = ["ENGINE", "LMOptions", "run", "decompose", "round_to_domain"]

#: Inner LSMR iterations per trust-region step (inexact steps are much
#: cheaper on these ill-conditioned Jacobians and converge as well).
LSMR_ITERATIONS = 80


def round_to_domain(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Nearest domain value of every entry.

    Examples
    --------
    >>> round_to_domain(np.array([0.4, -0.7, 1.6]), np.array([-1.0, 0.0, 1.0])).tolist()
    [0.0, -1.0, 1.0]
    """
    idx = np.abs(np.asarray(x)[..., None] - values).argmin(axis=-1)
    return values[idx]


def _solve(f: TensorResidual, x0, free, fixed_x, lam, mu, grid, max_nfev, dense, deadline=None):
    """Least squares over the free entries (fixed ones held at fixed_x).

    The stacked Jacobian ``[J[:, free]; sqrt(lam) I; mu I]`` has a fixed
    sparsity pattern: it is built once and only its values change per call.
    """
    idx = np.flatnonzero(free)
    if idx.size == 0:
        return fixed_x.copy()
    remap = -np.ones(f.n, dtype=np.int64)
    remap[idx] = np.arange(idx.size)
    keep = free[f._cols]
    diag = np.arange(idx.size)
    rows = [f._rows[keep], f.m + diag]
    cols = [remap[f._cols[keep]], diag]
    if mu > 0:
        rows.append(f.m + idx.size + diag)
        cols.append(diag)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    n_rows = f.m + idx.size * (2 if mu > 0 else 1)
    pattern = sparse.csr_matrix((np.arange(1, rows.size + 1, dtype=float), (rows, cols)),
                                shape=(n_rows, idx.size))
    perm = pattern.data.astype(np.int64) - 1
    extra = np.full(idx.size * (2 if mu > 0 else 1), np.sqrt(lam))
    if mu > 0:
        extra[idx.size:] = mu

    def full(z):
        x = fixed_x.copy()
        x[idx] = z
        return x

    def fun(z):
        x = full(z)
        parts = [f(x), np.sqrt(lam) * z]
        if mu > 0:
            parts.append(mu * (z - round_to_domain(z, grid)))
        return np.concatenate(parts)

    def jac(z):
        vals = np.concatenate([f.jacobian_values(full(z))[keep], extra])
        out = pattern.copy()
        out.data = vals[perm]
        return out.toarray() if dense else out

    if dense:
        res = least_squares(fun, x0[idx], jac=jac, method="lm", max_nfev=max_nfev, xtol=1e-12, ftol=1e-12)
    else:
        def stop(x):  # time.perf_counter() deadline, checked every iteration (trf only)
            if deadline is not None and time.perf_counter() >= deadline:
                raise StopIteration

        res = least_squares(fun, x0[idx], jac=jac, method="trf", tr_solver="lsmr", max_nfev=max_nfev,
                            xtol=1e-10, ftol=1e-10, x_scale=1.0, tr_options={"maxiter": LSMR_ITERATIONS},
                            callback=stop)
    return full(res.x)


def decompose(t: np.ndarray, rank: int, rng, *, lam: float = 1e-3, iterations: int = 400,
              dense: Optional[bool] = None, scale: float = 0.5,
              deadline: Optional[float] = None) -> tuple[np.ndarray, float]:
    """One random restart of the numerical decomposition.

    Returns ``(x, error)``: the parameter vector and the tensor residual's
    norm (without the regulariser).  ``deadline`` (a ``time.perf_counter()``
    value) cuts the sparse (``trf``) solves short.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> x, err = decompose(matmul(2, 2, 2).tensor(), 8, np.random.default_rng(0))
    >>> err < 1e-3
    True
    """
    f = TensorResidual(t, rank)
    dense = f.n <= 160 if dense is None else dense
    x = rng.normal(scale=scale, size=f.n)
    free = np.ones(f.n, dtype=bool)
    for stage_lam in (lam, lam / 10, lam / 100):
        x = _solve(f, x, free, x, stage_lam, 0.0, None, iterations, dense, deadline)
    return x, float(np.linalg.norm(f(x)))


def _round_phase(f: TensorResidual, x: np.ndarray, grid: np.ndarray, *, dense: bool, tol: float,
                 snap: float = 0.15, iterations: int = 200, deadline: Optional[float] = None):
    """Drive entries onto the grid: growing pull, fixing entries near grid values."""
    free = np.ones(f.n, dtype=bool)
    for mu in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
        near = np.abs(x - round_to_domain(x, grid)) < snap
        newly = free & near
        trial_x = x.copy()
        trial_x[newly] = round_to_domain(x[newly], grid)
        trial_free = free & ~newly
        y = _solve(f, trial_x, trial_free, trial_x, 1e-6, mu, grid, iterations, dense, deadline)
        if np.linalg.norm(f(y)) < max(tol, 0.5):
            x, free = y, trial_free
        else:  # fixing was too greedy: keep the entries free, pull only
            x = _solve(f, x, free, x, 1e-6, mu, grid, iterations, dense, deadline)
    return round_to_domain(x, grid), x


def _to_scheme(problem: Problem, f: TensorResidual, x: np.ndarray, meta: dict) -> Scheme:
    mats = []
    for m in f.split(x):
        mats.append([[Fraction(float(v)).limit_denominator(8) for v in row] for row in m])
    integral = all(v.denominator == 1 for m in mats for row in m for v in row)
    return Scheme(problem, *mats, field="Z" if integral else "Q", meta=meta)


@dataclass(frozen=True)
class LMOptions(EngineOptions):
    """Options of the ``lm`` engine."""

    engine = "lm"

    restarts: Optional[int] = option(None, minimum=1, help="random restarts (default 10 without a time limit, "
                                     "unbounded with one)")
    coefficients: str = option("ternary", check=check_coefficients, metavar="SET",
                               help="coefficient set to round to: ternary, int2, dyadic or a list like 0,1,-1")
    lam: float = option(1e-3, minimum=0.0, exclusive_minimum=True,
                        help="Tikhonov weight of the first stage (divided by 10 twice)")
    iterations: int = option(400, minimum=1, help="least-squares evaluations per stage")
    refine: bool = option(True, help="hand near misses to CP-SAT refinement")
    refine_seconds: float = option(20.0, minimum=0.0, exclusive_minimum=True,
                                help="seconds of refinement per near miss (at least 240 for few wrong entries "
                                     "of a large problem)")
    near_miss_limit: Optional[int] = option(None, minimum=0, help="wrong entries up to which a rounding is a "
                                            "near miss (default max(8, size/6))")

    def accepts(self, scheme: Scheme) -> Optional[str]:
        dom = domain_of(self.coefficients)
        return coefficient_domain_check(scheme, dom.values, ("Z",) if dom.scale == 1 else ("Z", "Q"))


def run(problem: Problem, rank: int, options: LMOptions, *, seed: int = 0, time_limit: Optional[float] = None,
        callback: Optional[ProgressCallback] = None) -> Iterator:
    """Levenberg--Marquardt restarts, rounding to the domain, CP-SAT refinement.

    The engine generator of :mod:`discovery.engines.base`: yields a
    :class:`~discovery.engines.base.Candidate` for every exact rounding (or
    refined near miss, with ``info["refined"]``), a
    :class:`~discovery.engines.base.NearMiss` for every rounding wrong in at
    most ``near_miss_limit`` entries and a :class:`~discovery.engines.base.Tally`
    after every restart.

    Examples
    --------
    >>> from discovery.search import search
    >>> from discovery.core.problems import matmul
    >>> res = search(matmul(2, 2, 2), 8, engine="lm", restarts=2, seed=0)
    >>> res.status, res.schemes[0].rank
    ('found', 8)
    """
    o = options
    dom = domain_of(o.coefficients)
    grid = np.array([float(v) for v in dom.values])
    restarts = o.restarts
    if restarts is None and time_limit is None:
        restarts = 10
    t0 = time.perf_counter()
    f = TensorResidual(problem.tensor(), rank)
    dense = f.n <= 160
    limit_wrong = o.near_miss_limit if o.near_miss_limit is not None else max(8, f.m // 6)
    best = None
    found = 0
    i = 0

    def left():
        return None if time_limit is None else time_limit - (time.perf_counter() - t0)

    while (restarts is None or i < restarts) and (left() is None or left() > 0):
        i += 1
        sub = np.random.default_rng([seed, i])
        deadline = None if time_limit is None else t0 + time_limit
        x, err = decompose(problem.tensor(), rank, sub, lam=o.lam, iterations=o.iterations, dense=dense,
                           deadline=deadline)
        best = err if best is None else min(best, err)
        message = f"restart {i}: residual {err:.2g}"
        items = []
        if err < 5e-2:
            rounded, approx_x = _round_phase(f, x, grid, dense=dense, tol=1e-2, deadline=deadline)
            cand = _to_scheme(problem, f, rounded, {})
            wrong = wrong_entries(cand)
            message += f", rounded: {wrong} wrong"
            info = {"restart": i}
            if wrong == 0:
                items.append(Candidate(cand, time.perf_counter() - t0, info))
            elif wrong <= limit_wrong:
                approx = f.split(approx_x)
                items.append(NearMiss(cand, wrong, approx, info))
                if o.refine and cand.field == "Z":
                    # a near miss with few wrong entries is worth a long CP-SAT search
                    long = wrong <= 16 and not dense
                    want = max(o.refine_seconds, 240.0) if long else o.refine_seconds
                    budget = want if left() is None else max(0.1, min(want, left()))
                    res = refine_scheme(cand, domain=dom, time_limit=budget, seed=seed + i, approx=approx,
                                        round_limit=8.0 if long else 2.0)
                    if res.exact:
                        message += ", refined to exact"
                        items.append(Candidate(res.scheme, time.perf_counter() - t0,
                                               {**info, "refined": True, "wrong_before": wrong}))
        found += sum(isinstance(item, Candidate) for item in items)
        yield Tally(i, best, {"dense": dense})
        yield from items
        if callback is not None:
            callback(ProgressEvent("lm", done=i, total=restarts, found=found, best=best, message=message))


ENGINE = Engine(
    name="lm",
    summary="Levenberg-Marquardt restarts on the tensor residual, driven onto the coefficient grid, "
            "near misses refined by CP-SAT",
    options=LMOptions,
    run=run,
    max_schemes=1,
)
