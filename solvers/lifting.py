"""Lifting schemes found mod 2 to the integers.

An F2 scheme fixes every coefficient's parity.  Three methods, tried in order:

1. **signs** -- odd entries become +-1, even entries 0; CP-SAT chooses the
   signs (a small Boolean model: the support is fixed).
2. **parity** -- odd entries in {-1, 1}, even entries in {-2, 0, 2}
   (the ``int2`` domain with the parities imposed).
3. **hensel** -- Newton/Hensel lifting: from a solution mod ``2**k`` solve the
   linear system ``J(x) d = -F(x) / 2**k (mod 2)`` for the next binary digit,
   up to ``2**bits``, then rational reconstruction of each coefficient and an
   exact check.  The lift is not unique (the Jacobian has a kernel: the
   scheme's symmetries), so this is a heuristic: success gives an exact
   scheme over Z or Q, failure proves nothing.

The first two methods *prove* non-liftability for their domain when CP-SAT
reports infeasible; :class:`LiftResult` says which.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import numpy as np

from discovery.core.errors import InvalidInputError
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.algebra.ops import to_field
from discovery.algebra.tensor import brent_jacobian, reconstruct
from solvers.brent import build_model, solve_model
from verify import verify_exact

__all__ = ["LiftResult", "lift", "lift_signs", "lift_parity", "lift_with_parities", "hensel_lift", "rational_reconstruction", "mod2_image",
           "hensel_lift_mod", "exact_mod", "ModPLU"]


@dataclass
class LiftResult:
    """Outcome of :func:`lift`.

    Attributes
    ----------
    status : {"lifted", "not_lifted"}
    scheme : Scheme or None
        The lifted scheme (verified exact) when lifted.
    method : str
        ``"signs"``, ``"parity"`` or ``"hensel"`` when lifted.
    attempts : dict
        Per method: ``"lifted"``, ``"infeasible"`` (proved for that domain),
        ``"unknown"`` (out of time) or ``"failed"`` (Hensel found no lift).
    seconds : float
    """

    status: str
    scheme: Optional[Scheme] = None
    method: str = ""
    attempts: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def lifted(self) -> bool:
        return self.status == "lifted"

    def summary(self) -> str:
        """One line: how it lifted, or why not."""
        if self.lifted:
            return f"lifts to {self.scheme.field} by {self.method} ({self.seconds:.2f}s)"
        tried = ", ".join(f"{k}: {v}" for k, v in self.attempts.items())
        return f"does not lift ({tried}; {self.seconds:.2f}s)"


def mod2_image(scheme: Scheme) -> Scheme:
    """The F2 scheme of an integer scheme (coefficients mod 2).

    Raises
    ------
    InvalidInputError
        If a coefficient has an even denominator (no image mod 2).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> mod2_image(strassen()).field
    'F2'
    """
    return to_field(scheme, "F2")


def _check_f2(scheme: Scheme) -> None:
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    if scheme.field != "F2":
        raise InvalidInputError(f"lifting needs an F2 scheme, got one over {scheme.field}")
    result = verify_exact(scheme)
    if not result.ok:
        raise InvalidInputError(f"the F2 scheme is not exact mod 2: {result.reason}")


def lift_with_parities(scheme: Scheme, odd, even, domain, *, time_limit: Optional[float] = None,
                       seed: int = 0, workers: int = 1, callback: Optional[ProgressCallback] = None):
    """CP-SAT over ``domain`` with every entry's parity fixed by the F2 scheme.

    Entries that are 1 mod 2 take a value of ``odd``, entries that are 0 a
    value of ``even``.  Returns the :class:`~solvers.brent.SolveOutcome`.
    """
    restrictions = [
        [[odd if v else even for v in row] for row in mat.tolist()] for mat in scheme.factors
    ]
    bm = build_model(scheme.problem, scheme.rank, domain, entry_values=restrictions, symmetry_breaking=False)
    return solve_model(bm, time_limit=time_limit, workers=workers, seed=seed, callback=callback, engine="lift")


def lift_signs(scheme: Scheme, *, time_limit: Optional[float] = 30.0, seed: int = 0, workers: int = 1,
               callback: Optional[ProgressCallback] = None):
    """Choose signs for the support of an F2 scheme (CP-SAT).

    Returns the :class:`~solvers.brent.SolveOutcome` (``status`` "found",
    "infeasible" or "unknown").

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> lift_signs(mod2_image(strassen())).status
    'found'
    """
    _check_f2(scheme)
    return lift_with_parities(scheme, (-1, 1), (0,), "ternary", time_limit=time_limit, seed=seed, workers=workers,
                              callback=callback)


def lift_parity(scheme: Scheme, *, time_limit: Optional[float] = 30.0, seed: int = 0, workers: int = 1,
                callback: Optional[ProgressCallback] = None):
    """Lift with odd entries in {-1, 1} and even entries in {-2, 0, 2} (CP-SAT)."""
    _check_f2(scheme)
    return lift_with_parities(scheme, (-1, 1), (-2, 0, 2), "int2", time_limit=time_limit, seed=seed,
                              workers=workers, callback=callback)


# ------------------------------------------------------------------ Hensel
def _gf2_solve(a: np.ndarray, b: np.ndarray) -> Optional[np.ndarray]:
    """One solution of ``a x = b`` over GF(2) (free variables 0), or None."""
    m, n = a.shape
    aug = np.concatenate([a % 2, (b % 2)[:, None]], axis=1).astype(np.uint8)
    pivots = []
    row = 0
    for col in range(n):
        if row == m:
            break
        nz = np.nonzero(aug[row:, col])[0]
        if nz.size == 0:
            continue
        p = row + nz[0]
        if p != row:
            aug[[row, p]] = aug[[p, row]]
        mask = aug[:, col].astype(bool)
        mask[row] = False
        aug[mask] ^= aug[row]
        pivots.append(col)
        row += 1
    if np.any(aug[row:, n]):
        return None
    x = np.zeros(n, dtype=np.int64)
    for i, col in enumerate(pivots):
        x[col] = aug[i, n]
    return x


def rational_reconstruction(a: int, m: int) -> Optional[Fraction]:
    """The fraction ``p/q`` with ``p = a q (mod m)``, ``|p|, q <= sqrt(m/2)``.

    Examples
    --------
    >>> rational_reconstruction(pow(3, -1, 2**20), 2**20)
    Fraction(1, 3)
    >>> rational_reconstruction(2**20 - 1, 2**20)
    Fraction(-1, 1)
    """
    bound = math.isqrt(m // 2)
    r0, r1 = m, a % m
    s0, s1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    if s1 == 0 or abs(s1) > bound or math.gcd(r1, abs(s1)) != 1:
        return None
    return Fraction(r1, s1)


def hensel_lift(scheme: Scheme, *, bits: int = 40, time_limit: Optional[float] = 30.0) -> Optional[Scheme]:
    """Hensel-lift an F2 scheme to ``2**bits`` and reconstruct rationals.

    Returns an exact scheme over Z (or Q, odd denominators), or None when the
    linear system has no solution at some step or the reconstruction is not
    exact.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme, to_field
    >>> from discovery.core.problems import matmul
    >>> hensel_lift(to_field(standard_scheme(matmul(1, 2, 1)), "F2")).field
    'Z'
    """
    _check_f2(scheme)
    start = time.perf_counter()
    problem = scheme.problem
    nx, ny, nz = problem.shape
    R = scheme.rank
    t = problem.tensor().astype(object)
    x = [np.array(m.tolist(), dtype=object) for m in scheme.factors]
    modulus = 2
    for k in range(1, bits):
        if time_limit is not None and time.perf_counter() - start > time_limit:
            return None
        u, v, w = x
        rec = reconstruct(u, v, w)
        f = (rec - t)
        rhs = np.array([(-int(e) // modulus) % 2 for e in f.ravel()], dtype=np.int64)
        um, vm, wm = (np.vectorize(lambda e: int(e) % 2, otypes=[np.int64])(m) for m in x)
        # Jacobian mod 2: d/dU[r,a] of entry (a,b,c) = V[r,b] W[r,c], etc.
        jac = brent_jacobian(um, vm, wm) % 2
        if not rhs.any():
            delta = np.zeros(jac.shape[1], dtype=np.int64)
        else:
            delta = _gf2_solve(jac, rhs)
            if delta is None:
                return None
        du, dv, dw = np.split(delta, [R * nx, R * (nx + ny)])
        x = [m + modulus * d.reshape(m.shape).astype(object) for m, d in zip(x, (du, dv, dw))]
        modulus *= 2
        # try to read off small integers / rationals as we go
        candidate = _reconstruct(problem, x, modulus, scheme.meta)
        if candidate is not None:
            return candidate
    return None


def _reconstruct(problem, x, modulus, meta) -> Optional[Scheme]:
    mats = []
    for m in x:
        out = []
        for e in m.ravel():
            q = rational_reconstruction(int(e) % modulus, modulus)
            if q is None:
                return None
            out.append(q)
        mats.append(np.array(out, dtype=object).reshape(m.shape))
    field_ = "Z" if all(v.denominator == 1 for m in mats for v in m.ravel()) else "Q"
    mats = [np.vectorize(lambda v: int(v) if v.denominator == 1 else v, otypes=[object])(m) for m in mats]
    candidate = Scheme(problem, *mats, field=field_, meta=dict(meta))
    return candidate if verify_exact(candidate).ok else None


# --------------------------------------------------- Hensel mod an odd prime
def exact_mod(problem, factors, p: int) -> bool:
    """Whether integer factors ``(U, V, W)`` give the problem's tensor mod ``p``.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> exact_mod(s.problem, s.factors, 3), exact_mod(s.problem, [2 * m for m in s.factors], 3)
    (True, False)
    """
    u, v, w = (np.asarray(np.vectorize(int, otypes=[object])(np.asarray(m, dtype=object)) % p, dtype=np.int64)
               for m in factors)
    return bool(np.all((reconstruct(u, v, w) - problem.tensor()) % p == 0))


class ModPLU:
    """``P A = L U`` over GF(p) for a dense integer matrix, to solve ``A x = b`` for many ``b``.

    Gaussian elimination with row pivoting; the multipliers are kept below the
    pivots.  :meth:`solve` returns one solution (free variables 0) or None
    when ``b`` is not in the column space.

    Examples
    --------
    >>> lu = ModPLU(np.array([[1, 2], [2, 1], [0, 0]]), 3)  # rank 1 mod 3
    >>> lu.solve(np.array([2, 1, 0])).tolist(), lu.rank
    ([2, 0], 1)
    >>> lu.solve(np.array([1, 0, 0])) is None
    True
    """

    def __init__(self, a: np.ndarray, p: int):
        a = np.asarray(a, dtype=np.int64) % p
        m, n = a.shape
        self.p = p
        perm = np.arange(m)
        pivots = []
        r = 0
        for c in range(n):
            if r == m:
                break
            nz = np.flatnonzero(a[r:, c])
            if nz.size == 0:
                continue
            piv = r + nz[0]
            if piv != r:
                a[[r, piv]] = a[[piv, r]]
                perm[[r, piv]] = perm[[piv, r]]
            inv = pow(int(a[r, c]), -1, p)
            below = r + 1 + np.flatnonzero(a[r + 1:, c])
            if below.size:
                f = (a[below, c] * inv) % p
                a[below, c + 1:] = (a[below, c + 1:] - f[:, None] * a[r, c + 1:][None, :]) % p
                a[below, c] = f  # the multipliers, below the pivot
            pivots.append(c)
            r += 1
        self.a, self.perm, self.pivots, self.rank, self.shape = a, perm, pivots, r, (m, n)

    def solve(self, b: np.ndarray) -> Optional[np.ndarray]:
        p, a = self.p, self.a
        y = np.asarray(b, dtype=np.int64)[self.perm] % p
        for k, c in enumerate(self.pivots):  # forward: L y' = P b
            if y[k]:
                rows = k + 1 + np.flatnonzero(a[k + 1:, c])
                y[rows] = (y[rows] - a[rows, c] * y[k]) % p
        if np.any(y[self.rank:]):
            return None
        x = np.zeros(self.shape[1], dtype=np.int64)
        for k in range(self.rank - 1, -1, -1):  # back: U x = y', free variables 0
            c = self.pivots[k]
            rest = a[k, c + 1:] @ x[c + 1:] if c + 1 < self.shape[1] else 0
            x[c] = ((y[k] - rest) * pow(int(a[k, c]), -1, p)) % p
        return x


def hensel_lift_mod(problem, factors, p: int = 3, *, digits: Optional[int] = None,
                    time_limit: Optional[float] = 30.0, meta=None) -> Optional[Scheme]:
    """Lift a scheme that is exact mod an odd prime ``p`` to Z or Q.

    Newton/Hensel lifting: with ``x`` exact mod ``p**k``, solve
    ``J(x0) d = -(F(x) / p**k)  (mod p)`` for the next ``p``-adic digit (the
    Jacobian mod ``p`` is that of the start, factored once), then read each
    coefficient back by rational reconstruction and keep the first exact
    scheme.  Flip walks over F3 (Moosbauer & Poole's ``flip-cpd``) find
    schemes whose lifts need denominators such as 2, which F2 cannot hold.
    As with :func:`hensel_lift`, the lift is not unique and this is a
    heuristic: None proves nothing.

    Parameters
    ----------
    problem : Problem
    factors : (U, V, W)
        Integer matrices (entries read mod ``p``; small representatives such
        as -1 for 2 make the first exact check likelier).
    p : int
        An odd prime.
    digits : int, optional
        ``p``-adic digits to lift to (default: until ``p**digits > 2**62``).

    Returns
    -------
    Scheme or None
        A scheme verified exact over Z or Q.

    Raises
    ------
    InvalidInputError
        If ``p`` is not an odd prime or the factors are not exact mod ``p``.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> u, v, w = ((m.astype(np.int64) % 3) for m in s.factors)  # 2 for -1
    >>> hensel_lift_mod(s.problem, (u, v, w), 3).field
    'Z'
    """
    if not isinstance(p, int) or p < 3 or p % 2 == 0 or any(p % q == 0 for q in range(3, math.isqrt(p) + 1)):
        raise InvalidInputError(f"p must be an odd prime, got {p!r}")
    start = time.perf_counter()
    x = [np.vectorize(lambda e: (int(e) + p // 2) % p - p // 2, otypes=[object])(np.asarray(m, dtype=object))
         for m in factors]
    if not exact_mod(problem, x, p):
        raise InvalidInputError(f"the factors are not exact mod {p}")
    R = x[0].shape[0]
    nx, ny, nz = problem.shape
    t = problem.tensor().astype(object)
    meta = dict(meta or {})
    candidate = _reconstruct(problem, x, 10**18, meta)  # the representatives themselves
    if candidate is not None:
        return candidate
    x0 = [np.asarray(m % p, dtype=np.int64) for m in x]
    lu = ModPLU(brent_jacobian(*x0) % p, p)
    digits = digits or max(2, int(62 / math.log2(p)))
    modulus = p
    for _ in range(1, digits):
        if time_limit is not None and time.perf_counter() - start > time_limit:
            return None
        f = (reconstruct(*x) - t).ravel()
        rhs = np.array([(-int(e) // modulus) % p for e in f], dtype=np.int64)
        if rhs.any():
            d = lu.solve(rhs)
            if d is None:
                return None
            du, dv, dw = np.split(d, [R * nx, R * (nx + ny)])
            x = [m + modulus * dd.reshape(m.shape).astype(object) for m, dd in zip(x, (du, dv, dw))]
        modulus *= p
        candidate = _reconstruct(problem, x, modulus, meta)
        if candidate is not None:
            return candidate
    return None


# ------------------------------------------------------------------- front
def lift(
    scheme: Scheme,
    *,
    time_limit: Optional[float] = 30.0,
    seed: int = 0,
    workers: int = 1,
    methods: tuple = ("signs", "hensel", "parity"),
    callback: Optional[ProgressCallback] = None,
) -> LiftResult:
    """Lift an F2 scheme to Z (signs, then Hensel, then parities in int2).

    Parameters
    ----------
    scheme : Scheme
        An exact F2 scheme.
    time_limit : float, optional
        Budget in seconds for all methods together.

    Returns
    -------
    LiftResult
        ``status`` "lifted" with a verified scheme, or "not_lifted" with
        what each method reported.

    Raises
    ------
    InvalidInputError
        If the scheme is not an exact F2 scheme.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> res = lift(mod2_image(strassen()))
    >>> res.status, res.method, res.scheme.field
    ('lifted', 'signs', 'Z')
    """
    _check_f2(scheme)
    start = time.perf_counter()
    attempts: dict = {}

    def left():
        if time_limit is None:
            return None
        return max(0.05, time_limit - (time.perf_counter() - start))

    for i, method in enumerate(methods):
        if callback is not None:
            callback(ProgressEvent("lift", done=i, total=len(methods), message=method))
        if method in ("signs", "parity"):
            fn = lift_signs if method == "signs" else lift_parity
            out = fn(scheme, time_limit=left(), seed=seed, workers=workers)
            if out.status == "found":
                attempts[method] = "lifted"
                lifted = out.scheme.with_meta(**dict(scheme.meta))
                lifted = lifted.with_meta(lifted_from="F2", lift_method=method)
                return LiftResult("lifted", lifted, method, attempts, time.perf_counter() - start)
            attempts[method] = out.status
        elif method == "hensel":
            got = hensel_lift(scheme, time_limit=left())
            if got is not None:
                attempts[method] = "lifted"
                got = got.with_meta(lifted_from="F2", lift_method="hensel")
                return LiftResult("lifted", got, method, attempts, time.perf_counter() - start)
            attempts[method] = "failed"
        else:
            raise InvalidInputError(f"unknown lifting method {method!r}: use signs, parity or hensel")
    return LiftResult("not_lifted", None, "", attempts, time.perf_counter() - start)
