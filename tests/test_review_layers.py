"""Regression tests for bugs found in review of the layers, costs and SPN training."""

import math

import pytest
import torch
from torch import nn

from discovery.costs import model_costs, spn_additions_eliminated
from discovery.errors import InvalidInputError
from discovery.known import strassen_winograd
from discovery.layers.matmul import FastMatmul
from discovery.layers.spn import SPNConv2d, distillation_loss, set_phase
from discovery.spn_train import digits_cnn, digits_study


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


@pytest.mark.parametrize("budget", [math.inf, math.nan, -1.0])
def test_digits_cnn_refuses_non_finite_budget(budget):
    with pytest.raises(InvalidInputError):
        digits_cnn(budget)


def test_digits_study_checks_budgets_before_training():
    calls = []
    with pytest.raises(InvalidInputError):
        digits_study([1.0, math.inf], callback=calls.append)
    assert calls == []  # nothing was trained


def test_distillation_loss_refuses_infinite_temperature():
    s = torch.tensor([[2.0, 0.0]])
    with pytest.raises(InvalidInputError):
        distillation_loss(s, torch.tensor([0]), s, lam=0.5, temperature=math.inf)


def test_cli_train_spn_refuses_infinite_budget(capsys):
    from discovery.cli import main

    assert main(["train-spn", "--budgets", "inf", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "finite" in err[0]


def test_cook_toom_polymul_point_errors_name_the_polymul_problem():
    from discovery.cooktoom import cook_toom_polymul

    with pytest.raises(InvalidInputError, match=r"poly\(2,3\)"):
        cook_toom_polymul(2, 3, "0,1")


def test_cli_export_code_to_a_directory_is_one_clear_line(tmp_path, capsys):
    from discovery.cli import main
    from discovery.formats import save_json
    from discovery.known import strassen

    path = save_json(strassen(), tmp_path / "s.json")
    assert main(["export", str(path), "--format", "c", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a directory" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no partial files


@pytest.mark.parametrize("restarts", [0, -1, 2.5])
def test_discover_refuses_bad_restarts(restarts):
    from discovery.cooktoom import discover

    with pytest.raises(InvalidInputError, match="restarts"):
        discover(2, 3, restarts=restarts)
