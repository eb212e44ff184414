"""StrassenNets layers and generated code: measured tables.

1. The digits study (:mod:`discovery.experiments.spn_training`): full-precision CNN vs SPN
   CNNs at several budgets r / c_out, with distillation -- accuracy,
   multiplications, additions, size and energy per image -- plus the
   accuracy-vs-cost plot.
2. Generated code: additions of 2x2x2 rank-7 schemes (and any 3x3x3 rank-23
   scheme in the catalog) naive vs after common-subexpression elimination.
3. The character-LSTM study (:mod:`discovery.experiments.charlm`): the default
   ``bilinear train-spn --task charlm`` experiment (additions after elimination
   included), timed as a user runs it, and the perplexity-vs-cost plot.

Run::

    .venv/bin/python benchmarks/spn_layers.py [--tasks digits charlm] [--budgets 0.5 1 2 4] [--epochs 30]
        [--seeds 0] [--plot docs/spn_digits.png] [--charlm-plot docs/spn_charlm.png] [--charlm-json FILE]
        [--skip-training]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def codegen_table() -> list[str]:
    from discovery.io.catalog import load_all
    from discovery.codegen.generate import fewest_additions, plan
    from discovery.algebra.literature import strassen, strassen_winograd
    from discovery.core.problems import matmul

    rows = [("Strassen 1969 (discovery.algebra.literature)", strassen()),
            ("Strassen-Winograd (discovery.algebra.literature)", strassen_winograd())]
    wanted = {matmul(2, 2, 2).slug: 7, matmul(3, 3, 3).slug: 23}
    for path, scheme in load_all():
        if wanted.get(scheme.problem.slug) == scheme.rank:
            rows.append((f"catalog {path.parent.name}/{path.name}", scheme))
    if not any(s.problem == matmul(3, 3, 3) for _, s in rows):
        rows.append(("(no 3x3x3 rank-23 scheme in the catalog yet)", None))
    lines = ["| scheme | rank | additions naive | after elimination (U + V + W^T) | best symmetric variant | time |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, scheme in rows:
        if scheme is None:
            lines.append(f"| {name} | | | | | |")
            continue
        t0 = time.perf_counter()
        p = plan(scheme)
        _, best = fewest_additions(scheme)
        b = p.breakdown
        lines.append(f"| {name} | {scheme.rank} | {p.additions_naive} | "
                     f"{p.additions} ({b['left']} + {b['right']} + {b['output']}) | {best.additions} | "
                     f"{time.perf_counter() - t0:.2f} s |")
    return lines


def digits_tables(budgets, epochs, a_only, seeds, plot, eliminate) -> list[str]:
    import torch

    from discovery.codegen.costs import energy_pj
    from discovery.cli.plots import plot_study
    from discovery.cli.train_spn import format_study
    from discovery.experiments.spn_training import Schedule, digits_study

    torch.set_num_threads(1)
    schedule = Schedule(full=epochs, quantized=epochs, a_only=a_only)
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        rows = digits_study(budgets, schedule, seed=seed, eliminate=eliminate and seed == seeds[0])
        runs.append((seed, rows, time.perf_counter() - t0))
    lines = []
    for seed, rows, seconds in runs:
        lines.append(f"seed {seed} ({seconds:.0f} s in all, 1 thread):")
        lines.append("")
        lines += format_study(rows)
        lines.append("")
    first = runs[0][1]
    lines.append("energy per image, Horowitz 45 nm (multiplications and additions only):")
    lines.append("")
    lines.append("| model | fp32 nJ | int8 nJ |")
    lines.append("|---|---:|---:|")
    for r in first:
        lines.append(f"| {r.model} | {energy_pj(r.multiplications, r.additions, 'fp32') / 1e3:.1f} | "
                     f"{energy_pj(r.multiplications, r.additions, 'int8') / 1e3:.2f} |")
    if len(runs) > 1:
        lines.append("")
        lines.append("accuracy over seeds (mean, min..max), gap to full precision of the same seed:")
        lines.append("")
        lines.append("| model | mean acc. % | range | mean gap (points) | worst gap |")
        lines.append("|---|---:|---:|---:|---:|")
        for i, r in enumerate(first):
            accs = [rows[i].accuracy for _, rows, _ in runs]
            gaps = [rows[i].accuracy - rows[0].accuracy for _, rows, _ in runs]
            lines.append(f"| {r.model} | {statistics.mean(accs):.2f} | {min(accs):.2f}..{max(accs):.2f} | "
                         f"{statistics.mean(gaps):+.2f} | {min(gaps):+.2f} |")
    if plot:
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        plot_study(first, plot)
        lines.append("")
        lines.append(f"plot (seed {runs[0][0]}): {plot}")
    return lines


def charlm_tables(plot, eliminate: bool, json_path=None) -> list[str]:
    import torch

    from discovery.cli.plots import plot_charlm
    from discovery.cli.train_spn import format_charlm
    from discovery.experiments.charlm import DEFAULT_SCHEDULE, charlm_study, rows_as_dicts

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    rows = charlm_study(eliminate=eliminate)
    wall = time.perf_counter() - t0
    if json_path:
        import json

        Path(json_path).write_text(json.dumps({"wall_seconds": wall, "rows": rows_as_dicts(rows)}, indent=2) + "\n")
    s = DEFAULT_SCHEDULE
    lines = [f"default experiment (`bilinear train-spn --task charlm`): {wall:.0f} s wall, 2 torch threads; "
             f"schedule {s.full} + {s.quantized} + {s.a_only} epochs, lr {s.lr:g}, batch {s.batch_size} x 64 "
             f"characters, distillation lam {s.lam:g}, T {s.temperature:g}", ""]
    lines += format_charlm(rows)
    fp = rows[0]
    lines += ["", "multiplications in the SPN layers (LSTM and output projection; all layers with weights) "
              "and test bits per character against full precision:", "",
              "| model | SPN-layer mults / char | full precision | fewer | bits/char vs full precision |",
              "|---|---:|---:|---:|---:|"]
    for r in rows[1:]:
        lines.append(f"| {r.model} | {r.spn_multiplications:,} | {fp.multiplications:,} | "
                     f"{100 * (1 - r.spn_multiplications / fp.multiplications):.2f}% | "
                     f"{100 * (r.bits_per_char / fp.bits_per_char - 1):+.1f}% |")
    if plot:
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        plot_charlm(rows, plot)
        lines += ["", f"plot: {plot}"]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--a-only-epochs", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--tasks", nargs="+", choices=["digits", "charlm"], default=["digits", "charlm"])
    ap.add_argument("--plot", default=str(ROOT / "docs" / "spn_digits.png"))
    ap.add_argument("--charlm-plot", default=str(ROOT / "docs" / "spn_charlm.png"))
    ap.add_argument("--charlm-json", default=None, metavar="FILE", help="also write the charlm rows as JSON")
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--no-eliminate", action="store_true",
                    help="skip counting SPN additions after elimination (first seed; slow on wide layers)")
    args = ap.parse_args()
    print("## Generated code: additions before and after common-subexpression elimination\n")
    print("\n".join(codegen_table()))
    print()
    if not args.skip_training and "digits" in args.tasks:
        print("## StrassenNets CNN on the 8x8 digits (full precision vs SPN budgets r / c_out, p = 2)\n")
        print("\n".join(digits_tables(args.budgets, args.epochs, args.a_only_epochs, args.seeds, args.plot,
                                      not args.no_eliminate)))
        print()
    if not args.skip_training and "charlm" in args.tasks:
        print("## StrassenNets character LSTM on pydoc_data topics (full precision vs SPN budgets r / hidden unit)\n")
        print("\n".join(charlm_tables(args.charlm_plot, not args.no_eliminate, args.charlm_json)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
