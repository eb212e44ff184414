"""Time the three verification levels on schemes of growing size.

Usage: python benchmarks/verification.py
Prints one table; all figures from this run on this machine.
"""

from __future__ import annotations

import time

import numpy as np

from discovery.algebra.literature import strassen
from discovery.algebra.ops import kron, standard_scheme
from discovery.core.problems import correlation2d, matmul
from verify import verify_exact, verify_numeric, verify_symbolic


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def rank98_5x5x5():
    # 5x5x5 with 98 terms (the size of the best known 5x5x5 schemes); correctness is irrelevant for timing
    s = standard_scheme(matmul(5, 5, 5))
    rng = np.random.default_rng(0)
    idx = rng.choice(125, 98, replace=False)
    u = s.U[idx].copy()
    u[rng.integers(0, 98, 50), rng.integers(0, 25, 50)] = 1
    return s.replace(U=u, V=s.V[idx], W=s.W[idx])


def main() -> None:
    cases = [
        ("2x2x2 rank 7 (Strassen)", strassen()),
        ("4x4x4 rank 49 (Strassen^2)", kron(strassen(), strassen())),
        ("5x5x5 rank 98", rank98_5x5x5()),
        ("5x5x5 rank 125 (standard)", standard_scheme(matmul(5, 5, 5))),
        ("F(6x6,3x3) rank 324 (standard)", standard_scheme(correlation2d((6, 6), (3, 3)))),
    ]
    print(f"{'scheme':34} {'exact ms':>9} {'symbolic ms':>12} {'numeric ms':>11}")
    for name, s in cases:
        e = best_of(lambda: verify_exact(s)) * 1e3
        y = best_of(lambda: verify_symbolic(s), 1) * 1e3
        n = best_of(lambda: verify_numeric(s)) * 1e3
        print(f"{name:34} {e:9.2f} {y:12.1f} {n:11.2f}")


if __name__ == "__main__":
    main()
