"""A scheme as readable formulas: the R products, then each output."""

from __future__ import annotations

from fractions import Fraction

from discovery.core.problems import Problem
from discovery.core.scheme import Scheme

__all__ = ["variable_names", "linear_form", "format_scheme"]


def variable_names(problem: Problem) -> tuple[list[str], list[str], list[str]]:
    """Names of the flat x, y and z entries.

    matmul uses ``a11, b12, c21`` (1-based row and column; with ``_`` between
    indices when a size exceeds 9); correlation uses ``g``, ``d`` and ``z``;
    other problems ``x``, ``y`` and ``z``.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> variable_names(matmul(1, 2, 1))
    (['a11', 'a12'], ['b11', 'b21'], ['c11'])
    """
    letters = {"matmul": "abc", "correlation": "gdz", "correlation2d": "gdz"}.get(problem.kind, "xyz")
    out = []
    for letter, shape in zip(letters, problem.operand_shapes):
        if len(shape) == 1:
            out.append([f"{letter}{i}" for i in range(shape[0])])
        else:
            rows, cols = shape
            one_based = problem.kind == "matmul"
            sep = "_" if max(rows, cols) > 9 else ""
            off = 1 if one_based else 0
            out.append([f"{letter}{i + off}{sep}{j + off}" for i in range(rows) for j in range(cols)])
    return out[0], out[1], out[2]


def _term(coef, name: str, first: bool) -> str:
    neg = coef < 0
    mag = -coef if neg else coef
    body = name if mag == 1 else f"{mag}*{name}" if not isinstance(mag, Fraction) else f"({mag})*{name}"
    if first:
        return f"-{body}" if neg else body
    return f" - {body}" if neg else f" + {body}"


def linear_form(coeffs, names) -> str:
    """``a11 + a22`` style text for a row of coefficients (``0`` when empty).

    Examples
    --------
    >>> linear_form([1, 0, -1, Fraction(1, 2)], ["p", "q", "r", "s"])
    'p - r + (1/2)*s'
    """
    parts = []
    for c, n in zip(coeffs, names):
        if c != 0:
            parts.append(_term(c, n, not parts))
    return "".join(parts) or "0"


def format_scheme(scheme: Scheme) -> str:
    """The algorithm as text: ``m1 = (...) * (...)`` lines, then outputs.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> print(format_scheme(standard_scheme(matmul(1, 2, 1))))
    m1 = a11 * b11
    m2 = a12 * b21
    c11 = m1 + m2
    """
    xs, ys, zs = variable_names(scheme.problem)
    ms = [f"m{r + 1}" for r in range(scheme.rank)]
    lines = []
    for r in range(scheme.rank):
        u = linear_form(scheme.U[r], xs)
        v = linear_form(scheme.V[r], ys)
        u = f"({u})" if any(op in u[1:] for op in "+-") else u
        v = f"({v})" if any(op in v[1:] for op in "+-") else v
        lines.append(f"{ms[r]} = {u} * {v}")
    for c, z in enumerate(zs):
        lines.append(f"{z} = {linear_form(scheme.W[:, c], ms)}")
    return "\n".join(lines)
