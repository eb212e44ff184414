"""Code-generator formats of ``bilinear export``: ``--format python`` and ``--format c``.

The code goes to ``--out PATH`` (written atomically) or stdout; the counts
(multiplications, additions naive and after common-subexpression
elimination) go to stderr, so piping the code stays clean.  A scheme saved
by ``bilinear optimize`` carries its straight-line program, which is what is
emitted (checked exactly against the factors first), and its count is the
one reported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from discovery.cli.common import err
from discovery.core.errors import InvalidInputError
from discovery.codegen.generate import generate, plan
from discovery.io.formats import atomic_write_bytes


def _write(scheme, args, language: str) -> None:
    ctype = "int" if scheme.field == "F2" else "double"
    if args.out and Path(args.out).is_dir():
        raise InvalidInputError(f"--out {args.out}: is a directory; give a file name")
    code_plan = plan(scheme)
    source = generate(scheme, language, ctype=ctype, code_plan=code_plan)
    if args.out:
        atomic_write_bytes(args.out, source.encode())
    else:
        sys.stdout.write(source)
    err.print(f"{language}: {code_plan.summary()}", markup=False)


def write_python(scheme, args) -> None:
    """``--format python``: a straight-line ``def f(x, y) -> list``."""
    _write(scheme, args, "python")


def write_c(scheme, args) -> None:
    """``--format c``: ``void f(const double *x, const double *y, double *z)``."""
    _write(scheme, args, "c")
