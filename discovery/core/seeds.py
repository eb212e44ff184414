"""Randomness is a parameter: one helper normalises seeds everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np

from discovery.core.errors import InvalidInputError

__all__ = ["as_generator", "as_seed"]


def as_generator(seed: Any = None) -> np.random.Generator:
    """A numpy ``Generator`` from ``None``, an int, a ``SeedSequence`` or a Generator.

    Examples
    --------
    >>> bool(as_generator(1).integers(100) == as_generator(1).integers(100))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.SeedSequence))):
        raise InvalidInputError(f"seed must be an int, a SeedSequence or a Generator, got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise InvalidInputError(f"seed must be non-negative, got {seed}")
    return np.random.default_rng(seed)


def as_seed(seed: Any = None) -> int:
    """An int seed (for torch or OR-tools) derived deterministically from ``seed``.

    Examples
    --------
    >>> as_seed(7) == as_seed(7)
    True
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise InvalidInputError(f"seed must be non-negative, got {seed}")
        return int(seed)
    return int(as_generator(seed).integers(0, 2**31 - 1))
