"""The StrassenNets route: spn + CP-SAT refinement as one engine, and its coefficient sets."""

import json
from fractions import Fraction

import pytest
import torch

from discovery.algebra.literature import strassen
from discovery.cli import main
from discovery.core.coefficients import coefficient_values
from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation, matmul
from discovery.engines import spn
from discovery.search import search
from verify import verify_symbolic

M222 = matmul(2, 2, 2)


def _planted(monkeypatch, wrong_entry=True):
    """Make every restart end on Strassen's factors with one coefficient corrupted."""
    U, V, W = (torch.tensor([[float(v) for v in row] for row in m.tolist()], dtype=torch.float64)
               for m in strassen().factors)
    if wrong_entry:
        U = U.clone()
        U[0, 0] = 0.0  # the product m1 loses a11: a near miss

    def fake(cfg, rank, T, indices, seed, loss_fn, deadline, report):
        B = len(indices)
        rounded = tuple(m.unsqueeze(0).repeat(B, 1, 1) for m in (U, V, W))
        return rounded, [rounded]

    monkeypatch.setattr(spn, "_train_batch", fake)


def test_refinement_finishes_a_planted_near_miss(monkeypatch):
    _planted(monkeypatch)
    res = search(M222, 7, "spn", restarts=2, batch=2, seed=0, refine_seconds=30)
    assert res.found
    s = res.schemes[0]
    assert verify_symbolic(s).ok
    prov = s.meta["provenance"]
    assert prov["refined"] is True and prov["wrong_before"] >= 1
    assert res.stats["exact_refined"] == 2 and res.stats["exact_rounded"] == 0 and res.stats["wrong"] == 0


def test_no_refine_keeps_the_near_miss(monkeypatch):
    _planted(monkeypatch)
    res = search(M222, 7, "spn", restarts=2, batch=2, seed=0, refine=False)
    assert not res.found and res.near_misses and res.near_misses[0].wrong >= 1
    assert res.stats["exact_refined"] == 0 and res.stats["wrong"] == 2


def test_queued_refinements_keep_to_the_time_limit(monkeypatch):
    """Near misses queued behind each other get what is left of the run's limit, not a full slice each."""
    import time

    from solvers import refine as refine_module

    _planted(monkeypatch)
    calls = []

    def slow_refine(scheme, *, time_limit, **kw):
        calls.append(time_limit)
        time.sleep(time_limit)
        return refine_module.RefineResult("not_found", scheme, wrong_before=1)

    monkeypatch.setattr(spn, "refine", slow_refine)
    t0 = time.monotonic()
    res = search(M222, 7, "spn", restarts=8, batch=8, seed=0, refine_seconds=2.0, time_limit=3.0, repair="none")
    assert time.monotonic() - t0 < 5.5  # 8 slices of 2 s would take 16 s
    assert calls and sum(calls) <= 3.0 + 1e-6
    assert res.stats["wrong"] == 8 and res.stats["exact_refined"] == 0


def test_the_three_counts_add_up_to_the_restarts(tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(["search", "2x2x2", "--rank", "7", "--restarts", "6", "--steps", "600", "--seed", "1", "-q",
                 "--no-save", "--refine-seconds", "0.5", "--report", str(report)])
    assert code in (0, 1)
    data = json.loads(report.read_text())
    assert data["exact_rounded"] + data["exact_refined"] + data["wrong"] == data["restarts"] == 6
    assert {"first_exact_seconds", "wall_seconds"} <= set(data)


def test_small_rational_set_finds_f23_and_verifies_symbolically():
    res = search(correlation(2, 3), 4, "spn", seed=0, restarts=8, steps=2000, coefficients="rational", max_schemes=1)
    assert res.found
    s = res.schemes[0]
    assert s.field == "Q" and verify_symbolic(s).ok
    assert set(s.coefficient_set) <= set(coefficient_values("rational"))


def test_a_user_given_list_is_a_coefficient_set():
    res = search(correlation(2, 3), 4, "spn", seed=0, restarts=8, steps=2000, coefficients="0,1,-1,1/2,-1/2", max_schemes=1)
    assert res.found and set(res.schemes[0].coefficient_set) <= {0, 1, -1, Fraction(1, 2), Fraction(-1, 2)}


@pytest.mark.parametrize("bad", [dict(coefficients="0,1,x"), dict(coefficients="quaternary"),
                                 dict(refine_seconds=-1), dict(refine_seconds=0), dict(refine_wrong=0)])
def test_bad_refinement_options(bad):
    with pytest.raises(InvalidInputError):
        search(M222, 7, "spn", **bad)


@pytest.mark.parametrize("argv", [["--coefficients", "0,1,1/0"], ["--coefficients", "half"],
                                  ["--refine-seconds", "-2"], ["--refine-seconds", "soon"]])
def test_bad_refinement_flags_exit_2_with_one_line(argv, capsys):
    try:
        code = main(["search", "2x2x2", "--rank", "7", "--no-save", "-q", *argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "error" in err[0]


def test_flip_repair_finishes_what_cpsat_does_not(monkeypatch):
    from solvers import refine as refine_module

    _planted(monkeypatch)
    monkeypatch.setattr(spn, "refine", lambda scheme, **kw: refine_module.RefineResult("not_found", scheme))
    res = search(M222, 7, "spn", restarts=2, batch=2, seed=0, refine_seconds=20)
    assert res.found and verify_symbolic(res.schemes[0]).ok
    assert res.schemes[0].meta["provenance"]["refined_by"] == "flip"
    assert res.stats["refined_flip"] == 2 and res.stats["refined_cpsat"] == 0
    alone = search(M222, 7, "spn", restarts=2, batch=2, seed=0, refine_seconds=1, repair="none")
    assert not alone.found and alone.stats["wrong"] == 2


def test_complete_adds_one_term_per_wrong_entry():
    from discovery.engines.flip.repair import complete
    from verify import verify_exact
    from verify.exact import wrong_entries

    s = strassen()
    W = s.W.copy()
    W[6, 0] = 0  # the last product no longer reaches c11
    near = s.replace(W=W)
    wrong = wrong_entries(near)
    assert wrong >= 1
    fixed = complete(near)
    assert fixed.rank == 7 + wrong and verify_exact(fixed).ok
    with pytest.raises(InvalidInputError):
        complete(near.replace(field="Q"))
