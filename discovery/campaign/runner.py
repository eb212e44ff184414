"""Run a campaign: every unit of every job, on a pool or a cluster, safe to stop.

:func:`run_campaign` is the coordinator:

1. it locks and repairs the journal (:mod:`discovery.campaign.journal`) and
   skips every unit the journal records for the job's current definition;
2. it hands the other units to an executor (:mod:`discovery.campaign.executors`),
   keeping every worker busy;
3. for each finished unit it makes sure every scheme is in the catalog
   (workers save as they find, through the front door; the coordinator
   saves what is missing), computes its invariant key
   (:func:`discovery.algebra.equivalence.invariant_key`) and whether the
   community already had it (the ``community`` references of the spec), and
   only then appends the unit to the journal;
4. it reports a :class:`CampaignProgress` after each unit (and once a
   second), and returns a :class:`CampaignReport`.

Ctrl-C (``KeyboardInterrupt``) ends the workers at once: the units in flight
are lost -- their schemes found so far are already in the catalog -- and
``run_campaign`` returns with ``interrupted=True``.  A worker that dies
(killed, out of memory) breaks a process pool: the units it held are run
again on a fresh pool, up to three times each.  Dask reschedules lost tasks
itself.  Killing the coordinator (``kill -9``) loses only the units in
flight; running the campaign again resumes.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import datetime
import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from discovery.algebra.equivalence import equivalent, invariant_key
from discovery.campaign.executors import dask_pool, local_pool
from discovery.campaign.journal import Journal, is_locked, read_journal
from discovery.campaign.spec import CampaignSpec, JobSpec
from discovery.campaign.units import Unit, UnitResult, unit_seed
from discovery.campaign.worker import run_unit
from discovery.core.errors import InvalidInputError, NotExactError, SchemeFormatError
from discovery.core.progress import ProgressEvent
from discovery.core.scheme import Scheme
from discovery.io import catalog, community
from discovery.io.formats import scheme_from_dict, scheme_to_dict

__all__ = ["JobProgress", "CampaignProgress", "CampaignReport", "run_campaign", "campaign_status",
           "remove_stale_temporaries", "MAX_ATTEMPTS"]

#: Times a unit is started on a pool whose worker died before it is given up.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class JobProgress:
    """Where one job stands.

    ``distinct`` counts schemes by canonical form, ``classes`` by invariant
    key (inequivalent "by invariants"), ``known`` those equivalent to a
    community reference; ``resumed`` units were done by an earlier run;
    ``best`` is the lowest loss the engine reported (the lowest rank reached,
    for flip walks).
    """

    index: int
    name: str
    problem: str
    rank: int
    engine: str
    units: int
    done: int = 0
    resumed: int = 0
    errors: int = 0
    distinct: int = 0
    classes: int = 0
    known: int = 0
    cpu_seconds: float = 0.0
    last_error: str = ""
    best: Optional[float] = None


@dataclass(frozen=True)
class CampaignProgress(ProgressEvent):
    """A :class:`~discovery.core.progress.ProgressEvent` with the whole campaign.

    ``done``/``total`` count units, ``found`` distinct schemes; ``jobs``
    holds one :class:`JobProgress` per job, ``classes`` the distinct
    invariant keys over all jobs, ``rate`` the units per minute of this run
    and ``schemes_per_hour`` the distinct new schemes per hour of this run.
    """

    jobs: tuple = ()
    classes: int = 0
    known: int = 0
    elapsed: float = 0.0
    rate: float = 0.0
    schemes_per_hour: float = 0.0
    workers: int = 0
    executor: str = ""


@dataclass
class CampaignReport:
    """The outcome of :func:`run_campaign` (or the state :func:`campaign_status` reads)."""

    name: str
    catalog: Path
    journal: Path
    jobs: list
    units: int
    done: int
    run: int = 0
    resumed: int = 0
    distinct: int = 0
    classes: int = 0
    known: int = 0
    errors: int = 0
    interrupted: bool = False
    running: bool = False
    stale: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    workers: int = 0
    executor: str = ""
    repaired_journal: bool = False
    removed_temporaries: int = 0
    retried: int = 0
    messages: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.done >= self.units


# ------------------------------------------------------------------ tallies
class _Tally:
    def __init__(self, job: JobSpec):
        self.job = job
        self.done: set[int] = set()
        self.resumed = 0
        self.errors = 0
        self.fps: set[str] = set()
        self.classes: set[str] = set()
        self.known: set[str] = set()
        self.cpu = 0.0
        self.last_error = ""
        self.best: Optional[float] = None

    def add(self, entry: dict, resumed: bool) -> None:
        u = int(entry["unit"])
        if u in self.done:
            return
        self.done.add(u)
        self.resumed += resumed
        if entry.get("status") == "error":
            self.errors += 1
            self.last_error = str(entry.get("error", ""))
        for s in entry.get("schemes", []):
            self.fps.add(s.get("fp", ""))
            if s.get("class"):
                self.classes.add(s["class"])
            if s.get("known") is True:
                self.known.add(s.get("fp", ""))
        self.cpu += float(entry.get("cpu", 0.0) or 0.0)
        best = entry.get("best")
        if isinstance(best, (int, float)) and (self.best is None or best < self.best):
            self.best = float(best)

    def progress(self) -> JobProgress:
        j = self.job
        return JobProgress(j.index, j.name, j.problem.spec, j.rank, j.engine, j.units,
                           len([u for u in self.done if u < j.units]), self.resumed, self.errors, len(self.fps),
                           len(self.classes), len(self.known), self.cpu, self.last_error, self.best)


def _tallies(spec: CampaignSpec, entries: list) -> tuple[list[_Tally], int]:
    tallies = [_Tally(j) for j in spec.jobs]
    by_key: dict[str, _Tally] = {}
    for t in tallies:
        by_key.setdefault(t.job.key, t)  # two identical job definitions share their units
    stale = 0
    for e in entries:
        t = by_key.get(e.get("key"))
        if t is None:
            stale += 1
            continue
        t.add(e, resumed=True)
    return tallies, stale


# ------------------------------------------------------------- temporaries
def _open_files() -> Optional[set[str]]:
    """Paths open in any process of this machine (Linux /proc), or None when unknown."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    out = set()
    for pid in proc.iterdir():
        if not pid.name.isdigit():
            continue
        try:
            for fd in (pid / "fd").iterdir():
                try:
                    out.add(os.readlink(fd))
                except OSError:
                    continue
        except OSError:
            continue
    return out


