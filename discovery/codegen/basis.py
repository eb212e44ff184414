"""Alternative-basis algorithms (Karstadt & Schwartz, SPAA 2017).

A scheme ``z = W.T ((U x) * (V y))`` can run in other bases of its operands
and its result: for invertible ``phi``, ``psi`` and ``nu`` with

    U = U' phi        V = V' psi        W.T = nu W'.T

the same map is ``z = nu W'.T ((U' (phi x)) * (V' (psi y)))``.  Applied
recursively for ``L`` levels, the basis changes are done once per level at
the leaves and the root -- ``x' = phi^{(x)L} x`` before, ``z = nu^{(x)L} z'``
after -- and every level in between runs the *core* ``(U', V', W')``, so the
core's additions decide the leading term of the cost and the basis changes
cost only ``O(n^2 log n)``.  For Strassen-Winograd the core needs 12
additions instead of 15.

:func:`sparsest_basis` finds, for a factor ``F`` (R x n), an invertible
integer ``Q`` making ``F Q`` sparse: ``nnz(F Q) = sum_j nnz(F q_j)``, so
choosing ``n`` independent columns ``q_j`` of least weight is a matroid
problem and the greedy over the candidates (vectors with entries in
{-1, 0, 1}, sorted by ``nnz(F q)``) is optimal among them; ties are broken
at random over restarts and the candidate bases are ranked by the core's
additions, then by the basis change's.  :func:`alternative_basis` does this
for U, V and W and returns an :class:`AlternativeBasis`, which
:meth:`AlternativeBasis.verify` checks exactly (the three identities above,
in exact rational arithmetic, for a scheme that is itself verified).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from discovery.codegen.cse import Program
from discovery.codegen.minimize import minimize
from discovery.core.coefficients import exact, to_json
from discovery.core.errors import InvalidInputError, NotExactError, SchemeFormatError
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_generator

__all__ = ["AlternativeBasis", "alternative_basis", "sparsest_basis", "exact_inverse"]

#: Beyond this many columns, candidate columns have at most 3 nonzeros.
_FULL_ENUMERATION = 10


# --------------------------------------------------------- exact linear algebra
def _fraction_matrix(mat: Any) -> list[list[Fraction]]:
    return [[Fraction(v) for v in row] for row in np.asarray(mat, dtype=object).tolist()]


def exact_inverse(mat: Any) -> np.ndarray:
    """The exact inverse of a square rational matrix (object array of ints/Fractions).

    Raises
    ------
    InvalidInputError
        If the matrix is not square or is singular.

    Examples
    --------
    >>> exact_inverse([[1, 1], [0, 1]]).tolist()
    [[1, -1], [0, 1]]
    """
    a = _fraction_matrix(mat)
    n = len(a)
    if any(len(row) != n for row in a):
        raise InvalidInputError("exact_inverse needs a square matrix")
    aug = [row + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(a)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if aug[r][col] != 0), None)
        if pivot is None:
            raise InvalidInputError("the matrix is singular")
        aug[col], aug[pivot] = aug[pivot], aug[col]
        p = aug[col][col]
        aug[col] = [v / p for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                f = aug[r][col]
                aug[r] = [v - f * w for v, w in zip(aug[r], aug[col])]
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            v = aug[i][n + j]
            out[i, j] = int(v) if v.denominator == 1 else v
    return out


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.asarray(a, dtype=object).dot(np.asarray(b, dtype=object))
    return np.vectorize(lambda v: int(v) if isinstance(v, Fraction) and v.denominator == 1 else v,
                        otypes=[object])(out)


def _det_is_unit(cols: list[np.ndarray]) -> bool:
    m = np.array(cols, dtype=np.float64)
    d = np.linalg.det(m)
    return abs(abs(d) - 1) < 1e-6


# --------------------------------------------------------------- the search
def _candidates(n: int) -> np.ndarray:
    """Columns with entries in {-1, 0, 1}, first nonzero +1 (one of each +- pair)."""
    if n <= _FULL_ENUMERATION:
        vecs = [v for v in itertools.product((0, 1, -1), repeat=n) if any(v)]
        vecs = [v for v in vecs if next(x for x in v if x) == 1]
    else:
        vecs = []
        for support in (1, 2, 3):
            for idx in itertools.combinations(range(n), support):
                for signs in itertools.product((1, -1), repeat=support - 1):
                    v = [0] * n
                    v[idx[0]] = 1
                    for i, s in zip(idx[1:], signs):
                        v[i] = s
                    vecs.append(tuple(v))
    return np.array(vecs, dtype=np.int64)


class _Independence:
    """Incremental exact rank test (row echelon form over the rationals)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, list[Fraction]]] = []

    def try_add(self, v) -> bool:
        w = [Fraction(int(x)) for x in v]
        for pivot, row in self.rows:
            if w[pivot] != 0:
                f = w[pivot] / row[pivot]
                w = [a - f * b for a, b in zip(w, row)]
        pivot = next((i for i, x in enumerate(w) if x != 0), None)
        if pivot is None:
            return False
        self.rows.append((pivot, w))
        return True


