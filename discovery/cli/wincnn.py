"""``bilinear wincnn F(m,r) --points 0,1,-1,1/2,-2``: Cook–Toom algorithms, verified.

Builds F(m, r) (or a nested 2-D F(m1xm2,r1xr2), or a linear convolution
poly(p,q)) from interpolation points, verifies it symbolically, and prints
Lavin & Gray's Aᵀ, G and Bᵀ with the costs; ``--show`` adds the measured
float32/float16 accuracy and the formulas, ``--out DIR`` stores the
verified scheme as a catalog file under DIR.
"""

from __future__ import annotations


from discovery.cli.common import allow_negative_values, out, problem_arg
from discovery.core.errors import InvalidInputError, NotExactError

NAME = "wincnn"
HELP = "build a Winograd F(m,r) algorithm from Cook-Toom points (verified; Aᵀ, G, Bᵀ; costs)"


def add_arguments(p) -> None:
    allow_negative_values(p)  # "--points -1,0,1" is a value, not an option
    p.add_argument("problem", type=problem_arg, metavar="PROBLEM",
                   help="F(m,r), F(m1xm2,r1xr2) or poly(p,q)")
    p.add_argument("--points", metavar="LIST", default=None,
                   help="m+r-2 distinct rational points, comma separated (infinity is added), "
                        "e.g. --points 0,1,-1,1/2,-2 or --points -1,0,1; "
                        "default: the published best points")
    p.add_argument("--col-points", metavar="LIST", default=None,
                   help="points of the second (column) axis of a 2-D tile (default: as --points "
                        "when the sizes agree, else the default points)")
    p.add_argument("--pick", choices=("all", "dyadic"), default=None,
                   help="choose the points by measured float32 error instead (all: 0, ±1, ±2, ±1/2, ±3, "
                        "±1/3, ±3/2, ±2/3, ±4, ±1/4; dyadic: 0, ±1, ±2, ±4, ±1/2, ±1/4) and print the ranking")
    p.add_argument("--fractions", choices=("G", "BT", "AT"), default="G",
                   help="which transform carries the scaling fractions (default: G)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="also save the verified scheme as a catalog file under DIR")
    p.add_argument("--show", action="store_true",
                   help="also print the measured accuracy and the formulas")


def build(problem, points=None, col_points=None, fractions: str = "G"):
    """The Cook–Toom scheme for ``problem`` (correlation, correlation2d or polymul)."""
    from discovery.winograd.cooktoom import cook_toom, cook_toom_polymul
    from discovery.core.problems import Correlation, Correlation2D, PolyMul
    from discovery.winograd.cooktoom import BEST_POINTS
    from discovery.winograd.transforms import nest

    if isinstance(problem, Correlation):
        pts = points if points is not None else BEST_POINTS.get((problem.m, problem.r))
        return cook_toom(problem.m, problem.r, pts, fractions)
    if isinstance(problem, PolyMul):
        if col_points is not None:
            raise InvalidInputError("--col-points applies to 2-D tiles only")
        return cook_toom_polymul(problem.p, problem.q, points, fractions)
    if isinstance(problem, Correlation2D):
        (m1, m2), (r1, r2) = problem.m, problem.r
        p1 = points if points is not None else BEST_POINTS.get((m1, r1))
        if col_points is not None:
            p2 = col_points
        elif (m1 + r1) == (m2 + r2):
            p2 = p1
        else:
            p2 = BEST_POINTS.get((m2, r2))
        return nest(cook_toom(m1, r1, p1, fractions), cook_toom(m2, r2, p2, fractions))
    raise InvalidInputError(
        f"wincnn builds F(m,r), F(m1xm2,r1xr2) and poly(p,q), not {problem.kind} {problem.spec}"
    )


_DYADIC = ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "4", "-4", "1/4", "-1/4")


def _pick(problem, which: str):
    """Points chosen by :func:`discovery.winograd.accuracy.rank_point_sets` (per axis for 2-D)."""
    from discovery.winograd.accuracy import CANDIDATE_POINTS, rank_point_sets
    from discovery.cli.common import progress_bar
    from discovery.core.problems import Correlation, Correlation2D, PolyMul

    if isinstance(problem, Correlation):
        axes = [(problem.m, problem.r)]
    elif isinstance(problem, Correlation2D):
        axes = list(zip(problem.m, problem.r))
    elif isinstance(problem, PolyMul):
        axes = [(problem.q, problem.p)]
    else:
        raise InvalidInputError(f"--pick works for correlation and polymul problems, not {problem.kind}")
    candidates = CANDIDATE_POINTS if which == "all" else _DYADIC
    chosen, lines, cache = [], [], {}
    for m, r in axes:
        if m + r - 2 > len(candidates):
            raise InvalidInputError(f"F({m},{r}) needs {m + r - 2} points; --pick {which} has only {len(candidates)}")
        if (m, r) not in cache:
            with progress_bar(f"ranking points for F({m},{r})") as callback:
                cache[(m, r)] = rank_point_sets(m, r, candidates, keep=8, callback=callback)
            top = cache[(m, r)]
            lines.append(f"F({m},{r}) point sets (+ inf) by measured float32 error ({which} candidates):")
            lines += [f"  {i + 1}. {s.label:<40} {s.error:.3e}" for i, s in enumerate(top[:5])]
            lines.append("")
        chosen.append(list(cache[(m, r)][0].points))
    return chosen[0], (chosen[1] if len(chosen) > 1 else None), lines