def remove_stale_temporaries(root: Path, min_age: float = 2.0) -> int:
    """Remove temporary files an interrupted writer left in the catalog.

    A catalog write goes through ``.<name>.<random>.tmp`` and a hard link; a
    writer killed in between leaves the temporary behind.  Only temporaries
    that no process on this machine has open and that are older than
    ``min_age`` seconds (10 minutes where open files cannot be listed) are
    removed.  Returns how many.
    """
    if not root.is_dir():
        return 0
    candidates = [p for p in root.rglob(".*.tmp") if p.is_file()]
    if not candidates:
        return 0
    opened = _open_files()
    age = min_age if opened is not None else 600.0
    now = time.time()
    removed = 0
    for p in candidates:
        try:
            if now - p.stat().st_mtime < age or (opened is not None and str(p.resolve()) in opened):
                continue
            p.unlink()
            removed += 1
        except OSError:
            continue
    return removed


# -------------------------------------------------------------- community
class _Community:
    """The community's schemes, bucketed by invariant key."""

    def __init__(self, paths: tuple):
        self.by_key: dict[str, list[Scheme]] = collections.defaultdict(list)
        self.count = 0
        for path in paths:
            for f in community.iter_scheme_files(path):
                for item in community.read(f):
                    self.by_key[invariant_key(item.scheme)].append(item.scheme)
                    self.count += 1

    def knows(self, scheme: Scheme, key: str) -> Any:
        """True (equivalent to a reference), False, or "undecided"."""
        verdict: Any = False
        for ref in self.by_key.get(key, ()):
            if ref.field != scheme.field:
                continue
            res = equivalent(ref, scheme, max_matchings=200, time_limit=5.0)
            if res.status == "equivalent":
                return True
            if res.status == "undecided":
                verdict = "undecided"
        return verdict


# ---------------------------------------------------------------- the run
def _units(spec: CampaignSpec, job: JobSpec, todo: list[int], catalog_start: Any) -> list[Unit]:
    opts = {k: v for k, v in job.options.items()}
    out = []
    for i in todo:
        start = job.start_for(i)
        if start == "catalog":
            start = catalog_start
        out.append(Unit(job=job.index, unit=i, key=job.key, problem=job.problem.to_dict(), rank=job.rank,
                        engine=job.engine, options=opts, seed=unit_seed(job.seed, i), time_limit=job.seconds,
                        max_schemes=job.max_schemes, root=str(spec.catalog), symbolic=spec.symbolic, start=start))
    return out


