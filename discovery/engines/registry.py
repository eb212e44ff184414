"""The registry of search engines: name -> :class:`~discovery.engines.base.Engine`.

Every engine module defines one :class:`~discovery.engines.base.Engine`; this
module lists them.  The ``auto`` pipeline (:mod:`discovery.search.auto`),
which runs the others, sits one layer up and is added by the front door.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from discovery.core.errors import InvalidInputError
from discovery.core.scheme import Scheme
from discovery.engines import cooktoom, cpsat, flip, lm, spn
from discovery.engines.base import Candidate, Engine, EngineOptions, Tally, option

__all__ = ["ENGINES", "get"]


def _check_start(value: Any, name: str) -> Any:
    if value in ("standard", "catalog") or isinstance(value, Scheme):
        return value
    raise InvalidInputError(f"option {name} must be 'standard', 'catalog' or a Scheme, got {value!r}")


@dataclass(frozen=True)
class FlipOptions(EngineOptions):
    """Options of the ``flip`` engine."""

    engine = "flip"

    field: str = option("F2", choices=flip.FIELDS, help="F2 (fastest) or Z (coefficients in {-1, 0, 1})")
    walks: int = option(1024, minimum=1, help="walks advanced together")
    start: Any = option("standard", check=_check_start, metavar="standard|catalog|FILE",
                        help="start scheme: the standard algorithm, the best catalog scheme, or a scheme file")
    plateau: Optional[int] = option(2000, minimum=1, help="steps without a reduction before a plus transition")
    plus_slack: int = option(1, minimum=0, help="plus transitions only while rank < best + slack")
    path_length: Optional[int] = option(None, minimum=1, help="steps after which a walk restarts")
    max_steps: Optional[int] = option(None, minimum=1, help="step budget (default: the time limit, or 20000)")
    stop_after: int = option(1, minimum=1, help="stop walking after this many schemes")
    clone_every: Optional[int] = option(1000, minimum=1, help="steps between go-with-the-winners clonings")
    clone_keep: float = option(0.05, minimum=0.0, exclusive_minimum=True, maximum=1.0,
                               help="fraction of walks kept at each cloning")
    lift: bool = option(False, help="over F2, also lift found schemes to Z")

    def accepts(self, scheme: Scheme) -> Optional[str]:
        if scheme.field == self.field:
            return None
        if self.field == "F2" and self.lift and scheme.field == "Z":
            return None
        return f"field {scheme.field} is not the requested {self.field}"


def _flip_run(problem, rank, options: FlipOptions, *, seed=0, time_limit=None, callback=None) -> Iterator:
    start = time.perf_counter()
    kwargs = options.to_dict() | {"start": options.start, "max_schemes": options.stop_after}
    kwargs.pop("stop_after")
    res = flip.run(problem, rank, seed=seed, time_limit=time_limit, callback=callback, **kwargs)
    yield Tally(res.restarts, res.best_loss, {k: v for k, v in res.options.items() if k in
                                              ("steps", "flips", "rejected")} | {"best_rank": res.best_loss})
    for s in res.schemes:
        prov = dict(s.meta.get("provenance", {}))
        info = {k: prov[k] for k in ("steps", "flips", "start_rank") if k in prov}
        seconds = prov.get("seconds", time.perf_counter() - start)
        yield Candidate(s.with_meta(provenance=None), seconds, info)


FLIP = Engine(
    name="flip",
    summary="random walks on the flip graph (Kauers-Moosbauer) over F2 or Z, with plus transitions",
    options=FlipOptions,
    run=_flip_run,
)

#: Engine name -> Engine, in the order ``bilinear engines`` lists them.
ENGINES: dict[str, Engine] = {e.name: e for e in (spn.ENGINE, lm.ENGINE, FLIP, cpsat.ENGINE,
                                                  cooktoom.ENGINE)}


def get(name: str) -> Engine:
    """The engine called ``name``.

    Raises
    ------
    InvalidInputError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> get("cpsat").options.__name__
    'CpsatOptions'
    """
    try:
        return ENGINES[name]
    except (KeyError, TypeError):
        raise InvalidInputError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}") from None