def _axes(problem) -> list[int]:
    """Interpolation points (multiplications) per axis of a Cook-Toom construction."""
    if problem.kind == "correlation":
        return [problem.m + problem.r - 1]
    if problem.kind == "correlation2d":
        return [m + r - 1 for m, r in zip(problem.m, problem.r)]
    if problem.kind == "polymul":
        return [problem.p + problem.q - 1]
    return []


def check_sizes(problem, *point_lists) -> None:
    """Refuse, before any work, a tile or points above the limits of :mod:`discovery.core.limits`.

    F(m, r) needs m + r - 1 points per axis (``points`` limit, 32: the
    default point list has 31 finite points); a nested 2-D tile's rank is
    bounded by ``tile_rank`` (256: F(8x8,8x8) with 225 multiplications is
    built); each given point's numerator and denominator are bounded by
    ``point_value``.
    """
    from discovery.core import limits
    from discovery.winograd.cooktoom import INF, parse_points

    axes = _axes(problem)
    for n in axes:
        limits.check("points", n, f"{problem.spec}: interpolation points per axis")
    if len(axes) == 2:
        limits.check("tile_rank", axes[0] * axes[1], f"{problem.spec}: the tile's rank")
    for text in point_lists:
        if text is None:
            continue
        items = [t for t in str(text).replace(";", ",").split(",") if t.strip()]
        limits.check("points", len(items), "the number of points given")
        for point in parse_points(text):
            if point is not INF:
                limits.check("point_value", max(abs(point.numerator), point.denominator),
                             "a point's numerator or denominator")


def run(args) -> int:
    from discovery.codegen.cse import transform_costs
    from discovery.winograd.transforms import to_transforms
    from verify import verify_all

    check_sizes(args.problem, args.points, args.col_points)
    if args.col_points is not None and args.problem.kind != "correlation2d":
        raise InvalidInputError("--col-points applies to 2-D tiles F(m1xm2,r1xr2) only")
    ranking_lines: list[str] = []
    points, col_points = args.points, args.col_points
    if args.pick is not None:
        if points is not None or col_points is not None:
            raise InvalidInputError("give either --points/--col-points or --pick, not both")
        points, col_points, ranking_lines = _pick(args.problem, args.pick)
    scheme = build(args.problem, points, col_points, args.fractions)
    result = verify_all(scheme, symbolic=True)
    if not result.ok:  # pragma: no cover - Cook-Toom is exact by construction
        raise NotExactError(f"construction failed verification: {result.reason}")
    p = scheme.problem
    prov = scheme.meta.get("provenance", {})
    points = prov.get("points")
    if isinstance(points, dict):
        points_text = f"rows {{{', '.join(points['rows'])}}}, columns {{{', '.join(points['cols'])}}}"
    else:
        points_text = "{" + ", ".join(points) + "}"
    lines = ranking_lines + [
        f"{p.kind} {p.spec}: {scheme.rank} multiplications (standard {p.naive_rank}), field {scheme.field}",
        f"points: {points_text}; fractions in {args.fractions}",
        "verified: exact and symbolic (sympy)",
    ]
    from discovery.cli.sections import CSE_PAIRS, cse_work

    if p.kind in ("correlation", "correlation2d") and cse_work(scheme) > CSE_PAIRS:
        lines.append(f"additions (naive): {scheme.additions} (common-subexpression elimination skipped for a "
                     f"tile this size)")
        lines.append("")
        lines += to_transforms(scheme).lines()
    elif p.kind in ("correlation", "correlation2d"):
        costs = transform_costs(scheme)
        lines.append(
            f"multiplications per output: {costs['multiplications_per_output']:.4g} "
            f"(standard {costs['naive_multiplications_per_output']:.4g})"
        )
        parts = []
        for key, label in (("filter", "G"), ("data", "B^T"), ("output", "A^T")):
            c = costs[key].get("separable", costs[key])
            parts.append(f"{label} {c['naive']}/{c['cse']}")
        how = " (separable, per tile)" if p.kind == "correlation2d" else ""
        lines.append("additions naive/CSE" + how + ": " + ", ".join(parts))
        lines.append("")
        lines += to_transforms(scheme).lines()
    else:
        lines.append(f"additions (naive): {scheme.additions}")
    if args.show:
        from discovery.cli.sections import accuracy_lines
        from discovery.codegen.formulas import format_scheme

        if p.kind in ("correlation", "correlation2d"):
            lines += [""] + accuracy_lines(scheme, tiles=256 if p.shape[1] <= 16 else 64)
        lines += ["", format_scheme(scheme)]
    if args.out is not None:
        from discovery.io.catalog import save

        path = save(scheme, root=args.out, symbolic=True)
        lines += ["", f"saved: {path}"]
    for line in lines:
        out.print(line, markup=False)
    return 0
