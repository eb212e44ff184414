"""bilinear-discovery: find, prove and ship fast bilinear algorithms.

The core types live here: problems (:mod:`discovery.problems`), the exact
:class:`~discovery.scheme.Scheme`, file formats, operations on schemes and the
catalog.  Search engines, layers and the CLI build on them.
"""

from discovery.errors import (
    BilinearError,
    InfeasibleError,
    InvalidInputError,
    NotExactError,
    NotFoundError,
    SchemeFormatError,
    UnsafePickleError,
)
from discovery.problems import (
    Problem,
    correlation,
    correlation2d,
    matmul,
    parse_problem,
    polymul,
    problem_from_dict,
    tensor,
)
from discovery.scheme import Scheme

__version__ = "0.1.0"

__all__ = [
    "BilinearError",
    "InfeasibleError",
    "InvalidInputError",
    "NotExactError",
    "NotFoundError",
    "SchemeFormatError",
    "UnsafePickleError",
    "Problem",
    "Scheme",
    "correlation",
    "correlation2d",
    "matmul",
    "parse_problem",
    "polymul",
    "problem_from_dict",
    "tensor",
]
