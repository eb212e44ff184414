"""The ``Scheme``: one exact bilinear algorithm for one problem.

A scheme of rank R holds three exact matrices (see :mod:`discovery.core.problems`
for the index conventions)::

    U : R x nx      V : R x ny      W : R x nz
    z = W.T @ ((U @ x) * (V @ y))          T = sum_r U[r] (x) V[r] (x) W[r]

Coefficients are Python ``int`` or ``fractions.Fraction``, never floats.
A ``Scheme`` is immutable: operations return new schemes.  Whether a scheme is
*correct* is not checked at construction (the refinement solvers need to hold
wrong ones); :mod:`verify` decides that.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from discovery.core.coefficients import common_denominator, exact, to_json
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem

__all__ = ["Scheme", "FIELDS"]

#: The fields a scheme's coefficients may live in.
FIELDS = ("Z", "Q", "F2")


def _exact_matrix(rows: Any, name: str, width: int, field: str) -> np.ndarray:
    if isinstance(rows, np.ndarray):
        if rows.dtype.kind == "f":
            raise InvalidInputError(
                f"{name}: float array where exact coefficients are required "
                "(convert on purpose with discovery.core.coefficients.from_float)"
            )
        rows = rows.tolist()
    if not isinstance(rows, (list, tuple)):
        raise InvalidInputError(f"{name} must be a list of rows, got {type(rows).__name__}")
    if len(rows) == 0:
        raise InvalidInputError(f"{name} has no rows: a scheme needs rank >= 1")
    out = np.empty((len(rows), width), dtype=object)
    for r, row in enumerate(rows):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not isinstance(row, (list, tuple)):
            raise InvalidInputError(f"{name}[{r}] must be a row of coefficients, got {row!r}")
        if len(row) != width:
            raise InvalidInputError(
                f"{name}[{r}] has {len(row)} entries, expected {width} for this problem"
            )
        for c, value in enumerate(row):
            v = exact(value, f"{name}[{r}][{c}]")
            if field == "Z" and isinstance(v, Fraction):
                raise InvalidInputError(f"{name}[{r}][{c}] = {v} is not an integer (field Z)")
            if field == "F2" and v not in (0, 1):
                raise InvalidInputError(f"{name}[{r}][{c}] = {v} is not 0 or 1 (field F2)")
            out[r, c] = v
    out.flags.writeable = False
    return out


def _tidy(v: Fraction) -> int | Fraction:
    return int(v) if v.denominator == 1 else v


def _sort_key(u, v, w) -> tuple:
    return tuple(Fraction(c) for c in u.tolist()) + tuple(Fraction(c) for c in v.tolist()) + tuple(
        Fraction(c) for c in w.tolist())


class Scheme:
    """An exact rank-R bilinear algorithm ``(U, V, W)`` for a problem.

    Parameters
    ----------
    problem : Problem
        What the scheme computes.
    U, V, W : sequence of rows, or integer/object numpy arrays
        Shapes R x nx, R x ny and R x nz; entries ``int``, ``Fraction`` or
        ``"p/q"`` strings.
    field : {"Z", "Q", "F2"}
        Z needs integer entries, F2 entries in {0, 1}, Q any rationals.
    meta : mapping, optional
        Provenance and other extra keys (engine, seed, seconds, ...), kept on
        round trips through files.

    Raises
    ------
    InvalidInputError
        (a ``ValueError``) naming the bad factor, row and column.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> s = Scheme(matmul(1, 1, 1), [[1]], [[1]], [[1]])
    >>> s
    <rank-1 Scheme for matmul 1x1x1 over Z>
    >>> s.rank, s.multiplications, s.additions
    (1, 1, 0)
    """

    __slots__ = ("_problem", "_field", "_U", "_V", "_W", "_meta")

    def __init__(
        self,
        problem: Problem,
        U: Any,
        V: Any,
        W: Any,
        field: str = "Z",
        meta: Mapping[str, Any] | None = None,
    ):
        if not isinstance(problem, Problem):
            raise InvalidInputError(f"problem must be a Problem, got {type(problem).__name__}")
        if field not in FIELDS:
            raise InvalidInputError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
        nx, ny, nz = problem.shape
        u = _exact_matrix(U, "U", nx, field)
        v = _exact_matrix(V, "V", ny, field)
        w = _exact_matrix(W, "W", nz, field)
        if not (len(u) == len(v) == len(w)):
            raise InvalidInputError(
                f"U, V and W must have the same number of rows (the rank), got {len(u)}, {len(v)}, {len(w)}"
            )
        object.__setattr__(self, "_problem", problem)
        object.__setattr__(self, "_field", field)
        object.__setattr__(self, "_U", u)
        object.__setattr__(self, "_V", v)
        object.__setattr__(self, "_W", w)
        object.__setattr__(self, "_meta", MappingProxyType(dict(meta or {})))

    def __setattr__(self, name, value):
        raise AttributeError("Scheme is immutable; operations return new schemes")

    # ----------------------------------------------------------------- access
    @property
    def problem(self) -> Problem:
        return self._problem

    @property
    def field(self) -> str:
        return self._field

    @property
    def U(self) -> np.ndarray:
        """R x nx object array of exact coefficients (read-only)."""
        return self._U

    @property
    def V(self) -> np.ndarray:
        """R x ny object array of exact coefficients (read-only)."""
        return self._V

    @property
    def W(self) -> np.ndarray:
        """R x nz object array of exact coefficients (read-only)."""
        return self._W

    @property
    def factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._U, self._V, self._W

    @property
    def meta(self) -> Mapping[str, Any]:
        """Extra keys (provenance, costs); read-only."""
        return self._meta

    # ---------------------------------------------------------------- derived
    @property
    def rank(self) -> int:
        return int(self._U.shape[0])

    @property
    def multiplications(self) -> int:
        """Bilinear (operand x operand) multiplications: the rank."""
        return self.rank

    @property
    def additions(self) -> int:
        """Naive additions: each linear form with k nonzero terms costs k - 1.

        Counted over the R forms ``U[r] x``, the R forms ``V[r] y`` and the
        nz output sums ``W[:, c]``, with no sharing of subexpressions.
        """
        total = 0
        for mat in (self._U, self._V):
            nnz = np.count_nonzero(mat != 0, axis=1)
            total += int(np.maximum(nnz - 1, 0).sum())
        nnz = np.count_nonzero(self._W != 0, axis=0)
        total += int(np.maximum(nnz - 1, 0).sum())
        return total

    @property
    def scalar_multiplications(self) -> int:
        """Multiplications by constants other than 0 and +-1 (naive count)."""
        return sum(
            int(sum(1 for v in mat.ravel() if v not in (0, 1, -1))) for mat in self.factors
        )

    @property
    def coefficient_set(self) -> tuple[int | Fraction, ...]:
        """The distinct coefficient values, sorted."""
        values = set()
        for mat in self.factors:
            values.update(mat.ravel().tolist())
        return tuple(sorted(values))

    def costs(self) -> dict[str, int]:
        """Naive operation counts as a dict (JSON-ready)."""
        return {
            "multiplications": self.multiplications,
            "additions": self.additions,
            "scalar_multiplications": self.scalar_multiplications,
        }

    def integer_factors(self) -> tuple[tuple[np.ndarray, int], ...]:
        """Each factor as ``(integer matrix, denominator)`` with M / d exact.

        The integer matrices are int64 when every entry fits comfortably,
        object (Python ints) otherwise.
        """
        out = []
        for mat in self.factors:
            flat = mat.ravel().tolist()
            d = common_denominator(flat)
            ints = [int(v * d) for v in flat]
            big = max((abs(v) for v in ints), default=0) >= 2**20
            arr = np.array(ints, dtype=object if big else np.int64).reshape(mat.shape)
            out.append((arr, d))
        return tuple(out)

    def float_factors(self, dtype=np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """U, V, W as float arrays (for numeric work and layers only)."""
        return tuple(
            np.array([[float(v) for v in row] for row in mat.tolist()], dtype=dtype).reshape(mat.shape)
            for mat in self.factors
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Apply the algorithm: ``z = W.T @ ((U @ x) * (V @ y))``.

        ``x`` and ``y`` may be batched (``(..., nx)``, ``(..., ny)``).  Float
        inputs are computed in float64 (or the input's float dtype); object
        arrays (ints, Fractions, sympy symbols) are computed exactly.

        Examples
        --------
        >>> from discovery.algebra.ops import standard_scheme
        >>> from discovery.core.problems import matmul
        >>> s = standard_scheme(matmul(1, 2, 1))
        >>> s.evaluate(np.array([1, 2], dtype=object), np.array([3, 4], dtype=object)).tolist()
        [11]
        """
        x = np.asarray(x)
        y = np.asarray(y)
        if x.dtype == object or y.dtype == object:
            u, v, w = self.factors
        else:
            dtype = np.result_type(x.dtype, y.dtype, np.float32)
            u, v, w = self.float_factors(dtype)
        m = (x @ u.T) * (y @ v.T)
        return m @ w

    def canonical(self) -> "Scheme":
        """The scheme's normal form under term order and term scalings.

        Each rank-one term ``u (x) v (x) w`` is normalised within its orbit
        ``(a u) (x) (b v) (x) (w / ab)``: over Z (units +-1) the first nonzero
        entries of ``u`` and of ``v`` are made positive and ``w`` absorbs the
        signs; over Q they are made 1 and ``w`` absorbs the scales; over F2
        nothing changes.  Then the terms are sorted.  Two schemes that differ
        only by term order and these rescalings have the same canonical form
        (and :meth:`fingerprint`); equivalence under the full symmetry group
        of the problem is a coarser relation.  ``meta`` is kept.

        Examples
        --------
        >>> from discovery.core.problems import matmul
        >>> p = matmul(1, 2, 1)
        >>> a = Scheme(p, [[1, 0], [0, -1]], [[1, 0], [0, 1]], [[1], [-1]])
        >>> b = Scheme(p, [[0, 1], [1, 0]], [[0, -1], [1, 0]], [[-1], [1]])
        >>> a == b, a.canonical() == b.canonical(), a.fingerprint() == b.fingerprint()
        (False, True, True)
        >>> a.canonical().U.tolist()
        [[0, 1], [1, 0]]
        """
        U = np.array(self._U, dtype=object, copy=True)
        V = np.array(self._V, dtype=object, copy=True)
        W = np.array(self._W, dtype=object, copy=True)
        if self._field != "F2":
            for r in range(U.shape[0]):
                for M in (U, V):
                    row = M[r].tolist()
                    lead = next((c for c in row if c != 0), None)
                    if lead is None:
                        continue
                    scale = (1 if lead > 0 else -1) if self._field == "Z" else lead
                    if scale != 1:
                        M[r] = [_tidy(Fraction(c) / scale) if scale != -1 else -c for c in row]
                        W[r] = [_tidy(Fraction(c) * scale) if scale != -1 else -c for c in W[r].tolist()]
        keys = [_sort_key(U[r], V[r], W[r]) for r in range(U.shape[0])]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return Scheme(self._problem, U[order], V[order], W[order], self._field, self._meta)

    def fingerprint(self) -> str:
        """A stable hash of problem, field and the canonical factors (not of ``meta``).

        Schemes that differ only by the order of their terms and the scalings
        of :meth:`canonical` have the same fingerprint; catalog file names,
        deduplication and every "distinct" count use it.
        """
        c = self.canonical()
        payload = json.dumps(
            {
                "problem": self._problem.to_dict(),
                "field": self._field,
                "factors": [[[to_json(v) for v in row] for row in m.tolist()] for m in c.factors],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    # ------------------------------------------------------------- new values
    def with_meta(self, **updates: Any) -> "Scheme":
        """A copy with ``meta`` updated (``None`` values delete keys)."""
        meta = dict(self._meta)
        for key, value in updates.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
        return Scheme(self._problem, self._U, self._V, self._W, self._field, meta)

    def replace(self, **changes: Any) -> "Scheme":
        """A copy with some of ``problem, U, V, W, field, meta`` replaced."""
        args = {
            "problem": self._problem,
            "U": self._U,
            "V": self._V,
            "W": self._W,
            "field": self._field,
            "meta": self._meta,
        }
        unknown = set(changes) - set(args)
        if unknown:
            raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
        args.update(changes)
        return Scheme(**args)

    # ---------------------------------------------------------------- dunder
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scheme):
            return NotImplemented
        return (
            self._problem == other._problem
            and self._field == other._field
            and all(np.array_equal(a, b) for a, b in zip(self.factors, other.factors))
        )

    def __hash__(self) -> int:
        return hash((self._problem, self._field, tuple(tuple(m.ravel().tolist()) for m in self.factors)))

    def __repr__(self) -> str:
        return f"<rank-{self.rank} Scheme for {self._problem.kind} {self._problem.spec} over {self._field}>"
