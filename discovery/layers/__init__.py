"""Algorithms as neural-network layers (PyTorch).

StrassenNets layers with a multiplication budget live in
:mod:`discovery.layers.spn`.  Importing this package imports torch; the
top-level :mod:`discovery` package does not.
"""

from discovery.layers.spn import (
    SPNConv2d,
    SPNLinear,
    distillation_loss,
    set_phase,
    spn_modules,
    ternarize,
)

__all__ = [
    "SPNConv2d",
    "SPNLinear",
    "distillation_loss",
    "set_phase",
    "spn_modules",
    "ternarize",
]
