"""Pictures of schemes and searches (matplotlib, Agg backend, files only).

* :func:`plot_factors` -- U, V and W as three heatmaps side by side, like
  slide 27 of the StrassenNets talk (``W_a = U``, ``W_b = V``, ``W_c = W.T``);
* :func:`plot_success` -- success rate per search configuration, as bars;
* :func:`add_plot_argument` / :func:`plot_section` -- the ``--plot FILE``
  option of ``bilinear show``.

matplotlib is imported when a plot is drawn, not when this module is.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from discovery.core.errors import InvalidInputError
from discovery.codegen.formulas import variable_names
from discovery.core.scheme import Scheme

__all__ = ["plot_factors", "plot_success", "plot_study", "plot_charlm", "add_plot_argument", "plot_section"]

_FORMATS = (".png", ".pdf", ".svg")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _check_target(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise InvalidInputError(f"plot file {path}: expected a name ending in {', '.join(_FORMATS)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInputError(f"plot file {path}: folder {parent} does not exist")
    if path.is_dir():
        raise InvalidInputError(f"plot file {path}: is a directory")
    return path


def _label(v) -> str:
    """The coefficient as cell text: exact when short, else rounded (``~1.2e+30``)."""
    if v == 0:
        return ""
    text = f"{v.numerator}/{v.denominator}" if isinstance(v, Fraction) else str(v)
    if len(text) <= 7:
        return text
    return "~" + _approx(v)


def _approx(v) -> str:
    """``%.2g`` of an exact value, also beyond the float range."""
    v = Fraction(v)
    if v == 0:
        return "0"
    exponent = len(str(abs(v.numerator))) - len(str(v.denominator))
    scaled = v / Fraction(10) ** exponent  # within a factor 10 of 1: a float
    return f"{float(scaled):.2g}e{exponent:+d}" if exponent else f"{float(scaled):.2g}"


def _float(v) -> float:
    """A float for the colour scale; values beyond the float range are clipped to +-1e300."""
    try:
        return max(-1e300, min(1e300, float(v)))
    except OverflowError:
        return 1e300 if v > 0 else -1e300


def plot_factors(scheme: Scheme, path: str | os.PathLike) -> Path:
    """Draw ``U``, ``V`` and ``W.T`` of ``scheme`` as heatmaps into ``path``.

    Rows of U and V and columns of W.T are the products ``m1 .. mR``; each
    cell shows its coefficient (blank for 0); colour runs from blue
    (negative) to red (positive).

    Parameters
    ----------
    scheme : Scheme
    path : path
        Output file, ``.png``, ``.pdf`` or ``.svg``.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from discovery.algebra.literature import strassen
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = plot_factors(strassen(), os.path.join(d, "strassen.png"))
    ...     out.stat().st_size > 1000
    True
    """
    path = _check_target(path)
    plt = _pyplot()
    xs, ys, zs = variable_names(scheme.problem)
    mats = [("U  (W_a)", scheme.U, xs, True), ("V  (W_b)", scheme.V, ys, True), ("W.T  (W_c)", scheme.W.T, zs, False)]
    floats = [np.array([[_float(v) for v in row] for row in m], dtype=float) for _, m, _, _ in mats]
    vmax = max(1.0, max(float(np.abs(f).max()) for f in floats))
    R = scheme.rank
    widths = [f.shape[1] for f in floats]
    fig, axes = plt.subplots(1, 3, figsize=(1.2 + 0.42 * sum(widths) + 1.5, 0.42 * max(R, 4) + 1.6),
                             gridspec_kw={"width_ratios": widths})
    products = [f"m{r + 1}" for r in range(R)]
    image = None
    for ax, (title, m, names, rows_are_products), f in zip(axes, mats, floats):
        image = ax.imshow(f, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="equal")
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(f.shape[1]))
        ax.set_yticks(range(f.shape[0]))
        ax.set_xticklabels(names if rows_are_products else products, fontsize=7, rotation=90)
        ax.set_yticklabels(products if rows_are_products else names, fontsize=7)
        for (i, j), v in np.ndenumerate(m):
            text = _label(v)
            if text:
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if abs(_float(v)) > 0.6 * vmax else "black")
        ax.set_xticks(np.arange(-0.5, f.shape[1]), minor=True)
        ax.set_yticks(np.arange(-0.5, f.shape[0]), minor=True)
        ax.grid(which="minor", color="0.85", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
    p = scheme.problem
    fig.suptitle(f"{p.kind} {p.spec}: rank {scheme.rank} over {scheme.field}, {scheme.additions} additions",
                 fontsize=11)
    fig.colorbar(image, ax=list(axes), shrink=0.8, pad=0.02)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_success(rows: Sequence[dict], path: str | os.PathLike) -> Path:
    """Bar plot of success rate (% of restarts exact) per search configuration.

    Parameters
    ----------
    rows : sequence of dict
        Each with ``label`` (str), ``restarts`` and ``exact`` (ints).
    path : path
        Output file, ``.png``, ``.pdf`` or ``.svg``.

    Examples
    --------
    >>> import tempfile, os
    >>> rows = [{"label": "2x2x2 r7 anneal", "restarts": 64, "exact": 60},
    ...         {"label": "2x2x2 r7 ste", "restarts": 64, "exact": 0}]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     plot_success(rows, os.path.join(d, "s.png")).exists()
    True
    """
    path = _check_target(path)
    if not rows:
        raise InvalidInputError("plot_success: no rows to plot")
    plt = _pyplot()
    labels = [str(r["label"]) for r in rows]
    rates = [100.0 * r["exact"] / r["restarts"] if r["restarts"] else 0.0 for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 0.38 * len(rows) + 1.2))
    bars = ax.barh(range(len(rows)), rates, color="tab:blue")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel("restarts ending on an exact scheme (%)")
    for bar, r, rate in zip(bars, rows, rates):
        ax.text(min(rate, 100) + 1, bar.get_y() + bar.get_height() / 2, f"{r['exact']}/{r['restarts']}",
                va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_path(text: str) -> Path:
    """argparse ``type=`` for a plot file: checked before anything is printed."""
    import argparse

    try:
        return _check_target(text)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_plot_argument(parser) -> None:
    """``--plot FILE`` for ``bilinear show``."""
    parser.add_argument("--plot", metavar="FILE", type=plot_path,
                        help="also draw U, V, W as heatmaps into FILE (.png/.pdf/.svg)")


def plot_section(scheme: Scheme, args) -> list[str]:
    """``bilinear show`` section: draw the heatmaps when ``--plot`` was given."""
    target = getattr(args, "plot", None)
    if not target:
        return []
    return [f"plot: {plot_factors(scheme, target)}"]


def _plot_tradeoff(rows: Sequence, path, *, metric, ylabel: str, x_axes, title: str, band, band_label: str) -> None:
    """One panel per cost in ``x_axes`` (``(cost(row), label)``): ``metric(row)`` against the cost.

    Full-precision rows (``budget is None``) are a square and a dashed line,
    with ``band(row) -> (low, high)`` shaded; SPN rows a line through their
    budgets, distilled and undistilled (``row.distilled``) apart.
    """
    import matplotlib.ticker

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(x_axes), figsize=(4 * len(x_axes), 3.6), sharey=True)
    fp = [r for r in rows if r.budget is None]
    spn = sorted((r for r in rows if r.budget is not None), key=lambda r: r.budget)
    series = [("SPN (ternary W_b, W_c)", "o-", "tab:blue", (4, -10),
               [r for r in spn if getattr(r, "distilled", True)]),
              ("SPN, no distillation", "^--", "tab:orange", (4, 4),
               [r for r in spn if not getattr(r, "distilled", True)])]
    for ax, (cost, label) in zip(axes, x_axes):
        for name, style, colour, offset, points in series:
            if not points:
                continue
            ax.plot([cost(r) for r in points], [metric(r) for r in points], style, color=colour, label=name)
            for r in points:
                ax.annotate(f"{r.budget:g}", (cost(r), metric(r)), textcoords="offset points",
                            xytext=offset, fontsize=8, color=colour)
        for r in fp:
            ax.axhline(metric(r), color="gray", ls="--", lw=1)
            ax.axhspan(*band(r), color="gray", alpha=0.12, lw=0, label=band_label)
            ax.plot([cost(r)], [metric(r)], "s", color="black", label="full precision")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_study(rows: Sequence, path) -> None:
    """Accuracy vs multiplications, additions and size, like the paper's figures.

    ``rows`` are :class:`~discovery.experiments.spn_training.StudyRow` objects.
    """
    _plot_tradeoff(rows, path, metric=lambda r: r.accuracy, ylabel="test accuracy [%]",
                   x_axes=((lambda r: r.multiplications, "multiplications / image"),
                           (lambda r: r.additions, "additions / image"), (lambda r: r.size_kib, "model size [KiB]")),
                   title="StrassenNets CNN on 8x8 digits (labels: r / c_out)",
                   band=lambda r: (r.accuracy - 1.0, r.accuracy), band_label="within 1 point of full precision")


def plot_charlm(rows: Sequence, path) -> None:
    """Test perplexity vs multiplications, additions and size per character, like slide 26.

    ``rows`` are :class:`~discovery.experiments.charlm.CharLMRow` objects;
    additions are those after elimination where counted.
    """
    def additions(r):
        return r.additions if r.additions_eliminated is None else r.additions_eliminated

    _plot_tradeoff(rows, path, metric=lambda r: r.perplexity, ylabel="test perplexity per character",
                   x_axes=((lambda r: r.multiplications, "multiplications / character"),
                           (additions, "additions / character"), (lambda r: r.size_bytes / 1024, "model size [KiB]")),
                   title="StrassenNets character LSTM on pydoc topics (labels: r / hidden unit)",
                   band=lambda r: (r.perplexity, 2.0 ** (1.05 * r.bits_per_char)),
                   band_label="within 5% of full precision's bits/char")
