"""The ``auto`` pipeline: routes in time slices, every scheme verified."""

from discovery.core.problems import polymul


def test_auto_pipeline_spn_route_runs():
    # the pipeline passed domain= to spn, which has no such option: the route always raised
    from discovery.search import search

    res = search(polymul(2, 2), 3, "auto", routes="spn", time_limit=20, seed=0)
    assert res.found and res.schemes[0].rank == 3
    assert res.schemes[0].meta["provenance"]["route"] in ("spn", "spn+refine")
