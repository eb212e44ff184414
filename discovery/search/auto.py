"""The ``auto`` engine: search, finish exactly, verify, catalog.

Routes, tried in turn in time slices until a scheme is found or the budget
ends:

``cpsat``
    small problems only (tensor with at most 64 entries): CP-SAT from scratch.
``flip``
    flip-graph random walks over F2 (:mod:`discovery.engines.flip`, when
    installed), each F2 scheme lifted to Z by :func:`solvers.lifting.lift`.
``lm``
    Levenberg--Marquardt restarts with rounding; near misses refined with
    CP-SAT (:func:`solvers.refine.refine`).
``spn``
    the gradient search (:mod:`discovery.engines.spn`, when installed); its
    near misses are refined with CP-SAT.

Every scheme is verified exactly before it is returned, with its provenance
(route, seeds, lifting method, seconds); ``bilinear search --engine auto``
then saves it to the catalog (:func:`discovery.io.catalog.save` verifies again,
symbolically), as does ``save=True`` here.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Optional, Sequence

from discovery.core.checks import check_problem_rank
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.seeds import as_seed
from discovery.core.scheme import Scheme
from discovery.engines.base import SearchResult
from discovery.search import engine_function
from discovery.engines.cpsat import run as cpsat_run
from discovery.io.catalog import save as catalog_save
from solvers.lifting import lift
from solvers.refine import refine
from verify import verify_exact

__all__ = ["run", "DEFAULT_ROUTES"]

#: Routes in the order they are tried.
DEFAULT_ROUTES = ("cpsat", "flip", "lm")


def _available(name: str) -> bool:
    try:
        engine_function(name)
    except InvalidInputError:
        return False
    return True


def run(
    problem: Problem,
    rank: int,
    *,
    seed: Any = 0,
    time_limit: Optional[float] = None,
    callback: Optional[ProgressCallback] = None,
    routes: Optional[Sequence[str]] = None,
    domain: Any = "ternary",
    coefficients: Any = None,
    save: bool = False,
    root: Any = None,
    max_schemes: int = 1,
    slice_seconds: float = 60.0,
    **options: Any,
) -> SearchResult:
    """Find exact schemes by any route, verify them and save them.

    Parameters
    ----------
    problem : Problem
    rank : int
    seed : int
    time_limit : float, optional
        Total budget in seconds (default 600).
    routes : sequence of str, optional
        Subset/order of ``cpsat``, ``flip``, ``lm``, ``spn``; default
        :data:`DEFAULT_ROUTES` (unavailable engines are skipped).
    domain, coefficients : str
        Coefficient domain for CP-SAT, rounding and refinement.
    save : bool
        Also save each verified scheme to the catalog (``root``, default
        ``results/``) as soon as it is found.  Off by default because
        ``bilinear search`` saves what an engine returns (to ``--out``).
    max_schemes : int
        Stop after this many distinct schemes.
    slice_seconds : float
        Time given to one route before the next is tried.
    **options
        Passed to the engines (unknown ones are ignored there).

    Returns
    -------
    SearchResult
        ``options["saved"]`` lists the catalog paths.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> res = run(matmul(2, 2, 2), 7, time_limit=30)
    >>> res.status, res.schemes[0].meta["provenance"]["route"]
    ('found', 'cpsat')
    """
    rank = check_problem_rank(problem, rank)
    dom = coefficients if coefficients is not None else domain
    routes = tuple(routes) if routes is not None else DEFAULT_ROUTES
    unknown = [r for r in routes if r not in ("cpsat", "flip", "lm", "spn")]
    if unknown:
        raise InvalidInputError(f"unknown route {unknown[0]!r}: use cpsat, flip, lm or spn")
    small = problem.tensor().size <= 64
    routes = tuple(r for r in routes if (r != "cpsat" or small) and (r in ("cpsat",) or _available(r)))
    if not routes:
        raise InvalidInputError("no search route is available for this problem")
    budget = 600.0 if time_limit is None else float(time_limit)
    int_seed = as_seed(seed)
    t0 = time.perf_counter()
    result = SearchResult(problem=problem, rank=rank, engine="auto",
                          options={"routes": list(routes), "domain": str(dom), "saved": [], "attempts": []})
    seen: set = set()

    def left() -> float:
        return budget - (time.perf_counter() - t0)

    def accept(scheme: Scheme, route: str, extra: dict) -> None:
        if scheme.field == "F2" or not verify_exact(scheme).ok or scheme.fingerprint() in seen:
            return
        seen.add(scheme.fingerprint())
        inner = dict(scheme.meta.get("provenance", {}) or {})
        prov = {"search": inner} if inner else {}
        prov.update({"engine": "auto", "route": route, "seed": int_seed,
                     "seconds": round(time.perf_counter() - t0, 3),
                     "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **extra})
        scheme = scheme.with_meta(provenance=prov)
        if save:
            result.options["saved"].append(str(catalog_save(scheme, root=root)))
        result.schemes.append(scheme)
        if result.first_exact_seconds is None:
            result.first_exact_seconds = time.perf_counter() - t0
        if callback is not None:
            callback(ProgressEvent("auto", done=len(result.options["attempts"]), found=len(result.schemes),
                                   message=f"exact scheme by {route}"))

    attempt = 0
    proved = False
    while left() > 0.5 and len(result.schemes) < max_schemes and not proved:
        for route in routes:
            if left() <= 0.5 or len(result.schemes) >= max_schemes:
                break
            attempt += 1
            slice_ = min(slice_seconds, left())
            sub_seed = int_seed + attempt
            info = {"route": route, "seed": sub_seed}
            if route == "cpsat":
                res = cpsat_run(problem, rank, seed=sub_seed, time_limit=slice_, domain=dom)
                info["status"] = res.status
                for s in res.schemes:
                    accept(s, "cpsat", {})
                if res.status == "infeasible":
                    result.status = "infeasible"
                    result.options["proof"] = res.options.get("proof")
                    proved = True
            elif route == "flip":
                flip = engine_function("flip")
                res = flip(problem, rank, seed=sub_seed, time_limit=slice_, field="F2",
                           max_schemes=max(1, max_schemes - len(result.schemes)))
                info["found_f2"] = len(res.schemes)
                lifts = []
                for s in res.schemes:
                    if left() <= 0.5:
                        break
                    got = lift(s, time_limit=min(30.0, max(1.0, left())), seed=sub_seed)
                    lifts.append(got.method or "no")
                    if got.lifted:
                        accept(got.scheme, "flip+lift", {"lift": got.method, "flip_seed": sub_seed})
                info["lifts"] = lifts
            else:  # lm or spn, near misses refined inside lm; refine spn's here
                engine = engine_function(route)
                domain_kw = {"coefficients": dom} if route == "spn" else {"domain": dom}  # spn has no `domain`
                res = engine(problem, rank, seed=sub_seed, time_limit=slice_, **domain_kw, **options)
                info["found"] = len(res.schemes)
                info["near_misses"] = len(res.near_misses)
                for s in res.schemes:
                    accept(s, route, {})
                if route == "spn" and not res.schemes and res.near_misses and left() > 1:
                    nm = res.near_misses[0]
                    if nm.scheme.field != "F2":
                        got = refine(nm.scheme, domain=dom, time_limit=min(60.0, left()), seed=sub_seed,
                                     approx=nm.approx)
                        if got.exact:
                            accept(got.scheme, "spn+refine", {"wrong_before": nm.wrong})
            result.options["attempts"].append(info)
            if callback is not None:
                callback(ProgressEvent("auto", done=attempt, found=len(result.schemes),
                                       message=f"{route}: {info}"))
    result.restarts = attempt
    result.exact = len(result.schemes)
    if result.schemes:
        result.status = "found"
    elif not proved:
        result.status = "not_found"
    result.wall_seconds = time.perf_counter() - t0
    return result
