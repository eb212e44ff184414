"""Engine ``flip``: the walk generator :func:`walk` and the :func:`run` wrapper.

:func:`walk` drives a population of compiled walks
(:class:`~discovery.engines.flip.walks.Walks`) chunk by chunk and yields
``(scheme, info)`` for every exact scheme of the target rank as soon as a
chunk ends; it returns a dict of statistics.  Between chunks, in walk order
(so the result does not depend on the number of threads):

* walks that reached the target are decoded, verified (and lifted: F2 to Z
  on request, F3 always) and yielded, then reset;
* walks whose best rank improved offer their best scheme to the *pool* (up to
  ``pool`` distinct schemes per rank); walks are reset to the pool's
  lowest-rank schemes (after ``path_length`` steps without improving, after a
  find, and -- with probability ``copy_best`` each -- whenever the pool's
  lowest rank drops).

Chunk sizes follow a fixed schedule (they do not depend on speed), so the
same seed and options give the same walks on any number of threads; a time
limit only cuts the same sequence shorter.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import math
import os
import time
import warnings
from dataclasses import dataclass, fields, replace
from typing import Any, Iterator, Optional

import numpy as np

from discovery.core.checks import check_problem_rank, positive_int
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem, matmul
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_seed
from discovery.engines.base import SearchResult
from discovery.engines.flip import _jit
from discovery.engines.flip import kernel as K
from discovery.engines.flip.codec import decode, encode, layout, to_scheme
from discovery.engines.flip.meta import resolve_start
from discovery.engines.flip.walks import Walks
from discovery.algebra.ops import standard_scheme
from solvers.lifting import hensel_lift_mod, lift
from verify import verify_exact

__all__ = ["FlipOptions", "walk", "run", "FIELDS", "ensure_compiled", "drain"]

#: Fields the engine walks over.
FIELDS = ("F2", "Z", "F3")


@dataclass(frozen=True)
class FlipOptions:
    """Options of the flip engine (defaults are the measured best, see docs/notes/flip.md).

    Attributes
    ----------
    field : {"F2", "Z", "F3"}
        F2 is fastest; Z keeps every coefficient in {-1, 0, 1} and needs no
        lifting; F3 walks mod 3 and lifts each find by Hensel lifting and
        rational reconstruction (so coefficients like 1/2 can appear).
    walks : int, optional
        Independent walks (default: one per thread).
    threads : int, optional
        Threads of the kernel (default: every core numba may use; capped there).
    start : str, Scheme, list of Scheme or path
        ``"standard"``, ``"catalog"``, ``"product"``, ``"extend"``,
        ``"project"``, ``"neighbours"``, ``"best"``, a scheme, schemes, or a
        scheme file (see :func:`~discovery.engines.flip.meta.resolve_start`).
    plateau : int or None
        Flips without a rank drop before a plus transition (each walk draws
        its threshold from ``[plateau/2, 3 plateau/2]``); None: no plus
        transitions.
    plus_slack : int
        Plus transitions only while the rank is below the walk's best + this.
    path_length : int or None
        Steps without improving its best after which a walk is reset (to the
        pool, or to a start); None: never.
    pool : int
        Best schemes kept per rank to reset walks to (0: resets go to the start).
    copy_best : float
        Probability for each walk to jump to the pool's new lowest rank.
    split : float
        Share of rank-raising moves that are splits (the rest are plus transitions).
    max_steps : int or None
        Steps per walk (a flip, or a plus transition when none applies).
    max_schemes : int
        Stop after this many schemes of the target rank.
    lift : bool or None
        F2: also lift each find to Z (:func:`solvers.lifting.lift`); F3
        always lifts (None means: F3 yes, F2 no).
    chunk : int or None
        Largest number of steps per walk between two looks from Python
        (default ``max(4096, 2**21 // walks)``).
    attempts : int
        Random picks tried per move before giving up on it.
    """

    field: str = "F2"
    walks: Optional[int] = None
    threads: Optional[int] = None
    start: Any = "standard"
    plateau: Optional[int] = 20_000
    plus_slack: int = 4
    path_length: Optional[int] = None
    pool: int = 0
    copy_best: float = 0.0
    split: float = 0.5
    max_steps: Optional[int] = None
    max_schemes: int = 1
    lift: Optional[bool] = None
    chunk: Optional[int] = None
    attempts: int = 64

    def validated(self) -> "FlipOptions":
        """A copy with every value checked (InvalidInputError, one line)."""
        if self.field not in FIELDS:
            raise InvalidInputError(f"field must be one of {', '.join(FIELDS)} for the flip engine, got {self.field!r}")
        out = {}
        for name in ("walks", "threads", "plateau", "path_length", "max_steps", "chunk"):
            out[name] = positive_int(getattr(self, name), name, allow_none=True)
        out["max_schemes"] = positive_int(self.max_schemes, "max_schemes")
        out["attempts"] = positive_int(self.attempts, "attempts")
        for name in ("plus_slack", "pool"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InvalidInputError(f"{name} must be a non-negative integer, got {v!r}")
            out[name] = int(v)
        for name in ("copy_best", "split"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise InvalidInputError(f"{name} must be a probability in [0, 1], got {v!r}")
            out[name] = float(v)
        if self.lift is not None and not isinstance(self.lift, bool):
            raise InvalidInputError(f"lift must be True, False or None, got {self.lift!r}")
        return replace(self, **out)


_OPTION_NAMES = tuple(f.name for f in fields(FlipOptions))


def _options(options: Optional[FlipOptions], kw: dict) -> FlipOptions:
    coefficients = kw.pop("coefficients", None)
    unknown = sorted(set(kw) - set(_OPTION_NAMES))
    if unknown:
        raise InvalidInputError(
            f"unknown option {unknown[0]!r} for the flip engine (options: {', '.join(_OPTION_NAMES)})"
        )
    opts = replace(options or FlipOptions(), **kw)
    if coefficients is not None:
        if coefficients != "ternary":
            raise InvalidInputError(
                f"the flip engine keeps coefficients in {{-1, 0, 1}} (ternary), got coefficients={coefficients!r}"
            )
        if "field" in kw and kw["field"] != "Z":
            raise InvalidInputError(f"ternary coefficients are a set over Z, not over {kw['field']}")
        opts = replace(opts, field="Z")
    return opts.validated()


# ------------------------------------------------------------- the kernel
_COMPILED = False


def ensure_compiled() -> str:
    """Compile (or load from numba's cache) the walk kernel; return the mode.

    ``"numba"`` normally.  If numba is missing or fails to compile, warn once
    and switch to the same kernel in pure Python (``"python"``, very slow).
    """
    global _COMPILED
    if not _COMPILED:
        try:
            _tiny_walk()
        except Exception as exc:  # a numba failure: fall back to pure Python
            if not _jit.ENABLED:
                raise
            _fallback(f"numba failed to compile the walk kernel ({type(exc).__name__}: {str(exc)[:200]})")
            _tiny_walk()
        if not _jit.ENABLED and _jit.REASON and not _FALLBACK_WARNED:
            _fallback(_jit.REASON)
        _COMPILED = True
    return "numba" if _jit.ENABLED else "python"


_FALLBACK_WARNED = False


def _fallback(reason: str) -> None:
    global _FALLBACK_WARNED
    if not _FALLBACK_WARNED:
        warnings.warn(f"flip engine: {reason}; the walks run in pure Python (thousands of times slower)",
                      RuntimeWarning, stacklevel=3)
        _FALLBACK_WARNED = True
    if _jit.ENABLED:
        os.environ["BILINEAR_FLIP_NOJIT"] = "1"
        importlib.reload(_jit)
        importlib.reload(K)


def _tiny_walk() -> None:
    p = matmul(1, 1, 2)
    lay = layout(p, "F2")
    state = Walks(lay, [encode(standard_scheme(p), lay)], 1, 4, 0, 0, {"target": 1, "plateau": (2, 3)})
    state.run(4)


# ---------------------------------------------------------------- the pool
class _Pool:
    """Distinct best schemes of the walks, ``size`` per rank, for resets."""

    def __init__(self, size: int):
        self.size = size
        self.by_rank: dict[int, list] = {}
        self.ring: dict[int, int] = {}
        self.seen: set[bytes] = set()

    @staticmethod
    def _digest(fac: np.ndarray, sg: np.ndarray) -> bytes:
        rows = sorted(fac[r].tobytes() + int(sg[r]).to_bytes(1, "little", signed=True) for r in range(len(sg)))
        return hashlib.blake2b(b"".join(rows), digest_size=16).digest()

    def add(self, fac: np.ndarray, sg: np.ndarray) -> bool:
        """Offer a scheme; True when it is new."""
        if self.size == 0:
            return False
        rank = len(sg)
        low = self.lowest()
        if low is not None and rank > low + 1:
            return False
        d = self._digest(fac, sg)
        if d in self.seen:
            return False
        self.seen.add(d)
        entries = self.by_rank.setdefault(rank, [])
        if len(entries) < self.size:
            entries.append((fac, sg))
        else:
            i = self.ring.get(rank, 0)
            entries[i] = (fac, sg)
            self.ring[rank] = (i + 1) % self.size
        for r in [r for r in self.by_rank if r > self.lowest() + 1]:
            del self.by_rank[r]
        return True

    def lowest(self) -> Optional[int]:
        return min(self.by_rank) if self.by_rank else None

    def candidates(self) -> list:
        low = self.lowest()
        return list(self.by_rank[low]) if low is not None else []


# ------------------------------------------------------------------- walk
def _chunks(first: int, largest: int):
    size = first
    while True:
        yield size
        size = min(largest, 2 * size)


def _stats_line(best: np.ndarray) -> str:
    ranks, counts = np.unique(best, return_counts=True)
    parts = [f"{r}x{c}" if c > 1 else f"{r}" for r, c in zip(ranks.tolist(), counts.tolist())]
    if len(parts) > 6:
        parts = parts[:6] + ["..."]
    return " ".join(parts)


def walk(problem: Problem, rank: int, *, seed: Any = 0, time_limit: Optional[float] = None,
         callback: Optional[ProgressCallback] = None, options: Optional[FlipOptions] = None,
         **kw: Any) -> Iterator[tuple[Scheme, dict]]:
    """Flip-graph walks toward ``rank``; yields ``(scheme, info)`` per exact find.

    Parameters
    ----------
    problem : Problem
        Any problem (matmul, correlation, tensor, ...).
    rank : int
        Target number of multiplications (>= 1).
    seed : int
        With the same seed and options the walks are the same, on any number
        of threads (walk ``w`` draws from its own generator seeded by
        ``(seed, w)``).
    time_limit : float, optional
        Wall-clock budget in seconds (checked between chunks).
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` objects
        after every chunk: ``best`` is the lowest rank reached, ``message``
        the best rank of each walk and the flips per second.
    options : FlipOptions, optional
    **kw
        Fields of :class:`FlipOptions` (override ``options``), or
        ``coefficients="ternary"`` for ``field="Z"``.

    Yields
    ------
    (Scheme, dict)
        A verified scheme of rank <= ``rank`` (over F2, Z or Q: F3 finds are
        lifted) and ``{"walk", "rank", "field", "flips", "seconds", ...}``.

    Returns
    -------
    dict
        ``status``, ``best_rank``, ``flips``, ``flips_per_second``,
        ``threads``, ``walks``, ``first_exact_seconds``, ``wall_seconds``,
        ``steps``, ... (see :func:`run`, which puts them in ``options``).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> gen = walk(matmul(2, 2, 2), 7, field="Z", walks=2, threads=1, max_steps=20000)
    >>> scheme, info = next(gen)
    >>> scheme.rank, scheme.field, info["walk"] in (0, 1)
    (7, 'Z', True)
    """
    rank = check_problem_rank(problem, rank)
    opts = _options(options, dict(kw))
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float))
                                   or not time_limit > 0 or math.isnan(time_limit)):
        raise InvalidInputError(f"time limit must be positive, got {time_limit!r}")
    seed_int = as_seed(seed)
    lay = layout(problem, opts.field)
    starts = resolve_start(problem, opts.start, opts.field)
    encoded = [encode(s, lay) for s, _ in starts]
    labels = [label for _, label in starts]
    mode = ensure_compiled()
    threads = _jit.set_threads(opts.threads or _jit.max_threads())
    n = opts.walks or threads
    cap = max(len(sg) for _, sg in encoded) + opts.plus_slack + 2
    params = dict(target=rank, plus_slack=opts.plus_slack, path_length=opts.path_length, attempts=opts.attempts,
                  split=int(round(1000 * opts.split)),
                  plateau=(max(1, opts.plateau // 2), opts.plateau + opts.plateau // 2) if opts.plateau else None)
    state = Walks(lay, encoded, n, cap, opts.pool, seed_int, params)
    lift_f2 = bool(opts.lift) and opts.field == "F2"
    rng = np.random.default_rng([seed_int, 0x706F6F6C])  # "pool": resets and copies
    pool = _Pool(opts.pool)
    largest = opts.chunk or max(4096, 2**21 // n)
    t0 = time.perf_counter()
    c0 = time.process_time()
    kernel_seconds = 0.0
    stats = dict(engine="flip", field=opts.field, walks=n, threads=threads, kernel=mode, start=labels[0],
                 starts=len(labels), start_rank=min(len(sg) for _, sg in encoded), seed=seed_int,
                 options={f.name: getattr(opts, f.name) for f in fields(opts) if f.name != "start"},
                 found=0, yielded=0, rejected=0, unlifted=0, lifted=0, first_exact_seconds=None)
    best_rank = int(stats["start_rank"])
    steps_done = 0
    found = 0

    def elapsed() -> float:
        return time.perf_counter() - t0

    def source() -> int:
        cands = state.prm[K.P_NSRC] - state.nstart
        return int(state.nstart + rng.integers(cands)) if cands > 0 else int(rng.integers(state.nstart))

    def provenance(w: int) -> dict:
        return {"engine": "flip", "field": opts.field, "start": labels[0] if len(labels) == 1 else labels,
                "seed": seed_int, "walk": w, "walks": n, "threads": threads,
                "flips": int(state.ctr[:, K.C_FLIPS].sum()), "walk_flips": int(state.ctr[w, K.C_FLIPS]),
                "seconds": round(elapsed(), 3),
                "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def finds(w: int):
        """The verified schemes of walk ``w``'s find (lifted where asked)."""
        fac, sg = state.current(w)
        prov = provenance(w)
        info = {"walk": w, "rank": len(sg), "walk_field": opts.field, "flips": prov["flips"],
                "seconds": prov["seconds"], "step": int(state.ctr[w, K.C_STEPS])}
        raw = to_scheme(problem, fac, sg, lay, {"provenance": prov})
        if opts.field in ("F2", "Z"):
            if not verify_exact(raw).ok:  # never expected: every move keeps the tensor
                stats["rejected"] += 1
                return
            yield raw, dict(info, field=raw.field)
            if lift_f2:
                left = 30.0 if time_limit is None else max(0.05, min(30.0, time_limit - elapsed()))
                got = lift(raw, time_limit=left, seed=seed_int)
                if got.lifted:
                    stats["lifted"] += 1
                    yield got.scheme, dict(info, field=got.scheme.field, lifted_from="F2", lift_method=got.method)
            return
        # F3: the residue representatives may already be exact over Z; else Hensel-lift
        if verify_exact(raw).ok:
            stats["lifted"] += 1
            yield raw, dict(info, field="Z", lifted_from="F3", lift_method="representatives")
            return
        if opts.lift is False:
            stats["unlifted"] += 1
            return
        left = 30.0 if time_limit is None else max(0.05, min(30.0, time_limit - elapsed()))
        got = hensel_lift_mod(problem, decode(fac, sg, lay), 3, time_limit=left,
                              meta={"provenance": prov, "lifted_from": "F3", "lift_method": "hensel"})
        if got is None:
            stats["unlifted"] += 1
            return
        stats["lifted"] += 1
        yield got, dict(info, field=got.field, lifted_from="F3", lift_method="hensel")

    def report(message: str = "") -> None:
        if callback is None:
            return
        flips = int(state.ctr[:, K.C_FLIPS].sum())
        rate = flips / kernel_seconds if kernel_seconds > 0 else 0.0
        total = opts.max_steps * n if opts.max_steps else None
        walks_best = _stats_line(state.ctr[:, K.C_BEST])
        callback(ProgressEvent("flip", steps_done * n, total, found, float(best_rank),
                               message or f"best rank {best_rank}; walks {walks_best}; {rate / 1e6:.2f} Mflips/s"))

    chunks = _chunks(min(1024, largest), largest)
    size = 0  # the first call only loads (and reduces) the starts
    stop = False
    while not stop:
        if size:
            if opts.max_steps is not None and steps_done >= opts.max_steps:
                break
            if time_limit is not None and elapsed() >= time_limit:
                break
            size = min(size, opts.max_steps - steps_done) if opts.max_steps is not None else size
        k0 = time.perf_counter()
        state.run(size)
        kernel_seconds += time.perf_counter() - k0
        steps_done += size
        best_rank = min(best_rank, int(state.ctr[:, K.C_BEST].min()))
        low_before = pool.lowest()
        for w in range(n):
            if state.ctr[w, K.C_IMPROVED]:
                state.ctr[w, K.C_IMPROVED] = 0
                if int(state.ctr[w, K.C_BEST]) > rank:
                    pool.add(*state.best(w))
            if state.ctr[w, K.C_FOUND]:
                got_one = False
                for scheme, info in finds(w):
                    got_one = True
                    stats["yielded"] += 1
                    if stats["first_exact_seconds"] is None:
                        stats["first_exact_seconds"] = elapsed()
                    yield scheme, info
                found += got_one
                state.ctr[w, K.C_FOUND] = 0
                if size == 0:
                    stop = True  # a start already reaches the target: nothing to walk
                state.ctr[w, K.C_RESET] = source()
                if found >= opts.max_schemes:
                    stop = True
                    break
        if opts.pool:
            state.set_candidates(pool.candidates())
            low = pool.lowest()
            if low is not None and (low_before is None or low < low_before) and opts.copy_best > 0:
                for w in range(n):
                    if state.ctr[w, K.C_RESET] < 0 and rng.random() < opts.copy_best:
                        state.ctr[w, K.C_RESET] = source()
        report()
        size = next(chunks)

    wall = elapsed()
    flips = int(state.ctr[:, K.C_FLIPS].sum())
    cpu = time.process_time() - c0
    stats.update(status="found" if stats["yielded"] else "not_found", best_rank=best_rank, found=found,
                 flips=flips, steps=steps_done, wall_seconds=wall, kernel_seconds=kernel_seconds,
                 cpu_seconds=cpu, flips_per_second=flips / kernel_seconds if kernel_seconds > 0 else 0.0,
                 flips_per_cpu_second=flips / cpu if cpu > 0 else 0.0,
                 plus_transitions=int(state.ctr[:, K.C_PLUS].sum()), resets=int(state.ctr[:, K.C_RESETS].sum()),
                 pool_rank=pool.lowest(), walk_best=state.ctr[:, K.C_BEST].astype(int).tolist())
    report(f"done: best rank {best_rank}, {found} found, {stats['flips_per_second'] / 1e6:.2f} Mflips/s")
    return stats


def drain(gen) -> tuple[list, dict]:
    """Run a :func:`walk` generator to the end: ``([(scheme, info), ...], stats)``."""
    out = []
    while True:
        try:
            out.append(next(gen))
        except StopIteration as stop:
            return out, stop.value


# -------------------------------------------------------------------- run
def run(problem: Problem, rank: int, *, seed: Any = 0, time_limit: Optional[float] = None,
        callback: Optional[ProgressCallback] = None, field: Optional[str] = None,
        coefficients: Optional[str] = None, walks: Optional[int] = None, threads: Optional[int] = None,
        start: Any = None, plateau: Any = ..., pool: Any = ..., plus_slack: Any = ..., path_length: Any = ...,
        copy_best: Any = ..., split: Any = ..., max_steps: Optional[int] = None, max_schemes: int = 1,
        lift: Optional[bool] = None, chunk: Optional[int] = None, **ignored: Any) -> SearchResult:
    """Flip-graph search down to ``rank``: :func:`walk` collected into a :class:`SearchResult`.

    Options are those of :class:`FlipOptions` (unset ones keep its
    defaults); ``coefficients="ternary"`` selects ``field="Z"``.  The
    statistics of :func:`walk` (``best_rank``, ``flips``,
    ``flips_per_second``, ``threads``, ...) are in ``result.options``.
    Without a time limit or step budget the walks stop after 10**6 steps.

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> res = run(matmul(2, 2, 2), 7, seed=0, walks=2, threads=1, max_steps=20000)
    >>> res.status, res.schemes[0].rank, res.schemes[0].field, res.options["best_rank"]
    ('found', 7, 'F2', 7)
    """
    if ignored:
        name = sorted(ignored)[0]
        raise InvalidInputError(f"unknown option {name!r} for the flip engine (options: {', '.join(_OPTION_NAMES)})")
    kw = dict(field=field, walks=walks, threads=threads, start=start, plateau=plateau, pool=pool,
              plus_slack=plus_slack, path_length=path_length, copy_best=copy_best, split=split,
              max_steps=max_steps, max_schemes=max_schemes, lift=lift, chunk=chunk)
    kw = {k: v for k, v in kw.items() if v is not ... and not (v is None and k in ("field", "start"))}
    if coefficients is not None:
        kw["coefficients"] = coefficients
    if max_steps is None and time_limit is None:
        kw["max_steps"] = 10**6
    result = SearchResult(problem=problem, rank=check_problem_rank(problem, rank), engine="flip")
    seen: set[str] = set()
    found, stats = drain(walk(problem, rank, seed=seed, time_limit=time_limit, callback=callback, **kw))
    for scheme, _ in found:
        fp = scheme.fingerprint()
        if fp not in seen:
            seen.add(fp)
            result.schemes.append(scheme)
    result.status = "found" if result.schemes else "not_found"
    result.restarts = stats["walks"]
    result.exact = len(result.schemes)
    result.wall_seconds = stats["wall_seconds"]
    result.first_exact_seconds = stats["first_exact_seconds"]
    result.best_loss = float(stats["best_rank"])
    result.options = stats
    return result
