"""Verification of schemes at three levels, none of which a wrong scheme passes.

* :func:`verify.exact.verify_exact` -- integer/rational (or mod 2) reconstruction
  of the tensor, complete (every entry); sparse or exact-float64 sums, so a
  rank-1000 12x12x12 scheme takes a tenth of a second.
* :func:`verify.symbolic.verify_symbolic` -- the scheme's output polynomials
  against those of the problem's *definition*, applied to symbolic operands
  with sympy.
* :func:`verify.numeric.verify_numeric` -- an exact identity test on random
  integer inputs (and, in float64/float32, the rigorous rounding bound of any
  exact scheme), plus the accuracy in float64/float32/float16 measured
  against the standard algorithm's in the same dtype.
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
