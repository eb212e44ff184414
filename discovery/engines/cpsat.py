"""Engine ``cpsat``: exact schemes from scratch with CP-SAT (:mod:`solvers.cpsat`).

Solves the Brent equations for the rank over the coefficient set: mod 2 first
and lifted (integer sets containing -1, 0, 1), or directly.  Yields the scheme
it finds, or an :class:`~discovery.engines.base.Infeasible` proof when the
rank is impossible over the set (CP-SAT's proof, or the flattening rank).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.engines.base import (
    Candidate,
    Engine,
    EngineOptions,
    Infeasible,
    Tally,
    check_coefficients,
    coefficient_domain_check,
    domain_of,
    option,
)
from discovery.core.errors import InvalidInputError
from solvers.cpsat import solve_rank

__all__ = ["ENGINE", "CpsatOptions", "run"]


def _check_hint(value: Any, name: str) -> Optional[Scheme]:
    if value is not None and not isinstance(value, Scheme):
        raise InvalidInputError(f"option {name} must be a Scheme, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class CpsatOptions(EngineOptions):
    """Options of the ``cpsat`` engine."""

    engine = "cpsat"

    coefficients: str = option("ternary", check=check_coefficients, metavar="SET",
                               help="coefficient set: ternary, int2, dyadic or a list like 0,1,-1,2")
    strategy: str = option("auto", choices=("auto", "mod2", "direct"),
                           help="mod2: solve mod 2 and lift (integer sets with -1, 0, 1); direct: the full model")
    workers: int = option(1, minimum=1, help="CP-SAT workers (1 is deterministic for a seed)")
    symmetry_breaking: Optional[bool] = option(None, help="term order and sign normalisation (direct strategy; "
                                               "default on where it is a symmetry of the set)")
    hint: Any = option(None, check=_check_hint, cli=False, help="a scheme of the same problem and rank to start from")

    def accepts(self, scheme: Scheme) -> Optional[str]:
        dom = domain_of(self.coefficients)
        return coefficient_domain_check(scheme, dom.values, ("Z",) if dom.scale == 1 else ("Z", "Q"))


def run(problem: Problem, rank: int, options: CpsatOptions, *, seed: int = 0, time_limit: Optional[float] = None,
        callback: Optional[ProgressCallback] = None) -> Iterator:
    """Solve the Brent equations for ``problem`` at ``rank`` with CP-SAT.

    Examples
    --------
    >>> from discovery.search import search
    >>> from discovery.core.problems import matmul
    >>> search(matmul(2, 2, 2), 7, engine="cpsat", time_limit=20).status
    'found'
    >>> res = search(matmul(2, 2, 2), 3, engine="cpsat")
    >>> res.status, res.proof
    ('infeasible', 'flattening rank 4 > 3')
    """
    start = time.perf_counter()
    out = solve_rank(problem, rank, domain_of(options.coefficients), strategy=options.strategy,
                     time_limit=time_limit, workers=options.workers, seed=seed, hint=options.hint,
                     symmetry_breaking=options.symmetry_breaking, callback=callback)
    yield Tally(1, None, {"strategy": out.strategy, "solver_seconds": round(out.seconds, 3), **out.info})
    if out.status == "infeasible":
        yield Infeasible(out.proof or "CP-SAT")
    elif out.scheme is not None:
        yield Candidate(out.scheme, time.perf_counter() - start, {"strategy": out.strategy})
    if callback is not None:
        callback(ProgressEvent("cpsat", done=1, total=1, found=int(out.scheme is not None), message=out.status))


ENGINE = Engine(
    name="cpsat",
    summary="CP-SAT on the Brent equations over a finite coefficient set: finds a scheme or proves none exists",
    options=CpsatOptions,
    run=run,
    max_schemes=1,
)
