"""Which recording is active, in which thread, and the structure epoch.

One thread traces at a time (a lock); ``current()`` is that thread's recording and None
everywhere else, so other threads run eagerly, untouched. ``epoch`` counts changes of
structure a plan cannot see (a module's parameter, buffer or submodule assigned, a
``tc.Generator`` reseeded: a plan holds the objects it was traced with): every plan made
before a change traces again. (``tc.manual_seed`` needs no new plan: a replay draws from
the backend's current generator, as eager code does.)
"""

from __future__ import annotations

import contextlib
import threading

_rec = None
_thread = None
_lock = threading.Lock()
epoch = 0
# during a trace: called with each module a step calls (``Module.__call__``), for the
# guard on its train/eval mode
module_hook = None


def current():
    """The calling thread's active recording, or None."""
    rec = _rec
    if rec is not None and threading.get_ident() == _thread:
        return rec
    return None


def taint(reason: str, forever: bool = False) -> None:
    """Mark the calling thread's recording, if any, as not replayable."""
    rec = current()
    if rec is not None and not rec.depth:
        rec.taint(reason, forever)


def structure_changed() -> None:
    """Called where Python structure changes (see the module docstring); inside a trace it
    is a side effect a replay would not repeat, so the traced function runs eagerly."""
    global epoch
    epoch += 1
    taint("it changes structure a replay would not repeat (a module's parameters, buffers "
          "or submodules, an optimizer's state, a generator's seed)", forever=True)


def try_lock() -> bool:
    """Take the one-trace-at-a-time lock if it is free (else the caller runs eagerly)."""
    return _lock.acquire(blocking=False)


def unlock() -> None:
    _lock.release()


@contextlib.contextmanager
def tracing(rec):
    """``rec`` is the calling thread's active recording inside (the lock held by caller)."""
    global _rec, _thread
    _rec, _thread = rec, threading.get_ident()
    try:
        yield rec
    finally:
        _rec, _thread = None, None


@contextlib.contextmanager
def suppressed():
    """Inside: the active recording (if any) records nothing (a kernel, live or guard call
    runs as one step)."""
    rec = current()
    if rec is None:
        yield None
        return
    rec.depth += 1
    try:
        yield rec
    finally:
        rec.depth -= 1
