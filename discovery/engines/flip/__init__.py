"""Engine ``flip``: random walks on the flip graph, compiled (Kauers & Moosbauer 2022).

A scheme is a sum of rank-one terms ``a (x) b (x) c``.  A *flip* rewrites two
terms that share a factor, ``a b c + a b' c' = a (b + b') c + a b' (c' - c)``;
a *reduction* merges two terms that share two factors (rank - 1); a *plus
transition* makes three terms of two (rank + 1) so that a walk stuck on a
plateau can escape (Arai, Ichikawa & Hukushima 2024).  Walks over F2, over Z
with coefficients in {-1, 0, 1} (no lifting needed) and over F3 (lifted by
Hensel lifting and rational reconstruction) run in a numba kernel on all
cores, each walk deterministic given ``(seed, walk index)``.

Modules: :mod:`~.kernel` (the compiled walk, flat arrays only),
:mod:`~.codec` (schemes <-> words), :mod:`~.walks` (the arrays of a
population), :mod:`~.meta` (starts: catalog, products, extend/project
between formats), :mod:`~.engine` (:func:`walk`, :func:`run`, options).

:data:`ENGINE` is the engine of the registry (``search(..., engine="flip")``,
``bilinear search --engine flip``); :func:`walk` is the same search as a
plain generator of ``(scheme, info)`` that returns its statistics.

Examples
--------
>>> from discovery.core.problems import matmul
>>> found, stats = drain(walk(matmul(2, 2, 2), 7, field="Z", seed=1, walks=2, threads=1, max_steps=20000))
>>> found[0][0].field, found[0][0].rank, stats["status"]
('Z', 7, 'found')
"""

from discovery.engines.flip.engine import ENGINE, FIELDS, FlipOptions, drain, ensure_compiled, run, walk
from discovery.engines.flip.meta import START_KEYWORDS, extend, project, resolve_start

__all__ = ["ENGINE", "run", "walk", "drain", "FlipOptions", "FIELDS", "START_KEYWORDS", "ensure_compiled", "extend",
           "project", "resolve_start"]
