"""bilinear optimize: an equivalent exact scheme with fewer additions, its program stored and exported."""

import json
import re
from fractions import Fraction

import numpy as np
import pytest

from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import to_field
from discovery.cli import main
from discovery.codegen.basis import AlternativeBasis, alternative_basis, exact_inverse, sparsest_basis
from discovery.codegen.generate import generate, plan, stored_plan
from discovery.codegen.optimize import optimize
from discovery.codegen.orbit import orbit_walk, sandwich
from discovery.core.errors import InvalidInputError, NotExactError, SchemeFormatError
from discovery.core.scheme import Scheme
from discovery.io.catalog import load_all
from discovery.io.formats import load_json, save_json
from discovery.winograd.cooktoom import cook_toom
from verify import verify_exact


def _run(capsys, *argv):
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _rank23(most: bool):
    """The catalog's integer 3x3 rank-23 scheme with the most (or fewest) greedy additions."""
    pool = [s for p, s in load_all() if s.problem.spec == "3x3x3" and s.rank == 23 and s.field == "Z"]
    return (max if most else min)(pool, key=lambda s: (plan(s).additions, s.fingerprint()))


def _equivalent(a: Scheme, b: Scheme) -> None:
    assert a.problem == b.problem and a.rank == b.rank and a.field == b.field
    assert verify_exact(a).ok and verify_exact(b).ok  # both compute the problem's tensor exactly


def test_optimized_scheme_is_equivalent_exact_and_cheaper():
    s = _rank23(most=True)
    r = optimize(s, time_limit=12, seed=0)
    _equivalent(r.scheme, s)
    assert r.additions < plan(s).additions == r.additions_before
    assert r.lower_bound <= r.additions
    p = stored_plan(r.scheme)
    assert p is not None and p.stored and p.additions == r.additions == r.scheme.meta["program"]["additions"]
    for prog, mat in ((p.left, r.scheme.U), (p.right, r.scheme.V), (p.output, r.scheme.W.T)):
        assert prog.matrix().tolist() == mat.tolist()
    assert r.scheme.meta["optimized"]["from"] == s.fingerprint()[:16]
    # the alternative basis reproduces the scheme exactly and its core is cheaper
    assert r.alternative is not None
    r.alternative.verify()
    assert r.alternative_additions["core"] < r.additions


def test_optimize_non_matmul_and_strassen():
    r = optimize(cook_toom(4, 3), time_limit=2)
    _equivalent(r.scheme, cook_toom(4, 3))
    assert r.additions <= r.additions_before and r.alternative is None
    r = optimize(strassen(), time_limit=4, basis=False)
    assert r.additions == 15  # Strassen's orbit holds Winograd's variant


def test_optimize_refuses_bad_input():
    with pytest.raises(InvalidInputError, match="F2"):
        optimize(to_field(strassen(), "F2"))
    bad = Scheme(strassen().problem, strassen().U, strassen().V, np.zeros((7, 4), dtype=int))
    with pytest.raises(NotExactError):
        optimize(bad)
    with pytest.raises(InvalidInputError, match="objective"):
        optimize(strassen(), objective="speed")
    with pytest.raises(InvalidInputError, match="time_limit"):
        optimize(strassen(), time_limit=-1)
    with pytest.raises(InvalidInputError, match="Scheme"):
        optimize("strassen.json")


def test_stored_program_is_checked_and_ignored_for_other_factors():
    r = optimize(strassen_winograd(), time_limit=0.5, basis=False)
    meta = json.loads(json.dumps(dict(r.scheme.meta)))
    meta["program"]["output"]["outputs"][0] = [[1, 7]]  # a wrong program for these factors
    tampered = r.scheme.replace(meta=meta)
    with pytest.raises(SchemeFormatError, match="does not compute"):
        plan(tampered)
    other = strassen().replace(meta=r.scheme.meta)  # a program for other factors is not used
    assert stored_plan(other) is None and plan(other).additions == 18


