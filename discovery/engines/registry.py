"""The registry of search engines: name -> :class:`~discovery.engines.base.Engine`.

Every engine module defines one :class:`~discovery.engines.base.Engine`; this
module lists them.  The ``auto`` pipeline (:mod:`discovery.search.auto`),
which runs the others, sits one layer up and is added by the front door.
"""

from __future__ import annotations

from typing import Mapping

from discovery.core.errors import InvalidInputError
from discovery.engines import cooktoom, cpsat, flip, lm, spn
from discovery.engines.base import Engine

__all__ = ["ENGINES", "get", "lookup"]


#: Engine name -> Engine, in the order ``bilinear engines`` lists them.
ENGINES: dict[str, Engine] = {e.name: e for e in (spn.ENGINE, lm.ENGINE, flip.ENGINE, cpsat.ENGINE,
                                                  cooktoom.ENGINE)}


def lookup(engines: Mapping[str, Engine], name: str) -> Engine:
    """The engine called ``name`` in ``engines``, or a precise error listing the names it has.

    Examples
    --------
    >>> lookup(ENGINES, "nope")
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: unknown engine 'nope': expected one of spn, lm, flip, cpsat, cooktoom
    """
    try:
        return engines[name]
    except (KeyError, TypeError):
        raise InvalidInputError(f"unknown engine {name!r}: expected one of {', '.join(engines)}") from None


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
    return lookup(ENGINES, name)
