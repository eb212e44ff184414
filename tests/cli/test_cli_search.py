"""``bilinear search``: exit codes, report, saved schemes, one-line errors."""

import json

import pytest

from discovery.cli import main
from discovery.io.formats import load_scheme
from verify import verify_exact


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_search_finds_saves_and_reports(tmp_path, capsys):
    report = tmp_path / "report.json"
    code, out, err = run_cli(
        ["search", "2x2x2", "--rank", "7", "--restarts", "4", "--seed", "3", "-q",
         "--out", str(tmp_path / "cat"), "--report", str(report)], capsys)
    assert code == 0, err
    data = json.loads(report.read_text())
    assert {"problem", "rank", "engine", "restarts", "exact", "wall_seconds", "first_exact_seconds", "schemes"} <= set(data)
    assert data["problem"] == "2x2x2" and data["rank"] == 7 and data["engine"] == "spn"
    assert data["restarts"] == 4 and data["exact"] >= 1 and data["schemes"]
    for path in data["schemes"]:
        scheme = load_scheme(path)
        assert verify_exact(scheme).ok and scheme.rank == 7
        prov = scheme.meta["provenance"]
        assert prov["engine"] == "spn" and prov["seed"] == 3 and "seconds" in prov and "date" in prov
        assert f"saved: {path}" in out


def test_no_exact_scheme_exits_1(tmp_path, capsys):
    code, out, err = run_cli(["search", "2x2x2", "--rank", "5", "--restarts", "2", "--steps", "200",
                              "-q", "--no-save"], capsys)
    assert code == 1
    assert "0 exact schemes" in out


def test_rank_above_naive_warns(capsys):
    code, out, err = run_cli(["search", "1x1x2", "--rank", "3", "--restarts", "2", "--steps", "300",
                              "-q", "--no-save"], capsys)
    assert code == 0
    assert "warning" in err and "above" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "2x2x2", "--rank", "0"],
        ["search", "2x2x2", "--rank", "-3"],
        ["search", "2x2y2", "--rank", "7"],
        ["search", "2x2x2"],
        ["search", "2x2x2", "--rank", "7", "--engine", "nope"],
        ["search", "2x2x2", "--rank", "7", "--loss", "l1"],
        ["search", "2x2x2", "--rank", "7", "--restarts", "0"],
        ["search", "2x2x2", "--rank", "7", "--time-limit", "-1"],
        ["search", "2x2x2", "--rank", "7", "--report", "/nonexistent/dir/r.json"],
    ],
)
def test_bad_input_exits_2_with_one_line(argv, capsys, tmp_path):
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert "Traceback" not in err


def test_engine_flags_come_from_the_declared_options(capsys):
    from discovery.search import ENGINES

    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = capsys.readouterr().out
    for name, eng in ENGINES.items():
        assert f"engine {name}:" in text
        for spec in eng.options.specs():
            if spec.cli:
                assert spec.flag in text


def test_engines_command_lists_every_engine_and_option(capsys):
    from discovery.search import ENGINES

    assert main(["engines"]) == 0
    text = capsys.readouterr().out
    for name, eng in ENGINES.items():
        assert name in text
        assert all(s.flag in text for s in eng.options.specs() if s.cli)
