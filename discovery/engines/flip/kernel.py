"""The compiled flip-graph walk kernel (numba).

Everything here works on flat integer arrays; nothing here knows a
:class:`~discovery.core.scheme.Scheme`.  :mod:`discovery.engines.flip.codec`
translates between the two, :mod:`discovery.engines.flip.walks` owns the
arrays.

State of one walk
-----------------
A scheme of rank ``R`` is ``sum_r s_r a_r (x) b_r (x) c_r``: three factors per
term and a scalar ``s_r``.  Walk ``w`` lives in two rows, ``u = U[w]``
(uint64) and ``v = V[w]`` (int64), cut into sections whose offsets are in
``prm`` (see :func:`sections`):

factors (``u``, ``cap x 3 x L`` words)
    factor ``p`` of term ``r`` at ``u[(3 r + p) L :][:L]``.  Over F2 one bit
    plane (``L = W`` words, bit ``k`` is entry ``k``).  Over Z and F3 two
    planes, ``L = 2W``: words ``0..W-1`` mark the entries equal to +1, words
    ``W..2W-1`` those equal to -1 (over F3, -1 is 2).  Factors are
    *normalised*: the first nonzero entry is +1 and the sign lives in the
    scalar, so factors equal up to sign are equal as words.
scalars (``v``, section ``SG``)
    ``s_r`` in {+1, -1} (always +1 over F2).
keys (``u``, section ``KEY``, ``3 x cap``)
    a 64-bit key per factor: the word itself (F2 with one word), both planes
    packed (Z/F3 with at most 32 entries), or a hash (wider factors; equal
    keys are then confirmed word by word).

The pairs of terms that share a factor are kept incrementally, never found by
scanning: per position an open-addressing hash table (sections ``TKEY``,
``CNT``, ``HEAD``; linear probing, tombstones, rebuilt when half full) maps
each factor to a slot holding how many terms have it and the first of them;
the terms of a slot form a doubly linked list (sections ``SLOT``, ``NEXT``,
``PREV``).  A factor change unlinks the term from its old slot and links it
into the new one.  A flip is picked as a random (term, position) whose slot
holds two or more terms and a random other member of that slot; reductions
after a move look only at the slots of the factors that changed.

Moves (each keeps ``sum_r s_r a_r (x) b_r (x) c_r`` exactly)
------------------------------------------------------------
flip (terms ``i``, ``j`` share ``a``; ``mu`` = +-1, 1 over F2)::

    s_i a b_i c_i + s_j a b_j c_j
      = s_i a (b_i + mu b_j) c_i + s_j a b_j (c_j - mu s_i s_j c_i)

reduction (two terms share two factors; a zero factor removes its term)::

    s_r a b c_r + s_k a b c_k = s_k a b (c_k + s_r s_k c_r)

plus transition (Arai, Ichikawa & Hukushima 2024; rank + 1; ``alpha``,
``beta`` = +-1, ``gamma = alpha beta s_1 s_2``)::

    s_1 a_1 b_1 c_1 + s_2 a_2 b_2 c_2
      = s_1 a_1 (b_1 + beta b_2) c_1 + s_2 (a_2 - alpha a_1) b_2 c_2
        + alpha s_2 a_1 b_2 (c_2 - gamma c_1)

split (rank + 1)::

    s_i a_i b_i c_i = s_i (a_i - alpha a_j) b_i c_i + alpha s_i a_j b_i c_i

Over Z a move is only made when every new coefficient stays in {-1, 0, 1};
over F3 arithmetic is mod 3 and every move applies.

Randomness: one splitmix64 state per walk (section ``RNG``), so a walk's
moves depend only on its seed and its own history -- never on the thread that
runs it.  :func:`run_chunk` advances every walk by up to ``prm[P_STEPS]``
steps in a ``prange`` loop.
"""

from __future__ import annotations

import numpy as np

from discovery.engines.flip._jit import njit, prange

__all__ = ["run_chunk", "check_state", "sections", "FIELD_CODES", "P_SIZE", "C_SIZE"]

