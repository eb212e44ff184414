"""``bilinear import FILE|DIR``: community files, one or thousands, each verified first.

Every file is read by :func:`discovery.io.community.read` (which verifies
each scheme exactly, trying the orientations a format leaves open) and
saved by :func:`discovery.io.catalog.save` (exactly, and symbolically with ``--symbolic``, then
an atomic write).  A file that fails is named with its reason and skipped;
the others are imported.  A folder shows a progress bar.

Exit status: 0 when every file imported, 1 when some were refused (a
scheme that does not verify; in a folder, also a file that cannot be read),
2 on bad input (no such path, an unknown format, one unreadable file).
"""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from discovery.cli.common import err, out
from discovery.core.errors import InvalidInputError, NotExactError, SchemeFormatError
from discovery.io import catalog, community

__all__ = ["run_import"]


def run_import(args) -> int:
    src = Path(args.file)
    if not src.exists():
        raise InvalidInputError(f"{src}: no such file or folder")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: not a directory")
    files = list(community.iter_scheme_files(src))
    if src.is_dir() and args.format != "auto":  # an explicit format: only the files with its extensions
        files = [f for f in files if args.format in community.EXTENSIONS.get(f.suffix.lower(), ())]
    if src.is_dir() and not files:
        raise InvalidInputError(f"{src}: holds no scheme files ({', '.join(sorted(community.EXTENSIONS))})")
    symbolic = args.symbolic
    refused = saved = existing = 0
    orientations: dict[str, int] = {}
    bar = Progress(TextColumn("[bold]import"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                   TimeElapsedColumn(), console=err, disable=not (src.is_dir() and err.is_terminal))
    with bar:
        task = bar.add_task("import", total=len(files), note="")
        for path in files:
            try:
                items = community.read(path, args.format, field=args.field)
                for item in items:
                    target = catalog.scheme_path(item.scheme, args.out)
                    known = target.exists()
                    if known:
                        existing += 1
                    else:
                        catalog.save(item.scheme, args.out, symbolic=symbolic)
                        saved += 1
                    orientations[item.orientation or "-"] = orientations.get(item.orientation or "-", 0) + 1
                    if not src.is_dir():
                        s = item.scheme
                        out.print(f"{'already there' if known else 'saved'} {s.problem.spec} rank {s.rank} over {s.field} "
                                  f"(third factor read as {item.orientation or 'C'}): {target}", markup=False)
            except (SchemeFormatError, NotExactError) as exc:
                if not src.is_dir() and not isinstance(exc, (community.UnverifiedSchemeError, NotExactError)):
                    raise  # one unreadable file is bad input (exit 2)
                refused += 1
                bar.console.print(f"REFUSED {path}: {' '.join(str(exc).split())}", markup=False)
            bar.update(task, advance=1, note=f"{saved} new, {existing} known, {refused} refused")
    if src.is_dir():
        how = ", ".join(f"{n} read as {o}" for o, n in sorted(orientations.items()))
        out.print(f"{len(files)} files: {saved} schemes imported, {existing} already in {args.out}, "
                  f"{refused} refused" + (f" ({how})" if how else ""), markup=False)
    return 1 if refused else 0
