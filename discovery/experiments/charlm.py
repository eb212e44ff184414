"""StrassenNets' language-model experiment: a character LSTM with a multiplication budget.

The paper (Tschannen et al. 2018, section 4.2) replaces the matrix products
of a character-aware language model's LSTM by sum-product networks and
reports the same perplexity with over 99% fewer multiplications.  This
module repeats the experiment at a scale a CPU trains in minutes, on a corpus
that ships with Python (:mod:`discovery.experiments.corpus`):

- the model (:class:`CharLM`): a character embedding, an LSTM and a linear
  output projection over the characters;
- full precision: ``nn.LSTM`` and ``nn.Linear``;
- SPN at budget ``b`` (multiplications per hidden unit): the LSTM becomes an
  :class:`~discovery.layers.spn_rnn.SPNLSTM` with ``r = b * hidden`` for
  each of its two gate products, and the output projection an
  :class:`~discovery.layers.spn.SPNLinear` with ``r = b * vocab``; the
  embedding is a table lookup and stays as it is.

Each SPN model is trained with the paper's schedule
(:func:`~discovery.experiments.training.train_model`: full-precision
pre-training, ternary training, an ``a~``-only phase), distilled from the
full-precision model or, for comparison, without a teacher.  Every row
reports test bits per character (and perplexity, ``2 ** bpc``), the
multiplications, additions (naive and after common-subexpression
elimination) and energy per character, and the model size.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from discovery.codegen.costs import energy_pj
from discovery.core.checks import positive_int
from discovery.core.errors import InvalidInputError
from discovery.core.progress import ProgressCallback, null_callback
from discovery.core.seeds import as_seed
from discovery.experiments.corpus import CharCorpus, chunk, load_pydoc_corpus
from discovery.experiments.training import Schedule, StudyProgress, check_budget, spn_multiplications, train_model
from discovery.layers.costs import model_costs
from discovery.layers.spn import SPNLinear
from discovery.layers.spn_rnn import SPNLSTM

__all__ = [
    "CharLM",
    "CharLMData",
    "charlm_data",
    "bits_per_char",
    "CharLMRow",
    "charlm_study",
    "DEFAULT_SCHEDULE",
    "rows_as_dicts",
]

#: The default experiment's schedule (``bilinear train-spn --task charlm``).
DEFAULT_SCHEDULE = Schedule(full=12, quantized=12, a_only=3, lr=1e-2, batch_size=64, lam=0.5, temperature=1.0,
                            clip=1.0)


class CharLM(nn.Module):
    """Embedding -> LSTM -> linear projection onto the characters.

    Parameters
    ----------
    vocab_size : int
        Characters (output classes).
    embed : int
        Embedding width.
    hidden : int
        LSTM hidden units.
    num_layers : int
        Stacked LSTM layers.
    budget : float or None
        ``None`` for full precision; otherwise the LSTM's gate products get
        ``r = max(1, round(budget * hidden))`` multiplications each and the
        output projection ``r = max(1, round(budget * vocab_size))``.

    Examples
    --------
    >>> lm = CharLM(30, embed=8, hidden=16)
    >>> lm(torch.zeros(2, 5, dtype=torch.long)).shape
    torch.Size([2, 5, 30])
    >>> spn = CharLM(30, embed=8, hidden=16, budget=0.5)
    >>> spn.lstm.extra_repr(), spn.head.r
    ('8, 16, r=(8,), num_layers=1, batch_first=True, quantized=False', 15)
    """

    def __init__(self, vocab_size: int, embed: int = 32, hidden: int = 128, num_layers: int = 1,
                 budget: Optional[float] = None) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed", embed), ("hidden", hidden),
                            ("num_layers", num_layers)):
            positive_int(value, name)
        self.budget = None if budget is None else check_budget(budget)
        self.embedding = nn.Embedding(vocab_size, embed)
        if self.budget is None:
            self.lstm = nn.LSTM(embed, hidden, num_layers=num_layers, batch_first=True)
            self.head = nn.Linear(hidden, vocab_size)
        else:
            self.lstm = SPNLSTM(embed, hidden, r=max(1, round(self.budget * hidden)), num_layers=num_layers,
                                batch_first=True)
            self.head = SPNLinear(hidden, vocab_size, r=max(1, round(self.budget * vocab_size)))

    def run(self, x: torch.Tensor, state=None):
        """Logits and the LSTM state after the last step, to carry on.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, L)`` token ids.
        state : tuple of torch.Tensor, optional
            ``(h, c)`` from the previous call (zeros when omitted).

        Returns
        -------
        logits : torch.Tensor
            ``(N, L, vocab_size)``.
        state : tuple of torch.Tensor
            ``(h, c)``, each ``(num_layers, N, hidden)``.
        """
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]


@dataclass
class CharLMData:
    """Training sequences (``x_train``, ``y_train``: ``(n, seq_len)``) and the validation and test text."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    corpus: CharCorpus


