"""bilinear-discovery: find, prove and ship fast bilinear algorithms.

The package is layered; each subpackage imports only the ones below it::

    cli  ->  experiments  ->  layers  ->  codegen  ->  campaign  ->  search
         ->  engines  ->  solvers  ->  winograd  ->  io  ->  verify
         ->  algebra  ->  core

(``solvers`` and ``verify`` are top-level packages beside ``discovery``.)
The core names -- problems, :class:`Scheme`, the exceptions -- are imported
here; the higher layers are reached as attributes on first use
(``from discovery import catalog`` gives :mod:`discovery.io.catalog`), so
that importing the core never loads the solvers, torch or sympy.

Examples
--------
>>> from discovery import matmul, catalog
>>> catalog.find(matmul(2, 2, 2))[0].rank
7
"""

import importlib as _importlib

from discovery.core import (
    BilinearError,
    InfeasibleError,
    InvalidInputError,
    NotExactError,
    NotFoundError,
    Problem,
    Scheme,
    SchemeFormatError,
    UnsafePickleError,
    correlation,
    correlation2d,
    matmul,
    parse_problem,
    polymul,
    problem_from_dict,
    tensor,
)

from discovery.core.version import __version__

#: Short names for modules of the higher layers, resolved on first access.
_LAZY = {
    "catalog": "discovery.io.catalog",
    "formats": "discovery.io.formats",
    "ops": "discovery.algebra.ops",
    "literature": "discovery.algebra.literature",
    "search": "discovery.search",
    "engines": "discovery.engines",
}


def __getattr__(name):
    """Resolve the short names of :data:`_LAZY` (PEP 562)."""
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'discovery' has no attribute {name!r}") from None
    return _importlib.import_module(module)


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
    "__version__",
]
