"""The catalog of verified schemes in ``results/``.

One ``bilinear-scheme/1`` JSON file per scheme, in a folder per problem::

    results/matmul-2x2x2/Z-rank7-3f2a9c01d4e5.json

The name ends with the first 12 hex digits of the scheme's fingerprint (a
hash of problem, field and factors), so two different schemes never share a
name and saving the same scheme twice keeps the first file.  Writes go
through a temporary file and a hard link, so a crash never leaves a partial
file and an existing file is never replaced; temporary files of writers that
were killed are ignored when reading and removed by the next save into the
same folder.  :func:`save` returns a path only when that file holds the
scheme: a folder that is a file, a symbolic link or any other file in the
way is an error (:class:`~discovery.core.errors.CatalogError`), never a
silent no-op.  The index is derived from the files on every call, never kept
by hand; reading skips anything that is not a regular file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from discovery.core.errors import CatalogError, InvalidInputError, NotExactError, SchemeFormatError
from discovery.io.formats import clean_stale_temp_files, load_json, save_json
from discovery.core.problems import Problem
from discovery.core.scheme import Scheme
from verify import verify_all

__all__ = ["default_root", "scheme_path", "save", "iter_files", "load_all", "index", "find", "CatalogEntry"]


def default_root() -> Path:
    """``$BILINEAR_RESULTS`` if set, else the repository's ``results/``."""
    env = os.environ.get("BILINEAR_RESULTS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2] / "results"
    return repo if repo.is_dir() else Path("results")


def scheme_path(scheme: Scheme, root: str | os.PathLike | None = None) -> Path:
    """Where :func:`save` puts ``scheme``."""
    root = Path(root) if root is not None else default_root()
    name = f"{scheme.field}-rank{scheme.rank}-{scheme.fingerprint()[:12]}.json"
    return root / scheme.problem.slug / name


def _make_folder(folder: Path) -> None:
    for part in reversed([folder, *folder.parents]):
        if os.path.islink(part) and not part.exists():
            raise CatalogError(f"{part}: a dangling symbolic link; cannot save into it")
        if part.exists() and not part.is_dir():
            raise CatalogError(f"{part}: exists and is not a folder; cannot save into it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise CatalogError(f"{folder}: cannot be made a folder (a file is in the way)") from None


def _holds(path: Path, scheme: Scheme) -> Optional[bool]:
    """True: ``path`` holds ``scheme`` (up to term order and scalings: the same canonical
    form, hence the same name); False: a valid other scheme; None: nothing readable."""
    try:
        held = load_json(path)
    except SchemeFormatError:
        return None
    return held.problem == scheme.problem and held.field == scheme.field and held.fingerprint() == scheme.fingerprint()


def _existing(path: Path, scheme: Scheme) -> str:
    """What is at ``path``: "absent", "same" (the scheme is there) or "garbage" (replaceable)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    if stat.S_ISLNK(st.st_mode):
        if not path.exists():
            raise CatalogError(f"{path}: a dangling symbolic link is in the way; not saved")
        if path.is_file() and _holds(path, scheme):
            return "same"
        raise CatalogError(f"{path}: a symbolic link to something else is in the way; not saved")
    if not stat.S_ISREG(st.st_mode):
        raise CatalogError(f"{path}: something that is not a regular file is in the way; not saved")
    held = _holds(path, scheme)
    if held:
        return "same"
    if held is False:
        raise CatalogError(f"{path}: holds a different scheme under this scheme's name; not saved (move it away)")
    return "garbage"


def save(scheme: Scheme, root: str | os.PathLike | None = None, symbolic: bool = True) -> Path:
    """Verify ``scheme`` and store it in the catalog; return its path.

    Nothing unverified enters the catalog: the scheme is checked exactly
    (and symbolically unless ``symbolic=False``) first.  Saving a scheme
    that is already there returns the existing path and keeps that file.
    An unreadable file at the scheme's name (a torn write of an old tool,
    garbage) is replaced; anything else in the way is an error.

    Raises
    ------
    NotExactError
        If the scheme fails verification; nothing is written.
    CatalogError
        If the folder cannot be made or something else sits at the name.
    """
    result = verify_all(scheme, symbolic=symbolic)
    if not result.ok:
        raise NotExactError(f"not saved: {result.reason}")
    path = scheme_path(scheme, root)
    _make_folder(path.parent)
    clean_stale_temp_files(path.parent)
    state = _existing(path, scheme)
    if state == "same":
        return path
    verified = dict(scheme.meta.get("verified", {}) or {})
    verified.update({"exact": True, "symbolic": bool(symbolic)} if scheme.field != "F2" else {"mod2": True, "symbolic": bool(symbolic)})
    stored = scheme.with_meta(verified=verified)
    if state == "garbage":
        save_json(stored, path)  # atomic replace of an unreadable regular file
        return path
    try:
        save_json(stored, path, exclusive=True)
    except FileExistsError:  # saved concurrently: keep that file if it holds the scheme
        if _existing(path, scheme) != "same":
            raise CatalogError(f"{path}: appeared while saving and does not hold this scheme; not saved") from None
    return path


def iter_files(root: str | os.PathLike | None = None, skipped: Optional[list] = None) -> Iterator[Path]:
    """Every ``*.json`` scheme file under ``root``, sorted.

    Hidden files (names starting with ``.``: temporary files) are ignored.
    Anything that is not a regular file -- a FIFO, a device, a dangling
    link -- and any folder that cannot be read is left out and, when
    ``skipped`` is a list, appended to it as ``(path, reason)``.

    Raises
    ------
    CatalogError
        When ``root`` exists but cannot be read.
    """
    root = Path(root) if root is not None else default_root()
    if not root.exists():
        return iter(())
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise CatalogError(f"{root}: cannot read the folder ({exc.strerror or exc})") from None
    found = []

    def onerror(exc: OSError) -> None:
        if skipped is not None:
            skipped.append((Path(exc.filename or root), f"cannot read the folder ({exc.strerror or exc})"))

    for folder, dirs, files in os.walk(root, onerror=onerror):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or not name.endswith(".json"):
                continue
            path = Path(folder) / name
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                if skipped is not None:
                    skipped.append((path, "a dangling symbolic link" if os.path.islink(path)
                                    else f"cannot stat ({exc.strerror or exc})"))
                continue
            if stat.S_ISREG(mode):
                found.append(path)
            elif skipped is not None:
                skipped.append((path, "not a regular file"))
    return iter(sorted(found))


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


def index(root: str | os.PathLike | None = None, skipped: Optional[list] = None) -> list[CatalogEntry]:
    """The catalog's index, derived from its files.

    A file that cannot be read gives an entry with ``error`` set instead of
    stopping the listing; what :func:`iter_files` skips goes to ``skipped``.
    Sorted by problem kind, spec and rank.
    """
    rows = []
    for path in iter_files(root, skipped):
        try:
            s = load_json(path)
        except InvalidInputError as exc:
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

    Unreadable files are passed over (:func:`index` reports them).

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
    for path in iter_files(folder) if folder.is_dir() else []:
        try:
            s = load_json(path)
        except InvalidInputError:
            continue
        if s.problem != problem or (field and s.field != field) or (max_rank and s.rank > max_rank):
            continue
        out.append(s)
    out.sort(key=lambda s: (s.rank, s.additions, s.fingerprint()))
    return out
