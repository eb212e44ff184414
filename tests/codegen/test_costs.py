"""Cost reports for schemes, layers and models; the energy table."""

from __future__ import annotations

import pytest
import torch

from discovery.codegen.costs import (
    HOROWITZ_45NM,
    CostReport,
    OperationEnergy,
    energy_pj,
    scheme_costs,
)
from discovery.cli.sections import format_report
from discovery.core.errors import InvalidInputError
from discovery.algebra.literature import strassen, strassen_winograd

torch.set_num_threads(1)


def test_default_table_is_horowitz_45nm():
    assert HOROWITZ_45NM["fp32"] == OperationEnergy(3.7, 0.9)
    assert HOROWITZ_45NM["int8"] == OperationEnergy(0.2, 0.03)
    # the trade the paper is about: a multiplication costs 3-30x an addition
    for precision in ("fp32", "int8"):
        assert 3 <= HOROWITZ_45NM[precision].ratio <= 30


def test_energy_uses_the_table_and_users_can_change_it():
    assert energy_pj(10, 100, "int8") == pytest.approx(10 * 0.2 + 100 * 0.03)
    custom = {"mcu": OperationEnergy(mult=32.0, add=1.0)}
    assert energy_pj(2, 3, "mcu", custom) == 67.0
    assert energy_pj(2, 3, "mcu", {"mcu": (32.0, 1.0)}) == 67.0
    with pytest.raises(InvalidInputError, match="no energy figures"):
        energy_pj(1, 1, "fp64")
    with pytest.raises(InvalidInputError, match="non-negative"):
        OperationEnergy(-1.0, 1.0)


def test_scheme_costs_naive_and_eliminated():
    r = scheme_costs(strassen_winograd())
    assert (r.multiplications, r.additions, r.additions_eliminated) == (7, 24, 15)
    assert (r.reference_multiplications, r.reference_additions) == (8, 4)
    assert r.energy_pj("fp32") == pytest.approx(7 * 3.7 + 15 * 0.9)
    assert r.energy_pj("fp32", eliminated=False) == pytest.approx(7 * 3.7 + 24 * 0.9)
    assert scheme_costs(strassen()).additions_eliminated <= 18
    text = "\n".join(format_report(r))
    assert "12.5% fewer" in text and "15 after eliminating" in text


def test_report_dataclass_energy_without_elimination():
    r = CostReport(multiplications=4, additions=2)
    assert r.energy_pj("int8") == pytest.approx(4 * 0.2 + 2 * 0.03)
    assert r.size_bytes is None


