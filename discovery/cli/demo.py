"""``make demo``: rediscover Strassen's algorithm from random starts.

The StrassenNets experiment (slide 27 of the talk): learn ternary U, V, W of
a 7-product sum-product network that multiplies 2 x 2 matrices.  The
gradient engine runs a few random restarts in one batch, rounds them,
checks them exactly and symbolically; the first exact scheme is saved to the
catalog and printed as formulas.
"""

from __future__ import annotations

import sys

from discovery.io import catalog
from discovery.codegen.formulas import format_scheme
from discovery.core.problems import matmul
from discovery.search import search
from verify import verify_exact, verify_symbolic


def main(seed: int = 0) -> int:
    problem = matmul(2, 2, 2)
    result = search(problem, 7, engine="spn", seed=seed, restarts=16, batch=16, time_limit=40,
                    loss="tensor", quantizer="anneal", coefficients="ternary")
    out = sys.stdout
    out.write(f"2x2 matrix product with 7 multiplications, learned from {result.restarts} random starts "
              f"(seed {seed}) in {result.wall_seconds:.1f} s: {result.exact} restarts exact, "
              f"{len(result.schemes)} distinct schemes\n")
    if not result.schemes:
        out.write("no exact scheme this time; try another seed\n")
        return 1
    scheme = result.schemes[0]
    exact = verify_exact(scheme)
    symbolic = verify_symbolic(scheme)
    path = catalog.save(scheme)
    prov = scheme.meta["provenance"]
    out.write(f"first exact after {result.first_exact_seconds:.2f} s (restart {prov['restart']}): "
              f"exact={exact.ok} symbolic={symbolic.ok}, {scheme.additions} additions\n"
              f"saved: {path}\n\n{format_scheme(scheme)}\n")
    return 0 if exact.ok and symbolic.ok else 1


if __name__ == "__main__":
    sys.exit(main())