#: Field codes of ``prm[P_FIELD]``.
F2, Z, F3 = 0, 1, 2
FIELD_CODES = {"F2": F2, "Z": Z, "F3": F3}

# prm: run parameters and section offsets (int64)
P_FIELD, P_L, P_W, P_MODE, P_LOGH, P_CAP, P_TARGET, P_PLO, P_PHI, P_SLACK = range(10)
P_PATH, P_ATTEMPTS, P_STEPS, P_NSTART, P_NSRC, P_SPLIT, P_H = range(10, 17)
P_KEY, P_TKEY, P_BFAC, P_BUF, P_RNG = range(17, 22)  # offsets in u
P_CNT, P_HEAD, P_SLOT, P_NEXT, P_PREV, P_SG, P_BSG, P_CTR, P_STACK, P_FL, P_FPOS = range(22, 33)  # offsets in v
P_SIZE = 33

# counters (v section CTR)
C_RANK, C_BEST, C_FLIPS, C_STALL, C_SINCE, C_PLUSAT, C_STEPS, C_FOUND = range(8)
C_PLUS, C_RESETS, C_IMPROVED, C_RESET, C_TU, C_NF = 8, 9, 10, 11, 12, 15
C_SIZE = 16

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_HSEED = np.uint64(0x243F6A8885A308D3)
_S27 = np.uint64(27)
_S29 = np.uint64(29)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S32 = np.uint64(32)


def sections(cap: int, L: int, logh: int) -> tuple[dict, int, int]:
    """Offsets of the sections of ``u`` and ``v`` and their lengths.

    Examples
    --------
    >>> off, nu, nv = sections(10, 1, 6)
    >>> off[P_KEY], nu
    (30, 286)
    """
    H = 1 << logh
    off = {}
    n = 3 * cap * L  # factors first
    for name, size in ((P_KEY, 3 * cap), (P_TKEY, 3 * H), (P_BFAC, 3 * cap * L), (P_BUF, 3 * L), (P_RNG, 1)):
        off[name] = n
        n += size
    m = 0
    for name, size in ((P_CNT, 3 * H), (P_HEAD, 3 * H), (P_SLOT, 3 * cap), (P_NEXT, 3 * cap), (P_PREV, 3 * cap),
                       (P_SG, cap), (P_BSG, cap), (P_CTR, C_SIZE), (P_STACK, 2 * (3 * cap + 16)),
                       (P_FL, 3 * cap), (P_FPOS, 3 * cap)):
        off[name] = m
        m += size
    return off, n, m


# ------------------------------------------------------------------ random
@njit(inline="always", _nrt=False)
def _rand(u, prm):
    """Next 64 random bits of the walk's splitmix64 state."""
    o = prm[P_RNG]
    z = u[o] + _GOLD
    u[o] = z
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always", _nrt=False)
def _below(u, prm, n):
    """A random integer in ``[0, n)`` (``1 <= n < 2**32``)."""
    return np.int64(((_rand(u, prm) >> _S32) * np.uint64(n)) >> _S32)


# ----------------------------------------------------------------- factors
@njit(inline="always", _nrt=False)
def _key_at(u, b, L, mode):
    if mode == 0:
        return u[b]
    if mode == 1:
        return u[b] | (u[b + 1] << _S32)
    h = _HSEED
    for k in range(L):
        h = (h ^ u[b + k]) * _GOLD
        h = h ^ (h >> _S29)
    return h


@njit(inline="always", _nrt=False)
def _feq(u, b1, b2, L):
    for k in range(L):
        if u[b1 + k] != u[b2 + k]:
            return False
    return True


@njit(inline="always", _nrt=False)
def _same(u, prm, r1, r2, p):
    """Factors ``(r1, p)`` and ``(r2, p)`` are equal (up to sign: normalised)."""
    ok = prm[P_KEY] + p * prm[P_CAP]
    if u[ok + r1] != u[ok + r2]:
        return False
    L = prm[P_L]
    return prm[P_MODE] < 2 or _feq(u, (3 * r1 + p) * L, (3 * r2 + p) * L, L)


