"""Campaigns: same schemes on any executor and worker count, resume, safe to kill."""

import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from discovery.campaign import load_spec, run_campaign
from discovery.campaign.journal import read_journal
from discovery.campaign.runner import CampaignProgress, campaign_status
from discovery.campaign.units import Unit, unit_seed
from discovery.campaign.worker import run_unit
from discovery.io.formats import load_json
from verify import verify_exact

from tests.campaign.campaign_helpers import cli_env, python, spec_text  # noqa: F401 (fixtures)


def _spec(tmp_path, name="t", **kw):
    p = tmp_path / f"{name}.toml"
    p.write_text(spec_text(f"cat-{name}", name=name, **kw))
    return load_spec(p)


def _by_unit(spec):
    return {(e["job"], e["unit"]): sorted(s["fp"] for s in e["schemes"])
            for e in read_journal(spec.journal_path).entries}


def _check_catalog(root: Path):
    """Every file loads and verifies; no temporary file is left anywhere."""
    assert not [p for p in root.rglob("*.tmp")]
    files = [p for p in root.rglob("*.json") if not p.name.startswith(".")]
    for p in files:
        assert verify_exact(load_json(p)).ok, p
    return files


def test_same_schemes_on_a_process_pool_a_dask_cluster_and_in_process(tmp_path):
    distributed = pytest.importorskip("distributed")
    pool_spec = _spec(tmp_path, "pool", units=3)
    events = []
    report = run_campaign(pool_spec, workers=2, callback=events.append)
    assert report.complete and report.run == 3 and report.distinct > 0
    assert isinstance(events[-1], CampaignProgress) and events[-1].done == 3 and events[-1].jobs[0].done == 3
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        dask_spec = _spec(tmp_path, "dask", units=3)
        dreport = run_campaign(dask_spec, scheduler=cluster.scheduler_address)
    assert dreport.complete and dreport.executor.startswith("dask")
    pool, dask = _by_unit(pool_spec), _by_unit(dask_spec)
    assert pool == dask and all(pool.values())
    # a unit alone, in this process, gives the same schemes again
    job = pool_spec.jobs[0]
    u = Unit(job=1, unit=1, key=job.key, problem=job.problem.to_dict(), rank=7, engine="flip",
             options=dict(job.options), seed=unit_seed(5, 1), time_limit=None, max_schemes=None,
             root=str(tmp_path / "solo"))
    solo = run_unit(u)
    assert sorted(load_fp(d) for d in solo.schemes) == pool[(1, 1)]
    for spec in (pool_spec, dask_spec):
        files = _check_catalog(spec.catalog)
        assert {f.name.split("-")[-1][:12] for f in files} == {fp[:12] for fps in pool.values() for fp in fps}


def load_fp(d):
    from discovery.io.formats import scheme_from_dict
    return scheme_from_dict(d).fingerprint()


def test_resume_runs_only_what_is_left_and_status_reads_the_journal(tmp_path):
    spec = _spec(tmp_path, "r", units=5)
    first = run_campaign(spec, workers=1, max_units=2)
    assert (first.run, first.done, first.complete) == (2, 2, False)
    st = campaign_status(spec)
    assert (st.done, st.units, st.running) == (2, 5, False)
    second = run_campaign(spec, workers=2)
    assert (second.run, second.resumed, second.done, second.complete) == (3, 2, 5, True)
    units = [(e["job"], e["unit"]) for e in read_journal(spec.journal_path).entries]
    assert sorted(units) == [(1, i) for i in range(5)]  # each unit exactly once
    third = run_campaign(spec, workers=2)
    assert third.run == 0 and third.done == 5
    assert campaign_status(spec).distinct == second.distinct


def _saver(root, dicts, barrier, out):
    from discovery.io import catalog
    from discovery.io.formats import scheme_from_dict

    schemes = [scheme_from_dict(d) for d in dicts]
    barrier.wait()
    try:
        out.put(("ok", [str(catalog.save(s, root, symbolic=False)) for s in schemes]))
    except Exception as exc:  # pragma: no cover - the failure this test looks for
        out.put(("error", repr(exc)))


def test_two_processes_writing_to_one_catalog_never_clash(tmp_path):
    from discovery.algebra.equivalence import random_transform
    from discovery.core.problems import matmul
    from discovery.io.catalog import find
    from discovery.io.formats import scheme_to_dict

    root = tmp_path / "cat"
    base = [s for s in find(matmul(3, 3, 3)) if s.field == "Z"][0]
    made = [scheme_to_dict(random_transform(base, seed=i)[0]) for i in range(20)]
    shared, own1, own2 = made[:12], made[12:16], made[16:]
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_saver, args=(str(root), shared + own1, barrier, out)),
             ctx.Process(target=_saver, args=(str(root), shared[::-1] + own2, barrier, out))]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    assert all(kind == "ok" for kind, _ in results), results
    files = _check_catalog(root)
    assert len(files) == 12 + 8  # one file per distinct scheme
    assert len(set(results[0][1]) & set(results[1][1])) == 12  # both writers got the same paths for shared ones


