"""Numeric verification: floating-point error against the direct computation.

This is the level users care about when a scheme runs in float32 or float16:
exact schemes still lose accuracy when their coefficients are large or
fractional.  A scheme that is wrong shows an error of order 1 and fails.
"""

from __future__ import annotations

import numpy as np

from discovery.core.seeds import as_generator
from discovery.core.scheme import Scheme
from verify.result import Verification

__all__ = ["numeric_error", "verify_numeric"]

_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


def numeric_error(scheme: Scheme, dtype: str = "float64", samples: int = 256, seed=0) -> float:
    """Max relative error of the scheme in ``dtype`` against float64 direct.

    Operands are standard normal; the error is ``max |z - z_ref| / max |z_ref|``
    over all samples, with ``z_ref`` the problem's definition in float64.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> numeric_error(standard_scheme(matmul(3, 3, 3))) < 1e-14
    True
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    rng = as_generator(seed)
    nx, ny, _ = scheme.problem.shape
    x = rng.standard_normal((samples, nx))
    y = rng.standard_normal((samples, ny))
    ref = scheme.problem.direct(x, y)
    ft = _DTYPES[dtype]
    u, v, w = scheme.float_factors(ft)
    xs, ys = x.astype(ft), y.astype(ft)
    z = ((xs @ u.T) * (ys @ v.T)) @ w
    scale = float(np.abs(ref).max()) or 1.0
    return float(np.abs(z.astype(np.float64) - ref).max() / scale)


def verify_numeric(scheme: Scheme, dtype: str = "float64", tolerance: float | None = None,
                   samples: int = 256, seed=0) -> Verification:
    """Pass when the relative error in ``dtype`` is below ``tolerance``.

    The default tolerance is ``1000 * eps(dtype)``, far below the error of
    any wrong scheme (order 1) and far above rounding of an exact one.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import correlation
    >>> verify_numeric(standard_scheme(correlation(2, 3)), "float32").ok
    True
    """
    if tolerance is None:
        tolerance = 1000 * float(np.finfo(_DTYPES.get(dtype, np.float64)).eps)
    err = numeric_error(scheme, dtype, samples, seed)
    if err <= tolerance:
        return Verification(True, "numeric", f"max relative error {err:.3g} in {dtype}")
    return Verification(False, "numeric", f"max relative error {err:.3g} in {dtype} exceeds {tolerance:.3g}", 1)
