"""``bilinear train-spn``: StrassenNets CNNs on the bundled 8x8 digits.

Trains a full-precision CNN, then the same CNN with SPN layers (ternary
``W_b``, ``W_c``) at each budget ``r / c_out``, with the paper's schedule and
knowledge distillation, and prints accuracy, multiplications, additions and
model size as a table.  Offline (scikit-learn ships the data), CPU, about a
minute with the defaults.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from discovery.cli.common import out, positive_float, positive_int, non_negative_int, progress_bar
from discovery.core.errors import InvalidInputError
from discovery.cli.plots import plot_path, plot_study

NAME = "train-spn"
HELP = "train StrassenNets (SPN) CNNs on the bundled 8x8 digits at several multiplication budgets"


def format_study(rows: Sequence) -> list[str]:
    """A Markdown table of the study."""
    cse = any(r.additions_eliminated is not None for r in rows)
    head = "| model | test acc. % | mults / image | fewer mults | adds / image |"
    head += " adds after CSE |" if cse else ""
    head += " size KiB | train s |"
    lines = [head, "|---|---:|---:|---:|---:|" + ("---:|" if cse else "") + "---:|---:|"]
    for r in rows:
        line = f"| {r.model} | {r.accuracy:.2f} | {r.multiplications:,} | {r.reduction:.2f}% | {r.additions:,} |"
        if cse:
            line += " - |" if r.additions_eliminated is None else f" {r.additions_eliminated:,} |"
        lines.append(line + f" {r.size_kib:.2f} | {r.seconds:.1f} |")
    return lines


def add_arguments(p) -> None:
    p.add_argument("--budgets", type=positive_float, nargs="+", default=[0.5, 1.0, 2.0, 4.0], metavar="B",
                   help="budgets r / c_out for every SPN layer (default: 0.5 1 2 4)")
    p.add_argument("--epochs", type=positive_int, default=30, metavar="N",
                   help="epochs of full-precision pre-training and of quantised training (default 30 each)")
    p.add_argument("--a-only-epochs", type=non_negative_int, default=5, metavar="N",
                   help="epochs of the final a~-only phase (default 5)")
    p.add_argument("--p", type=positive_int, default=2, help="output tile size of the SPN convolutions (default 2)")
    p.add_argument("--lam", type=float, default=0.5, help="distillation weight lambda in [0, 1] (default 0.5)")
    p.add_argument("--temperature", type=positive_float, default=2.0, help="distillation temperature (default 2)")
    p.add_argument("--no-distill", action="store_true", help="train the SPN models without a teacher")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the split, init and batches (default 0)")
    p.add_argument("--out", default=None, metavar="DIR", help="write results.json, table.md and accuracy.png here")
    p.add_argument("--plot", default=None, metavar="FILE", type=plot_path, help="write the accuracy-vs-cost plot (PNG) here")
    p.add_argument("--eliminate", action="store_true",
                   help="also count SPN additions after common-subexpression elimination (slow on wide layers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    if not 0.0 <= args.lam <= 1.0:
        raise InvalidInputError(f"--lam must be in [0, 1], got {args.lam}")
    for name, value in [("--budgets", b) for b in args.budgets] + [("--temperature", args.temperature)]:
        if not math.isfinite(value):
            raise InvalidInputError(f"{name} must be finite, got {value}")
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise InvalidInputError(f"--out {out_dir}: exists and is not a directory")
        out_dir.mkdir(parents=True, exist_ok=True)
    import torch  # heavy: imported when the command runs, not when the CLI starts

    from discovery.experiments.spn_training import Schedule, digits_study, rows_as_dicts

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    schedule = Schedule(full=args.epochs, quantized=args.epochs, a_only=args.a_only_epochs,
                        lam=args.lam, temperature=args.temperature)
    with progress_bar("train-spn", enabled=not args.no_progress) as callback:
        rows = digits_study(args.budgets, schedule, p=args.p, seed=args.seed, distill=not args.no_distill,
                            callback=callback, eliminate=args.eliminate)
    table = format_study(rows)
    for line in table:
        out.print(line, markup=False)
    fp = rows[0]
    best = [r for r in rows[1:] if r.accuracy >= fp.accuracy - 1.0]
    if best:
        b = min(best, key=lambda r: r.multiplications)
        out.print(f"fewest multiplications within 1 point of full precision: {b.model}, "
                  f"{b.reduction:.2f}% fewer, {b.accuracy - fp.accuracy:+.2f} points", markup=False)
    plots = [Path(args.plot)] if args.plot else []
    if out_dir is not None:
        plots.append(out_dir / "accuracy.png")
        (out_dir / "table.md").write_text("\n".join(table) + "\n")
        (out_dir / "results.json").write_text(json.dumps(
            {"schedule": vars(schedule) if hasattr(schedule, "__dict__") else str(schedule),
             "p": args.p, "seed": args.seed, "distill": not args.no_distill, "rows": rows_as_dicts(rows)},
            indent=2) + "\n")
    for path in plots:
        plot_study(rows, path)
    return 0
