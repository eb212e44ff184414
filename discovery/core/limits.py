"""Resource limits: sizes refused up front, each one configurable.

A problem, a file or an argument whose size would exhaust memory or run for
hours is refused *before* any work starts, with one line that names the limit
and the environment variable that raises it::

    >>> check("rank", 10**6, "declared rank")     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    discovery.core.errors.ResourceLimitError: declared rank is 1,000,000, above the limit of 100,000 ...

Every limit is read from its environment variable on each call (so a test or
a long-lived process can change it), falling back to the default below.  The
variables take a positive integer; ``0`` or ``none`` switch a limit off.

==================  ================================  ==============================================
limit               variable                          default and what it bounds
==================  ================================  ==============================================
``tensor_entries``  ``BILINEAR_MAX_TENSOR_ENTRIES``   2**25: entries ``nx*ny*nz`` of a problem's tensor
                                                      (16x16x16 matmul has 2**24; 32x32x32 has 2**30)
``rank``            ``BILINEAR_MAX_RANK``             100,000 terms in a scheme or a search
``scheme_entries``  ``BILINEAR_MAX_SCHEME_ENTRIES``   2**23 coefficients ``rank*(nx+ny+nz)``
``file_bytes``      ``BILINEAR_MAX_FILE_BYTES``       256 MiB read from one file or one ``.npz`` member
``json_depth``      ``BILINEAR_MAX_JSON_DEPTH``       64 levels of nesting in a scheme file
``domain_value``    ``BILINEAR_MAX_DOMAIN_VALUE``     1,024: largest ``|scale * value|`` of a CP-SAT
                                                      domain (numerators and common denominator)
``points``          ``BILINEAR_MAX_POINTS``           32 interpolation points of a Cook-Toom algorithm
``point_value``     ``BILINEAR_MAX_POINT_VALUE``      10**6: numerator and denominator of one point
``tile_rank``       ``BILINEAR_MAX_TILE_RANK``        256 multiplications of a nested 2-D Cook-Toom tile
==================  ================================  ==============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from discovery.core.errors import InvalidInputError, ResourceLimitError

__all__ = ["Limit", "LIMITS", "get", "check", "check_problem", "check_rank", "check_scheme_size"]


@dataclass(frozen=True)
class Limit:
    """One configurable limit.

    Attributes
    ----------
    name : str
        Key in :data:`LIMITS`.
    env : str
        The environment variable that overrides :attr:`default`.
    default : int
    what : str
        What is counted, for messages.
    """

    name: str
    env: str
    default: int
    what: str


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("tensor_entries", "BILINEAR_MAX_TENSOR_ENTRIES", 2**25, "tensor entries"),
        Limit("rank", "BILINEAR_MAX_RANK", 100_000, "terms"),
        Limit("scheme_entries", "BILINEAR_MAX_SCHEME_ENTRIES", 2**23, "coefficients"),
        Limit("file_bytes", "BILINEAR_MAX_FILE_BYTES", 2**28, "bytes"),
        Limit("json_depth", "BILINEAR_MAX_JSON_DEPTH", 64, "levels of nesting"),
        Limit("domain_value", "BILINEAR_MAX_DOMAIN_VALUE", 1024, "in magnitude"),
        Limit("points", "BILINEAR_MAX_POINTS", 32, "interpolation points"),
        Limit("point_value", "BILINEAR_MAX_POINT_VALUE", 10**6, "in magnitude"),
        Limit("tile_rank", "BILINEAR_MAX_TILE_RANK", 256, "multiplications"),
    )
}


def get(name: str) -> Optional[int]:
    """The current value of limit ``name`` (``None`` when switched off).

    Raises
    ------
    InvalidInputError
        For an unknown name or an environment variable that is not a
        non-negative integer.

    Examples
    --------
    >>> get("json_depth")
    64
    """
    try:
        limit = LIMITS[name]
    except KeyError:
        raise InvalidInputError(f"unknown limit {name!r}: expected one of {', '.join(LIMITS)}") from None
    raw = os.environ.get(limit.env)
    if raw is None or not raw.strip():
        return limit.default
    text = raw.strip().replace("_", "")
    if text.lower() in ("none", "off", "0"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise InvalidInputError(f"{limit.env}={raw!r}: expected a non-negative integer (0 or 'none': no limit)")
    return value


def check(name: str, value: int, what: str) -> None:
    """Raise :class:`~discovery.core.errors.ResourceLimitError` if ``value`` exceeds limit ``name``.

    ``what`` names the measured quantity in the message (``"declared rank"``).

    Examples
    --------
    >>> check("rank", 7, "rank")
    """
    bound = get(name)
    if bound is not None and value > bound:
        limit = LIMITS[name]
        shown = f"{value:,}" if value < 10**30 else f"a number of {len(str(value))} digits"
        raise ResourceLimitError(
            f"{what} is {shown}, above the limit of {bound:,} {limit.what}; "
            f"raise it with the environment variable {limit.env}=N (0: no limit)"
        )


def check_problem(problem) -> None:
    """Refuse a problem whose tensor would not fit the ``tensor_entries`` limit.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> check_problem(matmul(16, 16, 16))
    >>> check_problem(matmul(32, 32, 32))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    discovery.core.errors.ResourceLimitError: the tensor of matmul 32x32x32 (1024x1024x1024) is 1,073,741,824, above ...
    """
    nx, ny, nz = problem.shape
    check("tensor_entries", nx * ny * nz,
          f"the tensor of {problem.kind} {problem.spec} ({nx}x{ny}x{nz})")


def check_rank(rank: int, what: str = "rank") -> None:
    """Refuse a rank above the ``rank`` limit."""
    check("rank", int(rank), what)


def check_scheme_size(rank: int, shape, what: str = "scheme") -> None:
    """Refuse a scheme of ``rank`` terms for a problem of ``shape`` above the limits.

    Examples
    --------
    >>> check_scheme_size(7, (4, 4, 4))
    >>> check_scheme_size(2_000_000, (4, 4, 4))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    discovery.core.errors.ResourceLimitError: scheme rank is 2,000,000, above the limit of 100,000 terms; ...
    """
    check_rank(rank, f"{what} rank")
    check("scheme_entries", int(rank) * int(sum(shape)), f"{what} size ({rank:,} terms x {sum(shape)})")
