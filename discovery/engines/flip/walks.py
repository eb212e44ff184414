"""A population of walks: the kernel's arrays and one call per chunk of steps.

:class:`Walks` owns every array of :mod:`~discovery.engines.flip.kernel`
(one row per walk) and the *sources* walks are reset to: the start schemes
first, then the pool's current reset candidates.  It knows nothing about
strategies (that is :mod:`~discovery.engines.flip.engine`); it only runs
chunks and reads walks back.
"""

from __future__ import annotations

import numpy as np

from discovery.engines.flip import kernel as K
from discovery.engines.flip.codec import Layout

__all__ = ["Walks", "walk_seeds"]


def walk_seeds(seed: int, walks: int) -> np.ndarray:
    """One 64-bit generator state per walk, from ``(seed, walk index)`` only.

    Examples
    --------
    >>> bool((walk_seeds(3, 4)[:2] == walk_seeds(3, 2)).all())
    True
    """
    return np.array([np.random.SeedSequence([int(seed), 0x666C6970, w]).generate_state(1, np.uint64)[0]
                     for w in range(walks)], dtype=np.uint64)


class Walks:
    """Arrays of ``walks`` walks of capacity ``cap`` terms.

    Parameters
    ----------
    lay : Layout
    starts : list of (fac, sg)
        Encoded start schemes; walk ``w`` starts at ``starts[w % len(starts)]``.
    walks, cap, pool : int
        Number of walks, most terms a walk may hold, most pool entries offered
        for resets at a time.
    seed : int
    params : dict
        ``target``, ``plateau`` (lo, hi) or None, ``plus_slack``,
        ``path_length`` or None, ``attempts``, ``split`` (per mille).
    """

    def __init__(self, lay: Layout, starts, walks: int, cap: int, pool: int, seed: int, params: dict):
        self.lay = lay
        self.n = int(walks)
        self.cap = int(cap)
        L = lay.L
        logh = max(4, int(np.ceil(np.log2(4 * cap))))
        off, nu, nv = K.sections(cap, L, logh)
        self.off = off
        n = self.n
        self.U = np.zeros((n, nu), dtype=np.uint64)
        self.V = np.zeros((n, nv), dtype=np.int64)
        self.U[:, off[K.P_RNG]] = walk_seeds(seed, n)
        self.nstart = len(starts)
        nsrc = self.nstart + max(0, int(pool))
        self.src_u = np.zeros((nsrc, 3 * cap * L), dtype=np.uint64)
        self.src_s = np.ones((nsrc, cap), dtype=np.int64)
        self.src_r = np.zeros(nsrc, dtype=np.int64)
        for e, (f, s) in enumerate(starts):
            self._put_source(e, f, s)
        plateau = params.get("plateau")
        prm = np.zeros(K.P_SIZE, dtype=np.int64)
        prm[K.P_FIELD] = lay.code
        prm[K.P_L] = L
        prm[K.P_W] = lay.W
        prm[K.P_MODE] = lay.mode
        prm[K.P_LOGH] = logh
        prm[K.P_H] = 1 << logh
        prm[K.P_CAP] = cap
        prm[K.P_TARGET] = int(params["target"])
        prm[K.P_PLO], prm[K.P_PHI] = plateau if plateau else (0, 0)
        prm[K.P_SLACK] = int(params.get("plus_slack", 1))
        prm[K.P_PATH] = int(params.get("path_length") or 0)
        prm[K.P_ATTEMPTS] = int(params.get("attempts", 64))
        prm[K.P_NSTART] = self.nstart
        prm[K.P_NSRC] = self.nstart
        prm[K.P_SPLIT] = int(params.get("split", 500))
        for k, o in off.items():
            prm[k] = o
        self.prm = prm
        self.ctr = self.V[:, off[K.P_CTR]: off[K.P_CTR] + K.C_SIZE]  # a view
        self.ctr[:, K.C_RESET] = np.arange(n) % self.nstart

    def _put_source(self, e: int, f: np.ndarray, s: np.ndarray) -> None:
        r = len(s)
        self.src_u[e, : f.size] = f.reshape(-1)
        self.src_s[e, :r] = s
        self.src_r[e] = r

    # ------------------------------------------------------------------
    def set_candidates(self, entries) -> None:
        """Offer ``entries`` (list of (fac, sg)) as the pool's reset sources."""
        m = min(len(entries), self.src_r.size - self.nstart)
        for e, (f, s) in enumerate(entries[:m]):
            self._put_source(self.nstart + e, f, s)
        self.prm[K.P_NSRC] = self.nstart + m

    def run(self, steps: int) -> None:
        """Advance every walk by up to ``steps`` steps (compiled, in parallel)."""
        self.prm[K.P_STEPS] = int(steps)
        with np.errstate(over="ignore"):  # splitmix64 wraps on purpose (pure-Python fallback)
            K.run_chunk(self.U, self.V, self.prm, self.src_u, self.src_s, self.src_r)

    def _terms(self, w: int, base: int, sgo: int, r: int):
        L = self.lay.L
        fac = self.U[w, base: base + 3 * r * L].reshape(r, 3, L).copy()
        return fac, self.V[w, sgo: sgo + r].copy()

    def current(self, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Words ``(R, 3, L)`` and scalars of walk ``w``'s current scheme (copies)."""
        return self._terms(w, 0, self.off[K.P_SG], int(self.ctr[w, K.C_RANK]))

    def best(self, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Words and scalars of the best scheme of walk ``w`` since its last reset."""
        return self._terms(w, self.off[K.P_BFAC], self.off[K.P_BSG], int(self.ctr[w, K.C_BEST]))

    def check(self, w: int) -> int:
        """0 when walk ``w``'s indexes are consistent (see :func:`kernel.check_state`)."""
        return int(K.check_state(self.U[w], self.V[w], self.prm))
