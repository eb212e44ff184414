"""The fused conv kernel generated from a scheme's transforms: exact for every scheme it accepts, and
graceful when it cannot be built."""

import shutil
import warnings

import pytest
import torch
import torch.nn.functional as F

from discovery.algebra.literature import strassen
from discovery.algebra.ops import standard_scheme
from discovery.core.errors import BilinearError, InvalidInputError
from discovery.core.problems import correlation2d
from discovery.io.catalog import load_all
from discovery.layers import WinogradConv2d, conv as conv_module, winograd_kernel as wk
from discovery.winograd.cooktoom import best_known

F64 = torch.float64

SCHEMES = {f"catalog:{s.problem.spec}": s for p, s in load_all() if s.problem.kind == "correlation2d"}
SCHEMES.update({
    "dense F(2x3,3x2)": standard_scheme(correlation2d((2, 3), (3, 2))),
    "F(4x4,5x5)": best_known((4, 4), (5, 5)),
    "asymmetric F(2x6,3x3)": best_known((2, 6), (3, 3)),
    "F(3x2,3x3)": best_known((3, 2), (3, 3)),
})

needs_compiler = pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")


def _rel(x, ref):
    return float((x.detach() - ref.detach()).abs().max() / ref.detach().abs().max())


@needs_compiler
@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_fused_kernel_equals_conv2d_in_float64(name):
    torch.manual_seed(0)
    scheme = SCHEMES[name]
    r = tuple(scheme.problem.r)
    for channels, padding, bias in ((5, 0, True), (9, 1, False), (16, (2, 1), True)):
        conv = torch.nn.Conv2d(channels, 7, r, padding=padding, bias=bias, dtype=F64)
        fast = WinogradConv2d.from_conv2d(conv, scheme, backend="cpp")
        assert fast.kernel_ready
        for shape in ((2, channels, 13, 11), (1, channels, 9, 21), (channels, 8, 7)):
            x = torch.randn(*shape, dtype=F64)
            with torch.no_grad():
                assert fast._cpp_ok(x if x.dim() == 4 else x[None])
                assert _rel(fast(x), conv(x)) < 1e-12, (shape, padding)


@needs_compiler
@pytest.mark.parametrize("name", ["catalog:F(4x4,3x3)", "catalog:F(6x6,3x3)", "dense F(2x3,3x2)"])
def test_fused_kernel_float32_and_gradient_fallback(name):
    torch.manual_seed(1)
    scheme = SCHEMES[name]
    conv = torch.nn.Conv2d(32, 48, tuple(scheme.problem.r), padding=1)
    fast = WinogradConv2d.from_conv2d(conv, scheme, backend="cpp")
    x = torch.randn(2, 32, 17, 19)
    ref = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1)
    with torch.no_grad():
        assert _rel(fast(x).double(), ref) < 1e-4
    xg = x.clone().requires_grad_(True)
    out = fast(xg)  # a gradient is needed: the torch path
    out.sum().backward()
    assert xg.grad is not None and _rel(out.double(), ref) < 1e-4


def test_kernel_source_is_specialised():
    src = wk.kernel_source(wk.TileTransforms.from_scheme(best_known((2, 2), (3, 3))))
    assert "constexpr int A1 = 4, A2 = 4, M1 = 2, M2 = 2, R = 16;" in src
    assert "bt1" not in src  # coefficients are constants, not arrays read at run time
    dense = wk.TileTransforms.from_scheme(standard_scheme(correlation2d((2, 3), (3, 2))))
    assert not dense.separable and dense.tile == (4, 4)


def test_bad_schemes_give_clear_errors():
    with pytest.raises(InvalidInputError, match="up to 8x8"):
        wk.TileTransforms.from_scheme(best_known((6, 6), (5, 5)))
    with pytest.raises(InvalidInputError, match="up to 8x8"):
        WinogradConv2d(3, 4, 5, backend="cpp", scheme=best_known((6, 6), (5, 5)))
    with pytest.raises(InvalidInputError, match="correlation2d"):
        wk.TileTransforms.from_scheme(strassen())
    assert issubclass(wk.KernelError, BilinearError)


def _no_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("BILINEAR_KERNEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(wk, "_kernels", {})
    monkeypatch.setattr(conv_module, "_warned", set())


def test_layer_runs_without_a_compiler(monkeypatch, tmp_path):
    _no_compiler(monkeypatch, tmp_path)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1, dtype=F64)
    with pytest.warns(wk.KernelWarning, match="torch path"):
        fast = WinogradConv2d.from_conv2d(conv, best_known((4, 4), (3, 3)), backend="cpp")
    assert not fast.kernel_ready
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process, not once per layer
        again = WinogradConv2d.from_conv2d(conv, best_known((4, 4), (3, 3)), backend="cpp")
    x = torch.randn(2, 3, 11, 9, dtype=F64)
    with torch.no_grad():
        assert _rel(fast(x), conv(x)) < 1e-12 and _rel(again(x), conv(x)) < 1e-12
    with pytest.raises(wk.KernelError, match="no C\\+\\+ compiler"):
        wk.build(wk.TileTransforms.from_scheme(best_known((2, 2), (3, 3))))


@needs_compiler
def test_failure_is_not_remembered_and_failed_builds_are_project_errors(monkeypatch, tmp_path):
    _no_compiler(monkeypatch, tmp_path)
    false = shutil.which("false")
    if false:
        monkeypatch.setenv("CXX", false)
        with pytest.raises(wk.KernelError, match="does not run|failed"):
            wk.build(wk.TileTransforms.from_scheme(best_known((2, 2), (3, 3))))
    monkeypatch.setenv("CXX", "g++")  # the compiler is back: the next build works
    kernel = wk.build(wk.TileTransforms.from_scheme(best_known((2, 2), (3, 3))))
    x = torch.randn(1, 16, 6, 6)
    g = torch.randn(16, 16, 4)
    with pytest.raises(wk.KernelError, match="dtype"):
        kernel.forward(x, g.double(), None, torch.empty(1, 4, 4, 4), 0, 0, 2, 2)
    with pytest.raises(wk.KernelError, match="float32/float64"):
        kernel.forward(x.half(), g.half(), None, torch.empty(1, 4, 4, 4).half(), 0, 0, 2, 2)


def test_cache_key_depends_on_the_cpu_and_the_compiler(monkeypatch):
    if wk.compiler() is None:
        pytest.skip("no C++ compiler")
    src = wk.kernel_source(wk.TileTransforms.from_scheme(best_known((2, 2), (3, 3))))
    here = wk._key(src, wk.compiler())
    monkeypatch.setattr(wk, "_cpu_identity", lambda: "another CPU with other flags")
    assert wk._key(src, wk.compiler()) != here


@needs_compiler
def test_kernel_copies_and_pickles():
    import copy
    import pickle

    kernel = wk.build(wk.TileTransforms.from_scheme(best_known((2, 2), (3, 3))))
    for other in (copy.deepcopy(kernel), pickle.loads(pickle.dumps(kernel))):
        assert other.path == kernel.path
