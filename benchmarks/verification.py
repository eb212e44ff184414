"""Verification speed: the three levels, and importing an AlphaTensor-sized file.

AlphaTensor's published files (``factorizations_r.npz``: 93 schemes of formats
up to 12x12x12, ranks up to about a thousand; ``factorizations_f2.npz``: their
mod-2 counterparts) are not here, so this script builds two files of the same
size and shape and times ``bilinear import`` on them:

* one scheme per format ``k x m x n``: every format with 2 <= k, m, n <= 5 and
  the square and rectangular formats up to 12x12x12 listed in :data:`LARGE`;
* each scheme is a Kronecker product of Strassen's 2x2x2 scheme with itself
  and with standard schemes where the sizes allow, else the standard scheme
  (12x12x12: Strassen x Strassen x standard 3x3x3, rank 1323);
* the integer file is written by :func:`discovery.io.formats.save_alphatensor`
  (what ``bilinear export --format alphatensor`` writes), the mod-2 file from
  the same schemes reduced mod 2 (imported with ``--field F2``).

Usage::

    python benchmarks/verification.py                 # both tables
    python benchmarks/verification.py --only import   # the import table
    python benchmarks/verification.py --baseline /path/to/other/checkout --subset 12

``--baseline`` also times the same import with another checkout's code (for a
before/after ratio measured in the same run; ``--subset N`` keeps the N largest
formats so that a slow baseline stays short).  Times are wall-clock seconds of
the whole command (interpreter start included) and the CPU seconds of the
child process, from one run on this machine; other jobs may share the cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from discovery.algebra.literature import strassen  # noqa: E402
from discovery.algebra.ops import kron, standard_scheme, to_field  # noqa: E402
from discovery.core.problems import correlation2d, matmul  # noqa: E402
from discovery.io.formats import save_alphatensor  # noqa: E402
from verify import verify_exact, verify_numeric, verify_symbolic  # noqa: E402

#: Formats beyond 5x5x5 in the built file (AlphaTensor's file lists formats up to 12x12x12).
LARGE = [
    (2, 2, 6), (2, 6, 6), (3, 3, 6), (3, 6, 6), (4, 4, 6), (4, 6, 6), (6, 6, 6), (2, 2, 8), (2, 4, 8), (4, 4, 8),
    (4, 8, 8), (8, 8, 8), (3, 4, 7), (3, 3, 9), (3, 9, 9), (6, 6, 9), (9, 9, 9), (2, 5, 10), (5, 5, 10),
    (4, 5, 10), (10, 10, 10), (3, 4, 11), (4, 4, 11), (11, 11, 11), (2, 6, 12), (3, 4, 12), (4, 4, 12),
    (6, 6, 12), (6, 12, 12), (8, 8, 12), (11, 12, 12), (12, 12, 12), (3, 3, 12), (6, 8, 10), (4, 6, 8),
    (2, 4, 12),
]


def product_scheme(k: int, m: int, n: int):
    """Strassen's algorithm applied recursively while all three sizes are even, then standard."""
    if k % 2 == 0 and m % 2 == 0 and n % 2 == 0:
        return kron(strassen(), product_scheme(k // 2, m // 2, n // 2))
    return standard_scheme(matmul(k, m, n))


def formats() -> list[tuple[int, int, int]]:
    small = [(k, m, n) for k in range(2, 6) for m in range(2, 6) for n in range(2, 6)]
    return small + [f for f in LARGE if f not in small]


def build_files(folder: Path, subset: int | None = None) -> dict[str, tuple[Path, int, int]]:
    """The integer and mod-2 files: name -> (path, schemes, largest rank)."""
    fmts = formats()
    if subset:
        fmts = sorted(fmts, key=lambda f: f[0] * f[1] * f[2])[-subset:]
    schemes = [product_scheme(*f) for f in fmts]
    for s in schemes:
        assert verify_exact(s).ok
    r = save_alphatensor(schemes, folder / "factorizations_r.npz")
    f2 = save_alphatensor([to_field(s, "F2") for s in schemes], folder / "factorizations_f2.npz")
    top = max(s.rank for s in schemes)
    return {"factorizations_r.npz": (r, len(schemes), top), "factorizations_f2.npz": (f2, len(schemes), top)}


def timed(argv: list[str], code_root: Path) -> tuple[float, float, int, str]:
    """Wall and child CPU seconds of ``python -m discovery ARGV`` with ``code_root`` on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "discovery", *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(code_root)}, cwd=code_root)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, (proc.stderr.strip().splitlines() or [""])[-1]


def import_table(subset: int | None, baseline: Path | None, symbolic: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="bilinear-import-"))
    try:
        files = build_files(work, subset)
        print("| file | schemes | largest rank | MB | command | exit | wall s | CPU s |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        runs = [("this checkout", ROOT, [])]
        if symbolic:
            runs.append(("this checkout, --symbolic", ROOT, ["--symbolic"]))
        if baseline is not None:
            runs.append((f"baseline {baseline}", baseline, []))
        for label, code_root, extra in runs:
            total_wall = total_cpu = 0.0
            for name, (path, count, top) in files.items():
                out = work / f"catalog-{abs(hash(label))}-{name}"
                field = ["--field", "F2"] if "f2" in name else []
                wall, cpu, rc, last = timed(["import", str(path), "--out", str(out), *field, *extra], code_root)
                total_wall += wall
                total_cpu += cpu
                size = path.stat().st_size / 1e6
                cmd = f"`bilinear import {name} --out DIR{' --field F2' if field else ''}{' ' + ' '.join(extra) if extra else ''}` ({label})"
                print(f"| {name} | {count} | {top} | {size:.1f} | {cmd} | {rc} | {wall:.1f} | {cpu:.1f} |", flush=True)
                if rc != 0:
                    print(f"|   | | | | last stderr line: {last} | | | |")
            print(f"| both files | | | | {label} | | {total_wall:.1f} | {total_cpu:.1f} |", flush=True)
        wall, cpu, rc, _ = timed(["verify", str(next(work.glob("catalog-*factorizations_r.npz")))], ROOT)
        print(f"| catalog of factorizations_r | | | | `bilinear verify DIR` (exact, every file) | {rc} | "
              f"{wall:.1f} | {cpu:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def best_of(fn, repeats=3):
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


def levels_table() -> None:
    cases = [
        ("2x2x2 rank 7 (Strassen)", strassen()),
        ("4x4x4 rank 49 (Strassen^2)", kron(strassen(), strassen())),
        ("5x5x5 rank 98", rank98_5x5x5()),
        ("F(6x6,3x3) rank 324 (standard)", standard_scheme(correlation2d((6, 6), (3, 3)))),
        ("12x12x12 rank 1323 (Strassen^2 x 3x3x3)", product_scheme(12, 12, 12)),
        ("16x16x16 rank 4096 (standard)", standard_scheme(matmul(16, 16, 16))),
    ]
    print("| scheme | exact ms | symbolic ms | numeric float32 ms |")
    print("|---|---:|---:|---:|")
    for name, s in cases:
        e = best_of(lambda: verify_exact(s.with_meta(n=1))) * 1e3  # a fresh scheme: no cached sum
        y = best_of(lambda: verify_symbolic(s.with_meta(n=2)), 1) * 1e3
        n = best_of(lambda: verify_numeric(s, "float32"), 1) * 1e3
        print(f"| {name} | {e:.1f} | {y:.1f} | {n:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("levels", "import"))
    parser.add_argument("--subset", type=int, default=None, help="keep the N largest formats")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to time the same import")
    parser.add_argument("--symbolic", action="store_true", help="also time import --symbolic")
    args = parser.parse_args()
    if args.only in (None, "levels"):
        levels_table()
        print()
    if args.only in (None, "import"):
        import_table(args.subset, args.baseline, args.symbolic)


if __name__ == "__main__":
    main()
