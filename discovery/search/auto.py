"""The ``auto`` engine: every route in turn, finished exactly.

Routes are tried in time slices until the budget ends (the front door stops
it once it has the schemes it wants): each once in the given order, then
every round ordered by its measured yield (schemes found per second of its
slices so far), so the route that works best for the problem gets the time
first:

``cpsat``
    small problems only (tensor with at most 64 entries): CP-SAT from
    scratch; a proof of infeasibility ends the search.
``flip``
    flip-graph random walks over F2, each F2 scheme lifted to Z by
    :func:`solvers.lifting.lift`.
``lm``
    Levenberg--Marquardt restarts with rounding; near misses refined with
    CP-SAT inside the engine.
``spn``
    the gradient search; its best near miss is refined with CP-SAT
    (:func:`solvers.refine.refine`).

This is the one place that knows every engine: it runs them through the
same contract (:mod:`discovery.engines.base`) and yields what they find,
with the route in the provenance.  Schemes outside the requested coefficient
set (a Hensel lift with a 2 when ``ternary`` was asked for) are dropped by
the front door's domain check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Optional

from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.engines.base import (
    Candidate,
    Engine,
    EngineOptions,
    Infeasible,
    NearMiss,
    Tally,
    check_coefficients,
    coefficient_domain_check,
    domain_of,
    option,
)
from discovery.engines.registry import get
from solvers.lifting import lift
from solvers.refine import refine

__all__ = ["ENGINE", "AutoOptions", "run", "ROUTES"]

#: The routes ``auto`` knows, in their default order.
ROUTES = ("cpsat", "flip", "lm", "spn")

#: Default total budget when no time limit is given (seconds).
DEFAULT_BUDGET = 600.0


def _check_routes(value: str, name: str) -> str:
    routes = [r.strip() for r in value.split(",") if r.strip()] if isinstance(value, str) else list(value)
    if not routes:
        raise InvalidInputError(f"option {name}: no route given (use {', '.join(ROUTES)})")
    for r in routes:
        if r not in ROUTES:
            raise InvalidInputError(f"unknown route {r!r}: use {', '.join(ROUTES)}")
    return ",".join(routes)


@dataclass(frozen=True)
class AutoOptions(EngineOptions):
    """Options of the ``auto`` engine."""

    engine = "auto"

    routes: str = option("cpsat,flip,spn,lm", check=_check_routes, metavar="R,R,...",
                         help="routes tried (cpsat, flip, lm, spn): each once in this order, then by measured "
                              "schemes per second")
    coefficients: str = option("ternary", check=check_coefficients, metavar="SET",
                               help="coefficient set of the schemes (CP-SAT, rounding, refinement, lifting)")
    slice_seconds: float = option(60.0, minimum=0.0, exclusive_minimum=True,
                                  help="time given to one route before the next is tried")

    def accepts(self, scheme: Scheme) -> Optional[str]:
        dom = domain_of(self.coefficients)
        return coefficient_domain_check(scheme, dom.values, ("Z",) if dom.scale == 1 else ("Z", "Q"))


def _route_options(route: str, options: AutoOptions):
    if route == "flip":
        return {"field": "F2", "stop_after": 1_000_000}
    if route == "spn":
        return {"coefficients": options.coefficients} if options.coefficients in ("ternary", "int2", "dyadic") else {}
    return {"coefficients": options.coefficients}


def run(problem: Problem, rank: int, options: AutoOptions, *, seed: int = 0, time_limit: Optional[float] = None,
        callback: Optional[ProgressCallback] = None) -> Iterator:
    """Run the routes in time slices; yield every scheme they find.

    Examples
    --------
    >>> from discovery.search import search
    >>> from discovery.core.problems import matmul
    >>> res = search(matmul(2, 2, 2), 7, engine="auto", time_limit=30)
    >>> res.status, res.schemes[0].meta["provenance"]["route"]
    ('found', 'cpsat')
    """
    routes = options.routes.split(",")
    small = problem.tensor().size <= 64
    routes = [r for r in routes if r != "cpsat" or small]
    if not routes:
        raise InvalidInputError("no search route is available for this problem (cpsat needs <= 64 tensor entries)")
    dom = domain_of(options.coefficients)
    budget = DEFAULT_BUDGET if time_limit is None else float(time_limit)
    t0 = time.perf_counter()
    attempts: list[dict] = []

    def left() -> float:
        return budget - (time.perf_counter() - t0)

    def elapsed() -> float:
        return time.perf_counter() - t0

    attempt = 0
    spent = {r: 0.0 for r in routes}
    found = {r: 0 for r in routes}
    order = list(routes)
    while left() > 0.5:
        for route in order:
            if left() <= 0.5:
                break
            attempt += 1
            engine = get(route)
            sub_seed = seed + attempt
            slice_ = min(options.slice_seconds, left())
            opts = engine.options.from_mapping(_route_options(route, options))
            info = {"route": route, "seed": sub_seed, "found": 0}
            info_start = elapsed()
            attempts.append(info)
            near: list[NearMiss] = []
            for item in engine.run(problem, rank, opts, seed=sub_seed, time_limit=slice_, callback=None):
                if isinstance(item, Infeasible):
                    yield Tally(attempt, None, {"attempts": attempts})
                    yield item
                    return
                if isinstance(item, NearMiss):
                    near.append(item)
                    continue
                if not isinstance(item, Candidate):
                    continue
                scheme = item.scheme
                extra = {"route": route, "route_seed": sub_seed, "search": dict(item.info)}
                if scheme.field == "F2":
                    if left() <= 0.5:
                        break
                    got = lift(scheme, time_limit=min(30.0, max(1.0, left())), seed=sub_seed)
                    info.setdefault("lifts", []).append(got.method or "no")
                    if not got.lifted:
                        continue
                    scheme, extra = got.scheme, {**extra, "route": "flip+lift", "lift": got.method}
                info["found"] += 1
                yield Tally(attempt, None, {"attempts": attempts})
                yield Candidate(scheme, elapsed(), extra)
                if left() <= 0.5:
                    break
            if route == "spn" and near and left() > 1:
                best = min(near, key=lambda n: n.wrong)
                if best.scheme.field != "F2":
                    got = refine(best.scheme, domain=dom, time_limit=min(60.0, left()), seed=sub_seed,
                                 approx=best.approx)
                    if got.exact:
                        info["found"] += 1
                        yield Candidate(got.scheme, elapsed(), {"route": "spn+refine", "route_seed": sub_seed,
                                                                "wrong_before": best.wrong})
            found[route] += info["found"]
            spent[route] += max(1e-3, elapsed() - info_start)
            yield Tally(attempt, None, {"attempts": attempts, "yield_per_second": {
                r: round(found[r] / spent[r], 4) for r in routes if spent[r]}})
            if callback is not None:
                callback(ProgressEvent("auto", done=attempt, found=sum(a["found"] for a in attempts),
                                       message=f"{route}: {info['found']} found"))
        # next round: best measured yield first (ties keep the given order)
        order = sorted(routes, key=lambda r: (-found[r] / spent[r] if spent[r] else 0.0, routes.index(r)))


ENGINE = Engine(
    name="auto",
    summary="every route in time slices (cpsat, flip + lifting, lm + refinement, spn + refinement)",
    options=AutoOptions,
    run=run,
    max_schemes=1,
)