def charlm_data(seq_len: int = 64, corpus: Optional[CharCorpus] = None) -> CharLMData:
    """The corpus cut into training sequences of ``seq_len`` characters.

    Parameters
    ----------
    seq_len : int
        Characters per training sequence (:func:`~discovery.experiments.corpus.chunk`).
    corpus : CharCorpus, optional
        Defaults to :func:`~discovery.experiments.corpus.load_pydoc_corpus`.

    Returns
    -------
    CharLMData

    Examples
    --------
    >>> d = charlm_data(64)
    >>> d.x_train.shape[1], bool((d.x_train[:, 1:] == d.y_train[:, :-1]).all())
    (64, True)
    """
    corpus = load_pydoc_corpus() if corpus is None else corpus
    x, y = chunk(corpus.train, seq_len)
    return CharLMData(x, y, corpus.valid, corpus.test, corpus)


def bits_per_char(model: CharLM, ids: torch.Tensor, streams: int = 16, window: int = 256) -> float:
    """Bits per character of ``model`` predicting ``ids[t + 1]`` from ``ids[: t + 1]``.

    The text is cut into ``streams`` contiguous pieces read in parallel,
    ``window`` steps at a time, carrying the LSTM state from one window to the
    next (so only the first character of each piece is predicted without
    context); the last ``< streams`` characters are left out.

    Parameters
    ----------
    model : CharLM
        Evaluated in evaluation mode, without gradients.
    ids : torch.Tensor
        1-D token ids.
    streams, window : int
        Parallel pieces and steps per forward call.

    Returns
    -------
    float
        Mean cross-entropy in bits; perplexity is ``2 ** bits``.

    Examples
    --------
    >>> lm = CharLM(5, embed=4, hidden=8)
    >>> 0 < bits_per_char(lm, torch.randint(0, 5, (200,)), streams=4, window=16) < 10
    True
    """
    streams, window = positive_int(streams, "streams"), positive_int(window, "window")
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1:
        raise InvalidInputError(f"ids must be 1-D token ids, got shape {tuple(ids.shape)}")
    n = (len(ids) - 1) // streams
    if n < 1:
        raise InvalidInputError(f"{len(ids)} characters are too few for {streams} streams")
    x, y = (part[:streams] for part in chunk(ids, n))  # streams contiguous pieces of n characters
    was = model.training
    model.eval()
    total, state = 0.0, None
    with torch.no_grad():
        for start in range(0, n, window):
            logits, state = model.run(x[:, start : start + window], state)
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           y[:, start : start + window].reshape(-1), reduction="sum"))
    model.train(was)
    return total / (streams * n) / math.log(2)


@dataclass
class CharLMRow:
    """One model of the study; counts are per character (one LSTM step and one projection)."""

    model: str
    budget: Optional[float]
    distilled: bool
    bits_per_char: float
    valid_bits_per_char: float
    multiplications: int
    additions: int
    additions_eliminated: Optional[int]
    spn_multiplications: int
    reference_multiplications: int
    size_bytes: float
    energy_pj: float
    seconds: float
    layers: list = field(default_factory=list)

    @property
    def perplexity(self) -> float:
        """Per-character perplexity, ``2 ** bits_per_char``."""
        return 2.0 ** self.bits_per_char

    @property
    def reduction(self) -> float:
        """Percent fewer multiplications than the full-precision model (whose layers are all SPN here)."""
        return 100 * (1 - self.multiplications / self.reference_multiplications)


def _cost_fields(model: CharLM, eliminate: bool) -> dict:
    costs = model_costs(model, (1, 1), eliminate=eliminate and model.budget is not None, input_dtype=torch.long)
    adds = costs.additions if costs.additions_eliminated is None else costs.additions_eliminated
    return dict(
        multiplications=costs.multiplications, additions=costs.additions,
        additions_eliminated=costs.additions_eliminated,
        spn_multiplications=spn_multiplications(costs) if model.budget is not None else costs.multiplications,
        size_bytes=costs.size_bits / 8, energy_pj=energy_pj(costs.multiplications, adds),
        layers=[{"name": layer.name, "kind": layer.kind, "multiplications": layer.multiplications,
                 "additions": layer.additions, "additions_eliminated": layer.additions_eliminated,
                 "size_bits": layer.size_bits} for layer in costs.layers],
    )


