"""Symbolic verification with sympy: the scheme against the problem's *definition*.

The problem's definition (:meth:`discovery.core.problems.Problem.direct`:
``A @ B``, the correlation sum, ...) is applied to symbolic operands
(``x0, x1, ...`` and ``y0, ...``) in sympy's sparse polynomial ring over QQ
(GF(2) for F2 schemes), giving one polynomial per output -- independently of
the problem's tensor.  The scheme is applied to the same operands: output
``z[c] = sum_r W[r, c] (U[r] . x) (V[r] . y)`` expands to the coefficients
``sum_r W[r, c] U[r, a] V[r, b]`` of ``x_a y_b``, which are collected in exact
integer arithmetic (:func:`verify.exact.reconstruct_scaled`) instead of
multiplying sympy polynomials term by term, so that dense schemes (a 2-D
Winograd tile, a rank-1000 import) are checked in seconds.  The two sets of
polynomials must be equal, coefficient by coefficient.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from sympy import GF, QQ
from sympy.polys.rings import ring

from discovery.core.scheme import Scheme
from verify.exact import reconstruct_scaled
from verify.result import Verification

__all__ = ["definition_polynomials", "symbolic_outputs", "verify_symbolic"]


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
    if domain == QQ:
        c = Fraction(c)
        return domain(int(c.numerator), int(c.denominator))
    return domain(int(c) % 2)


def definition_polynomials(scheme: Scheme):
    """``(ring, domain, x, y, polys)``: the definition's output polynomials in the ring."""
    R, domain, x, y = _operands(scheme)
    polys = [R(v) for v in np.asarray(scheme.problem.direct(x, y)).ravel().tolist()]
    return R, domain, x, y, polys


def _scheme_polynomial(R, domain, x, y, n, d, c, f2: bool):
    out = R.zero
    for a, b in zip(*np.nonzero(n[:, :, c])):
        value = int(n[a, b, c])
        coef = value % 2 if f2 else Fraction(value, d)
        if coef:
            out += x[a] * y[b] * _coef(domain, coef)
    return out


def symbolic_outputs(scheme: Scheme):
    """Return ``(from_scheme, from_definition)``: lists of output polynomials."""
    R, domain, x, y, want = definition_polynomials(scheme)
    n, d = reconstruct_scaled(scheme)
    f2 = scheme.field == "F2"
    got = [_scheme_polynomial(R, domain, x, y, n, d, c, f2) for c in range(len(want))]
    return got, want


def _definition_tensor(polys, nx: int, ny: int, f2: bool):
    """Coefficients ``t[a, b, c]`` of ``x_a y_b`` in the definition's outputs, or None
    when an output is not bilinear (a monomial other than ``x_a y_b``)."""
    t = np.zeros((nx, ny, len(polys)), dtype=object)
    for c, poly in enumerate(polys):
        for monom, coef in poly.terms():
            nonzero = [i for i, e in enumerate(monom) if e]
            if len(nonzero) != 2 or any(monom[i] != 1 for i in nonzero) or not (
                    nonzero[0] < nx <= nonzero[1]):
                return None
            t[nonzero[0], nonzero[1] - nx, c] = int(coef) % 2 if f2 else Fraction(int(coef.numerator),
                                                                                  int(coef.denominator))
    return t


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
    R, domain, x, y, want = definition_polynomials(scheme)
    nx, ny, nz = scheme.problem.shape
    n, d = reconstruct_scaled(scheme)
    f2 = scheme.field == "F2"
    defined = _definition_tensor(want, nx, ny, f2)
    if defined is None:
        wrong = list(range(nz))  # compare polynomial by polynomial below
    else:
        if f2:
            bad = (n.astype(object) - defined) % 2 != 0
        else:
            bad = n.astype(object) != defined * d
        wrong = sorted({int(c) for c in np.nonzero(np.asarray(bad, dtype=bool))[2]})
    if defined is None:
        wrong = [c for c in wrong if _scheme_polynomial(R, domain, x, y, n, d, c, f2) != want[c]]
    if not wrong:
        return Verification(True, "symbolic")
    c = wrong[0]
    diff = str((_scheme_polynomial(R, domain, x, y, n, d, c, f2) - want[c]).as_expr())
    if len(diff) > 200:
        diff = diff[:200] + " ..."
    count = len(wrong)
    reason = f"{count} wrong output{'' if count == 1 else 's'}; first z[{c}]: scheme - definition = {diff}"
    return Verification(False, "symbolic", reason, count)
