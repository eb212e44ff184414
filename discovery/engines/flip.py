"""Engine ``flip``: random walks on the flip graph (Kauers & Moosbauer 2022).

A scheme is a list of rank-one terms ``s * a (x) b (x) c``.  Three moves keep
the tensor ``sum_r a_r (x) b_r (x) c_r`` unchanged:

*flip*
    two terms that share a factor, ``a (x) b (x) c`` and ``a (x) b' (x) c'``,
    become ``a (x) (b + l b') (x) c`` and ``a (x) b' (x) (c' - l c)`` (any role
    of the three positions, ``l = 1`` over F2, ``l = +-1`` over Z);
*reduction*
    two terms that share two factors merge,
    ``a (x) b (x) c + a (x) b (x) c' = a (x) b (x) (c + c')``, and a term with a
    zero factor disappears: the rank drops by one;
*plus transition*
    ``a (x) b (x) c = (a - m a') (x) b (x) c + m a' (x) b (x) c`` for the first
    factor ``a'`` of another term: the rank grows by one, which lets a walk
    that has stalled on a plateau escape (Arai, Ichikawa & Hukushima 2024).

Each factor is stored as an integer bit-mask: over F2 bit ``k`` is entry
``k``; over Z coefficients are kept in {-1, 0, 1} as two masks (positive bits
in the low half, negative bits in the high half), normalised so that the first
nonzero entry is +1 and the sign lives in the term.  Equal masks then mean
"equal up to sign", and adding two factors is a handful of bit operations.
Many walks run together: every array has a leading walk axis and one step
advances all walks by one random flip with numpy, no Python loop over walks
(about 100 times more flips per second than a pure-Python loop per walk).
Every ``clone_every`` steps the walks furthest from the target are replaced
by copies of the best ones ("go with the winners"), which on 3x3x3 finds
rank 23 about 20 times more often per flip than independent walks.

Every scheme returned is checked with :func:`verify.verify_exact`.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any, Optional

import numpy as np

from discovery.core.errors import InvalidInputError
from discovery.core.checks import positive_int
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.seeds import as_generator, as_seed
from discovery.core.scheme import Scheme
from discovery.algebra.ops import standard_scheme
from discovery.io import catalog
from solvers.lifting import lift
from verify import verify_exact
from discovery.engines.base import SearchResult

__all__ = ["run", "FlipWalks", "encode", "decode", "FIELDS"]

#: Fields the engine walks over.
FIELDS = ("F2", "Z")

#: Default number of vectorised steps when neither a time limit nor a step
#: budget is given.
DEFAULT_STEPS = 20_000


# --------------------------------------------------------------- bit masks
def _bits(n: int) -> np.ndarray:
    return (np.int64(1) << np.arange(n, dtype=np.int64)).astype(np.int64)


def encode(scheme: Scheme, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Bit-mask codes ``(X, S)`` of a scheme's terms.

    ``X`` has shape ``(3, R)`` (codes of U, V and W rows), ``S`` shape ``(R,)``
    (the signs, all +1 over F2).  Over Z every coefficient must lie in
    {-1, 0, 1}; over F2 coefficients are taken mod 2 (integers only).

    Raises
    ------
    InvalidInputError
        For coefficients that cannot be represented.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> from verify import verify_exact
    >>> X, S = encode(strassen(), "Z")
    >>> X.shape, verify_exact(decode(X, S, strassen().problem, "Z")).ok
    ((3, 7), True)
    """
    if field not in FIELDS:
        raise InvalidInputError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
    rank = scheme.rank
    X = np.zeros((3, rank), dtype=np.int64)
    S = np.ones(rank, dtype=np.int64)
    for pos, mat in enumerate(scheme.factors):
        n = mat.shape[1]
        for r in range(rank):
            pmask = mmask = 0
            for k, v in enumerate(mat[r].tolist()):
                if v != int(v):
                    raise InvalidInputError(f"the flip engine needs integer coefficients, got {v}")
                v = int(v)
                if field == "F2":
                    v %= 2
                if v == 1:
                    pmask |= 1 << k
                elif v == -1:
                    mmask |= 1 << k
                elif v != 0:
                    raise InvalidInputError(
                        f"the flip engine over Z keeps coefficients in {{-1, 0, 1}}, got {v}"
                    )
            low = (pmask | mmask) & -(pmask | mmask)
            if mmask & low:
                pmask, mmask = mmask, pmask
                S[r] = -S[r]
            X[pos, r] = pmask | (mmask << n)
    return X, S


