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
Schemes over F2 reduce their outputs mod 2 (integers only).  A C
coefficient that the element type cannot hold exactly (``2**64`` in a
``long``, ``2**53 + 1`` in a ``double``) is refused with one clear line,
never written as a literal the compiler would truncate.

A scheme saved by ``bilinear optimize`` carries its programs in its meta
(key ``"program"``, :func:`plan_to_json`); :func:`plan` uses them, after
checking that they compute the scheme's factors exactly, instead of the
greedy elimination.  Maps too large for the greedy's pair table (more than
:data:`MAX_PAIRS` pairs, e.g. the output sums of a dense rank-20000 scheme)
are eliminated as their transpose when that is small enough, and summed
directly otherwise, so code for any scheme is written in time linear in its
size.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from discovery.algebra.ops import cyclic, transpose
from discovery.codegen.cse import Program, eliminate
from discovery.codegen.cse import transpose as transpose_program
from discovery.core.coefficients import to_json
from discovery.core.errors import InvalidInputError, SchemeFormatError
from discovery.codegen.formulas import variable_names
from discovery.core.scheme import Scheme

__all__ = ["CodePlan", "plan", "plan_to_json", "stored_plan", "count_additions", "fewest_additions",
           "generate", "factors_digest", "LANGUAGES", "PROGRAM_FORMAT", "MAX_PAIRS"]

#: Languages :func:`generate` writes.
LANGUAGES = ("python", "c")

#: Format tag of the programs stored in a scheme's meta.
PROGRAM_FORMAT = "bilinear-slp/1"

#: Largest pair table (sum over rows of nnz**2 / 2) the greedy elimination
#: builds for one map; bigger maps are transposed or summed directly.
MAX_PAIRS = 2_000_000

#: C element types and the integers each holds exactly (``None``: floating,
#: checked by round trip).
_C_TYPES = {"double": None, "float": None, "long": 2**63 - 1, "int": 2**31 - 1, "long long": 2**63 - 1,
            "int64_t": 2**63 - 1, "int32_t": 2**31 - 1}

#: Terms per line of a generated sum (long sums are split into ``+=`` lines:
#: Python's compiler recurses once per ``+``).
_CHUNK = 32


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
    stored: bool = False

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
            + ("; the program stored with the scheme" if self.stored else "")
        )


