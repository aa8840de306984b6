"""A choice with a process-wide default and per-thread overrides: what ``use_backend`` and
``use_kernels`` are made of (as grad mode, a block entered in one thread leaves the others
alone; ``set_backend`` / ``set_kernels`` change the default every thread falls back on).

>>> choice = PerThreadChoice({"cpu": "numba"})
>>> with choice.using("cpu", "numpy"):
...     choice.get("cpu")
'numpy'
>>> choice.get("cpu")
'numba'
"""

from __future__ import annotations

import contextlib
import threading


class _Overrides(dict):
    """The choices of the ``using`` blocks a thread is inside (innermost wins); a key no
    block names falls through to the process-wide defaults."""

    def __init__(self, defaults: dict, outer: dict = ()) -> None:
        super().__init__(outer)
        self.defaults = defaults

    def __missing__(self, key):
        return self.defaults[key]


class _ThreadState(threading.local):
    # threading.local calls __init__ again, with the same arguments, in each thread that
    # touches the object: every thread starts on the process-wide defaults
    def __init__(self, defaults: dict) -> None:
        self.chosen = defaults


class PerThreadChoice:
    """``defaults`` (a dict, kept and changed in place: the process-wide choice per key)
    and, per thread, the overrides of the ``using`` blocks that thread is inside.

    Hot callers read the choice as ``(c.thread.chosen if c.open_blocks else c.defaults)[key]``
    (what ``get`` does): while no block is open in any thread every thread's choice is the
    default, read without the slower thread-local lookup."""

    def __init__(self, defaults: dict) -> None:
        self.defaults = defaults
        self.thread = _ThreadState(defaults)
        self.open_blocks = 0  # using blocks open in any thread
        self._lock = threading.Lock()

    def get(self, key):
        """The calling thread's choice for ``key``."""
        return (self.thread.chosen if self.open_blocks else self.defaults)[key]

    def set_default(self, key, value) -> None:
        """The process-wide choice for ``key``. Inside a ``using`` block of this thread that
        names ``key`` it also replaces that block's choice, until the block ends."""
        self.defaults[key] = value
        chosen = self.thread.chosen
        if chosen is not self.defaults and key in chosen:  # `in` skips __missing__
            chosen[key] = value

    @contextlib.contextmanager
    def using(self, key, value):
        """Context manager: ``value`` for ``key`` in the calling thread only, inside."""
        before = self.thread.chosen
        inner = _Overrides(self.defaults, before if before is not self.defaults else ())
        inner[key] = value
        with self._lock:
            self.open_blocks += 1  # before this thread's choice changes: get must look
        self.thread.chosen = inner
        try:
            yield
        finally:
            self.thread.chosen = before
            with self._lock:
                self.open_blocks -= 1
