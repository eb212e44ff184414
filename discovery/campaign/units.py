"""Work units: what one worker computes, and what it sends back.

A unit is plain, picklable data (problem as its JSON object, options as
plain values, a start scheme as a ``bilinear-scheme/1`` dict), so it travels
to a process pool or a Dask cluster unchanged.  Its seed depends only on
the job's seed and the unit's index (:func:`unit_seed`), so a unit computes
the same schemes wherever and whenever it runs -- provided its budget is a
step budget (a time budget cuts the same walk at a machine-dependent point).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

__all__ = ["Unit", "UnitResult", "unit_seed"]


def unit_seed(job_seed: int, unit: int) -> int:
    """The seed of unit ``unit`` of a job with seed ``job_seed`` (numpy ``SeedSequence``).

    Examples
    --------
    >>> unit_seed(1, 0) == unit_seed(1, 0), unit_seed(1, 0) != unit_seed(1, 1)
    (True, True)
    """
    state = np.random.SeedSequence([int(job_seed), int(unit)]).generate_state(1, dtype=np.uint32)
    return int(state[0])


@dataclass(frozen=True)
class Unit:
    """One work unit of a job (see the module docstring)."""

    job: int
    unit: int
    key: str
    problem: dict
    rank: int
    engine: str
    options: dict
    seed: int
    time_limit: Optional[float]
    max_schemes: Optional[int]
    root: str
    symbolic: bool = True
    start: Any = None


@dataclass
class UnitResult:
    """What a unit sends back: its exact schemes (as dicts), counts and costs.

    ``error`` is one line when the unit could not run (bad options for this
    problem, say); the schemes it found before are still there.
    """

    job: int
    unit: int
    key: str
    seed: int
    status: str = "not_found"
    schemes: list = field(default_factory=list)
    saved: list = field(default_factory=list)
    restarts: int = 0
    exact: int = 0
    best: Optional[float] = None
    rejected: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    worker: str = ""
    error: Optional[str] = None
