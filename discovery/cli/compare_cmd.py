"""``bilinear compare A B``: are two schemes the same algorithm?

Decides whether ``B`` is ``A`` under the symmetry group -- term order,
term scalings, the sandwich action of invertible P, Q, R and, for formats
related by them, the cyclic and transpose symmetries (see
:mod:`discovery.algebra.equivalence`) -- and prints the transformation when
it is.  Files may be in any format ``bilinear import`` reads.

Exit status: 0 equivalent, 1 not equivalent (or "undecided": the search
gave up), 2 bad input.
"""

from __future__ import annotations

import json

from discovery.cli.common import out, positive_float, positive_int
from discovery.core.errors import InvalidInputError, SchemeFormatError

NAME = "compare"
HELP = "decide whether two schemes are equivalent (exit 0) or not (1); print the transformation"


def add_arguments(p) -> None:
    p.add_argument("a", metavar="A", help="scheme file")
    p.add_argument("b", metavar="B", help="scheme file")
    p.add_argument("--format", default="auto", help="format of both files (default auto)")
    p.add_argument("--over", choices=["Z", "Q", "F2"], default=None,
                   help="the group's field (default: the schemes'; Q allows rational P, Q, R for integer schemes)")
    p.add_argument("--time-limit", type=positive_float, default=60.0, metavar="SEC",
                   help="give up ('undecided') after SEC seconds (default 60)")
    p.add_argument("--max-matchings", type=positive_int, default=5000, metavar="N",
                   help="give up after N term matchings (default 5000)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")


def _load(path: str, fmt: str):
    from discovery.io.community import read

    items = read(path, fmt)
    if len(items) != 1:
        raise SchemeFormatError(f"{path}: holds {len(items)} schemes; compare needs one per file")
    return items[0].scheme


def _matrix(M) -> str:
    return "[" + "; ".join(" ".join(str(v) for v in row) for row in M) + "]"


def run(args) -> int:
    from discovery.algebra.equivalence import equivalent, invariants
    from discovery.algebra.ops import to_field

    a, b = _load(args.a, args.format), _load(args.b, args.format)
    if args.over == "F2":  # compare the reductions mod 2
        a, b = to_field(a, "F2"), to_field(b, "F2")
    elif a.field != b.field:
        if {a.field, b.field} != {"Z", "Q"}:
            raise InvalidInputError(f"A is over {a.field} and B over {b.field}: compare them --over F2")
        a, b = a.replace(field="Q"), b.replace(field="Q")
    res = equivalent(a, b, over=args.over, max_matchings=args.max_matchings, time_limit=args.time_limit)
    if args.json:
        payload = {"status": res.status, "reason": res.reason, "matchings": res.matchings,
                   "transformation": res.transformation.to_dict() if res.transformation else None}
        out.print(json.dumps(payload, indent=2), markup=False)
    else:
        word = {"equivalent": "EQUIVALENT", "not equivalent": "NOT EQUIVALENT", "undecided": "UNDECIDED"}
        out.print(f"{word[res.status]}: {res.reason}", markup=False)
        if res.status == "not equivalent" and "differ" not in res.reason:
            ia = invariants(a)
            out.print(f"invariants agree (rank pattern {ia.describe_pattern()})", markup=False)
        if res.status == "undecided":
            out.print("the search gave up: the schemes share all invariants; raise --time-limit or "
                      "--max-matchings to search longer", markup=False)
        t = res.transformation
        if t is not None:
            out.print(f"B = T(A) with T: symmetry {t.symmetry}", markup=False)
            if t.P is not None:
                out.print("  U -> P U Q^-1, V -> Q V R^-1, W -> P^-T W R^T with", markup=False)
                out.print(f"  P = {_matrix(t.P)}", markup=False)
                out.print(f"  Q = {_matrix(t.Q)}", markup=False)
                out.print(f"  R = {_matrix(t.R)}", markup=False)
            out.print("  term r of B is term order[r] of A: order = "
                      + " ".join(str(i + 1) for i in t.order), markup=False)
            scaled = [(r + 1, lam, mu) for r, (lam, mu) in enumerate(t.scales) if (lam, mu) != (1, 1)]
            if scaled:
                out.print("  scalings (lambda, mu) of B's terms: "
                          + ", ".join(f"{r}: ({lam}, {mu})" for r, lam, mu in scaled), markup=False)
    return 0 if res.status == "equivalent" else 1