def test_sandwich_orbit_is_exact_and_walk_improves():
    s = strassen()
    t = sandwich(s, [[1, 1], [0, 1]], [[0, 1], [1, 0]], [[1, 0], [-1, 1]])
    _equivalent(t, s)
    best = orbit_walk(s, steps=400, seed=1)[0]
    assert best[0] <= 18 and verify_exact(best[1]).ok
    with pytest.raises(InvalidInputError, match="unimodular"):
        sandwich(s, [[2, 0], [0, 1]], np.eye(2, dtype=int), np.eye(2, dtype=int))
    with pytest.raises(InvalidInputError, match="matmul"):
        orbit_walk(cook_toom(2, 3))


def test_alternative_basis_of_strassen_winograd_has_12_in_the_core():
    alt = alternative_basis(strassen_winograd(), restarts=8, time_limit=4)
    alt.verify()
    assert sum(p.additions for p in alt.core_programs()) == 12
    assert all(abs(np.linalg.det(np.array(m.tolist(), dtype=float))) == 1 for m in (alt.phi, alt.psi, alt.nu))
    back = AlternativeBasis.from_json(alt.scheme, json.loads(json.dumps(alt.to_json())))
    assert back.core[0].tolist() == alt.core[0].tolist()
    wrong = alt.to_json()
    wrong["phi"][0][0] = 5
    with pytest.raises(SchemeFormatError, match="does not reproduce"):
        AlternativeBasis.from_json(alt.scheme, wrong)


def test_sparsest_basis_and_inverse():
    u = strassen_winograd().U
    q = sparsest_basis(u)[0]
    assert np.count_nonzero(u.dot(q)) <= np.count_nonzero(u)
    assert (exact_inverse(q).dot(q) == np.eye(4, dtype=int)).all()
    assert exact_inverse([[2, 0], [0, 1]])[0, 0] == Fraction(1, 2)
    with pytest.raises(InvalidInputError, match="singular"):
        exact_inverse([[1, 1], [1, 1]])


def test_cli_optimize_then_export_emits_the_stored_program(capsys, tmp_path):
    src = save_json(_rank23(most=False), tmp_path / "in.json")
    out_dir = tmp_path / "catalog"
    code, out, err = _run(capsys, "optimize", str(src), "--objective", "additions", "--time-limit", "8",
                          "--out", str(out_dir))
    assert code == 0, err
    saved = re.search(r"saved: (\S+)", out).group(1)
    scheme = load_json(saved)
    count = scheme.meta["program"]["additions"]
    assert f"-> {count} additions" in out
    code, source, err = _run(capsys, "export", saved, "--format", "python")
    assert code == 0 and f"{count} after elimination" in err and "stored" in err
    env: dict = {}
    exec(source, env)
    fn = env["matmul_3x3x3_rank23"]
    rng = np.random.default_rng(0)
    a = [int(v) for v in rng.integers(-9, 10, 9)]
    b = [int(v) for v in rng.integers(-9, 10, 9)]
    want = (np.array(a, dtype=object).reshape(3, 3).dot(np.array(b, dtype=object).reshape(3, 3))).ravel().tolist()
    assert fn(a, b) == want
    # the generated text has exactly the stored number of additions
    body = [line.split("=", 1)[1] for line in source.splitlines()
            if line.startswith("    ") and "=" in line and "[" not in line]
    assert sum(e.count(" + ") + e.count(" - ") for e in body) == count
    assert generate(scheme, "c").count("after common-subexpression elimination") == 1


def test_cli_optimize_bad_input(capsys, tmp_path):
    f2 = save_json(to_field(strassen(), "F2"), tmp_path / "f2.json")
    code, _, err = _run(capsys, "optimize", str(f2), "--no-save")
    assert code == 2 and "F2" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "optimize", str(tmp_path / "missing.json"))
    assert code == 2
    with pytest.raises(SystemExit) as exc:
        main(["optimize", str(f2), "--objective", "nonzeros"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
