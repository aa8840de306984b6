"""Atomic file writes: the target holds either its previous contents or the complete new ones.

``atomic_write(path)`` yields a file object open on a new temporary file in the target's
directory (same file system, so the final rename is atomic). When the ``with`` block ends
normally, the data is flushed and fsynced, the temporary file is renamed over the target
with ``os.replace`` and the directory is fsynced where the platform allows. If the block
raises anything (an exception, a full disk, ``KeyboardInterrupt``), the temporary file is
removed and the target is untouched. A process killed outright (``kill -9``, power loss)
cannot clean up: the target is still intact, and a hidden ``.NAME.*.tmp`` file may remain.

>>> import os, tempfile
>>> from tensorcore.utils.atomic import atomic_write
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "report.txt")
>>> with atomic_write(path, "w") as fh:
...     _ = fh.write("done\\n")
>>> open(path).read(), os.listdir(folder)
('done\\n', ['report.txt'])
>>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import codecs
import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO

__all__ = ["atomic_write"]

_TRIES = 100  # fresh random names to try before giving up on a crowded directory


def _create_temp(target: str, binary: bool) -> tuple[int, str]:
    """Create a new, empty temporary file next to ``target``; returns (fd, path). Mode 0o666
    before the umask, as ``open(target, "w")`` would give it."""
    folder, base = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if binary and hasattr(os, "O_BINARY"):  # Windows: no newline translation
        flags |= os.O_BINARY
    for _ in range(_TRIES):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {target}")


def _fsync_directory(folder: str) -> None:
    """Make the rename itself durable; not possible on every platform or file system."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                 newline: str | None = None) -> Iterator[IO]:
    """Write ``path`` atomically (see the module docstring). ``mode`` is ``"wb"`` or ``"w"``
    (text, with ``encoding`` and ``newline`` as for ``open``). A symlink is followed: its
    target is replaced, as ``open(path, "w")`` would write through it. An existing file's
    permission bits are kept."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    if mode == "wb" and (encoding is not None or newline is not None):
        raise ValueError("atomic_write: encoding and newline apply to text mode only")
    if encoding is not None:
        codecs.lookup(encoding)  # an unknown codec: LookupError before any file is made
    target = os.path.realpath(os.fspath(path))
    fd, tmp = _create_temp(target, binary=mode == "wb")
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            try:
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
            except OSError:  # no previous file (the umask applies), or not ours to read
                pass
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(os.path.dirname(target))
