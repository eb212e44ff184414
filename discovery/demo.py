"""``make demo``: verify Strassen's algorithm symbolically and print it.

(The search issue turns this into a rediscovery from random starts.)
"""

from __future__ import annotations

import sys

from discovery import catalog
from discovery.formulas import format_scheme
from discovery.known import strassen


def main() -> int:
    from verify import verify_exact, verify_symbolic

    scheme = strassen()
    exact = verify_exact(scheme)
    symbolic = verify_symbolic(scheme)
    path = catalog.save(scheme)
    sys.stdout.write(
        f"Strassen 2x2x2 rank 7: exact={exact.ok} symbolic={symbolic.ok}\nsaved: {path}\n\n"
        f"{format_scheme(scheme)}\n"
    )
    return 0 if exact.ok and symbolic.ok else 1


if __name__ == "__main__":
    sys.exit(main())