def _pair_work(mat) -> int:
    nnz = (mat != 0).sum(axis=1)
    return int((nnz * nnz).sum() // 2)


def _direct(mat) -> Program:
    rows = mat.tolist()
    return Program(len(rows[0]) if rows else 0, (),
                   tuple(tuple((c, j) for j, c in enumerate(row) if c != 0) for row in rows))


def _eliminate_bounded(mat) -> Program:
    """Greedy elimination of ``mat``, within :data:`MAX_PAIRS` (transposed or direct beyond)."""
    if _pair_work(mat) <= MAX_PAIRS:
        return eliminate(mat)
    if _pair_work(mat.T) <= MAX_PAIRS:
        return transpose_program(eliminate(mat.T))
    return _direct(mat)


def factors_digest(scheme: Scheme) -> str:
    """A hash of the factors exactly as they are (term order and signs included).

    A stored program is tied to this, not to :meth:`Scheme.fingerprint`
    (which may identify schemes that differ by term order or signs, whose
    programs differ).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> len(factors_digest(strassen()))
    16
    """
    payload = json.dumps([[[to_json(v) for v in row] for row in m.tolist()] for m in scheme.factors],
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def plan_to_json(p: "CodePlan") -> dict:
    """The plan's programs as a JSON-ready dict for a scheme's meta (key ``"program"``).

    It records :func:`factors_digest`, so a program is never applied to
    other factors (:func:`stored_plan` ignores it then).

    Examples
    --------
    >>> from discovery.algebra.literature import strassen_winograd
    >>> d = plan_to_json(plan(strassen_winograd()))
    >>> d["format"], d["additions"], sorted(d)
    ('bilinear-slp/1', 15, ['additions', 'factors', 'format', 'left', 'output', 'right'])
    """
    return {
        "format": PROGRAM_FORMAT,
        "factors": factors_digest(p.scheme),
        "additions": p.additions,
        "left": p.left.to_json(),
        "right": p.right.to_json(),
        "output": p.output.to_json(),
    }


def _same(program: Program, mat) -> bool:
    got = program.matrix()
    return got.shape == mat.shape and all(a == b for a, b in zip(got.ravel(), mat.ravel()))


def stored_plan(scheme: Scheme) -> Optional["CodePlan"]:
    """The plan stored in ``scheme.meta["program"]``, or None when there is none for these factors.

    Raises
    ------
    SchemeFormatError
        When a program for these factors is stored but malformed or does
        not compute them exactly.
    """
    data = scheme.meta.get("program")
    if not isinstance(data, dict) or data.get("factors") != factors_digest(scheme):
        return None
    if data.get("format") != PROGRAM_FORMAT:
        raise SchemeFormatError(f"program: format must be {PROGRAM_FORMAT!r}, got {data.get('format')!r}")
    programs = []
    for key, mat in (("left", scheme.U), ("right", scheme.V), ("output", scheme.W.T)):
        program = Program.from_json(data.get(key), f"program.{key}")
        if program.n_inputs != mat.shape[1] or program.n_outputs != mat.shape[0] or not _same(program, mat):
            raise SchemeFormatError(f"program.{key} does not compute the scheme's "
                                    f"{ {'left': 'U', 'right': 'V', 'output': 'W.T'}[key] } exactly")
        programs.append(program)
    return CodePlan(scheme, *programs, stored=True)


def plan(scheme: Scheme, stored: bool = True) -> CodePlan:
    """Eliminate common subexpressions in the three transforms of ``scheme``.

    With ``stored`` (default) a program saved with the scheme (by
    ``bilinear optimize``; see :func:`stored_plan`) is used instead.

    Examples
    --------
    >>> from discovery.algebra.literature import strassen
    >>> p = plan(strassen())
    >>> p.additions_naive, p.additions
    (18, 18)
    """
    if not isinstance(scheme, Scheme):
        raise InvalidInputError(f"expected a Scheme, got {type(scheme).__name__}")
    if stored:
        saved = stored_plan(scheme)
        if saved is not None:
            return saved
    return CodePlan(scheme, _eliminate_bounded(scheme.U), _eliminate_bounded(scheme.V),
                    _eliminate_bounded(scheme.W.T))


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

    def _c_number(self, v: int) -> str:
        """An integer as a C literal that the element type holds exactly."""
        limit = _C_TYPES[self.ctype]
        if limit is not None:
            if abs(v) > limit:
                raise InvalidInputError(
                    f"coefficient {v} does not fit in the C type {self.ctype} (|c| <= {limit}); "
                    "use --ctype double or the Python generator")
            return str(v) if abs(v) <= 2**31 - 1 else f"{v}LL"
        try:
            as_float = float(v) if self.ctype == "double" else float(np.float32(float(v)))
        except OverflowError:
            as_float = None
        if as_float != v:
            raise InvalidInputError(
                f"coefficient {v} is not exactly representable in the C type {self.ctype}; "
                "use the Python generator for exact arithmetic")
        return f"{v}.0" if abs(v) >= 2**31 else str(v)

    def coef(self, c) -> str:
        if isinstance(c, Fraction) and c.denominator != 1:
            if self.language == "python":
                self.uses_fraction = True
                return f"Fraction({c.numerator}, {c.denominator})"
            if self.integer:
                raise InvalidInputError(
                    f"coefficient {c} is not an integer: use a floating C type (--ctype double), not {self.ctype}"
                )
            p, q = self._c_number(c.numerator), self._c_number(c.denominator)
            return f"({p.removesuffix('.0')}.0 / {q.removesuffix('.0')}.0)"
        if self.language == "c":
            return self._c_number(int(c))
        return str(int(c))

    def terms(self, terms) -> str:
        parts = []
        for c, name in terms:
            neg = c < 0
            mag = -c if neg else c
            body = name if mag == 1 else f"{self.coef(mag)} * {name}"
            if not parts:
                parts.append(f"-{body}" if neg else body)
            else:
                parts.append(f" - {body}" if neg else f" + {body}")
        return "".join(parts) or "0"


def _chunks(terms: list) -> list[list]:
    """Positive terms first (stable), cut into pieces of :data:`_CHUNK` terms."""
    terms = sorted(terms, key=lambda cn: cn[0] < 0)
    return [terms[i:i + _CHUNK] for i in range(0, len(terms), _CHUNK)] or [[]]


def _program_body(program: Program, inputs: list[str], temp: str,
                  emit: _Emitter) -> tuple[list[tuple[str, str]], list[list[str]]]:
    """Assignments ``(name, expr)`` for the program's temporaries, and per output its expression
    pieces (one piece unless the sum is longer than :data:`_CHUNK` terms)."""
    names = list(inputs) + [f"{temp}{k}" for k in range(len(program.ops))]
    assigns = []
    for k, (target, ca, a, cb, b) in enumerate(program.ops):
        assigns.append((names[target], emit.terms(sorted([(ca, names[a]), (cb, names[b])], key=lambda t: t[0] < 0))))
    outputs = [[emit.terms(piece) for piece in _chunks([(c, names[v]) for c, v in terms])]
               for terms in program.outputs]
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
    pre = []  # long operand sums (more than one piece) get their own accumulating variables
    for names_, pieces_list, letter in ((ms, left_out, "u"), (ms, right_out, "v")):
        for r, pieces in enumerate(pieces_list):
            if len(pieces) > 1:
                var = f"{letter}{r + 1}"
                pre.append((var, pieces))
                pieces_list[r] = [var]
    prods = [(m, f"{_paren(u[0])} * {_paren(v[0])}") for m, u, v in zip(ms, left_out, right_out)]
    out_assigns, outs = _program_body(p.output, ms, "w", emit)
    return xs, ys, zs, pre, left_assigns + right_assigns, prods + out_assigns, outs


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


def generate(scheme: Scheme, language: str = "python", name: Optional[str] = None, ctype: str = "double",
             code_plan: Optional[CodePlan] = None) -> str:
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
    code_plan : CodePlan, optional
        The programs to emit (default :func:`plan`: the stored program if
        the scheme has one, else the greedy elimination).

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
    if not isinstance(ctype, str) or ctype not in _C_TYPES:
        raise InvalidInputError(f"unsupported C type {ctype!r}: expected one of {', '.join(_C_TYPES)}")
    name = default_function_name(scheme) if name is None else name
    if not re.fullmatch(r"[A-Za-z_]\w*", name or ""):
        raise InvalidInputError(f"function name must be an identifier, got {name!r}")
    if code_plan is not None and code_plan.scheme != scheme:
        raise InvalidInputError("code_plan is for another scheme")
    p = plan(scheme) if code_plan is None else code_plan
    emit = _Emitter(language, ctype)
    mod2 = scheme.field == "F2"
    if mod2 and language == "c" and not emit.integer:
        raise InvalidInputError("a scheme over F2 needs an integer C type (e.g. --ctype int)")
    xs, ys, zs, pre, sums, assigns, outs = _statements(p, emit)
    if language == "python":
        body = [f"    {v} = x[{i}]" for i, v in enumerate(xs)]
        body += [f"    {v} = y[{i}]" for i, v in enumerate(ys)]
        body += [f"    {lhs} = {rhs}" for lhs, rhs in sums]
        for var, pieces in pre:
            body += [f"    {var} = {pieces[0]}"] + [f"    {var} += {piece}" for piece in pieces[1:]]
        body += [f"    {lhs} = {rhs}" for lhs, rhs in assigns]
        for z, pieces in zip(zs, outs):
            body += [f"    {z} = {pieces[0]}"] + [f"    {z} += {piece}" for piece in pieces[1:]]
            if mod2:
                body.append(f"    {z} = {z} % 2")
        body.append(f"    return [{', '.join(zs)}]")
        head = ['"""' + "\n".join(line[2:] for line in _header(p, "#")) + '\n"""', ""]
        if emit.uses_fraction:
            head += ["from fractions import Fraction", ""]
        head += ["", f"def {name}(x, y):", f'    """z = {scheme.problem.kind} {scheme.problem.spec} of x and y."""']
        return "\n".join(head + body) + "\n"
    t = ctype
    body = [f"    const {t} {v} = x[{i}];" for i, v in enumerate(xs)]
    body += [f"    const {t} {v} = y[{i}];" for i, v in enumerate(ys)]
    body += [f"    const {t} {lhs} = {rhs};" for lhs, rhs in sums]
    for var, pieces in pre:
        body += [f"    {t} {var} = {pieces[0]};"] + [f"    {var} += {piece};" for piece in pieces[1:]]
    body += [f"    const {t} {lhs} = {rhs};" for lhs, rhs in assigns]
    for i, pieces in enumerate(outs):
        if len(pieces) == 1:
            body.append(f"    z[{i}] = " + (f"({pieces[0]}) & 1;" if mod2 else f"{pieces[0]};"))
            continue
        body.append(f"    {t} z_{i} = {pieces[0]};")
        body += [f"    z_{i} += {piece};" for piece in pieces[1:]]
        body.append(f"    z[{i}] = " + (f"z_{i} & 1;" if mod2 else f"z_{i};"))
    head = ["/*"] + [" *" + line[1:] for line in _header(p, "*")] + [" */"]
    if ctype in ("int64_t", "int32_t"):
        head.append("#include <stdint.h>")
    head += ["", f"void {name}(const {t} *x, const {t} *y, {t} *z)", "{"]
    return "\n".join(head + body + ["}"]) + "\n"