def _greedy_basis(weights: np.ndarray, cands: np.ndarray, rng, unimodular: bool) -> Optional[np.ndarray]:
    n = cands.shape[1]
    noise = rng.random(len(weights)) if rng is not None else np.zeros(len(weights))
    order = np.lexsort((noise, weights))
    ind = _Independence()
    chosen = []
    for i in order:
        if ind.try_add(cands[i]):
            chosen.append(cands[i])
            if len(chosen) == n:
                break
    if len(chosen) < n or (unimodular and not _det_is_unit(chosen)):
        return None
    return np.array(chosen, dtype=np.int64).T  # columns q_j


def sparsest_basis(factor: Any, restarts: int = 16, seed: Any = 0, unimodular: bool = True) -> list[np.ndarray]:
    """Candidate bases ``Q`` (n x n, integer, invertible) that make ``F Q`` sparsest.

    Returns up to ``restarts`` distinct ``Q`` (the identity included as the
    last resort), sparsest ``F Q`` first.  With ``unimodular`` every ``Q``
    has determinant +-1, so ``Q^-1`` is an integer matrix too.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> u = strassen_winograd().U
    >>> q = sparsest_basis(u)[0]
    >>> int(np.count_nonzero(u.dot(q))), int(np.count_nonzero(u))
    (10, 14)
    """
    f = np.array(np.asarray(factor, dtype=object).tolist(), dtype=object)
    if f.ndim != 2 or f.shape[1] == 0:
        raise InvalidInputError("sparsest_basis needs a 2-d factor with at least one column")
    try:
        fi = f.astype(np.int64)
    except (TypeError, OverflowError):
        fi = None
    if fi is None or not np.array_equal(fi.astype(object), f):
        raise InvalidInputError("sparsest_basis needs an integer factor")
    n = f.shape[1]
    cands = _candidates(n)
    weights = np.count_nonzero(fi @ cands.T, axis=0)
    rng = as_generator(seed)
    found: dict[bytes, np.ndarray] = {}
    for r in range(max(1, int(restarts))):
        q = _greedy_basis(weights, cands, None if r == 0 else rng, unimodular)
        if q is not None:
            found.setdefault(q.tobytes(), q)
    ident = np.eye(n, dtype=np.int64)
    found.setdefault(ident.tobytes(), ident)
    return sorted(found.values(), key=lambda q: int(np.count_nonzero(fi @ q)))


# ------------------------------------------------------------ the algorithm
def _as_exact(mat: Any, name: str) -> np.ndarray:
    arr = np.asarray(mat, dtype=object)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name} must be a matrix")
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = exact(arr[idx], f"{name}[{idx[0]}][{idx[1]}]")
    return out


@dataclass(frozen=True)
class AlternativeBasis:
    """A scheme run in other bases: ``z = nu W'.T ((U' phi x) * (V' psi y))``.

    Attributes
    ----------
    scheme : Scheme
        The standard-basis scheme it equals (``U = U' phi``, ``V = V' psi``,
        ``W.T = nu W'.T``).
    core : (U', V', W')
        Exact factors of the core, same shapes as the scheme's.
    phi, psi, nu : object arrays
        Exact invertible basis changes of x (nx x nx), y (ny x ny) and z
        (nz x nz).
    """

    scheme: Scheme
    core: tuple
    phi: np.ndarray
    psi: np.ndarray
    nu: np.ndarray

    def verify(self) -> None:
        """Check the three identities exactly; raise :class:`NotExactError` if one fails.

        (That the scheme itself is exact is :func:`verify.verify_exact`'s job.)
        """
        u, v, w = self.core
        checks = (("U = U' phi", _matmul(u, self.phi), self.scheme.U),
                  ("V = V' psi", _matmul(v, self.psi), self.scheme.V),
                  ("W.T = nu W'.T", _matmul(self.nu, np.asarray(w, dtype=object).T), self.scheme.W.T))
        for what, got, want in checks:
            if got.shape != want.shape or not all(a == b for a, b in zip(got.ravel(), want.ravel())):
                raise NotExactError(f"the alternative basis does not reproduce the scheme: {what} fails")

    def core_programs(self, time_limit: float = 2.0, seed: Any = 0) -> tuple[Program, Program, Program]:
        """Programs for ``U'``, ``V'`` and ``W'.T`` (:func:`~discovery.codegen.minimize.minimize`)."""
        u, v, w = self.core
        per = time_limit / 3
        return tuple(minimize(m, time_limit=per, seed=seed).program
                     for m in (u, v, np.asarray(w, dtype=object).T))

    def basis_programs(self, time_limit: float = 2.0, seed: Any = 0) -> tuple[Program, Program, Program]:
        """Programs for ``phi``, ``psi`` and ``nu``."""
        per = time_limit / 3
        return tuple(minimize(m, time_limit=per, seed=seed).program for m in (self.phi, self.psi, self.nu))

    def to_json(self) -> dict:
        """The basis and core as JSON-ready lists (for a scheme's meta)."""
        def mat(m):
            return [[to_json(x) for x in row] for row in np.asarray(m, dtype=object).tolist()]

        u, v, w = self.core
        return {"phi": mat(self.phi), "psi": mat(self.psi), "nu": mat(self.nu),
                "U": mat(u), "V": mat(v), "W": mat(w)}

    @classmethod
    def from_json(cls, scheme: Scheme, data: Any) -> "AlternativeBasis":
        """Rebuild from :meth:`to_json` output and check it exactly.

        Raises
        ------
        SchemeFormatError
            If keys are missing, shapes are wrong or the identities fail.
        """
        if not isinstance(data, dict):
            raise SchemeFormatError("alternative_basis must be an object")
        nx, ny, nz = scheme.problem.shape
        r = scheme.rank
        shapes = {"phi": (nx, nx), "psi": (ny, ny), "nu": (nz, nz), "U": (r, nx), "V": (r, ny), "W": (r, nz)}
        mats = {}
        for key, shape in shapes.items():
            if key not in data:
                raise SchemeFormatError(f"alternative_basis: missing key {key!r}")
            try:
                m = _as_exact(data[key], key)
            except (InvalidInputError, ValueError) as exc:
                raise SchemeFormatError(f"alternative_basis.{key}: {exc}") from None
            if m.shape != shape:
                raise SchemeFormatError(f"alternative_basis.{key} has shape {m.shape}, expected {shape}")
            mats[key] = m
        alt = cls(scheme, (mats["U"], mats["V"], mats["W"]), mats["phi"], mats["psi"], mats["nu"])
        try:
            alt.verify()
        except NotExactError as exc:
            raise SchemeFormatError(str(exc)) from None
        return alt


