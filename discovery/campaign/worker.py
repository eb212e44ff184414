"""The function a worker runs: one unit through the search front door.

:func:`run_unit` rebuilds the problem and options, calls
:func:`discovery.search.search` with ``save=True`` -- so every exact scheme
is verified and written to the catalog (atomically, under a name derived
from its canonical form) the moment it is found -- and returns a
:class:`~discovery.campaign.units.UnitResult`.  The coordinator saves the
returned schemes again when they are missing (a worker that does not share
the catalog's filesystem), so nothing found is lost either way.
"""

from __future__ import annotations

import os
import socket
import time

from discovery.campaign.units import Unit, UnitResult
from discovery.core.errors import BilinearError
from discovery.core.problems import problem_from_dict
from discovery.io.formats import scheme_from_dict, scheme_to_dict
from discovery.search import get_engine, search

__all__ = ["run_unit"]


def run_unit(unit: Unit) -> UnitResult:
    """Run one unit; never raises for bad input (the error is in the result)."""
    t0, c0 = time.perf_counter(), time.process_time()
    res = UnitResult(job=unit.job, unit=unit.unit, key=unit.key, seed=unit.seed,
                     worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        problem = problem_from_dict(unit.problem)
        options = dict(unit.options)
        if isinstance(unit.start, dict):
            options["start"] = scheme_from_dict(unit.start)
        elif unit.start is not None:
            options["start"] = unit.start
        eng = get_engine(unit.engine)
        result = search(problem, unit.rank, eng.name, options=options, seed=unit.seed, time_limit=unit.time_limit,
                        max_schemes=unit.max_schemes, save=True, root=unit.root, symbolic=unit.symbolic)
        res.status = result.status
        res.schemes = [scheme_to_dict(s) for s in result.schemes]
        res.saved = list(result.saved)
        res.restarts = int(result.restarts)
        res.exact = int(result.exact)
        res.best = None if result.best_loss is None else float(result.best_loss)
        res.rejected = dict(result.rejected)
    except BilinearError as exc:
        res.status = "error"
        res.error = " ".join(str(exc).split()) or type(exc).__name__
    res.wall_seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    return res
