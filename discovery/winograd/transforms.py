"""Winograd's matrix form ``y = A^T [(G g) * (B^T d)]`` and 2-D nesting.

A correlation scheme (see :mod:`discovery.core.problems`) with factors U, V, W is
the familiar triple of transforms::

    G   = U        (n x r)  filter transform
    B^T = V        (n x (m + r - 1))  data transform
    A^T = W.T      (m x n)  output transform

:func:`to_transforms` and :func:`from_transforms` convert between the two
without loss.  :func:`nest` builds F(m1 x m2, r1 x r2) from two 1-D
algorithms (the rows' and the columns'); its factors are Kronecker products
in the row-major conventions of ``correlation2d``, which is the same
algorithm as Lavin & Gray's ``Y = A^T [(G g G'^T) * (B^T d B')] A'``.
:func:`to_transforms` recovers the two 1-D triples from any 2-D scheme with
that Kronecker structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from discovery.core.coefficients import exact
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Correlation, Correlation2D, correlation, correlation2d
from discovery.core.scheme import Scheme
from discovery.algebra.ops import kron_matrices
from discovery.algebra.tensor import reconstruct

__all__ = [
    "WinogradTransforms",
    "Winograd2D",
    "to_transforms",
    "from_transforms",
    "nest",
    "format_matrix",
]

def _exact_matrix(mat: Any, name: str) -> np.ndarray:
    if isinstance(mat, np.ndarray) and mat.dtype.kind == "f":
        raise InvalidInputError(f"{name}: float matrix where exact coefficients are required")
    rows = mat.tolist() if isinstance(mat, np.ndarray) else mat
    if not isinstance(rows, (list, tuple)) or not rows or not all(isinstance(r, (list, tuple)) for r in rows):
        raise InvalidInputError(f"{name} must be a non-empty matrix (list of rows)")
    width = len(rows[0])
    if width == 0 or any(len(r) != width for r in rows):
        raise InvalidInputError(f"{name} must be a rectangular matrix with at least one column")
    out = np.empty((len(rows), width), dtype=object)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            out[i, j] = exact(v, f"{name}[{i}][{j}]")
    out.flags.writeable = False
    return out


def _tidy(arr: np.ndarray) -> np.ndarray:
    """Integral Fractions of an exact object array as ints (others untouched)."""
    out = np.empty(arr.shape, dtype=object)
    flat = arr.ravel()
    for i, v in enumerate(flat):
        out.flat[i] = int(v) if isinstance(v, Fraction) and v.denominator == 1 else v
    return out


def format_matrix(mat: np.ndarray, name: str = "") -> list[str]:
    """Lines of a right-aligned exact matrix, with an optional title line.

    Examples
    --------
    >>> print("\\n".join(format_matrix(np.array([[1, Fraction(-1, 2)], [0, 3]], dtype=object), "G")))
    G =
         1  -1/2
         0     3
    """
    cells = [[str(v) for v in row] for row in np.asarray(mat).tolist()]
    width = max((len(c) for row in cells for c in row), default=1)
    lines = [f"{name} ="] if name else []
    lines += ["  " + "  ".join(c.rjust(width) for c in row) for row in cells]
    return lines


@dataclass(frozen=True)
class WinogradTransforms:
    """The exact transforms of a 1-D F(m, r): ``y = AT @ ((G @ g) * (BT @ d))``.

    Attributes
    ----------
    AT : object array, m x n
        Output transform.
    G : object array, n x r
        Filter transform.
    BT : object array, n x (m + r - 1)
        Data transform.
    """

    AT: np.ndarray
    G: np.ndarray
    BT: np.ndarray

    @property
    def m(self) -> int:
        return int(self.AT.shape[0])

    @property
    def r(self) -> int:
        return int(self.G.shape[1])

    @property
    def rank(self) -> int:
        return int(self.G.shape[0])

    def apply(self, g: np.ndarray, d: np.ndarray, dtype=None) -> np.ndarray:
        """Run the algorithm on (batched) ``g`` (..., r) and ``d`` (..., m+r-1).

        Exact on object arrays; in ``dtype`` (default float64) otherwise.

        Examples
        --------
        >>> from discovery.winograd.cooktoom import cook_toom
        >>> t = to_transforms(cook_toom(2, 3))
        >>> t.apply(np.array([1, 2, 3]), np.array([1, 0, 0, 1])).tolist()
        [1.0, 3.0]
        """
        g = np.asarray(g)
        d = np.asarray(d)
        if g.dtype == object or d.dtype == object:
            at, gm, bt = self.AT, self.G, self.BT
        else:
            ft = np.dtype(dtype or np.result_type(g.dtype, d.dtype, np.float64))
            at, gm, bt = (np.array(m.tolist(), dtype=float).astype(ft) for m in (self.AT, self.G, self.BT))
            g, d = g.astype(ft), d.astype(ft)
        out = ((g @ gm.T) * (d @ bt.T)) @ at.T
        return _tidy(out) if out.dtype == object else out

    def lines(self) -> list[str]:
        """The three matrices as text (Lavin & Gray's names)."""
        return (format_matrix(self.AT, "A^T") + [""] + format_matrix(self.G, "G") + [""]
                + format_matrix(self.BT, "B^T"))


@dataclass(frozen=True)
class Winograd2D:
    """A nested 2-D algorithm: ``Y = A1^T [(G1 g G2^T) * (B1^T d B2)] A2``.

    ``rows`` acts along the first axis (F(m1, r1)), ``cols`` along the
    second (F(m2, r2)).
    """

    rows: WinogradTransforms
    cols: WinogradTransforms

    def apply(self, g: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Run on one 2-D tile: ``g`` (r1, r2), ``d`` (m1+r1-1, m2+r2-1), exactly
        for object arrays.

        Examples
        --------
        >>> from discovery.winograd.cooktoom import cook_toom
        >>> w = to_transforms(nest(cook_toom(2, 3), cook_toom(2, 3)))
        >>> w.apply(np.ones((3, 3), dtype=object), np.ones((4, 4), dtype=object)).tolist()
        [[9, 9], [9, 9]]
        """
        a, b = self.rows, self.cols
        g = np.asarray(g)
        d = np.asarray(d)
        if g.dtype != object and d.dtype != object:
            f = lambda m: np.array(m.tolist(), dtype=float)  # noqa: E731
            u = f(a.G) @ g @ f(b.G).T
            v = f(a.BT) @ d @ f(b.BT).T
            return f(a.AT) @ (u * v) @ f(b.AT).T
        u = a.G @ g @ b.G.T
        v = a.BT @ d @ b.BT.T
        return _tidy(a.AT @ (u * v) @ b.AT.T)

    def lines(self) -> list[str]:
        def indent(lines):
            return ["  " + s if s else "" for s in lines]

        return (["rows (first axis):"] + indent(self.rows.lines()) + [""]
                + ["columns (second axis):"] + indent(self.cols.lines()))


# ----------------------------------------------------------------- conversion
def from_transforms(AT: Any, G: Any, BT: Any, meta: dict | None = None) -> Scheme:
    """The correlation scheme of ``y = AT @ ((G @ g) * (BT @ d))``.

    The problem F(m, r) is read from the shapes: m = rows of AT, r =
    columns of G; BT must have ``m + r - 1`` columns and all three the same
    number of products n.  The scheme is not verified here (see :mod:`verify`).

    Raises
    ------
    InvalidInputError
        For float entries or inconsistent shapes.

    Examples
    --------
    >>> s = from_transforms([[1, 1, 1, 0], [0, 1, -1, -1]],
    ...                     [[1, 0, 0], ["1/2", "1/2", "1/2"], ["1/2", "-1/2", "1/2"], [0, 0, 1]],
    ...                     [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    >>> s
    <rank-4 Scheme for correlation F(2,3) over Q>
    >>> from verify import verify_exact
    >>> verify_exact(s).ok
    True
    """
    at = _exact_matrix(AT, "AT")
    g = _exact_matrix(G, "G")
    bt = _exact_matrix(BT, "BT")
    m, n = at.shape
    r = g.shape[1]
    if g.shape[0] != n or bt.shape[0] != n:
        raise InvalidInputError(
            f"AT has {n} columns but G has {g.shape[0]} rows and BT {bt.shape[0]}: "
            "all three must agree on the number of products"
        )
    if bt.shape[1] != m + r - 1:
        raise InvalidInputError(
            f"BT has {bt.shape[1]} columns; F({m},{r}) needs m + r - 1 = {m + r - 1}"
        )
    field = "Q" if any(isinstance(v, Fraction) for mat in (at, g, bt) for v in mat.ravel()) else "Z"
    return Scheme(correlation(m, r), g, bt, at.T, field, meta)


def _unkron(mat: np.ndarray, r1: int, c1: int, r2: int, c2: int):
    """Exact ``(A, B)`` with ``kron(A, B) == mat`` (A r1 x c1), or None."""
    blocks = mat.reshape(r1, r2, c1, c2).transpose(0, 2, 1, 3).reshape(r1 * c1, r2 * c2)
    nz = np.argwhere(blocks != 0)
    if len(nz) == 0:
        return None
    p, q = nz[0]
    pivot = blocks[p, q]
    left = blocks[:, q]
    right = np.array([Fraction(v) / pivot for v in blocks[p, :]], dtype=object)
    if not np.all(np.outer(left, right) == blocks):
        return None
    a = np.array([exact(Fraction(v)) for v in left], dtype=object).reshape(r1, c1)
    b = np.array([exact(Fraction(v)) for v in right], dtype=object).reshape(r2, c2)
    return a, b


def _factor_2d(scheme: Scheme) -> tuple[Scheme, Scheme] | None:
    p = scheme.problem
    (m1, m2), (r1, r2) = p.m, p.r
    R = scheme.rank
    n1 = m1 + r1 - 1
    pairs = [(a, R // a) for a in range(1, R + 1) if R % a == 0]
    pairs.sort(key=lambda ab: (ab[0] != n1, ab))  # the minimal split first
    for R1, R2 in pairs:
        fu = _unkron(scheme.U, R1, r1, R2, r2)
        fv = fu and _unkron(scheme.V, R1, m1 + r1 - 1, R2, m2 + r2 - 1)
        fw = fv and _unkron(scheme.W, R1, m1, R2, m2)
        if not fw:
            continue
        (u1, u2), (v1, v2), (w1, w2) = fu, fv, fw
        s1 = Scheme(correlation(m1, r1), u1, v1, w1, "Q")
        s2 = Scheme(correlation(m2, r2), u2, v2, w2, "Q")
        # T1' (x) T2' = T1 (x) T2 forces T1' = c T1 and T2' = T2 / c.
        t1 = reconstruct(*s1.factors)
        want1 = s1.problem.tensor()
        idx = tuple(np.argwhere(want1 != 0)[0])
        c = Fraction(t1[idx]) / int(want1[idx]) if t1[idx] != 0 else None
        if not c:
            continue
        w1 = np.array([[exact(Fraction(v) / c) for v in row] for row in w1], dtype=object)
        w2 = np.array([[exact(Fraction(v) * c) for v in row] for row in w2], dtype=object)
        s1 = s1.replace(W=w1)
        s2 = s2.replace(W=w2)
        if not (np.array_equal(reconstruct(*s1.factors), want1)
                and np.array_equal(reconstruct(*s2.factors), s2.problem.tensor())):
            continue
        return s1, s2
    return None


def to_transforms(scheme: Scheme) -> WinogradTransforms | Winograd2D:
    """The Aᵀ, G, Bᵀ matrices of a correlation scheme.

    For ``correlation`` schemes this is a relabelling (``G = U``, ``BT = V``,
    ``AT = W.T``).  For ``correlation2d`` schemes with Kronecker structure
    (any output of :func:`nest`) the two 1-D triples are recovered exactly,
    with the constant split so that each 1-D triple computes its own
    correlation.

    Raises
    ------
    InvalidInputError
        For other problems, or a 2-D scheme that is not a nested pair of
        1-D algorithms.

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> t = to_transforms(cook_toom(2, 3))
    >>> t.AT.tolist()
    [[1, 1, 1, 0], [0, 1, -1, 1]]
    >>> from_transforms(t.AT, t.G, t.BT) == cook_toom(2, 3)
    True
    """
    p = scheme.problem
    if isinstance(p, Correlation):
        return WinogradTransforms(AT=np.array(scheme.W.T, dtype=object), G=np.array(scheme.U, dtype=object),
                                  BT=np.array(scheme.V, dtype=object))
    if isinstance(p, Correlation2D):
        pair = _factor_2d(scheme)
        if pair is None:
            raise InvalidInputError(
                f"this {p.spec} scheme is not a nested pair of 1-D algorithms (no Kronecker structure)"
            )
        return Winograd2D(to_transforms(pair[0]), to_transforms(pair[1]))
    raise InvalidInputError(f"Aᵀ, G, Bᵀ transforms exist for correlation schemes, not {p.kind}")


# -------------------------------------------------------------------- nesting
def nest(scheme_rows: Scheme, scheme_cols: Scheme) -> Scheme:
    """F(m1 x m2, r1 x r2) by nesting F(m1, r1) (rows) and F(m2, r2) (columns).

    Works for any two correlation schemes (Cook–Toom or found by search),
    asymmetric ones included.  The factors are Kronecker products, matching
    the row-major flattening of ``correlation2d``::

        U = kron(U1, U2)   V = kron(V1, V2)   W = kron(W1, W2)

    so the rank is ``R1 * R2`` (16 for F(2x2,3x3) instead of 36).  The result
    is exact when both inputs are; it is not re-verified here.

    Raises
    ------
    InvalidInputError
        If either scheme is not a 1-D correlation scheme.

    Examples
    --------
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> s = nest(cook_toom(2, 3), cook_toom(3, 2))
    >>> s.problem.spec, s.rank, s.problem.naive_rank
    ('F(2x3,3x2)', 16, 36)
    >>> from verify import verify_exact
    >>> verify_exact(s).ok
    True
    """
    for name, s in (("rows", scheme_rows), ("columns", scheme_cols)):
        if not isinstance(s, Scheme) or not isinstance(s.problem, Correlation):
            what = s.problem.kind if isinstance(s, Scheme) else type(s).__name__
            raise InvalidInputError(f"nest needs two 1-D correlation schemes; the {name} scheme is {what}")
    p1, p2 = scheme_rows.problem, scheme_cols.problem
    problem = correlation2d((p1.m, p2.m), (p1.r, p2.r))
    U = kron_matrices(scheme_rows.U, scheme_cols.U)
    V = kron_matrices(scheme_rows.V, scheme_cols.V)
    W = kron_matrices(scheme_rows.W, scheme_cols.W)
    field = "Z" if scheme_rows.field == scheme_cols.field == "Z" else "Q"
    if "F2" in (scheme_rows.field, scheme_cols.field):
        if scheme_rows.field != scheme_cols.field:
            raise InvalidInputError("cannot nest an F2 scheme with a scheme over Z or Q")
        field = "F2"
    prov1 = dict(scheme_rows.meta.get("provenance", {}) or {})
    prov2 = dict(scheme_cols.meta.get("provenance", {}) or {})
    provenance = {
        "engine": prov1.get("engine", "?") if prov1.get("engine") == prov2.get("engine") else
        f"{prov1.get('engine', '?')}+{prov2.get('engine', '?')}",
        "construction": f"nested: rows {p1.spec} x columns {p2.spec} (Kronecker product)",
    }
    if "points" in prov1 or "points" in prov2:
        provenance["points"] = {"rows": prov1.get("points"), "cols": prov2.get("points")}
    if "fractions" in prov1:
        provenance["fractions"] = prov1["fractions"]
    return Scheme(problem, U, V, W, field, {"provenance": provenance})
