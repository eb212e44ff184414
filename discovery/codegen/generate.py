"""Straight-line code for a scheme, with shared subexpressions eliminated.

A scheme ``z = W.T @ ((U @ x) * (V @ y))`` runs as three linear transforms
around ``R`` products.  Each transform is compiled with
:func:`discovery.codegen.cse.eliminate` (greedy pairwise common-subexpression
elimination): ``U`` and ``V`` over their rows (the left and right factors of
the products) and ``W.T`` over its rows (the output sums), so sums of
products shared by several outputs are computed once too.  For Winograd's
variant of Strassen's algorithm this gives the famous 15 additions
(4 + 4 + 7) instead of 24.

:func:`generate` returns Python or C source; :func:`plan` the three programs
and the counts.  The code is exact for integer coefficients; rational
coefficients become ``Fraction(p, q)`` in Python and ``(p.0 / q.0)`` in C.
Schemes over F2 reduce their outputs mod 2 (integers only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from discovery.algebra.ops import cyclic, transpose
from discovery.codegen.cse import Program, eliminate
from discovery.core.errors import InvalidInputError
from discovery.codegen.formulas import variable_names
from discovery.core.scheme import Scheme

__all__ = ["CodePlan", "plan", "count_additions", "fewest_additions", "generate", "LANGUAGES"]

#: Languages :func:`generate` writes.
LANGUAGES = ("python", "c")

_C_TYPES = ("double", "float", "long", "int", "long long", "int64_t", "int32_t")


@dataclass(frozen=True)
class CodePlan:
    """The three straight-line programs of a scheme and their costs.

    Attributes
    ----------
    scheme : Scheme
    left, right, output : Program
        ``U @ x``, ``V @ y`` and ``W.T @ m`` after elimination.
    """

    scheme: Scheme
    left: Program
    right: Program
    output: Program

    @property
    def multiplications(self) -> int:
        return self.scheme.rank

    @property
    def additions_naive(self) -> int:
        return self.scheme.additions

    @property
    def additions(self) -> int:
        """Additions after elimination (left + right + output)."""
        return self.left.additions + self.right.additions + self.output.additions

    @property
    def breakdown(self) -> dict[str, int]:
        return {"left": self.left.additions, "right": self.right.additions, "output": self.output.additions}

    def summary(self) -> str:
        """One line: multiplications and additions before/after elimination.

        Examples
        --------
        >>> from discovery.algebra.literature import strassen_winograd
        >>> plan(strassen_winograd()).summary()
        'rank 7: 7 multiplications, 24 additions naive, 15 after elimination (4 + 4 + 7)'
        """
        b = self.breakdown
        return (
            f"rank {self.scheme.rank}: {self.multiplications} multiplications, "
            f"{self.additions_naive} additions naive, {self.additions} after elimination "
            f"({b['left']} + {b['right']} + {b['output']})"
        )


def plan(scheme: Scheme) -> CodePlan:
    """Eliminate common subexpressions in the three transforms of ``scheme``.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> p = plan(strassen())
    >>> p.additions_naive, p.additions
    (18, 18)
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    return CodePlan(scheme, eliminate(scheme.U), eliminate(scheme.V), eliminate(scheme.W.T))


def count_additions(scheme: Scheme) -> int:
    """Additions of ``scheme`` after common-subexpression elimination.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> count_additions(strassen_winograd())
    15
    """
    return plan(scheme).additions


def symmetric_variants(scheme: Scheme) -> list[Scheme]:
    """Equivalent schemes for the same problem from the matmul symmetries.

    For ``n x n x n`` products the cyclic rotations and transposes of a
    scheme (``<n,n,n>`` to itself) are different algorithms for the same
    product, with different additions after elimination.  Other problems
    (and non-cubic products) give only ``[scheme]``.
    """
    out = [scheme]
    p = scheme.problem
    if p.kind != "matmul" or not (p.k == p.m == p.n):
        return out
    current = scheme
    for step in range(3):
        if step:
            out.append(current)
        out.append(transpose(current))
        current = cyclic(current)
    return [v.replace(meta=scheme.meta) for v in out]


