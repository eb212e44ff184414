"""Operations on schemes: the standard scheme, products, symmetries, fields.

All functions return new :class:`~discovery.core.scheme.Scheme` objects.  The
matmul symmetries are derived from the trilinear form
``F(A, B, Z) = tr(A @ B @ Z.T) = sum_r (U[r].A) (V[r].B) (W[r].Z)`` of the
``matmul`` tensor (see :mod:`discovery.core.problems`):

* cyclic ``<k,m,n> -> <m,n,k>``: ``tr(A B Z^T) = tr(B Z^T A)``, so the new
  operands are ``A' = B``, ``B' = Z^T``, ``Z' = A^T``;
* transpose ``<k,m,n> -> <n,m,k>``: ``(AB)^T = B^T A^T``, so ``A' = B^T``,
  ``B' = A^T``, ``Z' = Z^T``.
"""

from __future__ import annotations


import numpy as np

from discovery.core.coefficients import mod2
from discovery.core.errors import InvalidInputError, NotExactError
from discovery.core.problems import MatMul, Problem, matmul
from discovery.core.scheme import Scheme
from discovery.algebra.tensor import reconstruct

__all__ = ["standard_scheme", "kron", "kron_matrices", "cyclic", "transpose", "to_field", "permute_terms"]


def standard_scheme(problem: Problem) -> Scheme:
    """The naive scheme: one product ``x[a] * y[b]`` per nonzero ``T[a, b, :]``.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> standard_scheme(matmul(2, 2, 2)).rank
    8
    """
    t = problem.tensor()
    nx, ny, _ = problem.shape
    pairs = [(a, b) for a in range(nx) for b in range(ny) if np.any(t[a, b] != 0)]
    U = [[1 if i == a else 0 for i in range(nx)] for a, _ in pairs]
    V = [[1 if j == b else 0 for j in range(ny)] for _, b in pairs]
    W = [[int(v) for v in t[a, b]] for a, b in pairs]
    return Scheme(problem, U, V, W, "Z", {"engine": "standard"})


def _require_matmul(scheme: Scheme, what: str) -> MatMul:
    if not isinstance(scheme.problem, MatMul):
        raise InvalidInputError(f"{what} needs a matmul scheme, got {scheme.problem.kind}")
    return scheme.problem


def _join_fields(a: str, b: str) -> str:
    if a == b:
        return a
    if "F2" in (a, b):
        raise InvalidInputError(f"cannot combine schemes over {a} and {b}")
    return "Q"


def kron(s1: Scheme, s2: Scheme) -> Scheme:
    """Tensor (Kronecker) product of two matmul schemes.

    ``<k1,m1,n1>`` of rank R1 and ``<k2,m2,n2>`` of rank R2 give
    ``<k1k2, m1m2, n1n2>`` of rank R1*R2: the big matrices are k1 x m1 blocks
    of k2 x m2 blocks, and term ``(r1, r2)`` multiplies the coefficients.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> s = kron(standard_scheme(matmul(1, 2, 1)), standard_scheme(matmul(2, 1, 1)))
    >>> s.problem.spec, s.rank
    ('2x2x1', 4)
    """
    p1 = _require_matmul(s1, "kron")
    p2 = _require_matmul(s2, "kron")
    field = _join_fields(s1.field, s2.field)
    shapes1, shapes2 = p1.operand_shapes, p2.operand_shapes
    factors = []
    for f in range(3):  # U (A blocks), V (B blocks), W (C blocks)
        rows = [
            kron_matrices(r1.reshape(shapes1[f]), r2.reshape(shapes2[f])).ravel()
            for r1 in s1.factors[f] for r2 in s2.factors[f]
        ]
        factors.append(np.array(rows, dtype=object))
    U, V, W = factors
    if field == "F2":
        U, V, W = (np.vectorize(lambda v: v % 2, otypes=[object])(m) for m in (U, V, W))
    meta = {"engine": "kron", "from": [s1.fingerprint()[:12], s2.fingerprint()[:12]]}
    return Scheme(matmul(p1.k * p2.k, p1.m * p2.m, p1.n * p2.n), U, V, W, field, meta)


