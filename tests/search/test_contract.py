"""The engine contract: every registered engine behind the same front door."""

from fractions import Fraction

import pytest

from discovery.core.errors import InvalidInputError
from discovery.core.problems import polymul
from discovery.core.version import __version__
from discovery.engines.base import Candidate, EngineOptions, Tally
from discovery.search import ENGINES, search
from verify import verify_exact, verify_symbolic

P = polymul(2, 2)  # Karatsuba: rank 3, which every engine can find

#: Small budgets per engine, so the test stays fast.
BUDGET = {
    "spn": dict(restarts=8, steps=2000),
    "lm": dict(restarts=4),
    "flip": dict(walks=16, max_steps=2000, field="Z"),
    "cpsat": dict(),
    "cooktoom": dict(restarts=8),
    "auto": dict(routes="cpsat"),
}


def test_every_engine_is_covered():
    assert set(BUDGET) == set(ENGINES)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engine_result_is_verified_canonical_distinct_in_domain_with_provenance(name, tmp_path):
    most = 1 if name in ("auto", "cpsat", "cooktoom") else 3  # these find one scheme per run
    res = search(P, 3, name, seed=1, time_limit=60, max_schemes=most, save=True, root=tmp_path, **BUDGET[name])
    assert res.status == "found", (name, res.rejected)
    fingerprints = [s.fingerprint() for s in res.schemes]
    assert len(set(fingerprints)) == len(fingerprints) == res.distinct
    options = ENGINES[name].options.from_mapping(BUDGET[name])
    for s in res.schemes:
        assert s.rank <= 3 and verify_exact(s).ok and verify_symbolic(s).ok
        assert options.accepts(s) is None
        prov = s.meta["provenance"]
        assert prov["engine"] == name and prov["seed"] == 1 and prov["version"] == __version__
        assert {"seconds", "date", "options"} <= set(prov)
        assert s.meta["verified"]["symbolic"] is True
    assert len(res.saved) == len(res.schemes)
    assert sorted(p.name for p in (tmp_path / P.slug).iterdir()) == sorted(
        f"{s.field}-rank{s.rank}-{s.fingerprint()[:12]}.json" for s in res.schemes)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_unknown_option_is_the_same_error_for_every_engine(name):
    with pytest.raises(InvalidInputError, match=rf"^engine '{name}' has no option 'no_such_option'; its options are: "):
        search(P, 3, name, no_such_option=1)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_options_are_declared_typed_and_validated(name):
    cls = ENGINES[name].options
    assert issubclass(cls, EngineOptions)
    defaults = cls()
    for spec in cls.specs():
        assert spec.help and getattr(defaults, spec.name) == spec.default
        if spec.kind in ("int", "float") and spec.minimum is not None:
            with pytest.raises(InvalidInputError, match=spec.name):
                cls(**{spec.name: spec.minimum - 1})
        if spec.choices:
            with pytest.raises(InvalidInputError, match=spec.name):
                cls(**{spec.name: "no-such-choice"})


def _fake_engine(items):
    """An engine that yields the given items, to test the front door alone."""
    from dataclasses import dataclass

    from discovery.engines.base import Engine

    @dataclass(frozen=True)
    class Opts(EngineOptions):
        engine = "fake"

        def accepts(self, scheme):
            return None if set(scheme.coefficient_set) <= {-1, 0, 1} else "outside"

    def run(problem, rank, options, *, seed, time_limit, callback):
        yield from items

    return Engine("fake", "test engine", Opts, run)


def test_front_door_verifies_dedupes_and_checks_the_domain(monkeypatch):
    from discovery.algebra.ops import permute_terms, standard_scheme
    from discovery.search import ENGINES as registry

    good = search(P, 3, "cpsat").schemes[0].with_meta(provenance=None)
    U = good.U.copy()
    U[0, 0] += 1
    wrong = good.replace(U=U)                                   # not exact
    twice = permute_terms(good, [2, 1, 0])                      # the same scheme, terms permuted
    big = good.replace(U=good.U * 2, W=good.W.copy())           # exact? no: off by a factor 2
    scaled_w = [[Fraction(v, 2) for v in row] for row in good.W.tolist()]
    doubled = good.replace(U=good.U * 2, W=scaled_w, field="Q")  # exact, coefficients 2 and 1/2: outside
    standard = standard_scheme(P)                               # rank 4 > 3
    items = [Tally(5, 0.5, {"flips": 10}), Candidate(wrong, 0.1), Candidate(good, 0.2, {"walk": 3}),
             Candidate(twice, 0.3), Candidate(big, 0.4), Candidate(doubled, 0.5), Candidate(standard, 0.6)]
    monkeypatch.setitem(registry, "fake", _fake_engine(items))
    res = search(P, 3, "fake", seed=4)
    assert [s.fingerprint() for s in res.schemes] == [good.fingerprint()]
    assert res.schemes[0].meta["provenance"]["walk"] == 3
    assert res.first_exact_seconds == 0.2 and res.restarts == 5 and res.stats == {"flips": 10}
    assert res.rejected == {"not exact": 2, "outside the requested domain": 1, "rank above the target": 1}
    assert res.exact == 3  # good, its permuted copy, doubled
