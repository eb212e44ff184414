"""Bilinear problems and their exact 3-tensors.

Index conventions (the one place they are written down)
-------------------------------------------------------
A bilinear map takes two flat operand vectors ``x`` (length ``nx``) and ``y``
(length ``ny``) to a flat output ``z`` (length ``nz``).  Its tensor ``T`` is an
integer array of shape ``(nx, ny, nz)`` with::

    z[c] = sum_{a, b} T[a, b, c] * x[a] * y[b]

Every multi-dimensional operand is flattened row-major (C order):

``matmul(k, m, n)``
    ``x = A`` (k x m), ``y = B`` (m x n), ``z = C = A @ B`` (k x n), so
    ``T[i*m + j, j*n + l, i*n + l] = 1``.  ``A`` is the operand a layer holds
    as weights.
``correlation(m, r)`` -- Winograd's F(m, r)
    ``x = g`` (r filter taps), ``y = d`` (m + r - 1 inputs),
    ``z[i] = sum_j g[j] * d[i + j]``.
``correlation2d((m1, m2), (r1, r2))`` -- F(m1 x m2, r1 x r2)
    ``x = g`` (r1 x r2), ``y = d`` ((m1+r1-1) x (m2+r2-1)), ``z`` (m1 x m2),
    ``z[i1, i2] = sum g[j1, j2] * d[i1 + j1, i2 + j2]``.
``polymul(p, q)``
    coefficient vectors of lengths p and q, ``z[i + j] += x[i] * y[j]``.
``tensor(T)``
    any user-given integer 3-tensor.

A *scheme* of rank R for T is three matrices U (R x nx), V (R x ny) and
W (R x nz) with ``T = sum_r U[r] (x) V[r] (x) W[r]``, i.e.
``z = W.T @ ((U @ x) * (V @ y))``; see :mod:`discovery.core.scheme`.

AlphaTensor's files use another convention for matmul (their third factor
indexes C transposed); :mod:`discovery.io.formats` translates at the edge.
"""

from __future__ import annotations

import functools
import hashlib
import re
from abc import ABC, abstractmethod
from typing import Any, Mapping

import numpy as np

from discovery.core.errors import InvalidInputError

__all__ = [
    "Problem",
    "MatMul",
    "Correlation",
    "Correlation2D",
    "PolyMul",
    "TensorProblem",
    "matmul",
    "correlation",
    "correlation2d",
    "polymul",
    "tensor",
    "parse_problem",
    "problem_from_dict",
]

#: Largest size accepted for any single dimension (keeps tensors in memory).
_MAX_DIM = 64


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    value = int(value)
    if value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value}")
    if value > _MAX_DIM:
        raise InvalidInputError(f"{name} = {value} is larger than the supported {_MAX_DIM}")
    return value


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InvalidInputError(f"{name} must be an integer or a pair of integers, got {value!r}")
    return (_positive_int(value[0], f"{name}[0]"), _positive_int(value[1], f"{name}[1]"))


class Problem(ABC):
    """A bilinear map ``(x, y) -> z`` with an exact integer tensor.

    Problems are immutable and hashable; equal parameters mean equal problems.
    Use the factory functions (:func:`matmul`, :func:`correlation`, ...) or
    :func:`parse_problem` to make one.
    """

    kind: str = ""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The parameters that define the problem, JSON-ready."""

    @abstractmethod
    def _build_tensor(self) -> np.ndarray:
        ...

    @abstractmethod
    def direct(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Compute ``z`` from the problem's definition, not from its tensor.

        Works on a batch: ``x`` has shape ``(..., nx)``, ``y`` ``(..., ny)``
        and the result ``(..., nz)``.  Any dtype whose elements support ``+``
        and ``*`` works: floats, Python ints, Fractions, sympy expressions
        (object arrays).  Verification uses this as the independent reference.
        """

    @property
    @abstractmethod
    def spec(self) -> str:
        """The CLI spec string, e.g. ``'2x2x2'`` or ``'F(2,3)'``."""

    @property
    @abstractmethod
    def operand_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Natural shapes of x, y and z before row-major flattening."""

    # ------------------------------------------------------------------ derived
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nx, ny, nz)``: lengths of the flat operands and the output."""
        return tuple(int(np.prod(s)) for s in self.operand_shapes)  # type: ignore[return-value]

    def tensor(self) -> np.ndarray:
        """The exact tensor ``T`` (int64, read-only) with shape :attr:`shape`."""
        return _cached_tensor(self)

    @property
    def naive_rank(self) -> int:
        """Multiplications of the standard algorithm: one per pair ``(a, b)``
        with ``T[a, b, :] != 0``."""
        return int(np.count_nonzero(np.any(self.tensor() != 0, axis=2)))

    def to_dict(self) -> dict[str, Any]:
        """The ``problem`` object of the ``bilinear-scheme/1`` format."""
        return {"kind": self.kind, **self.params()}

    @property
    def slug(self) -> str:
        """A file-system friendly name, e.g. ``matmul-2x2x2``, ``F2-3``."""
        return re.sub(r"[^A-Za-z0-9.]+", "-", f"{self.kind}-{self.spec}").strip("-")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        return (self.kind, repr(sorted(self.params().items())))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec} {self.shape}>"


