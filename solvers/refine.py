"""Refinement of near solutions by large-neighbourhood search with CP-SAT.

A rounded scheme that is wrong in a few tensor entries is usually wrong in a
few coefficients.  :func:`suspicion` scores every coefficient by the share of
the tensor entries it touches that are wrong (and, when the continuous
factors are known, by its distance to the domain).  :func:`refine` then
repeats:

1. free the ``k`` most suspicious coefficients (ties broken at random), keep
   every other coefficient fixed, and let CP-SAT solve the Brent equations
   for the freed ones (hinted with their current values);
2. exact -> done; otherwise widen ``k`` (and alternate with freeing whole
   rank-one terms), until exact or out of budget.

An exact move over Q (:func:`solvers.alternating.alternate`) is tried first:
it fixes schemes whose errors sit in one factor.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from discovery.core.errors import InternalError, InvalidInputError, NotFoundError
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.seeds import as_generator, as_seed
from discovery.core.scheme import Scheme
from discovery.algebra.tensor import reconstruct
from solvers.brent import as_domain, build_model, solve_model
from solvers.alternating import alternate
from verify import verify_exact, wrong_entries
from verify.exact import reconstruct_scaled

__all__ = ["RefineResult", "suspicion", "greedy_descent", "refine", "refine_or_raise"]


@dataclass
class RefineResult:
    """Outcome of :func:`refine`.

    ``status`` is ``"exact"`` (``scheme`` verified) or ``"not_found"``
    (``scheme`` is the input; nothing proved).
    """

    status: str
    scheme: Scheme
    rounds: int = 0
    freed: int = 0
    seconds: float = 0.0
    wrong_before: int = 0
    history: list = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.status == "exact"


def _wrong_mask(scheme: Scheme) -> np.ndarray:
    n, d = reconstruct_scaled(scheme)
    t = scheme.problem.tensor()
    target = t * d if (n.dtype != object and d < 2**40) else t.astype(object) * d
    return np.asarray(n != target, dtype=bool)


def _deadline(time_limit: Optional[float]) -> Optional[float]:
    return None if time_limit is None else time.perf_counter() + float(time_limit)


def _past(deadline: Optional[float]) -> bool:
    return deadline is not None and time.perf_counter() > deadline


def _hits(wrong: np.ndarray, own: np.ndarray, x: np.ndarray, y: np.ndarray, deadline) -> np.ndarray:
    """``hit[r, a] = sum_{b, c} wrong[a, b, c] * x[r, b] * y[r, c]`` in blocks, stopping at ``deadline``.

    Few wrong entries: summed entry by entry; many: matrix products with the
    Khatri-Rao rows of ``x`` and ``y``.
    """
    rank = own.shape[0]
    n0, n1, n2 = wrong.shape
    hit = np.zeros_like(own)
    a_idx, b_idx, c_idx = np.nonzero(wrong)
    if len(a_idx) * 16 <= wrong.size:
        block = max(1, 2**20 // max(1, rank))
        for k0 in range(0, len(a_idx), block):
            if _past(deadline):
                break
            a, b, c = a_idx[k0:k0 + block], b_idx[k0:k0 + block], c_idx[k0:k0 + block]
            np.add.at(hit.T, a, (x[:, b] * y[:, c]).T)
        return hit
    flat = wrong.reshape(n0, n1 * n2).astype(float)
    block = max(1, 2**21 // max(1, n1 * n2))
    for r0 in range(0, rank, block):
        if _past(deadline):
            break
        kr = (x[r0:r0 + block, :, None] * y[r0:r0 + block, None, :]).reshape(-1, n1 * n2)
        hit[r0:r0 + block] = (flat @ kr.T).T
    return hit


def suspicion(scheme: Scheme, approx: Optional[tuple] = None, deadline: Optional[float] = None) -> list[np.ndarray]:
    """A score in [0, 2] per coefficient: how likely it is wrong.

    The share of the tensor entries a coefficient influences (given the other
    two factors of its term) that are wrong, plus, when the continuous
    factors ``approx`` are given, twice the distance to the nearest integer.
    Work goes over the wrong entries in blocks; past ``deadline`` (a
    ``time.perf_counter()`` value) the blocks not yet counted are left out.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> U = [list(r) for r in s.U.tolist()]; U[2][3] = 1
    >>> scores = suspicion(s.replace(U=U))
    >>> float(scores[0][2, 3])
    1.0
    """
    wrong = _wrong_mask(scheme)
    nzs = [np.asarray(m != 0, dtype=float) for m in scheme.factors]
    u, v, w = nzs
    hits = [_hits(wrong, u, v, w, deadline), _hits(wrong.transpose(1, 0, 2), v, u, w, deadline),
            _hits(wrong.transpose(2, 0, 1), w, u, v, deadline)]
    sums = [m.sum(axis=1) for m in nzs]
    totals = [(sums[1] * sums[2])[:, None] * np.ones_like(u), (sums[0] * sums[2])[:, None] * np.ones_like(v),
              (sums[0] * sums[1])[:, None] * np.ones_like(w)]
    scores = []
    for hit, tot in zip(hits, totals):
        with np.errstate(invalid="ignore", divide="ignore"):
            scores.append(np.where(tot > 0, hit / np.maximum(tot, 1), 0.0))
    if approx is not None:
        for i, a in enumerate(approx):
            a = np.asarray(a, dtype=float)
            scores[i] = scores[i] + 2 * np.abs(a - np.round(a))
    return scores


#: greedy_descent holds rank * nx * ny * nz changes per step; above this many it is skipped.
GREEDY_ENTRIES = 2**25
#: The first neighbourhood frees at most this many coefficients (it widens from there).
START_MAX = 2000
#: The exact move over Q solves a (rank x n_a n_b) linear system with sympy, which cannot be
#: interrupted; above this many entries it is skipped.
ALTERNATING_ENTRIES = 200_000


def greedy_descent(scheme: Scheme, domain: Any = "ternary", max_moves: int = 1000,
                   deadline: Optional[float] = None) -> Scheme:
    """Change one coefficient at a time (to a domain value) while that lowers
    the number of wrong tensor entries; integer schemes and domains only.

    Schemes with more than :data:`GREEDY_ENTRIES` ``rank * nx * ny * nz`` are
    returned unchanged (each step would hold that many entries), and so is
    the current state when ``deadline`` passes.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> W = [list(r) for r in s.W.tolist()]; W[3][0] = 0
    >>> greedy_descent(s.replace(W=W)) == s
    True
    """
    dom = as_domain(domain)
    nx, ny, nz = scheme.problem.shape
    if dom.scale != 1 or scheme.field != "Z" or scheme.rank * nx * ny * nz > GREEDY_ENTRIES:
        return scheme
    try:
        mats = [np.array(m.tolist(), dtype=np.int64) for m in scheme.factors]
    except (TypeError, OverflowError):
        return scheme
    values = np.array([int(v) for v in dom.values], dtype=np.int64)
    t = scheme.problem.tensor().astype(np.int64)
    perms = [(0, 1, 2), (1, 0, 2), (2, 0, 1)]  # factor f's index first
    for _ in range(max_moves):
        if _past(deadline):
            break
        u, v, w = mats
        err = reconstruct(u, v, w) - t
        wrong = np.count_nonzero(err)
        if wrong == 0:
            break
        best = (0, None)
        for f in range(3):
            others = [mats[g] for g in range(3) if g != f]
            outer = np.einsum("rb,rc->rbc", *others)            # R x n1 x n2
            e = np.transpose(err, perms[f])                      # n0 x n1 x n2
            base = np.count_nonzero(e, axis=(1, 2))              # n0
            cur = mats[f]                                        # R x n0
            for x in values:
                delta = x - cur                                  # R x n0
                new = e[None, :, :, :] + delta[:, :, None, None] * outer[:, None, :, :]
                gain = base[None, :] - np.count_nonzero(new, axis=(2, 3))
                gain = np.where(delta != 0, gain, 0)
                r, i = np.unravel_index(int(np.argmax(gain)), gain.shape)
                if gain[r, i] > best[0]:
                    best = (int(gain[r, i]), (f, r, i, int(x)))
        if best[1] is None:
            break
        f, r, i, x = best[1]
        mats[f][r, i] = x
    return scheme.replace(U=mats[0], V=mats[1], W=mats[2])


def _out_of_domain(scheme: Scheme, dom) -> list[np.ndarray]:
    allowed = set(dom.values)  # Fractions; ints hash and compare equal to them
    return [np.fromiter((v not in allowed for v in m.flat), dtype=bool, count=m.size).reshape(m.shape)
            for m in scheme.factors]


def refine(
    scheme: Scheme,
    *,
    domain: Any = "ternary",
    time_limit: Optional[float] = 60.0,
    seed: Any = 0,
    workers: int = 1,
    approx: Optional[tuple] = None,
    callback: Optional[ProgressCallback] = None,
    start: Optional[int] = None,
    round_limit: float = 2.0,
    use_alternating: bool = True,
) -> RefineResult:
    """Refine a (possibly wrong) scheme to an exact one over ``domain``.

    Parameters
    ----------
    scheme : Scheme
        Integer or rational scheme; coefficients outside the domain are
        always freed.
    domain : str or values
        Coefficient domain for the freed entries.
    time_limit : float, optional
        Total budget in seconds, model building included: every phase
        checks it, and the exact move over Q is skipped for schemes too
        large to solve within it (:data:`ALTERNATING_ENTRIES`).
    approx : (U, V, W) float arrays, optional
        Continuous factors the scheme was rounded from (confidence).
    start : int, optional
        Coefficients freed in the first round (default: the clearly wrong
        ones, at least 8).
    round_limit : float
        Seconds per CP-SAT round at the start (grows when rounds time out).

    Returns
    -------
    RefineResult

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> s = strassen()
    >>> U = [list(r) for r in s.U.tolist()]; U[0][0] = 0; U[4][1] = -1
    >>> res = refine(s.replace(U=U), time_limit=20, use_alternating=False)
    >>> res.status
    'exact'
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    if scheme.field == "F2":
        raise InvalidInputError("refine works over Z or Q; lift an F2 scheme with solvers.lifting.lift")
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float))
                                   or not time_limit > 0):
        raise InvalidInputError(f"time limit must be a positive number of seconds, got {time_limit!r}")
    dom = as_domain(domain)
    t0 = time.perf_counter()
    deadline = _deadline(time_limit)
    rng = as_generator(seed)
    int_seed = as_seed(seed)
    wrong0 = wrong_entries(scheme)
    result = RefineResult("not_found", scheme, wrong_before=wrong0)

    def finish(found: Scheme, how: str) -> RefineResult:
        check = verify_exact(found)
        if not check.ok:  # pragma: no cover - solver bug guard
            raise InternalError(f"refinement produced a wrong scheme: {check.reason}")
        result.status = "exact"
        result.seconds = time.perf_counter() - t0
        prov = dict(scheme.meta.get("provenance", {}) or {})
        prov.setdefault("engine", "refine")
        prov["refined"] = {"method": how, "rounds": result.rounds, "freed": result.freed,
                           "wrong_before": wrong0, "seconds": round(result.seconds, 3),
                           "domain": dom.name,
                           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        result.scheme = found.with_meta(provenance=prov)
        return result

    if wrong0 == 0:
        result.status = "exact"
        result.scheme = scheme
        return result

    def left() -> Optional[float]:
        return None if time_limit is None else time_limit - (time.perf_counter() - t0)

    def out_of_time() -> RefineResult:
        result.seconds = time.perf_counter() - t0
        return result

    nx, ny, nz = scheme.problem.shape
    if use_alternating and scheme.rank * max(nx * ny, nx * nz, ny * nz) <= ALTERNATING_ENTRIES:
        got = alternate(scheme, over="Q", time_limit=min(10.0, left() or 10.0))
        if got is not None and (set(Fraction(v) for m in got.factors for v in m.ravel()) <= set(dom.values)):
            return finish(got, "alternating")
    if _past(deadline):
        return out_of_time()

    descended = greedy_descent(scheme, dom, deadline=deadline)
    if wrong_entries(descended) == 0:
        return finish(descended, "greedy")
    if _past(deadline):
        return out_of_time()
    # LNS alternates between the input and its greedy descent (when different)
    bases = []
    for base in (scheme, descended) if descended != scheme else (scheme,):
        scores = suspicion(base, approx, deadline=deadline)
        flat = np.concatenate([x.ravel() for x in scores])
        forced = np.concatenate([o.ravel() for o in _out_of_domain(base, dom)])
        k0 = start if start is not None else max(8, min(START_MAX, int(np.count_nonzero(flat >= 0.5))))
        bases.append((base, scores, flat, forced, min(flat.size, max(1, int(k0)))))
    sizes = [x.size for x in bases[0][1]]
    shapes = [x.shape for x in bases[0][1]]
    total = bases[0][2].size
    slice_ = round_limit
    sizes_k = [float(b[4]) for b in bases]  # adaptive neighbourhood size per base
    while True:
        remaining = left()
        if remaining is not None and remaining <= 0.05:
            break
        result.rounds += 1
        which = (result.rounds - 1) % len(bases)
        base, scores, flat_scores, forced, k0 = bases[which]
        current = [m.tolist() for m in base.factors]
        # adaptive size: widen after a proof of infeasibility, narrow after a time-out
        k = min(total, int(sizes_k[which]))
        by_terms = result.rounds % 4 == 0
        noise = rng.random(total) * 0.5
        order = np.argsort(-(flat_scores + noise + forced * 10), kind="stable")
        free = np.zeros(total, dtype=bool)
        if by_terms:
            # free whole terms: those holding the most suspicious coefficients
            per_term = sum(s.sum(axis=1) for s in scores) + rng.random(scheme.rank)
            width = sum(sh[1] for sh in shapes)
            n_terms = max(2, min(scheme.rank // 3, k // width + 1))
            chosen = np.argsort(-per_term)[:n_terms]
            offs = 0
            for size, sh in zip(sizes, shapes):
                block = np.zeros(sh, dtype=bool)
                block[chosen] = True
                free[offs:offs + size] = block.ravel()
                offs += size
        else:
            free[order[:k]] = True
        free |= forced
        entry_values = []
        offs = 0
        for f, (size, sh) in enumerate(zip(sizes, shapes)):
            mask = free[offs:offs + size].reshape(sh)
            entry_values.append([[None if mask[r, i] else current[f][r][i] for i in range(sh[1])]
                                 for r in range(sh[0])])
            offs += size
        limit = slice_ if remaining is None else max(0.05, min(slice_, remaining))
        try:
            bm = build_model(scheme.problem, scheme.rank, dom, entry_values=entry_values, symmetry_breaking=False,
                             time_limit=None if remaining is None else max(0.01, left()))
        except NotFoundError:  # the budget ran out while building
            result.history.append((result.rounds, int(free.sum()), "building timed out", 0.0))
            break
        bm.add_hint(*base.factors)
        if remaining is not None:
            limit = max(0.01, min(limit, left() - 0.01))
        out = solve_model(bm, time_limit=limit, workers=workers, seed=int_seed + result.rounds)
        result.freed = int(free.sum())
        result.history.append((result.rounds, result.freed, out.status, round(out.seconds, 3)))
        if callback is not None:
            callback(ProgressEvent("refine", done=result.rounds, found=int(out.status == "found"),
                                   best=float(wrong0),
                                   message=f"freed {result.freed} coefficients: {out.status}"))
        if out.status == "found":
            return finish(out.scheme.with_meta(**dict(scheme.meta)), "cpsat-lns")
        if out.status == "infeasible" and free.all():
            break  # every coefficient was free: no scheme of this rank over the domain, stop searching
        if out.status == "unknown":
            slice_ = min(slice_ * 1.2, 4 * round_limit)
            if not by_terms:
                sizes_k[which] = max(k0, sizes_k[which] * 0.85)
        elif not by_terms:
            sizes_k[which] = min(total, sizes_k[which] * 1.4 + 1)
    result.seconds = time.perf_counter() - t0
    return result


def refine_or_raise(scheme: Scheme, **options: Any) -> Scheme:
    """:func:`refine`, returning the exact scheme or raising NotFoundError."""
    res = refine(scheme, **options)
    if res.exact:
        return res.scheme
    raise NotFoundError(
        f"refinement found no exact scheme in {res.seconds:.1f}s "
        f"({res.rounds} rounds, {res.wrong_before} wrong entries at the start)"
    )
