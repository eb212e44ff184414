"""StrassenNets layers: geometry, ternary quantisation, schedule, training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from discovery.core.errors import InvalidInputError
from discovery.layers.spn import (
    SPNConv2d,
    SPNLinear,
    distillation_loss,
    set_phase,
    ternarize,
    ternary_ste,
)

torch.set_num_threads(1)


def _assert_ternary(t: torch.Tensor) -> None:
    values = set(torch.unique(t).tolist())
    assert values <= {-1, 0, 1}, values


def _conv_as_spn(weight: torch.Tensor, p: int, padding: int) -> SPNConv2d:
    """An SPN that computes a 1-in, 1-out convolution exactly (r = p^2)."""
    k = weight.shape[-1]
    layer = SPNConv2d(1, 1, k, r=p * p, p=p, padding=padding, bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight_b.zero_()
        layer.weight_c.zero_()
        layer.a_tilde.fill_(1.0)
        for i in range(p):
            for j in range(p):
                q = i * p + j
                layer.weight_b[q, 0, i : i + k, j : j + k] = weight[0, 0]
                layer.weight_c[q, 0, i, j] = 1.0
    return layer


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("size", [(7, 9), (8, 8), (5, 6)])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv_tiling_matches_conv2d(p, size, padding):
    torch.manual_seed(0)
    weight = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    x = torch.randn(2, 1, *size, dtype=torch.float64)
    layer = _conv_as_spn(weight, p, padding)
    expected = F.conv2d(x, weight, padding=padding)
    got = layer(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_linear_represents_dense_product_exactly_when_r_is_large():
    # r = out * in: W_b picks each input, a~ holds the weight entries, W_c sums.
    torch.manual_seed(0)
    A = torch.randn(3, 4, dtype=torch.float64)
    layer = SPNLinear(4, 3, r=12, bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight_b.zero_()
        layer.weight_c.zero_()
        for i in range(3):
            for j in range(4):
                q = i * 4 + j
                layer.weight_b[q, j] = 1
                layer.weight_c[i, q] = 1
                layer.a_tilde[q] = A[i, j]
    x = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ A.T)


def test_ternarize_follows_li_et_al():
    w = torch.tensor([1.0, -1.2, 0.1, 0.8, -0.2])
    t, alpha = ternarize(w)
    delta = 0.7 * w.abs().mean()
    assert t.tolist() == [1.0, -1.0, 0.0, 1.0, 0.0]
    assert all((abs(v) > delta) == (tv != 0) for v, tv in zip(w.tolist(), t.tolist()))
    assert float(alpha) == pytest.approx((1.0 + 1.2 + 0.8) / 3)
    zero_t, zero_alpha = ternarize(torch.zeros(3))
    assert zero_t.tolist() == [0, 0, 0] and float(zero_alpha) == 0.0


def test_straight_through_gradient_reaches_full_precision_weights():
    w = torch.randn(6, requires_grad=True)
    g = torch.randn(6)
    (ternary_ste(w) * g).sum().backward()
    torch.testing.assert_close(w.grad, g)


def _train_tiny(layer: nn.Module, A: torch.Tensor, phases, steps: int = 150, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    basis = torch.randn(2, A.shape[1], generator=gen)
    losses = []
    for phase in phases:
        set_phase(layer, phase)
        opt = torch.optim.Adam([p for p in layer.parameters() if p.requires_grad], lr=0.03)
        for _ in range(steps):
            # activations on a 2-dimensional "manifold", as the paper assumes
            x = torch.randn(64, 2, generator=gen) @ basis
            loss = F.mse_loss(layer(x), x @ A.T)
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_spn_linear_trains_on_a_tiny_problem_and_ends_ternary():
    torch.manual_seed(0)
    A = torch.randn(3, 6)
    layer = SPNLinear(6, 3, r=4, bias=False)
    with torch.no_grad():
        x0 = torch.randn(256, 6)
        start = float(F.mse_loss(layer(x0), x0 @ A.T))
    losses = _train_tiny(layer, A, ["full", "quantized", "a_only"])
    # low-rank inputs: r = 4 < 3 * 6 products is enough; ternary stays close
    assert losses[0] < 0.02 * start
    assert losses[-1] < 0.2 * start
    folded = layer.folded()
    _assert_ternary(folded["weight_b"])
    _assert_ternary(folded["weight_c"])
    assert folded["weight_b"].dtype == torch.int8
    # the folded form (pure ternary matrices, scales in a~) computes the same
    x = torch.randn(8, 6)
    with torch.no_grad():
        wb = folded["weight_b"].float()
        wc = folded["weight_c"].float()
        y = ((x @ wb.T) * folded["a_tilde"]) @ wc.T
        torch.testing.assert_close(y, layer(x), rtol=1e-5, atol=1e-5)


def test_spn_conv_trains_and_ends_ternary():
    torch.manual_seed(1)
    target = nn.Conv2d(2, 3, 3, padding=1, bias=False)
    layer = SPNConv2d(2, 3, 3, r=6, p=2, groups=2, padding=1)
    opt = torch.optim.Adam(layer.parameters(), lr=0.02)
    x = torch.randn(16, 2, 6, 6)
    with torch.no_grad():
        y = target(x)
        start = float(F.mse_loss(layer(x), y))
    for phase, steps in (("full", 120), ("quantized", 80), ("a_only", 30)):
        set_phase(layer, phase)
        opt = torch.optim.Adam([p for p in layer.parameters() if p.requires_grad], lr=0.02)
        for _ in range(steps):
            loss = F.mse_loss(layer(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert float(loss.detach()) < 0.5 * start
    folded = layer.folded()
    _assert_ternary(folded["weight_b"])
    _assert_ternary(folded["weight_c"])
    # frozen full-precision weights did not move in the a~-only phase
    assert not layer.weight_b.requires_grad and not layer.weight_c.requires_grad


def test_a_only_phase_freezes_ternary_weights():
    layer = SPNLinear(5, 4, r=3)
    set_phase(layer, "a_only")
    before = (layer.weight_b.clone(), layer.weight_c.clone(), layer.a_tilde.clone())
    opt = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=0.1)
    layer(torch.randn(7, 5)).pow(2).sum().backward()
    opt.step()
    assert torch.equal(before[0], layer.weight_b) and torch.equal(before[1], layer.weight_c)
    assert not torch.equal(before[2], layer.a_tilde)


def test_operation_counts():
    lin = SPNLinear(10, 4, r=3, quantized=True)
    counts = lin.operation_counts((5, 10))
    assert counts["multiplications"] == 15
    tb = ternarize(lin.weight_b)[0]
    tc = ternarize(lin.weight_c)[0]
    per = int(((tb != 0).sum(1) - 1).clamp(min=0).sum() + ((tc != 0).sum(1) - 1).clamp(min=0).sum()) + 4
    assert counts["additions"] == 5 * per
    assert counts["size_bits"] == 2 * (30 + 12) + 32 * (3 + 4 + 2)
    conv = SPNConv2d(4, 8, 3, r=8, p=2, padding=1, quantized=True)
    # 7x7 output -> 4x4 tiles of 2x2
    assert conv.operation_counts((2, 4, 7, 7))["multiplications"] == 2 * 16 * 8
    full = SPNConv2d(4, 8, 3, r=8, p=2, padding=1)
    assert full.operation_counts((1, 4, 7, 7))["multiplications"] > 16 * 8


@pytest.mark.parametrize(
    "make",
    [
        lambda: SPNLinear(4, 3, r=0),
        lambda: SPNLinear(4, 3, r=-2),
        lambda: SPNLinear(0, 3, r=2),
        lambda: SPNLinear(4, 3, r=2.5),
        lambda: SPNConv2d(4, 3, 3, r=0),
        lambda: SPNConv2d(4, 3, 3, r=4, p=0),
        lambda: SPNConv2d(4, 3, 3, r=5, groups=2),
        lambda: SPNConv2d(3, 3, 3, r=4, groups=2),
        lambda: SPNConv2d(4, 3, 3, r=4, padding=-1),
        lambda: SPNLinear(4, 3, r=2, threshold=0.0),
    ],
)
def test_bad_arguments_raise_clear_errors(make):
    with pytest.raises(InvalidInputError):
        make()


def test_bad_inputs_and_phases():
    conv = SPNConv2d(2, 3, 3, r=4)
    with pytest.raises(InvalidInputError, match="expects"):
        conv(torch.randn(1, 5, 8, 8))
    with pytest.raises(InvalidInputError, match="smaller than the kernel"):
        conv(torch.randn(1, 2, 2, 2))
    with pytest.raises(InvalidInputError, match="phase"):
        set_phase(conv, "ternary")
    with pytest.raises(InvalidInputError, match="quantised"):
        conv.folded()
    with pytest.raises(InvalidInputError, match="lam"):
        distillation_loss(torch.zeros(1, 2), torch.tensor([0]), torch.zeros(1, 2), lam=1.5)


def test_distillation_loss_mixes_hard_and_soft_terms():
    torch.manual_seed(0)
    s, t = torch.randn(6, 4), torch.randn(6, 4)
    y = torch.randint(0, 4, (6,))
    hard = F.cross_entropy(s, y)
    soft = -(F.softmax(t, -1) * F.log_softmax(s, -1)).sum(-1).mean()
    torch.testing.assert_close(distillation_loss(s, y, t, lam=0.3), 0.7 * hard + 0.3 * soft)
    torch.testing.assert_close(distillation_loss(s, y, t, lam=1.0), soft)
    torch.testing.assert_close(distillation_loss(s, y), hard)


def test_repr_and_dtype():
    layer = SPNConv2d(4, 8, 3, r=8, p=2, groups=2, padding=1, dtype=torch.float64)
    assert "r=8" in repr(layer) and "p=2" in repr(layer) and "groups=2" in repr(layer)
    assert layer(torch.randn(1, 4, 5, 5, dtype=torch.float64)).dtype == torch.float64
    assert "quantized=False" in repr(SPNLinear(3, 2, r=2))


def test_digits_study_smoke(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    from discovery.experiments import spn_training as spn_train
    from discovery.cli.plots import plot_study
    from discovery.cli.train_spn import format_study
    from discovery.experiments.spn_training import DigitsData, Schedule, digits_study

    full = spn_train.load_digits_data(0)
    small = DigitsData(full.x_train[:300], full.y_train[:300], full.x_test[:200], full.y_test[:200])
    monkeypatch.setattr(spn_train, "load_digits_data", lambda seed=0: small)
    rows = digits_study([1.0], Schedule(full=2, quantized=1, a_only=1, lr=1e-2), seed=0)
    fp, spn = rows
    assert fp.budget is None and spn.budget == 1.0
    assert spn.reduction > 99  # r = c_out, 2x2 tiles
    assert fp.multiplications == 1 * 16 * 9 * 64 + 16 * 32 * 9 * 64 + 512 * 10
    assert spn.size_kib < fp.size_kib / 4
    assert 0 <= spn.accuracy <= 100 and fp.accuracy > 30
    assert len(format_study(rows)) == 4
    plot_study(rows, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_train_spn_cli_rejects_bad_arguments(capsys):
    from discovery.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train-spn", "--budgets", "0"])
    assert exc.value.code == 2
    assert main(["train-spn", "--lam", "2", "--no-progress"]) == 2
    assert "--lam" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("quantized", [False, True])
def test_torchscript_and_export(quantized):
    lin = SPNLinear(6, 4, r=3, quantized=quantized)
    conv = SPNConv2d(2, 3, 3, r=4, p=2, padding=1, quantized=quantized)
    x_lin, x_conv = torch.randn(5, 6), torch.randn(2, 2, 5, 7)
    for layer, x in ((lin, x_lin), (conv, x_conv)):
        torch.testing.assert_close(torch.jit.script(layer)(x), layer(x))
        exported = torch.export.export(layer.eval(), (x,))
        torch.testing.assert_close(exported.module()(x), layer(x))


def test_distillation_loss_refuses_infinite_temperature():
    s = torch.tensor([[2.0, 0.0]])
    with pytest.raises(InvalidInputError):
        distillation_loss(s, torch.tensor([0]), s, lam=0.5, temperature=math.inf)
