"""Exact verification: rebuild the tensor from U, V, W in integer arithmetic.

Rational factors are scaled to integers by their common denominators, so the
check ``sum_r U[r] (x) V[r] (x) W[r] == T`` is done on integers with no
rounding anywhere.  F2 schemes are checked mod 2.  int64 is used when a bound
on every partial sum shows it cannot overflow; Python integers otherwise.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from discovery.core import limits
from discovery.core.errors import NotExactError
from discovery.core.scheme import Scheme
from verify.result import Verification

__all__ = ["integer_factors", "reconstruct_scaled", "residual", "wrong_entries", "verify_exact", "check_exact"]

_INT64_SAFE = 2**62
_FLOAT64_EXACT = 2**53
_CHUNK = 2**22  # entries held at once by one step of the sparse or dense sum


def reconstruct_scaled(scheme: Scheme) -> tuple[np.ndarray, int]:
    """``(N, D)`` with ``N / D == sum_r U[r] (x) V[r] (x) W[r]`` exactly.

    ``N`` has shape ``(nx, ny, nz)``; it is int64 or an object array of ints.
    Integers throughout: sparse schemes are summed term by term over their
    nonzeros (int64), dense ones by matrix products in float64 when a bound
    on every partial sum is below 2**53 (so every operation is exact, in any
    order), in int64 below 2**62, and in Python integers beyond.

    Raises
    ------
    ResourceLimitError
        When the problem's tensor is above the ``tensor_entries`` limit.
    """
    problem = scheme.problem
    limits.check_problem(problem)
    cached = _LAST
    if cached and cached[0] is scheme:  # verify_all checks exactly, then symbolically: one sum
        return cached[1], cached[2]
    n, d = _reconstruct(scheme)
    n.flags.writeable = False
    if n.size <= 2**20:
        _LAST[:] = [scheme, n, d]
    return n, d


_LAST: list = []


def _reconstruct(scheme: Scheme) -> tuple[np.ndarray, int]:
    problem = scheme.problem
    (nu, du), (nv, dv), (nw, dw) = integer_factors(scheme)
    shape = problem.shape
    small = all(m.dtype != object for m in (nu, nv, nw))
    if small:
        bound = scheme.rank * max(1, int(np.abs(nu).max())) * max(1, int(np.abs(nv).max())) * max(
            1, int(np.abs(nw).max()))
        small = bound < _INT64_SAFE
    counts = [np.count_nonzero(m != 0, axis=1).astype(np.int64) for m in (nu, nv, nw)]
    if not small:
        if int((counts[0] * counts[1] * counts[2]).sum()) <= 2**18:
            return _reconstruct_object(nu, nv, nw, shape), du * dv * dw
        return _reconstruct_modular(nu, nv, nw, shape), du * dv * dw
    sparse_cost = int((counts[0] * counts[1] * counts[2]).sum())
    dense_cost = scheme.rank * shape[0] * shape[1] * shape[2]
    if sparse_cost <= 2**20 or sparse_cost * 64 <= dense_cost:
        n = _reconstruct_sparse(nu, nv, nw, counts, shape)
    else:
        n = _reconstruct_dense(nu, nv, nw, shape, np.float64 if bound < _FLOAT64_EXACT else np.int64)
    return n, du * dv * dw


def _integer_matrix(mat: np.ndarray) -> tuple[np.ndarray, int]:
    """``(N, d)`` with ``N / d == mat``: int64 when it fits, Python ints otherwise."""
    fractions = [v for v in mat.flat if type(v) is not int]
    d = 1
    for v in fractions:
        d = math.lcm(d, Fraction(v).denominator)
    scaled = mat if d == 1 else np.vectorize(lambda v: int(v * d), otypes=[object])(mat)
    try:
        return scaled.astype(np.int64), d
    except OverflowError:
        return np.array(scaled, dtype=object), d


def integer_factors(scheme: Scheme) -> tuple[tuple[np.ndarray, int], ...]:
    """Each factor of ``scheme`` as ``(integer matrix, common denominator)``.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> (u, du), _, _ = integer_factors(Scheme(matmul(1, 1, 1), [["1/2"]], [[2]], [[1]], "Q"))
    >>> u.tolist(), du
    ([[1]], 2)
    """
    return tuple(_integer_matrix(m) for m in scheme.factors)


def _reconstruct_sparse(nu, nv, nw, counts, shape) -> np.ndarray:
    """Sum the nonzero triples ``U[r,a] V[r,b] W[r,c]`` of every term into a dense int64 tensor."""
    nx, ny, nz = shape
    rank = nu.shape[0]
    out = np.zeros(nx * ny * nz, dtype=np.int64)
    parts = []
    for m in (nu, nv, nw):
        rows, cols = np.nonzero(m)  # row-major: grouped by term
        parts.append((cols.astype(np.int64), m[rows, cols].astype(np.int64)))
    starts = [np.concatenate(([0], np.cumsum(c)[:-1])).astype(np.int64) for c in counts]
    cu, cv, cw = counts
    triples = cu * cv * cw
    r0 = 0
    while r0 < rank:
        # a run of terms with at most _CHUNK triples (at least one term)
        total = 0
        r1 = r0
        while r1 < rank and (r1 == r0 or total + triples[r1] <= _CHUNK):
            total += int(triples[r1])
            r1 += 1
        if total:
            term = np.repeat(np.arange(r0, r1), triples[r0:r1])
            first = np.repeat(np.concatenate(([0], np.cumsum(triples[r0:r1])[:-1])), triples[r0:r1])
            k = np.arange(total, dtype=np.int64) - first
            l = k % cw[term]
            ij = k // cw[term]
            j = ij % cv[term]
            i = ij // cv[term]
            ia, ib, ic = starts[0][term] + i, starts[1][term] + j, starts[2][term] + l
            lin = (parts[0][0][ia] * ny + parts[1][0][ib]) * nz + parts[2][0][ic]
            np.add.at(out, lin, parts[0][1][ia] * parts[1][1][ib] * parts[2][1][ic])
        r0 = r1
    return out.reshape(nx, ny, nz)


def _reconstruct_dense(nu, nv, nw, shape, dtype) -> np.ndarray:
    """``N[a, (b, c)] = sum_r U[r, a] * V[r, b] * W[r, c]`` by matrix products over blocks of ``c``."""
    nx, ny, nz = shape
    rank = nu.shape[0]
    out = np.empty((nx, ny, nz), dtype=np.int64)
    ut = nu.T.astype(dtype)
    v = nv.astype(dtype)
    w = nw.astype(dtype)
    block = max(1, _CHUNK // max(1, rank * ny))
    for c0 in range(0, nz, block):
        c1 = min(nz, c0 + block)
        kr = (v[:, :, None] * w[:, None, c0:c1]).reshape(rank, ny * (c1 - c0))  # Khatri-Rao block
        out[:, :, c0:c1] = (ut @ kr).reshape(nx, ny, c1 - c0).astype(np.int64)
    return out


def _primes_below(limit: int, count: int) -> list[int]:
    """The ``count`` largest primes below ``limit`` (trial division: limit <= 2**20)."""
    out = []
    n = limit - 1
    while len(out) < count and n > 2:
        if n % 2 and all(n % q for q in range(3, math.isqrt(n) + 1, 2)):
            out.append(n)
        n -= 1
    return out


def _reconstruct_modular(nu, nv, nw, shape) -> np.ndarray:
    """Python-integer sum by residues: the sum modulo enough primes (float64 matrix
    products, each exact), then the Chinese remainder theorem (Garner's mixed radix)."""
    nx, ny, nz = shape
    rank = nu.shape[0]
    mats = [m.astype(object) for m in (nu, nv, nw)]
    bound = rank
    for m in mats:
        bound *= max(1, max(abs(int(v)) for v in m.flat))
    p_max = min(2**20, math.isqrt(2**53 // max(1, rank)))
    primes = []
    while True:  # enough primes that their product exceeds 2 * bound (signed values)
        product = math.prod(primes) if primes else 1
        if product > 2 * bound:
            break
        primes = _primes_below(p_max, len(primes) + max(1, (2 * bound // product).bit_length() // 19))
    residues = []
    for p in primes:
        u, v, w = (np.array([int(x) % p for x in m.flat], dtype=np.int64).reshape(m.shape) for m in mats)
        out = np.empty((nx, ny, nz), dtype=np.int64)
        ut = u.T.astype(np.float64)
        block = max(1, _CHUNK // max(1, rank * ny))
        for c0 in range(0, nz, block):
            c1 = min(nz, c0 + block)
            kr = ((v[:, :, None] * w[:, None, c0:c1]) % p).reshape(rank, ny * (c1 - c0)).astype(np.float64)
            out[:, :, c0:c1] = np.mod(ut @ kr, p).reshape(nx, ny, c1 - c0).astype(np.int64)
        residues.append(out.ravel())
    # Garner: x = a0 + a1 p0 + a2 p0 p1 + ...,  digits 0 <= ai < pi
    digits = [residues[0]]
    for i in range(1, len(primes)):
        p = primes[i]
        acc = np.zeros_like(residues[i])
        for j in range(i - 1, -1, -1):  # Horner: a0 + p0 (a1 + p1 (...)) mod p
            acc = (acc * (primes[j] % p) + digits[j]) % p
        inverse = pow(math.prod(primes[:i]) % p, -1, p)
        digits.append(((residues[i] - acc) % p) * inverse % p)
    value = digits[-1].astype(object)
    for i in range(len(primes) - 2, -1, -1):
        value = value * primes[i] + digits[i].astype(object)
    modulus = math.prod(primes)
    value = np.where(value > modulus // 2, value - modulus, value)
    return value.reshape(nx, ny, nz)


def _reconstruct_object(nu, nv, nw, shape) -> np.ndarray:
    """Python-integer sum (coefficients too large for int64 bounds)."""
    nx, ny, nz = shape
    out = np.zeros(nx * ny * nz, dtype=object)
    out[:] = 0
    rows = [[[(i, int(x)) for i, x in enumerate(row) if x != 0] for row in m.tolist()] for m in (nu, nv, nw)]
    for su, sv, sw in zip(*rows):
        for a, x in su:
            for b, y in sv:
                xy = x * y
                base = (a * ny + b) * nz
                for c, z in sw:
                    out[base + c] += xy * z
    return out.reshape(nx, ny, nz)


def residual(scheme: Scheme) -> np.ndarray:
    """The exact residual ``sum_r U[r] (x) V[r] (x) W[r] - T``.

    int64 for integer schemes, an object array of ``Fraction`` otherwise;
    reduced mod 2 (entries 0/1) for F2 schemes.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> int(abs(residual(standard_scheme(matmul(2, 2, 2)))).sum())
    0
    """
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    if scheme.field == "F2":
        return np.asarray((n - t * d) % 2, dtype=np.int64)
    if d == 1:
        return n - t if n.dtype != object else (n - t.astype(object))
    diff = n - t.astype(object) * d
    return np.vectorize(lambda v: Fraction(int(v), d), otypes=[object])(diff)


def wrong_entries(scheme: Scheme) -> int:
    """How many tensor entries the scheme gets wrong (0 when exact)."""
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    if scheme.field == "F2":
        return int(np.count_nonzero((n - t * d) % 2))
    return int(np.count_nonzero(n != (t * d if n.dtype != object or d == 1 else t.astype(object) * d)))


def verify_exact(scheme: Scheme) -> Verification:
    """Check ``T == sum_r U[r] (x) V[r] (x) W[r]`` exactly (mod 2 for F2).

    Returns
    -------
    Verification
        ``ok`` with ``level`` "exact" or "mod2"; when wrong, ``reason`` names
        the first wrong entry ``T[a, b, c]`` with expected and actual values.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> s = standard_scheme(matmul(2, 2, 2))
    >>> verify_exact(s).ok
    True
    >>> U = s.U.copy(); U[0, 0] = 2
    >>> bad = verify_exact(s.replace(U=U)); bad.ok, bad.wrong
    (False, 1)
    """
    level = "mod2" if scheme.field == "F2" else "exact"
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    if scheme.field == "F2":
        bad = (n - t * d) % 2 != 0
    else:
        target = t * d if (n.dtype != object and d == 1) else t.astype(object) * d
        bad = np.asarray(n != target, dtype=bool)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return Verification(True, level)
    a, b, c = (int(i) for i in np.argwhere(bad)[0])
    got = Fraction(int(n[a, b, c]), d)
    if scheme.field == "F2":
        got = got % 2
    reason = (
        f"{count} wrong tensor entr{'y' if count == 1 else 'ies'}; first T[{a},{b},{c}]: "
        f"expected {int(t[a, b, c])}, scheme gives {got}"
    )
    return Verification(False, level, reason, count)


def check_exact(scheme: Scheme) -> Scheme:
    """Return ``scheme`` if it is exact, else raise :class:`NotExactError`."""
    result = verify_exact(scheme)
    if not result.ok:
        raise NotExactError(result.reason)
    return scheme
