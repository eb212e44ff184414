"""The ``cpsat`` engine: exact schemes from scratch with OR-tools CP-SAT.

Two strategies:

``mod2`` (default for integer domains containing -1, 0, 1)
    Solve the Brent equations mod 2 (a Boolean model with XOR constraints,
    much easier for the solver), then lift each F2 solution to the domain
    with CP-SAT (:mod:`solvers.lifting`); a solution that does not lift is
    excluded by a no-good clause and the next one is tried.  Sound for
    proofs: the mod-2 image of any integer scheme is an F2 scheme, so an
    infeasible F2 model proves the rank infeasible over the integers.
``direct``
    The full model over the domain (:func:`solvers.brent.build_model`),
    with symmetry breaking and an optional warm start.

The outcome is ``"found"``, ``"infeasible"`` -- only when CP-SAT proved it
(or the tensor's flattening rank exceeds the rank) -- or ``"not_found"``
(time out, nothing proved).
"""

from __future__ import annotations

import datetime
import time
from fractions import Fraction
from typing import Any, Optional

from discovery.checks import check_problem_rank, positive_int
from discovery.errors import InfeasibleError, InvalidInputError, NotFoundError
from discovery.problems import Problem
from discovery.progress import ProgressCallback, ProgressEvent
from discovery.random import as_seed
from discovery.scheme import Scheme
from discovery.search import SearchResult
from solvers.brent import as_domain, build_model, flattening_rank, solve_model
from solvers.lifting import lift_with_parities

__all__ = ["run", "solve"]


def _validate(problem: Problem, rank: Any, time_limit: Any, workers: Any) -> None:
    check_problem_rank(problem, rank)
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InvalidInputError(f"time limit must be a positive number of seconds, got {time_limit!r}")
    positive_int(workers, "workers")


def _nogood(model_f2, scheme_f2: Scheme, bm) -> None:
    lits = []
    for f, mat in enumerate(bm.entries):
        for r, row in enumerate(mat):
            for i, e in enumerate(row):
                if isinstance(e, int):
                    continue
                lits.append(e.negated() if int(scheme_f2.factors[f][r, i]) else e)
    model_f2.add_bool_or(lits)


def _mod2_strategy(problem, rank, domain, *, time_limit, seed, workers, callback, lift_domain):
    """F2 solve, lift, exclude, repeat.  Returns (status, scheme, info)."""
    start = time.perf_counter()
    bm = build_model(problem, rank, field="F2")
    tried = 0
    odd = tuple(v for v in lift_domain if int(v) % 2)
    even = tuple(v for v in lift_domain if int(v) % 2 == 0)
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter() - start)
        if left is not None and left <= 0:
            return "not_found", None, {"f2_solutions": tried}
        out = solve_model(bm, time_limit=left, workers=workers, seed=seed + tried)
        if out.status == "infeasible":
            return "infeasible", None, {"f2_solutions": tried, "proof": "CP-SAT, mod 2" if tried == 0 else
                                        "CP-SAT, mod 2 (every F2 solution failed to lift)"}
        if out.status != "found":
            return "not_found", None, {"f2_solutions": tried}
        tried += 1
        f2 = out.scheme
        left = None if time_limit is None else max(0.05, time_limit - (time.perf_counter() - start))
        lifted = lift_with_parities(f2, odd, even, domain, time_limit=left, workers=workers, seed=seed)
        if callback is not None:
            callback(ProgressEvent("cpsat", done=tried, found=int(lifted.status == "found"),
                                   message=f"F2 solution {tried}: lift {lifted.status}"))
        if lifted.status == "found":
            return "found", lifted.scheme, {"f2_solutions": tried}
        if lifted.status == "unknown":
            return "not_found", None, {"f2_solutions": tried}
        _nogood(bm.model, f2, bm)


