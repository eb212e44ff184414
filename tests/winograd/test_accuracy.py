"""Measured accuracy, condition numbers and the point-set ranking."""

import numpy as np
import pytest

from discovery.winograd.accuracy import (
    _float_transforms,
    measure_error,
    rank_point_sets,
    screen_point_sets,
    transform_conditions,
)
from discovery.cli.sections import winograd_section as show_section
from discovery.winograd.cooktoom import cook_toom
from discovery.core.errors import InvalidInputError
from discovery.algebra.ops import standard_scheme
from discovery.core.problems import correlation
from discovery.winograd.cooktoom import best_known


def test_error_grows_with_tile_size_and_precision():
    small = measure_error(cook_toom(2, 3), "float32", (1, 8), tiles=256)
    large = measure_error(best_known(6, 3), "float32", (1, 8), tiles=256)
    half = measure_error(cook_toom(2, 3), "float16", (1, 8), tiles=256)
    assert 0 < small.error < large.error < 1e-5
    assert half.error > 100 * small.error
    assert len(small.rms) == len(small.max) == 2


def test_exact_in_float64_and_standard_scheme_is_accurate():
    rep = measure_error(standard_scheme(correlation(4, 3)), "float32", (1,), tiles=128)
    assert rep.error < 1e-6
    assert measure_error(cook_toom(4, 3), "float64", (4,), tiles=64).error < 1e-14


def test_wrong_scheme_has_order_one_error():
    s = cook_toom(2, 3)
    W = s.W.copy()
    W[0, 0] = 0
    assert measure_error(s.replace(W=W), "float32", (1,), tiles=64).error > 0.05


def test_channel_sum_and_2d():
    rep = measure_error(best_known((2, 2), (3, 3)), "float32", (1, 16), tiles=64)
    assert rep.channels == (1, 16)
    assert all(0 < e < 1e-5 for e in rep.rms)


def test_same_seed_same_figures():
    a = measure_error(cook_toom(4, 3), "float16", (2,), tiles=32, seed=3)
    b = measure_error(cook_toom(4, 3), "float16", (2,), tiles=32, seed=3)
    assert a == b


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": "int8"}, "dtype"), ({"channels": (0,)}, "channel"), ({"tiles": 0}, "tiles")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        measure_error(cook_toom(2, 3), **kwargs)


def test_conditions():
    c = transform_conditions(cook_toom(4, 3, "0,1,-1,2,-2"))
    assert set(c) == {"G", "BT", "AT"}
    assert all(v >= 1 for v in c.values())
    assert transform_conditions(best_known(6, 3))["BT"] > transform_conditions(cook_toom(2, 3))["BT"]


@pytest.mark.parametrize("m, r, pts", [(4, 3, "0,1,-1,1/2,-2"), (3, 2, "-2/3,1/3,3"), (2, 5, "0,1,-1,1/2,-2")])
def test_float_transforms_match_exact_construction(m, r, pts):
    from fractions import Fraction

    s = cook_toom(m, r, pts)
    pq = np.array([[(Fraction(p).numerator, Fraction(p).denominator) for p in pts.split(",")]])
    G, BT, AT = _float_transforms(pq, m, r)
    u, v, w = s.float_factors()
    assert np.allclose(G[0], u) and np.allclose(BT[0], v) and np.allclose(AT[0], w.T)


def test_ranking_reproduces_f23_points():
    top = rank_point_sets(2, 3, ["0", "1", "-1", "2", "-2", "1/2", "-1/2"], keep=3, tiles=128, channels=(1, 8))
    assert top[0].label == "{-1, 0, 1}"
    assert [s.error for s in top] == sorted(s.error for s in top)
    assert top[0].report is not None and set(top[0].conditions) == {"G", "BT", "AT"}


def test_ranking_reproduces_f63_points_among_dyadic_candidates():
    dyadic = ["0", "1", "-1", "2", "-2", "1/2", "-1/2", "4", "-4"]
    top = rank_point_sets(6, 3, dyadic, keep=3, tiles=128, screen_tiles=256, channels=(1, 8))
    assert top[0].label == "{-2, -1, -1/2, 0, 1/2, 1, 2}"


def test_screen_skips_negated_duplicates_and_rejects_too_few():
    sets = screen_point_sets(2, 3, ["0", "1", "-1", "2"], tiles=16)
    labels = {s.label for s in sets}
    assert "{-1, 0, 1}" in labels and len(labels) == len(sets)
    assert not ({"{0, 1, 2}", "{-2, -1, 0}"} <= labels)
    with pytest.raises(InvalidInputError, match="needs 5 finite points"):
        screen_point_sets(4, 3, ["0", "1"])
    with pytest.raises(InvalidInputError, match="finite"):
        screen_point_sets(2, 3, ["0", "1", "inf"])


def test_show_section_lines():
    lines = show_section(cook_toom(2, 3))
    text = "\n".join(lines)
    assert "multiplications per output: 2" in text
    assert "A^T =" in text and "float16" in text and "condition numbers" in text
    from discovery.core.problems import matmul

    assert show_section(standard_scheme(matmul(2, 2, 2))) == []


def test_bilinear_show_reports_accuracy(tmp_path, capsys):
    from discovery.cli import main
    from discovery.io.formats import save_json

    path = save_json(cook_toom(4, 3), tmp_path / "f43.json")
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and "float16" in out and "condition numbers" in out
    assert "multiplications per output: 1.5" in out


def test_show_names_the_points_of_a_scheme():
    lines = show_section(cook_toom(2, 3, "2,-1,0", fractions="AT"))
    assert "interpolation points: {2, -1, 0, inf} (Cook-Toom up to scaling of the products)" in lines


def test_separable_mode_for_nested_2d():
    s = best_known((4, 4), (3, 3))
    sep = measure_error(s, "float32", (1, 8), tiles=64)
    mat = measure_error(s, "float32", (1, 8), tiles=64, mode="matrix")
    assert sep.mode == "separable" and mat.mode == "matrix"
    assert 0 < sep.error < 1e-5 and 0 < mat.error < 1e-5
    assert measure_error(s, "float64", (2,), tiles=16).error < 1e-14
    with pytest.raises(InvalidInputError, match="separable"):
        measure_error(cook_toom(2, 3), mode="separable")
    with pytest.raises(InvalidInputError, match="mode"):
        measure_error(cook_toom(2, 3), mode="fast")
    # a wrong nested scheme is still caught in separable mode
    W = s.W.copy()
    W[0, 0] = 0
    broken = s.replace(W=W)
    assert measure_error(broken, "float32", (1,), tiles=16).error > 0.01


def test_show_section_for_nested_2d():
    text = "\n".join(show_section(best_known((2, 2), (3, 3))))
    assert "rows (first axis):" in text and "columns (second axis):" in text
    assert "separable evaluation" in text
