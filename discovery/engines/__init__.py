"""Search engines, one module each, behind :func:`discovery.search.search`.

``spn`` (gradient-trained sum-product network), ``lm`` (Levenberg--Marquardt
and rounding), ``flip`` (flip-graph random walks), ``cpsat`` (CP-SAT on the
Brent equations) and ``cooktoom`` (least squares and the Cook--Toom
construction).  What they return is defined in :mod:`~discovery.engines.base`.
"""
