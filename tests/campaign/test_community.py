"""The community's file formats: every import verifies, each format round-trips,
one wrong coefficient is refused, ambiguous conventions are decided by verification."""

import json
import re
import shutil
from pathlib import Path

import pytest

from discovery.algebra.literature import strassen
from discovery.algebra.ops import to_field
from discovery.core.errors import SchemeFormatError
from discovery.core.problems import matmul
from discovery.io import community as C
from discovery.io.catalog import find
from verify import verify_exact

SAMPLES = Path("/work/shared/community-schemes")
if not SAMPLES.is_dir():  # the project's checkout layout: ../shared/community-schemes
    SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "community-schemes"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="community sample files not available")

EXPECTED = {
    "kauers-moosbauer-226-21-mod2.exp": ("exp", "2x2x6", 21, "F2"),
    "kauers-moosbauer-236-30-mod2.exp": ("exp", "2x3x6", 30, "F2"),
    "kauers-moosbauer-266-56-mod0.m": ("maple", "2x6x6", 56, "Z"),
    "perminov-2x10x11_m174_ZT.txt": ("perminov-txt", "2x10x11", 174, "Z"),
    "perminov-2x2x2_m7_cr15_cn24_ZT_reduced.json": ("perminov", "2x2x2", 7, "Z"),
    "perminov-2x3x7_m35_ZT.json": ("perminov", "2x3x7", 35, "Z"),
    "perminov-2x3x7_m35_ZT.m": ("maple", "2x3x7", 35, "Z"),
    "perminov-2x4x9_m58_Q.json": ("perminov", "2x4x9", 58, "Q"),
}


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_files_import_verified(name):
    fmt, spec, rank, field = EXPECTED[name]
    (imp,) = C.read(SAMPLES / name)
    s = imp.scheme
    assert (imp.format, s.problem.spec, s.rank, s.field) == (fmt, spec, rank, field)
    assert verify_exact(s).ok
    assert s.meta["provenance"]["orientation"].startswith("C^T")  # these collections write trace(ABC)


@needs_samples
def test_the_same_scheme_in_two_formats_reads_the_same():
    a = C.read(SAMPLES / "perminov-2x3x7_m35_ZT.json")[0].scheme
    b = C.read(SAMPLES / "perminov-2x3x7_m35_ZT.m")[0].scheme
    assert a == b


def _schemes():
    rank23 = [s for s in find(matmul(3, 3, 3)) if s.field == "Z"][0]
    out = [strassen(), rank23, to_field(rank23, "F2")]
    if SAMPLES.is_dir():
        out.append(C.read(SAMPLES / "perminov-2x4x9_m58_Q.json")[0].scheme)   # rationals
        out.append(C.read(SAMPLES / "kauers-moosbauer-226-21-mod2.exp")[0].scheme)  # non-square, F2
    return out


@pytest.mark.parametrize("fmt", ["perminov", "perminov-txt", "exp", "maple", "alphatensor", "json"])
def test_each_format_round_trips(fmt, tmp_path):
    ext = {"perminov": ".json", "perminov-txt": ".txt", "exp": ".exp", "maple": ".m", "alphatensor": ".npz",
           "json": ".json"}[fmt]
    for i, s in enumerate(_schemes()):
        if fmt == "exp" and max(s.problem.shape) > 81:
            continue
        if fmt == "alphatensor" and any(v.denominator & (v.denominator - 1) for v in
                                        map(_frac, s.coefficient_set)):
            continue
        path = tmp_path / f"s{i}{ext}"
        C.write(s, path, fmt)
        assert C.detect_format(path) == fmt
        (back,) = C.read(path, field="F2" if s.field == "F2" else None)
        assert back.scheme == s, (fmt, s)


def _frac(v):
    from fractions import Fraction
    return Fraction(v)


