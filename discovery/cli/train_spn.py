"""``bilinear train-spn``: the StrassenNets experiments, offline on a CPU.

``--task digits`` (default) trains a full-precision CNN on scikit-learn's
bundled 8x8 digits, then the same CNN with SPN layers (ternary ``W_b``,
``W_c``) at each budget ``r / c_out``, with the paper's schedule and
knowledge distillation, and prints accuracy, multiplications, additions and
model size as a table (about a minute).

``--task charlm`` is the paper's language-model experiment at CPU scale: a
character LSTM on CPython's ``pydoc_data`` topics, full precision and SPN at
each budget ``r`` per hidden unit, distilled (and, for ``--undistilled``
budgets, without a teacher); it reports test bits per character, perplexity,
multiplications, additions, size and energy per character (about 8
minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from discovery.cli.common import non_negative_int, out, positive_float, positive_int, progress_bar, report_path
from discovery.cli.plots import plot_charlm, plot_path, plot_study
from discovery.core.errors import InvalidInputError
from discovery.io.formats import atomic_write_bytes

NAME = "train-spn"
HELP = "train StrassenNets (SPN) models at several multiplication budgets: digits CNN or character LSTM"

#: Per task: budgets, undistilled budgets, (full, quantized) epochs, a~-only epochs, learning rate, temperature.
TASK_DEFAULTS = {
    "digits": ([0.5, 1.0, 2.0, 4.0], [], 30, 5, 3e-3, 2.0),
    "charlm": ([0.5, 1.0, 2.0], [1.0], 12, 3, 1e-2, 1.0),
}


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


def format_charlm(rows: Sequence) -> list[str]:
    """A Markdown table of the character-LSTM study (counts per character)."""
    fp = rows[0]
    lines = ["| model | test bits/char | vs full precision | perplexity | mults / char | fewer mults | "
             "adds / char | adds after CSE | size KiB | energy pJ / char | train s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cse = "-" if r.additions_eliminated is None else f"{r.additions_eliminated:,}"
        delta = 100 * (r.bits_per_char / fp.bits_per_char - 1)
        lines.append(f"| {r.model} | {r.bits_per_char:.3f} | {delta:+.1f}% | {r.perplexity:.2f} | "
                     f"{r.multiplications:,} | {r.reduction:.2f}% | {r.additions:,} | {cse} | "
                     f"{r.size_bytes / 1024:.1f} | {r.energy_pj:,.0f} | {r.seconds:.0f} |")
    return lines


def add_arguments(p) -> None:
    p.add_argument("--task", choices=sorted(TASK_DEFAULTS), default="digits",
                   help="digits: CNN on the bundled 8x8 digits; charlm: character LSTM on pydoc topics")
    p.add_argument("--budgets", type=positive_float, nargs="+", default=None, metavar="B",
                   help="budgets: r / c_out of every SPN layer (digits, default 0.5 1 2 4) or r per hidden "
                        "unit (charlm, default 0.5 1 2); at most 16")
    p.add_argument("--undistilled", type=positive_float, nargs="*", default=None, metavar="B",
                   help="charlm: budgets also trained without distillation (default 1; none when empty)")
    p.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                   help="epochs of full-precision (pre-)training and of quantised training "
                        "(default 30 each for digits, 12 for charlm)")
    p.add_argument("--a-only-epochs", type=non_negative_int, default=None, metavar="N",
                   help="epochs of the final a~-only phase (default 5 for digits, 3 for charlm)")
    p.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate (default 3e-3 digits, 1e-2 charlm)")
    p.add_argument("--report", default=None, metavar="FILE",
                   help="write the rows as JSON (model, budget, accuracy or bits_per_char, multiplications, "
                        "additions, size_bytes, ...)")
    p.add_argument("--p", type=positive_int, default=2, help="digits: output tile size of the SPN convolutions (default 2)")
    p.add_argument("--lam", type=float, default=0.5, help="distillation weight lambda in [0, 1] (default 0.5)")
    p.add_argument("--temperature", type=positive_float, default=None,
                   help="distillation temperature (default 2 for digits, 1 for charlm)")
    p.add_argument("--no-distill", action="store_true", help="digits: train the SPN models without a teacher")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the initialisations and batches (and of the digits split; default 0)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write results.json, table.md and the plot (accuracy.png or perplexity.png) here")
    p.add_argument("--plot", default=None, metavar="FILE", type=plot_path,
                   help="write the accuracy (digits) or perplexity (charlm) vs cost plot here")
    p.add_argument("--eliminate", action=argparse.BooleanOptionalAction, default=None,
                   help="count SPN additions after common-subexpression elimination too "
                        "(default: on for charlm, off for digits)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _check(args) -> tuple:
    """Task defaults filled in and every argument checked before any training."""
    budgets, undistilled, epochs, a_only, lr, temperature = TASK_DEFAULTS[args.task]
    args.budgets = budgets if args.budgets is None else args.budgets
    args.undistilled = undistilled if args.undistilled is None else args.undistilled
    args.epochs = epochs if args.epochs is None else args.epochs
    args.a_only_epochs = a_only if args.a_only_epochs is None else args.a_only_epochs
    args.lr = lr if args.lr is None else args.lr
    args.temperature = temperature if args.temperature is None else args.temperature
    args.eliminate = (args.task == "charlm") if args.eliminate is None else args.eliminate
    if not 0.0 <= args.lam <= 1.0:
        raise InvalidInputError(f"--lam must be in [0, 1], got {args.lam}")
    checked = [("--budgets", b) for b in args.budgets] + [("--undistilled", b) for b in args.undistilled]
    for name, value in checked + [("--temperature", args.temperature), ("--lr", args.lr)]:
        if not math.isfinite(value):
            raise InvalidInputError(f"{name} must be finite, got {value}")
    if args.task == "digits" and args.undistilled:
        raise InvalidInputError("--undistilled is for --task charlm (digits: --no-distill)")
    if args.task == "charlm" and (args.no_distill or args.p != 2):
        raise InvalidInputError("--no-distill and --p are for --task digits (charlm: --undistilled B ...)")
    report = report_path(args.report) if args.report is not None else None
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise InvalidInputError(f"--out {out_dir}: exists and is not a directory")
        out_dir.mkdir(parents=True, exist_ok=True)
    return report, out_dir


def _run_digits(args, schedule, callback):
    from discovery.experiments.spn_training import digits_study, rows_as_dicts

    rows = digits_study(args.budgets, schedule, p=args.p, seed=args.seed, distill=not args.no_distill,
                        callback=callback, eliminate=args.eliminate)
    table = format_study(rows)
    fp = rows[0]
    best = [r for r in rows[1:] if r.accuracy >= fp.accuracy - 1.0]
    if best:
        b = min(best, key=lambda r: r.multiplications)
        table.append(f"fewest multiplications within 1 point of full precision: {b.model}, "
                     f"{b.reduction:.2f}% fewer, {b.accuracy - fp.accuracy:+.2f} points")
    return rows, rows_as_dicts(rows), table, plot_study, "accuracy.png", {"p": args.p, "distill": not args.no_distill}


def _run_charlm(args, schedule, callback):
    import platform

    from discovery.experiments.charlm import charlm_data, charlm_study, rows_as_dicts

    data = charlm_data()
    rows = charlm_study(args.budgets, schedule, undistilled=args.undistilled, seed=args.seed, callback=callback,
                        eliminate=args.eliminate, data=data)
    corpus = data.corpus
    about = {"source": "pydoc_data.topics", "python": platform.python_version(), "sha256": corpus.sha256,
                   "characters": {part: len(getattr(corpus, part)) for part in ("train", "valid", "test")},
                   "topics": {part: list(names) for part, names in corpus.topics.items() if part != "train"},
                   "vocab_size": corpus.vocab_size}
    table = format_charlm(rows)
    fp = rows[0]
    best = [r for r in rows[1:] if r.bits_per_char <= 1.05 * fp.bits_per_char]
    if best:
        b = min(best, key=lambda r: r.multiplications)
        table.append(f"fewest multiplications within 5% of full precision's bits/char: {b.model}, "
                     f"{b.reduction:.2f}% fewer, {100 * (b.bits_per_char / fp.bits_per_char - 1):+.1f}% bits/char")
    return rows, rows_as_dicts(rows), table, plot_charlm, "perplexity.png", {"corpus": about}


def run(args) -> int:
    report, out_dir = _check(args)
    import torch  # heavy: imported when the command runs, not when the CLI starts

    from discovery.experiments.training import Schedule

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    schedule = Schedule(full=args.epochs, quantized=args.epochs, a_only=args.a_only_epochs, lr=args.lr,
                        lam=args.lam, temperature=args.temperature,
                        batch_size=64, clip=1.0 if args.task == "charlm" else None)
    task = _run_charlm if args.task == "charlm" else _run_digits
    with progress_bar("train-spn", enabled=not args.no_progress) as callback:
        rows, dicts, table, plot, plot_name, about = task(args, schedule, callback)
    for line in table:
        out.print(line, markup=False)
    results = {"task": args.task, "schedule": asdict(schedule), "seed": args.seed, **about, "rows": dicts}
    text = (json.dumps(results, indent=2) + "\n").encode()
    if report is not None:
        atomic_write_bytes(report, text)
    plots = [Path(args.plot)] if args.plot else []
    if out_dir is not None:
        plots.append(out_dir / plot_name)
        atomic_write_bytes(out_dir / "table.md", ("\n".join(table) + "\n").encode())
        atomic_write_bytes(out_dir / "results.json", text)
    for path in plots:
        plot(rows, path)
    return 0
