"""The core types every other layer builds on.

Problems and their exact tensors (:mod:`~discovery.core.problems`), the
immutable exact :class:`~discovery.core.scheme.Scheme`, exact coefficients
(:mod:`~discovery.core.coefficients`), the exception hierarchy
(:mod:`~discovery.core.errors`), argument checks, seeds and the progress
contract.  Nothing here imports another layer of the toolkit.
"""

from discovery.core.errors import (
    BilinearError,
    CatalogError,
    InfeasibleError,
    InternalError,
    InvalidInputError,
    NotExactError,
    NotFoundError,
    ResourceLimitError,
    SchemeFormatError,
    UnsafePickleError,
)
from discovery.core.problems import (
    Problem,
    correlation,
    correlation2d,
    matmul,
    parse_problem,
    polymul,
    problem_from_dict,
    tensor,
)
from discovery.core.scheme import FIELDS, Scheme

__all__ = [
    "BilinearError",
    "CatalogError",
    "InfeasibleError",
    "InternalError",
    "InvalidInputError",
    "NotExactError",
    "NotFoundError",
    "ResourceLimitError",
    "SchemeFormatError",
    "UnsafePickleError",
    "Problem",
    "Scheme",
    "FIELDS",
    "correlation",
    "correlation2d",
    "matmul",
    "parse_problem",
    "polymul",
    "problem_from_dict",
    "tensor",
]