@functools.lru_cache(maxsize=256)
def _cached_tensor(problem: Problem) -> np.ndarray:
    t = problem._build_tensor().astype(np.int64)
    t.flags.writeable = False
    return t


class MatMul(Problem):
    """``C = A @ B`` with A k x m and B m x n (see the module docstring)."""

    kind = "matmul"

    def __init__(self, k: int, m: int, n: int):
        self.k = _positive_int(k, "k")
        self.m = _positive_int(m, "m")
        self.n = _positive_int(n, "n")

    def params(self) -> dict[str, Any]:
        return {"k": self.k, "m": self.m, "n": self.n}

    @property
    def spec(self) -> str:
        return f"{self.k}x{self.m}x{self.n}"

    @property
    def operand_shapes(self):
        return (self.k, self.m), (self.m, self.n), (self.k, self.n)

    def _build_tensor(self) -> np.ndarray:
        k, m, n = self.k, self.m, self.n
        t = np.zeros((k * m, m * n, k * n), dtype=np.int64)
        for i in range(k):
            for j in range(m):
                for l in range(n):
                    t[i * m + j, j * n + l, i * n + l] = 1
        return t

    def direct(self, x, y):
        x = np.asarray(x)
        y = np.asarray(y)
        a = x.reshape(x.shape[:-1] + (self.k, self.m))
        b = y.reshape(y.shape[:-1] + (self.m, self.n))
        c = np.matmul(a, b)
        return c.reshape(c.shape[:-2] + (self.k * self.n,))


class Correlation(Problem):
    """Winograd's F(m, r): m outputs of an r-tap correlation."""

    kind = "correlation"

    def __init__(self, m: int, r: int):
        self.m = _positive_int(m, "m")
        self.r = _positive_int(r, "r")

    def params(self) -> dict[str, Any]:
        return {"m": self.m, "r": self.r}

    @property
    def spec(self) -> str:
        return f"F({self.m},{self.r})"

    @property
    def operand_shapes(self):
        return (self.r,), (self.m + self.r - 1,), (self.m,)

    def _build_tensor(self) -> np.ndarray:
        m, r = self.m, self.r
        t = np.zeros((r, m + r - 1, m), dtype=np.int64)
        for i in range(m):
            for j in range(r):
                t[j, i + j, i] = 1
        return t

    def direct(self, x, y):
        g = np.asarray(x)
        d = np.asarray(y)
        out = g[..., 0:1] * d[..., 0 : self.m]
        for j in range(1, self.r):
            out = out + g[..., j : j + 1] * d[..., j : j + self.m]
        return out


class Correlation2D(Problem):
    """F(m1 x m2, r1 x r2): a 2-D tile of correlation outputs."""

    kind = "correlation2d"

    def __init__(self, m: tuple[int, int], r: tuple[int, int]):
        self.m = _pair(m, "m")
        self.r = _pair(r, "r")

    def params(self) -> dict[str, Any]:
        return {"m": list(self.m), "r": list(self.r)}

    @property
    def spec(self) -> str:
        return f"F({self.m[0]}x{self.m[1]},{self.r[0]}x{self.r[1]})"

    @property
    def operand_shapes(self):
        (m1, m2), (r1, r2) = self.m, self.r
        return (r1, r2), (m1 + r1 - 1, m2 + r2 - 1), (m1, m2)

    def _build_tensor(self) -> np.ndarray:
        (m1, m2), (r1, r2) = self.m, self.r
        w = m2 + r2 - 1
        t = np.zeros((r1 * r2, (m1 + r1 - 1) * w, m1 * m2), dtype=np.int64)
        for i1 in range(m1):
            for i2 in range(m2):
                for j1 in range(r1):
                    for j2 in range(r2):
                        t[j1 * r2 + j2, (i1 + j1) * w + (i2 + j2), i1 * m2 + i2] = 1
        return t

    def direct(self, x, y):
        (m1, m2), (r1, r2) = self.m, self.r
        x = np.asarray(x)
        y = np.asarray(y)
        g = x.reshape(x.shape[:-1] + (r1, r2))
        d = y.reshape(y.shape[:-1] + (m1 + r1 - 1, m2 + r2 - 1))
        out = None
        for j1 in range(r1):
            for j2 in range(r2):
                term = g[..., j1 : j1 + 1, j2 : j2 + 1] * d[..., j1 : j1 + m1, j2 : j2 + m2]
                out = term if out is None else out + term
        return out.reshape(out.shape[:-2] + (m1 * m2,))