@njit(inline="always", _nrt=False)
def _lin(u, prm, r1, r2, p, lam, o):
    """Buffer ``o`` = ``fac(r1, p) + lam * fac(r2, p)``; False if a Z coefficient leaves {-1, 0, 1}."""
    field = prm[P_FIELD]
    W = prm[P_W]
    L = prm[P_L]
    x = (3 * r1 + p) * L
    y = (3 * r2 + p) * L
    out = prm[P_BUF] + o * L
    if field == F2:
        for k in range(W):
            u[out + k] = u[x + k] ^ u[y + k]
        return True
    for k in range(W):
        xp = u[x + k]
        xm = u[x + W + k]
        if lam > 0:
            yp = u[y + k]
            ym = u[y + W + k]
        else:
            yp = u[y + W + k]
            ym = u[y + k]
        if field == Z:
            if ((xp & yp) | (xm & ym)) != _U0:
                return False
            u[out + k] = (xp & ~ym) | (yp & ~xm)
            u[out + W + k] = (xm & ~yp) | (ym & ~xp)
        else:  # F3: 1 + 1 = -1, -1 + -1 = 1
            zx = ~(xp | xm)
            zy = ~(yp | ym)
            u[out + k] = (xp & zy) | (yp & zx) | (xm & ym)
            u[out + W + k] = (xm & zy) | (ym & zx) | (xp & yp)
    return True


@njit(inline="always", _nrt=False)
def _norm_at(u, b, field, W):
    """Normalise the factor at ``u[b:]`` (first nonzero +1); its sign, or 0 if zero."""
    if field == F2:
        for k in range(W):
            if u[b + k] != _U0:
                return 1
        return 0
    for k in range(W):
        x = u[b + k] | u[b + W + k]
        if x != _U0:
            low = x & (~x + _U1)
            if (u[b + W + k] & low) != _U0:
                for kk in range(W):
                    t = u[b + kk]
                    u[b + kk] = u[b + W + kk]
                    u[b + W + kk] = t
                return -1
            return 1
    return 0


@njit(inline="always", _nrt=False)
def _norm(u, prm, o):
    return _norm_at(u, prm[P_BUF] + o * prm[P_L], prm[P_FIELD], prm[P_W])


# ------------------------------------------------------------- hash tables
@njit(inline="always", _nrt=False)
def _fl_add(v, prm, e):
    """Put (term, position) ``e = p * cap + r`` on the list of flippable pairs."""
    n = prm[P_CTR] + C_NF
    c = v[n]
    v[prm[P_FL] + c] = e
    v[prm[P_FPOS] + e] = c
    v[n] = c + 1


@njit(inline="always", _nrt=False)
def _fl_del(v, prm, e):
    n = prm[P_CTR] + C_NF
    c = v[n] - 1
    fl = prm[P_FL]
    fp = prm[P_FPOS]
    i = v[fp + e]
    moved = v[fl + c]
    v[fl + i] = moved
    v[fp + moved] = i
    v[fp + e] = -1
    v[n] = c


@njit(inline="always", _nrt=False)
def _link(v, prm, p, r, s):
    H = prm[P_H]
    cap = prm[P_CAP]
    hs = prm[P_HEAD] + p * H + s
    cs = prm[P_CNT] + p * H + s
    nx = prm[P_NEXT] + p * cap
    pv = prm[P_PREV] + p * cap
    h = v[hs]
    v[nx + r] = h
    v[pv + r] = -1
    if h >= 0:
        v[pv + h] = r
    v[hs] = r
    c = v[cs] + 1
    v[cs] = c
    v[prm[P_SLOT] + p * cap + r] = s
    if c == 2:
        _fl_add(v, prm, p * cap + h)
        _fl_add(v, prm, p * cap + r)
    elif c > 2:
        _fl_add(v, prm, p * cap + r)


