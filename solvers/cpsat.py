"""Exact schemes from scratch with OR-tools CP-SAT (the solver behind the ``cpsat`` engine).

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

The outcome is ``"found"``, ``"infeasible"`` -- only when it was proved, and
then :attr:`CpsatOutcome.proof` says how: the exact flattening rank exceeds
the rank, or CP-SAT proved the mod-2 model (or the direct model, with the
symmetry breaking it states) infeasible -- or ``"not_found"`` (time out,
nothing proved).  The time limit covers model building as well as solving.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

from discovery.core.checks import check_problem_rank, positive_int
from discovery.core.errors import InfeasibleError, InternalError, InvalidInputError, NotFoundError
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.seeds import as_seed
from discovery.core.scheme import Scheme
from solvers.brent import as_domain, build_model, flattening_rank, solve_model
from solvers.lifting import lift_with_parities
from verify import verify_exact

__all__ = ["CpsatOutcome", "solve_rank", "solve"]


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
    try:
        bm = build_model(problem, rank, field="F2", time_limit=time_limit)
    except NotFoundError:
        return "not_found", None, {"f2_solutions": 0, "stopped": "time limit reached while building the model"}
    tried = 0
    odd = tuple(v for v in lift_domain if int(v) % 2)
    even = tuple(v for v in lift_domain if int(v) % 2 == 0)
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter() - start)
        if left is not None and left <= 0:
            return "not_found", None, {"f2_solutions": tried}
        out = solve_model(bm, time_limit=left, workers=workers, seed=seed + tried)
        if out.status == "infeasible":
            label = domain.label()
            if tried == 0:
                proof = (f"CP-SAT, mod 2: no rank-{rank} scheme exists mod 2, and the mod-2 image of an integer "
                         f"scheme over {label} would be one ({out.proof})")
            else:
                proof = (f"CP-SAT, mod 2 (every F2 solution failed to lift): each of the {tried} F2 solutions was "
                         f"proved not to lift to {label} and excluded, then no rank-{rank} scheme was left mod 2; "
                         f"the mod-2 image of a scheme over {label}, terms in the model's order, would be one")
            return "infeasible", None, {"f2_solutions": tried, "proof": proof}
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


@dataclass
class CpsatOutcome:
    """What :func:`solve_rank` decided.

    ``status`` is ``"found"`` (``scheme`` holds a verified scheme),
    ``"infeasible"`` (``proof`` says how it was proved) or ``"unknown"``
    (time out, nothing proved).  ``info`` holds solver statistics.
    """

    status: str
    scheme: Optional[Scheme] = None
    proof: Optional[str] = None
    seconds: float = 0.0
    domain: Any = None
    strategy: str = ""
    info: dict = field(default_factory=dict)


def solve_rank(
    problem: Problem,
    rank: int,
    domain: Any = "ternary",
    *,
    strategy: str = "auto",
    time_limit: Optional[float] = None,
    workers: int = 1,
    seed: Any = 0,
    hint: Optional[Scheme] = None,
    symmetry_breaking: Optional[bool] = None,
    callback: Optional[ProgressCallback] = None,
) -> CpsatOutcome:
    """Solve the Brent equations for ``problem`` at ``rank`` over ``domain``.

    Parameters
    ----------
    problem : Problem
    rank : int
    domain : str, Domain or values
        The coefficient domain (``"ternary"`` by default).
    strategy : {"auto", "mod2", "direct"}
        ``auto`` is ``mod2`` for integer domains containing -1, 0, 1 (and no
        hint), ``direct`` otherwise.
    time_limit : float, optional
        Seconds; no limit when None.
    workers : int
        CP-SAT ``num_workers`` (1 is deterministic for a seed).
    seed : int
        CP-SAT ``random_seed``.
    hint : Scheme, optional
        Warm start (direct strategy).
    symmetry_breaking : bool, optional
        Direct strategy: default on for unconstrained models.
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` objects.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> solve_rank(matmul(2, 2, 2), 7, time_limit=20).status
    'found'
    >>> out = solve_rank(matmul(2, 2, 2), 3)
    >>> out.status, out.proof
    ('infeasible', 'flattening rank 4 > 3')

    The issue's false proof: ``2 * x`` is ``(-1 * x) * (-1)`` over
    {-1, 0, 1, 2}, which no sign normalisation may rule out:

    >>> from discovery.core.problems import tensor
    >>> solve_rank(tensor([[[-1]], [[2]]]), 1, [-1, 0, 1, 2], strategy="direct").status
    'found'
    """
    dom = as_domain("ternary" if domain is None else domain)
    _validate(problem, rank, time_limit, workers)
    if strategy not in ("auto", "mod2", "direct"):
        raise InvalidInputError(f"strategy must be auto, mod2 or direct, got {strategy!r}")
    if hint is not None and (not isinstance(hint, Scheme) or hint.problem != problem or hint.rank != rank):
        raise InvalidInputError("hint must be a scheme of the same problem and rank")
    int_seed = as_seed(seed)
    start = time.perf_counter()
    name = dom.name if dom.name != "custom" else [str(v) for v in dom.values]
    lower = flattening_rank(problem)
    if rank < lower:
        return CpsatOutcome("infeasible", proof=f"flattening rank {lower} > {rank}",
                            seconds=time.perf_counter() - start, domain=name, strategy=strategy)
    integral = dom.scale == 1 and {Fraction(-1), Fraction(0), Fraction(1)} <= set(dom.values)
    use_mod2 = strategy == "mod2" or (strategy == "auto" and integral and hint is None)
    if strategy == "mod2" and not integral:
        raise InvalidInputError("the mod2 strategy needs an integer domain containing -1, 0 and 1")
    proof = None
    if use_mod2:
        status, scheme, info = _mod2_strategy(problem, rank, dom, time_limit=time_limit, seed=int_seed,
                                              workers=workers, callback=callback,
                                              lift_domain=tuple(int(v) for v in dom.values))
        proof = info.pop("proof", None)
        used = "mod2"
    else:
        used = "direct"
        left = None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - start))
        try:
            bm = build_model(problem, rank, dom, symmetry_breaking=symmetry_breaking, time_limit=left)
        except NotFoundError:
            status, scheme, info = "not_found", None, {"stopped": "time limit reached while building the model"}
        else:
            if hint is not None:
                bm.add_hint(*hint.factors)
            left = None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - start))
            out = solve_model(bm, time_limit=left, workers=workers, seed=int_seed, callback=callback)
            status = {"found": "found", "infeasible": "infeasible"}.get(out.status, "not_found")
            scheme = out.scheme
            info = {"solver_status": out.solver_status, "symmetries": list(bm.symmetries)}
            if status == "infeasible":
                proof = out.proof
    seconds = time.perf_counter() - start
    if scheme is not None:
        check = verify_exact(scheme)
        if not check.ok:  # pragma: no cover - would be a bug in the model
            raise InternalError(f"CP-SAT returned a wrong scheme: {check.reason}")
    return CpsatOutcome("unknown" if status == "not_found" else status, scheme, proof, seconds, name, used, info)


def solve(problem: Problem, rank: int, domain: Any = "ternary", **options: Any) -> Scheme:
    """Functional form of :func:`solve_rank`: return the scheme or raise.

    Raises
    ------
    InfeasibleError
        When the rank is proved impossible for the domain.
    NotFoundError
        When nothing was found in the time limit (nothing proved).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> solve(matmul(1, 1, 2), 2).rank
    2
    >>> solve(matmul(1, 1, 2), 1)
    Traceback (most recent call last):
    ...
    discovery.core.errors.InfeasibleError: no rank-1 scheme for 1x1x2 over ternary: flattening rank 2 > 1
    """
    out = solve_rank(problem, rank, domain, **options)
    if out.status == "found":
        return out.scheme
    what = f"rank-{rank} scheme for {problem.spec} over {out.domain}"
    if out.status == "infeasible":
        raise InfeasibleError(f"no {what}: {out.proof}")
    raise NotFoundError(f"no {what} found in {out.seconds:.1f}s (nothing proved)")