class PolyMul(Problem):
    """Product of polynomials with p and q coefficients (linear convolution)."""

    kind = "polymul"

    def __init__(self, p: int, q: int):
        self.p = _positive_int(p, "p")
        self.q = _positive_int(q, "q")

    def params(self) -> dict[str, Any]:
        return {"p": self.p, "q": self.q}

    @property
    def spec(self) -> str:
        return f"poly({self.p},{self.q})"

    @property
    def operand_shapes(self):
        return (self.p,), (self.q,), (self.p + self.q - 1,)

    def _build_tensor(self) -> np.ndarray:
        p, q = self.p, self.q
        t = np.zeros((p, q, p + q - 1), dtype=np.int64)
        for i in range(p):
            for j in range(q):
                t[i, j, i + j] = 1
        return t

    def direct(self, x, y):
        x = np.asarray(x)
        y = np.asarray(y)
        batch = np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
        parts = []
        for c in range(self.p + self.q - 1):
            acc = None
            for i in range(max(0, c - self.q + 1), min(self.p, c + 1)):
                term = x[..., i] * y[..., c - i]
                acc = term if acc is None else acc + term
            parts.append(np.broadcast_to(np.asarray(acc), batch))
        return np.stack(parts, axis=-1)


class TensorProblem(Problem):
    """A user-given integer 3-tensor; its definition *is* the tensor."""

    kind = "tensor"

    def __init__(self, t: Any):
        try:
            arr = np.asarray(t)
        except Exception as exc:  # ragged nested lists
            raise InvalidInputError(f"tensor entries are not a rectangular 3-d array: {exc}") from None
        if arr.ndim != 3 or 0 in arr.shape:
            raise InvalidInputError(f"tensor must be a non-empty 3-d array, got shape {arr.shape}")
        if any(s > 4096 for s in arr.shape):
            raise InvalidInputError(f"tensor shape {arr.shape} is too large")
        if arr.dtype.kind == "f" or arr.dtype == object:
            flat = arr.ravel().tolist()
            for v in flat:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                    if isinstance(v, (float, np.floating)) and float(v).is_integer():
                        raise InvalidInputError(
                            f"tensor entries must be integers, got the float {v!r}")
                    raise InvalidInputError(f"tensor entries must be integers, got {v!r}")
            arr = np.array(flat, dtype=object).reshape(arr.shape)
        elif arr.dtype.kind not in "iu":
            raise InvalidInputError(f"tensor entries must be integers, got dtype {arr.dtype}")
        if arr.size and max(abs(int(v)) for v in arr.ravel().tolist()) >= 2**31:
            raise InvalidInputError("tensor entries must be smaller than 2**31 in magnitude")
        self._t = arr.astype(np.int64)
        self._t.flags.writeable = False

    def params(self) -> dict[str, Any]:
        return {"shape": list(self._t.shape), "entries": self._t.ravel().tolist()}

    @property
    def spec(self) -> str:
        nx, ny, nz = self._t.shape
        return f"tensor({nx},{ny},{nz})"

    @property
    def slug(self) -> str:
        digest = hashlib.sha256(self._t.tobytes()).hexdigest()[:8]
        nx, ny, nz = self._t.shape
        return f"tensor-{nx}x{ny}x{nz}-{digest}"

    @property
    def operand_shapes(self):
        nx, ny, nz = self._t.shape
        return (nx,), (ny,), (nz,)

    def _build_tensor(self) -> np.ndarray:
        return self._t.copy()

    def direct(self, x, y):
        x = np.asarray(x)
        y = np.asarray(y)
        t = self._t if x.dtype != object and y.dtype != object else self._t.astype(object)
        return np.einsum("...a,...b,abc->...c", x, y, t)


# ------------------------------------------------------------------ factories
def matmul(k: int, m: int, n: int) -> MatMul:
    """The problem ``C = A @ B`` for A of shape (k, m) and B of shape (m, n).

    Examples
    --------
    >>> p = matmul(2, 2, 2)
    >>> p.shape, p.naive_rank
    ((4, 4, 4), 8)
    >>> int(p.tensor()[0 * 2 + 1, 1 * 2 + 0, 0 * 2 + 0])   # A[0,1]*B[1,0] -> C[0,0]
    1
    """
    return MatMul(k, m, n)


