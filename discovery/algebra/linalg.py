"""Exact linear algebra over Q and F2 for small matrices.

The equivalence tests of :mod:`discovery.algebra.equivalence` need ranks,
null spaces, inverses and characteristic polynomials of matrices that are
small (a few rows, a few dozen columns) but many, and they must be exact:
a rank computed in floating point could merge two inequivalent schemes.

* Over Q: Gaussian elimination on ``Fraction`` (fraction-free on integers);
* over F2: rows as Python integers (bit ``j`` is column ``j``), one XOR per
  row operation;
* :func:`batch_ranks`: the ranks of many integer matrices at once, by
  vectorised elimination modulo the prime ``p = 65521`` (inverses from a
  table).  The rank modulo
  ``p`` can only be smaller than the rank over Q when ``p`` divides a minor,
  and every minor is bounded by Hadamard's inequality; where that bound
  reaches ``p`` the matrix is redone exactly, so the result is always the
  rank over Q (``field="Q"``) or over F2 (``field="F2"``).

Matrices are sequences of rows (lists, tuples or 2-d object arrays) of
``int`` or ``Fraction``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from discovery.core.coefficients import mod2
from discovery.core.errors import InvalidInputError

__all__ = [
    "rank",
    "nullspace",
    "left_nullspace",
    "inverse",
    "determinant",
    "matmul",
    "charpoly",
    "batch_ranks",
    "PRIME",
]

#: The prime of :func:`batch_ranks` (inverses come from a table of its residues).
PRIME = 65_521

_INVERSES: dict[int, np.ndarray] = {}


def _inverse_table(p: int) -> np.ndarray:
    table = _INVERSES.get(p)
    if table is None:
        table = np.zeros(p, dtype=np.int64)
        table[1:] = [pow(v, p - 2, p) for v in range(1, p)]
        _INVERSES[p] = table
    return table


def _rows(M: Any) -> list[list]:
    if isinstance(M, np.ndarray):
        return [list(r) for r in M.tolist()]
    return [list(r) for r in M]


def _check_field(field: str) -> None:
    if field not in ("Q", "F2"):
        raise InvalidInputError(f"field must be Q or F2, got {field!r}")


# ------------------------------------------------------------------- F2 rows
def _f2_masks(rows: list[list]) -> list[int]:
    out = []
    for row in rows:
        mask = 0
        for j, v in enumerate(row):
            if (int(v) & 1) if isinstance(v, (int, np.integer)) else mod2(v):
                mask |= 1 << j
        out.append(mask)
    return out


def _f2_echelon(masks: list[int]) -> list[tuple[int, int]]:
    """Reduced echelon form: list of ``(pivot bit, row mask)``."""
    basis: list[tuple[int, int]] = []
    for m in masks:
        for bit, row in basis:
            if m >> bit & 1:
                m ^= row
        if m:
            bit = (m & -m).bit_length() - 1
            basis = [(b, r ^ m if r >> bit & 1 else r) for b, r in basis]
            basis.append((bit, m))
    return basis


# ------------------------------------------------------------------- Q rows
def _q_echelon(rows: list[list], ncols: int) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form over Q and its pivot columns."""
    A = [[Fraction(v) for v in row] for row in rows]
    pivots: list[int] = []
    r = 0
    for c in range(ncols):
        p = next((i for i in range(r, len(A)) if A[i][c] != 0), None)
        if p is None:
            continue
        A[r], A[p] = A[p], A[r]
        inv = 1 / A[r][c]
        A[r] = [v * inv for v in A[r]]
        for i in range(len(A)):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[r])]
        pivots.append(c)
        r += 1
        if r == len(A):
            break
    return A[:r], pivots


