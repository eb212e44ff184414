"""What every search engine returns: :class:`SearchResult` and :class:`NearMiss`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from discovery.core.problems import Problem
from discovery.core.scheme import Scheme

__all__ = ["SearchResult", "NearMiss"]


@dataclass(frozen=True)
class NearMiss:
    """A rounded scheme that is wrong in ``wrong`` tensor entries.

    ``approx`` optionally holds the continuous factors it was rounded from
    (numpy float arrays U, V, W), which refinement can use as confidence.
    """

    scheme: Scheme
    wrong: int
    approx: Optional[tuple] = None


@dataclass
class SearchResult:
    """Outcome of one search run.

    Attributes
    ----------
    status : {"found", "not_found", "infeasible"}
        ``infeasible`` only when an engine *proved* it (CP-SAT).
    schemes : list of Scheme
        Exact, verified schemes (distinct), in the order found.
    near_misses : list of NearMiss
        Sorted by number of wrong entries.
    """

    problem: Problem
    rank: int
    engine: str
    status: str = "not_found"
    schemes: list[Scheme] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)
    restarts: int = 0
    exact: int = 0
    wall_seconds: float = 0.0
    first_exact_seconds: Optional[float] = None
    best_loss: Optional[float] = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.schemes)
