"""Training code shared by the StrassenNets experiments (digits CNN, character LSTM).

The paper's schedule (:class:`Schedule`, :func:`train_model`): full-precision
pre-training, then quantised training (ternary ``W_b``, ``W_c`` with
straight-through gradients), then a short phase that trains ``a~`` (and the
non-SPN parameters) only, each with knowledge distillation from a
full-precision teacher when one is given
(:func:`~discovery.layers.spn.distillation_loss`).  Models may return logits
of any shape ``(*, classes)`` with targets ``(*)`` -- one label per image, or
one per character -- and the loss is taken over all positions.

:class:`StudyProgress` turns the per-model progress events into one bar over a
whole study.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from discovery.core.errors import InvalidInputError
from discovery.core.progress import ProgressCallback, ProgressEvent, null_callback
from discovery.core.seeds import as_seed
from discovery.layers.spn import distillation_loss, set_phase, spn_modules

__all__ = ["Schedule", "train_model", "teacher_logits", "StudyProgress", "spn_multiplications", "check_budget",
           "MAX_BUDGET"]

#: The largest budget the studies take: 16 products per output (hidden) unit, far beyond what pays.
MAX_BUDGET = 16.0


def check_budget(budget, unit: str = "r per hidden unit") -> float:
    """``budget`` as a float in ``(0, MAX_BUDGET]``.

    Parameters
    ----------
    budget : int or float
        Products per output unit of an SPN layer.
    unit : str
        How the message names the budget.

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        For anything but a number in ``(0, MAX_BUDGET]`` (booleans, NaN and infinities included).

    Examples
    --------
    >>> check_budget(1)
    1.0
    >>> check_budget(1e308)
    Traceback (most recent call last):
    ...
    discovery.core.errors.InvalidInputError: budget (r per hidden unit) must be a number in (0, 16], got 1e+308
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget <= MAX_BUDGET:
        raise InvalidInputError(f"budget ({unit}) must be a number in (0, {MAX_BUDGET:g}], got {budget!r}")
    return float(budget)


