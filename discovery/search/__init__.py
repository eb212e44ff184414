"""One front door for every search engine: :func:`search`.

``search(problem, rank, engine="spn", **options)`` runs an engine of
:data:`ENGINES` (the registry of :mod:`discovery.engines.registry` plus the
``auto`` pipeline) and post-processes everything it yields, the same way for
every engine:

1. refuses an option the engine does not declare (one error naming the
   engine and its options) and validates the values;
2. verifies every candidate exactly (:func:`verify.verify_exact`) and, once it
   is known to be new, symbolically (:func:`verify.verify_symbolic`);
3. checks that it lies in the requested field and coefficient set
   (:meth:`~discovery.engines.base.EngineOptions.accepts`);
4. deduplicates by canonical form (:meth:`~discovery.core.scheme.Scheme.fingerprint`);
5. attaches provenance: engine, options, seed, seconds, package version, date
   and what the engine said about the candidate;
6. saves it to the catalog when asked (``save=True``), the moment it is found.

Candidates that fail a check are counted in :attr:`SearchResult.rejected`
(a failed verification would be a bug in an engine) and never returned.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Mapping, Optional

from discovery.core import limits
from discovery.core.checks import check_problem_rank, positive_int
from discovery.core.errors import InvalidInputError
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback
from discovery.core.seeds import as_seed
from discovery.core.version import __version__
from discovery.engines.base import (
    Candidate,
    Engine,
    EngineOptions,
    Infeasible,
    NearMiss,
    SearchResult,
    Tally,
)
from discovery.engines import registry as _registry
from discovery.engines.registry import ENGINES as _ENGINES
from discovery.io import catalog
from discovery.search import auto
from verify import verify_exact, verify_symbolic

__all__ = ["ENGINES", "get_engine", "search", "SearchResult", "NearMiss"]

#: Every engine by name: the registry's, then ``auto``.
ENGINES: dict[str, Engine] = {**_ENGINES, "auto": auto.ENGINE}

def get_engine(name: str) -> Engine:
    """The engine called ``name``.

    Raises
    ------
    InvalidInputError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> get_engine("flip").name
    'flip'
    """
    return _registry.lookup(ENGINES, name)


def search(
    problem: Problem,
    rank: int,
    engine: str = "spn",
    *,
    options: Optional[EngineOptions | Mapping[str, Any]] = None,
    seed: Any = 0,
    time_limit: Optional[float] = None,
    callback: Optional[ProgressCallback] = None,
    max_schemes: Optional[int] = None,
    max_near_misses: int = 20,
    save: bool = False,
    root: Any = None,
    symbolic: bool = True,
    **option_values: Any,
) -> SearchResult:
    """Search exact schemes of ``problem`` with ``rank`` multiplications.

    Parameters
    ----------
    problem : Problem
    rank : int
        Number of multiplications (>= 1).
    engine : str
        A key of :data:`ENGINES` (``bilinear engines`` lists them).
    options : EngineOptions or mapping, optional
        The engine's options; keyword arguments (``**option_values``) are
        merged into them.  Unknown names are refused.
    seed : int
        Same seed, same result (on the same machine).
    time_limit : float, optional
        Wall-clock budget in seconds.
    callback : callable, optional
        Receives :class:`~discovery.core.progress.ProgressEvent` objects.
    max_schemes : int, optional
        Stop the engine once this many distinct schemes are in hand (default:
        the engine's own, e.g. 1 for ``cpsat``, ``lm`` and ``auto``; all it
        finds for ``spn``).
    max_near_misses : int
        Near misses kept (the fewest wrong entries first).
    save : bool
        Save every accepted scheme to the catalog as soon as it is found.
    root : path, optional
        Catalog root for ``save`` (default ``results/``).
    symbolic : bool
        Verify every new scheme symbolically too (on by default).

    Returns
    -------
    SearchResult

    Raises
    ------
    InvalidInputError
        Bad problem, rank, engine, option or time limit; a problem or rank
        above the resource limits of :mod:`discovery.core.limits`
        (``ResourceLimitError``, naming the limit and how to raise it).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> res = search(matmul(2, 2, 2), 7, engine="cpsat", time_limit=30)
    >>> res.status, res.schemes[0].meta["provenance"]["engine"]
    ('found', 'cpsat')
    >>> search(matmul(2, 2, 2), 7, engine="cpsat", loss="tensor")
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: engine 'cpsat' has no option 'loss'; its options are: coefficients, strategy, workers, symmetry_breaking, hint
    """
    rank = check_problem_rank(problem, rank)
    limits.check_problem(problem)
    limits.check_scheme_size(rank, problem.shape, "search")
    if rank > 2 * problem.naive_rank + 16:
        raise InvalidInputError(
            f"rank {rank} is far above the {problem.naive_rank} multiplications of the standard algorithm "
            f"for {problem.spec}: there is nothing to search (at most {2 * problem.naive_rank + 16})")
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float))
                                   or not time_limit > 0):
        raise InvalidInputError(f"time limit must be a positive number of seconds, got {time_limit!r}")
    max_schemes = positive_int(max_schemes, "max_schemes", allow_none=True)
    eng = get_engine(engine)
    opts = _options(eng, options, option_values)
    seed_int = as_seed(seed)
    limit = max_schemes if max_schemes is not None else eng.max_schemes
    result = SearchResult(problem=problem, rank=rank, engine=eng.name, options=opts.to_dict())
    seen: set[str] = set()
    near: dict[str, NearMiss] = {}
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    version = __version__
    t0 = time.perf_counter()
    items = eng.run(problem, rank, opts, seed=seed_int, time_limit=time_limit, callback=callback)
    try:
        for item in items:
            if isinstance(item, Tally):
                result.restarts = int(item.restarts)
                result.best_loss = item.best
                result.stats.update(item.stats)
            elif isinstance(item, Infeasible):
                result.status, result.proof = "infeasible", item.proof
            elif isinstance(item, NearMiss):
                key = item.scheme.fingerprint()
                if key not in near and item.scheme.problem == problem:
                    near[key] = item
            elif isinstance(item, Candidate):
                accepted = _accept(item, problem, rank, opts, seen, result, symbolic)
                if accepted is None:
                    continue
                prov = {"engine": eng.name, "seed": seed_int, "seconds": round(float(item.seconds), 3),
                        "version": version, "date": date, "options": result.options, **item.info}
                scheme = accepted.with_meta(provenance=prov)
                result.schemes.append(scheme)
                if result.first_exact_seconds is None:
                    result.first_exact_seconds = float(item.seconds)
                if save:
                    result.saved.append(str(catalog.save(scheme, root=root, symbolic=symbolic)))
                if limit is not None and len(result.schemes) >= limit:
                    break
            else:  # pragma: no cover - an engine bug
                raise TypeError(f"engine {eng.name!r} yielded {type(item).__name__}, not a contract item")
    finally:
        items.close()
    result.near_misses = sorted(near.values(), key=lambda n: (n.wrong, n.scheme.fingerprint()))[:max_near_misses]
    if result.schemes:
        result.status = "found"
    elif result.status != "infeasible":
        result.status = "not_found"
    result.wall_seconds = time.perf_counter() - t0
    return result


def _options(eng: Engine, options: Any, values: Mapping[str, Any]) -> EngineOptions:
    if isinstance(options, EngineOptions):
        if not isinstance(options, eng.options):
            raise InvalidInputError(f"options of type {type(options).__name__} are not {eng.name!r}'s "
                                    f"({eng.options.__name__})")
        if values:
            merged = {s.name: getattr(options, s.name) for s in options.specs()}
            merged.update(values)
            return eng.options.from_mapping(merged)
        return options
    merged = dict(options or {})
    merged.update(values)
    return eng.options.from_mapping(merged)


def _accept(item: Candidate, problem: Problem, rank: int, opts: EngineOptions, seen: set, result: SearchResult,
            symbolic: bool):
    """The candidate's scheme if it passes every check, else None (counted)."""
    scheme = item.scheme

    def reject(reason: str) -> None:
        result.rejected[reason] = result.rejected.get(reason, 0) + 1

    if scheme.problem != problem:
        reject("another problem")
        return None
    if scheme.rank > rank:
        reject("rank above the target")
        return None
    if not verify_exact(scheme).ok:
        reject("not exact")
        return None
    result.exact += 1
    why = opts.accepts(scheme)
    if why is not None:
        reject("outside the requested domain")
        return None
    key = scheme.fingerprint()
    if key in seen:
        return None
    if symbolic and not verify_symbolic(scheme).ok:
        reject("symbolic check failed")
        return None
    seen.add(key)
    return scheme.with_meta(verified={"exact": scheme.field != "F2", "mod2": scheme.field == "F2",
                                      "symbolic": bool(symbolic)})