def fewest_additions(scheme: Scheme) -> tuple[Scheme, CodePlan]:
    """The symmetric variant of ``scheme`` with the fewest additions after elimination.

    Returns the variant (same problem and rank, exact whenever ``scheme`` is)
    and its plan; ties keep the earliest variant, ``scheme`` itself first.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> best, p = fewest_additions(strassen_winograd())
    >>> p.additions
    15
    """
    best = None
    for variant in symmetric_variants(scheme):
        candidate = plan(variant)
        if best is None or candidate.additions < best[1].additions:
            best = (variant, candidate)
    return best


def _identifier(text: str) -> str:
    name = re.sub(r"[\W_]+", "_", text).strip("_").lower()
    if not name or name[0].isdigit():
        name = "f_" + name
    return name


def default_function_name(scheme: Scheme) -> str:
    """``matmul_2x2x2_rank7`` style names.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> default_function_name(strassen())
    'matmul_2x2x2_rank7'
    >>> from discovery.winograd.cooktoom import cook_toom
    >>> default_function_name(cook_toom(4, 3))
    'correlation_f_4_3_rank6'
    """
    return _identifier(f"{scheme.problem.kind}_{scheme.problem.spec}_rank{scheme.rank}")


class _Emitter:
    """Expression syntax of one language."""

    def __init__(self, language: str, ctype: str):
        self.language = language
        self.ctype = ctype
        self.integer = language == "c" and ctype not in ("double", "float")
        self.uses_fraction = False

    def coef(self, c) -> str:
        if isinstance(c, Fraction) and c.denominator != 1:
            if self.language == "python":
                self.uses_fraction = True
                return f"Fraction({c.numerator}, {c.denominator})"
            if self.integer:
                raise InvalidInputError(
                    f"coefficient {c} is not an integer: use a floating C type (--ctype double), not {self.ctype}"
                )
            return f"({c.numerator}.0 / {c.denominator}.0)"
        return str(int(c))

    def terms(self, terms) -> str:
        parts = []
        for c, name in sorted(terms, key=lambda cn: cn[0] < 0):
            neg = c < 0
            mag = -c if neg else c
            body = name if mag == 1 else f"{self.coef(mag)} * {name}"
            if not parts:
                parts.append(f"-{body}" if neg else body)
            else:
                parts.append(f" - {body}" if neg else f" + {body}")
        return "".join(parts) or "0"


def _program_body(program: Program, inputs: list[str], temp: str, emit: _Emitter) -> tuple[list[tuple[str, str]], list[str]]:
    """Assignments ``(name, expr)`` for the program's temporaries and one expression per output."""
    names = list(inputs) + [f"{temp}{k}" for k in range(len(program.ops))]
    assigns = []
    for k, (target, ca, a, cb, b) in enumerate(program.ops):
        assigns.append((names[target], emit.terms([(ca, names[a]), (cb, names[b])])))
    outputs = [emit.terms([(c, names[v]) for c, v in terms]) for terms in program.outputs]
    return assigns, outputs


def _paren(expr: str) -> str:
    return expr if re.fullmatch(r"[A-Za-z_]\w*", expr) else f"({expr})"


def _statements(p: CodePlan, emit: _Emitter):
    """Straight-line statements: (name, expr) pairs and the output expressions."""
    scheme = p.scheme
    xs, ys, zs = variable_names(scheme.problem)
    ms = [f"m{r + 1}" for r in range(scheme.rank)]
    left_assigns, left_out = _program_body(p.left, xs, "s", emit)
    right_assigns, right_out = _program_body(p.right, ys, "t", emit)
    prods = [(m, f"{_paren(u)} * {_paren(v)}") for m, u, v in zip(ms, left_out, right_out)]
    out_assigns, outs = _program_body(p.output, ms, "w", emit)
    return xs, ys, zs, left_assigns + right_assigns + prods + out_assigns, outs


