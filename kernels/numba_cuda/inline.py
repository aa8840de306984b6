"""The activation table's scalar formulas (``tensorcore.kernels.activations``: ``scalar``,
``scalar_grad``) inlined into the Numba-CUDA kernels.

A kernel builder calls :func:`inlined` once per dtype and activation and calls the result
in its kernel: Numba's untyped ``InlineInlinables`` pass copies the formula's IR (and that
of every helper it calls) into the kernel before typing, so each variant is one
self-contained kernel, specialised at build time, with no call left in its PTX. The kernel
could not call a jitted device function or an ``@overload`` instead: Numba compiles those
for the current device's compute capability, which asks the CUDA driver and fails without
a GPU, where ``cuda.compile_ptx`` (``tests/test_cuda_ptx.py``) must work.

A formula calls its helpers by their global names (``math``, ``abs`` and plain functions
such as ``norm_cdf``); ``typed(v, c)`` becomes a constant of the kernel's dtype. Under the
simulator the same objects are called as Python.

>>> import numpy as np
>>> from tensorcore.kernels.activations import TABLE
>>> gelu = inlined(TABLE["gelu"].scalar, np.dtype(np.float32))
>>> value = gelu(np.float32(1.0))
>>> type(value).__name__, round(float(value), 4)
('float32', 0.8413)
"""

from __future__ import annotations

import types as pytypes

import numpy as np
from numba import types

from .. import activations

__all__ = ["Inlined", "inlined"]


class Inlined:
    """A plain Python function that Numba inlines into its caller (``py_func`` and
    ``targetoptions`` are what the inlining pass reads); a call from Python runs it."""

    targetoptions = {"inline": "always"}
    # The caller's load of this object outlives the inlined call until dead-code elimination,
    # after typing: it types as a placeholder and is never used.
    _numba_type_ = types.Dummy("inlined_function")

    def __init__(self, fn):
        self.py_func = fn

    def __call__(self, *args):
        return self.py_func(*args)


def _typed(x, c):
    """``activations.typed`` in a kernel: ``c`` in the kernel's dtype (``SCALAR``, bound per
    dtype by :func:`inlined`)."""
    return SCALAR(c)  # noqa: F821 - a global of each copy


def inlined(fn, dtype: np.dtype, _done: dict | None = None) -> Inlined:
    """``fn`` ready to inline into a kernel for ``dtype``: a copy of it whose globals map each
    plain function it calls to an inlined copy of its own and ``typed`` to :func:`_typed`."""
    done = {} if _done is None else _done
    if fn in done:
        return done[fn]
    scope = dict(fn.__globals__)
    if fn is _typed:
        scope["SCALAR"] = np.dtype(dtype).type
    done[fn] = wrapped = Inlined(pytypes.FunctionType(
        fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__))
    for name in fn.__code__.co_names:
        used = scope.get(name)
        if used is activations.typed:
            used = _typed
        if isinstance(used, pytypes.FunctionType):
            scope[name] = inlined(used, dtype, done)
    return wrapped
