"""Symbolic verification with sympy.

The algorithm is applied to symbolic operands (``x0, x1, ...`` and ``y0, ...``)
and each output polynomial is compared with the one the problem's *definition*
gives (:meth:`discovery.core.problems.Problem.direct`: ``A @ B``, the correlation
sum, ...), not with the tensor.  Polynomials are sympy's sparse ring elements
(``sympy.polys.rings``) over QQ, or GF(2) for F2 schemes, which keeps large
cases such as F(6x6, 3x3) fast.
"""

from __future__ import annotations

import numpy as np
from sympy import GF, QQ
from sympy.polys.rings import ring

from discovery.core.scheme import Scheme
from verify.result import Verification

__all__ = ["symbolic_outputs", "verify_symbolic"]


def _operands(scheme: Scheme):
    nx, ny, _ = scheme.problem.shape
    names = [f"x{a}" for a in range(nx)] + [f"y{b}" for b in range(ny)]
    domain = GF(2) if scheme.field == "F2" else QQ
    R, *gens = ring(",".join(names), domain)
    x = np.empty(nx, dtype=object)
    y = np.empty(ny, dtype=object)
    x[:] = gens[:nx]
    y[:] = gens[nx:]
    return R, domain, x, y


def _coef(domain, c):
    """An exact int or Fraction as an element of the ring's domain."""
    return domain(int(c.numerator), int(c.denominator)) if domain == QQ else domain(int(c) % 2)


def _linear(R, domain, coeffs, gens):
    out = R.zero
    for c, g in zip(coeffs, gens):
        if c != 0:
            out += g * _coef(domain, c)
    return out


def symbolic_outputs(scheme: Scheme):
    """Return ``(from_scheme, from_definition)``: lists of output polynomials."""
    R, domain, x, y = _operands(scheme)
    products = []
    for r in range(scheme.rank):
        products.append(_linear(R, domain, scheme.U[r], x) * _linear(R, domain, scheme.V[r], y))
    nz = scheme.problem.shape[2]
    got = []
    for c in range(nz):
        acc = R.zero
        for r in range(scheme.rank):
            coef = scheme.W[r, c]
            if coef != 0:
                acc += products[r] * _coef(domain, coef)
        got.append(acc)
    want = [R(v) for v in np.asarray(scheme.problem.direct(x, y)).ravel().tolist()]
    return got, want


def verify_symbolic(scheme: Scheme) -> Verification:
    """Apply the scheme to symbolic operands and compare with the definition.

    Returns
    -------
    Verification
        ``level="symbolic"``; when wrong, ``reason`` names the first wrong
        output ``z[c]`` and shows ``scheme - definition`` as a polynomial.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import correlation
    >>> s = standard_scheme(correlation(2, 3))
    >>> verify_symbolic(s).ok
    True
    >>> W = s.W.copy(); W[0, 0] = 0
    >>> print(verify_symbolic(s.replace(W=W)).reason)
    1 wrong output; first z[0]: scheme - definition = -x0*y0
    """
    got, want = symbolic_outputs(scheme)
    wrong = [c for c, (g, w) in enumerate(zip(got, want)) if g != w]
    if not wrong:
        return Verification(True, "symbolic")
    c = wrong[0]
    diff = str((got[c] - want[c]).as_expr())
    if len(diff) > 200:
        diff = diff[:200] + " ..."
    n = len(wrong)
    reason = f"{n} wrong output{'' if n == 1 else 's'}; first z[{c}]: scheme - definition = {diff}"
    return Verification(False, "symbolic", reason, n)
