"""Regression tests for bugs found in review of the engines, solvers and CLI."""

import pytest

from discovery.cli import main
from discovery.formats import save_json
from discovery.known import strassen
from discovery.problems import matmul, polymul


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture
def strassen_file(tmp_path):
    return save_json(strassen(), tmp_path / "strassen.json")


def test_auto_pipeline_spn_route_runs():
    # the pipeline passed domain= to spn, which has no such option: the route always raised
    from solvers.pipeline import run as auto

    res = auto(polymul(2, 2), 3, routes=["spn"], time_limit=20, seed=0, restarts=4, steps=3000)
    assert res.found and res.schemes[0].rank == 3


def test_flip_lift_respects_time_limit(monkeypatch):
    # lift=True gave every found scheme 30 s of lifting whatever the time limit
    import solvers.lifting
    from discovery.engines import flip

    limits = []
    real = solvers.lifting.lift

    def spy(scheme, *, time_limit=None, **kw):
        limits.append(time_limit)
        return real(scheme, time_limit=time_limit, **kw)

    monkeypatch.setattr(solvers.lifting, "lift", spy)
    res = flip.run(matmul(2, 2, 2), 7, seed=0, walks=64, time_limit=2.0, lift=True)
    assert limits and all(t <= 2.0 for t in limits)
    assert res.found


def test_lift_rejects_negative_seed(capsys, strassen_file):
    code, out, err = run(capsys, "lift", str(strassen_file), "--seed", "-1", "--no-save")
    assert code == 2 and "seed" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("cmd", ["refine", "lift"])
def test_out_that_is_a_file_is_refused_before_solving(capsys, tmp_path, strassen_file, cmd):
    code, out, err = run(capsys, cmd, str(strassen_file), "--out", str(strassen_file))
    assert code == 2 and "--out" in err and "not a directory" in err


def test_list_missing_root_is_an_error(capsys, tmp_path, strassen_file):
    code, out, err = run(capsys, "list", "--root", str(tmp_path / "missing"))
    assert code == 2 and "--root" in err and out == ""
    code, out, err = run(capsys, "list", "--root", str(strassen_file))
    assert code == 2 and "not a directory" in err


def test_show_plot_into_directory_refused_before_output(capsys, tmp_path, strassen_file):
    (tmp_path / "d.png").mkdir()
    code, out, err = run(capsys, "show", str(strassen_file), "--plot", str(tmp_path / "d.png"))
    assert code == 2 and "is a directory" in err and out == ""


def test_train_spn_plot_path_checked_before_training(capsys, tmp_path):
    # used to train for minutes and then save to "<dir>.png" (matplotlib adds the suffix)
    (tmp_path / "adir").mkdir()
    code, out, err = run(capsys, "train-spn", "--plot", str(tmp_path / "adir"))
    assert code == 2 and "--plot" in err and out == ""
    assert not (tmp_path / "adir.png").exists()


def test_lm_sparse_solves_stop_at_the_deadline(monkeypatch):
    # lm checked its time limit only between restarts: one restart of a large
    # problem (several seconds each stage) ran on far past the budget
    import time

    import numpy as np

    from discovery.engines import lm

    statuses = []
    real = lm.least_squares

    def spy(*args, **kw):
        res = real(*args, **kw)
        statuses.append(res.status)
        return res

    monkeypatch.setattr(lm, "least_squares", spy)
    lm.decompose(matmul(3, 3, 3).tensor(), 22, np.random.default_rng(0), dense=False,
                 deadline=time.perf_counter())
    assert statuses == [-2, -2, -2]  # each stage stopped by the deadline callback


def test_export_warns_about_a_wrong_scheme(capsys, tmp_path):
    s = strassen()
    W = s.W.copy()
    W[2, 1] = 0
    bad = save_json(s.replace(W=W), tmp_path / "bad.json")
    code, out, err = run(capsys, "export", str(bad), "--format", "python")
    assert code == 0 and "def " in out and "NOT exact" in err
    code, out, err = run(capsys, "export", str(save_json(s, tmp_path / "ok.json")), "--format", "json")
    assert code == 0 and "NOT exact" not in err


def test_lift_error_names_the_file(capsys, tmp_path):
    from fractions import Fraction

    s = strassen()
    U = s.U.copy()
    U[0, 0] = Fraction(1, 2)
    f = save_json(s.replace(U=U, field="Q"), tmp_path / "half.json")
    code, out, err = run(capsys, "lift", str(f), "--no-save")
    assert code == 2 and "half.json" in err and "even denominator" in err


def test_refine_stops_when_fully_freed_model_is_infeasible():
    # used to keep solving the same infeasible model until the time limit (forever with None)
    from discovery.scheme import Scheme
    from solvers.refine import refine

    wrong = Scheme(polymul(2, 2), [[1, 0], [0, 1]], [[1, 0], [0, 1]], [[1, 0, 0], [0, 0, 1]])  # misses x0*y1 + x1*y0
    res = refine(wrong, time_limit=None, use_alternating=False)
    assert not res.exact and res.history[-1][2] == "infeasible" and res.history[-1][1] == 14


def test_search_warns_about_options_an_engine_ignores(capsys, tmp_path):
    # engines with **ignored swallowed --loss/--steps/... silently, contrary to the CLI's docstring
    code, out, err = run(capsys, "search", "2x2x2", "--rank", "7", "--engine", "flip", "--steps", "50",
                         "--time-limit", "5", "--no-save", "--quiet")
    assert code == 0 and "--steps is not used by engine 'flip'" in err


@pytest.mark.parametrize("bad", [dict(time_limit=-1), dict(time_limit="3"), dict(max_schemes=0)])
def test_lm_validates_its_options(bad):
    # lm.run(time_limit=-1) returned "not_found" after zero restarts; "3" raised a TypeError
    from discovery.engines import lm
    from discovery.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        lm.run(matmul(2, 2, 2), 7, **bad)
