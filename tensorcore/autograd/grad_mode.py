"""Grad mode: whether ops record a graph. ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as a context manager and as a decorator.

>>> import tensorcore as tc
>>> x = tc.ones(2, requires_grad=True)
>>> with tc.no_grad():
...     (x * 2).requires_grad
False
"""

from __future__ import annotations

import functools
import threading


class GradState(threading.local):
    """Per thread, as in PyTorch: ``no_grad`` in one thread leaves the others recording.
    The class attributes are each new thread's starting values.

    Ops read ``grad_state.enabled`` (is a graph recorded now?) on their hot lanes: an
    attribute read, cheaper than a call to ``is_grad_enabled()``. Only this package writes
    it: elsewhere use ``no_grad``, ``enable_grad`` and ``set_grad_enabled``. Inside a
    backward, ``enabled`` is the walk's ``create_graph`` (as in PyTorch); a backward reads
    that as ``ctx.create_graph``.
    """

    enabled = True
    anomaly = False


grad_state = GradState()


def is_grad_enabled() -> bool:
    return grad_state.enabled


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self._prev = grad_state.enabled
        grad_state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        grad_state.enabled = self._prev

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = grad_state.enabled
            grad_state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                grad_state.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Ops inside record no graph: for evaluation and for parameter updates."""

    mode = False


class enable_grad(_GradModeContext):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` acts at once (as a function) and as a context manager."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = grad_state.enabled
        grad_state.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        grad_state.enabled = self._prev

    def __call__(self, fn):
        grad_state.enabled = self._prev  # used as a decorator: undo the immediate switch
        return super().__call__(fn)


class detect_anomaly:
    """Inside, backward checks each op's gradients and names the op that made NaN or Inf."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = grad_state.anomaly
        grad_state.anomaly = self.check_nan

    def __exit__(self, *exc) -> None:
        grad_state.anomaly = self._prev


def set_detect_anomaly(mode: bool) -> None:
    grad_state.anomaly = bool(mode)
