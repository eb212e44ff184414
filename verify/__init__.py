"""Verification of schemes at three levels, none of which a wrong scheme passes.

* :func:`verify.exact.verify_exact` -- integer/rational (or mod 2) reconstruction
  of the tensor; fast.
* :func:`verify.symbolic.verify_symbolic` -- apply the algorithm to symbolic
  operands with sympy and compare with the problem's *definition*.
* :func:`verify.numeric.verify_numeric` -- float64/float32 error against the
  direct computation on random inputs.
"""

from verify.result import Verification
from verify.exact import check_exact, residual, verify_exact, wrong_entries
from verify.symbolic import verify_symbolic
from verify.numeric import numeric_error, verify_numeric


def verify_all(scheme, symbolic: bool = True) -> Verification:
    """Run exact, then (optionally) symbolic verification; return the first failure.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> verify_all(standard_scheme(matmul(2, 2, 2))).ok
    True
    """
    result = verify_exact(scheme)
    if not result.ok or not symbolic:
        return result
    return verify_symbolic(scheme)


__all__ = [
    "Verification",
    "check_exact",
    "residual",
    "verify_exact",
    "wrong_entries",
    "verify_symbolic",
    "verify_numeric",
    "numeric_error",
    "verify_all",
]