def decode(X: np.ndarray, S: np.ndarray, problem: Problem, field: str, meta: Optional[dict] = None) -> Scheme:
    """The :class:`Scheme` of codes ``X`` (3 x R) and signs ``S`` (R,).

    The sign of each term is put on its W row.
    """
    rows = []
    for pos, n in enumerate(problem.shape):
        codes = [int(c) for c in X[pos]]
        mat = []
        for r, c in enumerate(codes):
            sign = int(S[r]) if pos == 2 else 1
            mat.append([sign * (((c >> k) & 1) - ((c >> (k + n)) & 1)) for k in range(n)])
        rows.append(mat)
    U, V, W = rows
    if field == "F2":
        W = [[v % 2 for v in row] for row in W]
    return Scheme(problem, U, V, W, field, meta or {})


# ------------------------------------------------------------ the walks
class FlipWalks:
    """A population of flip-graph random walks over F2 or Z.

    Parameters
    ----------
    X0, S0 : arrays
        Codes (3 x R0) and signs (R0,) of the start scheme, see :func:`encode`.
    nbits : (int, int, int)
        Lengths ``(nx, ny, nz)`` of the three factors.
    field : {"F2", "Z"}
    walks : int
        Number of walks advanced together.
    capacity : int
        Largest rank a walk may hold (plus transitions stop there).
    rng : numpy Generator

    Notes
    -----
    ``X[pos, r, w]`` is the code of factor ``pos`` of term ``r`` of walk
    ``w`` and ``S[r, w]`` its sign: the walk axis is last, so reductions over
    terms are element-wise operations across walks.  Live terms of walk ``w``
    are ``0 .. rank[w] - 1``, dead ones are all zero (live factors never
    are); removing a term moves the last live term into its place.

    Examples
    --------
    >>> from discovery.algebra.ops import standard_scheme
    >>> from discovery.core.problems import matmul
    >>> from verify import verify_exact
    >>> p = matmul(2, 2, 2)
    >>> X, S = encode(standard_scheme(p), "Z")
    >>> walks = FlipWalks(X, S, p.shape, "Z", 4, 9, np.random.default_rng(0))
    >>> for _ in range(200):
    ...     walks.step()
    >>> all(verify_exact(walks.scheme(w, p)).ok for w in range(4))
    True
    """

    def __init__(self, X0, S0, nbits, field, walks, capacity, rng):
        self.field = field
        self.z = field == "Z"
        self.N = int(walks)
        self.cap = int(capacity)
        self.rng = rng
        self.shift = np.asarray(nbits, dtype=np.int64)
        self.low_mask = (np.int64(1) << self.shift) - 1
        X0, S0 = _reduce_start(np.asarray(X0), np.asarray(S0), self.shift, self.z)
        self.r0 = X0.shape[1]
        if self.r0 > self.cap:
            raise InvalidInputError(f"start rank {self.r0} exceeds the walk capacity {self.cap}")
        self.X0 = np.zeros((3, self.cap), dtype=np.int64)
        self.S0 = np.ones(self.cap, dtype=np.int64)
        self.X0[:, : self.r0] = X0
        self.S0[: self.r0] = S0
        self.X = np.repeat(self.X0[:, :, None], self.N, axis=2)
        self.S = np.repeat(self.S0[:, None], self.N, axis=1)
        self.rank = np.full(self.N, self.r0, dtype=np.int64)
        self.best = self.rank.copy()
        self.stall = np.zeros(self.N, dtype=np.int64)
        self.age = np.zeros(self.N, dtype=np.int64)
        self.cols = np.arange(self.cap, dtype=np.int64)
        # candidate index + 1 in the low 16 bits of a random key
        self._slot = np.arange(1, 3 * self.cap + 1, dtype=np.uint32)[:, None]
        self.flips = 0

    # ------------------------------------------------------------ helpers
    def clone(self, keep: float = 0.5) -> None:
        """Go with the winners: walks ranked in the worst ``1 - keep`` by
        current rank are replaced by copies of random walks of the best
        ``keep`` fraction (ties broken at random)."""
        order = np.lexsort((self.rng.random(self.N), self.rank))
        n_keep = max(1, int(round(keep * self.N)))
        good, bad = order[:n_keep], order[n_keep:]
        bad = bad[self.rank[bad] > self.rank[good].max()] if bad.size else bad
        if not bad.size:
            return
        src = good[self.rng.integers(0, n_keep, bad.size)]
        self.X[:, :, bad] = self.X[:, :, src]
        self.S[:, bad] = self.S[:, src]
        for arr in (self.rank, self.best, self.stall, self.age):
            arr[bad] = arr[src]

    def reset(self, which: np.ndarray) -> None:
        """Put the walks ``which`` (indices) back at the start scheme."""
        if which.size == 0:
            return
        self.X[:, :, which] = self.X0[:, :, None]
        self.S[:, which] = self.S0[:, None]
        self.rank[which] = self.r0
        self.best[which] = self.r0
        self.stall[which] = 0
        self.age[which] = 0

    def _add(self, x, y, pos):
        """``x + y`` for codes at positions ``pos``: (code, sign, ok)."""
        if not self.z:
            return x ^ y, None, np.ones(x.shape, dtype=bool)
        sh = self.shift[pos]
        lm = self.low_mask[pos]
        xp, xm = x & lm, x >> sh
        yp, ym = y & lm, y >> sh
        ok = ((xp & yp) | (xm & ym)) == 0
        p = (xp & ~ym) | (yp & ~xm)
        m = (xm & ~yp) | (ym & ~xp)
        v = p | m
        neg = (m & (v & -v)) != 0
        p, m = np.where(neg, m, p), np.where(neg, p, m)
        return p | (m << sh), np.where(neg, -1, 1), ok

    def _neg(self, x, pos, flag):
        """``-x`` where ``flag`` (Z only)."""
        sh = self.shift[pos]
        lm = self.low_mask[pos]
        return np.where(flag, (x >> sh) | ((x & lm) << sh), x)

    def _remove(self, w, t):
        """Remove term ``t[k]`` of walk ``w[k]`` (distinct walks); return the
        index of the term that moved into its place (``last``)."""
        last = self.rank[w] - 1
        self.X[:, t, w] = self.X[:, last, w]
        self.S[t, w] = self.S[last, w]
        self.X[:, last, w] = 0
        self.S[last, w] = 1
        self.rank[w] = last
        return last

    def _reduce(self, w, t, track=None):
        """Merge term ``t`` of walks ``w`` with a term sharing two factors,
        repeatedly; remove terms with a zero factor first.

        ``track`` (one term index per walk of ``w``) follows another term
        through the removals: it is updated in place, -1 once removed.
        """
        sel = np.arange(w.size)

        def removed(ws, ts, sl):
            last = self._remove(ws, ts)
            if track is not None:
                tr = track[sl]
                track[sl] = np.where(tr == ts, -1, np.where(tr == last, ts, tr))
            return last

        while w.size:
            zero = np.any(self.X[:, t, w] == 0, axis=0) & (t < self.rank[w])
            if zero.any():
                removed(w[zero], t[zero], sel[zero])
                keep = ~zero
                w, t, sel = w[keep], t[keep], sel[keep]
                if not w.size:
                    return
            n = w.size
            r_ = np.arange(n)
            live = self.cols[:, None] < self.rank[w][None, :]
            live[t, r_] = False
            Xw = self.X[:, :, w]
            own = self.X[:, t, w]
            eqs = [Xw[k] == own[k][None, :] for k in range(3)]
            found = np.zeros(n, dtype=bool)
            partner = np.zeros(n, dtype=np.int64)
            free = np.zeros(n, dtype=np.int64)
            for u, v, f in ((0, 1, 2), (0, 2, 1), (1, 2, 0)):
                m = eqs[u] & eqs[v] & live
                has = m.any(axis=0) & ~found
                partner = np.where(has, m.argmax(axis=0), partner)
                free = np.where(has, f, free)
                found |= has
            if not found.any():
                return
            w, t, sel = w[found], t[found], sel[found]
            k, f = partner[found], free[found]
            # s_k a b c_k + s_t a b c_t = s_k a b (c_k + s_k s_t c_t)
            ct = self.X[f, t, w]
            if self.z:
                ct = self._neg(ct, f, self.S[k, w] * self.S[t, w] < 0)
            new, sign, ok = self._add(self.X[f, k, w], ct, f)
            w, t, sel, k, f, new = w[ok], t[ok], sel[ok], k[ok], f[ok], new[ok]
            if self.z:
                self.S[k, w] *= sign[ok]
            self.X[f, k, w] = new
            last = removed(w, t, sel)
            # go on with the merged term (a zero merge is removed at the top)
            t = np.where(k == last, t, k)

    # --------------------------------------------------------------- moves
    def step(self) -> None:
        """One random flip in every walk, then reductions."""
        N, rng, X = self.N, self.rng, self.X
        w = np.arange(N)
        i = (rng.random(N) * self.rank).astype(np.int64)
        # every term sharing a factor with term i, in any position
        eq = X == X[:, i, w][:, None, :]
        eq[:, i, w] = False
        eq = eq.reshape(3 * self.cap, N)
        noise = rng.bit_generator.random_raw(-(-eq.size // 4)).view(np.uint16)[: eq.size]
        key = (noise.reshape(eq.shape).astype(np.uint32) << 16) | self._slot
        best = (key * eq).max(axis=0)
        ok = best != 0
        p, j = np.divmod((best & 0xFFFF).astype(np.int64) - 1, self.cap)
        p, j = np.where(ok, p, 0), np.where(ok, j, i)
        q = (p + rng.integers(1, 3, N)) % 3
        s = 3 - p - q
        # s_i a b_i c_i + s_j a b_j c_j
        #   = s_i a (b_i + l b_j) c_i + s_j a b_j (c_j - l s_i s_j c_i)
        bi, bj = X[q, i, w], X[q, j, w]
        cj, ci = X[s, j, w], X[s, i, w]
        if self.z:
            shq, shs = self.shift[q], self.shift[s]
            lmq, lms = self.low_mask[q], self.low_mask[s]
            biP, biM, bjP, bjM = bi & lmq, bi >> shq, bj & lmq, bj >> shq
            ciP, ciM, cjP, cjM = ci & lms, ci >> shs, cj & lms, cj >> shs
            # overflow of x + y (same signs meet) and of x - y (opposite signs meet)
            b_plus = ((biP & bjP) | (biM & bjM)) == 0
            b_minus = ((biP & bjM) | (biM & bjP)) == 0
            c_plus = ((cjP & ciP) | (cjM & ciM)) == 0
            c_minus = ((cjP & ciM) | (cjM & ciP)) == 0
            # l = +1 adds -s_i s_j c_i to c_j, l = -1 adds +s_i s_j c_i;
            # l at random among the signs that keep coefficients in {-1, 0, 1}
            opposite = self.S[i, w] * self.S[j, w] < 0
            ok_pos = b_plus & np.where(opposite, c_plus, c_minus)
            ok_neg = b_minus & np.where(opposite, c_minus, c_plus)
            lam_neg = np.where(rng.random(N) < 0.5, ok_neg, ~ok_pos)
            ok &= ok_pos | ok_neg
            newb, sb, _ = self._add(bi, self._neg(bj, q, lam_neg), q)
            newc, sc, _ = self._add(cj, self._neg(ci, s, ~lam_neg ^ opposite), s)
            newb, newc = np.where(ok, newb, bi), np.where(ok, newc, cj)
            self.S[i, w] *= np.where(ok, sb, 1)
            self.S[j, w] *= np.where(ok, sc, 1)
        else:
            newb, newc = np.where(ok, bi ^ bj, bi), np.where(ok, cj ^ ci, cj)
        X[q, i, w] = newb
        X[s, j, w] = newc
        self.flips += int(np.count_nonzero(ok))
        before = self.rank.copy()
        # Only terms i and j changed: look for terms sharing two factors
        # with either (before the flip no pair did).  Dead terms are zero.
        cand = ok & ((newb == 0) | (newc == 0))
        for t in (i, j):
            twice = (X == X[:, t, w][:, None, :]).sum(axis=0, dtype=np.uint8) >= 2
            twice[t, w] = False
            cand |= ok & np.logical_or.reduce(twice, axis=0)
        if cand.any():
            w, i, j = w[cand], i[cand], j[cand]
            track = j.copy()
            self._reduce(w, i, track)
            # i's reductions may have moved j (it was the last term) or removed it
            alive = track >= 0
            self._reduce(w[alive], track[alive])
        self.age += 1
        dropped = self.rank < before
        self.stall = np.where(dropped, 0, self.stall + 1)
        self.best = np.minimum(self.best, self.rank)

    def plus(self, which: np.ndarray) -> None:
        """A plus transition (rank + 1) in the walks ``which``.

        ``s_i a_i b_i c_i = s_i (a_i - m a_j) b_i c_i + s_i m a_j b_i c_i``
        for a random position and a random other term ``j``.
        """
        rng = self.rng
        w = which[self.rank[which] < self.cap]
        if not w.size:
            return
        r = self.rank[w]
        i = (rng.random(w.size) * r).astype(np.int64)
        j = (i + 1 + (rng.random(w.size) * (r - 1)).astype(np.int64)) % r
        p = rng.integers(0, 3, w.size)
        ai, aj = self.X[p, i, w], self.X[p, j, w]
        ok = ai != aj
        negm = np.zeros(w.size, dtype=bool)
        if self.z:
            negm = rng.random(w.size) < 0.5
            # a_i - m a_j: add -m a_j
            new, sign, ok2 = self._add(ai, self._neg(aj, p, ~negm), p)
            ok &= ok2
        else:
            new, sign, _ = self._add(ai, aj, p)
        w, i, j, p, new, negm = w[ok], i[ok], j[ok], p[ok], new[ok], negm[ok]
        t = self.rank[w]
        self.X[:, t, w] = self.X[:, i, w]
        self.X[p, t, w] = self.X[p, j, w]
        self.S[t, w] = self.S[i, w] * np.where(negm, -1, 1)
        self.X[p, i, w] = new
        if self.z:
            self.S[i, w] *= sign[ok]
        self.rank[w] += 1
        self.stall[w] = 0

    def scheme(self, walk: int, problem: Problem, meta: Optional[dict] = None) -> Scheme:
        """The current scheme of one walk."""
        r = int(self.rank[walk])
        return decode(self.X[:, :r, walk], self.S[:r, walk], problem, self.field, meta)


def _reduce_start(X, S, shift, z):
    """Fully reduce a start scheme (single walk) before broadcasting it."""
    cap = X.shape[1]
    walks = FlipWalks.__new__(FlipWalks)
    walks.z = z
    walks.shift = shift
    walks.low_mask = (np.int64(1) << shift) - 1
    walks.X = X.reshape(3, cap, 1).astype(np.int64).copy()
    walks.S = S.reshape(cap, 1).astype(np.int64).copy()
    walks.rank = np.array([cap], dtype=np.int64)
    walks.cols = np.arange(cap, dtype=np.int64)
    t = 0
    while t < walks.rank[0]:
        before = walks.rank[0]
        walks._reduce(np.array([0]), np.array([t]))
        t = 0 if walks.rank[0] < before else t + 1
    r = int(walks.rank[0])
    return walks.X[:, :r, 0], walks.S[:r, 0]


# ----------------------------------------------------------------- engine
def _start_scheme(problem: Problem, start: Any, field: str) -> Scheme:
    if start is None or start == "standard":
        return standard_scheme(problem)
    if start == "catalog":
        for s in catalog.find(problem):
            values = s.coefficient_set
            if field == "F2" and s.field in ("Z", "F2") or (s.field == "Z" and set(values) <= {-1, 0, 1}):
                return s
        return standard_scheme(problem)
    if not isinstance(start, Scheme):
        raise InvalidInputError(f"start must be a Scheme, 'standard' or 'catalog', got {start!r}")
    if start.problem != problem:
        raise InvalidInputError(
            f"start scheme is for {start.problem.kind} {start.problem.spec}, not {problem.kind} {problem.spec}"
        )
    if field == "Z" and start.field != "Z":
        raise InvalidInputError(f"a walk over Z needs a start scheme over Z, got one over {start.field}")
    check = verify_exact(start)
    if not check.ok:
        raise InvalidInputError(f"start scheme is not exact: {check.reason}")
    return start


_positive = positive_int


def run(
    problem: Problem,
    rank: int,
    *,
    seed: Any = 0,
    time_limit: Optional[float] = None,
    callback: Optional[ProgressCallback] = None,
    field: Optional[str] = None,
    coefficients: Optional[str] = None,
    walks: int = 1024,
    start: Any = None,
    plateau: Optional[int] = 2_000,
    plus_slack: int = 1,
    path_length: Optional[int] = None,
    max_steps: Optional[int] = None,
    max_schemes: int = 1,
    clone_every: Optional[int] = 1_000,
    clone_keep: float = 0.05,
    lift: bool = False,
    **ignored: Any,
) -> SearchResult:
    """Random walks on the flip graph down to ``rank`` multiplications.

    All walks start at ``start`` (default the standard scheme), take random
    flips, and reduce whenever two terms share two factors.  A walk that
    reaches ``rank`` yields a scheme and starts again from ``start``.

    Parameters
    ----------
    problem : Problem
        Any problem (matmul, correlation, tensor, ...) with factor lengths of
        at most 31 (Z) or 62 (F2).
    rank : int
        Target number of multiplications (>= 1).
    seed : int
        Same seed, same walks: with a step budget (``max_steps``) the result
        is reproducible; a time limit only cuts the same sequence shorter.
    time_limit : float, optional
        Wall-clock budget in seconds.
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` objects; ``done``
        counts walk steps (steps x walks), ``found`` the distinct schemes and
        ``best`` the lowest rank reached so far.
    field : {"F2", "Z"}, optional
        F2 walks are fastest; Z walks keep every coefficient in {-1, 0, 1}.
        Default F2, or Z when ``coefficients="ternary"``.
    coefficients : {"ternary"}, optional
        The coefficient set over Z (the only one this engine walks in);
        given alone it selects ``field="Z"`` (the CLI's ``--coefficients``).
    walks : int
        Walks advanced together in one vectorised step.
    start : Scheme, "standard" or "catalog", optional
        Start scheme ("catalog": the best suitable catalog scheme).
    plateau : int or None
        Steps without a reduction after which a walk makes a plus transition
        (None: never).
    plus_slack : int
        A plus transition is allowed only while the walk's rank is below its
        best rank plus ``plus_slack``.
    path_length : int or None
        Steps after which an unsuccessful walk restarts from ``start``.
    max_steps : int or None
        Step budget (each step is one flip per walk).  Default: the time
        limit alone, or 20 000 steps when there is no time limit either.
    max_schemes : int
        Stop after this many distinct schemes.
    clone_every : int or None
        Every ``clone_every`` steps the walks outside the best ``clone_keep``
        fraction (by current rank) are replaced by copies of walks inside it
        ("go with the winners"; None: never).  On 3x3x3 over F2 this finds
        rank 23 about 20 times more often per flip than independent walks.
    clone_keep : float
        Fraction of walks kept at each cloning, in (0, 1].
    lift : bool
        Over F2, also try to lift each found scheme to Z with
        :func:`solvers.lifting.lift` (up to 30 s in all, or what is left of
        ``time_limit``); the lifted schemes are appended after the F2 ones.

    Returns
    -------
    SearchResult
        ``schemes`` holds distinct, exactly verified schemes (field F2 or Z);
        ``best_loss`` is the lowest rank reached; ``options`` records the
        settings and ``steps``, ``flips`` and ``rejected`` (schemes that
        failed verification and were dropped: 0 unless there is a bug).

    Raises
    ------
    InvalidInputError
        Bad rank, field, sizes or start scheme.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> res = run(matmul(2, 2, 2), 7, seed=0, walks=64, max_steps=2000)
    >>> res.status, res.schemes[0].rank, res.schemes[0].field
    ('found', 7, 'F2')
    """
    if not isinstance(problem, Problem):
        raise InvalidInputError(f"problem must be a Problem, got {type(problem).__name__}")
    rank = _positive(rank, "rank")
    if coefficients not in (None, "ternary"):
        raise InvalidInputError(
            f"the flip engine keeps coefficients in {{-1, 0, 1}} (ternary), got coefficients={coefficients!r}"
        )
    if field is None:
        field = "Z" if coefficients == "ternary" else "F2"
    elif coefficients == "ternary" and field != "Z":
        raise InvalidInputError(f"ternary coefficients are a set over Z, not over {field}")
    if field not in FIELDS:
        raise InvalidInputError(f"field must be one of {', '.join(FIELDS)} for the flip engine, got {field!r}")
    walks = _positive(walks, "walks")
    max_steps = _positive(max_steps, "max_steps", allow_none=True)
    path_length = _positive(path_length, "path_length", allow_none=True)
    plateau = _positive(plateau, "plateau", allow_none=True)
    max_schemes = _positive(max_schemes, "max_schemes")
    if isinstance(plus_slack, bool) or not isinstance(plus_slack, (int, np.integer)) or plus_slack < 0:
        raise InvalidInputError(f"plus_slack must be a non-negative integer, got {plus_slack!r}")
    clone_every = _positive(clone_every, "clone_every", allow_none=True)
    if isinstance(clone_keep, bool) or not isinstance(clone_keep, (int, float)) or not 0 < clone_keep <= 1:
        raise InvalidInputError(f"clone_keep must be a fraction in (0, 1], got {clone_keep!r}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InvalidInputError(f"time limit must be positive, got {time_limit!r}")
    limit_bits = 31 if field == "Z" else 62
    if max(problem.shape) > limit_bits:
        raise InvalidInputError(
            f"the flip engine handles factors of length <= {limit_bits} over {field}, got {problem.shape}"
        )
    if max_steps is None and time_limit is None:
        max_steps = DEFAULT_STEPS

    t0 = time.perf_counter()
    seed_int = as_seed(seed)
    rng = as_generator(seed_int)
    start_scheme = _start_scheme(problem, start, field)
    X0, S0 = encode(start_scheme, field)
    state = FlipWalks(X0, S0, problem.shape, field, walks, X0.shape[1] + int(plus_slack), rng)
    options = dict(field=field, walks=walks, plateau=plateau, plus_slack=int(plus_slack),
                   path_length=path_length, max_steps=max_steps, max_schemes=max_schemes,
                   clone_every=clone_every, clone_keep=clone_keep)
    result = SearchResult(problem=problem, rank=rank, engine="flip", options=options)
    seen: set[str] = set()
    rejected = [0]

    def provenance(steps: int) -> dict:
        return {
            "engine": "flip",
            "seed": seed_int,
            "field": field,
            "walks": walks,
            "steps": steps,
            "flips": state.flips,
            "start_rank": int(state.r0),
            "plateau": plateau,
            "clone_every": clone_every,
            "clone_keep": clone_keep,
            "seconds": round(time.perf_counter() - t0, 3),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def harvest(which: np.ndarray, steps: int) -> None:
        for wk in which.tolist():
            s = state.scheme(wk, problem, {"provenance": provenance(steps)})
            if not verify_exact(s).ok:  # never expected: the moves preserve the tensor
                rejected[0] += 1
                continue
            fp = s.fingerprint()
            if fp in seen:
                continue
            seen.add(fp)
            result.schemes.append(s)
            if result.first_exact_seconds is None:
                result.first_exact_seconds = time.perf_counter() - t0

    def report(steps: int, message: str = "") -> None:
        if callback is not None:
            total = max_steps * walks if max_steps is not None else None
            callback(ProgressEvent("flip", steps * walks, total, len(result.schemes),
                                   float(lowest), message))

    steps = 0
    lowest = int(state.r0)
    if state.r0 <= rank:
        harvest(np.array([0]), 0)
    last_report = 0.0
    while len(result.schemes) < max_schemes:
        if max_steps is not None and steps >= max_steps:
            break
        if time_limit is not None and time.perf_counter() - t0 >= time_limit:
            break
        state.step()
        steps += 1
        lowest = min(lowest, int(state.rank.min()))
        done = np.flatnonzero(state.rank <= rank)
        if done.size:
            harvest(done, steps)
            state.reset(done)
        if plateau is not None:
            stuck = np.flatnonzero((state.stall >= plateau) & (state.rank < state.best + plus_slack))
            if stuck.size:
                state.plus(stuck)
        if clone_every is not None and steps % clone_every == 0:
            state.clone(clone_keep)
        if path_length is not None:
            old = np.flatnonzero(state.age >= path_length)
            state.reset(old)
        now = time.perf_counter()
        if callback is not None and now - last_report > 0.2:
            last_report = now
            report(steps, f"rank {lowest}")
    result.schemes = result.schemes[: max(max_schemes, 1)] if result.schemes else []
    if lift and field == "F2" and result.schemes:
        lift_limit = 30.0 if time_limit is None else max(0.05, time_limit - (time.perf_counter() - t0))
        result.schemes.extend(_lift_all(result.schemes, seed_int, lift_limit))
    result.restarts = walks
    result.exact = len(result.schemes)
    result.status = "found" if result.schemes else "not_found"
    result.best_loss = float(lowest)
    result.wall_seconds = time.perf_counter() - t0
    result.options["steps"] = steps
    result.options["flips"] = state.flips
    result.options["rejected"] = rejected[0]
    report(steps, "done")
    return result


def _lift_all(schemes: list[Scheme], seed: int, time_limit: float = 30.0) -> list[Scheme]:
    """Lift F2 schemes to Z with :func:`solvers.lifting.lift`."""
    out = []
    t0 = time.perf_counter()
    for s in schemes:
        left = time_limit - (time.perf_counter() - t0)  # one budget for all the lifts
        if left <= 0:
            break
        res = lift(s, time_limit=max(0.05, left), seed=seed)
        if res.lifted and res.scheme.field != "F2":
            lifted = res.scheme
            if "provenance" not in lifted.meta:
                lifted = lifted.with_meta(provenance=dict(s.meta.get("provenance", {})))
            out.append(lifted)
    return out
