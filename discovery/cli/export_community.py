"""Writers of the community's formats for ``bilinear export`` (see :mod:`discovery.io.community`)."""

from __future__ import annotations

import sys

from discovery.io import community

__all__ = ["WRITERS"]


def _writer(fmt: str):
    def write(scheme, args) -> None:
        if args.out:
            community.write(scheme, args.out, fmt)
        else:
            sys.stdout.write(community.dumps(scheme, fmt))

    write.__doc__ = f"Write a scheme in the {fmt} format to --out or stdout."
    return write


#: Format name -> writer(scheme, args), merged into ``bilinear export``'s formats.
WRITERS = {fmt: _writer(fmt) for fmt in ("perminov", "perminov-txt", "exp", "maple")}
