"""The ``auto`` pipeline: routes in time slices, every scheme verified."""

from discovery.core.problems import polymul


def test_auto_pipeline_spn_route_runs():
    # the pipeline passed domain= to spn, which has no such option: the route always raised
    from discovery.search import search

    res = search(polymul(2, 2), 3, "auto", routes="spn", time_limit=20, seed=0)
    assert res.found and res.schemes[0].rank == 3
    assert res.schemes[0].meta["provenance"]["route"] in ("spn", "spn+refine")


def test_auto_orders_routes_by_measured_yield(monkeypatch):
    # two fake routes: 'lm' finds a scheme every slice, 'flip' never does; after the first
    # round 'lm' is tried first
    from dataclasses import dataclass

    from discovery.algebra.literature import strassen, strassen_winograd
    from discovery.core.problems import matmul
    from discovery.engines.base import Candidate, Engine, EngineOptions
    from discovery.search import auto, search

    calls = []

    @dataclass(frozen=True)
    class Opts(EngineOptions):
        engine = "fake"

    def engine(name, finds):
        def run(problem, rank, options, *, seed, time_limit, callback):
            calls.append(name)
            if finds:
                yield Candidate(strassen() if len(calls) < 3 else strassen_winograd(), 0.0)
            else:
                yield from ()
        return Engine(name, "fake", Opts, run)

    fakes = {"flip": engine("flip", False), "lm": engine("lm", True)}
    monkeypatch.setattr(auto, "get", fakes.__getitem__)
    monkeypatch.setattr(auto, "_route_options", lambda route, options: {})
    res = search(matmul(2, 2, 2), 7, "auto", routes="flip,lm", time_limit=30, max_schemes=2)
    assert calls == ["flip", "lm", "lm"] and res.distinct == 2
