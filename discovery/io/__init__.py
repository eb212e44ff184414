"""Schemes on disk: file formats (:mod:`~discovery.io.formats`) and the
verified catalog in ``results/`` (:mod:`~discovery.io.catalog`)."""
