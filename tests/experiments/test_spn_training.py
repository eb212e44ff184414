"""The digits experiment: budgets checked before any training."""

import math

import pytest

from discovery.core.errors import InvalidInputError
from discovery.experiments.spn_training import digits_cnn, digits_study


@pytest.mark.parametrize("budget", [math.inf, math.nan, -1.0])
def test_digits_cnn_refuses_non_finite_budget(budget):
    with pytest.raises(InvalidInputError):
        digits_cnn(budget)


def test_digits_study_checks_budgets_before_training():
    calls = []
    with pytest.raises(InvalidInputError):
        digits_study([1.0, math.inf], callback=calls.append)
    assert calls == []  # nothing was trained


