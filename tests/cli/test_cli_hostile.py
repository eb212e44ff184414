"""The hostile probe's cases (issue 10, item 7), each through the CLI.

Every case ends with exit 2 and one line, or finishes; none writes a partial or
stray file, replaces a special file or reports a save that did not happen.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from discovery.algebra.literature import strassen
from discovery.algebra.ops import kron, standard_scheme
from discovery.cli import main
from discovery.core.problems import matmul
from discovery.core.scheme import Scheme
from discovery.io import catalog
from discovery.io.formats import dumps, save_json

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def write(path: Path, d: dict) -> Path:
    path.write_text(json.dumps(d))
    return path


@pytest.fixture
def strassen_file(tmp_path):
    return save_json(strassen(), tmp_path / "s.json")


# ---------------------------------------------------------- silent data loss
def test_save_into_a_problem_folder_that_is_a_file_is_an_error(capsys, tmp_path, strassen_file):
    out_dir = tmp_path / "c"
    out_dir.mkdir()
    (out_dir / "matmul-2x2x2").write_text("x")
    code, out, err = run(capsys, "import", strassen_file, "--format", "json", "--out", out_dir)
    assert code == 2 and "saved" not in out and "not a folder" in err
    (out_dir / "correlation-F-2-3").write_text("x")
    code, out, err = run(capsys, "wincnn", "F(2,3)", "--out", out_dir)
    assert code == 2 and "saved:" not in out and "not a folder" in one_line(err)


def test_out_that_is_a_dangling_symlink_is_an_error(capsys, tmp_path, strassen_file):
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "gone")
    code, out, err = run(capsys, "import", strassen_file, "--format", "json", "--out", link)
    assert code == 2 and "saved" not in out and "dangling" in err
    assert not (tmp_path / "gone").exists()


def test_dangling_symlink_or_garbage_at_the_target_name(capsys, tmp_path, strassen_file):
    target = catalog.scheme_path(strassen(), tmp_path / "c")
    target.parent.mkdir(parents=True)
    target.symlink_to(tmp_path / "nowhere.json")
    code, out, err = run(capsys, "import", strassen_file, "--format", "json", "--out", tmp_path / "c")
    assert code == 2 and "saved" not in out and "dangling" in err
    target.unlink()
    target.write_text("garbage")
    code, out, err = run(capsys, "import", strassen_file, "--format", "json", "--out", tmp_path / "c")
    assert code == 0 and f"saved 2x2x2 rank 7 over Z: {target}" in out
    assert catalog.load_json(target) == strassen()


# ------------------------------------------------------ special files replaced
def test_export_writes_through_dev_null_and_never_replaces_it(capsys, strassen_file):
    for fmt in ("json", "alphatensor"):
        code, out, err = run(capsys, "export", strassen_file, "--format", fmt, "--out", "/dev/null")
        assert code == 0, err
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_export_into_a_fifo_without_reader_is_refused(capsys, tmp_path, strassen_file):
    fifo = tmp_path / "f.npz"
    os.mkfifo(fifo)
    code, out, err = run(capsys, "export", strassen_file, "--format", "alphatensor", "--out", fifo)
    assert code == 2 and "no reader" in one_line(err) and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_export_through_a_symlink_to_a_terminal_like_device_keeps_the_link(capsys, tmp_path, strassen_file):
    link = tmp_path / "stdout-like"
    link.symlink_to("/dev/null")
    code, out, err = run(capsys, "export", strassen_file, "--format", "json", "--out", link)
    assert code == 0 and link.is_symlink()


# -------------------------------------------------------------- deep nesting
@pytest.fixture
def deep_files(tmp_path):
    d = json.loads(dumps(strassen()))
    text = json.dumps(d)
    deep = "[" * 100_000 + "]" * 100_000
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "u.json").write_text(text.replace('"U": [', f'"U": [{deep}, ', 1))
    (folder / "p.json").write_text(text[:-1] + f', "provenance": {deep}}}')
    return folder


@pytest.mark.parametrize("name", ["u.json", "p.json"])
@pytest.mark.parametrize("cmd", [["verify"], ["show"], ["import", "--format", "json", "--out", "OUT"],
                                 ["refine", "--no-save"], ["lift", "--no-save"]])
def test_deep_nesting_is_one_line_exit_2(capsys, deep_files, tmp_path, cmd, name):
    argv = [c if c != "OUT" else str(tmp_path / "o") for c in cmd]
    code, out, err = run(capsys, argv[0], deep_files / name, *argv[1:])
    assert code == 2 and "nested too deeply" in one_line(err)


def test_list_reports_deeply_nested_files_as_unreadable(capsys, deep_files):
    code, out, err = run(capsys, "list", "--root", deep_files)
    assert code == 0 and out.count("unreadable") == 2 and err == ""


# --------------------------------------------------------------- wrong types
@pytest.mark.parametrize("kind", [["matmul"], {"k": 2}])
@pytest.mark.parametrize("cmd", [["verify"], ["show"], ["import", "--format", "json", "--out", "OUT"],
                                 ["lift", "--no-save"]])
def test_problem_kind_of_the_wrong_type(capsys, tmp_path, kind, cmd):
    d = json.loads(dumps(strassen()))
    d["problem"]["kind"] = kind
    f = write(tmp_path / "k.json", d)
    argv = [c if c != "OUT" else str(tmp_path / "o") for c in cmd]
    code, out, err = run(capsys, argv[0], f, *argv[1:])
    assert code == 2 and "kind must be a string" in one_line(err)


def test_non_flat_tensor_entries_are_refused(capsys, tmp_path):
    d = json.loads(dumps(strassen()))
    d.update(problem={"kind": "tensor", "shape": [2, 1, 1], "entries": [[-1], [2]]}, U=[[-1, 2]], V=[[1]],
             W=[[1]], rank=1)
    code, out, err = run(capsys, "verify", write(tmp_path / "t.json", d))
    assert code == 2 and "flat list" in err


# -------------------------------------------------------------- huge numbers
@pytest.fixture
def huge_file(tmp_path):
    return save_json(Scheme(matmul(1, 1, 1), [[10**30]], [[1]], [["1/" + str(10**30)]], "Q"), tmp_path / "h.json")


def test_export_alphatensor_of_huge_coefficients(capsys, tmp_path, huge_file):
    code, out, err = run(capsys, "export", huge_file, "--format", "alphatensor", "--out", tmp_path / "h.npz")
    assert code == 2 and "not exact in floating point" in one_line(err)
    z = save_json(Scheme(matmul(1, 1, 1), [[10**30], [1 - 10**30]], [[1], [1]], [[1], [1]], "Z"), tmp_path / "z.json")
    code, out, err = run(capsys, "export", z, "--format", "alphatensor", "--out", tmp_path / "z.npz")
    assert code == 2 and "int64" in one_line(err)
    assert not (tmp_path / "h.npz").exists() and not (tmp_path / "z.npz").exists()


def test_show_plot_and_numeric_of_coefficients_beyond_float(capsys, tmp_path):
    f = save_json(Scheme(matmul(1, 1, 1), [[10**400]], [[1]], [["1/" + str(10**400)]], "Q"), tmp_path / "b.json")
    code, out, err = run(capsys, "show", f, "--plot", tmp_path / "b.png")
    assert code == 0 and (tmp_path / "b.png").stat().st_size > 1000
    code, out, err = run(capsys, "verify", f, "--numeric")
    assert code == 0 and "not finite in float64" in out


@pytest.mark.parametrize("domain, match", [("-1,0,1,9223372036854775808", "BILINEAR_MAX_DOMAIN_VALUE"),
                                           ("0,1,1/99999999999999999999999", "common denominator"),
                                           ("1/1024,1/1023,1", "common denominator")])
def test_refine_domains_with_huge_values(capsys, strassen_file, domain, match):
    code, out, err = run(capsys, "refine", strassen_file, f"--domain={domain}", "--no-save")
    assert code == 2 and match in one_line(err)


def test_wincnn_points_with_huge_values(capsys):
    code, out, err = run(capsys, "wincnn", "F(2,3)", "--points", "0,1," + "1" + "0" * 100)
    assert code == 2 and "BILINEAR_MAX_POINT_VALUE" in one_line(err)
    code, out, err = run(capsys, "wincnn", "F(2,3)", "--points", "0,1,10^100")
    assert code == 2 and "not an integer" in one_line(err)


# ---------------------------------------------------------------- huge sizes
@pytest.mark.parametrize("cmd", ["verify", "show"])
@pytest.mark.parametrize("n", [32, 64])
def test_huge_problems_are_refused_up_front(capsys, tmp_path, cmd, n):
    d = {"format": "bilinear-scheme/1", "problem": {"kind": "matmul", "k": n, "m": n, "n": n}, "field": "Z",
         "rank": 1, "U": [[1] + [0] * (n * n - 1)], "V": [[1] + [0] * (n * n - 1)], "W": [[1] + [0] * (n * n - 1)]}
    f = write(tmp_path / "big.json", d)
    code, out, err = run(capsys, cmd, f)
    line = one_line(err) if cmd == "show" else err.strip()
    assert code == 2 and "BILINEAR_MAX_TENSOR_ENTRIES" in line and out.count("\n") <= 1


def test_padded_scheme_is_refused_up_front(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("BILINEAR_MAX_RANK", "1000")
    d = json.loads(dumps(strassen()))
    for key in "UVW":
        d[key] += [[0, 0, 0, 0]] * 5000
    d["rank"] = 5007
    f = write(tmp_path / "pad.json", d)
    for cmd in (["show"], ["export", "--format", "c"]):
        code, out, err = run(capsys, cmd[0], f, *cmd[1:])
        assert code == 2 and "BILINEAR_MAX_RANK" in one_line(err) and out == ""


@pytest.mark.slow
def test_strassen_padded_with_1_7_million_zero_terms(capsys, tmp_path):
    d = json.loads(dumps(strassen()))
    for key in "UVW":
        d[key] += [[0, 0, 0, 0]] * 1_700_000
    d["rank"] = 1_700_007
    f = write(tmp_path / "pad.json", d)
    code, out, err = run(capsys, "show", f)
    assert code == 2 and "1,700,007" in one_line(err)


# ----------------------------------------------------------------- npz files
def test_verify_dev_zero(capsys):
    code, out, err = run(capsys, "verify", "/dev/zero")
    assert code == 2 and "character device" in err and out.strip().endswith("1 unreadable")


def test_import_of_a_zip_bomb(capsys, tmp_path, monkeypatch):
    import io
    import zipfile

    monkeypatch.setenv("BILINEAR_MAX_FILE_BYTES", str(10**6))
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros((3, 1000, 1000), dtype=np.int64))
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("10,10,10.npy", buf.getvalue())
    code, out, err = run(capsys, "import", tmp_path / "bomb.npz", "--out", tmp_path / "c")
    assert code == 2 and "BILINEAR_MAX_FILE_BYTES" in one_line(err)
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------- slow paths
def test_verify_symbolic_of_the_standard_8x8x8(capsys, tmp_path):
    f = save_json(standard_scheme(matmul(8, 8, 8)), tmp_path / "s8.json")
    code, out, err = run(capsys, "verify", f, "--symbolic")
    assert code == 0 and "(exact+symbolic)" in out


@pytest.mark.slow
def test_verify_symbolic_of_the_standard_16x16x16(capsys, tmp_path):
    f = save_json(standard_scheme(matmul(16, 16, 16)), tmp_path / "s16.json")
    code, out, err = run(capsys, "verify", f, "--symbolic")
    assert code == 0 and "(exact+symbolic)" in out


@pytest.mark.slow
def test_show_of_a_dense_rank_1000_scheme(capsys, tmp_path):
    rng = np.random.default_rng(0)
    s = standard_scheme(matmul(10, 10, 10))
    f = save_json(s.replace(U=rng.integers(-1, 2, (1000, 100)), V=rng.integers(-1, 2, (1000, 100)),
                            W=rng.integers(-1, 2, (1000, 100))), tmp_path / "d.json")
    code, out, err = run(capsys, "show", f)
    assert code == 1 and "NOT EXACT" in out and "elimination skipped" in out


def test_cse_is_skipped_for_large_schemes_in_show():
    from discovery.cli.sections import CSE_PAIRS, costs_section, cse_work

    rng = np.random.default_rng(0)
    dense = standard_scheme(matmul(6, 6, 6)).replace(
        U=rng.integers(-1, 2, (216, 36)), V=rng.integers(-1, 2, (216, 36)), W=rng.integers(-1, 2, (216, 36)))
    assert cse_work(dense) > CSE_PAIRS
    assert "elimination skipped" in costs_section(dense)[0]


@pytest.mark.slow
def test_refine_of_a_rank_1000_scheme_stops_at_its_time_limit(capsys, tmp_path):
    rng = np.random.default_rng(0)
    s = standard_scheme(matmul(10, 10, 10))
    f = save_json(s.replace(U=rng.integers(-1, 2, (1000, 100))), tmp_path / "r.json")
    code, out, err = run(capsys, "refine", f, "--time-limit", "3", "--no-save")
    assert code == 1 and out.startswith("NOT FOUND")


def test_wincnn_f_64_64_is_refused_up_front(capsys):
    code, out, err = run(capsys, "wincnn", "F(64,64)")
    assert code == 2 and "BILINEAR_MAX_POINTS" in one_line(err) and out == ""
    code, out, err = run(capsys, "wincnn", "F(16x16,16x17)")
    assert code == 2 and "BILINEAR_MAX_TILE_RANK" in one_line(err)


# ----------------------------------------------------------------------- FIFO
@pytest.mark.parametrize("cmd", [["verify", "DIR"], ["list", "--root", "DIR"]])
def test_a_fifo_in_a_folder_is_skipped_with_a_warning(tmp_path, cmd):
    folder = tmp_path / "cat"
    catalog.save(strassen(), folder)
    os.mkfifo(folder / "matmul-2x2x2" / "fifo.json")
    argv = [c if c != "DIR" else str(folder) for c in cmd]
    proc = subprocess.run([sys.executable, "-m", "discovery", *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "fifo.json: not a regular file; skipped" in proc.stderr


# ------------------------------------------------------------ output that lies
def test_show_of_a_wrong_scheme_says_so(capsys, tmp_path):
    s = strassen()
    W = s.W.copy()
    W[0, 0] = 0
    f = save_json(s.replace(W=W), tmp_path / "w.json")
    code, out, err = run(capsys, "show", f)
    assert code == 1 and "NOT EXACT: 4 wrong tensor entries" in out and "NOT exact" in err
    code, out, err = run(capsys, "show", save_json(s, tmp_path / "ok.json"))
    assert code == 0 and "verified: exact" in out


def test_escape_characters_from_provenance_never_reach_the_terminal(capsys, tmp_path):
    evil = "\x1b]0;owned\x07\x1b[2J\r\u202egnp.exe [bold]x[/bold] :smile:"
    f = save_json(strassen().with_meta(provenance={"engine": evil, evil: 1}), tmp_path / "e.json")
    for argv in (["show", f], ["list", "--root", tmp_path], ["verify", f]):
        code, out, err = run(capsys, *argv)
        assert code == 0
        assert not any(c in out + err for c in "\x1b\x07\r\u202e")
    code, out, err = run(capsys, "show", f)
    assert "\\x1b]0;owned\\x07" in out and "[bold]x[/bold] :smile:" in out


# ----------------------------------------------------------- wrong exit codes
def test_a_lone_surrogate_does_not_break_list(capsys, tmp_path):
    folder = tmp_path / "cat"
    catalog.save(strassen(), folder)
    text = dumps(strassen().with_meta(provenance={"engine": "x"}))
    bad = folder / "matmul-2x2x2" / "surrogate.json"
    bad.write_text(text.replace('"engine": "x"', '"engine": "\\ud800"'))
    code, out, err = run(capsys, "list", "--root", folder)
    assert code == 0 and "\\ud800" in out and "2 schemes" in out
    code, out, err = run(capsys, "show", bad)
    assert code == 0 and "\\ud800" in out


def test_list_of_an_unreadable_root_is_an_error(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "cat"
    catalog.save(strassen(), folder)
    real = os.scandir

    def denied(path="."):
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    code, out, err = run(capsys, "list", "--root", folder)
    assert code == 2 and "cannot read" in one_line(err) and "0 schemes" not in out


# --------------------------------------------------------- the documented form
def test_refine_domain_in_the_documented_form(capsys, tmp_path):
    s = strassen()
    U = s.U.copy()
    U[0, 0] = 0
    f = save_json(s.replace(U=U), tmp_path / "b.json")
    for form in (["--domain", "-1,0,1,2"], ["--domain=-1,0,1,2"]):
        code, out, err = run(capsys, "refine", f, *form, "--no-save", "--time-limit", "30")
        assert code == 0 and out.startswith("EXACT"), err


def test_import_is_exact_by_default_and_symbolic_on_request(capsys, tmp_path):
    from discovery.io.formats import save_alphatensor

    f = save_alphatensor([kron(strassen(), strassen())], tmp_path / "s.npz")
    code, out, err = run(capsys, "import", f, "--out", tmp_path / "a")
    assert code == 0
    (path,) = catalog.iter_files(tmp_path / "a")
    assert catalog.load_json(path).meta["verified"] == {"exact": True, "symbolic": False}
    code, out, err = run(capsys, "import", f, "--out", tmp_path / "b", "--symbolic")
    (path,) = catalog.iter_files(tmp_path / "b")
    assert code == 0 and catalog.load_json(path).meta["verified"] == {"exact": True, "symbolic": True}


def test_list_with_an_unreadable_subfolder_warns_and_exits_1(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "cat"
    catalog.save(strassen(), folder)
    (folder / "locked").mkdir()
    real = os.scandir

    def denied(path="."):
        if Path(path) == folder / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    code, out, err = run(capsys, "list", "--root", folder)
    assert code == 1 and "locked: cannot read the folder" in err and "1 schemes" in out
