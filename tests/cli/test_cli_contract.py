"""The CLI's contract: exit 2 and one line for invalid input, 3 and one line for a bug, quiet progress."""

import io

import pytest
from rich.console import Console

from discovery.algebra.literature import strassen
from discovery.cli import main
from discovery.core.errors import InvalidInputError
from discovery.core.progress import ProgressEvent
from discovery.io.formats import save_json


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture
def strassen_file(tmp_path):
    return save_json(strassen(), tmp_path / "s.json")


def test_invalid_input_exits_2_with_one_line(capsys, strassen_file, monkeypatch):
    import discovery.cli.show as show

    def bad(args):
        raise InvalidInputError("something the user typed")

    monkeypatch.setattr(show, "run", bad)
    code, out, err = run(capsys, "show", str(strassen_file))
    assert code == 2 and out == "" and err == "bilinear: error: something the user typed\n"


@pytest.mark.parametrize("exc", [ValueError("a bug that raises ValueError"), KeyError("k"), ZeroDivisionError("x"),
                                 RecursionError("deep"), MemoryError()])
def test_unexpected_errors_are_internal_errors_exit_3(capsys, strassen_file, monkeypatch, exc):
    import discovery.cli.show as show

    def bug(args):
        raise exc

    monkeypatch.setattr(show, "run", bug)
    code, out, err = run(capsys, "show", str(strassen_file))
    lines = err.strip().splitlines()
    assert code == 3 and len(lines) == 1
    assert lines[0].startswith(f"bilinear: internal error: {type(exc).__name__}")
    assert "--debug" in lines[0] and "report" in lines[0]


def test_debug_shows_the_traceback(capsys, strassen_file, monkeypatch):
    import discovery.cli.show as show

    def bug(args):
        return 1 / 0

    monkeypatch.setattr(show, "run", bug)
    for argv in (["--debug", "show", str(strassen_file)], ["show", str(strassen_file), "--debug"]):
        code, out, err = run(capsys, *argv)
        assert code == 3 and "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
        assert err.strip().splitlines()[-1].startswith("bilinear: internal error: ZeroDivisionError")


def test_argparse_errors_are_one_line_exit_2(capsys):
    code, out, err = run(capsys, "verify")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, "show", "x.json", "--bogus\x1b[31m")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "\x1b" not in err


def test_os_errors_on_user_paths_are_invalid_input(capsys, tmp_path, strassen_file, monkeypatch):
    import discovery.cli.show as show

    def denied(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "f"))

    monkeypatch.setattr(show, "run", denied)
    code, out, err = run(capsys, "show", str(strassen_file))
    assert code == 2 and err == f"bilinear: error: {tmp_path / 'f'}: Permission denied\n"


def test_broken_pipe_is_quiet(capsys, strassen_file, monkeypatch):
    import discovery.cli.show as show

    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(show, "run", closed)
    monkeypatch.setattr("discovery.cli.silence_stdout", lambda: None)
    code, out, err = run(capsys, "show", str(strassen_file))
    assert code == 141 and err == ""


def test_progress_bar_is_off_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    from discovery.cli import common

    assert not common.err.is_terminal  # captured by pytest
    with common.progress_bar("work", total=3) as bar:
        for i in range(3):
            bar(ProgressEvent("test", done=i + 1, total=3))
    assert capsys.readouterr().err == ""
    # the same bar on a terminal draws (the old `disable=... and False` drew everywhere)
    buffer = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=buffer, force_terminal=True, width=80))
    with common.progress_bar("work", total=3) as bar:
        bar(ProgressEvent("test", done=3, total=3))
    assert "work" in buffer.getvalue()


def test_refine_prints_no_progress_into_a_pipe(capsys, tmp_path):
    s = strassen()
    W = s.W.copy()
    W[2, 1] = 0
    bad = save_json(s.replace(W=W), tmp_path / "bad.json")
    code, out, err = run(capsys, "refine", str(bad), "--no-save", "--time-limit", "20")
    assert code == 0 and out.startswith("EXACT") and err == ""


def test_command_table_matches_the_modules():
    import importlib

    from discovery import cli

    for name, module in cli.COMMANDS.items():
        mod = importlib.import_module(f"discovery.cli.{module}")
        assert mod.NAME == name and cli._HELP[name] == mod.HELP
    cli.build_parser(everything=True)  # every command's arguments build


def test_light_commands_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from discovery.cli import main; main(['list', '--kind', 'matmul']); "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
