"""One progress contract for every engine.

Engines (gradient search, numerical search, CP-SAT, flip walks) call
``callback(ProgressEvent(...))`` whenever they have news; the CLI turns the
events into one progress bar.  Library code never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class ProgressEvent:
    """What an engine reports.

    Attributes
    ----------
    engine : str
        Engine name (``"spn"``, ``"lm"``, ``"cpsat"``, ...).
    done : int
        Units of work finished (restarts, solver solutions, steps).
    total : int or None
        Units planned, when known.
    found : int
        Exact schemes found so far.
    best : float or None
        Best loss or error so far (lower is better).
    message : str
        Short free text (phase, status).
    """

    engine: str
    done: int
    total: Optional[int] = None
    found: int = 0
    best: Optional[float] = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def null_callback(event: ProgressEvent) -> None:
    """A callback that ignores every event."""
