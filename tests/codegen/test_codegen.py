"""Generated code: additions after elimination, and code that computes the product."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from discovery.io.catalog import load_all
from discovery.cli import main
from discovery.codegen.generate import count_additions, fewest_additions, generate, plan, symmetric_variants
from discovery.winograd.cooktoom import cook_toom
from discovery.core.errors import InvalidInputError
from discovery.io.formats import save_json
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.algebra.ops import kron, standard_scheme, to_field
from discovery.core.problems import correlation2d, matmul, polymul
from verify import verify_exact


def _schemes():
    out = {
        "strassen": strassen(),
        "strassen_winograd": strassen_winograd(),
        "standard_2x3x4": standard_scheme(matmul(2, 3, 4)),
        "kron_4x4x4": kron(strassen_winograd(), strassen()),
        "cook_toom_F(4,3)": cook_toom(4, 3),  # rational coefficients
        "poly(3,2)": standard_scheme(polymul(3, 2)),
        "F(2x2,3x3)": standard_scheme(correlation2d((2, 2), (3, 3))),
    }
    for path, scheme in load_all():
        nx, ny, nz = scheme.problem.shape
        if scheme.rank * (nx + ny + nz) <= 2500:  # keep the default run fast as the catalog grows
            out[f"catalog:{path.parent.name}/{path.name}"] = scheme
    return out


SCHEMES = _schemes()


def _load(source: str, name: str):
    env: dict = {}
    exec(compile(source, "<generated>", "exec"), env)
    return env[name]


def test_strassen_winograd_reaches_15_additions():
    p = plan(strassen_winograd())
    assert p.additions_naive == 24
    assert p.additions == 15
    assert p.breakdown == {"left": 4, "right": 4, "output": 7}
    assert count_additions(strassen()) <= strassen().additions


@pytest.mark.parametrize("key", sorted(SCHEMES))
def test_generated_python_computes_the_product_exactly(key):
    scheme = SCHEMES[key]
    assert verify_exact(scheme).ok
    fn = _load(generate(scheme, "python", name="f"), "f")
    rng = np.random.default_rng(0)
    nx, ny, _ = scheme.problem.shape
    if scheme.field == "F2":  # exact mod 2 on integers
        for _ in range(3):
            x = [int(v) for v in rng.integers(0, 2, nx)]
            y = [int(v) for v in rng.integers(0, 2, ny)]
            expected = scheme.problem.direct(np.array(x, dtype=object), np.array(y, dtype=object)) % 2
            assert fn(x, y) == expected.tolist()
        return
    for _ in range(3):
        x = [int(v) for v in rng.integers(-9, 10, nx)]
        y = [Fraction(int(v), 3) for v in rng.integers(-9, 10, ny)]
        expected = scheme.problem.direct(np.array(x, dtype=object), np.array(y, dtype=object)).tolist()
        assert fn(x, y) == expected
    # batches: numpy arrays whose first axis indexes the entries
    xb = rng.standard_normal((nx, 5))
    yb = rng.standard_normal((ny, 5))
    got = np.array(fn(xb, yb), dtype=np.float64)
    np.testing.assert_allclose(got.T, scheme.problem.direct(xb.T, yb.T), rtol=1e-12, atol=1e-12)


def test_generated_code_counts_every_addition():
    # the program's own count equals the '+'/'-' operators in the generated text
    scheme = strassen_winograd()
    src = generate(scheme, "python")
    body = [l.split("=", 1)[1] for l in src.splitlines() if l.startswith("    ") and "=" in l and "[" not in l]
    binary = sum(expr.count(" + ") + expr.count(" - ") for expr in body)
    assert binary == 15


def test_f2_scheme_reduces_mod_2():
    scheme = to_field(strassen(), "F2")
    fn = _load(generate(scheme, "python", name="f"), "f")
    x, y = [1, 0, 1, 1], [1, 1, 0, 1]
    expected = (scheme.problem.direct(np.array(x), np.array(y)) % 2).tolist()
    assert fn(x, y) == expected


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_generated_c_compiles_and_computes_the_product(tmp_path):
    cases = {k: SCHEMES[k] for k in ("strassen_winograd", "kron_4x4x4", "cook_toom_F(4,3)", "F(2x2,3x3)")}
    rng = np.random.default_rng(1)
    for i, (key, scheme) in enumerate(cases.items()):
        nx, ny, nz = scheme.problem.shape
        x = rng.integers(-5, 6, nx)
        y = rng.integers(-5, 6, ny)
        src = generate(scheme, "c", name="f")
        fmt = lambda v: ", ".join(f"{int(a)}.0" for a in v)  # noqa: E731
        main_c = (
            src
            + "\n#include <stdio.h>\nint main(void) {\n"
            + f"    const double x[{nx}] = {{{fmt(x)}}};\n    const double y[{ny}] = {{{fmt(y)}}};\n"
            + f"    double z[{nz}];\n    f(x, y, z);\n"
            + f"    for (int i = 0; i < {nz}; ++i) printf(\"%.17g\\n\", z[i]);\n    return 0;\n}}\n"
        )
        c_file = tmp_path / f"case{i}.c"
        exe = tmp_path / f"case{i}"
        c_file.write_text(main_c)
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-O1", "-o", str(exe), str(c_file)],
                       check=True, capture_output=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
        expected = scheme.problem.direct(x.astype(np.float64), y.astype(np.float64))
        np.testing.assert_allclose([float(v) for v in out], expected, rtol=1e-12, atol=1e-12, err_msg=key)


def test_integer_c_type_refuses_fractions():
    with pytest.raises(InvalidInputError, match="not an integer"):
        generate(cook_toom(4, 3), "c", ctype="int")
    assert "const int" in generate(strassen(), "c", ctype="int")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"language": "rust"}, "unknown language"),
        ({"name": "1bad name"}, "identifier"),
        ({"language": "c", "ctype": "char *"}, "unsupported C type"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        generate(strassen(), **kwargs)
    with pytest.raises(InvalidInputError, match="Scheme"):
        plan("not a scheme")


def test_cli_export_python_and_c(tmp_path, capsys):
    path = save_json(strassen_winograd(), tmp_path / "sw.json")
    assert main(["export", str(path), "--format", "python"]) == 0
    captured = capsys.readouterr()
    assert "15 after elimination" in captured.err
    fn = _load(captured.out, "matmul_2x2x2_rank7")
    assert fn([1, 2, 3, 4], [5, 6, 7, 8]) == [19, 22, 43, 50]
    out = tmp_path / "sw.c"
    assert main(["export", str(path), "--format", "c", "--out", str(out)]) == 0
    assert "void matmul_2x2x2_rank7(const double *x" in out.read_text()
    assert main(["export", str(path), "--format", "fortran"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_symmetric_variants_are_exact_and_fewest_additions_is_no_worse():
    scheme = kron(strassen(), strassen_winograd())  # 4x4x4 rank 49
    variants = symmetric_variants(scheme)
    assert len(variants) == 6
    assert all(v.problem == scheme.problem and v.rank == 49 and verify_exact(v).ok for v in variants)
    best, best_plan = fewest_additions(scheme)
    assert best_plan.additions == min(plan(v).additions for v in variants) <= plan(scheme).additions
    assert symmetric_variants(standard_scheme(matmul(2, 3, 4))) == [standard_scheme(matmul(2, 3, 4))]