def correlation(m: int, r: int) -> Correlation:
    """Winograd's F(m, r): ``z[i] = sum_j g[j] * d[i + j]`` for i < m, j < r.

    Examples
    --------
    >>> p = correlation(2, 3)
    >>> p.spec, p.shape, p.naive_rank
    ('F(2,3)', (3, 4, 2), 6)
    """
    return Correlation(m, r)


def correlation2d(m: tuple[int, int] | int, r: tuple[int, int] | int) -> Correlation2D:
    """F(m1 x m2, r1 x r2), the 2-D correlation tile.

    Examples
    --------
    >>> p = correlation2d((2, 2), (3, 3))
    >>> p.spec, p.shape
    ('F(2x2,3x3)', (9, 16, 4))
    """
    return Correlation2D(m, r)


def polymul(p: int, q: int) -> PolyMul:
    """Multiplication of polynomials with p and q coefficients.

    Examples
    --------
    >>> polymul(2, 3).shape
    (2, 3, 4)
    """
    return PolyMul(p, q)


def tensor(t: Any) -> TensorProblem:
    """A custom problem given by its integer 3-tensor.

    Examples
    --------
    >>> p = tensor([[[1, 0], [0, 1]]])
    >>> p.shape, p.naive_rank
    ((1, 2, 2), 2)
    """
    return TensorProblem(t)


_SPEC_PATTERNS = [
    (re.compile(r"^(\d+)x(\d+)x(\d+)$"), lambda g: matmul(*map(int, g))),
    (re.compile(r"^F\((\d+),(\d+)\)$"), lambda g: correlation(int(g[0]), int(g[1]))),
    (
        re.compile(r"^F\((\d+)x(\d+),(\d+)x(\d+)\)$"),
        lambda g: correlation2d((int(g[0]), int(g[1])), (int(g[2]), int(g[3]))),
    ),
    (re.compile(r"^poly\((\d+),(\d+)\)$"), lambda g: polymul(int(g[0]), int(g[1]))),
]


def parse_problem(spec: str) -> Problem:
    """Parse a CLI problem spec.

    Accepted forms: ``KxMxN`` (matmul), ``F(m,r)``, ``F(m1xm2,r1xr2)``,
    ``poly(p,q)``; spaces and ``×`` are allowed.

    Raises
    ------
    InvalidInputError
        For anything else, with the accepted forms in the message.

    Examples
    --------
    >>> parse_problem("2x3x4").shape
    (6, 12, 8)
    >>> parse_problem("F(2x2, 3x3)").spec
    'F(2x2,3x3)'
    """
    if not isinstance(spec, str):
        raise InvalidInputError(f"problem spec must be a string, got {spec!r}")
    s = spec.strip().replace(" ", "").replace("×", "x").replace("X", "x")
    for pattern, make in _SPEC_PATTERNS:
        match = pattern.match(s)
        if match:
            return make(match.groups())
    raise InvalidInputError(
        f"unknown problem {spec!r}: use KxMxN (matmul), F(m,r), F(m1xm2,r1xr2) or poly(p,q)"
    )


def problem_from_dict(d: Mapping[str, Any]) -> Problem:
    """Inverse of :meth:`Problem.to_dict`.

    Examples
    --------
    >>> problem_from_dict({"kind": "matmul", "k": 2, "m": 2, "n": 2}).spec
    '2x2x2'
    """
    if not isinstance(d, Mapping):
        raise InvalidInputError(f"problem must be an object, got {type(d).__name__}")
    kind = d.get("kind")
    expected = {
        "matmul": ("k", "m", "n"),
        "correlation": ("m", "r"),
        "correlation2d": ("m", "r"),
        "polymul": ("p", "q"),
        "tensor": ("shape", "entries"),
    }
    if kind not in expected:
        raise InvalidInputError(
            f"unknown problem kind {kind!r}: expected one of {', '.join(expected)}"
        )
    missing = [key for key in expected[kind] if key not in d]
    if missing:
        raise InvalidInputError(f"problem of kind {kind!r} lacks {', '.join(missing)}")
    if kind == "matmul":
        return matmul(d["k"], d["m"], d["n"])
    if kind == "correlation":
        return correlation(d["m"], d["r"])
    if kind == "correlation2d":
        return correlation2d(d["m"], d["r"])
    if kind == "polymul":
        return polymul(d["p"], d["q"])
    shape = d["shape"]
    entries = d["entries"]
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise InvalidInputError(f"tensor shape must be three positive integers, got {shape!r}")
    if not isinstance(entries, list) or len(entries) != shape[0] * shape[1] * shape[2]:
        raise InvalidInputError(
            f"tensor entries must be a flat list of {shape[0] * shape[1] * shape[2]} integers"
        )
    return tensor(np.array(entries, dtype=object).reshape(shape))