def _row(name, budget, distilled, model, data, seconds, reference, eliminate) -> CharLMRow:
    fields = _cost_fields(model, eliminate)
    return CharLMRow(
        model=name, budget=budget, distilled=distilled,
        bits_per_char=bits_per_char(model, data.test), valid_bits_per_char=bits_per_char(model, data.valid),
        reference_multiplications=reference if reference is not None else fields["multiplications"],
        seconds=seconds, **fields,
    )


def charlm_study(
    budgets: Sequence[float] = (0.5, 1.0, 2.0),
    schedule: Schedule = DEFAULT_SCHEDULE,
    undistilled: Sequence[float] = (1.0,),
    embed: int = 32,
    hidden: int = 128,
    num_layers: int = 1,
    seq_len: int = 64,
    seed: int = 0,
    eliminate: bool = True,
    callback: ProgressCallback = null_callback,
    data: Optional[CharLMData] = None,
    on_model: Optional[Callable[[CharLMRow, CharLM], None]] = None,
) -> list[CharLMRow]:
    """Full precision vs SPN character LSTMs at several budgets.

    Parameters
    ----------
    budgets : sequence of float
        SPN budgets (multiplications per hidden unit), each distilled from
        the full-precision model.
    schedule : Schedule
        ``full`` epochs train the full-precision model and pre-train each
        SPN model; then ``quantized`` and ``a_only`` epochs.
    undistilled : sequence of float
        Budgets also trained without a teacher, to show what distillation buys.
    embed, hidden, num_layers, seq_len : int
        Model and training-sequence sizes.
    seed : int
        Seeds the initialisations and batch orders.
    eliminate : bool
        Count the SPN models' additions after common-subexpression
        elimination too (3-55 s per model at ``hidden=128``, budgets 0.5-2).
    callback : ProgressCallback
        One event per epoch over the whole study.
    data : CharLMData, optional
        Defaults to :func:`charlm_data` ``(seq_len)``.
    on_model : callable, optional
        Called as ``on_model(row, model)`` after each model is trained and
        measured (to keep or save the models).

    Returns
    -------
    list of CharLMRow
        Full precision first, then the distilled budgets, then the undistilled ones.
    """
    budgets = [check_budget(b) for b in budgets]
    undistilled = [check_budget(b) for b in undistilled]
    if not budgets and not undistilled:
        raise InvalidInputError("give at least one budget")
    data = charlm_data(seq_len) if data is None else data
    vocab = data.corpus.vocab_size
    plan = [(b, True) for b in budgets] + [(b, False) for b in undistilled]
    progress = StudyProgress(schedule.full + len(plan) * schedule.epochs, callback)
    t0 = time.perf_counter()
    torch.manual_seed(as_seed(seed))
    teacher = train_model(CharLM(vocab, embed, hidden, num_layers), data, schedule, seed=seed, callback=progress,
                          label="full precision")
    progress.advance(schedule.full)
    rows = [_row("full precision", None, False, teacher, data, time.perf_counter() - t0, None, eliminate)]
    if on_model is not None:
        on_model(rows[0], teacher)
    reference = rows[0].multiplications
    for budget, distill in plan:
        t0 = time.perf_counter()
        torch.manual_seed(as_seed(seed))
        student = CharLM(vocab, embed, hidden, num_layers, budget=budget)
        label = f"SPN b={budget:g}" + ("" if distill else ", no distillation")
        train_model(student, data, schedule, teacher=teacher if distill else None, seed=seed, callback=progress,
                    label=label)
        progress.advance(schedule.epochs)
        rows.append(_row(label, budget, distill, student, data, time.perf_counter() - t0, reference, eliminate))
        if on_model is not None:
            on_model(rows[-1], student)
    return rows


def rows_as_dicts(rows: Sequence[CharLMRow]) -> list[dict]:
    """JSON-ready rows (with ``perplexity`` and ``reduction``).

    Parameters
    ----------
    rows : sequence of CharLMRow

    Returns
    -------
    list of dict
        One dict per row: the row's fields plus ``perplexity`` and ``reduction``.
    """
    return [dict(asdict(r), perplexity=r.perplexity, reduction=r.reduction) for r in rows]
