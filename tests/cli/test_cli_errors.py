"""The CLI's one-line errors: bad paths and options refused before any work starts."""

import pytest

from discovery.cli import main
from discovery.io.formats import save_json
from discovery.algebra.literature import strassen


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


@pytest.mark.parametrize("engine, flag", [("flip", "--steps"), ("cpsat", "--loss"), ("spn", "--walks"),
                                          ("lm", "--field"), ("cooktoom", "--coefficients"), ("auto", "--restarts")])
def test_search_refuses_a_flag_the_engine_does_not_take(capsys, engine, flag):
    # engines used to swallow other engines' options through **ignored
    code, out, err = run(capsys, "search", "2x2x2", "--rank", "7", "--engine", engine, flag, "5",
                         "--no-save", "--quiet")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert f"engine {engine!r} does not take {flag}; its options are:" in lines[0]


def test_cli_train_spn_refuses_infinite_budget(capsys):
    from discovery.cli import main

    assert main(["train-spn", "--budgets", "inf", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "finite" in err[0]


def test_cli_export_code_to_a_directory_is_one_clear_line(tmp_path, capsys):
    from discovery.cli import main
    from discovery.io.formats import save_json
    from discovery.algebra.literature import strassen

    path = save_json(strassen(), tmp_path / "s.json")
    assert main(["export", str(path), "--format", "c", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a directory" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no partial files
