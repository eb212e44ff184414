"""Fixed fast layers: FastMatmul, FastLinear, WinogradConv2d equal their torch counterparts."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from discovery.core.errors import InvalidInputError, NotExactError
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.layers import FastLinear, FastMatmul, WinogradConv2d, convert
from discovery.algebra.ops import cyclic, kron, standard_scheme
from discovery.core.problems import correlation2d, matmul
from discovery.winograd.cooktoom import best_known

F64 = torch.float64


def _wrong(scheme):
    """The same scheme with one coefficient changed (no longer exact)."""
    U = np.array(scheme.U, dtype=object)
    U[0, 0] = U[0, 0] + 1
    return scheme.replace(U=U)


def _rel(x, ref):
    x, ref = x.detach(), ref.detach()
    return float((x - ref).abs().max() / ref.abs().max())


MATMUL_SCHEMES = {
    "strassen_winograd": strassen_winograd,
    "strassen": strassen,
    "naive_2x3x4": lambda: standard_scheme(matmul(2, 3, 4)),
    "cyclic_3x2x2": lambda: cyclic(kron(standard_scheme(matmul(1, 1, 2)), strassen())),
}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---------------------------------------------------------------- FastMatmul
@pytest.mark.parametrize("name", sorted(MATMUL_SCHEMES))
@pytest.mark.parametrize("levels", [0, 1, 2])
@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 9, 6), (16, 16, 16), (33, 17, 40)])
def test_fast_matmul_equals_torch(name, levels, shape):
    layer = FastMatmul(MATMUL_SCHEMES[name](), levels=levels)
    m, k, n = shape
    a = torch.randn(3, m, k, dtype=F64)
    b = torch.randn(k, n, dtype=F64)
    ref = a @ b
    assert _rel(layer(a, b), ref) < 1e-13  # batched, broadcast
    with torch.no_grad():  # the in-place schedule where it applies
        assert _rel(layer(a[1], b), ref[1]) < 1e-13


def test_fast_matmul_inplace_path_deep_and_batched():
    layer = FastMatmul(strassen_winograd(), levels=3)
    a = torch.randn(2, 1, 24, 32, dtype=F64)
    b = torch.randn(3, 32, 40, dtype=F64)
    with torch.no_grad():
        out = layer(a, b)
    assert out.shape == (2, 3, 24, 40)
    assert _rel(out, a @ b) < 1e-13
    af, bf = a.float(), b.float()
    with torch.no_grad():
        assert _rel(layer(af, bf), (a @ b).float()) < 1e-5


def test_fast_matmul_gradients_match():
    layer = FastMatmul(strassen(), levels=2)
    a = torch.randn(7, 10, dtype=F64, requires_grad=True)
    b = torch.randn(10, 5, dtype=F64, requires_grad=True)
    (layer(a, b) ** 2).sum().backward()
    ga, gb = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    ((a @ b) ** 2).sum().backward()
    assert torch.allclose(ga, a.grad) and torch.allclose(gb, b.grad)


def test_fast_matmul_multiplication_count():
    layer = FastMatmul(strassen_winograd(), levels=2)
    count = layer.multiplications((2, 8, 8, 8))
    assert count.fast == 2 * 49 * 8 and count.plain == 2 * 512
    # odd sizes pad per level: 5 -> 6 -> 3 -> 4 -> 2
    assert FastMatmul(strassen(), 2).multiplications((5, 5, 5)).fast == 49 * 8
    assert "levels=2" in repr(layer) and "rank=7" in repr(layer)


def test_fast_matmul_buffers_and_dtype():
    layer = FastMatmul(strassen(), levels=1)
    assert {name for name, _ in layer.named_buffers()} == {"U", "V", "WT"}
    assert list(layer.parameters()) == []
    a, b = torch.randn(6, 6), torch.randn(6, 6)
    assert layer(a, b).dtype == torch.float32


@pytest.mark.parametrize("levels", [1, 2])
@pytest.mark.parametrize("name", ["strassen_winograd", "naive_2x3x4"])
@pytest.mark.parametrize("sizes", [(10, 7, (3, 5)), (16, 24, (8,)), (1, 1, (1,))])
def test_fast_linear_equals_linear(levels, name, sizes):
    fin, fout, lead = sizes
    lin = torch.nn.Linear(fin, fout, dtype=F64)
    fast = FastLinear.from_linear(lin, MATMUL_SCHEMES[name](), levels)
    x = torch.randn(*lead, fin, dtype=F64)
    assert _rel(fast(x), lin(x)) < 1e-13
    with torch.no_grad():
        assert _rel(fast(x), lin(x)) < 1e-13


def test_fast_linear_no_bias_and_weight_changes():
    lin = torch.nn.Linear(16, 8, bias=False, dtype=F64)
    fast = FastLinear.from_linear(lin, strassen_winograd(), 2)
    x = torch.randn(4, 16, dtype=F64)
    with torch.no_grad():
        fast.weight.mul_(2.0)  # in place: the cached transform must follow
        assert _rel(fast(x), 2 * lin(x)) < 1e-13
    assert fast.weight_transformed.shape[:2] == (7, 7)


def test_fast_linear_trains():
    fast = FastLinear(6, 4, strassen(), levels=1, dtype=F64)
    opt = torch.optim.SGD(fast.parameters(), lr=0.1)
    x, target = torch.randn(32, 6, dtype=F64), torch.randn(32, 4, dtype=F64)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = ((fast(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    ref = x @ fast.weight.t() + fast.bias
    with torch.no_grad():
        assert _rel(fast(x), ref) < 1e-13  # the cache was refreshed after the steps


# ----------------------------------------------------------------- refusals
@pytest.mark.parametrize("cls", [FastMatmul, lambda s: FastLinear(4, 4, s)])
def test_matmul_layers_refuse_bad_schemes(cls):
    with pytest.raises(NotExactError, match="not exact"):
        cls(_wrong(strassen()))
    with pytest.raises(InvalidInputError, match="matmul scheme"):
        cls(best_known((2, 2), (3, 3)))
    with pytest.raises(InvalidInputError, match="F2"):
        from discovery.algebra.ops import to_field

        cls(to_field(strassen(), "F2"))
    with pytest.raises(InvalidInputError, match="Scheme"):
        cls("2x2x2")


def test_matmul_bad_arguments():
    with pytest.raises(InvalidInputError, match="levels"):
        FastMatmul(strassen(), levels=-1)
    layer = FastMatmul(strassen(), 1)
    with pytest.raises(ValueError, match="inner sizes"):
        layer(torch.randn(3, 4), torch.randn(5, 2))
    with pytest.raises(ValueError, match="floating"):
        layer(torch.ones(2, 2, dtype=torch.long), torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="in_features"):
        FastLinear(0, 3, strassen())


# ------------------------------------------------------------ WinogradConv2d
CONV_SCHEMES = {
    "F2x2_3x3": lambda: best_known((2, 2), (3, 3)),
    "F4x4_3x3": lambda: best_known((4, 4), (3, 3)),
    "F3x2_3x3": lambda: best_known((3, 2), (3, 3)),
    "F2x2_5x5": lambda: best_known((2, 2), (5, 5)),
    "dense_F2x3_3x2": lambda: standard_scheme(correlation2d((2, 3), (3, 2))),
}


@pytest.mark.parametrize("name", sorted(CONV_SCHEMES))
@pytest.mark.parametrize("padding", [0, 1, (2, 0), "same"])
def test_winograd_conv_equals_conv2d(name, padding):
    scheme = CONV_SCHEMES[name]()
    conv = torch.nn.Conv2d(3, 5, tuple(scheme.problem.r), padding=padding, dtype=F64)
    fast = WinogradConv2d.from_conv2d(conv, scheme)
    for shape in [(2, 3, 9, 7), (1, 3, 13, 16), (3, 6, 5)]:
        x = torch.randn(*shape, dtype=F64)
        ref = conv(x)
        out = fast(x)
        assert out.shape == ref.shape
        assert _rel(out, ref) < 1e-12


def test_winograd_conv_float32_and_no_bias():
    conv = torch.nn.Conv2d(8, 4, 3, padding=1, bias=False)
    fast = WinogradConv2d.from_conv2d(conv, best_known((4, 4), (3, 3)))
    x = torch.randn(2, 8, 12, 12)
    out = fast(x)
    assert out.dtype == torch.float32
    ref = F.conv2d(x.double(), conv.weight.double(), padding=1)
    assert _rel(out.double(), ref) < 1e-5


def test_winograd_conv_weight_cache_and_grad():
    conv = torch.nn.Conv2d(2, 3, 3, dtype=F64)
    fast = WinogradConv2d.from_conv2d(conv, best_known((2, 2), (3, 3)))
    x = torch.randn(1, 2, 8, 8, dtype=F64, requires_grad=True)
    fast(x).sum().backward()
    conv(x.detach().requires_grad_()).sum().backward()
    assert torch.allclose(fast.weight.grad, conv.weight.grad)
    with torch.no_grad():
        fast.weight.add_(1.0)
        conv.weight.add_(1.0)
        assert _rel(fast(x), conv(x)) < 1e-12


def test_winograd_conv_multiplications():
    layer = WinogradConv2d(64, 64, 3, padding=1, scheme=best_known((4, 4), (3, 3)))
    count = layer.multiplications((8, 64, 56, 56))
    assert count.ratio == 0.25
    assert "F(4x4,3x3)" in repr(layer)


def test_winograd_conv_bad_arguments():
    s = best_known((2, 2), (3, 3))
    with pytest.raises(InvalidInputError, match="stride 1"):
        WinogradConv2d(3, 4, 3, stride=2, scheme=s)
    with pytest.raises(InvalidInputError, match="groups"):
        WinogradConv2d(4, 4, 3, groups=2, scheme=s)
    with pytest.raises(InvalidInputError, match="dilation"):
        WinogradConv2d(4, 4, 3, dilation=2, scheme=s)
    with pytest.raises(InvalidInputError, match="5x5"):
        WinogradConv2d(4, 4, 5, scheme=s)
    with pytest.raises(InvalidInputError, match="correlation2d scheme"):
        WinogradConv2d(4, 4, 3, scheme=strassen())
    with pytest.raises(NotExactError):
        WinogradConv2d(4, 4, 3, scheme=_wrong(s))
    with pytest.raises(InvalidInputError, match="stride 1"):
        WinogradConv2d.from_conv2d(torch.nn.Conv2d(3, 4, 3, stride=2), s)
    with pytest.raises(InvalidInputError, match="padding"):
        WinogradConv2d(4, 4, 3, padding="full", scheme=s)
    layer = WinogradConv2d(4, 4, 3, scheme=s)
    with pytest.raises(ValueError, match="input must be"):
        layer(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        layer(torch.randn(1, 4, 2, 2))


def test_convert_swaps_only_eligible_convs():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 3, stride=2)),
        torch.nn.Conv2d(8, 8, 5, padding=2),
        torch.nn.Conv2d(8, 8, 3, groups=2),
    ).double()
    x = torch.randn(2, 3, 12, 12, dtype=F64)
    ref = net(x)
    convert(net, best_known((4, 4), (3, 3)))
    kinds = [type(m).__name__ for m in (net[0], net[2][0], net[2][1], net[3], net[4])]
    assert kinds == ["WinogradConv2d", "WinogradConv2d", "Conv2d", "Conv2d", "Conv2d"]
    assert _rel(net(x), ref) < 1e-12
    with pytest.raises(InvalidInputError):
        convert(net, strassen())


# ------------------------------------------------------------- TorchScript
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_fixed_layers():
    mm = torch.jit.script(FastMatmul(strassen_winograd(), levels=2))
    a, b = torch.randn(9, 6, dtype=F64), torch.randn(6, 11, dtype=F64)
    assert _rel(mm(a, b), a @ b) < 1e-13
    lin = torch.nn.Linear(12, 5, dtype=F64)
    slin = torch.jit.script(FastLinear.from_linear(lin, strassen(), 1))
    x = torch.randn(4, 12, dtype=F64)
    assert _rel(slin(x), lin(x)) < 1e-13
    conv = torch.nn.Conv2d(3, 4, 3, padding=1, dtype=F64)
    sconv = torch.jit.script(WinogradConv2d.from_conv2d(conv, best_known((4, 4), (3, 3))))
    x = torch.randn(2, 3, 10, 9, dtype=F64)
    assert _rel(sconv(x), conv(x)) < 1e-12


def test_torch_export_fixed_layers():
    a, b = torch.randn(8, 12), torch.randn(12, 6)
    ep = torch.export.export(FastMatmul(strassen_winograd(), levels=2), (a, b))
    assert _rel(ep.module()(a, b), a @ b) < 1e-5
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 10, 9)
    ep = torch.export.export(WinogradConv2d.from_conv2d(conv, best_known((2, 2), (3, 3))), (x,))
    with torch.no_grad():
        assert _rel(ep.module()(x), conv(x)) < 1e-5


def test_winograd_conv_unknown_backend():
    with pytest.raises(InvalidInputError, match="backend"):
        WinogradConv2d(3, 4, 3, backend="cuda", scheme=best_known((2, 2), (3, 3)))
