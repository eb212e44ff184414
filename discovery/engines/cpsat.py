"""Engine ``cpsat``: exact schemes from scratch with CP-SAT (:mod:`solvers.cpsat`)."""

from __future__ import annotations

import datetime
from typing import Any, Optional

from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.engines.base import SearchResult
from solvers.cpsat import solve_rank

__all__ = ["run"]


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

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> run(matmul(2, 2, 2), 7, time_limit=20).status
    'found'
    >>> res = run(matmul(2, 2, 2), 3)
    >>> res.status, res.options["proof"]
    ('infeasible', 'flattening rank 4 > 3')
    """
    domain = coefficients if domain is None else domain
    out = solve_rank(problem, rank, domain, strategy=strategy, time_limit=time_limit, workers=workers,
                     seed=seed, hint=hint, symmetry_breaking=symmetry_breaking, callback=callback)
    options = {"domain": out.domain, "workers": workers, "strategy": out.strategy, **out.info}
    result = SearchResult(problem=problem, rank=rank, engine="cpsat", options=options)
    result.wall_seconds = out.seconds
    result.status = "not_found" if out.status == "unknown" else out.status
    if out.proof is not None:
        result.options["proof"] = out.proof
    if out.scheme is not None:
        scheme = out.scheme.with_meta(provenance={
            "engine": "cpsat", "seed": seed, "seconds": round(out.seconds, 3),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "domain": out.domain, "strategy": out.strategy,
        })
        result.schemes.append(scheme)
        result.exact = 1
        result.first_exact_seconds = out.seconds
    if callback is not None:
        callback(ProgressEvent("cpsat", done=1, total=1, found=result.exact, message=result.status))
    return result
