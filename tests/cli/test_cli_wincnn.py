"""``bilinear wincnn``: Cook-Toom algorithms from the command line."""

import pytest

from discovery.cli import main
from discovery.winograd.cooktoom import cook_toom


# ------------------------------------------------------------------ CLI wincnn
def _cli(argv, capsys):
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.mark.parametrize("argv", [
    ["wincnn", "F(4,3)", "--points", "0,1,1,1/2,-2"],
    ["wincnn", "F(4,3)", "--points", "0,1"],
    ["wincnn", "F(2,3)", "--points", "0,1,x"],
    ["wincnn", "F(2,3)", "--points=0,inf,inf"],
    ["wincnn", "2x2x2"],
    ["wincnn", "F(2,3)", "--col-points", "0,1,-1"],
])
def test_wincnn_bad_input_is_one_line_exit_2(argv, capsys, tmp_path):
    rc, out, err = _cli(argv + ["--out", str(tmp_path / "o")], capsys)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [["wincnn", "F(2,3", "--points", "0,1,-1"], ["wincnn", "F(2,3)", "--fractions", "W"]])
def test_wincnn_bad_input_via_argparse_exit_code(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_wincnn_prints_transforms_and_saves(capsys, tmp_path):
    rc, out, err = _cli(["wincnn", "F(4,3)", "--points=0,1,-1,1/2,-2", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    assert "A^T =" in out and "B^T =" in out and "verified: exact and symbolic" in out
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1 and files[0].parent.name == "correlation-F-4-3"
    from discovery.io.formats import load_json

    assert load_json(files[0]) == cook_toom(4, 3, "0,1,-1,1/2,-2")


def test_wincnn_2d_asymmetric_and_show(capsys):
    rc, out, _ = _cli(["wincnn", "F(4x2,3x3)", "--fractions", "AT", "--show"], capsys)
    assert rc == 0
    assert "rows (first axis)" in out and "columns (second axis)" in out
    assert "24 multiplications (standard 72)" in out and "float16" in out


def test_wincnn_points_starting_with_minus(capsys):
    rc, out, _ = _cli(["wincnn", "F(2,3)", "--points", "-1,0,1"], capsys)
    assert rc == 0 and "points: {-1, 0, 1, inf}" in out
    rc, out, _ = _cli(["wincnn", "F(2x2,3x3)", "--points", "-1/2,0,1", "--col-points", "-2,0,2"], capsys)
    assert rc == 0 and "columns {-2, 0, 2, inf}" in out


def test_wincnn_polymul(capsys):
    rc, out, _ = _cli(["wincnn", "poly(2,3)", "--points=-1,0,1"], capsys)
    assert rc == 0 and "poly(2,3): 4 multiplications" in out


def test_wincnn_pick_ranks_and_uses_the_best_points(capsys):
    rc, out, _ = _cli(["wincnn", "F(2,3)", "--pick", "dyadic"], capsys)
    assert rc == 0
    assert "by measured float32 error" in out
    assert "points: {-1, 0, 1, inf}" in out
    rc, _, err = _cli(["wincnn", "F(2,3)", "--pick", "all", "--points", "0,1,2"], capsys)
    assert rc == 2 and "not both" in err