def _rank_candidates(factor: np.ndarray, restarts: int, seed, deadline: float, transpose_core: bool):
    """(core additions, basis additions, Q) for the candidate bases of one factor, best first.

    The candidates are ranked within ``deadline`` (a ``time.monotonic()``
    value); the sparsest candidate is always ranked.
    """
    out = []
    candidates = sparsest_basis(factor, restarts=restarts, seed=seed)
    for i, q in enumerate(candidates):
        left = deadline - time.monotonic()
        if i and left <= 0:
            break
        per_call = max(0.01, left / (2 * (len(candidates) - i)))
        core = _matmul(factor, q)
        core_map = core.T if transpose_core else core
        core_adds = minimize(core_map, methods=("greedy", "random"), restarts=8, time_limit=per_call,
                             seed=seed).additions
        inv = exact_inverse(q)
        basis_map = inv.T if transpose_core else inv
        basis_adds = minimize(basis_map, methods=("greedy", "random"), restarts=8, time_limit=per_call,
                              seed=seed).additions
        out.append((core_adds, basis_adds, q))
    out.sort(key=lambda t: (t[0], t[1]))
    return out


def alternative_basis(scheme: Scheme, restarts: int = 16, seed: Any = 0,
                      time_limit: float = 10.0) -> AlternativeBasis:
    """The alternative basis that makes ``scheme``'s core cheapest (Karstadt-Schwartz).

    For each factor the candidate bases of :func:`sparsest_basis` are ranked
    by the additions of the core's linear map, then by those of the basis
    change (both by :func:`~discovery.codegen.minimize.minimize` with a
    short budget); the best of each is taken.  The result is verified
    exactly before it is returned.  Integer schemes get unimodular bases, so
    every matrix stays integral.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> alt = alternative_basis(strassen_winograd(), restarts=4, time_limit=1)
    >>> sum(p.additions for p in alt.core_programs())
    12
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"alternative_basis needs a Scheme, got {type(scheme).__name__}")
    if scheme.field == "F2":
        raise InvalidInputError("alternative_basis needs a scheme over Z or Q (F2 schemes compute modulo 2)")
    for m, name in zip(scheme.factors, "UVW"):
        if any(isinstance(v, Fraction) for v in m.ravel()):
            raise InvalidInputError(f"alternative_basis handles integer schemes; {name} has a fraction")
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit > 0:
        raise InvalidInputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    start = time.monotonic()
    seeds = as_generator(seed).integers(2**31, size=3)
    chosen = []
    for i, (factor, transpose_core) in enumerate(((scheme.U, False), (scheme.V, False), (scheme.W, True))):
        deadline = start + time_limit * (i + 1) / 3
        chosen.append(_rank_candidates(factor, restarts, int(seeds[i]), deadline, transpose_core)[0][2])
    qu, qv, qw = chosen
    core = (_matmul(scheme.U, qu), _matmul(scheme.V, qv), _matmul(scheme.W, qw))
    alt = AlternativeBasis(scheme, core, exact_inverse(qu), exact_inverse(qv), exact_inverse(qw).T.copy())
    alt.verify()
    return alt