def run(
    problem: Problem,
    rank: int,
    *,
    seed: Any = 0,
    time_limit: Optional[float] = None,
    callback: Optional[ProgressCallback] = None,
    domain: Any = None,
    coefficients: Any = None,
    workers: int = 1,
    hint: Optional[Scheme] = None,
    strategy: str = "auto",
    symmetry_breaking: Optional[bool] = None,
    **ignored: Any,
) -> SearchResult:
    """Solve the Brent equations for ``problem`` at ``rank`` with CP-SAT.

    Parameters
    ----------
    problem : Problem
    rank : int
    seed : int
        CP-SAT ``random_seed`` (with ``workers=1`` the run is deterministic).
    time_limit : float, optional
        Seconds; no limit when None.
    callback : callable, optional
        Receives :class:`~discovery.progress.ProgressEvent` objects.
    domain, coefficients : str or values
        The coefficient domain (same meaning; ``"ternary"`` by default).
    workers : int
        CP-SAT ``num_workers``.
    hint : Scheme, optional
        Warm start (direct strategy).
    strategy : {"auto", "mod2", "direct"}
    **ignored
        Options of other engines, accepted and ignored.

    Returns
    -------
    SearchResult
        ``status`` "found" (one verified scheme), "infeasible" (proved) or
        "not_found".

    Examples
    --------
    >>> from discovery.problems import matmul
    >>> run(matmul(2, 2, 2), 7, time_limit=20).status
    'found'
    >>> res = run(matmul(2, 2, 2), 3)
    >>> res.status, res.options["proof"]
    ('infeasible', 'flattening rank 4 > 3')
    """
    domain = coefficients if domain is None else domain
    dom = as_domain("ternary" if domain is None else domain)
    _validate(problem, rank, time_limit, workers)
    if strategy not in ("auto", "mod2", "direct"):
        raise InvalidInputError(f"strategy must be auto, mod2 or direct, got {strategy!r}")
    if hint is not None and (not isinstance(hint, Scheme) or hint.problem != problem or hint.rank != rank):
        raise InvalidInputError("hint must be a scheme of the same problem and rank")
    int_seed = as_seed(seed)
    start = time.perf_counter()
    options = {"domain": dom.name if dom.name != "custom" else [str(v) for v in dom.values],
               "workers": workers, "strategy": strategy}
    result = SearchResult(problem=problem, rank=rank, engine="cpsat", options=options)
    lower = flattening_rank(problem)
    if rank < lower:
        result.status = "infeasible"
        result.options["proof"] = f"flattening rank {lower} > {rank}"
        result.wall_seconds = time.perf_counter() - start
        return result
    integral = dom.scale == 1 and {Fraction(-1), Fraction(0), Fraction(1)} <= set(dom.values)
    use_mod2 = strategy == "mod2" or (strategy == "auto" and integral and hint is None)
    if strategy == "mod2" and not integral:
        raise InvalidInputError("the mod2 strategy needs an integer domain containing -1, 0 and 1")
    if use_mod2:
        status, scheme, info = _mod2_strategy(problem, rank, dom, time_limit=time_limit, seed=int_seed,
                                              workers=workers, callback=callback,
                                              lift_domain=tuple(int(v) for v in dom.values))
        result.options.update(info)
        result.options["strategy"] = "mod2"
    else:
        bm = build_model(problem, rank, dom, symmetry_breaking=symmetry_breaking)
        if hint is not None:
            bm.add_hint(*hint.factors)
        out = solve_model(bm, time_limit=time_limit, workers=workers, seed=int_seed, callback=callback)
        status = {"found": "found", "infeasible": "infeasible"}.get(out.status, "not_found")
        scheme = out.scheme
        result.options["strategy"] = "direct"
        result.options["solver_status"] = out.solver_status
        if status == "infeasible":
            result.options["proof"] = "CP-SAT" + (" with symmetry breaking" if bm.symmetry_breaking else "")
    result.wall_seconds = time.perf_counter() - start
    result.status = status
    if scheme is not None:
        from verify import verify_exact

        check = verify_exact(scheme)
        if not check.ok:  # pragma: no cover - would be a bug in the model
            raise RuntimeError(f"CP-SAT returned a wrong scheme: {check.reason}")
        scheme = scheme.with_meta(provenance={
            "engine": "cpsat", "seed": int_seed, "seconds": round(result.wall_seconds, 3),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "domain": result.options["domain"], "strategy": result.options["strategy"],
        })
        result.schemes.append(scheme)
        result.exact = 1
        result.first_exact_seconds = result.wall_seconds
    if callback is not None:
        callback(ProgressEvent("cpsat", done=1, total=1, found=result.exact, message=result.status))
    return result


def solve(problem: Problem, rank: int, **options: Any) -> Scheme:
    """Functional form of :func:`run`: return the scheme or raise.

    Raises
    ------
    InfeasibleError
        When the rank is proved impossible for the domain.
    NotFoundError
        When nothing was found in the time limit (nothing proved).

    Examples
    --------
    >>> from discovery.problems import matmul
    >>> solve(matmul(1, 1, 2), 2).rank
    2
    >>> solve(matmul(1, 1, 2), 1)
    Traceback (most recent call last):
    ...
    discovery.errors.InfeasibleError: no rank-1 scheme for 1x1x2 over ternary: flattening rank 2 > 1
    """
    result = run(problem, rank, **options)
    if result.status == "found":
        return result.schemes[0]
    what = f"rank-{rank} scheme for {problem.spec} over {result.options['domain']}"
    if result.status == "infeasible":
        raise InfeasibleError(f"no {what}: {result.options.get('proof', 'CP-SAT')}")
    raise NotFoundError(f"no {what} found in {result.wall_seconds:.1f}s (nothing proved)")
