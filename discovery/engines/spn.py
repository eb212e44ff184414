"""Gradient search for exact schemes: the StrassenNets sum-product network.

A bilinear map is a 2-layer sum-product network (Tschannen, Khanna and
Anandkumar, "StrassenNets", ICML 2018)::

    z = W.T @ ((U @ x) * (V @ y))        (R hidden products)

This engine learns U, V, W by gradient descent (Adam) from many random starts
at once -- the restarts are a leading tensor dimension of one batched
computation -- and brings them to coefficients in a finite set
(``ternary`` {-1, 0, 1}, ``int2`` {-2..2}, ``dyadic`` {0, ±1/2, ±1, ±2}).
Every rounded restart is checked exactly; exact ones become verified
:class:`~discovery.core.scheme.Scheme` objects, and those wrong in only a few
tensor entries are returned as :class:`~discovery.search.NearMiss` for the
exact solvers.

Losses
------
``tensor``
    ``||sum_r U[r] (x) V[r] (x) W[r] - T||^2`` (Frobenius), the expectation of
    the samples loss for standard-normal operands.
``samples``
    The paper's setting: random operand pairs ``(x, y)`` with targets
    ``z = T(x, y)``, mean over the pairs of the squared output error.  A fixed
    set of ``samples`` pairs is drawn once (``fresh_samples=False``) or a new
    one every step (``fresh_samples=True``).

Quantizers (how real factors become exact coefficients)
-------------------------------------------------------
``ste``
    The paper's recipe: full-precision pre-training, then training with a
    quantized forward pass and the straight-through gradient to the
    full-precision weights.  For ``ternary`` the forward pass is the
    ternary-weight-network quantizer of Li et al. 2016 (threshold
    ``0.7 * mean|w|`` per restart and matrix, times its scale ``alpha``); for
    other sets it is rounding to the nearest value.  The result is the
    quantized codes.  No sparsity phase: this is the baseline.
``anneal``
    Pre-training, an L1 sparsity phase (which pulls the solution to a sparse,
    nearly discrete point of its symmetry orbit), rescaling of each term
    (``max|u| = max|v| = 1``), then a penalty pulling every weight to its
    nearest grid value with a weight annealed geometrically from ``1e-3`` to
    1, and finally progressive rounding: entries within 0.1 of a grid value
    are frozen there while the rest keep descending.  Rounded to the nearest
    values at the end.
``stochastic``
    Pre-training and sparsity as above, then progressive stochastic rounding:
    in four rounds the free entries closest to the grid are rounded up with
    probability equal to their fractional position between the two
    neighbouring grid values (down otherwise) and frozen, and the remaining
    entries re-descend on the loss alone.

Each restart's rounded factors are tried twice -- as they are and after the
term rescaling -- and the better is kept.

Refinement (``refine=True``, the default)
-----------------------------------------
A rounded restart wrong in at most ``refine_wrong`` entries goes to a worker
thread (one per spare core) while the next batch trains.  With
``repair="flip"`` (default, integer sets) it first gets one rank-one
correction term per wrong entry -- an exact scheme of rank ``R + w`` -- and
flip-graph walks over Z bring it back to rank ``R``
(:func:`discovery.engines.flip.repair.repair`); what is left of the slice
goes to CP-SAT's neighbourhood search (:func:`solvers.refine.refine`).  The
restarts stuck at loss 1 are wrong in one entry that needs a change of
structure, which CP-SAT's neighbourhoods do not reach and a few thousand flips
do.  The tally counts every restart once: ``exact_rounded``,
``exact_refined`` (``refined_flip`` + ``refined_cpsat``) or ``wrong``.

Determinism: restart ``i`` of a run with seed ``s`` starts from a generator
seeded by ``(s, i)`` alone and sees the same operand samples and rounding
draws whatever the batch it runs in, so the same seed gives the same result
on the same machine, and a restart run alone (``first_restart=i,
restarts=1``) reproduces what it did inside a batch.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch

from discovery.core.coefficients import coefficient_values
from discovery.core.errors import InvalidInputError
from discovery.algebra.quantizers import balance_terms, grid, nearest, stochastic_round, twn_ternary
from discovery.core.problems import Problem
from discovery.core.progress import ProgressCallback, ProgressEvent
from discovery.core.scheme import Scheme
from solvers.refine import refine
from discovery.engines.flip.repair import repair as flip_repair
from discovery.engines.base import (
    Candidate,
    Engine,
    EngineOptions,
    NearMiss,
    Tally,
    check_coefficients,
    coefficient_domain_check,
    domain_of,
    option,
)

__all__ = ["ENGINE", "SPNOptions", "run", "LOSSES", "QUANTIZERS", "Config"]

NAME = "spn"
LOSSES = ("tensor", "samples")
QUANTIZERS = ("ste", "anneal", "stochastic")
REPAIRS = ("flip", "none")

#: Fractions of the step budget per phase: pre-training, sparsity, quantization, polish.
_SCHEDULE = {
    "ste": (0.3, 0.3, 0.4, 0.0),
    "anneal": (0.3, 0.3, 0.3, 0.1),
    "stochastic": (0.3, 0.3, 0.0, 0.4),
}
_STOCHASTIC_ROUNDS = 4
_FREEZE_TOL = 0.1
_FREEZE_EVERY = 10
_BALANCE_EVERY = 50
_PENALTY_START, _PENALTY_END = 1e-3, 1.0
_EXACT_TOL = 1e-9  # rounded factors are dyadic: their reconstruction is exact in float64
#: Pre-training's learning rate decays geometrically from 2.5 lr to 0.5 lr:
#: the larger start escapes more of the loss-1 plateaus (one tensor entry left out).
_LR_PRE_START, _LR_PRE_END = 2.5, 0.5


@dataclass(frozen=True)
class Config:
    """The settings of one run (validated), recorded in provenance."""

    loss: str
    quantizer: str
    coefficients: str
    restarts: int
    batch: int
    steps: int
    lr: float
    init_scale: float
    weight_decay: float
    sparsity: float
    samples: int
    fresh_samples: bool
    near_miss_threshold: int
    schedule: tuple


def _default_steps(problem: Problem, rank: int) -> int:
    nx, ny, nz = problem.shape
    size = rank * (nx + ny + nz)  # number of coefficients
    # 3000 for 2x2x2 r7, 9450 for 2x3x3 r15, ~29000 for 3x3x3 r23 (fewer finish there)
    return int(min(50000, max(3000, 30 * size * max(1.0, size / 400))))


def _check_schedule(schedule: Any) -> tuple:
    try:
        fractions = tuple(float(f) for f in schedule)
    except (TypeError, ValueError):
        raise InvalidInputError(f"schedule must be 4 fractions, got {schedule!r}") from None
    if len(fractions) != 4 or any(not (0 <= f <= 1) for f in fractions) or sum(fractions) > 1 + 1e-9:
        raise InvalidInputError(f"schedule must be 4 fractions in [0, 1] summing to at most 1, got {schedule!r}")
    return fractions


def _device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"unknown torch device {device!r}") from None


def _restart_generator(seed: int, index: int, device: torch.device) -> torch.Generator:
    """A generator that depends on (seed, restart index) only."""
    mixed = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device="cpu").manual_seed(int(mixed) & 0x7FFF_FFFF_FFFF_FFFF)


# ----------------------------------------------------------------- the losses
def _reconstruct(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """``sum_r U[b, r] (x) V[b, r] (x) W[b, r]`` for every restart ``b``."""
    return torch.einsum("bri,brj,brk->bijk", U, V, W)


class _Loss:
    """Per-restart loss values and their gradients, computed by hand.

    Hand-written gradients (a few batched matrix products) instead of
    autograd keep the per-step overhead small, which is what limits speed on
    problems this size.
    """

    def __init__(self, kind: str, T: torch.Tensor, samples: int, fresh: bool, seed: int):
        self.kind = kind
        self.T = T
        self.shape = tuple(T.shape)
        self.T2 = T.reshape(self.shape[0] * self.shape[1], self.shape[2])
        self.samples = samples
        self.fresh = fresh
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """Restart the operand stream: every batch sees the same samples."""
        if self.kind != "samples":
            return
        self.gen = torch.Generator(device="cpu").manual_seed(self.seed)
        self.xyz = self._draw()

    def _draw(self):
        nx, ny, _ = self.shape
        x = torch.randn(self.samples, nx, generator=self.gen, dtype=torch.float64)
        y = torch.randn(self.samples, ny, generator=self.gen, dtype=torch.float64)
        x, y = x.to(self.T.device, self.T.dtype), y.to(self.T.device, self.T.dtype)
        z = torch.einsum("ni,nj,ijk->nk", x, y, self.T)
        return x, y, z

    def value(self, U, V, W) -> torch.Tensor:
        """The loss of every restart, shape ``(B,)``."""
        if self.kind == "tensor":
            return ((_reconstruct(U, V, W) - self.T) ** 2).sum(dim=(1, 2, 3))
        x, y, z = self.xyz
        pred = torch.bmm((x @ U.transpose(1, 2)) * (y @ V.transpose(1, 2)), W)
        return ((pred - z) ** 2).sum(dim=2).mean(dim=1)

    def gradient(self, U, V, W) -> torch.Tensor:
        """d(loss)/d[U | V | W] of every restart, packed like the factors."""
        B, R, nx = U.shape
        ny, nz = V.shape[2], W.shape[2]
        if self.kind == "tensor":
            UV = (U.unsqueeze(3) * V.unsqueeze(2)).reshape(B, R, nx * ny)
            E = torch.bmm(UV.transpose(1, 2), W).sub_(self.T2).mul_(2.0)  # (B, nx*ny, nz)
            gW = torch.bmm(UV, E)
            M = torch.bmm(W, E.transpose(1, 2)).reshape(B, R, nx, ny)  # (B, R, nx, ny)
            gU = torch.matmul(M, V.unsqueeze(3)).squeeze(3)
            gV = torch.matmul(M.transpose(2, 3), U.unsqueeze(3)).squeeze(3)
            return torch.cat((gU, gV, gW), dim=2)
        if self.fresh:
            self.xyz = self._draw()
        x, y, z = self.xyz
        a = x @ U.transpose(1, 2)  # (B, N, R)
        c = y @ V.transpose(1, 2)
        m = a * c
        dpred = torch.bmm(m, W).sub_(z).mul_(2.0 / x.shape[0])  # (B, N, nz)
        gW = torch.bmm(m.transpose(1, 2), dpred)
        dm = torch.bmm(dpred, W.transpose(1, 2))
        gU = torch.matmul((dm * c).transpose(1, 2), x)
        gV = torch.matmul((dm * a).transpose(1, 2), y)
        return torch.cat((gU, gV, gW), dim=2)


class _Adam:
    """Adam (Kingma and Ba) on one tensor, with entries that can be frozen."""

    def __init__(self, p: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.p, self.lr, (self.b1, self.b2), self.eps = p, lr, betas, eps
        self.m = torch.zeros_like(p)
        self.v = torch.zeros_like(p)
        self.t = 0

    def step(self, g: torch.Tensor) -> None:
        self.t += 1
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        c1 = 1 - self.b1**self.t
        c2 = 1 - self.b2**self.t
        denom = (self.v / c2).sqrt_().add_(self.eps)
        self.p.addcdiv_(self.m, denom, value=-self.lr / c1)

    def freeze(self, mask: torch.Tensor) -> None:
        """Frozen entries get no momentum (and, with zero gradient, no update)."""
        self.m.masked_fill_(mask, 0.0)


# --------------------------------------------------------------- one batch
class _Deadline:
    def __init__(self, time_limit: Optional[float], start: float):
        self.at = None if time_limit is None else start + time_limit
        self.hit = False

    def passed(self) -> bool:
        if self.at is not None and time.monotonic() >= self.at:
            self.hit = True
        return self.hit


def _train_batch(cfg: Config, rank: int, T: torch.Tensor, indices: list[int], seed: int,
                 loss_fn: _Loss, deadline: _Deadline, report: Callable[[str], None]):
    """Descend one batch of restarts.

    Returns the continuous factors ``(U, V, W)`` and a list of candidate
    roundings, each a tuple ``(U, V, W)`` of grid-valued tensors.
    """
    device, dtype = T.device, T.dtype
    nx, ny, nz = T.shape
    n = nx + ny + nz
    values = grid(cfg.coefficients, dtype=dtype, device=device)
    gens = [_restart_generator(seed, i, device) for i in indices]
    # the three factors of every restart live in one packed tensor P = [U | V | W]
    P = torch.stack([torch.randn(rank, n, generator=g, dtype=torch.float64) for g in gens])
    P = P.mul_(cfg.init_scale).to(device, dtype)
    frozen = torch.zeros_like(P, dtype=torch.bool)

    def split(X):
        return X[..., :nx], X[..., nx:nx + ny], X[..., nx + ny:]

    U, V, W = split(P)

    def loss_gradient(X) -> torch.Tensor:
        return loss_fn.gradient(*split(X))

    n_pre, n_sparse, n_quant, n_polish = (int(round(f * cfg.steps)) for f in cfg.schedule)
    opt = _Adam(P, cfg.lr)

    # phase 1 (+2): full-precision pre-training with decaying weight decay, then L1 sparsity
    report("pre-training")
    for s in range(n_pre + n_sparse):
        if deadline.passed():
            break
        G = loss_gradient(P)
        wd = cfg.weight_decay * max(0.0, 1.0 - s / max(1, n_pre + n_sparse))
        opt.lr = cfg.lr * _LR_PRE_START * (_LR_PRE_END / _LR_PRE_START) ** (s / max(1, n_pre + n_sparse))
        if wd:
            G.add_(P, alpha=2 * wd)
        if s >= n_pre and cfg.sparsity:
            G.add_(torch.sign(P), alpha=cfg.sparsity)
        opt.step(G)

    if cfg.quantizer == "ste":
        report("straight-through")
        opt.lr = cfg.lr
        balance_terms(U, V, W)
        ternary = cfg.coefficients == "ternary"

        def quantize(X, codes_only=False):
            if not ternary:
                return nearest(X, values)
            parts = []
            for part in split(X):
                codes, alpha = twn_ternary(part)
                parts.append(codes if codes_only else codes * alpha)
            return torch.cat(parts, dim=2)

        for s in range(n_quant):
            if deadline.passed():
                break
            opt.step(loss_gradient(quantize(P)))  # straight-through: gradient at Q applied to P
        return split(P), [split(quantize(P, codes_only=True))]

    opt.lr = cfg.lr
    balance_terms(U, V, W)
    if cfg.quantizer == "anneal":
        report("annealing")
        for s in range(n_quant + n_polish):
            if deadline.passed():
                break
            if s < n_quant and s % _BALANCE_EVERY == 0:
                balance_terms(U, V, W)
            f = min(1.0, s / max(1, n_quant))
            lam = _PENALTY_START * (_PENALTY_END / _PENALTY_START) ** f
            G = loss_gradient(P)
            G.add_(P - nearest(P, values), alpha=2 * lam)
            G.masked_fill_(frozen, 0.0)
            opt.step(G)
            if s >= n_quant and (s - n_quant) % _FREEZE_EVERY == 0:
                if s == n_quant:
                    report("progressive rounding")
                Q = nearest(P, values)
                frozen |= (P - Q).abs() < _FREEZE_TOL
                P.copy_(torch.where(frozen, Q, P))
                opt.freeze(frozen)
    else:  # stochastic
        report("stochastic rounding")
        per_round = max(1, n_polish // _STOCHASTIC_ROUNDS)
        for k in range(1, _STOCHASTIC_ROUNDS + 1):
            if deadline.passed():
                break
            _freeze_stochastic(P, frozen, values, gens, k / _STOCHASTIC_ROUNDS)
            opt.freeze(frozen)
            if k == _STOCHASTIC_ROUNDS:
                break
            for s in range(per_round):
                if deadline.passed():
                    break
                G = loss_gradient(P)
                G.masked_fill_(frozen, 0.0)
                opt.step(G)

    plain = split(nearest(P, values))
    Pb = P.clone()
    balance_terms(*split(Pb))
    balanced = split(nearest(Pb, values))
    return split(P), [plain, balanced]


def _freeze_stochastic(p: torch.Tensor, frozen: torch.Tensor, values: torch.Tensor,
                       gens: list[torch.Generator], fraction: float) -> None:
    """Freeze the free entries closest to the grid (up to ``fraction`` of all) at stochastic roundings."""
    B = p.shape[0]
    flat_p, flat_m = p.view(B, -1), frozen.view(B, -1)
    n = flat_p.shape[1]
    target = int(math.ceil(fraction * n))
    dist = (flat_p - nearest(flat_p, values)).abs().masked_fill(flat_m, -1.0)
    order = torch.argsort(dist, dim=1, stable=True)
    rank_of = torch.empty_like(order)
    rank_of.scatter_(1, order, torch.arange(n, device=p.device).expand(B, n))
    choose = rank_of < target  # frozen ones sort first (distance -1)
    uniform = torch.stack([torch.rand(n, generator=g, dtype=torch.float64) for g in gens]).to(p.device, p.dtype)
    rounded = stochastic_round(flat_p, values, uniform)
    new = choose & ~flat_m
    flat_p.copy_(torch.where(new, rounded, flat_p))
    flat_m |= choose


# ---------------------------------------------------------- exact schemes
def _to_exact(m: np.ndarray, values: tuple) -> np.ndarray:
    """Grid-valued floats as the exact grid values they stand for."""
    floats = np.array([float(v) for v in values])
    idx = np.abs(np.asarray(m, dtype=np.float64)[..., None] - floats).argmin(axis=-1)
    out = np.empty(m.shape, dtype=object)
    for pos, i in np.ndenumerate(idx):
        v = values[int(i)]
        out[pos] = int(v) if v.denominator == 1 else v
    return out


def _make_scheme(problem: Problem, factors, values: tuple, field: str, meta: dict) -> Scheme:
    U, V, W = (_to_exact(f, values) for f in factors)
    return Scheme(problem, U, V, W, field, meta)


# ------------------------------------------------------------------ the run
def _check_schedule_option(value: Any, name: str) -> Optional[tuple]:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    return _check_schedule(value)


def _check_device(value: Any, name: str) -> Optional[str]:
    if value is not None:
        _device(value)
    return value


@dataclass(frozen=True)
class SPNOptions(EngineOptions):
    """Options of the ``spn`` engine (see the module docstring)."""

    engine = NAME

    loss: str = option("tensor", choices=LOSSES, help="tensor: ||sum U(x)V(x)W - T||^2; samples: the paper's "
                       "random operand pairs")
    quantizer: str = option("anneal", choices=QUANTIZERS,
                            help="how real factors become exact coefficients (ste: the paper's baseline)")
    coefficients: str = option("ternary", check=check_coefficients, metavar="SET",
                               help="coefficient set: ternary, int2, dyadic, rational (p/q, |p| <= 2, "
                                    "q | 24) or a list like 0,1,-1,1/2,-1/2")
    restarts: int = option(32, minimum=1, help="random restarts in total")
    batch: Optional[int] = option(None, minimum=1, help="restarts advanced together (default min(restarts, 64))")
    steps: Optional[int] = option(None, minimum=10, help="gradient steps per restart (default grows with the "
                                  "problem: 3000 for 2x2x2 rank 7, 28923 for 3x3x3 rank 23)")
    lr: float = option(0.02, minimum=0.0, exclusive_minimum=True, help="Adam learning rate")
    init_scale: float = option(0.3, minimum=0.0, exclusive_minimum=True, help="std of the random start")
    weight_decay: float = option(1e-3, minimum=0.0, help="initial L2 weight decay of pre-training")
    sparsity: Optional[float] = option(None, minimum=0.0, help="L1 weight of the sparsity phase (default 0.03; "
                                       "0 for ste)")
    samples: Optional[int] = option(None, minimum=1, help="operand pairs per step for loss=samples "
                                    "(default 4 nx ny)")
    fresh_samples: bool = option(False, help="draw new operand pairs every step")
    near_miss_threshold: Optional[int] = option(None, minimum=0, help="rounded restarts wrong in at most this "
                                                "many tensor entries are near misses (default max(4, size/16))")
    first_restart: int = option(0, minimum=0, help="index of the first restart (restart i depends only on "
                                "the seed and i)")
    schedule: Any = option(None, check=_check_schedule_option, metavar="F,F,F,F",
                           help="fractions of the steps for pre-training, sparsity, quantisation, polish")
    device: Optional[str] = option(None, check=_check_device, help="torch device (default CUDA when available)")
    threads: Optional[int] = option(1, minimum=1, help="torch CPU threads during the run (none: keep torch's)")
    refine: bool = option(True, help="hand near misses to CP-SAT refinement (solvers.refine), overlapping "
                          "with the next batch")
    refine_seconds: float = option(10.0, minimum=0.0, exclusive_minimum=True,
                                   help="time slice of CP-SAT refinement per near miss")
    refine_wrong: int = option(16, minimum=1, help="refine near misses wrong in at most this many entries")
    repair: str = option("flip", choices=REPAIRS,
                         help="flip: a near miss first gets one correction term per wrong entry and flip-graph "
                              "walks over Z back to the rank (half the slice; integer sets only), then CP-SAT; "
                              "none: CP-SAT alone")

    def values(self) -> tuple:
        """The coefficient set as sorted Fractions."""
        return coefficient_values(self.coefficients)

    def field(self) -> str:
        """Z for integer sets, Q for sets with fractions."""
        return "Z" if all(v.denominator == 1 for v in self.values()) else "Q"

    def accepts(self, scheme: Scheme) -> Optional[str]:
        return coefficient_domain_check(scheme, self.values(), (self.field(),))


def run(problem: Problem, rank: int, options: SPNOptions, *, seed: int = 0, time_limit: Optional[float] = None,
        callback: Optional[ProgressCallback] = None) -> Iterator:
    """Search exact rank-``rank`` schemes of ``problem`` by batched gradient descent.

    The engine generator of the contract in :mod:`discovery.engines.base`:
    yields a :class:`~discovery.engines.base.Candidate` for every restart whose
    rounding is exact, a :class:`~discovery.engines.base.NearMiss` for those
    wrong in at most ``near_miss_threshold`` entries, and a
    :class:`~discovery.engines.base.Tally` after every batch.  The time limit
    is checked between steps; restarts interrupted by it are still rounded
    and checked.

    Examples
    --------
    >>> from discovery.search import search
    >>> from discovery.core.problems import polymul
    >>> result = search(polymul(2, 2), 3, engine="spn", seed=0, restarts=4, steps=3000)
    >>> result.found, result.schemes[0].rank
    (True, 3)
    """
    previous = torch.get_num_threads()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    try:
        yield from _run(problem, rank, options, seed, time_limit, callback)
    finally:
        torch.set_num_threads(previous)


def _refine_near_miss(near: NearMiss, domain, seconds: float, seed: int, deadline: Optional[float],
                      repair: str, accepts) -> Optional[tuple[Scheme, str]]:
    """One refinement (run in a worker thread; CP-SAT and the flip kernel release the GIL).

    The flip repair first (it stops at its first find, usually within a
    second), then CP-SAT's neighbourhood search for the rest of the slice.
    The slice is cut to what is left of the run's time limit when the
    refinement *starts* (it may have waited in the queue).  Returns
    ``(scheme, method)`` or None."""
    t0 = time.monotonic()
    if deadline is not None:
        seconds = min(seconds, deadline - t0)
    if repair == "flip" and near.scheme.field == "Z" and seconds >= 0.1:
        found = flip_repair(near.scheme, near.scheme.rank, seconds=seconds / 2, seed=seed,
                            accepts=lambda s: accepts(s) is None)
        if found is not None:
            return found, "flip"
    left = seconds - (time.monotonic() - t0)
    if left >= 0.1:
        got = refine(near.scheme, domain=domain, time_limit=left, seed=seed, approx=near.approx, workers=1)
        if got.exact:
            return got.scheme, "cpsat"
    return None


def _run(problem: Problem, rank: int, o: SPNOptions, seed: int, time_limit, callback) -> Iterator:
    start = time.monotonic()
    restarts = o.restarts
    batch = min(restarts, 64) if o.batch is None else o.batch
    steps = _default_steps(problem, rank) if o.steps is None else o.steps
    sparsity = (0.0 if o.quantizer == "ste" else 0.03) if o.sparsity is None else o.sparsity
    nx, ny, nz = problem.shape
    threshold = max(4, nx * ny * nz // 16) if o.near_miss_threshold is None else o.near_miss_threshold
    values = o.values()
    cfg = Config(
        loss=o.loss, quantizer=o.quantizer, coefficients=o.coefficients, restarts=restarts, batch=batch,
        steps=steps, lr=o.lr, init_scale=o.init_scale, weight_decay=o.weight_decay, sparsity=sparsity,
        samples=4 * nx * ny if o.samples is None else o.samples, fresh_samples=o.fresh_samples,
        near_miss_threshold=threshold,
        schedule=_SCHEDULE[o.quantizer] if o.schedule is None else o.schedule,
    )
    dev = _device(o.device)
    dtype = torch.float64 if dev.type == "cpu" else torch.float32
    field = o.field()
    domain = domain_of(o.coefficients)

    T = torch.tensor(problem.tensor(), dtype=dtype, device=dev)
    T64 = torch.tensor(problem.tensor(), dtype=torch.float64)
    loss_fn = _Loss(cfg.loss, T, cfg.samples, cfg.fresh_samples, seed)
    deadline = _Deadline(time_limit, start)
    emit = callback or (lambda event: None)
    best_loss = math.inf
    # what became of every restart: exact after rounding, exact after refinement, or still wrong
    counts = {"exact_rounded": 0, "exact_refined": 0, "refined_cpsat": 0, "refined_flip": 0}
    refining: dict = {}  # future -> (near miss, restart index)
    # one refinement beside the batch's torch thread, more on a machine with more cores
    pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1)) if o.refine else None

    def tally(done: int) -> Tally:
        stats = {"device": str(dev), "steps": steps, "batch": batch, "time_limit_hit": deadline.hit,
                 "refining": len(refining), **counts, "wrong": done - counts["exact_rounded"] - counts["exact_refined"]}
        return Tally(done, None if best_loss == math.inf else best_loss, stats)

    def message(done: int) -> str:
        wrong = done - counts["exact_rounded"] - counts["exact_refined"]
        return (f"exact {counts['exact_rounded']} rounded + {counts['exact_refined']} refined, {wrong} wrong"
                + (f", {len(refining)} refining" if refining else ""))

    def finished(wait: bool) -> Iterator:
        """Refinements that have ended (all of them when ``wait``), as candidates, in the order they
        were started (so the order of the results does not depend on thread timing)."""
        for future in list(refining):  # dicts keep insertion order
            if not (wait or future.done()):
                break
            near, index = refining.pop(future)
            try:
                got = future.result()
            except InvalidInputError:
                continue
            if got is not None:
                found, method = got
                counts["exact_refined"] += 1
                counts[f"refined_{method}"] += 1
                yield Candidate(found, time.monotonic() - start,
                                {"restart": index, "steps": steps, "refined": True, "refined_by": method,
                                 "wrong_before": near.wrong})

    done = 0
    emit(ProgressEvent(NAME, 0, restarts, 0, None, "starting"))
    try:
        while done < restarts and not deadline.passed():
            indices = list(range(o.first_restart + done, o.first_restart + min(restarts, done + batch)))

            def report(phase: str):
                emit(ProgressEvent(NAME, done, restarts, counts["exact_rounded"] + counts["exact_refined"],
                                   None if best_loss == math.inf else best_loss, f"{phase}; {message(done)}"))

            params, candidates = _train_batch(cfg, rank, T, indices, seed, loss_fn, deadline, report)
            final = loss_fn.value(*params).cpu()
            wrong = torch.stack([
                ((_reconstruct(*(c.to("cpu", torch.float64) for c in cand)) - T64).abs() > _EXACT_TOL)
                .sum(dim=(1, 2, 3)) for cand in candidates
            ])  # (candidates, B)
            choice = wrong.argmin(dim=0)
            finite = final[torch.isfinite(final)]
            if finite.numel():
                best_loss = min(best_loss, float(finite.min()))
            approx = [p.cpu().numpy() for p in params]
            items = []
            for j, index in enumerate(indices):
                c = int(choice[j])
                errors = int(wrong[c, j])
                if errors > cfg.near_miss_threshold and not (o.refine and errors <= o.refine_wrong):
                    continue
                factors = [m[j].cpu().numpy() for m in candidates[c]]
                scheme = _make_scheme(problem, factors, values, field, {})
                info = {"restart": index, "steps": steps}
                if errors == 0:
                    counts["exact_rounded"] += 1
                    items.append(Candidate(scheme, time.monotonic() - start, info))
                    continue
                items.append(NearMiss(scheme, errors, tuple(a[j] for a in approx), info))
            done += len(indices)
            yield tally(done)
            yield from items
            # refinements start after the exact ones are out: a caller that has enough stops first
            for near in items:
                if pool is None or not isinstance(near, NearMiss) or near.wrong > o.refine_wrong:
                    continue
                if deadline.at is None or deadline.at - time.monotonic() > 0.1:
                    index = near.info["restart"]
                    refining[pool.submit(_refine_near_miss, near, domain, o.refine_seconds, seed + index,
                                         deadline.at, o.repair, o.accepts)] = (near, index)
            yield from finished(wait=False)
            emit(ProgressEvent(NAME, done, restarts, counts["exact_rounded"] + counts["exact_refined"],
                               None if best_loss == math.inf else best_loss,
                               ("time limit; " if deadline.hit else "") + message(done)))
        yield from finished(wait=True)
        yield tally(done)
        emit(ProgressEvent(NAME, done, restarts, counts["exact_rounded"] + counts["exact_refined"],
                           None if best_loss == math.inf else best_loss, message(done)))
    finally:  # a refinement in flight ends within its time slice; nothing waits for it
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


ENGINE = Engine(
    name=NAME,
    summary="StrassenNets gradient search: a ternary sum-product network trained from random restarts, rounded",
    options=SPNOptions,
    run=run,
)