def _int_rank(rows: list[list[int]]) -> int:
    """Rank over Q of an integer matrix by fraction-free (Bareiss) elimination."""
    A = [list(map(int, row)) for row in rows]
    if not A:
        return 0
    n, m = len(A), len(A[0])
    r, prev = 0, 1
    for c in range(m):
        p = next((i for i in range(r, n) if A[i][c] != 0), None)
        if p is None:
            continue
        A[r], A[p] = A[p], A[r]
        piv = A[r][c]
        for i in range(r + 1, n):
            a = A[i][c]
            A[i] = [(piv * A[i][j] - a * A[r][j]) // prev for j in range(m)]
        prev = piv
        r += 1
        if r == n:
            break
    return r


def rank(M: Any, field: str = "Q") -> int:
    """The exact rank of ``M`` over Q or F2.

    Examples
    --------
    >>> rank([[1, 1], [1, -1]]), rank([[1, 1], [1, -1]], "F2")
    (2, 1)
    """
    _check_field(field)
    rows = _rows(M)
    if not rows or not rows[0]:
        return 0
    if field == "F2":
        return len(_f2_echelon(_f2_masks(rows)))
    if all(isinstance(v, (int, np.integer)) or (isinstance(v, Fraction) and v.denominator == 1)
           for row in rows for v in row):
        return _int_rank(rows)
    return len(_q_echelon(rows, len(rows[0]))[1])


def nullspace(M: Any, ncols: int | None = None, field: str = "Q") -> list[list]:
    """A basis of ``{x : M x = 0}`` over Q (Fractions, ints where integral) or F2 (0/1).

    ``ncols`` gives the width when ``M`` has no rows.

    Examples
    --------
    >>> nullspace([[1, 1, 0]])
    [[-1, 1, 0], [0, 0, 1]]
    >>> nullspace([[1, 1, 0]], field="F2")
    [[1, 1, 0], [0, 0, 1]]
    """
    _check_field(field)
    rows = _rows(M)
    n = ncols if ncols is not None else (len(rows[0]) if rows else 0)
    if field == "F2":
        basis = _f2_echelon(_f2_masks(rows))
        pivot_of = {bit: row for bit, row in basis}
        out = []
        for free in range(n):
            if free in pivot_of:
                continue
            x = [0] * n
            x[free] = 1
            for bit, row in basis:
                if row >> free & 1:
                    x[bit] = 1
            out.append(x)
        return out
    R, pivots = _q_echelon(rows, n) if rows else ([], [])
    out = []
    for free in range(n):
        if free in pivots:
            continue
        x = [Fraction(0)] * n
        x[free] = Fraction(1)
        for row, p in zip(R, pivots):
            x[p] = -row[free]
        out.append([_tidy(v) for v in x])
    return out


def left_nullspace(M: Any, nrows: int | None = None, field: str = "Q") -> list[list]:
    """A basis of ``{z : z^T M = 0}``.

    Examples
    --------
    >>> left_nullspace([[1, 0], [1, 0]])
    [[-1, 1]]
    """
    rows = _rows(M)
    n = nrows if nrows is not None else len(rows)
    cols = [list(c) for c in zip(*rows)] if rows else []
    return nullspace(cols, n, field)


def _tidy(v: Fraction) -> int | Fraction:
    return int(v) if v.denominator == 1 else v


def matmul(A: Any, B: Any, field: str = "Q") -> list[list]:
    """Exact product ``A @ B`` (reduced mod 2 over F2).

    Examples
    --------
    >>> matmul([[1, 2]], [[3], [4]])
    [[11]]
    """
    a, b = _rows(A), _rows(B)
    cols = list(zip(*b))
    out = [[sum((x * y for x, y in zip(row, col)), 0) for col in cols] for row in a]
    if field == "F2":
        return [[mod2(v) for v in row] for row in out]
    return [[_tidy(Fraction(v)) for v in row] for row in out]


def inverse(M: Any, field: str = "Q") -> list[list]:
    """The exact inverse of a square matrix over Q or F2.

    Raises
    ------
    InvalidInputError
        If the matrix is not square or is singular over the field.

    Examples
    --------
    >>> inverse([[2, 1], [1, 1]])
    [[1, -1], [-1, 2]]
    >>> inverse([[1, 1], [1, -1]], "F2")
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: matrix is singular over F2
    """
    _check_field(field)
    rows = _rows(M)
    n = len(rows)
    if any(len(r) != n for r in rows):
        raise InvalidInputError(f"inverse needs a square matrix, got {n} rows of widths {sorted({len(r) for r in rows})}")
    if field == "F2":
        masks = [m | (1 << (n + i)) for i, m in enumerate(_f2_masks(rows))]
        basis = _f2_echelon(masks)
        if len(basis) < n or any(bit >= n for bit, _ in basis):
            raise InvalidInputError("matrix is singular over F2")
        inv = {bit: row >> n for bit, row in basis}
        return [[inv[i] >> j & 1 for j in range(n)] for i in range(n)]
    aug = [list(r) + [1 if j == i else 0 for j in range(n)] for i, r in enumerate(rows)]
    R, pivots = _q_echelon(aug, 2 * n)
    if len(pivots) < n or pivots[n - 1] != n - 1:
        raise InvalidInputError("matrix is singular over Q")
    return [[_tidy(v) for v in R[i][n:]] for i in range(n)]


def determinant(M: Any) -> int | Fraction:
    """The exact determinant over Q.

    Examples
    --------
    >>> determinant([[2, 1], [1, 1]]), determinant([[1, 2], [2, 4]])
    (1, 0)
    """
    A = [[Fraction(v) for v in r] for r in _rows(M)]
    n = len(A)
    det = Fraction(1)
    for c in range(n):
        p = next((i for i in range(c, n) if A[i][c] != 0), None)
        if p is None:
            return 0
        if p != c:
            A[c], A[p] = A[p], A[c]
            det = -det
        det *= A[c][c]
        for i in range(c + 1, n):
            f = A[i][c] / A[c][c]
            if f:
                A[i] = [a - f * b for a, b in zip(A[i], A[c])]
    return _tidy(det)


def charpoly(M: Any) -> list:
    """Coefficients of ``det(x I - M)``, highest degree first (monic), exactly.

    Faddeev--LeVerrier over Q; integer matrices give integer coefficients.

    Examples
    --------
    >>> charpoly([[2, 1], [1, 2]])
    [1, -4, 3]
    """
    rows = _rows(M)
    if all(isinstance(v, (int, np.integer)) for r in rows for v in r):
        return _int_charpoly([[int(v) for v in r] for r in rows])
    A = [[Fraction(v) for v in r] for r in rows]
    n = len(A)
    coeffs = [Fraction(1)]
    Mk = [[Fraction(0)] * n for _ in range(n)]
    c = Fraction(1)
    for k in range(1, n + 1):
        # M_k = A (M_{k-1} + c_{k-1} I);  c_k = -tr(A M_k) / k
        for i in range(n):
            Mk[i][i] += c
        Mk = [[sum((A[i][t] * Mk[t][j] for t in range(n)), Fraction(0)) for j in range(n)] for i in range(n)]
        c = -sum((Mk[i][i] for i in range(n)), Fraction(0)) / k
        coeffs.append(c)
    return [_tidy(v) for v in coeffs]


def _int_charpoly(A: list[list[int]]) -> list[int]:
    """Faddeev--LeVerrier on integers (the divisions by k are exact)."""
    n = len(A)
    coeffs = [1]
    Mk = [[0] * n for _ in range(n)]
    c = 1
    for k in range(1, n + 1):
        for i in range(n):
            Mk[i][i] += c
        Mt = list(zip(*Mk))
        Mk = [[sum(a * b for a, b in zip(A[i], Mt[j])) for j in range(n)] for i in range(n)]
        c = -sum(Mk[i][i] for i in range(n)) // k
        coeffs.append(c)
    return coeffs


# ------------------------------------------------------------- batch ranks
def _ranks_mod(B: np.ndarray, p: int) -> np.ndarray:
    """Ranks of a batch ``B`` (N, r, c) of residues mod ``p`` (int64)."""
    A = B.copy() % p
    table = _inverse_table(p)
    N, r, c = A.shape
    if r > c:
        A = np.ascontiguousarray(np.swapaxes(A, 1, 2))
        r, c = c, r
    ranks = np.zeros(N, dtype=np.int64)
    idx = np.arange(N)
    for col in range(c):
        rows = np.arange(r)[None, :]
        live = rows >= ranks[:, None]  # rows not yet used as pivots
        nz = (A[:, :, col] != 0) & live
        has = nz.any(axis=1)
        if not has.any():
            continue
        piv = np.argmax(nz, axis=1)
        b = idx[has]
        pr, tr = piv[has], ranks[has]
        # swap pivot row into position tr
        row_p = A[b, pr].copy()
        A[b, pr] = A[b, tr]
        A[b, tr] = row_p
        inv = table[row_p[:, col]]
        pivot_rows = (row_p * inv[:, None]) % p
        A[b, tr] = pivot_rows
        f = A[b, :, col].copy()  # (nb, r)
        f[np.arange(len(b)), tr] = 0
        A[b] = (A[b] - (f[:, :, None] * pivot_rows[:, None, :]) % p) % p
        ranks[has] += 1
        if (ranks >= r).all():
            break
    return ranks


def batch_ranks(B: np.ndarray, field: str = "Q") -> np.ndarray:
    """Exact ranks of a batch of integer matrices ``B`` of shape (N, r, c).

    Over F2 the entries are taken mod 2.  Over Q the batch is reduced modulo
    :data:`PRIME`; any matrix whose Hadamard bound on its minors reaches
    the prime is recomputed exactly, so the ranks are those over Q.

    Examples
    --------
    >>> batch_ranks(np.array([[[1, 1], [1, -1]], [[2, 4], [1, 2]]])).tolist()
    [2, 1]
    >>> batch_ranks(np.array([[[1, 1], [1, -1]]]), "F2").tolist()
    [1]
    """
    _check_field(field)
    B = np.asarray(B)
    if B.dtype == object:
        B = np.array(B.tolist(), dtype=object)
        if any(abs(int(v)) >= 2**62 for v in B.ravel().tolist()):
            return np.array([rank(m.tolist(), field) for m in B], dtype=np.int64)
        B = B.astype(np.int64)
    if B.ndim != 3:
        raise InvalidInputError(f"batch_ranks needs an (N, rows, cols) array, got shape {B.shape}")
    if B.shape[0] == 0 or B.shape[1] == 0 or B.shape[2] == 0:
        return np.zeros(B.shape[0], dtype=np.int64)
    if field == "F2":
        return _ranks_mod(B % 2, 2)
    ranks = _ranks_mod(B % PRIME, PRIME)
    # Hadamard: |minor| <= prod of the norms of its rows (of the smaller side)
    X = B.astype(np.float64)
    if B.shape[1] > B.shape[2]:
        X = np.swapaxes(X, 1, 2)
    norms = np.maximum(np.sqrt((X * X).sum(axis=2)), 1.0)
    bound = np.prod(norms, axis=1)
    for i in np.flatnonzero(bound >= PRIME / 2).tolist():
        ranks[i] = rank(B[i].tolist(), "Q")
    return ranks


def gcd_of(values: Sequence[int]) -> int:
    """The gcd of integers (0 for none or all zero)."""
    g = 0
    for v in values:
        g = math.gcd(g, int(v))
    return g