def _mutate(text: str, pattern: str, repl: str, count: int = 1) -> str:
    out, n = re.subn(pattern, repl, text, count=count)
    assert n == count
    return out


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_wrong_coefficient_is_refused(name, tmp_path):
    src = SAMPLES / name
    text = src.read_text()
    fmt = EXPECTED[name][0]
    if fmt == "perminov" and "u_fresh" in text:
        d = json.loads(text)
        d["v"][1][0]["value"] = -d["v"][1][0]["value"]
        bad = json.dumps(d)
    elif fmt == "perminov":
        d = json.loads(text)
        d["u"][3][0] = 1 if d["u"][3][0] == 0 else 0
        bad = json.dumps(d)
    elif fmt == "perminov-txt":
        lines = text.splitlines()
        nums = lines[2].split()
        nums[5] = "1" if nums[5] == "0" else "0"
        lines[2] = " ".join(nums)
        bad = "\n".join(lines)
    elif fmt == "exp":
        bad = _mutate(text, r"\(a21\)", "(a22)")
    else:  # maple: change the first 0 inside a term
        bad = _mutate(text, r"\{0,", "{1,")
    path = tmp_path / name
    path.write_text(bad)
    with pytest.raises(SchemeFormatError, match="does not verify"):
        C.read(path)


@needs_samples
def test_mod2_only_schemes_need_a_declaration(tmp_path):
    anonymous = tmp_path / "scheme.exp"
    shutil.copy(SAMPLES / "kauers-moosbauer-226-21-mod2.exp", anonymous)
    with pytest.raises(SchemeFormatError, match="valid mod 2 only"):
        C.read(anonymous)
    (imp,) = C.read(anonymous, field="F2")
    assert imp.scheme.field == "F2" and imp.scheme.problem.spec == "2x2x6"


def test_orientation_is_decided_by_verification(tmp_path):
    s = C.read(_write(tmp_path / "a.json", C.dumps_perminov(strassen())))[0].scheme
    assert s == strassen()
    # a 2x3x4 scheme written with w indexing C (not C^T): only that reading verifies
    from discovery.algebra.ops import standard_scheme
    t = standard_scheme(matmul(2, 3, 4))
    d = json.loads(C.dumps_perminov(t))
    d["w"] = [[int(v) for v in row] for row in t.W.tolist()]
    (imp,) = C.read(_write(tmp_path / "b.json", json.dumps(d)))
    assert imp.scheme == t and imp.orientation == "C"


def _write(path, text):
    path.write_text(text)
    return path


def test_bad_files_give_one_clear_error(tmp_path):
    cases = {
        "a.json": ('{"n": [2, 2], "m": 7, "u": [], "v": [], "w": []}', "expected three positive integers"),
        "b.json": ('{"n": [2, 2, 2], "m": 7}', "missing keys u, v, w"),
        "c.exp": ("(a11+a22)*(b11+b22)\n", "expected \\(a..\\)\\*\\(b..\\)\\*\\(c..\\)"),
        "d.exp": ("(a11+x22)*(b11)*(c11)\n", "cannot read"),
        "e.m": ("{{{1}}, {{1}}}", "three parts"),
        "f.m": ("{{{{1}}, {{1}}, {{1}}}", "never closes"),
        "g.txt": ("1 1 1 1\n1\n1\n", "expected 4 lines"),
        "h.json": ('{"n": [1, 1, 1], "m": 1, "u": [[0.5]], "v": [[1]], "w": [[2]]}', "float"),
        "i.exp": ("(a11)*(b11)*(c11)\n(a91)*(b11)*(c11)\n", "does not verify"),
    }
    for name, (text, message) in cases.items():
        with pytest.raises(SchemeFormatError, match=message):
            C.read(_write(tmp_path / name, text))
    with pytest.raises(SchemeFormatError, match="cannot tell the format"):
        C.read(_write(tmp_path / "x.dat", "1"))


def test_directory_listing_skips_hidden_and_unknown(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for p in ("a.exp", "sub/b.json", ".hidden/c.m", ".d.m", "notes.md"):
        (tmp_path / p).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in C.iter_scheme_files(tmp_path)] == ["a.exp", "sub/b.json"]
