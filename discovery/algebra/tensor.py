"""The tensor of a scheme and the Brent equations, numerically and exactly.

One implementation of the trilinear map ``(U, V, W) -> sum_r U[r] (x) V[r] (x) W[r]``
and of its derivatives, shared by the numerical engines (least squares,
Levenberg--Marquardt), the Hensel lifting and the refinement solvers.  The
exact check that decides whether a scheme is *correct* is
:mod:`verify.exact`, which scales rationals to integers and guards against
overflow; the functions here work on whatever dtype they are given.

The parameter vector of the residual is ``concat(U.ravel(), V.ravel(), W.ravel())``
and the Brent equations read ``reconstruct(U, V, W) == T``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["reconstruct", "brent_jacobian", "TensorResidual"]


def reconstruct(U, V, W) -> np.ndarray:
    """``sum_r U[r] (x) V[r] (x) W[r]`` with shape ``(nx, ny, nz)``.

    Works for float, integer and object (exact ``int``/``Fraction``) arrays.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from discovery.core.problems import matmul
    >>> bool((reconstruct(*strassen().factors) == matmul(2, 2, 2).tensor()).all())
    True
    """
    return np.einsum("ra,rb,rc->abc", np.asarray(U), np.asarray(V), np.asarray(W))


def brent_jacobian(U, V, W) -> np.ndarray:
    """Dense Jacobian of ``vec(reconstruct(U, V, W))`` in the parameter vector.

    Shape ``(nx*ny*nz, R*(nx+ny+nz))``; entry ``((a, b, c), U[r, a])`` is
    ``V[r, b] * W[r, c]``, and likewise for V and W.  Any dtype.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> U, V, W = rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    >>> J = brent_jacobian(U, V, W)
    >>> e = 1e-7
    >>> U2 = U.copy(); U2[1, 2] += e
    >>> num = (reconstruct(U2, V, W) - reconstruct(U, V, W)).ravel() / e
    >>> bool(np.allclose(num, J[:, 1 * 3 + 2], atol=1e-5))
    True
    """
    U, V, W = (np.asarray(m) for m in (U, V, W))
    R, nx = U.shape
    ny, nz = V.shape[1], W.shape[1]
    eye = [np.eye(n, dtype=np.int64) for n in (nx, ny, nz)]
    m = nx * ny * nz
    ju = np.einsum("ai,rb,rc->abcri", eye[0], V, W).reshape(m, R * nx)
    jv = np.einsum("ra,bi,rc->abcri", U, eye[1], W).reshape(m, R * ny)
    jw = np.einsum("ra,rb,ci->abcri", U, V, eye[2]).reshape(m, R * nz)
    return np.concatenate([ju, jv, jw], axis=1)


class TensorResidual:
    """Residual ``vec(reconstruct(U, V, W) - T)`` and its sparse Jacobian.

    The parameter vector is ``concat(U.ravel(), V.ravel(), W.ravel())``.
    The Jacobian's sparsity pattern is built once; values are filled per call.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> f = TensorResidual(matmul(2, 2, 2).tensor(), 7)
    >>> x = np.random.default_rng(0).normal(size=f.n)
    >>> j = f.jacobian(x).toarray()
    >>> e = np.zeros(f.n); e[5] = 1e-6
    >>> bool(np.allclose((f(x + e) - f(x)) / 1e-6, j[:, 5], atol=1e-4))
    True
    >>> bool(np.allclose(j, brent_jacobian(*f.split(x))))
    True
    """

    def __init__(self, t: np.ndarray, rank: int):
        self.t = np.asarray(t, dtype=float)
        self.rank = rank
        nx, ny, nz = self.t.shape
        self.shape = (nx, ny, nz)
        self.sizes = (rank * nx, rank * ny, rank * nz)
        self.n = sum(self.sizes)
        self.m = nx * ny * nz
        R = rank
        a, b, c, r = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), np.arange(R), indexing="ij")
        row = ((a * ny + b) * nz + c).ravel()
        self._rows = np.concatenate([row, row, row])
        self._cols = np.concatenate([
            (r * nx + a).ravel(),
            self.sizes[0] + (r * ny + b).ravel(),
            self.sizes[0] + self.sizes[1] + (r * nz + c).ravel(),
        ])

    def split(self, x: np.ndarray):
        """``(U, V, W)`` views of a parameter vector."""
        nx, ny, nz = self.shape
        R = self.rank
        u, v, w = np.split(np.asarray(x, dtype=float), np.cumsum(self.sizes)[:2])
        return u.reshape(R, nx), v.reshape(R, ny), w.reshape(R, nz)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (reconstruct(*self.split(x)) - self.t).ravel()

    def jacobian_values(self, x: np.ndarray) -> np.ndarray:
        """The Jacobian's nonzero values, in the order of its fixed pattern."""
        u, v, w = self.split(x)
        nx, ny, nz = self.shape
        R = self.rank
        ju = np.broadcast_to(np.einsum("rb,rc->bcr", v, w)[None], (nx, ny, nz, R))
        jv = np.broadcast_to(np.einsum("ra,rc->acr", u, w)[:, None, :, :], (nx, ny, nz, R))
        jw = np.broadcast_to(np.einsum("ra,rb->abr", u, v)[:, :, None, :], (nx, ny, nz, R))
        return np.concatenate([ju.ravel(), jv.ravel(), jw.ravel()])

    def jacobian(self, x: np.ndarray) -> sparse.csr_matrix:
        """The sparse Jacobian of :meth:`__call__` at ``x``."""
        return sparse.csr_matrix((self.jacobian_values(x), (self._rows, self._cols)), shape=(self.m, self.n))