def kron_matrices(a, b) -> np.ndarray:
    """The Kronecker product of two exact matrices, as an object array.

    ``out[i1 * r2 + i2, j1 * c2 + j2] = a[i1, j1] * b[i2, j2]`` -- the block
    layout of the row-major conventions of :mod:`discovery.core.problems`
    (a k1 x m1 matrix of k2 x m2 blocks), shared by :func:`kron` and the
    nesting of Winograd algorithms.

    Examples
    --------
    >>> kron_matrices(np.array([[1, 2]], dtype=object), np.array([[1], [-1]], dtype=object)).tolist()
    [[1, 2], [-1, -2]]
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    if a.ndim != 2 or b.ndim != 2:
        raise InvalidInputError(f"kron_matrices needs two matrices, got shapes {a.shape} and {b.shape}")
    out = np.multiply.outer(a, b)  # (r1, c1, r2, c2)
    return out.transpose(0, 2, 1, 3).reshape(a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])


def cyclic(scheme: Scheme) -> Scheme:
    """``<k,m,n>`` rank R -> ``<m,n,k>`` rank R (cyclic symmetry of matmul).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> cyclic(standard_scheme(matmul(2, 3, 4))).problem.spec
    '3x4x2'
    """
    p = _require_matmul(scheme, "cyclic")
    k, m, n = p.k, p.m, p.n
    R = scheme.rank
    U2 = np.array(scheme.V, dtype=object)  # A' = B, same m x n layout
    V2 = np.zeros((R, n * k), dtype=object)
    W2 = np.zeros((R, m * k), dtype=object)
    for i in range(k):
        for l in range(n):
            V2[:, l * k + i] = scheme.W[:, i * n + l]
        for j in range(m):
            W2[:, j * k + i] = scheme.U[:, i * m + j]
    return Scheme(matmul(m, n, k), U2, V2, W2, scheme.field, {"engine": "cyclic"})


def transpose(scheme: Scheme) -> Scheme:
    """``<k,m,n>`` rank R -> ``<n,m,k>`` rank R via ``(AB)^T = B^T A^T``.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> transpose(standard_scheme(matmul(2, 3, 4))).problem.spec
    '4x3x2'
    """
    p = _require_matmul(scheme, "transpose")
    k, m, n = p.k, p.m, p.n
    R = scheme.rank
    U2 = np.zeros((R, n * m), dtype=object)
    V2 = np.zeros((R, m * k), dtype=object)
    W2 = np.zeros((R, n * k), dtype=object)
    for j in range(m):
        for l in range(n):
            U2[:, l * m + j] = scheme.V[:, j * n + l]
        for i in range(k):
            V2[:, j * k + i] = scheme.U[:, i * m + j]
    for i in range(k):
        for l in range(n):
            W2[:, l * k + i] = scheme.W[:, i * n + l]
    return Scheme(matmul(n, m, k), U2, V2, W2, scheme.field, {"engine": "transpose"})


def to_field(scheme: Scheme, field: str) -> Scheme:
    """Move a scheme to another field where that is valid.

    * Z -> Q always; Q -> Z when every coefficient is an integer.
    * Z or Q -> F2 by reduction mod 2 (denominators must be odd).
    * F2 -> Z only when the 0/1 scheme is exact over the integers (otherwise
      use :func:`solvers.lifting.lift` to choose signs).

    Raises
    ------
    InvalidInputError
        When the conversion is not defined for these coefficients.
    NotExactError
        F2 -> Z/Q when the 0/1 scheme is not exact over Z.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> to_field(standard_scheme(matmul(2, 2, 2)), "F2").field
    'F2'
    """
    if field == scheme.field:
        return scheme
    if field not in ("Z", "Q", "F2"):
        raise InvalidInputError(f"field must be Z, Q or F2, got {field!r}")
    meta = dict(scheme.meta)
    meta["converted_from"] = scheme.field
    if field == "F2":
        U, V, W = (np.vectorize(mod2, otypes=[object])(m) for m in scheme.factors)
        return Scheme(scheme.problem, U, V, W, "F2", meta)
    if scheme.field == "F2":
        u, v, w = (np.asarray(m, dtype=np.int64) for m in scheme.factors)
        recon = reconstruct(u, v, w)
        wrong = int(np.count_nonzero(recon != scheme.problem.tensor()))
        if wrong:
            raise NotExactError(
                f"the 0/1 lift is wrong in {wrong} tensor entries over {field}: "
                "choose signs with solvers.lifting.lift"
            )
        return Scheme(scheme.problem, scheme.U, scheme.V, scheme.W, field, meta)
    # Z <-> Q
    return Scheme(scheme.problem, scheme.U, scheme.V, scheme.W, field, meta)


def permute_terms(scheme: Scheme, order) -> Scheme:
    """Reorder the rank-one terms (an equivalent scheme).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> s = standard_scheme(matmul(1, 2, 1))
    >>> permute_terms(s, [1, 0]).U.tolist()
    [[0, 1], [1, 0]]
    """
    order = list(order)
    if sorted(order) != list(range(scheme.rank)):
        raise InvalidInputError(f"order must be a permutation of range({scheme.rank})")
    return scheme.replace(U=scheme.U[order], V=scheme.V[order], W=scheme.W[order])