@njit(inline="always", _nrt=False)
def _unlink(v, prm, p, r):
    H = prm[P_H]
    cap = prm[P_CAP]
    nx = prm[P_NEXT] + p * cap
    pv = prm[P_PREV] + p * cap
    s = v[prm[P_SLOT] + p * cap + r]
    a = v[pv + r]
    b = v[nx + r]
    hs = prm[P_HEAD] + p * H + s
    if a >= 0:
        v[nx + a] = b
    else:
        v[hs] = b
    if b >= 0:
        v[pv + b] = a
    cs = prm[P_CNT] + p * H + s
    c = v[cs] - 1
    v[cs] = c  # 0: a tombstone, still on probe paths
    if c == 1:
        _fl_del(v, prm, p * cap + r)
        _fl_del(v, prm, p * cap + v[hs])
    elif c >= 2:
        _fl_del(v, prm, p * cap + r)


@njit(inline="always", _nrt=False)
def _slot(u, v, prm, r, p):
    """The slot of factor ``(r, p)``'s key, created if absent."""
    logh = prm[P_LOGH]
    H = prm[P_H]
    mask = H - 1
    key = u[prm[P_KEY] + p * prm[P_CAP] + r]
    i = np.int64((key * _GOLD) >> np.uint64(64 - logh))
    tomb = -1
    mode = prm[P_MODE]
    L = prm[P_L]
    tk = prm[P_TKEY] + p * H
    cn = prm[P_CNT] + p * H
    hd = prm[P_HEAD] + p * H
    while True:
        c = v[cn + i]
        if c < 0:
            if tomb >= 0:
                i = tomb
            else:
                v[prm[P_CTR] + C_TU + p] += 1
            u[tk + i] = key
            v[cn + i] = 0
            v[hd + i] = -1
            return i
        if c == 0:
            if tomb < 0:
                tomb = i
        elif u[tk + i] == key and (mode < 2 or _feq(u, (3 * v[hd + i] + p) * L, (3 * r + p) * L, L)):
            return i
        i = (i + 1) & mask


@njit(_nrt=False)
def _rebuild(u, v, prm, p):
    H = prm[P_H]
    cn = prm[P_CNT] + p * H
    hd = prm[P_HEAD] + p * H
    for h in range(H):
        v[cn + h] = -1
        v[hd + h] = -1
    ctr = prm[P_CTR]
    v[ctr + C_TU + p] = 0
    cap = prm[P_CAP]
    fp = prm[P_FPOS] + p * cap
    R = v[ctr + C_RANK]
    for r in range(R):
        if v[fp + r] >= 0:
            _fl_del(v, prm, p * cap + r)
    for r in range(R):
        _link(v, prm, p, r, _slot(u, v, prm, r, p))


@njit(_nrt=False)
def _insert(u, v, prm, r, p):
    """(Re)index factor ``(r, p)`` after its words changed (it is unlinked)."""
    L = prm[P_L]
    u[prm[P_KEY] + p * prm[P_CAP] + r] = _key_at(u, (3 * r + p) * L, L, prm[P_MODE])
    _link(v, prm, p, r, _slot(u, v, prm, r, p))
    if 2 * v[prm[P_CTR] + C_TU + p] > prm[P_H]:
        _rebuild(u, v, prm, p)


@njit(_nrt=False)
def _set(u, v, prm, r, p, o):
    """Factor ``(r, p)`` = buffer ``o`` (normalised), reindexed."""
    _unlink(v, prm, p, r)
    L = prm[P_L]
    b = (3 * r + p) * L
    src = prm[P_BUF] + o * L
    for k in range(L):
        u[b + k] = u[src + k]
    _insert(u, v, prm, r, p)


