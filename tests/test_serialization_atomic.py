"""``tensorcore.save`` to a path is atomic (``tensorcore.utils.atomic.atomic_write``): a process
killed with SIGKILL mid-write, a full disk, an exception or Ctrl-C leaves the previous file
intact and loadable, and (except after SIGKILL) no temporary file; the data and the rename
are fsynced in that order; permissions and symlinks behave as with ``open(path, "wb")``.
Saving to a file object writes in place, as before."""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.serialization import CheckpointError
from tensorcore.utils.atomic import atomic_write

ROOT = Path(__file__).resolve().parents[1]

# The child saves ever newer states in a loop: 4 tensors of 8 Mi float32 (128 MiB), each
# filled with the state's number k, which the state also holds.
CHILD = """
import sys
import tensorcore as tc
path, n = sys.argv[1], int(sys.argv[2])
k = 0
while True:
    tc.save({"k": k, "w": [tc.full((n,), float(k)) for _ in range(4)]}, path)
    k += 1
"""
N = 8 * 2 ** 20


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_9_in_the_middle_of_a_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "model.ckpt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(N)], env=env,
                            stderr=subprocess.PIPE)
    partial = None
    try:
        deadline = time.monotonic() + 60
        while partial is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            full = _size(path)  # every state saves to the same size
            temps = _temporaries(tmp_path) if full else []
            if temps and 0 < (_size(temps[0]) or 0) < full:
                # Freeze the child, then look again: if the temporary file is still partial,
                # the kill lands in the middle of writing it (the child cannot move on).
                os.kill(proc.pid, signal.SIGSTOP)
                os.waitpid(proc.pid, os.WUNTRACED)
                if 0 < (_size(temps[0]) or 0) < full:
                    os.kill(proc.pid, signal.SIGKILL)
                    partial = temps[0]
                else:
                    os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert partial is not None, "never caught the child in the middle of a save"
    # What a non-atomic save would have left as the checkpoint: a partial archive.
    assert _size(partial) < _size(path)
    with pytest.raises(CheckpointError):
        tc.load(partial)
    # The checkpoint itself is a complete state: all four tensors hold its number k.
    state = tc.load(path)
    k = state["k"]
    assert type(k) is int and k >= 0 and len(state["w"]) == 4
    for w in state["w"]:
        assert w.shape == (N,) and w.dtype == tc.float32
        values = w.numpy()
        assert values[0] == k and (values == values[0]).all()


class _FullDisk:
    """A file that accepts ``room`` bytes, then raises ``error`` on every write."""

    def __init__(self, fh, room: int, error: BaseException) -> None:
        self._fh, self._room, self._error = fh, room, error

    def write(self, data) -> int:
        if len(data) > self._room:
            raise self._error
        self._room -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   KeyboardInterrupt(), RuntimeError("failed mid-write")],
                         ids=["full disk", "ctrl-c", "exception"])
def test_a_save_that_fails_midway_leaves_the_previous_file(tmp_path, monkeypatch, error):
    path = tmp_path / "model.ckpt"
    tc.save({"w": tc.arange(4.0)}, path)
    before = path.read_bytes()
    savez = np.savez
    monkeypatch.setattr(np, "savez", lambda fh, **arrays: savez(
        _FullDisk(fh, 200, error), **arrays))
    with pytest.raises(type(error)):
        tc.save({"w": tc.zeros(10 ** 5)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.ckpt"]
    assert tc.load(path)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_failed_fsync_or_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    tc.save(tc.ones(2), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", broken_fsync)
        with pytest.raises(OSError, match="Input/output error"):
            tc.save(tc.zeros(2), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.ckpt"]
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):  # os.replace cannot put a file over a folder
        tc.save(tc.zeros(2), tmp_path / "folder")
    assert sorted(os.listdir(tmp_path)) == ["folder", "model.ckpt"]
    with pytest.raises(FileNotFoundError):
        tc.save(tc.zeros(2), tmp_path / "missing" / "model.ckpt")
    assert sorted(os.listdir(tmp_path)) == ["folder", "model.ckpt"]


def test_data_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def logged_fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        fsync(fd)

    def logged_replace(src, dst):
        events.append(("replace", Path(src).parent == Path(dst).parent,
                       Path(src).name.startswith(".model.ckpt.")))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", logged_fsync)
    monkeypatch.setattr(os, "replace", logged_replace)
    tc.save({"w": tc.ones(3)}, tmp_path / "model.ckpt")
    assert events == ["fsync file", ("replace", True, True), "fsync folder"]


def test_permissions_and_symlinks_as_with_open(tmp_path):
    old_umask = os.umask(0o027)
    try:
        path = tmp_path / "model.ckpt"
        tc.save(tc.ones(1), path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0o666 less the umask
        os.chmod(path, 0o604)
        tc.save(tc.zeros(1), path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o604  # an existing file's bits are kept
    finally:
        os.umask(old_umask)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.ckpt"
    link = tmp_path / "latest.ckpt"
    link.symlink_to(target)
    tc.save(tc.full((2,), 7.0), link)  # through the link, as open(link, "wb") writes
    assert link.is_symlink() and tc.load(target).tolist() == [7.0, 7.0]
    assert os.listdir(tmp_path / "real") == ["model.ckpt"]


def test_file_objects_are_written_in_place(tmp_path):
    buf = io.BytesIO(b"prefix")
    buf.seek(0, io.SEEK_END)
    tc.save({"w": tc.ones(2)}, buf)
    buf.seek(6)
    assert tc.load(buf)["w"].tolist() == [1.0, 1.0]
    path = tmp_path / "model.ckpt"
    with open(path, "wb") as fh:
        tc.save(tc.arange(3), fh)
    with open(path, "rb") as fh:
        assert tc.load(fh).tolist() == [0, 1, 2]


def test_atomic_write_text_mode_and_bad_arguments(tmp_path):
    path = tmp_path / "report.txt"
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("épreuve\n")
    assert path.read_bytes() == "épreuve\n".encode()
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(path, "a"):
            pass
    with pytest.raises(ValueError, match="text mode only"):
        with atomic_write(path, "wb", encoding="utf-8"):
            pass
    with pytest.raises(LookupError):
        with atomic_write(path, "w", encoding="no-such-codec"):
            pass
    with pytest.raises(UnicodeEncodeError):  # fails inside the block: nothing changes
        with atomic_write(path, "w", encoding="ascii") as fh:
            fh.write("épreuve")
    assert os.listdir(tmp_path) == ["report.txt"] and path.read_text("utf-8") == "épreuve\n"
