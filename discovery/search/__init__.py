"""One front door for every search engine.

``search(problem, rank, engine="spn", ...)`` dispatches to an engine module by
name.  Every engine function has the same signature::

    run(problem, rank, *, seed=0, time_limit=None, callback=None, **options) -> SearchResult

and returns a :class:`SearchResult`: the exact, verified schemes it found,
near misses (rounded schemes with few wrong tensor entries, for the exact
solvers to finish) and timing.  Engines are imported lazily so that a missing
optional dependency of one engine does not break the others.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from discovery.core.checks import check_problem_rank
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback
from discovery.engines.base import NearMiss, SearchResult

__all__ = ["SearchResult", "NearMiss", "ENGINES", "search", "engine_function"]

#: Engine name -> "module:function".  Engines register here.
ENGINES: dict[str, str] = {
    "spn": "discovery.engines.spn:run",
    "lm": "discovery.engines.lm:run",
    "flip": "discovery.engines.flip:run",
    "cpsat": "discovery.engines.cpsat:run",
    "cooktoom": "discovery.engines.cooktoom:search_engine",
    "auto": "discovery.search.auto:run",
}


def engine_function(name: str):
    """The ``run`` function of engine ``name`` (imported on first use)."""
    if name not in ENGINES:
        raise InvalidInputError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    module, _, func = ENGINES[name].partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise InvalidInputError(f"engine {name!r} is not available in this installation") from None
        raise
    return getattr(mod, func)


def search(
    problem: Problem,
    rank: int,
    engine: str = "spn",
    *,
    seed: Any = 0,
    time_limit: Optional[float] = None,
    callback: Optional[ProgressCallback] = None,
    **options: Any,
) -> SearchResult:
    """Search for exact schemes of ``problem`` with ``rank`` multiplications.

    Parameters
    ----------
    problem : Problem
    rank : int
        Number of multiplications (>= 1).
    engine : str
        A key of :data:`ENGINES`.
    seed : int
        Same seed, same result (on the same machine).
    time_limit : float, optional
        Wall-clock budget in seconds.
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` objects.
    **options
        Engine-specific options.
    """
    check_problem_rank(problem, rank)
    if time_limit is not None and not time_limit > 0:
        raise InvalidInputError(f"time limit must be positive, got {time_limit!r}")
    run = engine_function(engine)
    return run(problem, rank, seed=seed, time_limit=time_limit, callback=callback, **options)