@njit(_nrt=False)
def _remove(u, v, prm, t, ns):
    """Remove term ``t``; the last term moves into its place.  Stack entries
    naming ``t`` become -1, those naming the last term are renamed."""
    ctr = prm[P_CTR]
    last = v[ctr + C_RANK] - 1
    L = prm[P_L]
    cap = prm[P_CAP]
    H = prm[P_H]
    for p in range(3):
        _unlink(v, prm, p, t)
    if t != last:
        for p in range(3):
            sl = prm[P_SLOT] + p * cap
            nx = prm[P_NEXT] + p * cap
            pv = prm[P_PREV] + p * cap
            s = v[sl + last]
            a = v[pv + last]
            b = v[nx + last]
            if a >= 0:
                v[nx + a] = t
            else:
                v[prm[P_HEAD] + p * H + s] = t
            if b >= 0:
                v[pv + b] = t
            v[sl + t] = s
            v[nx + t] = b
            v[pv + t] = a
            ok = prm[P_KEY] + p * cap
            u[ok + t] = u[ok + last]
            fp = prm[P_FPOS] + p * cap
            i = v[fp + last]
            if i >= 0:
                v[prm[P_FL] + i] = p * cap + t
                v[fp + t] = i
                v[fp + last] = -1
            for k in range(L):
                u[(3 * t + p) * L + k] = u[(3 * last + p) * L + k]
        v[prm[P_SG] + t] = v[prm[P_SG] + last]
    v[ctr + C_RANK] = last
    st = prm[P_STACK]
    for e in range(ns):
        x = v[st + 2 * e]
        if x == t:
            v[st + 2 * e] = -1
        elif x == last:
            v[st + 2 * e] = t
    return last


# ------------------------------------------------------------------ moves
@njit(_nrt=False)
def _push(v, prm, ns, r, p):
    st = prm[P_STACK] + 2 * ns
    v[st] = r
    v[st + 1] = p
    return ns + 1


@njit(_nrt=False)
def _reduce_at(u, v, prm, ns, r, p):
    """Merge term ``r`` with a term sharing factor ``p`` and one more; the new stack size."""
    cap = prm[P_CAP]
    sgo = prm[P_SG]
    nx = prm[P_NEXT] + p * cap
    k = v[prm[P_HEAD] + p * prm[P_H] + v[prm[P_SLOT] + p * cap + r]]
    while k >= 0:
        if k != r:
            for d in range(1, 3):
                o = (p + d) % 3
                if _same(u, prm, k, r, o):
                    f = 3 - p - o
                    if not _lin(u, prm, k, r, f, v[sgo + r] * v[sgo + k], 2):
                        continue
                    z = _norm(u, prm, 2)
                    if z != 0:
                        _set(u, v, prm, k, f, 2)
                        v[sgo + k] *= z
                        ns = _push(v, prm, ns, k, f)
                        _remove(u, v, prm, r, ns)
                    else:
                        last = _remove(u, v, prm, r, ns)
                        if k == last:
                            k = r
                        _remove(u, v, prm, k, ns)
                    return ns
        k = v[nx + k]
    return ns


@njit(_nrt=False)
def _reduce(u, v, prm, ns):
    st = prm[P_STACK]
    while ns > 0:
        ns -= 1
        r = v[st + 2 * ns]
        if r >= 0:
            ns = _reduce_at(u, v, prm, ns, r, v[st + 2 * ns + 1])


