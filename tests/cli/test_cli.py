"""The foundation's CLI: verify, show, list, import, export, and bad input -> exit 2 with one line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from discovery.cli import main
from discovery.io.formats import save_json
from discovery.algebra.literature import strassen


@pytest.fixture
def strassen_file(tmp_path):
    return save_json(strassen(), tmp_path / "strassen.json")


def run(capsys, *argv):
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_verify_ok_and_wrong(capsys, tmp_path, strassen_file):
    code, out, _ = run(capsys, "verify", str(strassen_file), "--symbolic")
    assert code == 0 and "OK" in out and "exact+symbolic" in out
    s = strassen()
    W = s.W.copy()
    W[2, 1] = 0
    bad = save_json(s.replace(W=W), tmp_path / "bad.json")
    code, out, _ = run(capsys, "verify", str(bad))
    assert code == 1 and "WRONG" in out and "T[" in out


def test_verify_directory(capsys, tmp_path, strassen_file):
    code, out, _ = run(capsys, "verify", str(tmp_path), "--numeric")
    assert code == 0 and "float32" in out


def test_show_prints_formulas(capsys, strassen_file):
    code, out, _ = run(capsys, "show", str(strassen_file))
    assert code == 0
    assert "m1 = (a11 + a22) * (b11 + b22)" in out
    assert "c22 = m1 - m2 + m3 + m6" in out
    assert "additions (naive): 18" in out


def test_list(capsys, tmp_catalog):
    from discovery.io import catalog

    catalog.save(strassen())
    code, out, _ = run(capsys, "list")
    assert code == 0 and "2x2x2" in out and "literature" in out


def test_export_import_round_trip(capsys, tmp_path, strassen_file):
    npz = tmp_path / "s.npz"
    assert run(capsys, "export", str(strassen_file), "--format", "alphatensor", "--out", str(npz))[0] == 0
    code, out, _ = run(capsys, "import", str(npz), "--format", "alphatensor", "--out", str(tmp_path / "cat"))
    assert code == 0 and "saved 2x2x2 rank 7" in out
    (back,) = (tmp_path / "cat" / "matmul-2x2x2").glob("*.json")
    code, out, _ = run(capsys, "export", str(back), "--format", "json")
    assert code == 0 and json.loads(out)["U"] == json.loads(strassen_file.read_text())["U"]


def _crafted_npz(path):
    import io
    import zipfile

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": (3,)})
    buf.write(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("2,2,2.npy", buf.getvalue())
    return path


BAD_INPUTS = [
    ("verify", "{missing}"),
    ("verify", "{malformed}"),
    ("verify", "{widths}"),
    ("verify", "{zeroden}"),
    ("verify", "{floaty}"),
    ("verify", "{unknown}"),
    ("show", "{missing}"),
    ("import", "{evil}", "--out", "{out}"),
    ("import", "{malformed}", "--out", "{out}"),
    ("export", "{good}", "--format", "nope"),
    ("export", "{good}", "--format", "alphatensor"),
    ("frobnicate",),
    ("verify",),
]


@pytest.mark.parametrize("argv", BAD_INPUTS, ids=lambda a: " ".join(a))
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, strassen_file, argv):
    d = json.loads(strassen_file.read_text())
    files = {"missing": tmp_path / "nope.json", "malformed": tmp_path / "m.json", "widths": tmp_path / "w.json",
             "zeroden": tmp_path / "z.json", "floaty": tmp_path / "f.json", "unknown": tmp_path / "u.json",
             "evil": _crafted_npz(tmp_path / "evil.npz"), "out": tmp_path / "out", "good": strassen_file}
    files["malformed"].write_text('{"format": "bilinear-scheme/1", ')
    files["widths"].write_text(json.dumps({**d, "U": [[1, 0]] + d["U"][1:]}))
    files["zeroden"].write_text(json.dumps({**d, "U": [["1/0", 0, 0, 0]] + d["U"][1:]}))
    files["floaty"].write_text(json.dumps({**d, "U": [[1.0, 0, 0, 0]] + d["U"][1:]}))
    files["unknown"].write_text(json.dumps({**d, "problem": {"kind": "fft", "n": 4}}))
    args = [a.format(**files) for a in argv]
    with pytest.raises(SystemExit) if argv[0] == "frobnicate" or argv == ("verify",) else _nullcontext() as exc:
        code, out, err = run(capsys, *args)
    if exc is not None and hasattr(exc, "value"):
        code = exc.value.code
        err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.json"))


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_console_script_runs(strassen_file):
    proc = subprocess.run([sys.executable, "-m", "discovery", "verify", str(strassen_file)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "discovery", "verify", "/no/such/file.json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no such file" in proc.stderr
