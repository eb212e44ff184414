"""The in-place schedule compiled from a scheme's programs: exact in float64 for any scheme, size and depth."""

import pytest
import torch

from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import kron, standard_scheme
from discovery.codegen.basis import alternative_basis
from discovery.codegen.generate import plan
from discovery.codegen.optimize import optimize
from discovery.core.errors import InvalidInputError
from discovery.core.problems import matmul
from discovery.io.catalog import load_all
from discovery.layers import FastLinear, FastMatmul
from discovery.layers.schedule import compile_level

F64 = torch.float64

CATALOG = {f"{p.parent.name}/{p.name[:20]}": s for p, s in load_all()
           if s.problem.kind == "matmul" and s.field != "F2"}
SCHEMES = dict(CATALOG, strassen=strassen(), strassen_winograd=strassen_winograd(),
               standard_2x3x2=standard_scheme(matmul(2, 3, 2)))


def _rel(out, ref):
    return float((out - ref).abs().max() / ref.abs().max())


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_generic_schedule_equals_matmul_for_odd_sizes_and_levels(name):
    scheme = SCHEMES[name]
    max_levels = 3 if scheme.rank <= 8 else 2
    for levels in range(1, max_levels + 1):
        layer = FastMatmul(scheme, levels)
        for m, k, n in ((13, 7, 11), (scheme.problem.k ** levels * 2, scheme.problem.m ** levels, 5)):
            a, b = torch.randn(m, k, dtype=F64), torch.randn(k, n, dtype=F64)
            with torch.no_grad():
                assert layer._fast_ok(a, b)
                assert _rel(layer(a, b), a @ b) < 1e-13, (levels, m, k, n)


@pytest.mark.parametrize("name", ["strassen_winograd", "standard_2x3x2"] + sorted(CATALOG)[:3])
def test_generic_fast_linear_equals_linear(name):
    lin = torch.nn.Linear(29, 19, dtype=F64)
    x = torch.randn(4, 6, 29, dtype=F64)
    for levels in (1, 2):
        fast = FastLinear.from_linear(lin, SCHEMES[name], levels)
        with torch.no_grad():
            assert fast._fast_ok(x.reshape(-1, 29))
            assert _rel(fast(x), lin(x)) < 1e-13


def test_batched_broadcast_and_float32():
    layer = FastMatmul(kron(strassen_winograd(), strassen()), 1)
    a, b = torch.randn(2, 1, 17, 9, dtype=F64), torch.randn(3, 9, 10, dtype=F64)
    with torch.no_grad():
        out = layer(a, b)
        assert out.shape == (2, 3, 17, 10) and _rel(out, a @ b) < 1e-13
        assert _rel(layer(a.float(), b.float()), (a @ b).float()) < 1e-5


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_alternative_basis_layers_equal_matmul(levels):
    alt = alternative_basis(strassen_winograd(), restarts=4, time_limit=2)
    layer = FastMatmul(strassen_winograd(), levels, basis=alt)
    assert "basis='alternative'" in repr(layer)
    assert sum(layer.program_additions()) == 12
    a, b = torch.randn(19, 21, dtype=F64), torch.randn(21, 16, dtype=F64)
    with torch.no_grad():
        assert _rel(layer(a, b), a @ b) < 1e-13
    lin = torch.nn.Linear(21, 19, dtype=F64)
    fast = FastLinear.from_linear(lin, strassen_winograd(), levels, basis=alt)
    x = torch.randn(16, 21, dtype=F64)
    with torch.no_grad():
        assert _rel(fast(x), lin(x)) < 1e-13


def test_alternative_basis_from_an_optimized_scheme():
    s = next(s for p, s in load_all() if s.problem.spec == "2x2x3")
    best = optimize(s, time_limit=3).scheme
    layer = FastMatmul(best, 2, basis="alternative")
    assert sum(layer.program_additions()) == best.meta["alternative_basis"]["additions"]["core"]
    a, b = torch.randn(9, 10, dtype=F64), torch.randn(10, 11, dtype=F64)
    with torch.no_grad():
        assert _rel(layer(a, b), a @ b) < 1e-13
    assert FastMatmul(best, 1).program_additions() == tuple(plan(best).breakdown.values())


def test_strassen_winograd_program_schedule_matches_the_handwritten_counts():
    p = plan(strassen_winograd())
    leaf = compile_level(p.left, p.right, p.output, leaf=True, accumulate=False)
    # the hand-written schedule: 8 operand sums, 4 block additions and a copy, 3 fused addmm_
    assert leaf.passes <= 13 and leaf.fused >= 3
    layer = FastMatmul(strassen_winograd(), 2, schedule="handwritten")
    a, b = torch.randn(16, 16, dtype=F64), torch.randn(16, 16, dtype=F64)
    with torch.no_grad():
        assert _rel(layer(a, b), FastMatmul(strassen_winograd(), 2)(a, b)) < 1e-13


def test_bad_schedule_and_basis():
    with pytest.raises(InvalidInputError, match="handwritten"):
        FastMatmul(strassen(), 1, schedule="handwritten")
    with pytest.raises(InvalidInputError, match="schedule must be"):
        FastMatmul(strassen(), 1, schedule="fast")
    with pytest.raises(InvalidInputError, match="bilinear optimize"):
        FastMatmul(strassen(), 1, basis="alternative")
    with pytest.raises(InvalidInputError, match="basis must be"):
        FastLinear(4, 4, strassen(), 1, basis="other")
    alt = alternative_basis(strassen_winograd(), restarts=2, time_limit=1)
    with pytest.raises(InvalidInputError, match="another scheme"):
        FastMatmul(strassen(), 1, basis=alt)
    with pytest.raises(InvalidInputError, match="standard basis"):
        FastMatmul(strassen_winograd(), 1, schedule="handwritten", basis=alt)