@njit(_nrt=False)
def _flip(u, v, prm):
    """One random flip (and the reductions it allows); False if none applies."""
    ctr = prm[P_CTR]
    nfl = v[ctr + C_NF]
    if nfl == 0:
        return False
    field = prm[P_FIELD]
    cap = prm[P_CAP]
    H = prm[P_H]
    sgo = prm[P_SG]
    for _ in range(prm[P_ATTEMPTS]):
        e = v[prm[P_FL] + _below(u, prm, nfl)]
        p = e // cap
        i = e - p * cap
        s = v[prm[P_SLOT] + p * cap + i]
        g = v[prm[P_CNT] + p * H + s]
        nx = prm[P_NEXT] + p * cap
        n = _below(u, prm, g - 1)
        j = v[prm[P_HEAD] + p * H + s]
        if j == i:
            j = v[nx + j]
        while n > 0:
            j = v[nx + j]
            if j == i:
                j = v[nx + j]
            n -= 1
        if _below(u, prm, 2) == 0:
            q = (p + 1) % 3
        else:
            q = (p + 2) % 3
        t = 3 - p - q
        mu = 1
        if field != F2 and _below(u, prm, 2) == 0:
            mu = -1
        nu = mu * v[sgo + i] * v[sgo + j]
        ok = _lin(u, prm, i, j, q, mu, 0) and _lin(u, prm, j, i, t, -nu, 1)
        if not ok and field == Z:
            mu = -mu
            nu = -nu
            ok = _lin(u, prm, i, j, q, mu, 0) and _lin(u, prm, j, i, t, -nu, 1)
        if not ok:
            continue
        zi = _norm(u, prm, 0)
        zj = _norm(u, prm, 1)
        ns = 0
        if zj != 0:
            _set(u, v, prm, j, t, 1)
            v[sgo + j] *= zj
            ns = _push(v, prm, ns, j, t)
        if zi != 0:
            _set(u, v, prm, i, q, 0)
            v[sgo + i] *= zi
            ns = _push(v, prm, ns, i, q)
        if zi == 0 and zj == 0:
            last = _remove(u, v, prm, i, ns)
            if j == last:
                j = i
            _remove(u, v, prm, j, ns)
        elif zi == 0:
            _remove(u, v, prm, i, ns)
        elif zj == 0:
            _remove(u, v, prm, j, ns)
        _reduce(u, v, prm, ns)
        return True
    return False


@njit(inline="always", _nrt=False)
def _sign(u, prm):
    return 1 - 2 * _below(u, prm, 2)


@njit(_nrt=False)
def _add_term(u, v, prm, n):
    """Index the new term ``n`` (its words and scalar are written)."""
    v[prm[P_CTR] + C_RANK] = n + 1
    for p in range(3):
        _insert(u, v, prm, n, p)


@njit(_nrt=False)
def _expand(u, v, prm):
    """A plus transition or a split (rank + 1); False if none applied."""
    ctr = prm[P_CTR]
    R = v[ctr + C_RANK]
    if R >= prm[P_CAP] or R < 2:
        return False
    field = prm[P_FIELD]
    L = prm[P_L]
    sgo = prm[P_SG]
    buf = prm[P_BUF]
    for _ in range(prm[P_ATTEMPTS]):
        i = _below(u, prm, R)
        j = _below(u, prm, R - 1)
        if j >= i:
            j += 1
        x = _below(u, prm, 3)
        if _below(u, prm, 2) == 0:
            y = (x + 1) % 3
        else:
            y = (x + 2) % 3
        z = 3 - x - y
        n = R
        if _below(u, prm, 1000) < prm[P_SPLIT]:
            if _same(u, prm, i, j, x):
                continue
            alpha = 1 if field == F2 else _sign(u, prm)
            if not _lin(u, prm, i, j, x, -alpha, 0):
                continue
            z0 = _norm(u, prm, 0)
            if z0 == 0:
                continue
            for k in range(L):
                u[(3 * n + x) * L + k] = u[(3 * j + x) * L + k]
                u[(3 * n + y) * L + k] = u[(3 * i + y) * L + k]
                u[(3 * n + z) * L + k] = u[(3 * i + z) * L + k]
            v[sgo + n] = v[sgo + i] * alpha
            _add_term(u, v, prm, n)
            _set(u, v, prm, i, x, 0)
            v[sgo + i] *= z0
            return True
        if _same(u, prm, i, j, 0) or _same(u, prm, i, j, 1) or _same(u, prm, i, j, 2):
            continue
        alpha = 1
        beta = 1
        if field != F2:
            alpha = _sign(u, prm)
            beta = _sign(u, prm)
        gamma = alpha * beta * v[sgo + i] * v[sgo + j]
        if not (_lin(u, prm, i, j, y, beta, 0) and _lin(u, prm, j, i, x, -alpha, 1)
                and _lin(u, prm, j, i, z, -gamma, 2)):
            continue
        z0 = _norm(u, prm, 0)
        z1 = _norm(u, prm, 1)
        z2 = _norm(u, prm, 2)
        if z0 == 0 or z1 == 0 or z2 == 0:
            continue
        for k in range(L):
            u[(3 * n + x) * L + k] = u[(3 * i + x) * L + k]
            u[(3 * n + y) * L + k] = u[(3 * j + y) * L + k]
            u[(3 * n + z) * L + k] = u[buf + 2 * L + k]
        v[sgo + n] = alpha * v[sgo + j] * z2
        _add_term(u, v, prm, n)
        _set(u, v, prm, i, y, 0)
        v[sgo + i] *= z0
        _set(u, v, prm, j, x, 1)
        v[sgo + j] *= z1
        return True
    return False


