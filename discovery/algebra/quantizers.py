"""From real-valued factors to coefficients in a finite set, batched in torch.

The gradient search (:mod:`discovery.engines.spn`) learns real factors and
must end on exact coefficients.  This module holds the pieces it uses for
that, each working on whole batches of restarts (a leading dimension):

* :func:`grid` -- a coefficient set (``ternary``, ``int2``, ``dyadic``) as a
  sorted float tensor;
* :func:`nearest` -- round every entry to the nearest grid value;
* :func:`twn_ternary` -- the ternary quantiser of Li et al. 2016 ("Ternary
  Weight Networks") used by StrassenNets: threshold ``0.7 * mean|w|`` per
  restart and matrix, scale ``alpha`` = mean of the kept magnitudes;
* :func:`stochastic_round` -- round up with probability equal to the
  fractional position between the two neighbouring grid values;
* :func:`grid_distance` -- squared distance to the nearest grid value (the
  annealed penalty);
* :func:`balance_terms` -- use the rescaling symmetry
  ``u (x) v (x) w = (a u) (x) (b v) (x) (w / ab)`` so that ``max|u| = max|v| = 1``.

All coefficient sets here are dyadic rationals, so rounded factors are held
exactly by float tensors and sums of their products are exact in float64.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from discovery.core.coefficients import coefficient_values

__all__ = ["grid", "nearest", "twn_ternary", "stochastic_round", "grid_distance", "balance_terms"]


def grid(name, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """A coefficient set (a name, a list ``"0,1,-1/2"`` or values) as a sorted 1-D float tensor.

    Examples
    --------
    >>> grid("dyadic").tolist()
    [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
    >>> grid("0, 1, 1/4").tolist()
    [0.0, 0.25, 1.0]
    """
    values = sorted(float(v) for v in coefficient_values(name))
    return torch.tensor(values, dtype=dtype, device=device)


def nearest(w: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Every entry of ``w`` replaced by the nearest value of the grid ``values``.

    Ties go to the smaller grid value.

    Examples
    --------
    >>> nearest(torch.tensor([-0.7, 0.2, 0.6, 3.0]), grid("ternary", torch.float32)).tolist()
    [-1.0, 0.0, 1.0, 1.0]
    """
    midpoints = (values[1:] + values[:-1]) / 2
    return values[torch.bucketize(w, midpoints)]


def twn_ternary(w: torch.Tensor, factor: float = 0.7) -> tuple[torch.Tensor, torch.Tensor]:
    """Ternary codes and scales of Li et al. 2016, per leading index.

    For each ``w[b]`` (one restart's matrix) the threshold is
    ``delta = factor * mean|w[b]|``; the codes are ``sign(w) * (|w| > delta)``
    and ``alpha[b]`` is the mean magnitude of the entries kept.

    Returns
    -------
    codes : Tensor
        Same shape as ``w``, entries in {-1, 0, 1}.
    alpha : Tensor
        Shape ``(B, 1, ..., 1)``, broadcastable against ``w``.

    Examples
    --------
    >>> codes, alpha = twn_ternary(torch.tensor([[[0.9, -0.1, -1.1, 0.05]]]))
    >>> codes.tolist(), round(float(alpha), 3)
    ([[[1.0, 0.0, -1.0, 0.0]]], 1.0)
    """
    shape = [w.shape[0]] + [1] * (w.dim() - 1)  # TorchScript-friendly: the SPN layers script this
    magnitude = w.abs()
    delta = factor * magnitude.flatten(1).mean(dim=1).reshape(shape)
    keep = magnitude > delta
    codes = torch.where(keep, torch.sign(w), torch.zeros_like(w))
    kept = keep.flatten(1).sum(dim=1).clamp(min=1).reshape(shape)
    alpha = (magnitude * keep).flatten(1).sum(dim=1).reshape(shape) / kept
    return codes, alpha


def stochastic_round(w: torch.Tensor, values: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Round each entry to one of its two neighbouring grid values at random.

    An entry at fraction ``p`` of the way from the lower neighbour ``lo`` to
    the upper ``hi`` becomes ``hi`` with probability ``p`` (``uniform < p``),
    else ``lo``; entries outside the grid's range are clipped to it.
    ``uniform`` holds the random numbers in [0, 1), same shape as ``w``, so
    the caller controls the generator.

    Examples
    --------
    >>> g = grid("ternary")
    >>> stochastic_round(torch.tensor([0.25, 0.25, -2.0]), g, torch.tensor([0.1, 0.9, 0.5])).tolist()
    [1.0, 0.0, -1.0]
    """
    clipped = w.clamp(float(values[0]), float(values[-1]))
    upper = torch.searchsorted(values, clipped.contiguous(), right=False).clamp(1, len(values) - 1)
    lo, hi = values[upper - 1], values[upper]
    p = (clipped - lo) / (hi - lo)
    return torch.where(uniform < p, hi, lo)


def grid_distance(w: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Squared distance of each entry to its nearest grid value (differentiable in ``w``).

    Examples
    --------
    >>> grid_distance(torch.tensor([0.5, 1.0, -0.25]), grid("ternary")).tolist()
    [0.25, 0.0, 0.0625]
    """
    return (w - nearest(w, values).detach()) ** 2


def balance_terms(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor,
                  masks: Optional[Sequence[torch.Tensor]] = None) -> None:
    """Rescale each product term in place so that ``max|U[r]| = max|V[r]| = 1``.

    ``U`` is divided by ``a = max|U[r]|``, ``V`` by ``b = max|V[r]|`` and
    ``W`` multiplied by ``a * b``: the scheme's tensor is unchanged.  Terms
    holding a frozen entry (``masks``: boolean tensors like U, V, W) are left
    alone, so frozen grid values stay on the grid.

    Examples
    --------
    >>> U, V, W = torch.tensor([[[2.0, 0.0]]]), torch.tensor([[[0.5]]]), torch.tensor([[[1.0]]])
    >>> balance_terms(U, V, W)
    >>> U.tolist(), V.tolist(), W.tolist()
    ([[[1.0, 0.0]]], [[[1.0]]], [[[1.0]]])
    """
    with torch.no_grad():
        a = U.abs().amax(dim=-1, keepdim=True).clamp(min=1e-8)
        b = V.abs().amax(dim=-1, keepdim=True).clamp(min=1e-8)
        if masks is not None:
            fixed = torch.zeros_like(a, dtype=torch.bool)
            for m in masks:
                fixed |= m.any(dim=-1, keepdim=True)
            a = torch.where(fixed, torch.ones_like(a), a)
            b = torch.where(fixed, torch.ones_like(b), b)
        U.div_(a)
        V.div_(b)
        W.mul_(a * b)
