"""Time limits are honoured in every phase, model building included (a fake clock: no timed asserts)."""


import numpy as np
import pytest

from discovery.algebra.ops import standard_scheme
from discovery.core.errors import NotFoundError
from discovery.core.problems import matmul
from solvers import brent, refine as refine_module
from solvers.brent import build_model
from solvers.refine import refine


class FakeClock:
    """perf_counter that advances ``step`` seconds per call."""

    def __init__(self, step: float):
        self.now = 0.0
        self.step = step
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        self.now += self.step
        return self.now


def test_model_building_stops_at_the_deadline(monkeypatch):
    clock = FakeClock(0.01)
    monkeypatch.setattr(brent.time, "perf_counter", clock)
    with pytest.raises(NotFoundError, match="building"):
        build_model(matmul(6, 6, 6), 216, time_limit=1.0)
    assert clock.calls < 200  # it stopped soon after the budget, not at the end of the build


def test_refine_of_a_rank_1000_scheme_stops_at_its_deadline(monkeypatch):
    clock = FakeClock(0.05)
    monkeypatch.setattr(brent.time, "perf_counter", clock)
    monkeypatch.setattr(refine_module.time, "perf_counter", clock)
    rng = np.random.default_rng(0)
    s = standard_scheme(matmul(10, 10, 10))
    res = refine(s.replace(U=rng.integers(-1, 2, (1000, 100))), time_limit=3)
    assert res.status == "not_found"
    assert clock.now < 3 + 20 * 0.05  # a handful of clock reads after the deadline


def test_large_schemes_skip_the_phases_that_cannot_be_interrupted():
    from solvers.refine import ALTERNATING_ENTRIES, GREEDY_ENTRIES, greedy_descent

    s = standard_scheme(matmul(10, 10, 10))
    assert s.rank * 100 * 100 > ALTERNATING_ENTRIES and s.rank * 100 ** 3 > GREEDY_ENTRIES
    assert greedy_descent(s.replace(W=np.zeros((1000, 100), dtype=int))).W.sum() == 0  # returned unchanged
