"""The catalog of verified schemes in ``results/``.

One ``bilinear-scheme/1`` JSON file per scheme, in a folder per problem::

    results/matmul-2x2x2/Z-rank7-3f2a9c01d4e5.json

The name ends with the first 12 hex digits of the scheme's fingerprint (a
hash of problem, field and factors), so two different schemes never share a
name and saving the same scheme twice keeps the first file.  Writes go
through a temporary file and a hard link, so a crash never leaves a partial
file and an existing file is never replaced.  The index is derived from the
files on every call, never kept by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from discovery.core.errors import NotExactError, SchemeFormatError
from discovery.io.formats import load_json, save_json
from discovery.core.problems import Problem
from discovery.core.scheme import Scheme
from verify import verify_all

__all__ = ["default_root", "scheme_path", "save", "iter_files", "load_all", "index", "find", "CatalogEntry"]


def default_root() -> Path:
    """``$BILINEAR_RESULTS`` if set, else the repository's ``results/``."""
    env = os.environ.get("BILINEAR_RESULTS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1] / "results"
    return repo if repo.is_dir() else Path("results")


def scheme_path(scheme: Scheme, root: str | os.PathLike | None = None) -> Path:
    """Where :func:`save` puts ``scheme``."""
    root = Path(root) if root is not None else default_root()
    name = f"{scheme.field}-rank{scheme.rank}-{scheme.fingerprint()[:12]}.json"
    return root / scheme.problem.slug / name


def save(scheme: Scheme, root: str | os.PathLike | None = None, symbolic: bool = True) -> Path:
    """Verify ``scheme`` and store it in the catalog; return its path.

    Nothing unverified enters the catalog: the scheme is checked exactly
    (and symbolically unless ``symbolic=False``) first.  Saving a scheme
    that is already there returns the existing path and keeps that file.

    Raises
    ------
    NotExactError
        If the scheme fails verification; nothing is written.
    """
    result = verify_all(scheme, symbolic=symbolic)
    if not result.ok:
        raise NotExactError(f"not saved: {result.reason}")
    path = scheme_path(scheme, root)
    if path.exists():
        return path
    verified = dict(scheme.meta.get("verified", {}) or {})
    verified.update({"exact": True, "symbolic": bool(symbolic)} if scheme.field != "F2" else {"mod2": True, "symbolic": bool(symbolic)})
    try:
        save_json(scheme.with_meta(verified=verified), path, exclusive=True)
    except FileExistsError:  # saved concurrently by someone else: same content
        pass
    return path


def iter_files(root: str | os.PathLike | None = None) -> Iterator[Path]:
    """Every ``*.json`` scheme file under ``root``, sorted."""
    root = Path(root) if root is not None else default_root()
    if not root.exists():
        return iter(())
    return iter(sorted(p for p in root.rglob("*.json") if not p.name.startswith(".")))


def load_all(root: str | os.PathLike | None = None) -> list[tuple[Path, Scheme]]:
    """Load every scheme file under ``root`` (raises on the first bad file)."""
    return [(p, load_json(p)) for p in iter_files(root)]


@dataclass(frozen=True)
class CatalogEntry:
    """One row of the derived index."""

    path: Path
    problem: str
    kind: str
    field: str
    rank: int
    multiplications: int
    additions: int
    engine: str
    error: str = ""


def index(root: str | os.PathLike | None = None) -> list[CatalogEntry]:
    """The catalog's index, derived from its files.

    A file that cannot be read gives an entry with ``error`` set instead of
    stopping the listing.  Sorted by problem kind, spec and rank.
    """
    rows = []
    for path in iter_files(root):
        try:
            s = load_json(path)
        except SchemeFormatError as exc:
            rows.append(CatalogEntry(path, "?", "?", "?", 0, 0, 0, "?", str(exc)))
            continue
        prov = s.meta.get("provenance") if isinstance(s.meta.get("provenance"), dict) else {}
        engine = str(prov.get("engine", s.meta.get("engine", "?")))
        rows.append(
            CatalogEntry(path, s.problem.spec, s.problem.kind, s.field, s.rank, s.multiplications, s.additions, engine)
        )
    rows.sort(key=lambda e: (e.kind, e.problem, e.rank, e.additions, str(e.path)))
    return rows


def find(problem: Problem, root: str | os.PathLike | None = None, field: str | None = None,
         max_rank: int | None = None) -> list[Scheme]:
    """Catalog schemes for ``problem``, best first (lowest rank, then additions).

    Examples
    --------
    >>> from discovery.core.problems import matmul
    >>> best = find(matmul(2, 2, 2))[0]
    >>> best.rank
    7
    """
    root = Path(root) if root is not None else default_root()
    folder = root / problem.slug
    out = []
    for path in iter_files(folder) if folder.exists() else []:
        s = load_json(path)
        if s.problem != problem or (field and s.field != field) or (max_rank and s.rank > max_rank):
            continue
        out.append(s)
    out.sort(key=lambda s: (s.rank, s.additions, s.fingerprint()))
    return out
