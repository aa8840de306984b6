"""``tensorcore.compile``: trace a step once, replay it without Python's per-op cost.

(Work in progress: for now ``compile`` returns a wrapper that runs the function eagerly.)

Library code that takes part in tracing uses two hooks from here:

* ``live(fn, *args)``: ``fn(*args)`` computes per-step Python numbers (a learning rate, a
  bias correction) that array calls then use. Outside a trace it is just the call. While
  ``compile`` traces, the call becomes a step of the plan, run again at every replay, and
  the floats it returns reach the recorded array calls as the values of that replay. Pass
  its results to array calls as they are (no Python arithmetic on them afterwards).
* ``guard(fn, *args)``: ``fn(*args)`` returns a hashable key of the Python state the step's
  structure depends on (which branches run: momentum on or off, nesterov...). A replay
  first evaluates every guard of its plan and traces again when a key changed.
* ``eager_only(reason)``: the code calling it has Python side effects a replay would not
  repeat (a scheduler's step, a change of parameters); a function that calls it while being
  traced always runs eagerly (warned once, with ``reason``).

>>> import tensorcore as tc
>>> tc.compiler.live(lambda a, b: (a * b,), 2.0, 3.0)
(6.0,)
"""

from __future__ import annotations

import functools

__all__ = ["compile", "eager_only", "guard", "is_compiling", "live"]


def is_compiling() -> bool:
    """Whether the calling thread is tracing a function for ``compile`` (as PyTorch's
    ``torch.compiler.is_compiling``)."""
    return False


def live(fn, *args):
    """``fn(*args)``, recorded as a live step while tracing (see the module docstring)."""
    return fn(*args)


def guard(fn, *args):
    """``fn(*args)``, a key the plan checks before each replay (see the module docstring)."""
    return fn(*args)


def eager_only(reason: str) -> None:
    """Mark the function being traced, if any, as one that always runs eagerly."""


class CompiledFunction:
    """What ``compile(fn)`` returns: call it as ``fn``."""

    def __init__(self, fn) -> None:
        if not callable(fn):
            raise TypeError(f"compile() expects a callable, got {type(fn).__name__}")
        self.fn = fn
        # calls that recorded a plan, that replayed one, and that ran eagerly
        self.stats = {"traces": 0, "replays": 0, "eager": 0}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        self.stats["eager"] += 1
        return self.fn(*args, **kwargs)


def compile(fn=None, **options):
    """Compile ``fn`` (usable as ``@tc.compile`` or ``@tc.compile(...)``)."""
    if fn is None:
        return lambda f: compile(f, **options)
    return CompiledFunction(fn)
