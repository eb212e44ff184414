"""numba, or the same code in pure Python when numba cannot be used.

The walk kernel (:mod:`discovery.engines.flip.kernel`) is written once for
numba's ``nopython`` mode and decorated with :func:`njit` from here.  When
numba is missing, or when ``BILINEAR_FLIP_NOJIT=1`` is set (the engine sets it
and reloads the kernel after a failed compile), :func:`njit` returns the
function unchanged and :data:`prange` is ``range``: the kernel then runs as
plain Python over numpy scalars -- the same walks, thousands of times slower.
"""

from __future__ import annotations

import os

__all__ = ["njit", "prange", "ENABLED", "REASON", "set_threads", "max_threads"]

REASON = ""
ENABLED = os.environ.get("BILINEAR_FLIP_NOJIT", "") not in ("1", "true", "yes")
if not ENABLED:
    REASON = "BILINEAR_FLIP_NOJIT is set"

if ENABLED:
    try:
        import numba as _numba
    except Exception as exc:  # pragma: no cover - numba is a declared dependency
        ENABLED = False
        REASON = f"numba is not importable ({type(exc).__name__}: {exc})"

if ENABLED:
    def njit(*args, **kwargs):
        """``numba.njit`` with ``cache=True`` and bounds checks off."""
        kwargs.setdefault("cache", True)
        kwargs.setdefault("nogil", True)
        kwargs.setdefault("error_model", "numpy")
        if args and callable(args[0]) and len(args) == 1:
            return _numba.njit(**kwargs)(args[0])
        return _numba.njit(*args, **kwargs)

    prange = _numba.prange

    def set_threads(n: int) -> int:
        """Use ``n`` threads (capped at numba's pool size); return the number used."""
        n = max(1, min(int(n), int(_numba.config.NUMBA_NUM_THREADS)))
        _numba.set_num_threads(n)
        return n

    def max_threads() -> int:
        return int(_numba.config.NUMBA_NUM_THREADS)
else:
    def njit(*args, **kwargs):
        if args and callable(args[0]) and len(args) == 1:
            return args[0]
        return lambda f: f

    prange = range

    def set_threads(n: int) -> int:
        return 1

    def max_threads() -> int:
        return 1
