"""Hostile files: special files, deep nesting, wrong types, broken and oversized npz members."""

import io
import json
import os
import socket
import stat
import struct
import zipfile

import numpy as np
import pytest

from discovery.algebra.literature import strassen
from discovery.core.errors import InvalidInputError, ResourceLimitError, SchemeFormatError, UnsafePickleError
from discovery.io.formats import (atomic_write_bytes, clean_stale_temp_files, dumps, load_alphatensor, load_json,
                                  loads, read_file_bytes, save_alphatensor, save_json)


# ------------------------------------------------------------------ writing
def test_a_fifo_without_reader_is_refused_not_replaced(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInputError, match="no reader"):
        save_json(strassen(), fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_with_a_reader_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there
    try:
        atomic_write_bytes(fifo, b"hello through a pipe")  # fits in the pipe's buffer
        assert os.read(fd, 65536) == b"hello through a pipe"
    finally:
        os.close(fd)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_character_devices_are_written_through_never_replaced(tmp_path):
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    atomic_write_bytes("/dev/null", b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    link = tmp_path / "to-null"
    link.symlink_to("/dev/null")
    atomic_write_bytes(link, b"discarded")
    assert link.is_symlink() and stat.S_ISCHR(os.stat(link).st_mode)


def test_links_to_regular_files_replace_the_file_and_keep_the_link(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    save_json(strassen(), link)
    assert link.is_symlink() and load_json(target) == strassen()


def test_dangling_links_sockets_and_folders_are_refused(tmp_path):
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match="dangling"):
        save_json(strassen(), dangling)
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        with pytest.raises(InvalidInputError, match="socket"):
            atomic_write_bytes(sock_path, b"x")
        assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)
    finally:
        sock.close()
    (tmp_path / "folder").mkdir()
    with pytest.raises(InvalidInputError, match="directory"):
        atomic_write_bytes(tmp_path / "folder", b"x")


def test_a_file_where_a_folder_should_be_is_refused(tmp_path):
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(InvalidInputError, match="not a folder|a file"):
        atomic_write_bytes(tmp_path / "blocker" / "s.json", b"x")


def test_stale_temp_files_are_cleaned_by_the_next_write(tmp_path):
    stale = tmp_path / ".s.json.999999999.abcd1234.tmp"  # pid that cannot exist
    stale.write_text("{")
    live = tmp_path / f".s.json.{os.getpid()}.efgh5678.tmp"
    live.write_text("{")
    other = tmp_path / ".other.json.999999999.abcd1234.tmp"
    other.write_text("{")
    save_json(strassen(), tmp_path / "s.json")
    assert not stale.exists() and live.exists() and other.exists()  # same name only, live writers kept
    assert clean_stale_temp_files(tmp_path) == [other]


# ------------------------------------------------------------------ reading
@pytest.mark.parametrize("path, match", [("/dev/zero", "character device"), ("/dev/null", "character device")])
def test_devices_are_not_read(path, match):
    with pytest.raises(SchemeFormatError, match=match):
        load_json(path)
    with pytest.raises(SchemeFormatError, match=match):
        load_alphatensor(path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)
    with pytest.raises(SchemeFormatError, match="FIFO"):
        load_json(fifo)


def test_files_above_the_size_limit_are_refused(tmp_path, monkeypatch):
    path = save_json(strassen(), tmp_path / "s.json")
    monkeypatch.setenv("BILINEAR_MAX_FILE_BYTES", "100")
    with pytest.raises(SchemeFormatError, match="BILINEAR_MAX_FILE_BYTES"):
        read_file_bytes(path)


@pytest.mark.parametrize("where", ["U", "provenance"])
def test_deep_nesting_is_refused(where):
    d = json.loads(dumps(strassen()))
    deep = "[" * 100_000 + "]" * 100_000
    text = json.dumps(d).replace('"U": [', f'"U": [{deep}, ', 1) if where == "U" else \
        json.dumps(d)[:-1] + f', "provenance": {deep}}}'
    with pytest.raises(SchemeFormatError, match="nested too deeply"):
        loads(text)
    d["provenance"] = json.loads("[" * 200 + "]" * 200)
    with pytest.raises(SchemeFormatError, match="BILINEAR_MAX_JSON_DEPTH"):
        loads(json.dumps(d))
    d["provenance"] = {"ok": [[["three deep is fine"]]]}
    assert loads(json.dumps(d)).meta["provenance"]["ok"] == [[["three deep is fine"]]]


@pytest.mark.parametrize("kind", [["matmul"], {"a": 1}, 7, None])
def test_problem_kind_of_the_wrong_type_is_refused(kind):
    d = json.loads(dumps(strassen()))
    d["problem"]["kind"] = kind
    with pytest.raises(SchemeFormatError, match="kind"):
        loads(json.dumps(d))


def test_non_flat_tensor_entries_are_refused():
    d = json.loads(dumps(strassen()))
    d["problem"] = {"kind": "tensor", "shape": [2, 1, 1], "entries": [[1], [2]]}
    d["U"], d["V"], d["W"], d["rank"] = [[1, 2]], [[1]], [[1]], 1
    with pytest.raises(SchemeFormatError, match="flat list"):
        loads(json.dumps(d))
    d["problem"]["entries"] = [1, 2]
    assert loads(json.dumps(d)).problem.shape == (2, 1, 1)


def test_huge_declared_ranks_are_refused_before_building(monkeypatch):
    d = json.loads(dumps(strassen()))
    monkeypatch.setenv("BILINEAR_MAX_RANK", "10")
    d["U"] += [[0, 0, 0, 0]] * 20
    with pytest.raises(SchemeFormatError, match="BILINEAR_MAX_RANK"):
        loads(json.dumps(d))


def test_coefficients_with_too_many_digits_are_refused():
    d = json.loads(dumps(strassen()))
    d["U"][0][0] = "1" * 5000
    with pytest.raises(SchemeFormatError, match="too many digits"):
        loads(json.dumps(d))


# ---------------------------------------------------------------------- npz
def _npz(path, arrays: dict, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=True)
            z.writestr(f"{name}.npy", buf.getvalue())
    return path


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[s]", [("a", "i4"), ("b", "f8")], "U3", "c16"])
def test_non_numeric_dtypes_are_refused(tmp_path, dtype):
    arr = np.zeros((3, 1, 1), dtype=dtype)
    _npz(tmp_path / "d.npz", {"1,1,1": arr})
    with pytest.raises(SchemeFormatError, match="dtype|complex"):
        load_alphatensor(tmp_path / "d.npz")
    obj = np.empty(3, dtype=object)
    obj[0] = obj[1] = obj[2] = np.zeros((1, 1), dtype=dtype)
    _npz(tmp_path / "o.npz", {"1,1,1": obj})
    with pytest.raises(SchemeFormatError, match="dtype|complex|not supported"):
        load_alphatensor(tmp_path / "o.npz")


def test_a_zip_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    monkeypatch.setenv("BILINEAR_MAX_FILE_BYTES", str(10**6))
    big = np.zeros((3, 1000, 1000), dtype=np.int64)  # 24 MB of zeros, ~25 kB deflated
    path = _npz(tmp_path / "bomb.npz", {"10,10,10": big})
    assert path.stat().st_size < 10**6
    with pytest.raises(SchemeFormatError, match="BILINEAR_MAX_FILE_BYTES"):
        load_alphatensor(path)


def _patch_sizes(data: bytes, size: int) -> bytes:
    """Lie about the uncompressed size in the local and central headers."""
    data = bytearray(data)
    local = data.index(b"PK\x03\x04")
    data[local + 22:local + 26] = struct.pack("<I", size)
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", size)
    return bytes(data)


def test_a_member_inflating_beyond_its_declared_size_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BILINEAR_MAX_FILE_BYTES", str(10**6))
    path = _npz(tmp_path / "liar.npz", {"10,10,10": np.zeros((3, 1000, 1000), dtype=np.int64)})
    path.write_bytes(_patch_sizes(path.read_bytes(), 1000))
    with pytest.raises(SchemeFormatError, match="corrupt|inflates"):
        load_alphatensor(path)


def test_a_huge_declared_shape_is_refused(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<i8", "fortran_order": False, "shape": (3, 10**6, 10**6)})
    buf.write(b"\x00" * 64)
    with zipfile.ZipFile(tmp_path / "h.npz", "w") as z:
        z.writestr("2,2,2.npy", buf.getvalue())
    with pytest.raises(SchemeFormatError, match="declares shape"):
        load_alphatensor(tmp_path / "h.npz")


def test_a_pickled_array_with_a_huge_declared_shape_is_refused(tmp_path):
    try:
        from numpy._core import multiarray as ma
    except ImportError:  # pragma: no cover
        from numpy.core import multiarray as ma

    class Huge:
        def __reduce__(self):
            return (ma._reconstruct, (np.ndarray, (0,), b"b"), (1, (10**7, 10**6), np.dtype("O"), False, [1, 2]))

    obj = np.empty(3, dtype=object)
    obj[0] = Huge()
    obj[1] = obj[2] = np.zeros((1, 1))
    _npz(tmp_path / "p.npz", {"1,1,1": obj})
    with pytest.raises(SchemeFormatError, match="BILINEAR_MAX_FILE_BYTES|declares shape"):
        load_alphatensor(tmp_path / "p.npz")


def test_only_latin1_is_allowed_as_a_pickled_codec(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": (3,)})
    buf.write(b"c_codecs\nencode\n(X\x03\x00\x00\x00abcX\x04\x00\x00\x00zlibtR.")
    with zipfile.ZipFile(tmp_path / "c.npz", "w") as z:
        z.writestr("1,1,1.npy", buf.getvalue())
    with pytest.raises(UnsafePickleError, match="codec"):
        load_alphatensor(tmp_path / "c.npz")


def _good_npz(path, compression=zipfile.ZIP_STORED):
    return save_alphatensor([strassen()], path) if compression is None else _npz(
        path, dict(np.load(save_alphatensor([strassen()], path.with_suffix(".src.npz")), allow_pickle=True)),
        compression)


def test_broken_members_are_refused(tmp_path):
    # bad CRC: flip a byte inside a stored member's data
    path = _good_npz(tmp_path / "crc.npz")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SchemeFormatError):
        load_alphatensor(path)
    # unsupported compression method
    path = _good_npz(tmp_path / "bz.npz", zipfile.ZIP_BZIP2)
    with pytest.raises(SchemeFormatError, match="unsupported compression"):
        load_alphatensor(path)
    # encrypted flag
    path = _good_npz(tmp_path / "enc.npz")
    data = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.index(sig)
        data[i + off] |= 0x1
    path.write_bytes(bytes(data))
    with pytest.raises(SchemeFormatError, match="encrypted"):
        load_alphatensor(path)
    # corrupt deflate stream
    path = _good_npz(tmp_path / "defl.npz", zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    start = data.index(b"PK\x03\x04") + 30 + len("2,2,2.npy")
    data[start:start + 20] = b"\xff" * 20
    path.write_bytes(bytes(data))
    with pytest.raises(SchemeFormatError, match="corrupt"):
        load_alphatensor(path)


def test_export_refuses_coefficients_beyond_int64(tmp_path):
    from discovery.core.problems import matmul
    from discovery.core.scheme import Scheme

    s = Scheme(matmul(1, 1, 1), [[10**30]], [[1]], [[1]], "Z")
    with pytest.raises(InvalidInputError, match="int64"):
        save_alphatensor([s], tmp_path / "b.npz")
    q = Scheme(matmul(1, 1, 1), [[2**60]], [["1/256"]], [["1/256"]], "Q")  # wrong but exact as float64
    (back,) = load_alphatensor(save_alphatensor([q], tmp_path / "q.npz"))
    assert back == q
    assert not (tmp_path / "b.npz").exists()


def test_limits_are_configurable(monkeypatch):
    from discovery.core import limits

    monkeypatch.setenv("BILINEAR_MAX_RANK", "5")
    with pytest.raises(ResourceLimitError, match="BILINEAR_MAX_RANK"):
        limits.check_rank(6)
    monkeypatch.setenv("BILINEAR_MAX_RANK", "none")
    limits.check_rank(10**9)
    monkeypatch.setenv("BILINEAR_MAX_RANK", "lots")
    with pytest.raises(InvalidInputError, match="BILINEAR_MAX_RANK"):
        limits.get("rank")