def _header(p: CodePlan, comment: str) -> list[str]:
    s = p.scheme
    nx, ny, nz = s.problem.shape
    lines = [
        f"Generated by bilinear-discovery: {s.problem.kind} {s.problem.spec}, rank {s.rank}, field {s.field}.",
        f"x: {nx} entries, y: {ny} entries, z: {nz} entries (row-major, see discovery.core.problems).",
        f"{p.multiplications} multiplications; additions: {p.additions_naive} naive, "
        f"{p.additions} after common-subexpression elimination.",
        f"scheme fingerprint: {s.fingerprint()[:16]}",
    ]
    return [f"{comment} {line}" if line else comment for line in lines]


def generate(scheme: Scheme, language: str = "python", name: Optional[str] = None, ctype: str = "double") -> str:
    """Source code of a function computing the scheme's bilinear map.

    Parameters
    ----------
    scheme : Scheme
    language : {"python", "c"}
        Python: ``def NAME(x, y) -> list`` on flat sequences (numbers, or
        numpy arrays whose first axis indexes the entries, for batches;
        rational coefficients are ``Fraction`` constants, exact on ints and
        Fractions, and give object arrays on numpy input).
        C: ``void NAME(const T *x, const T *y, T *z)``.
    name : str, optional
        Function name (default :func:`default_function_name`).
    ctype : str
        Element type of the C function (default ``double``).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> src = generate(strassen_winograd())
    >>> env = {}
    >>> exec(src, env)
    >>> env["matmul_2x2x2_rank7"]([1, 2, 3, 4], [5, 6, 7, 8])
    [19, 22, 43, 50]
    """
    if language not in LANGUAGES:
        raise InvalidInputError(f"unknown language {language!r}: expected one of {', '.join(LANGUAGES)}")
    if ctype not in _C_TYPES:
        raise InvalidInputError(f"unsupported C type {ctype!r}: expected one of {', '.join(_C_TYPES)}")
    name = default_function_name(scheme) if name is None else name
    if not re.fullmatch(r"[A-Za-z_]\w*", name or ""):
        raise InvalidInputError(f"function name must be an identifier, got {name!r}")
    p = plan(scheme)
    emit = _Emitter(language, ctype)
    mod2 = scheme.field == "F2"
    if mod2 and language == "c" and not emit.integer:
        raise InvalidInputError("a scheme over F2 needs an integer C type (e.g. --ctype int)")
    xs, ys, zs, assigns, outs = _statements(p, emit)
    if language == "python":
        body = [f"    {v} = x[{i}]" for i, v in enumerate(xs)]
        body += [f"    {v} = y[{i}]" for i, v in enumerate(ys)]
        body += [f"    {lhs} = {rhs}" for lhs, rhs in assigns]
        body += [f"    {z} = ({expr}) % 2" if mod2 else f"    {z} = {expr}" for z, expr in zip(zs, outs)]
        body.append(f"    return [{', '.join(zs)}]")
        head = ['"""' + "\n".join(line[2:] for line in _header(p, "#")) + '\n"""', ""]
        if emit.uses_fraction:
            head += ["from fractions import Fraction", ""]
        head += ["", f"def {name}(x, y):", f'    """z = {scheme.problem.kind} {scheme.problem.spec} of x and y."""']
        return "\n".join(head + body) + "\n"
    t = ctype
    body = [f"    const {t} {v} = x[{i}];" for i, v in enumerate(xs)]
    body += [f"    const {t} {v} = y[{i}];" for i, v in enumerate(ys)]
    body += [f"    const {t} {lhs} = {rhs};" for lhs, rhs in assigns]
    body += [f"    z[{i}] = " + (f"({expr}) & 1;" if mod2 else f"{expr};") for i, expr in enumerate(outs)]
    head = ["/*"] + [" *" + line[1:] for line in _header(p, "*")] + [" */"]
    if ctype in ("int64_t", "int32_t"):
        head.append("#include <stdint.h>")
    head += ["", f"void {name}(const {t} *x, const {t} *y, {t} *z)", "{"]
    return "\n".join(head + body + ["}"]) + "\n"
