"""Operation counts of torch models (``discovery.layers.costs``)."""

import pytest
import torch
from torch import nn

from discovery.algebra.literature import strassen_winograd
from discovery.codegen.cse import eliminate
from discovery.core.errors import InvalidInputError
from discovery.layers.costs import model_costs, spn_additions_eliminated
from discovery.layers.matmul import FastMatmul
from discovery.layers.spn import SPNConv2d, SPNLinear, set_phase


class _Product(nn.Module):
    def __init__(self):
        super().__init__()
        self.mm = FastMatmul(strassen_winograd(), levels=1)

    def forward(self, x):
        return self.mm(x, x.transpose(-1, -2)[..., :3])


def test_model_costs_counts_fast_matmul_from_both_operands():
    # a: (2, 4, 6), b: (2, 6, 3): batch 2, M=4, K=6, N=3
    report = model_costs(_Product(), (2, 4, 6))
    assert [layer.kind for layer in report.layers] == ["FastMatmul"]
    expected = FastMatmul(strassen_winograd(), levels=1).multiplications((2, 4, 6, 3))
    assert report.multiplications == expected.fast
    assert report.additions == 2 * 4 * 3 * (6 - 1)


def test_spn_additions_eliminated_does_not_share_across_groups():
    torch.manual_seed(0)
    layer = SPNConv2d(4, 2, 1, r=2, p=1, groups=2, bias=False)
    with torch.no_grad():  # both groups' rows have the same pattern on different channels
        layer.weight_b.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]).view(2, 2, 1, 1))
        layer.weight_c.fill_(1.0)
    set_phase(layer, "quantized")
    # W_b: two rows of 2 entries on disjoint channels -> 2 additions; W_c: 2 outputs of 2 products -> 1 shared
    per_tile = spn_additions_eliminated(layer, (1, 4, 1, 1))
    assert per_tile >= 2 + 1
    assert per_tile == layer.operation_counts((1, 4, 1, 1))["additions"] - 1


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
    from discovery.layers.costs import spn_additions_eliminated

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