def _start(python, spec_path, env, *extra):
    return subprocess.Popen([python, "-m", "discovery", "campaign", "run", str(spec_path), "--quiet", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_lines(path: Path, n: int, proc, timeout=240):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"campaign ended early: {proc.communicate()}")
        time.sleep(0.2)
    raise AssertionError("no unit finished in time")


def test_ctrl_c_then_kill_9_then_resume_loses_nothing_and_redoes_nothing(tmp_path, python, cli_env):
    spec_path = tmp_path / "k.toml"
    spec_path.write_text(spec_text("cat", name="k", units=10, steps=6000))
    spec = load_spec(spec_path)
    # 1. Ctrl-C: stops at once, exit 130, one line, no traceback
    proc = _start(python, spec_path, cli_env, "--workers", "2")
    _wait_for_lines(spec.journal_path, 1, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert b"Traceback" not in stderr and b"interrupted" in stderr
    first = read_journal(spec.journal_path).entries
    assert 1 <= len(first) < 10
    # 2. resume, then kill -9 the coordinator, the fork server and the workers mid-run
    proc = _start(python, spec_path, cli_env, "--workers", "2")
    _wait_for_lines(spec.journal_path, len(first) + 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    before = read_journal(spec.journal_path).entries
    assert before[:len(first)] == first and len(before) < 10
    kept = {s["file"] for e in before for s in e["schemes"]}
    assert kept
    time.sleep(2.5)  # let a temporary left mid-write age past the clean-up threshold
    # 3. run again: only the rest runs
    done = subprocess.run([python, "-m", "discovery", "campaign", "run", str(spec_path), "--quiet",
                           "--workers", "2"], env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} units resumed" in done.stdout
    after = read_journal(spec.journal_path)
    assert not after.torn and after.bad_lines == 0
    units = [(e["job"], e["unit"]) for e in after.entries]
    assert sorted(units) == [(1, i) for i in range(10)]  # nothing redone, nothing missing
    assert after.entries[:len(before)] == before
    files = _check_catalog(spec.catalog)  # no corrupted file, no stray temporary
    rel = {f.relative_to(spec.catalog).as_posix() for f in files}
    assert kept <= rel  # no scheme lost
    assert {s["file"] for e in after.entries for s in e["schemes"]} == rel
    status = campaign_status(spec)
    assert status.complete and status.done == 10 and not status.running


def _descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out.append(k)
            out += _descendants(k)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_killed_worker_loses_only_its_unit(tmp_path):
    spec = _spec(tmp_path, "w", units=6, steps=6000)
    killed = []

    def kill_one_worker(event):
        if killed or event.done < 1:
            return
        servers = [p for p in _descendants(os.getpid()) if "forkserver" in _cmdline(p)]
        workers = [w for srv in servers for w in _descendants(srv)]  # forked from the server
        if workers:
            os.kill(workers[-1], signal.SIGKILL)
            killed.append(workers[-1])

    report = run_campaign(spec, workers=2, callback=kill_one_worker)
    assert killed and report.complete and report.errors == 0
    assert report.retried >= 1  # the units in flight on the broken pool ran again
    units = [(e["job"], e["unit"]) for e in read_journal(spec.journal_path).entries]
    assert sorted(units) == [(1, i) for i in range(6)]
    _check_catalog(spec.catalog)


def test_start_from_imported_schemes_and_flag_what_the_community_had(tmp_path):
    from discovery.algebra.literature import strassen
    from discovery.algebra.ops import to_field
    from discovery.io.community import write

    refs = tmp_path / "community"
    refs.mkdir()
    write(to_field(strassen(), "F2"), refs / "strassen-222-7-mod2.exp", "exp")  # every 2x2 rank-7 scheme is this one
    text = spec_text("cat-c", name="c", units=2, steps=600).replace(
        'name = "c"', 'name = "c"\ncommunity = ["community"]').replace('units = 2', 'units = 2\nstart = "community"')
    (tmp_path / "c.toml").write_text(text)
    spec = load_spec(tmp_path / "c.toml")
    assert spec.jobs[0].start_for(1)["field"] == "F2"
    report = run_campaign(spec, workers=1)
    assert report.complete and report.distinct > 0
    assert report.known == report.distinct and report.classes == 1
    entries = read_journal(spec.journal_path).entries
    assert all(s["known"] is True for e in entries for s in e["schemes"])
