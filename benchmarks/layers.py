"""Fixed fast layers against torch: accuracy (float64) and speed (float32, CPU).

Prints one markdown table per part, every ratio measured in this run on this
machine with the torch baseline timed beside the layer (interleaved repeats;
the minimum and the median of the repeats are shown, speed ratios are
``baseline / layer`` so above 1.0 means the layer is faster):

1. max relative error ``max|out - ref| / max|ref|`` of each fixed layer in
   float64 against torch in float64 (goal <= 1e-12);
2. ``WinogradConv2d`` F(4x4,3x3) and F(2x2,3x3) (fused C++ transforms and
   plain torch transforms) against ``F.conv2d``,
   float32, batch 8, 64 -> 64 channels, 56 x 56, padding 1 (goal >= 1.0x, and
   an error against float64 at most 20x that of ``F.conv2d``);
3. ``FastMatmul`` (Strassen-Winograd, in-place schedule) and ``FastLinear``
   (weight transformed once) against ``torch.matmul``, float32, n = 4096 and
   8192, per recursion level (goal >= 1.0x).

Usage::

    python benchmarks/layers.py            # full: n = 4096, 8192 (a few minutes)
    python benchmarks/layers.py --quick    # n = 1024, 2048, fewer repeats
    python benchmarks/layers.py --threads 2 --compile   # also torch.compile'd conv

Timings on a shared machine are noisy; the minimum is the better estimate
of the unloaded speed.
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
from discovery.layers import FastLinear, FastMatmul, WinogradConv2d, winograd_kernel  # noqa: E402
from discovery.winograd.cooktoom import best_known  # noqa: E402

F64 = torch.float64


def rel_error(out, ref):
    out, ref = out.detach().double(), ref.detach().double()
    return float((out - ref).abs().max() / ref.abs().max())


def interleaved(fns, repeats, warmup=1):
    """Time each callable ``repeats`` times, interleaved; return [(min, median)] in seconds."""
    for f in fns:
        for _ in range(warmup):
            f()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, f in enumerate(fns):
            start = time.perf_counter()
            f()
            times[i].append(time.perf_counter() - start)
    return [(min(t), statistics.median(t)) for t in times]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    print("\n".join(lines), flush=True)


# ------------------------------------------------------------------ accuracy
def accuracy_rows():
    torch.manual_seed(0)
    rows = []
    a, b = torch.randn(257, 300, dtype=F64), torch.randn(300, 190, dtype=F64)
    ref = a @ b
    for name, scheme in (("Strassen-Winograd", strassen_winograd()), ("Strassen", strassen())):
        for levels in (1, 2, 3):
            layer = FastMatmul(scheme, levels)
            with torch.no_grad():
                err = rel_error(layer(a, b), ref)
            rows.append([f"FastMatmul {name}, {levels} level(s)", "257x300 @ 300x190", f"{err:.1e}"])
    a, b = torch.randn(256, 512, dtype=F64), torch.randn(512, 128, dtype=F64)
    with torch.no_grad():
        err = rel_error(FastMatmul(strassen_winograd(), 3)(a, b), a @ b)
    rows.append(["FastMatmul Strassen-Winograd, 3 levels (in-place path)", "256x512 @ 512x128", f"{err:.1e}"])
    lin = torch.nn.Linear(300, 130, dtype=F64)
    x = torch.randn(64, 300, dtype=F64)
    with torch.no_grad():
        for levels in (1, 2):
            err = rel_error(FastLinear.from_linear(lin, strassen_winograd(), levels)(x), lin(x))
            rows.append([f"FastLinear Strassen-Winograd, {levels} level(s)", "64x300 -> 130", f"{err:.1e}"])
    x = torch.randn(2, 16, 29, 31, dtype=F64)
    for spec in ((2, 2), (4, 4), (6, 6)):
        conv = torch.nn.Conv2d(16, 24, 3, padding=1, dtype=F64)
        layer = WinogradConv2d.from_conv2d(conv, best_known(spec, (3, 3)))
        with torch.no_grad():
            err = rel_error(layer(x), conv(x))
        rows.append([f"WinogradConv2d F({spec[0]}x{spec[1]},3x3)", "2x16x29x31, 16->24, pad 1", f"{err:.1e}"])
    return rows


# ---------------------------------------------------------------------- conv
def conv_rows(repeats, compile_too):
    torch.manual_seed(0)
    x = torch.randn(8, 64, 56, 56)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
    with torch.no_grad():
        ref64 = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1)
        base_err = rel_error(conv(x), ref64)
    rows = []
    try:
        start = time.perf_counter()
        winograd_kernel.load()
        print(f"(fused C++ transforms ready in {time.perf_counter() - start:.0f} s)\n")
        backends = ("cpp", "torch")
    except RuntimeError as exc:
        print(f"(fused C++ transforms unavailable: {exc})\n")
        backends = ("torch",)
    for spec in ((4, 4), (2, 2)):
        variants = []
        for backend in backends:
            layer = WinogradConv2d.from_conv2d(conv, best_known(spec, (3, 3)), backend=backend).eval()
            variants.append((f"backend={backend!r}", layer))
        if compile_too:
            variants.append(("backend='torch', torch.compile", torch.compile(variants[-1][1], dynamic=False)))
        for how, fn in variants:
            with torch.no_grad():
                err = rel_error(fn(x), ref64)
                (tb, tb_med), (tl, tl_med) = interleaved([lambda: conv(x), lambda: fn(x)], repeats, warmup=2)
            rows.append([
                f"WinogradConv2d F({spec[0]}x{spec[1]},3x3) {how}",
                f"{tb * 1e3:.2f} / {tb_med * 1e3:.2f}",
                f"{tl * 1e3:.2f} / {tl_med * 1e3:.2f}",
                f"{tb / tl:.2f}x / {tb_med / tl_med:.2f}x",
                f"{err:.1e} ({err / base_err:.1f}x F.conv2d's {base_err:.1e})",
                f"{layer.multiplications(tuple(x.shape)).ratio:.2f}",
            ])
    return rows


# -------------------------------------------------------------------- matmul
def matmul_rows(sizes, levels_list, repeats):
    rows = []
    for n in sizes:
        torch.manual_seed(0)
        a, b = torch.randn(n, n), torch.randn(n, n)
        with torch.no_grad():
            ref64 = a.double() @ b.double()
            base_err = rel_error(a @ b, ref64)
            for levels in levels_list:
                layer = FastMatmul(strassen_winograd(), levels)
                err = rel_error(layer(a, b), ref64)
                (tb, tb_med), (tl, tl_med) = interleaved(
                    [lambda: torch.matmul(a, b), lambda: layer(a, b)], repeats)
                rows.append([
                    f"FastMatmul SW, {levels} level(s)", n,
                    f"{tb:.3f} / {tb_med:.3f}", f"{tl:.3f} / {tl_med:.3f}",
                    f"{tb / tl:.2f}x / {tb_med / tl_med:.2f}x",
                    f"{2 * n**3 / tb / 1e9:.0f}",
                    f"{err:.1e} ({base_err:.1e})",
                    f"{layer.multiplications((n, n, n)).ratio:.3f}",
                ])
                layer.clear_workspace()
                lin = FastLinear(n, n, strassen_winograd(), levels, bias=False)
                lin.weight.copy_(a)  # weight = A: the same product, the same float64 reference
                lin.refresh()
                err = rel_error(lin(b.t()).t(), ref64)
                (tb, tb_med), (tl, tl_med) = interleaved(
                    [lambda: torch.matmul(a, b), lambda: lin(b.t())], repeats)
                rows.append([
                    f"FastLinear SW, {levels} level(s) (A~ precomputed)", n,
                    f"{tb:.3f} / {tb_med:.3f}", f"{tl:.3f} / {tl_med:.3f}",
                    f"{tb / tl:.2f}x / {tb_med / tl_med:.2f}x",
                    f"{2 * n**3 / tb / 1e9:.0f}",
                    f"{err:.1e}",
                    f"{lin.multiplications((n, n)).ratio:.3f}",
                ])
                del lin
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (about a minute)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd WinogradConv2d")
    parser.add_argument("--sizes", default="", help="comma list of matmul sizes (default 4096,8192; quick 1024,2048)")
    parser.add_argument("--levels", default="", help="comma list of recursion levels (default 1,2; quick 1,2,3)")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: accuracy,conv,matmul")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# benchmarks/layers.py {'--quick' if args.quick else '(full)'}: torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"load average {load:.1f} at start\n")
    start = time.perf_counter()
    if "accuracy" not in skip:
        print("## float64 accuracy against torch (goal <= 1e-12)\n")
        table(["layer", "problem", "max rel. error"], accuracy_rows())
        print()
    if "conv" not in skip:
        print("## WinogradConv2d vs F.conv2d: float32, 8x64x56x56, 64->64, 3x3, padding 1\n")
        table(["layer", "F.conv2d ms (min / median)", "layer ms (min / median)",
               "speed ratio (min / median)", "error vs float64", "mults ratio"],
              conv_rows(5 if args.quick else 20, args.compile))
        print()
    if "matmul" not in skip:
        sizes = (1024, 2048) if args.quick else (4096, 8192)
        if args.sizes:
            sizes = tuple(int(v) for v in args.sizes.split(","))
        levels = (1, 2, 3) if args.quick else (1, 2)
        if args.levels:
            levels = tuple(int(v) for v in args.levels.split(","))
        print("## Strassen-Winograd vs torch.matmul: float32, n x n @ n x n\n")
        table(["layer", "n", "torch.matmul s (min / median)", "layer s (min / median)",
               "speed ratio (min / median)", "torch GFLOP/s", "error vs float64 (torch's)", "mults ratio"],
              matmul_rows(sizes, levels, 3))
        print()
    print(f"total {time.perf_counter() - start:.0f} s; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
