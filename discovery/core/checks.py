"""Argument checks shared by the engines, solvers and layers.

One place for the checks that every entry point repeats, so that the same bad
argument gives the same message everywhere.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from discovery.core.coefficients import _brief
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem

__all__ = ["positive_int", "check_problem_rank"]


def positive_int(value: Any, name: str, *, allow_none: bool = False) -> Optional[int]:
    """``value`` as an ``int`` >= 1, or :class:`InvalidInputError` naming ``name``.

    Booleans and floats are refused; numpy integers are accepted.

    Examples
    --------
    >>> positive_int(3, "rank")
    3
    >>> positive_int(0, "rank")
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: rank must be a positive integer, got 0
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {_brief(value)}")
    return int(value)


def check_problem_rank(problem: Any, rank: Any) -> int:
    """Check the two arguments every engine takes; return the rank as an ``int``.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> check_problem_rank(matmul(2, 2, 2), 7)
    7
    """
    if not isinstance(problem, Problem):
        raise InvalidInputError(f"problem must be a Problem, got {type(problem).__name__}")
    return positive_int(rank, "rank")
