"""Tests of the flip-graph engine (``discovery.engines.flip``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.engines.flip import FlipWalks, decode, encode, run
from discovery.core.errors import InvalidInputError
from discovery.algebra.literature import strassen
from discovery.algebra.ops import standard_scheme
from discovery.core.problems import correlation, matmul, tensor
from discovery.core.scheme import Scheme
from discovery.search import ENGINES, search
from verify import verify_exact

PROBLEMS = [matmul(2, 2, 2), matmul(2, 2, 3), correlation(2, 3)]


def _walks(problem, field, walks, seed, slack=2):
    X0, S0 = encode(standard_scheme(problem), field)
    return FlipWalks(X0, S0, problem.shape, field, walks, X0.shape[1] + slack, np.random.default_rng(seed))


@settings(max_examples=25, deadline=None)
@given(
    problem=st.sampled_from(PROBLEMS),
    field=st.sampled_from(["F2", "Z"]),
    seed=st.integers(0, 2**16),
    moves=st.lists(st.sampled_from(["flip", "flip", "flip", "plus", "clone"]), min_size=1, max_size=60),
)
def test_moves_preserve_the_tensor(problem, field, seed, moves):
    state = _walks(problem, field, 8, seed)
    for move in moves:
        if move == "flip":
            state.step()
        elif move == "plus":
            state.plus(np.arange(state.N))
        else:
            state.clone(0.25)
    for w in range(state.N):
        s = state.scheme(w, problem)
        assert s.field == field
        assert verify_exact(s).ok, (w, verify_exact(s).reason)
    if moves.count("flip") >= 5:
        assert state.flips > 0
    assert np.all(state.rank <= state.cap)


@pytest.mark.parametrize("field", ["F2", "Z"])
def test_encode_decode_round_trip(field):
    s = strassen()
    X, S = encode(s, field)
    back = decode(X, S, s.problem, field)
    assert verify_exact(back).ok and back.field == field
    # term by term the same rank-one tensors (signs may move between factors)
    for r in range(s.rank):
        old = np.einsum("a,b,c->abc", *(np.array(m[r], dtype=np.int64) for m in s.factors))
        new = np.einsum("a,b,c->abc", *(np.array(m[r], dtype=np.int64) for m in back.factors))
        assert np.array_equal(old % 2, new % 2) if field == "F2" else np.array_equal(old, new)


def test_encode_refuses_large_coefficients_over_z():
    s = strassen()
    U = s.U.copy()
    U[0, 0] = 2
    with pytest.raises(InvalidInputError, match=r"\{-1, 0, 1\}"):
        encode(s.replace(U=U), "Z")


@pytest.mark.parametrize("field", ["F2", "Z"])
def test_reductions_lower_the_rank_and_keep_the_scheme_exact(field):
    # Strassen with two terms split into pairs sharing two factors, and one
    # term doubled with opposite signs (Z) / equal (F2): rank 7 + 3 -> 7.
    s = strassen()
    U, V, W = (m.tolist() for m in s.factors)
    c = W[0]
    # a b c = a b (c - e) + a b e  for a unit vector e inside c's support
    e = [1 if k == 0 else 0 for k in range(4)]
    U += [U[0]]
    V += [V[0]]
    W[0] = [ci - ei for ci, ei in zip(c, e)]
    W += [e]
    # a cancelling pair: t + (-t) over Z, t + t over F2
    U += [U[3], U[3]]
    V += [V[3], V[3]]
    W += [W[3], [(-x if field == "Z" else x) for x in W[3]]]
    if field == "F2":
        U, V, W = ([[x % 2 for x in row] for row in m] for m in (U, V, W))
    big = Scheme(s.problem, U, V, W, field)
    assert big.rank == 10 and verify_exact(big).ok
    X, S = encode(big, field)
    state = FlipWalks(X, S, big.problem.shape, field, 2, 12, np.random.default_rng(0))
    assert state.r0 == 7
    reduced = state.scheme(0, big.problem)
    assert reduced.rank == 7 and verify_exact(reduced).ok


@pytest.mark.parametrize("field", ["F2", "Z"])
def test_2x2x2_reaches_rank_7_from_the_standard_scheme(field):
    res = run(matmul(2, 2, 2), 7, seed=3, field=field, walks=64, max_steps=5000)
    assert res.status == "found"
    (s,) = res.schemes
    assert s.rank == 7 and s.field == field and verify_exact(s).ok
    prov = s.meta["provenance"]
    assert prov["engine"] == "flip" and prov["seed"] == 3 and prov["walks"] == 64


@pytest.mark.parametrize("field", ["F2", "Z"])
def test_same_seed_same_result(field):
    kwargs = dict(field=field, walks=32, max_steps=1500, max_schemes=2)
    a = run(matmul(2, 2, 2), 7, seed=11, **kwargs)
    b = run(matmul(2, 2, 2), 7, seed=11, **kwargs)
    assert [s.fingerprint() for s in a.schemes] == [s.fingerprint() for s in b.schemes]
    assert a.options["flips"] == b.options["flips"]


def test_distinct_schemes_and_progress_events():
    events = []
    res = run(matmul(2, 2, 2), 7, seed=0, walks=64, max_steps=4000, max_schemes=5, callback=events.append)
    fps = [s.fingerprint() for s in res.schemes]
    assert len(fps) == len(set(fps)) == 5
    assert events and events[-1].engine == "flip" and events[-1].found == 5
    assert events[-1].best == 7


@pytest.mark.parametrize("field", ["F2", "Z"])
def test_works_for_correlation_and_tensor_problems(field):
    # F(2,3) (Winograd) has naive rank 6; rank 5 needs no division
    res = run(correlation(2, 3), 5, seed=0, field=field, walks=64, max_steps=3000)
    assert res.found and verify_exact(res.schemes[0]).ok
    t = tensor(matmul(2, 2, 2).tensor())
    res = run(t, 7, seed=0, field=field, walks=64, max_steps=5000)
    assert res.found and res.schemes[0].problem == t


def test_lift_appends_z_schemes():
    pytest.importorskip("solvers.lifting")
    res = run(matmul(2, 2, 2), 7, seed=0, walks=64, max_steps=5000, lift=True)
    assert [s.field for s in res.schemes] == ["F2", "Z"]
    assert verify_exact(res.schemes[1]).ok
    assert res.schemes[1].meta["provenance"]["engine"] == "flip"


def test_registered_behind_the_front_door():
    assert "flip" in ENGINES
    res = search(matmul(2, 2, 2), 7, engine="flip", seed=0, walks=64, max_steps=5000)
    assert res.engine == "flip" and res.found and res.schemes[0].field == "F2"
    res = search(matmul(2, 2, 2), 7, engine="flip", seed=0, walks=64, max_steps=5000, field="Z")
    assert res.schemes[0].field == "Z"


def test_start_rank_already_reached_returns_the_start():
    res = run(matmul(2, 2, 2), 7, start=strassen(), field="Z", max_steps=10)
    assert res.found and res.schemes[0].rank == 7 and verify_exact(res.schemes[0]).ok
    assert res.options["steps"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=0), "rank"),
        (dict(rank=7, field="Q"), "field"),
        (dict(rank=7, walks=0), "walks"),
        (dict(rank=7, max_steps=-1), "max_steps"),
        (dict(rank=7, time_limit=0), "time limit"),
        (dict(rank=7, start=standard_scheme(matmul(2, 2, 3))), "start scheme is for"),
        (dict(rank=7, start="best"), "start must be"),
        (dict(rank=7, coefficients="int2"), "ternary"),
        (dict(rank=7, coefficients="ternary", field="F2"), "over Z"),
    ],
)
def test_bad_input_raises(kwargs, message):
    rank = kwargs.pop("rank")
    with pytest.raises(InvalidInputError, match=message):
        run(matmul(2, 2, 2), rank, **kwargs)


def test_bad_start_schemes_raise():
    s = strassen()
    U = s.U.copy()
    U[0, 0] = 0
    with pytest.raises(InvalidInputError, match="not exact"):
        run(s.problem, 6, start=s.replace(U=U))
    f2 = s.replace(field="F2", U=s.U % 2, V=s.V % 2, W=s.W % 2)
    with pytest.raises(InvalidInputError, match="over Z needs"):
        run(s.problem, 6, start=f2, field="Z")
    with pytest.raises(InvalidInputError, match="Problem"):
        run("2x2x2", 7)


@pytest.mark.slow
@pytest.mark.parametrize("field", ["F2", "Z"])
def test_3x3x3_reaches_rank_23(field):
    # seed 0 finds rank 23 after about 3 000 (F2) and 13 000 (Z) steps
    res = run(matmul(3, 3, 3), 23, seed=0, field=field, max_steps=60_000)
    assert res.found
    s = res.schemes[0]
    assert s.rank == 23 and s.field == field and verify_exact(s).ok
    if field == "Z":
        assert set(s.coefficient_set) <= {-1, 0, 1}


def test_catalog_start(tmp_path, monkeypatch):
    from discovery.io import catalog

    monkeypatch.setenv("BILINEAR_RESULTS", str(tmp_path))
    catalog.save(strassen())
    res = run(matmul(2, 2, 2), 6, start="catalog", field="Z", walks=8, max_steps=50)
    assert res.options["steps"] == 50 and res.best_loss == 7
    assert res.schemes == [] and res.status == "not_found" and res.options["rejected"] == 0


def test_flip_lift_respects_time_limit(monkeypatch):
    # lift=True gave every found scheme 30 s of lifting whatever the time limit
    import solvers.lifting
    from discovery.engines import flip

    limits = []
    real = solvers.lifting.lift

    def spy(scheme, *, time_limit=None, **kw):
        limits.append(time_limit)
        return real(scheme, time_limit=time_limit, **kw)

    monkeypatch.setattr(flip, "lift", spy)
    res = flip.run(matmul(2, 2, 2), 7, seed=0, walks=64, time_limit=2.0, lift=True)
    assert limits and all(t <= 2.0 for t in limits)
    assert res.found