def _catalog_start(spec: CampaignSpec, job: JobSpec) -> Any:
    """``start = "catalog"``: the best scheme of the campaign's catalog, as a dict, else "standard"."""
    field_opt = job.options.get("field", "F2")
    for s in catalog.find(job.problem, root=spec.catalog):
        values = set(s.coefficient_set)
        if (field_opt == "F2" and s.field in ("Z", "F2")) or (s.field == "Z" and values <= {-1, 0, 1}):
            return scheme_to_dict(s)
    return "standard"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def run_campaign(spec: CampaignSpec, *, workers: Optional[int] = None, scheduler: Optional[str] = None,
                 callback: Optional[Callable[[ProgressEvent], None]] = None,
                 max_units: Optional[int] = None) -> CampaignReport:
    """Run (or resume) a campaign.

    Parameters
    ----------
    spec : CampaignSpec
        From :func:`discovery.campaign.spec.load_spec`.
    workers : int, optional
        Local worker processes (default: all cores).  Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler; the units run on its cluster.
    callback : callable, optional
        Receives a :class:`CampaignProgress` after each unit and once a second.
    max_units : int, optional
        Run at most this many units now (the rest stay for the next run).

    Returns
    -------
    CampaignReport

    Raises
    ------
    InvalidInputError
        Unreachable scheduler, a campaign already running on this catalog,
        unreadable community references.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidInputError(f"workers must be a positive integer, got {workers!r}")
    t0 = time.monotonic()
    spec.catalog.mkdir(parents=True, exist_ok=True)
    try:
        refs = _Community(spec.community)
    except (SchemeFormatError, InvalidInputError) as exc:
        raise InvalidInputError(f"campaign.community: {exc}") from None
    executor_name = f"dask {scheduler}" if scheduler else "process pool"
    with Journal(spec.journal_path) as journal:
        report = CampaignReport(spec.name, spec.catalog, spec.journal_path, [], spec.units, 0,
                                executor=executor_name, repaired_journal=journal.repaired)
        report.removed_temporaries = remove_stale_temporaries(spec.catalog)
        if journal.state.bad_lines:
            report.messages.append(f"journal: {journal.state.bad_lines} unreadable line(s) skipped")
        tallies, report.stale = _tallies(spec, journal.state.entries)
        by_index = {t.job.index: t for t in tallies}
        pending: collections.deque[Unit] = collections.deque()
        for t in tallies:
            todo = [i for i in range(t.job.units) if i not in t.done]
            if todo:
                start = _catalog_start(spec, t.job) if "catalog" in t.job.starts else None
                pending.extend(_units(spec, t.job, todo, start))
        if max_units is not None:
            pending = collections.deque(list(pending)[:max_units])
        keys: dict[str, str] = {}
        all_classes: set[str] = set()
        for t in tallies:
            all_classes |= t.classes
        new_fps: set[str] = set()
        state = {"run": 0, "cpu": 0.0, "last": 0.0}

        def emit(force: bool = False) -> None:
            now = time.monotonic()
            if callback is None or (not force and now - state["last"] < 1.0):
                return
            state["last"] = now
            jobs = tuple(t.progress() for t in tallies)
            elapsed = now - t0
            done = sum(j.done for j in jobs)
            callback(CampaignProgress(
                engine="campaign", done=done, total=spec.units, found=sum(j.distinct for j in jobs),
                message=executor_name, jobs=jobs, classes=len(all_classes), known=sum(j.known for j in jobs),
                elapsed=elapsed, rate=60.0 * state["run"] / elapsed if elapsed > 0 else 0.0,
                schemes_per_hour=3600.0 * len(new_fps) / elapsed if elapsed > 0 else 0.0,
                workers=report.workers, executor=executor_name))

        def record(unit: Unit, res: Optional[UnitResult], error: Optional[str] = None) -> None:
            entries = []
            if res is not None:
                for d in res.schemes:
                    s = scheme_from_dict(d)
                    path = catalog.scheme_path(s, spec.catalog)
                    if not path.exists():  # the worker did not share the catalog's filesystem
                        try:
                            path = catalog.save(s, spec.catalog, symbolic=spec.symbolic)
                        except NotExactError as exc:  # never expected: the front door verified it
                            report.messages.append(f"job[{unit.job}] unit {unit.unit}: {exc}")
                            continue
                    fp = s.fingerprint()
                    key = keys.get(fp)
                    if key is None:
                        key = keys[fp] = invariant_key(s)
                    entries.append({"fp": fp, "file": path.relative_to(spec.catalog).as_posix(), "class": key,
                                    "known": refs.knows(s, key) if refs.count else False})
            status = "error" if error is not None else (res.status if res is not None else "error")
            entry = {"job": unit.job, "unit": unit.unit, "key": unit.key, "seed": unit.seed, "status": status,
                     "schemes": entries, "time": _now()}
            if res is not None:
                entry.update({"restarts": res.restarts, "exact": res.exact, "best": res.best,
                              "wall": round(res.wall_seconds, 3),
                              "cpu": round(res.cpu_seconds, 3), "worker": res.worker})
                error = error or res.error
            if error:
                entry["error"] = error
            journal.append(entry)
            tally = by_index[unit.job]
            before = set(tally.fps)
            tally.add(entry, resumed=False)
            new_fps.update(tally.fps - before)
            for e in entries:
                all_classes.add(e["class"])
            state["run"] += 1
            state["cpu"] += float(entry.get("cpu", 0.0))
            emit(force=True)

        attempts: collections.Counter = collections.Counter()
        emit(force=True)
        try:
            while pending:
                pool = dask_pool(scheduler) if scheduler else local_pool(workers)
                with pool as (executor, slots, stop):
                    report.workers = slots
                    inflight: dict[cf.Future, Unit] = {}
                    broken = False
                    try:
                        while pending or inflight:
                            while pending and len(inflight) < 2 * slots and not broken:
                                u = pending.popleft()
                                try:
                                    fut = executor.submit(run_unit, u)
                                except BrokenProcessPool:  # a worker died since the last round
                                    pending.appendleft(u)
                                    broken = True
                                    break
                                attempts[(u.job, u.unit)] += 1
                                inflight[fut] = u
                            done, _ = cf.wait(inflight, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                            for fut in done:
                                u = inflight.pop(fut)
                                try:
                                    res = fut.result()
                                except (BrokenProcessPool, cf.CancelledError):
                                    broken = True
                                    _retry(u, attempts, pending, record, report)
                                    continue
                                except Exception as exc:  # a worker lost for good (Dask), or a bug
                                    record(u, None, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
                                    continue
                                record(u, res)
                            if broken:
                                for fut, u in list(inflight.items()):
                                    fut.cancel()
                                    _retry(u, attempts, pending, record, report)
                                inflight.clear()
                                break
                            emit()
                    except KeyboardInterrupt:
                        stop()
                        raise
        except KeyboardInterrupt:
            report.interrupted = True
        jobs = [t.progress() for t in tallies]
        report.jobs = jobs
        report.done = sum(j.done for j in jobs)
        report.run = state["run"]
        report.resumed = sum(j.resumed for j in jobs)
        report.distinct = len(set().union(*(t.fps for t in tallies))) if tallies else 0
        report.classes = len(all_classes)
        report.known = sum(j.known for j in jobs)
        report.errors = sum(j.errors for j in jobs)
        report.cpu_seconds = state["cpu"]
        report.wall_seconds = time.monotonic() - t0
        emit(force=True)
    return report


def _retry(u: Unit, attempts, pending, record, report) -> None:
    if attempts[(u.job, u.unit)] >= MAX_ATTEMPTS:
        record(u, None, f"its worker died {MAX_ATTEMPTS} times")
    else:
        report.retried += 1
        pending.appendleft(u)


def campaign_status(spec: CampaignSpec) -> CampaignReport:
    """What the journal says about a campaign (no lock taken, nothing run).

    ``stale`` counts journal entries of job definitions that changed since.
    """
    state = read_journal(spec.journal_path)
    tallies, stale = _tallies(spec, state.entries)
    jobs = [t.progress() for t in tallies]
    classes: set[str] = set()
    for t in tallies:
        classes |= t.classes
    report = CampaignReport(spec.name, spec.catalog, spec.journal_path, jobs, spec.units,
                            sum(j.done for j in jobs), resumed=sum(j.done for j in jobs),
                            distinct=len(set().union(*(t.fps for t in tallies))) if tallies else 0,
                            classes=len(classes), known=sum(j.known for j in jobs),
                            errors=sum(j.errors for j in jobs), stale=stale, running=is_locked(spec.journal_path),
                            cpu_seconds=sum(j.cpu_seconds for j in jobs))
    if state.torn:
        report.messages.append("the journal ends in a torn line (a run was killed); it is cut on the next run")
    if state.bad_lines:
        report.messages.append(f"journal: {state.bad_lines} unreadable line(s)")
    return report
