"""Winograd-like convolution algorithms.

* :mod:`~discovery.winograd.cooktoom` -- the Cook--Toom construction from
  any distinct points, polymul by transposition, point recovery, the
  published best points;
* :mod:`~discovery.winograd.transforms` -- the Aᵀ, G, Bᵀ form and 2-D nesting;
* :mod:`~discovery.winograd.accuracy` -- measured float error and the
  ranking of point sets.
"""
