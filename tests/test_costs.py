"""Cost reports for schemes, layers and models; the energy table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from discovery.cli import main
from discovery.costs import (
    HOROWITZ_45NM,
    CostReport,
    OperationEnergy,
    energy_pj,
    format_report,
    model_costs,
    scheme_costs,
)
from discovery.errors import InvalidInputError
from discovery.formats import save_json
from discovery.known import strassen, strassen_winograd
from discovery.layers.spn import SPNConv2d, SPNLinear, set_phase

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


def test_model_costs_full_precision_counts_match_definitions():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, groups=2), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    r = model_costs(net, (2, 3, 6, 6))
    conv1 = 2 * 8 * 6 * 6 * 27
    bn = 2 * 8 * 6 * 6
    conv2 = 2 * 8 * 4 * 4 * 36
    fc = 2 * 128 * 5
    assert [layer.multiplications for layer in r.layers] == [conv1, bn, conv2, fc]
    assert r.multiplications == conv1 + bn + conv2 + fc
    assert r.layers[0].additions == 2 * 8 * 6 * 6 * 27  # 26 to sum + 1 bias
    assert r.size_bits == 32 * sum(p.numel() for p in net.parameters())
    assert net.training  # mode restored


def test_model_costs_asks_spn_layers_and_compares_with_reference():
    fp = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 10))
    spn = nn.Sequential(SPNConv2d(4, 8, 3, r=8, p=2, padding=1), nn.ReLU(), nn.Flatten(),
                        SPNLinear(8 * 16, 10, r=10))
    set_phase(spn, "quantized")
    r = model_costs(spn, (1, 4, 4, 4), reference=fp)
    assert r.multiplications == 4 * 8 + 10  # 4 tiles x r, plus r of the linear layer
    assert r.reference_multiplications == 4 * 8 * 16 * 9 + 8 * 16 * 10
    assert [layer.kind for layer in r.layers] == ["SPNConv2d", "SPNLinear"]
    assert r.size_bits < model_costs(fp, (1, 4, 4, 4)).size_bits / 8
    d = r.as_dict()
    assert d["layers"][0]["kind"] == "SPNConv2d"


def test_report_dataclass_energy_without_elimination():
    r = CostReport(multiplications=4, additions=2)
    assert r.energy_pj("int8") == pytest.approx(4 * 0.2 + 2 * 0.03)
    assert r.size_bytes is None


def test_bilinear_show_prints_costs(tmp_path, capsys):
    path = save_json(strassen_winograd(), tmp_path / "sw.json")
    assert main(["show", str(path)]) == 0
    text = capsys.readouterr().out
    assert "15 after eliminating common subexpressions" in text
    assert "fp32 39.4 pJ" in text


def test_model_costs_reads_fixed_layers_multiplication_protocol():
    from typing import NamedTuple

    class Count(NamedTuple):
        fast: int
        plain: int

    class Fixed(nn.Linear):
        def multiplications(self, shape):
            return Count(fast=7 * shape[0], plain=8 * shape[0])

    r = model_costs(nn.Sequential(Fixed(2, 4)), (3, 2))
    assert r.multiplications == 21
    assert r.layers[0].additions == 24 - 12  # the direct product's, a lower bound


def test_spn_additions_after_elimination():
    from discovery.costs import spn_additions_eliminated
    from discovery.cse import eliminate

    torch.manual_seed(0)
    spn = nn.Sequential(SPNConv2d(2, 4, 3, r=6, p=2, padding=1), nn.ReLU(), nn.Flatten(), SPNLinear(4 * 16, 5, r=5))
    set_phase(spn, "quantized")
    r = model_costs(spn, (2, 2, 4, 4), eliminate=True)
    assert r.additions_eliminated < r.additions
    lin = spn[3]
    f = lin.folded()
    per = eliminate(f["weight_b"].long().numpy()).additions + eliminate(f["weight_c"].long().numpy()).additions
    assert r.layers[1].additions_eliminated == spn_additions_eliminated(lin, (2, 64)) == 2 * (per + 5)
    assert r.layers[0].additions_eliminated <= r.layers[0].additions
    with pytest.raises(InvalidInputError, match="SPN layer"):
        spn_additions_eliminated(nn.Linear(2, 2), (1, 2))
