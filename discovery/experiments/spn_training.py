"""StrassenNets on scikit-learn's 8x8 digits: full precision vs SPN budgets.

A small CNN (two 3x3 convolutions and a linear classifier) is trained in
full precision; then, for each budget ``b``, the same architecture with every
convolution replaced by :class:`~discovery.layers.spn.SPNConv2d` (``r = b *
c_out``, output tiles ``p x p``) and the classifier by
:class:`~discovery.layers.spn.SPNLinear` (``r = b * 10``) is trained with the
paper's schedule -- full-precision pre-training, quantised (ternary
``W_b``, ``W_c``) training, then a short ``a~``-only phase -- with knowledge
distillation from the full-precision model (the schedule and the training
loop are shared with the character LSTM, :mod:`discovery.experiments.training`).  Each row reports test accuracy,
multiplications and additions per image, and model size.

The data ship with scikit-learn (``load_digits``): nothing is downloaded, and
the whole study runs on a CPU in about a minute.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from discovery.core.errors import BilinearError, InvalidInputError
from discovery.core.progress import ProgressCallback, null_callback
from discovery.core.seeds import as_seed
from discovery.experiments.training import Schedule, StudyProgress, check_budget, spn_multiplications, train_model
from discovery.layers.costs import model_costs
from discovery.layers.spn import SPNConv2d, SPNLinear

__all__ = [
    "DigitsData",
    "load_digits_data",
    "digits_cnn",
    "Schedule",
    "train_model",
    "evaluate",
    "StudyRow",
    "digits_study",
    "rows_as_dicts",
]

#: Input shape of one digit image.
IMAGE_SHAPE = (1, 8, 8)
#: Channels of the two convolutions.
WIDTHS = (16, 32)


@dataclass
class DigitsData:
    """Train/test tensors (images scaled to [0, 1])."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_data(seed: int = 0, test_size: float = 0.3) -> DigitsData:
    """scikit-learn's bundled 8x8 digits, split stratified by ``seed``.

    Examples
    --------
    >>> d = load_digits_data()
    >>> tuple(d.x_train.shape[1:]), len(d.x_train) + len(d.x_test)
    ((1, 8, 8), 1797)
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:  # pragma: no cover - depends on the installation
        raise BilinearError(
            "the digits demo needs scikit-learn: pip install 'bilinear-discovery[examples]'"
        ) from None

    if not 0.05 <= float(test_size) <= 0.9:
        raise InvalidInputError(f"test_size must be in [0.05, 0.9], got {test_size}")
    digits = load_digits()
    x = digits.images.astype(np.float32) / 16.0
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=as_seed(seed), stratify=y)
    as_t = torch.from_numpy
    return DigitsData(as_t(x_tr).unsqueeze(1), as_t(y_tr), as_t(x_te).unsqueeze(1), as_t(y_te))


def digits_cnn(budget: Optional[float] = None, p: int = 2, groups: int = 1) -> nn.Sequential:
    """The demo CNN: conv3x3(1->16), ReLU, conv3x3(16->32), ReLU, maxpool 2, linear(512->10).

    Parameters
    ----------
    budget : float or None
        ``None`` for full precision; otherwise every layer becomes an SPN
        layer with ``r = max(1, round(budget * c_out))`` (the paper's
        ``r / c_out``).
    p : int
        Output tile size of the SPN convolutions.
    groups : int
        Groups of the SPN convolutions' ``W_b`` (first layer always 1).

    Examples
    --------
    >>> digits_cnn()(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    >>> digits_cnn(budget=1.0)[0]
    SPNConv2d(1, 16, kernel_size=3, r=16, p=2, groups=1, padding=1, bias=True, quantized=False)
    """
    c1, c2 = WIDTHS
    if budget is None:
        conv1 = nn.Conv2d(1, c1, 3, padding=1)
        conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        fc = nn.Linear(c2 * 16, 10)
    else:
        budget = check_budget(budget, "r / c_out")

        def r(c_out: int, g: int = 1) -> int:
            value = max(1, round(budget * c_out))
            return max(g, value // g * g)

        conv1 = SPNConv2d(1, c1, 3, r=r(c1), p=p, padding=1)
        conv2 = SPNConv2d(c1, c2, 3, r=r(c2, groups), p=p, groups=groups, padding=1)
        fc = SPNLinear(c2 * 16, 10, r=r(10))
    return nn.Sequential(conv1, nn.ReLU(), conv2, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), fc)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``model`` on ``(x, y)``, in percent."""
    was = model.training
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(dim=1) == y).float().mean()) * 100
    model.train(was)
    return acc


@dataclass
class StudyRow:
    """One model of the study."""

    model: str
    budget: Optional[float]
    accuracy: float
    multiplications: int
    additions: int
    spn_multiplications: int
    reference_multiplications: int
    size_kib: float
    seconds: float
    additions_eliminated: Optional[int] = None

    @property
    def reduction(self) -> float:
        """Percent fewer multiplications than the full-precision layers."""
        return 100 * (1 - self.multiplications / self.reference_multiplications)


def digits_study(
    budgets: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    schedule: Schedule = Schedule(),
    p: int = 2,
    seed: int = 0,
    distill: bool = True,
    callback: ProgressCallback = null_callback,
    eliminate: bool = False,
) -> list[StudyRow]:
    """Full precision vs SPN CNNs at several budgets on the digits data.

    Returns one :class:`StudyRow` for the full-precision model, then one per
    budget.  Counts are per image; the SPN layers are all layers with
    weights, so ``multiplications`` is the whole network's.  With
    ``eliminate`` the SPN rows also count additions after common-subexpression
    elimination of the ternary matrices (slow: seconds per layer).
    """
    budgets = list(budgets)
    if not budgets:
        raise InvalidInputError("give at least one budget")
    for budget in budgets:  # fail before the full-precision training, not after it
        digits_cnn(budget, p=p)
    data = load_digits_data(seed)
    rows = []
    progress = StudyProgress(schedule.full + len(budgets) * schedule.epochs, callback)
    torch.manual_seed(as_seed(seed))
    t0 = time.perf_counter()
    teacher = train_model(digits_cnn(), data, schedule, seed=seed, callback=progress, label="full precision")
    progress.advance(schedule.full)
    fp = model_costs(teacher, (1, *IMAGE_SHAPE))
    rows.append(StudyRow("full precision", None, evaluate(teacher, data.x_test, data.y_test),
                         fp.multiplications, fp.additions, fp.multiplications, fp.multiplications,
                         fp.size_bits / 8 / 1024, time.perf_counter() - t0))
    for budget in budgets:
        t0 = time.perf_counter()
        torch.manual_seed(as_seed(seed))
        student = digits_cnn(budget, p=p)
        train_model(student, data, schedule, teacher=teacher if distill else None, seed=seed,
                    callback=progress, label=f"r/c_out={budget:g}")
        progress.advance(schedule.epochs)
        seconds = time.perf_counter() - t0  # training only, not the counting below
        costs = model_costs(student, (1, *IMAGE_SHAPE), eliminate=eliminate)
        spn = spn_multiplications(costs)
        rows.append(StudyRow(f"SPN r/c_out={budget:g}, p={p}", budget, evaluate(student, data.x_test, data.y_test),
                             costs.multiplications, costs.additions, spn, fp.multiplications,
                             costs.size_bits / 8 / 1024, seconds, costs.additions_eliminated))
    return rows


def rows_as_dicts(rows: Sequence[StudyRow]) -> list[dict]:
    """JSON-ready rows."""
    return [dict(asdict(r), reduction=r.reduction, size_bytes=r.size_kib * 1024) for r in rows]
