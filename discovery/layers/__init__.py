"""Algorithms as neural-network layers (PyTorch).

Fixed layers from verified exact schemes live in :mod:`discovery.layers.matmul`
(:class:`FastMatmul`, :class:`FastLinear`) and :mod:`discovery.layers.conv`
(:class:`WinogradConv2d`, :func:`convert`); StrassenNets layers with a
multiplication budget live in :mod:`discovery.layers.spn`.  Importing this package imports torch; the
top-level :mod:`discovery` package does not.
"""

from discovery.layers.conv import WinogradConv2d, convert, winograd_conv2d
from discovery.layers.matmul import FastLinear, FastMatmul, MultiplicationCount
from discovery.layers.spn import (
    SPNConv2d,
    SPNLinear,
    distillation_loss,
    set_phase,
    spn_modules,
    ternarize,
)

__all__ = [
    "FastLinear",
    "FastMatmul",
    "MultiplicationCount",
    "WinogradConv2d",
    "convert",
    "winograd_conv2d",
    "SPNConv2d",
    "SPNLinear",
    "distillation_loss",
    "set_phase",
    "spn_modules",
    "ternarize",
]
