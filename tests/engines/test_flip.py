"""Tests of the flip-graph engine (``discovery.engines.flip``): kernel, starts, fields, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.algebra.literature import strassen
from discovery.algebra.ops import kron, standard_scheme, to_field
from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation, matmul, tensor
from discovery.core.scheme import Scheme
from discovery.engines.flip import FIELDS, FlipOptions, drain, extend, project, resolve_start, walk
from discovery.engines.flip import codec
from discovery.engines.flip import kernel as K
from discovery.engines.flip._jit import set_threads
from discovery.engines.flip.codec import decode, encode, layout
from discovery.engines.flip.walks import Walks
from discovery.io import catalog
from discovery.search import ENGINES, search
from solvers.lifting import exact_mod
from verify import verify_exact

ROOT = Path(__file__).resolve().parents[2]


def run(problem, rank, **kw):
    """The engine behind the front door (verified, canonical, with provenance)."""
    return search(problem, rank, engine="flip", **kw)

# small problems, and wider ones whose factors take two words (80 entries) or
# a hashed key (36 entries over Z/F3)
PROBLEMS = [matmul(2, 2, 2), matmul(2, 2, 3), matmul(1, 2, 3), correlation(2, 3), matmul(2, 40, 1),
            matmul(3, 12, 1)]


def _exact(problem, fac, sg, lay) -> bool:
    U, V, W = decode(fac, sg, lay)
    if lay.field == "F3":
        return exact_mod(problem, (U, V, W), 3)
    field = "F2" if lay.field == "F2" else "Z"
    return verify_exact(Scheme(problem, U, V, W, field)).ok


def _population(problem, field, walks, seed, slack=3, **params):
    lay = layout(problem, field)
    start = encode(standard_scheme(problem), lay)
    params = dict(dict(target=1, plateau=(5, 20), plus_slack=slack), **params)
    return Walks(lay, [start], walks, len(start[1]) + slack + 2, 4, seed, params), lay


# ------------------------------------------------------------------ kernel
@settings(max_examples=40, deadline=None)
@given(
    problem=st.sampled_from(PROBLEMS),
    field=st.sampled_from(FIELDS),
    seed=st.integers(0, 2**32 - 1),
    plateau=st.sampled_from([None, (1, 3), (5, 40)]),
    path=st.sampled_from([0, 7, 60]),
    split=st.integers(0, 1000),
    slack=st.integers(0, 4),
    chunks=st.lists(st.integers(0, 300), min_size=1, max_size=6),
)
def test_every_move_keeps_the_tensor(problem, field, seed, plateau, path, split, slack, chunks):
    # random walks through the compiled kernel: flips, reductions, plus
    # transitions, splits and resets; after every chunk each walk's scheme is
    # exact (mod 2 over F2, mod 3 over F3) and its indexes are consistent
    state, lay = _population(problem, field, 3, seed, slack, plateau=plateau, path_length=path, split=split)
    for n in chunks:
        state.run(n)
        for w in range(state.n):
            assert state.check(w) == 0, (w, state.check(w))
            fac, sg = state.current(w)
            assert len(sg) <= state.cap
            assert _exact(problem, fac, sg, lay), (field, w)
            bfac, bsg = state.best(w)
            assert _exact(problem, bfac, bsg, lay)
    if sum(chunks) > 50:
        assert state.ctr[:, K.C_FLIPS].sum() + state.ctr[:, K.C_PLUS].sum() > 0


@pytest.mark.parametrize("field", FIELDS)
def test_encode_decode_round_trip(field):
    s = strassen()
    lay = layout(s.problem, field)
    fac, sg = encode(s, lay)
    U, V, W = decode(fac, sg, lay)
    for r in range(s.rank):  # term by term the same rank-one tensors (signs may move)
        old = np.einsum("a,b,c->abc", *(np.array(m[r].tolist(), dtype=np.int64) for m in s.factors))
        new = np.einsum("a,b,c->abc", U[r], V[r], W[r])
        mod = {"F2": 2, "F3": 3}.get(field)
        assert np.array_equal(old % mod, new % mod) if mod else np.array_equal(old, new)


def test_encode_refuses_what_the_field_cannot_hold():
    s = strassen()
    U = s.U.copy()
    U[0, 0] = 2
    with pytest.raises(InvalidInputError, match=r"\{-1, 0, 1\}"):
        encode(s.replace(U=U), layout(s.problem, "Z"))
    half = s.replace(field="Q", U=[[Fraction(v, 2) for v in row] for row in s.U.tolist()], W=s.W * 2)
    assert verify_exact(half).ok
    with pytest.raises(InvalidInputError, match="mod 2"):
        encode(half, layout(s.problem, "F2"))
    encode(half, layout(s.problem, "F3"))  # 1/2 is -1 mod 3


def test_reductions_at_load_lower_the_rank():
    # Strassen with one term split in two (sharing two factors) and a
    # cancelling pair added: rank 10 reduces to 7 when a walk loads it
    s = strassen()
    U, V, W = (m.tolist() for m in s.factors)
    e = [1, 0, 0, 0]
    U.append(U[0])
    V.append(V[0])
    W.append(e)
    W[0] = [c - x for c, x in zip(W[0], e)]
    U += [U[3], U[3]]
    V += [V[3], V[3]]
    W += [W[3], [-x for x in W[3]]]
    big = Scheme(s.problem, U, V, W, "Z")
    assert big.rank == 10 and verify_exact(big).ok
    for field in FIELDS:
        lay = layout(s.problem, field)
        state = Walks(lay, [encode(big, lay)], 1, 14, 0, 0, dict(target=1))
        state.run(0)
        assert state.ctr[0, K.C_RANK] == 7 and state.check(0) == 0
        assert _exact(s.problem, *state.current(0), lay)


def test_one_thread_and_two_threads_walk_alike():
    # the kernel's arrays after the same chunks are identical, walk by walk
    arrays = []
    for threads in (1, 2):
        set_threads(threads)
        state, _ = _population(matmul(3, 3, 3), "Z", 5, 7, plateau=(50, 200), path_length=3000)
        for n in (0, 100, 5000, 777):
            state.run(n)
        arrays.append((state.U.copy(), state.V.copy()))
    assert np.array_equal(arrays[0][0], arrays[1][0]) and np.array_equal(arrays[0][1], arrays[1][1])


def test_walk_seeds_depend_on_seed_and_walk_only():
    from discovery.engines.flip.walks import walk_seeds

    assert np.array_equal(walk_seeds(5, 8)[:3], walk_seeds(5, 3))
    assert not np.array_equal(walk_seeds(5, 3), walk_seeds(6, 3))


# ----------------------------------------------------------------- engine
@pytest.mark.parametrize("field", FIELDS)
def test_2x2x2_reaches_rank_7_from_the_standard_scheme(field):
    res = run(matmul(2, 2, 2), 7, seed=3, field=field, walks=2, threads=1, max_steps=200_000)
    assert res.status == "found" and res.stats["best_rank"] == 7
    s = res.schemes[0]
    assert s.rank == 7 and verify_exact(s).ok
    assert s.field == {"F2": "F2", "Z": "Z", "F3": s.field}[field] and s.field in ("F2", "Z", "Q")
    prov = s.meta["provenance"]
    assert prov["engine"] == "flip" and prov["seed"] == 3 and prov["field"] == field
    assert prov["start"] == "standard" and prov["flips"] > 0 and "seconds" in prov and prov["walk"] in (0, 1)
    if field == "Z":
        assert set(s.coefficient_set) <= {-1, 0, 1}


def test_f3_walks_find_schemes_with_halves():
    found, stats = drain(walk(matmul(2, 2, 2), 7, field="F3", seed=0, walks=1, threads=1, max_steps=100_000))
    (scheme, info), = found
    assert scheme.field == "Q" and Fraction(1, 2) in {abs(v) for v in scheme.coefficient_set}
    assert info["lifted_from"] == "F3" and info["lift_method"] == "hensel" and verify_exact(scheme).ok
    assert stats["lifted"] == 1 and stats["unlifted"] == 0


@pytest.mark.parametrize("field", ["F2", "Z"])
def test_same_seed_same_walks_on_one_and_two_threads(field):
    # with the pool, resets and copies of the best in play: the walks interact
    # only between chunks, in walk order, so threads do not matter
    kw = dict(field=field, walks=4, max_steps=60_000, stop_after=6, pool=4, path_length=5_000, copy_best=0.5,
              plateau=2_000, chunk=2_000)
    runs = []
    for threads in (1, 2, 1):
        found, stats = drain(walk(matmul(2, 2, 3), 11, seed=11, threads=threads, **kw))
        runs.append(([(s.fingerprint(), i["walk"], i["step"]) for s, i in found],
                     stats["flips"], stats["walk_best"], stats["resets"]))
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0][0]) == 6


def test_pure_python_fallback_walks_like_the_compiled_kernel():
    # the kernel in pure Python (what runs when numba is missing or fails to
    # compile) takes exactly the same walks
    code = (
        "import json, warnings\n"
        "from discovery.core.problems import matmul\n"
        "from discovery.engines.flip import walk, drain\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    found, st = drain(walk(matmul(2, 2, 2), 7, field='Z', seed=2, walks=2, threads=1, max_steps=3000,"
        " stop_after=2, chunk=500))\n"
        "print(json.dumps([[s.fingerprint() for s, _ in found], st['flips'], st['kernel'],"
        " [str(w.message) for w in caught]]))\n"
    )
    env = dict(os.environ, BILINEAR_FLIP_NOJIT="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    fps, flips, mode, warned = json.loads(out.stdout.strip().splitlines()[-1])
    assert mode == "python" and any("pure Python" in w for w in warned)
    found, st = drain(walk(matmul(2, 2, 2), 7, field="Z", seed=2, walks=2, threads=1, max_steps=3000,
                           stop_after=2, chunk=500))
    assert st["kernel"] == "numba"
    assert [s.fingerprint() for s, _ in found] == fps and st["flips"] == flips


def test_stats_and_progress_events():
    events = []
    res = run(matmul(2, 2, 2), 7, seed=0, walks=2, threads=1, max_steps=50_000, stop_after=3, callback=events.append)
    st = res.stats
    for key in ("status", "best_rank", "first_exact_seconds", "wall_seconds", "flips", "flips_per_second",
                "threads", "walks", "steps"):
        assert key in st
    assert st["status"] == "found" and st["best_rank"] == 7 and st["threads"] == 1 and st["walks"] == 2
    assert st["flips"] > 0 and st["flips_per_second"] > 0 and st["first_exact_seconds"] <= st["wall_seconds"]
    assert res.exact == 3 and 1 <= len(res.schemes) <= 3 and res.first_exact_seconds is not None
    assert events and events[-1].engine == "flip" and events[-1].best == 7 and events[-1].found == 3
    assert any("Mflips/s" in e.message and "walks" in e.message for e in events)


def test_lift_appends_z_schemes():
    found, stats = drain(walk(matmul(2, 2, 2), 7, seed=0, walks=1, threads=1, max_steps=50_000, lift=True))
    assert [s.field for s, _ in found] == ["F2", "Z"]
    assert found[1][1]["lifted_from"] == "F2" and verify_exact(found[1][0]).ok
    assert found[1][0].meta["provenance"]["engine"] == "flip"


def test_registered_behind_the_front_door(tmp_path):
    assert "flip" in ENGINES
    res = search(matmul(2, 2, 2), 7, engine="flip", seed=0, walks=2, threads=1, max_steps=50_000)
    assert res.engine == "flip" and res.found and res.schemes[0].field == "F2"
    res = search(matmul(2, 2, 2), 7, engine="flip", seed=0, walks=2, threads=1, max_steps=50_000, field="Z",
                 save=True, root=tmp_path)
    assert res.schemes[0].field == "Z" and len(res.saved) == 1
    saved = catalog.load_all(tmp_path)[0][1]
    assert saved.meta["provenance"]["field"] == "Z" and saved.meta["provenance"]["flips"] > 0


def test_other_problems():
    res = run(correlation(2, 3), 5, seed=0, field="Z", walks=2, threads=1, max_steps=50_000)
    assert res.found and verify_exact(res.schemes[0]).ok  # Winograd's F(2,3) without division
    t = tensor(matmul(2, 2, 2).tensor())
    res = run(t, 7, seed=0, walks=2, threads=1, max_steps=100_000)
    assert res.found and res.schemes[0].problem == t


def test_a_start_at_the_target_is_returned_without_walking():
    res = run(matmul(2, 2, 2), 7, start=strassen(), field="Z", max_steps=10)
    assert res.found and res.schemes[0].rank == 7 and verify_exact(res.schemes[0]).ok
    assert res.stats["steps"] == 0 and res.stats["flips"] == 0


# ------------------------------------------------------------------ starts
def test_extend_and_project_are_exact_and_inverse_in_rank():
    s = strassen()
    for axis, spec in ((0, "3x2x2"), (1, "2x3x2"), (2, "2x2x3")):
        e = extend(s, axis)
        assert e.problem.spec == spec and e.rank == 11 and verify_exact(e).ok
        for q in range(3):
            p = project(e, axis, q)
            assert p.problem == s.problem and verify_exact(p).ok and p.rank <= 11
        assert project(e, axis, 2).rank == 7  # dropping the new row/column gives Strassen back
    f2 = extend(to_field(s, "F2"), 2)
    assert f2.field == "F2" and verify_exact(f2).ok


def test_catalog_start_uses_permuted_formats(tmp_catalog):
    catalog.save(extend(strassen(), 2))  # a 2x2x3 scheme of rank 11
    got = resolve_start(matmul(3, 2, 2), "catalog", "Z")
    s, label = got[0]
    assert s.problem == matmul(3, 2, 2) and s.rank == 11 and verify_exact(s).ok and label.startswith("catalog")
    assert resolve_start(matmul(2, 3, 2), "catalog", "F2")[0][0].rank == 11
    # nothing usable: the standard scheme, said so
    (s, label), = resolve_start(matmul(3, 3, 2), "catalog", "Z")
    assert s.rank == 18 and "no usable catalog" in label


def test_product_and_neighbour_starts(tmp_catalog):
    catalog.save(strassen())
    (s, label), = resolve_start(matmul(4, 4, 4), "product", "Z")
    assert s.rank == 49 and "product" in label and verify_exact(s).ok
    got = resolve_start(matmul(2, 2, 3), "extend", "Z")
    assert got[0][0].rank == 11 and "extend 2x2x2" in got[0][1]
    catalog.save(extend(strassen(), 2))
    got = resolve_start(matmul(2, 2, 2), "project", "Z")
    assert got[0][0].rank == 7 and verify_exact(got[0][0]).ok
    best = resolve_start(matmul(2, 2, 4), "best", "Z")
    assert best[0][0].rank == 14  # Strassen x standard 1x1x2


def test_start_from_a_file_and_walks_from_it(tmp_path):
    from discovery.io.formats import save_json

    path = save_json(extend(strassen(), 2), tmp_path / "s.json")
    res = run(matmul(2, 2, 3), 11, start=str(path), field="Z", max_steps=10)
    assert res.found and res.stats["start"] == "file s.json"


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=0), "rank must be a positive integer"),
        (dict(rank=7, field="Q"), "option field must be one of F2, Z, F3"),
        (dict(rank=7, walks=0), "option walks must be >= 1"),
        (dict(rank=7, threads=-1), "option threads must be >= 1"),
        (dict(rank=7, max_steps=-1), "max_steps"),
        (dict(rank=7, pool=-2), "option pool must be >= 0"),
        (dict(rank=7, copy_best=2.0), "option copy_best must be <= 1"),
        (dict(rank=7, time_limit=0), "time limit must be a positive"),
        (dict(rank=7, start=standard_scheme(matmul(2, 2, 3))), "start scheme is for matmul 2x2x3, not matmul 2x2x2"),
        (dict(rank=7, start="best-ever"), "option start must be standard, catalog"),
        (dict(rank=7, start=to_field(strassen(), "F2"), field="Z"), "a walk over Z needs a start scheme over Z"),
        (dict(rank=7, restarts=4), "engine 'flip' has no option 'restarts'"),
    ],
)
def test_bad_input_raises_one_clear_line(kwargs, message):
    rank = kwargs.pop("rank")
    with pytest.raises(InvalidInputError, match=message) as err:
        run(matmul(2, 2, 2), rank, **kwargs)
    assert "\n" not in str(err.value)


def test_bad_start_schemes_and_problems():
    s = strassen()
    U = s.U.copy()
    U[0, 0] = 0
    with pytest.raises(InvalidInputError, match="not exact"):
        run(s.problem, 6, start=s.replace(U=U), field="Z")
    with pytest.raises(InvalidInputError, match="Problem"):
        run("2x2x2", 7)
    with pytest.raises(InvalidInputError, match="start file"):
        bad = ROOT / "pyproject.toml"
        run(s.problem, 6, start=str(bad))
    with pytest.raises(InvalidInputError, match="start file"):
        drain(walk(s.problem, 6, start=str(ROOT / "pyproject.toml")))
    with pytest.raises(InvalidInputError, match=r"\{-1, 0, 1\}"):  # the standard scheme of a tensor with a 2
        run(tensor([[[2]]]), 1, field="Z")


def test_factors_too_wide_for_the_build(monkeypatch):
    monkeypatch.setattr(codec, "MAX_ENTRIES", 4)
    with pytest.raises(InvalidInputError, match="handles factors of up to 4 entries, got 3x3x3 with 9"):
        run(matmul(3, 3, 3), 23)


def test_options_dataclass():
    opts = FlipOptions(field="Z", walks=3)
    assert opts.walks == 3 and opts.field == "Z" and "plateau" in FlipOptions.names()
    found, stats = drain(walk(matmul(2, 2, 2), 7, opts, threads=1, max_steps=50_000))
    assert stats["walks"] == 3 and found and found[0][0].field == "Z"
    with pytest.raises(InvalidInputError, match="option split must be <= 1"):
        FlipOptions(split=1.5)


@pytest.mark.slow
@pytest.mark.parametrize("field", ["F2", "Z"])
def test_3x3x3_reaches_rank_23(field):
    res = run(matmul(3, 3, 3), 23, seed=0, field=field, walks=2, max_steps=20_000_000)
    assert res.found, res.stats
    s = res.schemes[0]
    assert s.rank == 23 and s.field == field and verify_exact(s).ok


def test_kron_start_is_reduced_by_the_walk():
    # Strassen x standard 2x2x2 (rank 56) loads as 56 terms; a walk goes below
    start = kron(strassen(), standard_scheme(matmul(2, 2, 2)))
    res = run(matmul(4, 4, 4), 55, start=start, field="Z", walks=1, threads=1, max_steps=200_000)
    assert res.found and res.schemes[0].rank <= 55
