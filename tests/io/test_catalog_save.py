"""catalog.save returns a path only when that file holds the scheme; killed writers leave nothing behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from discovery import catalog
from discovery.algebra.literature import strassen, strassen_winograd
from discovery.core.errors import CatalogError
from discovery.io.formats import load_json, save_json

REPO = Path(__file__).resolve().parents[2]


def test_problem_folder_that_is_a_file(tmp_path):
    (tmp_path / "matmul-2x2x2").write_text("x")
    with pytest.raises(CatalogError, match="not a folder"):
        catalog.save(strassen(), tmp_path)
    assert (tmp_path / "matmul-2x2x2").read_text() == "x"


def test_root_that_is_a_dangling_symlink(tmp_path):
    root = tmp_path / "out"
    root.symlink_to(tmp_path / "missing")
    with pytest.raises(CatalogError, match="dangling"):
        catalog.save(strassen(), root)
    assert not (tmp_path / "missing").exists()


def test_dangling_symlink_at_the_target_name(tmp_path):
    path = catalog.scheme_path(strassen(), tmp_path)
    path.parent.mkdir(parents=True)
    path.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(CatalogError, match="dangling"):
        catalog.save(strassen(), tmp_path)
    assert path.is_symlink() and not (tmp_path / "elsewhere.json").exists()


def test_garbage_at_the_target_name_is_replaced(tmp_path):
    path = catalog.scheme_path(strassen(), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("garbage")
    assert catalog.save(strassen(), tmp_path) == path
    assert load_json(path) == strassen()


def test_a_different_scheme_at_the_target_name_is_kept(tmp_path):
    path = catalog.scheme_path(strassen(), tmp_path)
    save_json(strassen_winograd(), path)
    with pytest.raises(CatalogError, match="different scheme"):
        catalog.save(strassen(), tmp_path)
    assert load_json(path) == strassen_winograd()


def test_a_fifo_at_the_target_name_is_refused(tmp_path):
    path = catalog.scheme_path(strassen(), tmp_path)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    with pytest.raises(CatalogError, match="not a regular file"):
        catalog.save(strassen(), tmp_path)


def test_saving_twice_keeps_the_first_file(tmp_path):
    first = catalog.save(strassen(), tmp_path)
    mtime = first.stat().st_mtime_ns
    assert catalog.save(strassen().with_meta(note="again"), tmp_path) == first
    assert first.stat().st_mtime_ns == mtime


def test_reading_skips_special_files_and_says_so(tmp_path):
    good = catalog.save(strassen(), tmp_path)
    os.mkfifo(good.parent / "fifo.json")
    (good.parent / "dangling.json").symlink_to(tmp_path / "nowhere")
    (good.parent / ".s.json.999999999.abcd1234.tmp").write_text("{")
    skipped = []
    assert list(catalog.iter_files(tmp_path, skipped)) == [good]
    assert sorted(p.name for p, _ in skipped) == ["dangling.json", "fifo.json"]


def test_an_unreadable_root_is_an_error(tmp_path, monkeypatch):
    real = os.scandir

    def denied(path="."):
        if Path(path) == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(CatalogError, match="cannot read"):
        list(catalog.iter_files(tmp_path))


_WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from discovery.algebra.literature import strassen
    from discovery.io import catalog
    real_fsync = os.fsync
    def stall(fd):  # the temporary file is written and open: now get killed
        print("ready", flush=True)
        time.sleep(600)
    os.fsync = stall
    catalog.save(strassen(), {root!r})
""")


def _kill_while_writing(root: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER.format(repo=str(REPO), root=str(root))],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def test_temp_files_of_a_killed_writer_are_ignored_and_cleaned(tmp_path):
    _kill_while_writing(tmp_path)
    folder = tmp_path / "matmul-2x2x2"
    strays = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert len(strays) == 1 and strays[0].name.startswith(".")
    assert list(catalog.iter_files(tmp_path)) == [] and catalog.index(tmp_path) == []
    path = catalog.save(strassen(), tmp_path)  # the next save into the folder cleans up
    assert sorted(p.name for p in folder.iterdir()) == [path.name]


@pytest.mark.slow
def test_random_kill_9_during_saves_never_leaves_a_partial_or_stray_file(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        from discovery.algebra.ops import kron, standard_scheme
        from discovery.algebra.literature import strassen
        from discovery.core.problems import matmul
        from discovery.io import catalog
        base = kron(strassen(), standard_scheme(matmul(3, 3, 3)))
        rng = np.random.default_rng(int(sys.argv[1]))
        print("go", flush=True)
        while True:  # distinct term orders: every save writes a new file
            order = rng.permutation(base.rank)
            catalog.save(base.replace(U=base.U[order], V=base.V[order], W=base.W[order]),
                         {str(tmp_path)!r}, symbolic=False)
    """)
    rng = __import__("random").Random(0)
    strays = 0
    for k in range(20):
        proc = subprocess.Popen([sys.executable, "-c", script, str(k)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(0.2 + rng.random() * 0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        for path in catalog.iter_files(tmp_path):
            load_json(path)  # never a partial file
        strays = max(strays, len(list(tmp_path.rglob(".*.tmp"))))
    assert strays > 0  # some kills did land mid-write (else this test proves nothing)
    from discovery.algebra.ops import kron, standard_scheme
    from discovery.core.problems import matmul

    catalog.save(kron(strassen(), standard_scheme(matmul(3, 3, 3))), tmp_path, symbolic=False)
    assert list(tmp_path.rglob(".*.tmp")) == []


def test_saving_a_permuted_copy_keeps_the_first_file(tmp_path):
    # the name is the canonical fingerprint: a copy with its terms permuted is the same scheme
    from discovery.algebra.literature import strassen
    from discovery.algebra.ops import permute_terms
    from discovery.io import catalog

    first = catalog.save(strassen(), tmp_path)
    again = catalog.save(permute_terms(strassen(), [6, 5, 4, 3, 2, 1, 0]), tmp_path)
    assert again == first and len(list(tmp_path.rglob("*.json"))) == 1
