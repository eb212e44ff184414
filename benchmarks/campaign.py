"""Campaign figures: throughput per worker count, inequivalent schemes per hour,
kill -9 safety, and importing a folder of community files.

    .venv/bin/python benchmarks/campaign.py                       # everything (~25 min)
    .venv/bin/python benchmarks/campaign.py --only throughput     # one section
    .venv/bin/python benchmarks/campaign.py --rank23-minutes 60   # the full hour of the goal
    .venv/bin/python benchmarks/campaign.py --json figures.json

Sections:

``throughput``
    the same CPU-bound flip units (3x3x3 over F2, a fixed step budget) on a
    warm pool of 1 worker, then of 2; the ratio of wall times.  The load
    average of the machine before and after is printed: on a shared machine
    other jobs take cores, and the ratio shows it.
``rank23``
    a campaign of 3x3x3 rank-23 flip walks over F2 on 2 workers for
    ``--rank23-minutes`` (default 10); counts distinct schemes and classes by
    invariants (:func:`discovery.algebra.equivalence.invariant_key`) as the
    units finish, and extrapolates the classes to one hour from the rate of
    the last half of the run (the count grows sublinearly, so this is an
    upper estimate; rerun with 60 to measure the hour).
``rank49``
    4x4x4 rank 49 over Z: flip walks over Z from the standard algorithm for
    ``--rank49-minutes`` (default 5) on 2 workers; distinct schemes and classes.
``kill``
    ``bilinear campaign run`` killed with SIGKILL (the whole process group)
    after its second unit, then run again: checks that no scheme listed in
    the journal is lost, no unit runs twice, every catalog file verifies and
    no temporary file is left.
``import``
    1,000 community files (random equivalence transforms of the catalog's
    3x3x3 schemes, written in the Perminov JSON, Perminov text, .exp and
    Maple formats in turn) imported with ``bilinear import DIR``; each is
    verified exactly on reading and exactly and symbolically before it is
    written.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from discovery.algebra.equivalence import random_transform  # noqa: E402
from discovery.campaign import load_spec, run_campaign  # noqa: E402
from discovery.campaign.executors import local_pool  # noqa: E402
from discovery.campaign.journal import read_journal  # noqa: E402
from discovery.campaign.units import Unit, unit_seed  # noqa: E402
from discovery.campaign.worker import run_unit  # noqa: E402
from discovery.core.problems import matmul  # noqa: E402
from discovery.io import community  # noqa: E402
from discovery.io.catalog import find  # noqa: E402
from discovery.io.formats import load_json  # noqa: E402
from verify import verify_exact  # noqa: E402


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _unit(i: int, root: str, steps: int) -> Unit:
    return Unit(job=1, unit=i, key="bench", problem=matmul(3, 3, 3).to_dict(), rank=23, engine="flip",
                options={"field": "F2", "walks": 256, "max_steps": steps, "stop_after": 10**6, "plateau": 300},
                seed=unit_seed(0, i), time_limit=None, max_schemes=None, root=root, symbolic=False)


def throughput(units: int = 8, steps: int = 6000) -> dict:
    """Wall time of the same units on a warm pool of 1 and of 2 workers."""
    out = {"units": units, "steps_per_unit": steps, "load_before": _load()}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            with local_pool(workers) as (pool, _, _stop):
                list(pool.map(run_unit, [_unit(10_000 + w, tmp, 10) for w in range(workers)]))  # warm up
                t0 = time.perf_counter()
                results = list(pool.map(run_unit, [_unit(i, tmp, steps) for i in range(units)]))
                wall = time.perf_counter() - t0
            out[f"wall_{workers}"] = round(wall, 2)
            out[f"cpu_per_unit_{workers}"] = round(sum(r.cpu_seconds for r in results) / units, 2)
            out[f"schemes_{workers}"] = sorted(len(r.schemes) for r in results)
            # CPU seconds the units got per wall second: the cores this run actually had
            out[f"cores_obtained_{workers}"] = round(sum(r.cpu_seconds for r in results) / wall, 2)
    out["speedup"] = round(out["wall_1"] / out["wall_2"], 2)
    out["same_schemes"] = out["schemes_1"] == out["schemes_2"]
    out["load_after"] = _load()
    return out


SPEC = """
[campaign]
name = "{name}"
catalog = "catalog"
[[job]]
problem = "{problem}"
rank = {rank}
engine = "flip"
field = "{field}"
units = {units}
seconds = {seconds}
seed = 1
[job.options]
walks = {walks}
stop_after = 1000000
"""


def _campaign(name: str, problem: str, rank: int, field: str, minutes: float, unit_seconds: float,
              walks: int, workers: int = 2) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    n_units = max(workers, int(round(minutes * 60 / unit_seconds)) * workers)
    (tmp / "c.toml").write_text(SPEC.format(name=name, problem=problem, rank=rank, field=field, units=n_units,
                                            seconds=unit_seconds, walks=walks))
    spec = load_spec(tmp / "c.toml")
    curve = []
    t0 = time.monotonic()

    def cb(event) -> None:
        if getattr(event, "jobs", None) and (not curve or curve[-1][1] != event.done):
            curve.append((round(time.monotonic() - t0, 1), event.done, event.found, event.classes))

    load = _load()
    report = run_campaign(spec, workers=workers, callback=cb)
    wall = time.monotonic() - t0
    res = {"units": report.done, "best_rank": report.jobs[0].best, "unit_seconds": unit_seconds, "walks": walks, "wall_s": round(wall, 1),
           "cpu_s_in_units": round(report.cpu_seconds, 1), "distinct": report.distinct, "classes": report.classes,
           "load_before": load, "load_after": _load(), "catalog": str(spec.catalog), "curve": curve}
    half = [c for c in curve if c[0] >= wall / 2]
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        rate = (half[-1][3] - half[0][3]) / (half[-1][0] - half[0][0])  # classes per second, late in the run
        res["classes_per_hour_late"] = round(3600 * rate)
        res["classes_in_1h_extrapolated"] = round(report.classes + rate * max(0.0, 3600 - wall))
    return res


def rank23(minutes: float) -> dict:
    return _campaign("rank23", "3x3x3", 23, "F2", minutes, unit_seconds=60.0, walks=1024)


def rank49(minutes: float) -> dict:
    return _campaign("rank49", "4x4x4", 49, "Z", minutes, unit_seconds=60.0, walks=256)


def kill_test() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-kill-"))
    spec_path = tmp / "k.toml"
    spec_path.write_text(SPEC.format(name="kill", problem="3x3x3", rank=23, field="F2", units=10, seconds=1000,
                                     walks=256).replace("seconds = 1000\n", "")
                         .replace("stop_after = 1000000", "stop_after = 1000000\nmax_steps = 6000\nplateau = 300"))
    spec = load_spec(spec_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "discovery", "campaign", "run", str(spec_path), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    while not spec.journal_path.exists() or spec.journal_path.read_bytes().count(b"\n") < 2:
        if proc.poll() is not None:
            raise RuntimeError("the campaign ended before it could be killed")
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_journal(spec.journal_path).entries
    kept = {s["file"] for e in before for s in e["schemes"]}
    time.sleep(2.5)
    t0 = time.monotonic()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True)
    after = read_journal(spec.journal_path)
    units = [(e["job"], e["unit"]) for e in after.entries]
    files = [p for p in spec.catalog.rglob("*.json") if not p.name.startswith(".")]
    rel = {p.relative_to(spec.catalog).as_posix() for p in files}
    return {
        "units_done_before_kill": len(before),
        "schemes_in_journal_before_kill": len(kept),
        "rerun_exit": again.returncode,
        "rerun_s": round(time.monotonic() - t0, 1),
        "lost": len(kept - rel),
        "units_redone": len(units) - len(set(units)),
        "units_missing": 10 - len(set(units)),
        "torn_or_bad_lines": int(after.torn) + after.bad_lines,
        "corrupted_files": sum(not verify_exact(load_json(p)).ok for p in files),
        "temporaries_left": len(list(spec.catalog.rglob("*.tmp"))),
    }


def import_test(n: int = 1000) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    src = tmp / "community"
    src.mkdir()
    base = [s for s in find(matmul(3, 3, 3)) if s.field == "Z"]
    fmts = [("perminov", "json"), ("perminov-txt", "txt"), ("exp", "exp"), ("maple", "m")]
    t0 = time.perf_counter()
    for i in range(n):
        s, _ = random_transform(base[i % len(base)], seed=i)
        fmt, ext = fmts[i % len(fmts)]
        community.write(s, src / f"scheme{i:04d}.{ext}", fmt)
    made = time.perf_counter() - t0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    c0 = os.times()
    done = subprocess.run([sys.executable, "-m", "discovery", "import", str(src), "--out", str(tmp / "catalog")],
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    c1 = os.times()
    files = [p for p in (tmp / "catalog").rglob("*.json") if not p.name.startswith(".")]
    return {"files": n, "generate_s": round(made, 1), "import_wall_s": round(wall, 1),
            "import_cpu_s": round((c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), 1),
            "exit": done.returncode, "imported": len(files), "summary": done.stdout.strip().splitlines()[-1:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None,
                    choices=["throughput", "rank23", "rank49", "kill", "import"])
    ap.add_argument("--rank23-minutes", type=float, default=10.0)
    ap.add_argument("--rank49-minutes", type=float, default=5.0)
    ap.add_argument("--json", default=None, help="write the figures to this file")
    args = ap.parse_args()
    sections = args.only or ["throughput", "import", "kill", "rank23", "rank49"]
    figures = {"cores": os.cpu_count()}
    for name in sections:
        print(f"== {name} (load {_load()})", flush=True)
        if name == "throughput":
            figures[name] = throughput()
        elif name == "rank23":
            figures[name] = rank23(args.rank23_minutes)
        elif name == "rank49":
            figures[name] = rank49(args.rank49_minutes)
        elif name == "kill":
            figures[name] = kill_test()
        else:
            figures[name] = import_test()
        shown = {k: v for k, v in figures[name].items() if k != "curve"}
        print(json.dumps(shown, indent=2), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