@dataclass(frozen=True)
class Schedule:
    """Epochs and optimiser settings of the paper's three phases.

    ``full`` epochs of full-precision pre-training, ``quantized`` epochs with
    ternary ``W_b``, ``W_c``, then ``a_only`` epochs training only ``a~``
    (and biases) at a third of the learning rate.  Each phase uses Adam with
    a cosine learning-rate decay (the paper used SGD with momentum; Adam
    converges in fewer epochs on these small problems).  ``lam`` and
    ``temperature`` set the distillation loss; ``clip`` (when set) clips the
    gradient norm, as recurrent models need.

    Examples
    --------
    >>> Schedule(full=2, quantized=3, a_only=1).epochs
    6
    """

    full: int = 30
    quantized: int = 30
    a_only: int = 5
    lr: float = 3e-3
    batch_size: int = 64
    lam: float = 0.5
    temperature: float = 2.0
    clip: Optional[float] = None

    def __post_init__(self):
        for name in ("full", "quantized", "a_only"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(f"{name} epochs must be a non-negative integer, got {value!r}")
        if not self.lr > 0 or self.batch_size < 1:
            raise InvalidInputError("lr must be positive and batch_size >= 1")
        if self.clip is not None and not self.clip > 0:
            raise InvalidInputError(f"clip must be positive, got {self.clip}")

    @property
    def epochs(self) -> int:
        """Epochs of an SPN model (all three phases)."""
        return self.full + self.quantized + self.a_only


def teacher_logits(teacher: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """``teacher(x)`` in evaluation mode, computed in batches without gradients.

    Examples
    --------
    >>> net = nn.Linear(3, 2)
    >>> teacher_logits(net, torch.zeros(5, 3), batch_size=2).shape
    torch.Size([5, 2])
    """
    was = teacher.training
    teacher.eval()
    with torch.no_grad():
        parts = [teacher(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    teacher.train(was)
    return torch.cat(parts)


def _epochs(model, data, epochs, lr, schedule, generator, soft_targets, tick):
    params = [p for p in model.parameters() if p.requires_grad]
    if not params or epochs == 0:
        return
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    n = len(data.x_train)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, schedule.batch_size):
            idx = order[start : start + schedule.batch_size]
            logits = model(data.x_train[idx])
            classes = logits.shape[-1]
            teacher = None if soft_targets is None else soft_targets[idx].reshape(-1, classes)
            loss = distillation_loss(logits.reshape(-1, classes), data.y_train[idx].reshape(-1), teacher,
                                     lam=schedule.lam, temperature=schedule.temperature)
            opt.zero_grad()
            loss.backward()
            if schedule.clip is not None:
                nn.utils.clip_grad_norm_(params, schedule.clip)
            opt.step()
        sched.step()
        tick(float(loss.detach()))


def train_model(
    model: nn.Module,
    data,
    schedule: Schedule = Schedule(),
    teacher: Optional[nn.Module] = None,
    seed: int = 0,
    callback: ProgressCallback = null_callback,
    label: str = "",
) -> nn.Module:
    """Train ``model`` with the paper's schedule (plain training if it has no SPN layers).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of ``data.x_train`` to logits ``(*, classes)``.
    data
        Any object with ``x_train`` and ``y_train`` tensors of the same
        length (targets ``(*)``, matching the logits without the last axis).
    schedule : Schedule
        Epochs per phase and optimiser settings.
    teacher : torch.nn.Module, optional
        Full-precision model to distil from (its logits on the training set
        are computed once).
    seed : int
        Seeds torch and the batch order: same seed, same model.
    callback : ProgressCallback
        One event per epoch (``engine="train-spn"``).
    label : str
        Prefix of the events' message.

    Returns
    -------
    torch.nn.Module
        ``model``, trained, in evaluation mode.  Models without SPN layers
        train for ``schedule.full`` epochs; SPN models go through
        :func:`~discovery.layers.spn.set_phase` ``"full"``, ``"quantized"``
        and ``"a_only"``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> data = SimpleNamespace(x_train=torch.randn(32, 4), y_train=torch.randint(0, 3, (32,)))
    >>> net = train_model(nn.Linear(4, 3), data, Schedule(full=1, batch_size=8))
    >>> net.training
    False
    """
    torch.manual_seed(as_seed(seed))
    generator = torch.Generator().manual_seed(as_seed(seed))
    soft = None if teacher is None else teacher_logits(teacher, data.x_train, schedule.batch_size)
    has_spn = any(True for _ in spn_modules(model))
    phases = [("full", schedule.full)]
    if has_spn:
        phases += [("quantized", schedule.quantized), ("a_only", schedule.a_only)]
    total = sum(e for _, e in phases)
    done = [0]
    model.train()
    for phase, epochs in phases:
        if has_spn:
            set_phase(model, phase)

        def tick(loss, phase=phase):
            done[0] += 1
            callback(ProgressEvent("train-spn", done[0], total, best=loss, message=f"{label} {phase}".strip()))

        lr = schedule.lr if phase != "a_only" else schedule.lr / 3
        _epochs(model, data, epochs, lr, schedule, generator, soft, tick)
    model.eval()
    return model


class StudyProgress:
    """One progress bar over several models trained one after another.

    Call the instance as the models' callback and :meth:`advance` after
    each model by the epochs it took.

    Examples
    --------
    >>> seen = []
    >>> bar = StudyProgress(10, seen.append)
    >>> bar(ProgressEvent("train-spn", 2, 4)); bar.advance(4); bar(ProgressEvent("train-spn", 1, 6))
    >>> [(e.done, e.total) for e in seen]
    [(2, 10), (5, 10)]
    """

    def __init__(self, total: int, callback: ProgressCallback = null_callback) -> None:
        self.total = int(total)
        self.offset = 0
        self.callback = callback

    def __call__(self, event: ProgressEvent) -> None:
        self.callback(ProgressEvent(event.engine, self.offset + event.done, self.total, best=event.best,
                                    message=event.message))

    def advance(self, epochs: int) -> None:
        """The next model's events start ``epochs`` further on."""
        self.offset += int(epochs)


def spn_multiplications(costs) -> int:
    """Multiplications of the SPN layers of a :class:`~discovery.codegen.costs.CostReport`.

    Examples
    --------
    >>> from discovery.codegen.costs import CostReport, LayerCost
    >>> rows = [LayerCost("a", "SPNLinear", 8, 20, 64), LayerCost("b", "Linear", 30, 29, 960)]
    >>> spn_multiplications(CostReport(multiplications=38, additions=49, layers=rows))
    8
    """
    return sum(layer.multiplications for layer in costs.layers if layer.kind.startswith("SPN"))
