"""Generated code for huge schemes in bounded time, and C literals the compiler never truncates."""

import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from discovery.algebra.ops import standard_scheme
from discovery.cli import main
from discovery.codegen import generate as gen
from discovery.codegen.generate import generate, plan
from discovery.core.errors import InvalidInputError
from discovery.core.problems import matmul
from discovery.core.scheme import Scheme
from discovery.io.formats import save_json
from verify import verify_exact


def _load(source: str, name: str):
    env: dict = {}
    exec(compile(source, "<generated>", "exec"), env)
    return env[name]


def _scaled_identity(c) -> Scheme:
    """matmul 1x1x1 as (c * a) * b * (1/c): exact, with a huge coefficient."""
    return Scheme(matmul(1, 1, 1), [[c]], [[1]], [[Fraction(1, c)]], field="Q")


def test_long_sums_are_split_and_still_compute():
    s = standard_scheme(matmul(1, 60, 1))  # one output summing 60 products
    fn = _load(generate(s, "python", name="f"), "f")
    x, y = list(range(60)), list(range(1, 61))
    assert fn(x, y) == [sum(a * b for a, b in zip(x, y))]
    assert "+=" in generate(s, "python") and "+=" in generate(s, "c")


def test_maps_beyond_the_pair_limit_are_transposed_or_summed(monkeypatch):
    rng = np.random.default_rng(0)
    rank = 60
    u = rng.choice([-1, 0, 1], size=(rank, 4))
    v = rng.choice([-1, 0, 1], size=(rank, 4))
    w = rng.choice([-1, 0, 1], size=(rank, 4))
    s = Scheme(matmul(2, 2, 2), u, v, w)  # not exact: only the code's arithmetic is checked here
    monkeypatch.setattr(gen, "MAX_PAIRS", 40)
    p = plan(s)
    for prog, mat in ((p.left, s.U), (p.right, s.V), (p.output, s.W.T)):
        assert prog.matrix().tolist() == mat.tolist()
    fn = _load(generate(s, "python", name="f", code_plan=p), "f")
    x = [int(t) for t in rng.integers(-5, 6, 4)]
    y = [int(t) for t in rng.integers(-5, 6, 4)]
    assert fn(x, y) == s.evaluate(np.array(x, dtype=object), np.array(y, dtype=object)).tolist()


@pytest.mark.slow
def test_dense_rank_20000_export_finishes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rank = 20000
    s = Scheme(matmul(4, 4, 4), *(rng.choice([-1, 1], size=(rank, 16)) for _ in range(3)))
    path = save_json(s, tmp_path / "dense.json")
    for fmt in ("python", "c"):
        assert main(["export", str(path), "--format", fmt, "--out", str(tmp_path / f"out.{fmt}")]) == 0
    assert "919984" in capsys.readouterr().err


def test_huge_coefficients_never_become_truncated_c_literals():
    s = _scaled_identity(2**64)
    assert verify_exact(s).ok
    src = generate(s, "c", name="f")
    assert "18446744073709551616.0" in src
    with pytest.raises(InvalidInputError, match="does not fit in the C type long"):
        generate(Scheme(matmul(1, 1, 1), [[2**64]], [[1]], [[1]]), "c", ctype="long")
    with pytest.raises(InvalidInputError, match="not exactly representable in the C type double"):
        generate(_scaled_identity(2**64 + 1), "c")
    with pytest.raises(InvalidInputError, match="float"):
        generate(_scaled_identity(2**30 + 1), "c", ctype="float")
    assert "2147483648LL" in generate(Scheme(matmul(1, 1, 1), [[2**31]], [[1]], [[1]]), "c", ctype="int64_t")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_huge_coefficient_c_compiles_cleanly_and_computes(tmp_path):
    src = generate(_scaled_identity(2**64), "c", name="f") + (
        "\n#include <stdio.h>\nint main(void) { const double x[1] = {3.0}, y[1] = {5.0}; double z[1];"
        " f(x, y, z); printf(\"%.17g\\n\", z[0]); return 0; }\n")
    c_file = tmp_path / "big.c"
    c_file.write_text(src)
    exe = tmp_path / "big"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-o", str(exe), str(c_file)], check=True,
                   capture_output=True)
    assert float(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout) == 15.0


def test_cli_export_refuses_unrepresentable_coefficient_in_one_line(tmp_path, capsys):
    path = save_json(_scaled_identity(2**64 + 1), tmp_path / "big.json")
    assert main(["export", str(path), "--format", "c"]) == 2
    err = capsys.readouterr().err
    assert "not exactly representable" in err and len(err.strip().splitlines()) == 1
