"""The exceptions of the toolkit: one small hierarchy, one meaning each.

``BilinearError`` is the root.  Input problems are ``ValueError`` subclasses so
callers that only know the standard library still catch them; search outcomes
that are not errors of the caller (proved infeasible, nothing found in budget,
not exact) have their own types so that code can tell them apart.
"""

from __future__ import annotations


class BilinearError(Exception):
    """Base class of every exception raised on purpose by this toolkit."""


class InvalidInputError(BilinearError, ValueError):
    """Input that cannot be accepted: bad sizes, bad coefficients, bad spec."""


class ResourceLimitError(InvalidInputError):
    """A size above one of the limits of :mod:`discovery.core.limits` (which says how to raise it)."""


class CatalogError(InvalidInputError):
    """The catalog cannot take a scheme: its folder is a file, a link is in the way, ..."""


class SchemeFormatError(InvalidInputError):
    """A scheme file (JSON or AlphaTensor ``.npz``) that cannot be read."""


class UnsafePickleError(SchemeFormatError):
    """A pickle inside an ``.npz`` names a global other than numpy's arrays."""


class NotExactError(BilinearError):
    """A scheme does not compute its problem exactly.

    Attributes
    ----------
    reason : str
        One line saying where it is wrong (first wrong entry or output).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class InfeasibleError(BilinearError):
    """A solver *proved* that no scheme exists for the stated rank and domain."""


class NotFoundError(BilinearError):
    """No exact scheme was found within the budget (nothing was proved)."""


class InternalError(BilinearError, RuntimeError):
    """A check inside the toolkit failed: a bug, never the caller's fault.

    Raised, for instance, when a solver returns a scheme that fails exact
    verification.  The CLI reports it as an internal error (exit code 3).
    """
