"""Fixed fast layers against torch: accuracy (float64) and speed (float32, CPU).

Prints one markdown table per part, every ratio measured in this run on this
machine with its baseline timed beside it (interleaved repeats; the median
and the minimum of the repeats are shown; speed ratios are
``baseline / layer``, so above 1.0 means the layer is faster).  The load
average is printed before and after each part: on a shared machine the
medians of interleaved repeats are what to compare, and ``--threads 1`` with
``--cpu-time`` measures process CPU time instead of wall time.

1. max relative error ``max|out - ref| / max|ref|`` of each fixed layer in
   float64 against torch in float64 (goal <= 1e-12);
2. ``WinogradConv2d`` F(6x6,3x3), F(4x4,3x3) (the toolkit's best points,
   :func:`discovery.winograd.cooktoom.best_known`) and F(2x2,3x3), fused
   kernel generated from the scheme (``backend="cpp"``) and the torch path,
   against ``F.conv2d``, float32, batch 8, 64 -> 64 channels, 56 x 56,
   padding 1 (goal >= 1.0x, and an error against float64 at most 20x that of
   ``F.conv2d``);
3. the schedule compiled from Strassen-Winograd's program against the
   hand-written schedule, and both against ``torch.matmul``, n = 4096 and
   8192, 1 and 2 levels (goal: generic >= 0.97x hand-written);
4. alternative-basis Strassen-Winograd (12-addition core) against the
   standard basis and ``torch.matmul``, 2 levels, n = 8192 (goal: >= the
   standard-basis ratio);
5. a discovered 3x3 rank-23 scheme (the catalog's fewest-additions one,
   its stored program) at 1 level against ``torch.matmul``, n = 6144
   (goal >= 1.0x; the multiplication bound is 27/23 = 1.17x).

Usage::

    python benchmarks/layers.py                      # everything (about 15-25 minutes on 2 cores)
    python benchmarks/layers.py --quick              # small sizes, a few minutes
    python benchmarks/layers.py --parts conv,generic --repeats 5
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from discovery.algebra.literature import strassen, strassen_winograd  # noqa: E402
from discovery.codegen.basis import AlternativeBasis, alternative_basis  # noqa: E402
from discovery.codegen.generate import plan  # noqa: E402
from discovery.core.problems import matmul  # noqa: E402
from discovery.io.catalog import find  # noqa: E402
from discovery.layers import FastLinear, FastMatmul, WinogradConv2d  # noqa: E402
from discovery.winograd.cooktoom import best_known  # noqa: E402

F64 = torch.float64
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def rel_error(out, ref):
    out, ref = out.detach().double(), ref.detach().double()
    return float((out - ref).abs().max() / ref.abs().max())


def interleaved(fns, repeats, clock, warmup=1):
    """Time each callable ``repeats`` times, interleaved; return [(median, min)] in seconds."""
    for f in fns:
        for _ in range(warmup):
            f()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, f in enumerate(fns):
            start = clock()
            f()
            times[i].append(clock() - start)
    return [(statistics.median(t), min(t)) for t in times]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    print("\n".join(lines), flush=True)


def ratio(base, layer):
    return f"{base[0] / layer[0]:.3f}x / {base[1] / layer[1]:.3f}x"


def secs(t, scale=1.0, digits=3):
    return f"{t[0] * scale:.{digits}f} / {t[1] * scale:.{digits}f}"


# ------------------------------------------------------------------ accuracy
def accuracy_rows():
    torch.manual_seed(0)
    rows = []
    a, b = torch.randn(257, 300, dtype=F64), torch.randn(300, 190, dtype=F64)
    ref = a @ b
    cat23 = find(matmul(3, 3, 3), field="Z")
    schemes = [("Strassen-Winograd", strassen_winograd()), ("Strassen", strassen())]
    if cat23:
        schemes.append(("3x3 rank 23 (catalog)", cat23[0]))
    with torch.no_grad():
        for name, scheme in schemes:
            for levels in (1, 2, 3) if scheme.rank == 7 else (1, 2):
                err = rel_error(FastMatmul(scheme, levels)(a, b), ref)
                rows.append([f"FastMatmul {name}, {levels} level(s), program schedule", "257x300 @ 300x190",
                             f"{err:.1e}"])
        alt = alternative_basis(strassen_winograd(), restarts=8, time_limit=4)
        for levels in (1, 2, 3):
            err = rel_error(FastMatmul(strassen_winograd(), levels, basis=alt)(a, b), ref)
            rows.append([f"FastMatmul SW alternative basis, {levels} level(s)", "257x300 @ 300x190", f"{err:.1e}"])
        lin = torch.nn.Linear(300, 130, dtype=F64)
        x = torch.randn(64, 300, dtype=F64)
        for levels in (1, 2):
            err = rel_error(FastLinear.from_linear(lin, strassen_winograd(), levels)(x), lin(x))
            rows.append([f"FastLinear Strassen-Winograd, {levels} level(s)", "64x300 -> 130", f"{err:.1e}"])
        x = torch.randn(2, 16, 29, 31, dtype=F64)
        for spec in ((2, 2), (4, 4), (6, 6)):
            conv = torch.nn.Conv2d(16, 24, 3, padding=1, dtype=F64)
            for backend in ("torch", "cpp"):
                layer = WinogradConv2d.from_conv2d(conv, best_known(spec, (3, 3)), backend=backend)
                err = rel_error(layer(x), conv(x))
                rows.append([f"WinogradConv2d F({spec[0]}x{spec[1]},3x3) backend={backend!r}",
                             "2x16x29x31, 16->24, pad 1", f"{err:.1e}"])
    return rows


# ---------------------------------------------------------------------- conv
def conv_rows(repeats, clock, batch):
    torch.manual_seed(0)
    x = torch.randn(batch, 64, 56, 56)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
    with torch.no_grad():
        ref64 = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1)
        base_err = rel_error(conv(x), ref64)
    rows = []
    for spec in ((6, 6), (4, 4), (2, 2)):
        scheme = best_known(spec, (3, 3))
        for backend in ("cpp", "torch"):
            start = time.perf_counter()
            layer = WinogradConv2d.from_conv2d(conv, scheme, backend=backend).eval()
            built = time.perf_counter() - start
            how = backend if backend == "torch" or layer.kernel_ready else "cpp (NOT BUILT: torch path)"
            with torch.no_grad():
                err = rel_error(layer(x), ref64)
                tb, tl = interleaved([lambda: conv(x), lambda: layer(x)], repeats, clock, warmup=2)
            rows.append([
                f"F({spec[0]}x{spec[1]},3x3) {how}" + (f" (built in {built:.0f} s)" if backend == "cpp" else ""),
                secs(tb, 1e3, 2), secs(tl, 1e3, 2), ratio(tb, tl),
                f"{err:.1e} ({err / base_err:.1f}x F.conv2d's {base_err:.1e})",
                f"{layer.multiplications(tuple(x.shape)).ratio:.3f}",
            ])
    return rows


# -------------------------------------------------------------------- matmul
def _err_rows(layer_out, a, b, rows=256):
    """Error of the first ``rows`` rows against float64 (a full float64 product costs too much at n = 8192)."""
    ref = a[:rows].double() @ b.double()
    return rel_error(layer_out[:rows], ref)


def generic_rows(sizes, levels_list, repeats, clock):
    rows = []
    for n in sizes:
        torch.manual_seed(0)
        a, b = torch.randn(n, n), torch.randn(n, n)
        with torch.no_grad():
            base_err = _err_rows(a @ b, a, b)
            for levels in levels_list:
                gen = FastMatmul(strassen_winograd(), levels)
                hand = FastMatmul(strassen_winograd(), levels, schedule="handwritten")
                e_gen, e_hand = _err_rows(gen(a, b), a, b), _err_rows(hand(a, b), a, b)
                tt, tg, th = interleaved([lambda: torch.matmul(a, b), lambda: gen(a, b), lambda: hand(a, b)],
                                         repeats, clock)
                rows.append([n, levels, secs(tt), secs(tg), secs(th), ratio(th, tg), ratio(tt, tg), ratio(tt, th),
                             f"{e_gen:.1e} / {e_hand:.1e} ({base_err:.1e})", load()])
                gen.clear_workspace()
                hand.clear_workspace()
                del gen, hand
    return rows


def basis_rows(n, levels, repeats, clock):
    torch.manual_seed(0)
    a, b = torch.randn(n, n), torch.randn(n, n)
    alt: AlternativeBasis = alternative_basis(strassen_winograd(), restarts=8, time_limit=5)
    std = FastMatmul(strassen_winograd(), levels)
    altl = FastMatmul(strassen_winograd(), levels, basis=alt)
    with torch.no_grad():
        e_std, e_alt = _err_rows(std(a, b), a, b), _err_rows(altl(a, b), a, b)
        tt, ts, ta = interleaved([lambda: torch.matmul(a, b), lambda: std(a, b), lambda: altl(a, b)], repeats, clock)
    core = sum(altl.program_additions())
    basis = [p.additions for p in alt.basis_programs()]
    return [[n, levels, f"standard ({sum(std.program_additions())} additions)", secs(tt), secs(ts), ratio(tt, ts),
             f"{e_std:.1e}", load()],
            [n, levels, f"alternative ({core} in the core, basis {'+'.join(map(str, basis))} per level)",
             secs(tt), secs(ta), ratio(tt, ta), f"{e_alt:.1e}", load()]]


def rank23_rows(n, repeats, clock):
    schemes = find(matmul(3, 3, 3), field="Z")
    if not schemes:
        return []
    best = min(schemes, key=lambda s: plan(s).additions)
    torch.manual_seed(0)
    a, b = torch.randn(n, n), torch.randn(n, n)
    layer = FastMatmul(best, 1)
    with torch.no_grad():
        err, base = _err_rows(layer(a, b), a, b), _err_rows(a @ b, a, b)
        tt, tl = interleaved([lambda: torch.matmul(a, b), lambda: layer(a, b)], repeats, clock)
    p = plan(best)
    return [[n, f"{best.fingerprint()[:12]} ({p.additions} additions{', stored program' if p.stored else ''})",
             secs(tt), secs(tl), ratio(tt, tl), f"{2 * n**3 / tt[0] / 1e9:.0f}", f"{err:.1e} ({base:.1e})",
             f"{23 / 27:.3f}", load()]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--cpu-time", action="store_true", help="time with process CPU time, not wall time")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3, conv 15)")
    parser.add_argument("--parts", default="accuracy,conv,generic,basis,rank23",
                        help="comma list of parts: accuracy,conv,generic,basis,rank23")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = CLOCK["cpu" if args.cpu_time else "wall"]
    parts = set(args.parts.split(","))
    repeats = args.repeats or (2 if args.quick else 3)
    print(f"# benchmarks/layers.py {'--quick ' if args.quick else ''}--parts {args.parts}: torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"{'CPU' if args.cpu_time else 'wall'} time, load average {load()} at start\n")
    start = time.perf_counter()
    if "accuracy" in parts:
        print("## float64 accuracy against torch (goal <= 1e-12)\n")
        table(["layer", "problem", "max rel. error"], accuracy_rows())
        print()
    if "conv" in parts:
        batch = 2 if args.quick else 8
        print(f"## WinogradConv2d vs F.conv2d: float32, {batch}x64x56x56, 64->64, 3x3, padding 1 "
              f"(load {load()})\n")
        table(["layer", "F.conv2d ms (median / min)", "layer ms (median / min)", "speed ratio (median / min)",
               "error vs float64", "mults ratio"],
              conv_rows(args.repeats or (5 if args.quick else 15), clock, batch))
        print()
    if "generic" in parts:
        sizes = (1024, 2048) if args.quick else (4096, 8192)
        print(f"## Strassen-Winograd: program schedule vs hand-written vs torch.matmul, float32 (load {load()})\n")
        table(["n", "levels", "torch.matmul s", "program schedule s", "hand-written s",
               "program / hand-written speed", "program vs torch", "hand-written vs torch",
               "error vs float64: program / hand (torch)", "load"],
              generic_rows(sizes, (1, 2), repeats, clock))
        print()
    if "basis" in parts:
        n = 2048 if args.quick else 8192
        print(f"## Alternative-basis Strassen-Winograd, 2 levels, vs torch.matmul, float32 (load {load()})\n")
        table(["n", "levels", "basis", "torch.matmul s", "layer s", "speed vs torch", "error vs float64", "load"],
              basis_rows(n, 2, repeats, clock))
        print()
    if "rank23" in parts:
        n = 1536 if args.quick else 6144
        print(f"## A discovered 3x3 rank-23 scheme, 1 level, vs torch.matmul, float32 (load {load()})\n")
        table(["n", "scheme", "torch.matmul s", "layer s", "speed vs torch", "torch GFLOP/s", "error (torch's)",
               "mults ratio", "load"], rank23_rows(n, repeats, clock))
        print()
    print(f"total {time.perf_counter() - start:.0f} s; load average now {load()}")


if __name__ == "__main__":
    main()
