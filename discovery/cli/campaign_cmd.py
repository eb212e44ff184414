"""``bilinear campaign run SPEC [--workers N] [--scheduler ADDRESS]`` and
``bilinear campaign status SPEC``.

``run`` runs (or resumes) every unit of a campaign spec (see
:mod:`discovery.campaign.spec`) with one live display for the whole
campaign -- per job: units done, distinct exact schemes, classes by
invariants, schemes the community already had; overall: rate and elapsed
time -- and prints a summary table at the end.  Ctrl-C stops it at once
(the units in flight are lost, everything finished is kept); running it
again resumes.  ``status`` reads the journal and prints the same table.

Exit status of ``run``: 0 when every unit is done, 1 when some units failed
or the run was stopped by ``--max-units``, 130 when interrupted, 2 on bad
input (a malformed spec names the bad field).
"""

from __future__ import annotations

import signal
import time

from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from discovery.cli.common import err, out, positive_int, warn

NAME = "campaign"
HELP = "run a campaign of searches from a TOML spec, on all cores or a Dask cluster; safe to stop and resume"


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="run or resume a campaign", description="Run or resume a campaign spec.")
    r.add_argument("spec", metavar="SPEC", help="campaign spec (TOML)")
    r.add_argument("--workers", "-j", type=positive_int, default=None,
                   help="local worker processes (default: all cores)")
    r.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on the Dask cluster of this scheduler (e.g. tcp://host:8786) instead")
    r.add_argument("--max-units", type=positive_int, default=None, metavar="N",
                   help="run at most N units now (the rest stay for the next run)")
    r.add_argument("--quiet", "-q", action="store_true", help="no live display")
    s = sub.add_parser("status", help="show what a campaign has done", description="Show a campaign's journal.")
    s.add_argument("spec", metavar="SPEC", help="campaign spec (TOML)")


def _jobs_table(jobs, title: str, live: bool = False) -> Table:
    table = Table(title=title or None, title_justify="left")
    cols = ["job", "problem", "rank", "engine", "units"] + ([""] if live else []) + \
        ["exact", "classes", "known", "best", "errors", "cpu s"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("job", "problem", "engine", "") else "right")
    for j in jobs:
        row = [f"{j.index} {j.name}", j.problem, str(j.rank), j.engine, f"{j.done}/{j.units}"]
        if live:
            row.append(ProgressBar(total=max(j.units, 1), completed=j.done, width=20))
        row += [f"{j.distinct:,}", f"{j.classes:,}", f"{j.known:,}", "-" if j.best is None else f"{j.best:g}",
                str(j.errors) if j.errors else "", f"{j.cpu_seconds:,.0f}"]
        table.add_row(*row)
    return table


def _live_view(event) -> Group:
    elapsed = time.strftime("%H:%M:%S", time.gmtime(event.elapsed))
    head = Text.assemble(
        ("campaign ", "bold"), f"{event.done}/{event.total} units  ",
        ("exact ", "bold"), f"{event.found:,}  ", ("classes ", "bold"), f"{event.classes:,}  ",
        ("known ", "bold"), f"{event.known:,}  ", ("rate ", "bold"),
        f"{event.rate:.1f} units/min, {event.schemes_per_hour:,.0f} new schemes/h  ",
        f"[{event.workers} workers, {event.executor}]  {elapsed}")
    bar = ProgressBar(total=max(event.total, 1), completed=event.done)
    return Group(head, bar, _jobs_table(event.jobs, "", live=True))


def _summary(report, title: str) -> None:
    out.print(_jobs_table(report.jobs, title))
    line = (f"{report.done}/{report.units} units done; {report.distinct:,} distinct exact schemes in "
            f"{report.classes:,} classes by invariants")
    if report.known:
        line += f"; {report.known:,} already known to the community references"
    out.print(line, markup=False)
    if report.run:
        out.print(f"this run: {report.run} units in {report.wall_seconds:,.1f} s on {report.workers} workers "
                  f"({report.executor}), {report.cpu_seconds:,.0f} CPU s in the units, "
                  f"{report.resumed} units resumed from the journal", markup=False)
    out.print(f"catalog: {report.catalog}   journal: {report.journal}", markup=False)


def _run(args) -> int:
    from discovery.campaign import load_spec, run_campaign

    spec = load_spec(args.spec)
    if args.scheduler and args.workers:
        warn("--workers is ignored with --scheduler (the cluster's workers run the units)")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    live = None
    try:
        if not args.quiet:
            live = Live(Text(f"starting campaign {spec.name}: {spec.units} units ..."), console=err,
                        refresh_per_second=4, transient=False)
            live.start()

        def show(event) -> None:
            if live is not None and hasattr(event, "jobs"):
                live.update(_live_view(event))

        report = run_campaign(spec, workers=args.workers, scheduler=args.scheduler, callback=show,
                              max_units=args.max_units)
    finally:
        if live is not None:
            live.stop()
        signal.signal(signal.SIGTERM, previous)
    for message in report.messages:
        warn(message)
    if report.repaired_journal:
        warn("the journal ended in a torn line (an earlier run was killed): cut, that unit ran again")
    if report.removed_temporaries:
        warn(f"removed {report.removed_temporaries} temporary file(s) left by an interrupted writer")
    if report.stale:
        warn(f"{report.stale} journal entries belong to job definitions that changed since; not counted")
    _summary(report, f"campaign {spec.name}" + (" (interrupted)" if report.interrupted else ""))
    if report.interrupted:
        err.print("bilinear: interrupted; run the same command again to resume", markup=False)
        return 130
    if report.errors:
        bad = [j for j in report.jobs if j.errors]
        warn(f"{report.errors} unit(s) failed; job {bad[0].index}: {bad[0].last_error}")
        return 1
    return 0 if report.complete else 1


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _status(args) -> int:
    from discovery.campaign import campaign_status, load_spec

    spec = load_spec(args.spec)
    report = campaign_status(spec)
    for message in report.messages:
        warn(message)
    if report.stale:
        warn(f"{report.stale} journal entries belong to job definitions that changed since; not counted")
    state = "running now" if report.running else ("complete" if report.complete else "not running")
    _summary(report, f"campaign {spec.name}: {state}")
    return 0


def run(args) -> int:
    if args.action == "run":
        return _run(args)
    return _status(args)