# ------------------------------------------------------------------- walks
@njit(_nrt=False)
def _plus_at(u, prm):
    lo = prm[P_PLO]
    hi = prm[P_PHI]
    if hi <= lo:
        return lo
    return lo + _below(u, prm, hi - lo + 1)


@njit(_nrt=False)
def _snapshot(u, v, prm):
    """Keep the current scheme as the walk's best."""
    ctr = prm[P_CTR]
    R = v[ctr + C_RANK]
    L = prm[P_L]
    b = prm[P_BFAC]
    for k in range(3 * R * L):
        u[b + k] = u[k]
    for r in range(R):
        v[prm[P_BSG] + r] = v[prm[P_SG] + r]


@njit(_nrt=False)
def _load(u, v, prm, src_u, src_s, src_r, e):
    """Put the walk at source scheme ``e``, indexed and fully reduced."""
    ctr = prm[P_CTR]
    R = src_r[e]
    L = prm[P_L]
    for k in range(3 * R * L):
        u[k] = src_u[e, k]
    for r in range(R):
        v[prm[P_SG] + r] = src_s[e, r]
    v[ctr + C_RANK] = R
    mode = prm[P_MODE]
    cap = prm[P_CAP]
    for k in range(3 * cap):
        v[prm[P_FPOS] + k] = -1
    v[ctr + C_NF] = 0
    for p in range(3):
        ok = prm[P_KEY] + p * cap
        for r in range(R):
            u[ok + r] = _key_at(u, (3 * r + p) * L, L, mode)
        _rebuild(u, v, prm, p)
    ns = 0
    for r in range(R - 1, -1, -1):
        for p in range(3):
            ns = _push(v, prm, ns, r, p)
    _reduce(u, v, prm, ns)
    v[ctr + C_BEST] = v[ctr + C_RANK]
    v[ctr + C_STALL] = 0
    v[ctr + C_SINCE] = 0
    v[ctr + C_PLUSAT] = _plus_at(u, prm)
    v[ctr + C_IMPROVED] = 1
    v[ctr + C_RESETS] += 1
    _snapshot(u, v, prm)


@njit(_nrt=False)
def _random_source(u, prm):
    nstart = prm[P_NSTART]
    nsrc = prm[P_NSRC]
    if nsrc > nstart:
        return nstart + _below(u, prm, nsrc - nstart)
    return _below(u, prm, nstart)


