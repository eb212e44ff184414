"""``bilinear export FILE --format alphatensor|json|perminov|perminov-txt|exp|maple|python|c [--out PATH]``."""

from __future__ import annotations

import sys

from discovery.cli.common import warn
from discovery.core.errors import InvalidInputError
from discovery.io.formats import dumps, load_scheme, save_alphatensor, save_json

NAME = "export"
HELP = "write a scheme in another format (alphatensor .npz, json)"


def _json(scheme, args) -> None:
    if args.out:
        save_json(scheme, args.out)
    else:
        sys.stdout.write(dumps(scheme))


def _alphatensor(scheme, args) -> None:
    if not args.out:
        raise InvalidInputError("--out PATH.npz is required for --format alphatensor")
    save_alphatensor([scheme], args.out)


#: Format name -> writer(scheme, args).  Other modules register code generators here.
FORMATS = {"json": _json, "alphatensor": _alphatensor}

from discovery.cli.export_code import write_c, write_python  # noqa: E402

FORMATS.update({"python": write_python, "c": write_c})

from discovery.cli.export_community import WRITERS as _COMMUNITY  # noqa: E402

FORMATS.update(_COMMUNITY)


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", required=True, help="one of: " + ", ".join(FORMATS) + " (and code generators)")
    p.add_argument("--out", default=None, metavar="PATH", help="output file (default: stdout where possible)")


def run(args) -> int:
    writer = FORMATS.get(args.format)
    if writer is None:
        raise InvalidInputError(f"unknown format {args.format!r}: expected one of {', '.join(FORMATS)}")
    scheme = load_scheme(args.file)
    from verify import verify_exact

    check = verify_exact(scheme)
    if not check.ok:  # exporting is allowed (e.g. to refine elsewhere), silently shipping wrong code is not
        warn(f"{args.file}: the scheme is NOT exact ({check.reason}); exported anyway")
    writer(scheme, args)
    return 0
