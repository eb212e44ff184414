import io
import os
import json
import zipfile
from fractions import Fraction

import numpy as np
import pytest

from discovery import SchemeFormatError, UnsafePickleError
from discovery.io.formats import dumps, load_alphatensor, load_json, loads, save_alphatensor, save_json
from discovery.algebra.literature import strassen
from discovery.algebra.ops import cyclic, kron, standard_scheme
from discovery.core.problems import correlation2d, matmul
from discovery.core.scheme import Scheme
from verify import verify_exact


def test_json_round_trip_keeps_extra_keys(tmp_path):
    s = strassen().with_meta(provenance={"engine": "test", "seed": 3}, note="hello")
    path = save_json(s, tmp_path / "s.json")
    back = load_json(path)
    assert back == s
    assert back.meta["provenance"] == {"engine": "test", "seed": 3}
    assert back.meta["note"] == "hello"
    d = json.loads(path.read_text())
    assert d["format"] == "bilinear-scheme/1" and d["rank"] == 7 and d["costs"]["additions"] == 18


def test_json_rationals_as_strings():
    s = Scheme(correlation2d(1, 1), [["1/2"]], [[2]], [[1]], "Q")
    text = dumps(s)
    assert '"1/2"' in text
    assert loads(text).U[0, 0] == Fraction(1, 2)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.update(U=[[0.5, 0, 0, 0]] + d["U"][1:]), "float"),
        (lambda d: d.update(rank=6), "rank is 6"),
        (lambda d: d["U"].__setitem__(0, [1, 0, 0]), "expected 4"),
        (lambda d: d["V"].__setitem__(0, ["1/0", 0, 0, 0]), "zero denominator"),
        (lambda d: d.update(problem={"kind": "fft"}), "unknown problem kind"),
        (lambda d: d.pop("W"), "missing key"),
        (lambda d: d.update(format="other/1"), "format must be"),
    ],
)
def test_bad_json_is_refused_with_reason(mutate, match):
    d = json.loads(dumps(strassen()))
    mutate(d)
    with pytest.raises(SchemeFormatError, match=match):
        loads(json.dumps(d))


def test_malformed_json_and_missing_file(tmp_path):
    with pytest.raises(SchemeFormatError, match="not valid JSON"):
        loads("{")
    with pytest.raises(SchemeFormatError, match="no such file"):
        load_json(tmp_path / "nope.json")
    with pytest.raises(SchemeFormatError, match="NaN"):
        loads('{"format": NaN}')


@pytest.mark.parametrize("make", [strassen, lambda: kron(strassen(), standard_scheme(matmul(1, 2, 3))),
                                  lambda: cyclic(standard_scheme(matmul(2, 3, 4)))])
def test_alphatensor_round_trip(tmp_path, make):
    s = make()
    path = save_alphatensor([s], tmp_path / "f.npz")
    (back,) = load_alphatensor(path)
    assert back == s and verify_exact(back).ok


def _alphatensor_file(path, factors: dict):
    entries = {}
    for key, (u, v, w) in factors.items():
        obj = np.empty(3, dtype=object)
        obj[0], obj[1], obj[2] = u, v, w
        entries[key] = obj
    np.savez(path, **entries)


def test_alphatensor_convention_and_floats(tmp_path):
    # (2a)(b/2) computed for 1x1x2: the third factor indexes C transposed
    s = Scheme(matmul(2, 1, 2), [[2, 0], [0, 1], ["1/2", 0], [0, 1]], [["1/2", 0], [0, 1], [0, 2], [1, 0]],
               [[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]], "Q")
    assert verify_exact(s).ok
    path = save_alphatensor([s], tmp_path / "q.npz")
    (back,) = load_alphatensor(path)
    assert back == s
    # third factor: our W[r, i*n + l] must equal w[l*k + i, r]
    with np.load(path, allow_pickle=True) as f:  # our own file, test only
        u, v, w = f["2,1,2"]
    assert w[1 * 2 + 0, 2] == 1.0  # term 2 writes C[0,1] -> row l*k+i = 1*2+0


def test_alphatensor_refuses_inexact_floats(tmp_path):
    u = np.array([[0.1]]); v = np.array([[1.0]]); w = np.array([[10.0]])
    _alphatensor_file(tmp_path / "x.npz", {"1,1,1": (u, v, w)})
    with pytest.raises(SchemeFormatError, match="not an exact rational"):
        load_alphatensor(tmp_path / "x.npz")


def test_alphatensor_numeric_3d_array_and_f2(tmp_path):
    s = strassen()
    u = np.array(s.U.T.tolist(), dtype=np.int64)
    v = np.array(s.V.T.tolist(), dtype=np.int64)
    w = np.zeros((4, 7), dtype=np.int64)
    for r in range(7):
        for i in range(2):
            for l in range(2):
                w[l * 2 + i, r] = s.W[r, i * 2 + l]
    np.savez(tmp_path / "plain.npz", **{"2,2,2": np.stack([u, v, w])})
    (back,) = load_alphatensor(tmp_path / "plain.npz")
    assert back == s
    (mod2,) = load_alphatensor(tmp_path / "plain.npz", field="F2")
    assert mod2.field == "F2" and verify_exact(mod2).ok


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_foreign_pickle_global_is_refused(tmp_path, capsys):
    obj = np.empty(3, dtype=object)
    obj[0] = Evil()
    obj[1] = obj[2] = np.zeros((1, 1))
    np.savez(tmp_path / "evil.npz", **{"1,1,1": obj})
    with pytest.raises(UnsafePickleError, match="builtins.print"):
        load_alphatensor(tmp_path / "evil.npz")
    assert "pwned" not in capsys.readouterr().out


def test_crafted_npy_with_os_system_is_refused(tmp_path):
    # hand-made .npy header declaring an object array, followed by a malicious pickle
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": (3,)})
    buf.write(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with zipfile.ZipFile(tmp_path / "crafted.npz", "w") as z:
        z.writestr("2,2,2.npy", buf.getvalue())
    with pytest.raises(UnsafePickleError, match="os.system"):
        load_alphatensor(tmp_path / "crafted.npz")


@pytest.mark.parametrize("key, match", [("a,b,c", "not of the form"), ("0,1,1", "positive")])
def test_bad_keys(tmp_path, key, match):
    _alphatensor_file(tmp_path / "k.npz", {key: (np.zeros((1, 1)),) * 3})
    with pytest.raises(SchemeFormatError, match=match):
        load_alphatensor(tmp_path / "k.npz")


def test_not_a_zip(tmp_path):
    (tmp_path / "z.npz").write_bytes(b"hello")
    with pytest.raises(SchemeFormatError, match="not an .npz"):
        load_alphatensor(tmp_path / "z.npz")


def test_save_alphatensor_refuses_non_matmul_and_non_dyadic(tmp_path):
    with pytest.raises(ValueError, match="matmul"):
        save_alphatensor([standard_scheme(correlation2d(2, 3))], tmp_path / "c.npz")
    third = Scheme(matmul(1, 1, 1), [[3]], [["1/3"]], [[1]], "Q")
    with pytest.raises(ValueError, match="not exact in floating point"):
        save_alphatensor([third], tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()


def test_writing_onto_a_directory_is_refused_cleanly(tmp_path):
    from discovery import InvalidInputError

    with pytest.raises(InvalidInputError, match="is a directory"):
        save_json(strassen(), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_written_files_get_the_usual_permissions(tmp_path):
    import stat

    mask = os.umask(0o022)
    try:
        path = save_json(strassen(), tmp_path / "s.json")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