@njit(_nrt=False)
def _walk(u, v, prm, src_u, src_s, src_r):
    ctr = prm[P_CTR]
    if v[ctr + C_RESET] >= 0:
        _load(u, v, prm, src_u, src_s, src_r, v[ctr + C_RESET])
        v[ctr + C_RESET] = -1
    target = prm[P_TARGET]
    plo = prm[P_PLO]
    slack = prm[P_SLACK]
    path = prm[P_PATH]
    v[ctr + C_FOUND] = 0
    if v[ctr + C_RANK] <= target:
        v[ctr + C_FOUND] = 1
        return
    for _ in range(prm[P_STEPS]):
        v[ctr + C_STEPS] += 1
        r0 = v[ctr + C_RANK]
        if _flip(u, v, prm):
            v[ctr + C_FLIPS] += 1
            if v[ctr + C_RANK] < r0:
                v[ctr + C_STALL] = 0
            else:
                v[ctr + C_STALL] += 1
        elif _expand(u, v, prm):
            v[ctr + C_PLUS] += 1
            v[ctr + C_STALL] = 0
        else:  # stuck: no flip, no room to expand
            _load(u, v, prm, src_u, src_s, src_r, _random_source(u, prm))
            continue
        R = v[ctr + C_RANK]
        if R < v[ctr + C_BEST]:
            v[ctr + C_BEST] = R
            v[ctr + C_SINCE] = 0
            v[ctr + C_IMPROVED] = 1
            _snapshot(u, v, prm)
        else:
            v[ctr + C_SINCE] += 1
        if R <= target:
            v[ctr + C_FOUND] = 1
            return
        if plo > 0 and v[ctr + C_STALL] >= v[ctr + C_PLUSAT] and R < v[ctr + C_BEST] + slack:
            if _expand(u, v, prm):
                v[ctr + C_PLUS] += 1
            v[ctr + C_STALL] = 0
            v[ctr + C_PLUSAT] = _plus_at(u, prm)
        if path > 0 and v[ctr + C_SINCE] >= path:
            _load(u, v, prm, src_u, src_s, src_r, _random_source(u, prm))


@njit(parallel=True)
def run_chunk(U, V, prm, src_u, src_s, src_r):
    """Advance every walk by up to ``prm[P_STEPS]`` steps (one walk per ``prange`` task).

    A walk stops early when it reaches ``prm[P_TARGET]`` (its counter
    ``C_FOUND`` is then 1).  A pending reset (counter ``C_RESET = e >= 0``)
    first puts the walk at source scheme ``e`` of ``src_*``.
    """
    for w in prange(U.shape[0]):
        _walk(U[w], V[w], prm, src_u, src_s, src_r)


@njit
def check_state(u, v, prm):
    """Consistency of one walk's indexes: 0 when consistent, else an error code.

    Used by the tests: keys match factors, factors are nonzero and normalised,
    every term is linked in the slot of its key, slot counts and the number
    of flippable (term, position) pairs are right.
    """
    ctr = prm[P_CTR]
    R = v[ctr + C_RANK]
    L = prm[P_L]
    W = prm[P_W]
    H = prm[P_H]
    cap = prm[P_CAP]
    field = prm[P_FIELD]
    mode = prm[P_MODE]
    tmp = np.empty(L, dtype=np.uint64)
    total = 0
    for p in range(3):
        nf = 0
        for r in range(R):
            b = (3 * r + p) * L
            key = u[prm[P_KEY] + p * cap + r]
            if key != _key_at(u, b, L, mode):
                return 1
            for k in range(L):
                tmp[k] = u[b + k]
            if _norm_at(tmp, 0, field, W) != 1:
                return 2
            sg = v[prm[P_SG] + r]
            if (field == F2 and sg != 1) or (sg != 1 and sg != -1):
                return 3
            s = v[prm[P_SLOT] + p * cap + r]
            if u[prm[P_TKEY] + p * H + s] != key or v[prm[P_CNT] + p * H + s] < 1:
                return 4
            m = v[prm[P_HEAD] + p * H + s]
            found = False
            count = 0
            while m >= 0:
                if m == r:
                    found = True
                if not _feq(u, (3 * m + p) * L, b, L):
                    return 5
                count += 1
                m = v[prm[P_NEXT] + p * cap + m]
            if not found or count != v[prm[P_CNT] + p * H + s]:
                return 6
            pos = v[prm[P_FPOS] + p * cap + r]
            if count >= 2:
                nf += 1
                if pos < 0 or pos >= v[ctr + C_NF] or v[prm[P_FL] + pos] != p * cap + r:
                    return 7
            elif pos >= 0:
                return 8
        total += nf
    if total != v[ctr + C_NF]:
        return 9
    return 0
