"""Engine ``cooktoom``: minimal Winograd algorithms by least squares, rebuilt exactly."""

import pytest

from discovery.core.errors import InvalidInputError
from discovery.core.problems import correlation
from discovery.engines.cooktoom import discover
from discovery.winograd.cooktoom import identify
from verify import verify_exact


@pytest.mark.parametrize("restarts", [0, -1, 2.5])
def test_discover_refuses_bad_restarts(restarts):
    with pytest.raises(InvalidInputError, match="restarts"):
        discover(2, 3, restarts=restarts)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3)])
def test_discover_finds_a_minimal_algorithm(m, r):
    s = discover(m, r, seed=1, restarts=8)
    assert s.rank == m + r - 1
    assert verify_exact(s).ok
    prov = s.meta["provenance"]
    assert prov["engine"] == "least-squares+cook-toom" and len(prov["real_points"]) == m + r - 1
    assert identify(s)["cook_toom"]
    assert discover(m, r, seed=1, restarts=8) == s  # same seed, same scheme


def test_cooktoom_engine_through_the_front_door():
    from discovery.core.problems import correlation2d, matmul, polymul
    from discovery.search import search

    res = search(correlation(3, 2), 4, engine="cooktoom", seed=2, restarts=8)
    assert res.status == "found" and verify_exact(res.schemes[0]).ok
    assert identify(res.schemes[0])["cook_toom"]
    res2 = search(correlation2d((2, 3), (3, 2)), 16, engine="cooktoom", restarts=8)
    assert res2.found and verify_exact(res2.schemes[0]).ok
    assert search(polymul(3, 2), 4, engine="cooktoom", restarts=8).schemes[0].problem == polymul(3, 2)
    with pytest.raises(InvalidInputError, match="minimal rank 4"):
        search(correlation(2, 3), 5, engine="cooktoom")
    with pytest.raises(InvalidInputError, match="not matmul"):
        search(matmul(2, 2, 2), 7, engine="cooktoom")
