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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from discovery.algebra.ops import standard_scheme
from discovery.core.checks import check_problem_rank
from discovery.core.coefficients import coefficient_values
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem, matmul
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from discovery.core.seeds import as_seed
from discovery.engines.base import Candidate, Engine, EngineOptions, Tally, coefficient_domain_check, option
from discovery.engines.flip import _jit
from discovery.engines.flip import kernel as K
from discovery.engines.flip.codec import decode, encode, layout, to_scheme
from discovery.engines.flip.meta import START_KEYWORDS, resolve_start
from discovery.engines.flip.walks import Walks
from solvers.lifting import hensel_lift_mod, lift
from verify import verify_exact

__all__ = ["FlipOptions", "ENGINE", "walk", "run", "FIELDS", "ensure_compiled", "drain"]

#: Fields the engine walks over.
FIELDS = ("F2", "Z", "F3")


def _check_start(value: Any, name: str) -> Any:
    if isinstance(value, Scheme):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(s, Scheme) for s in value):
        return tuple(value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and (value in START_KEYWORDS or Path(value).is_file()):
        return value
    raise InvalidInputError(
        f"option {name} must be {', '.join(START_KEYWORDS)}, a Scheme or a scheme file, got {value!r}"
    )


@dataclass(frozen=True)
class FlipOptions(EngineOptions):
    """Options of the ``flip`` engine (defaults measured best: docs/notes/flip.md)."""

    engine = "flip"

    field: str = option("F2", choices=FIELDS, help="F2 (fastest; --lift lifts finds to Z), Z (coefficients "
                        "in {-1, 0, 1}, no lifting) or F3 (finds Hensel-lifted to Z or Q, so 1/2 can appear)")
    walks: Optional[int] = option(None, minimum=1, help="independent walks (default: one per thread)")
    threads: Optional[int] = option(None, minimum=1, help="kernel threads (default: every core; capped there)")
    start: Any = option("standard", check=_check_start, metavar="|".join(START_KEYWORDS) + "|FILE",
                        help="start: the standard algorithm, the best catalog schemes, a product of two smaller "
                             "formats, a neighbouring format extended or projected, the best of these, or a file")
    plateau: Optional[int] = option(20_000, minimum=1, help="flips without a rank drop before a plus transition "
                                    "(each walk draws its own from [plateau/2, 3 plateau/2]; none: never)")
    plus_slack: int = option(4, minimum=0, help="plus transitions only while the rank is below the walk's best "
                             "+ this")
    path_length: Optional[int] = option(None, minimum=1, help="steps without improving its best after which a "
                                        "walk restarts from the pool (or the start); none: never")
    pool: int = option(0, minimum=0, help="best schemes kept per rank to restart walks from (0: restart at the start)")
    copy_best: float = option(0.0, minimum=0.0, maximum=1.0, help="chance for each walk to jump to the pool's "
                              "new lowest rank when it drops")
    split: float = option(0.5, minimum=0.0, maximum=1.0, help="share of rank-raising moves that are splits "
                          "(the rest are plus transitions)")
    max_steps: Optional[int] = option(None, minimum=1, help="steps per walk (default: the time limit, or 10**6)")
    stop_after: int = option(1, minimum=1, help="stop walking after this many schemes of the target rank")
    lift: Optional[bool] = option(None, help="F2: also lift every find to Z; F3 finds are always lifted")
    chunk: Optional[int] = option(None, minimum=1, help="most steps per walk between two looks from Python "
                                  "(default max(4096, 2**21 / walks))")
    attempts: int = option(64, minimum=1, cli=False, help="random picks tried per move before giving up on it")

    def accepts(self, scheme: Scheme) -> Optional[str]:
        if self.field == "Z":
            return coefficient_domain_check(scheme, coefficient_values("ternary"), ("Z",))
        if self.field == "F3":
            return None if scheme.field in ("Z", "Q") else f"field {scheme.field} is not Z or Q (lifted from F3)"
        if scheme.field == "F2" or (self.lift and scheme.field in ("Z", "Q")):
            return None
        return f"field {scheme.field} is not the requested F2"


def _options(options: Optional[FlipOptions], kw: dict) -> FlipOptions:
    if options is None:
        return FlipOptions.from_mapping(kw)
    if not isinstance(options, FlipOptions):
        raise InvalidInputError(f"options must be FlipOptions, got {type(options).__name__}")
    if kw:
        merged = {spec.name: getattr(options, spec.name) for spec in options.specs()}
        merged.update(kw)
        return FlipOptions.from_mapping(merged)
    return options


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


def walk(problem: Problem, rank: int, options: Optional[FlipOptions] = None, *, seed: Any = 0,
         time_limit: Optional[float] = None, callback: Optional[ProgressCallback] = None,
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
        Options of :class:`FlipOptions` by name (they override ``options``).

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
        ``steps``, ``kernel_seconds``, ``cpu_seconds``, ``walk_best``, ...
        (:func:`run` yields them as the engine's :class:`Tally` statistics).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> gen = walk(matmul(2, 2, 2), 7, field="Z", walks=2, threads=1, max_steps=20000)
    >>> scheme, info = next(gen)
    >>> scheme.rank, scheme.field, info["walk"] in (0, 1)
    (7, 'Z', True)
    """
    rank = check_problem_rank(problem, rank)
    opts = _options(options, kw)
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
                 options=opts.to_dict(),
                 found=0, yielded=0, rejected=0, unlifted=0, lifted=0, first_exact_seconds=None)
    best_rank = int(stats["start_rank"])
    max_steps = opts.max_steps if opts.max_steps is not None or time_limit is not None else 10**6
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
        info = {"walk": w, "rank": len(sg), "walk_field": opts.field, "start": prov["start"],
                "flips": prov["flips"], "walk_flips": prov["walk_flips"], "seconds": prov["seconds"],
                "step": int(state.ctr[w, K.C_STEPS]), "walks": n, "threads": threads, "best_rank": best_rank}
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
        total = max_steps * n if max_steps else None
        walks_best = _stats_line(state.ctr[:, K.C_BEST])
        callback(ProgressEvent("flip", steps_done * n, total, found, float(best_rank),
                               message or f"best rank {best_rank}; walks {walks_best}; {rate / 1e6:.2f} Mflips/s"))

    chunks = _chunks(min(1024, largest), largest)
    size = 0  # the first call only loads (and reduces) the starts
    stop = False
    while not stop:
        if size:
            if max_steps is not None and steps_done >= max_steps:
                break
            if time_limit is not None and elapsed() >= time_limit:
                break
            size = min(size, max_steps - steps_done) if max_steps is not None else size
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
                if found >= opts.stop_after:
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


# ------------------------------------------------------------------- run
def run(problem: Problem, rank: int, options: FlipOptions, *, seed: int = 0, time_limit: Optional[float] = None,
        callback: Optional[ProgressCallback] = None) -> Iterator:
    """The engine contract: :func:`walk` as :class:`Candidate` and :class:`Tally` items.

    Without a time limit or ``max_steps`` the walks stop after 10**6 steps.

    Examples
    --------
    >>> from discovery.search import search
    >>> from discovery.core.problems import matmul
    >>> res = search(matmul(2, 2, 2), 7, engine="flip", field="Z", walks=2, threads=1, max_steps=20000)
    >>> res.status, res.schemes[0].meta["provenance"]["field"], res.stats["best_rank"]
    ('found', 'Z', 7)
    """
    gen = walk(problem, rank, options, seed=seed, time_limit=time_limit, callback=callback)
    try:
        while True:
            try:
                scheme, info = next(gen)
            except StopIteration as stop:
                stats = stop.value
                break
            yield Tally(info["walks"], float(info["best_rank"]), {"best_rank": info["best_rank"], "flips": info["flips"]})
            seconds = info["seconds"]
            prov = {k: v for k, v in info.items() if k not in ("seconds", "best_rank", "rank")}
            prov["field"] = prov.pop("walk_field")
            prov["scheme_field"] = scheme.field
            yield Candidate(scheme, seconds, prov)
    finally:
        gen.close()
    yield Tally(stats["walks"], float(stats["best_rank"]), stats)


ENGINE = Engine(
    name="flip",
    summary="flip-graph random walks (Kauers-Moosbauer) in a compiled kernel on all cores, over F2, Z "
            "(coefficients in {-1, 0, 1}) or F3 (Hensel-lifted), with plus transitions, pools and meta starts",
    options=FlipOptions,
    run=run,
)
