"""Set-up of a pool worker; kept free of heavy imports so that it runs first.

Workers ignore SIGINT: Ctrl-C reaches the whole process group, and the
coordinator, not each worker, decides what to stop (it ends the pool, and
the units in flight are simply not journaled).
"""

from __future__ import annotations

import signal

__all__ = ["init_worker"]


def init_worker() -> None:
    """Initializer of the local process pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
