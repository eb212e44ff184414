import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def tmp_catalog(tmp_path, monkeypatch):
    """A fresh, empty catalog folder used as the default root."""
    root = tmp_path / "results"
    root.mkdir()
    monkeypatch.setenv("BILINEAR_RESULTS", str(root))
    return root
