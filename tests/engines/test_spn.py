"""The gradient (StrassenNets SPN) engine: exact schemes from every loss and quantizer."""

import json

import pytest
import torch

from discovery.algebra.quantizers import balance_terms, grid, nearest, stochastic_round, twn_ternary
from discovery.core.errors import InvalidInputError
from discovery.io.formats import load_scheme
from discovery.core.problems import matmul
from discovery.search import search
from verify import verify_exact, verify_symbolic, wrong_entries

M222 = matmul(2, 2, 2)


@pytest.mark.parametrize("loss", ["tensor", "samples"])
@pytest.mark.parametrize("quantizer", ["anneal", "stochastic", "ste"])
def test_each_loss_and_quantizer_finds_strassen_rank_7(loss, quantizer):
    # plain straight-through (the paper's recipe) rarely lands on exact
    # coefficients; with the L1 sparsity phase before it, it does
    options = {"sparsity": 0.03} if quantizer == "ste" else {}
    result = search(M222, 7, "spn", seed=1, restarts=8, loss=loss, quantizer=quantizer, refine=False, **options)
    assert result.found and result.status == "found"
    assert result.exact >= len(result.schemes) >= 1
    for scheme in result.schemes:
        assert scheme.rank == 7 and scheme.field == "Z"
        assert set(scheme.coefficient_set) <= {-1, 0, 1}
        assert verify_exact(scheme).ok and verify_symbolic(scheme).ok
        prov = scheme.meta["provenance"]
        assert prov["engine"] == "spn" and prov["options"]["loss"] == loss
        assert prov["options"]["quantizer"] == quantizer
        assert {"seed", "steps", "seconds", "date", "restart", "version"} <= set(prov)
    assert result.first_exact_seconds is not None and result.first_exact_seconds <= result.wall_seconds


def test_batched_restarts_match_single_restarts():
    batched = search(M222, 7, "spn", seed=5, restarts=4, steps=1500, refine=False)
    singles = set()
    near = set()
    for i in range(4):
        alone = search(M222, 7, "spn", seed=5, restarts=1, first_restart=i, steps=1500, refine=False)
        singles |= {s.fingerprint() for s in alone.schemes}
        near |= {n.scheme.fingerprint() for n in alone.near_misses}
        for s in alone.schemes:
            assert s.meta["provenance"]["restart"] == i
    assert {s.fingerprint() for s in batched.schemes} == singles
    assert {n.scheme.fingerprint() for n in batched.near_misses} == near


def test_same_seed_same_result_and_other_seed_differs():
    a = search(M222, 7, "spn", seed=11, restarts=4, steps=1500, loss="samples", refine=False)
    b = search(M222, 7, "spn", seed=11, restarts=4, steps=1500, loss="samples", refine=False)
    c = search(M222, 7, "spn", seed=12, restarts=4, steps=1500, loss="samples", refine=False)
    fa = [s.fingerprint() for s in a.schemes]
    assert fa == [s.fingerprint() for s in b.schemes]
    assert a.exact == b.exact and a.best_loss == b.best_loss
    assert [n.wrong for n in a.near_misses] == [n.wrong for n in b.near_misses]
    assert fa != [s.fingerprint() for s in c.schemes] or a.best_loss != c.best_loss


def test_near_misses_are_counted_exactly():
    # rank 6 is impossible for 2x2x2: every rounding is wrong somewhere
    result = search(M222, 6, "spn", seed=0, restarts=8, steps=1000, near_miss_threshold=64, refine=False)
    assert not result.found and result.status == "not_found"
    assert result.near_misses
    wrongs = [n.wrong for n in result.near_misses]
    assert wrongs == sorted(wrongs)
    for n in result.near_misses:
        assert n.wrong == wrong_entries(n.scheme) > 0
        assert len(n.approx) == 3 and n.approx[0].shape == (6, 4)


def test_saves_verified_schemes_with_provenance(tmp_path):
    result = search(M222, 7, engine="spn", seed=2, restarts=4, save=True, root=tmp_path)
    paths = result.saved
    assert paths and len(paths) == len(result.schemes)
    for path in paths:
        scheme = load_scheme(path)
        assert verify_exact(scheme).ok
        assert scheme.meta["provenance"]["engine"] == "spn"
        assert json.loads(open(path).read())["verified"]["symbolic"] is True


def test_dyadic_coefficients_give_rational_schemes():
    from discovery.core.problems import correlation

    result = search(correlation(2, 3), 4, "spn", seed=0, restarts=8, coefficients="dyadic")
    assert result.found
    for scheme in result.schemes:
        assert scheme.field == "Q" and verify_exact(scheme).ok


def test_time_limit_is_respected():
    result = search(matmul(3, 3, 3), 23, "spn", seed=0, restarts=1000, batch=8, time_limit=0.5, refine=False)
    assert result.restarts < 1000 and result.stats["time_limit_hit"]


@pytest.mark.parametrize(
    "options",
    [{"loss": "l1"}, {"quantizer": "round"}, {"coefficients": "int7"}, {"restarts": 0},
     {"steps": 1}, {"lr": -1.0}, {"batch": 0}, {"time_limit": 0}, {"walks": 3}],
)
def test_bad_options_raise(options):
    with pytest.raises(InvalidInputError):
        search(M222, 7, "spn", **options)


def test_bad_rank_raises():
    with pytest.raises(InvalidInputError):
        search(M222, 0, "spn")


def test_quantizers():
    g = grid("ternary")
    w = torch.tensor([[[-0.9, 0.2, 0.31, 0.0]]], dtype=torch.float64)
    codes, alpha = twn_ternary(w)  # delta = 0.7 * 0.3525
    assert codes.tolist() == [[[-1.0, 0.0, 1.0, 0.0]]]
    assert float(alpha) == pytest.approx((0.9 + 0.31) / 2)
    assert nearest(torch.tensor([1.4, -0.6]), grid("int2", torch.float32)).tolist() == [1.0, -1.0]
    # stochastic rounding is unbiased: mean of many draws equals the value
    x = torch.full((20000,), 0.3, dtype=torch.float64)
    r = stochastic_round(x, g, torch.rand(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    assert set(r.unique().tolist()) == {0.0, 1.0} and abs(float(r.mean()) - 0.3) < 0.02
    U, V, W = (torch.randn(2, 3, 4, dtype=torch.float64) for _ in range(3))
    before = torch.einsum("bri,brj,brk->bijk", U, V, W)
    balance_terms(U, V, W)
    assert torch.allclose(torch.einsum("bri,brj,brk->bijk", U, V, W), before)
    assert torch.allclose(U.abs().amax(-1), torch.ones(2, 3, dtype=torch.float64))


def test_demo_rediscovers_strassen(tmp_path, monkeypatch, capsys):
    from discovery.cli import demo

    monkeypatch.setenv("BILINEAR_RESULTS", str(tmp_path))
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "exact=True symbolic=True" in out and "c22 = " in out and "m7 = " in out
    saved = list(tmp_path.rglob("*.json"))
    assert len(saved) == 1 and load_scheme(saved[0]).meta["provenance"]["engine"] == "spn"
