"""Search engines behind :func:`discovery.search.search`, one module each."""
