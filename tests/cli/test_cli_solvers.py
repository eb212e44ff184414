"""``bilinear refine`` / ``bilinear lift`` and ``bilinear search --engine cpsat|auto``."""

import pytest

from discovery.cli import main
from discovery.io.formats import load_scheme, save_json
from discovery.algebra.literature import strassen
from solvers.lifting import mod2_image
from verify import verify_all


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def broken(tmp_path):
    s = strassen()
    U = [list(r) for r in s.U.tolist()]
    U[0][0] = 0
    U[5][2] = -1
    path = tmp_path / "broken.json"
    save_json(s.replace(U=U), path)
    return path


def test_refine_fixes_and_saves(broken, tmp_path, capsys):
    code, out, err = run_cli(["refine", str(broken), "--out", str(tmp_path / "cat"), "--time-limit", "20"], capsys)
    assert code == 0, err
    assert out.startswith("EXACT")
    path = out.strip().split("-> ")[-1]
    assert verify_all(load_scheme(path)).ok


def test_lift_mod2_strassen(tmp_path, capsys):
    f2 = tmp_path / "f2.json"
    save_json(mod2_image(strassen()), f2)
    code, out, err = run_cli(["lift", str(f2), "--out", str(tmp_path / "cat")], capsys)
    assert code == 0, err
    lifted = load_scheme(out.strip().split("-> ")[-1])
    assert lifted.field == "Z" and verify_all(lifted).ok


def test_lift_reports_not_liftable(tmp_path, capsys):
    from discovery.core.problems import tensor
    from discovery.core.scheme import Scheme

    path = tmp_path / "even.json"
    save_json(Scheme(tensor([[[2]]]), [[0]], [[0]], [[0]], field="F2"), path)
    code, out, err = run_cli(["lift", str(path), "--no-save", "--time-limit", "5"], capsys)
    assert code == 1 and out.startswith("NOT LIFTED")


@pytest.mark.parametrize("argv", [
    ["refine", "{broken}", "--domain", ""],
    ["refine", "{broken}", "--problem", "3x3x3"],
    ["refine", "{missing}"],
    ["refine", "{broken}", "--time-limit", "0"],
    ["lift", "{missing}"],
    ["lift", "{broken}"],
    ["search", "2x2x2", "--rank", "0", "--engine", "cpsat"],
])
def test_bad_input_exits_2_with_one_line(argv, broken, tmp_path, capsys):
    argv = [a.format(broken=broken, missing=tmp_path / "missing.json") for a in argv]
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_search_engine_cpsat(tmp_path, capsys):
    code, out, err = run_cli(["search", "2x2x2", "--rank", "7", "--engine", "cpsat", "--time-limit", "20", "-q",
                              "--out", str(tmp_path / "cat")], capsys)
    assert code == 0, err


def test_search_engine_auto(tmp_path, capsys):
    code, out, err = run_cli(["search", "2x2x2", "--rank", "7", "--engine", "auto", "--time-limit", "30", "-q",
                              "--out", str(tmp_path / "cat")], capsys)
    assert code == 0, err
