"""Equivalence classes of the catalog: a derived index, never kept by hand.

:func:`class_index` reads every scheme of a catalog folder, buckets them by
:func:`discovery.algebra.equivalence.invariant_key` and decides equivalence
within each bucket (:func:`discovery.algebra.equivalence.equivalent`).  The
schemes are taken in the order they entered the catalog (provenance date,
then path): the first of each class is ``new``, each later one is marked
``equivalent`` to it -- or ``undecided`` when it shares the invariants of an
earlier class but the search gave up (it then counts as a class of its own).

The invariant keys and the decisions are cached in ``<root>/.classes.json``
(atomically rewritten, safe to delete: it is rebuilt from the files).  The
cache is keyed by each file's path and size; catalog files are never
rewritten in place, so a path names one scheme for good.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from discovery.algebra.equivalence import equivalent, invariant_key
from discovery.core.errors import SchemeFormatError
from discovery.core.scheme import Scheme
from discovery.io.catalog import default_root, iter_files
from discovery.io.formats import atomic_write_bytes, load_json

__all__ = ["ClassEntry", "class_index", "count_classes", "CACHE_NAME", "scheme_key"]

#: The cache file in the catalog root (hidden: the catalog skips dot files).
CACHE_NAME = ".classes.json"
_VERSION = 1


@dataclass(frozen=True)
class ClassEntry:
    """One scheme of the class index.

    Attributes
    ----------
    path : Path
    problem, field : str
    rank : int
    key : str
        Invariant key (equal for equivalent schemes).
    cls : int
        Class number, from 0, in catalog order.
    status : {"new", "equivalent", "undecided"}
    representative : Path
        The first scheme of the class (itself when ``new``).
    engine : str
        Where the scheme came from (``import`` for community files).
    date : str
    """

    path: Path
    problem: str
    field: str
    rank: int
    key: str
    cls: int
    status: str
    representative: Path
    engine: str
    date: str


def scheme_key(scheme: Scheme) -> str:
    """The invariant key of a scheme (see :func:`discovery.algebra.equivalence.invariant_key`)."""
    return invariant_key(scheme)


def _load_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"version": _VERSION, "files": {}, "decisions": {}}
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return {"version": _VERSION, "files": {}, "decisions": {}}
    data.setdefault("files", {})
    data.setdefault("decisions", {})
    return data


def _provenance(s: Scheme) -> tuple[str, str]:
    prov = s.meta.get("provenance") if isinstance(s.meta.get("provenance"), dict) else {}
    return str(prov.get("engine", s.meta.get("engine", "?"))), str(prov.get("date", ""))


def class_index(root: str | os.PathLike | None = None, *, decide: bool = True, cache: bool = True,
                max_matchings: int = 500, time_limit: Optional[float] = 10.0,
                progress: Optional[Callable[[int, int], None]] = None) -> list[ClassEntry]:
    """The catalog's equivalence classes, derived from its files.

    Parameters
    ----------
    root : path-like, optional
        Catalog folder (default: :func:`discovery.io.catalog.default_root`).
    decide : bool
        Decide equivalence within buckets of equal invariants (False: one
        class per bucket, i.e. classes "by invariants").
    cache : bool
        Read and update ``<root>/.classes.json``.
    progress : callable, optional
        ``progress(done, total)`` while files are read.

    Returns
    -------
    list of ClassEntry
        In catalog order (date, then path).  Unreadable files are skipped.

    Examples
    --------
    >>> class_index("no-such-catalog")
    []
    """
    root = Path(root) if root is not None else default_root()
    cache_path = root / CACHE_NAME
    data = _load_cache(cache_path) if cache else {"version": _VERSION, "files": {}, "decisions": {}}
    files = list(iter_files(root))
    rows = []
    loaded: dict[str, Scheme] = {}
    dirty = False
    for i, path in enumerate(files):
        rel = path.relative_to(root).as_posix()
        try:
            size = path.stat().st_size
        except OSError:
            continue
        entry = data["files"].get(rel)
        if not entry or entry.get("size") != size:
            try:
                s = load_json(path)
            except SchemeFormatError:
                continue
            loaded[rel] = s
            engine, date = _provenance(s)
            entry = {"size": size, "key": scheme_key(s), "problem": s.problem.spec, "field": s.field,
                     "rank": s.rank, "engine": engine, "date": date}
            data["files"][rel] = entry
            dirty = True
        rows.append((entry.get("date", ""), rel, entry))
        if progress is not None:
            progress(i + 1, len(files))
    present = {rel for _, rel, _ in rows}
    stale = [rel for rel in data["files"] if rel not in present]
    for rel in stale:
        del data["files"][rel]
        dirty = True
    rows.sort(key=lambda r: (r[0], r[1]))

    def scheme(rel: str) -> Scheme:
        if rel not in loaded:
            loaded[rel] = load_json(root / rel)
        return loaded[rel]

    reps: dict[tuple, list[tuple[int, str]]] = {}
    out: list[ClassEntry] = []
    ncls = 0
    for date, rel, e in rows:
        bucket = (e["field"], e["key"])
        found = None
        undecided = False
        for cls, rep in reps.get(bucket, []):
            if not decide:
                found = (cls, rep)
                break
            pair = f"{rep}|{rel}"
            verdict = data["decisions"].get(pair)
            if verdict is None:
                verdict = equivalent(scheme(rep), scheme(rel), max_matchings=max_matchings,
                                     time_limit=time_limit).status
                data["decisions"][pair] = verdict
                dirty = True
            if verdict == "equivalent":
                found = (cls, rep)
                break
            undecided |= verdict == "undecided"
        if found is not None:
            out.append(ClassEntry(root / rel, e["problem"], e["field"], e["rank"], e["key"], found[0],
                                  "equivalent", root / found[1], e["engine"], date))
            continue
        reps.setdefault(bucket, []).append((ncls, rel))
        out.append(ClassEntry(root / rel, e["problem"], e["field"], e["rank"], e["key"], ncls,
                              "undecided" if undecided else "new", root / rel, e["engine"], date))
        ncls += 1
    if cache and dirty and root.is_dir():
        try:
            atomic_write_bytes(cache_path, json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass  # a read-only catalog still gets its index, only not cached
    return out


def count_classes(entries: Iterable[ClassEntry]) -> int:
    """Number of distinct classes among ``entries``.

    Examples
    --------
    >>> count_classes([])
    0
    """
    return len({e.cls for e in entries})
