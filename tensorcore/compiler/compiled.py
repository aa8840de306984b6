"""``CompiledFunction``: when to trace, when to replay, when to run eagerly.

Each call computes the **signature** of its arguments (tensors' shapes, dtypes, strides,
backends and requires_grad; NumPy arrays' shapes, dtypes and strides; other values as they
are, which must be hashable; which arguments are the same array; the grad mode). A
signature with a plan whose guards hold replays it. Otherwise the call is traced: it runs
eagerly, for real, while recording. When two traces in a row of one signature record the
same program (equal fingerprints), the second becomes a plan: a step that builds state on
its first call (an optimizer's buffers) or reads values that change is never frozen.

A function that reads values on the host, reseeds a generator or changes a module's
structure while traced runs eagerly from then on; a signature that keeps tracing without
settling, or a function with too many plans, runs eagerly too. Each is warned once
(``CompileWarning``), naming the reason.
"""

from __future__ import annotations

import functools
import gc
import sys
import warnings

import numpy as np

from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from . import fuse, hooks, state
from .plan import Miss, build, fingerprint
from .traced import Recording, TracedArray

MAX_TRACES_PER_SIGNATURE = 6  # traces of one signature without a plan before giving up
MAX_PLANS = 8  # plans per compiled function (PyTorch's cache_size_limit is 8 too)


class CompileWarning(UserWarning):
    """``tc.compile`` runs a function eagerly and says why."""


class _Unhashable(Exception):
    pass


def _sig(v, flat: list):
    t = type(v)
    if t is Tensor or isinstance(v, Tensor):
        d = v._data
        flat.append(v)
        return ("T", d.shape, d.dtype, d.strides, id(v._backend), v._requires_grad)
    if t is np.ndarray:
        flat.append(v)
        return ("A", v.shape, v.dtype, v.strides)
    if t is tuple or t is list:
        return (t, tuple(_sig(x, flat) for x in v))
    if t is dict:
        return (t, tuple((k, _sig(x, flat)) for k, x in v.items()))
    if t is float:
        return (t, v.hex())
    try:
        hash(v)
    except TypeError:
        raise _Unhashable(type(v).__name__) from None
    return (t, v)


def signature(args, kwargs):
    """``(key, flat)``: the call's signature and its tensors and arrays in order."""
    flat: list = []
    key = (_sig(args, flat), _sig(kwargs, flat) if kwargs else None, grad_state.enabled,
           grad_state.anomaly)
    if len(flat) > 1:
        ids = [id(x._data if type(x) is not np.ndarray else x) for x in flat]
        if len(set(ids)) != len(ids):
            key += (tuple(ids.index(i) for i in ids),)
    return key, flat


class _Entry:
    __slots__ = ("plans", "pending", "traces", "eager")

    def __init__(self) -> None:
        self.plans: list = []
        self.pending = None  # the fingerprint of the last trace that made no plan
        self.traces = 0
        self.eager = False


class CompiledFunction:
    """What ``compile(fn)`` returns: call it as ``fn`` (see the module docstring)."""

    def __init__(self, fn, fuse: bool = False) -> None:
        if not callable(fn):
            raise TypeError(f"compile() expects a callable, got {type(fn).__name__}")
        self.fn = fn
        self.fuse = fuse  # fuse elementwise chains into Numba kernels (changes rounding)
        # calls that recorded a plan, that replayed one, and that ran eagerly
        self.stats = {"traces": 0, "replays": 0, "eager": 0}
        self._entries: dict = {}
        self._eager_reason: str | None = None
        self._warned: set[str] = set()
        functools.update_wrapper(self, fn)

    @property
    def plans(self) -> list:
        """The plans made so far (each with ``.source``, the code a replay runs)."""
        return [p for e in self._entries.values() for p in e.plans]

    @property
    def plan(self) -> str | None:
        """The code of the latest plan (None before one is made), to print and read."""
        plans = self.plans
        return plans[-1].source if plans else None

    def __call__(self, *args, **kwargs):
        if self._eager_reason is not None or state.current() is not None:
            return self._eager(args, kwargs)  # (a call inside another trace is recorded)
        try:
            key, flat = signature(args, kwargs)
        except _Unhashable as e:
            self._warn(f"an argument of type {e} is not hashable, so it cannot be part of "
                       f"a signature: such calls run eagerly")
            return self._eager(args, kwargs)
        entry = self._entries.get(key)
        if entry is not None:
            for plan in entry.plans:
                try:
                    out = plan.run(flat)
                except Miss:
                    continue
                self.stats["replays"] += 1
                return out
            if entry.eager:
                return self._eager(args, kwargs)
        elif len(self._entries) >= 4 * MAX_PLANS:
            self._warn(f"more than {4 * MAX_PLANS} signatures: new ones run eagerly")
            return self._eager(args, kwargs)
        else:
            entry = self._entries[key] = _Entry()
        if not state.try_lock():  # another thread is tracing
            return self._eager(args, kwargs)
        collecting = gc.isenabled()
        gc.disable()  # a trace makes many small objects: no full collections meanwhile
        try:
            return self._trace(entry, flat, args, kwargs)
        finally:
            if collecting:
                gc.enable()
            state.unlock()

    def _eager(self, args, kwargs):
        self.stats["eager"] += 1
        return self.fn(*args, **kwargs)

    def _warn(self, message: str) -> None:
        """Warn once per message, at the caller's line (the first frame outside here)."""
        if message not in self._warned:
            self._warned.add(message)
            name = getattr(self.fn, "__qualname__", repr(self.fn))
            level, frame = 2, sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__") == __name__:
                level, frame = level + 1, frame.f_back
            warnings.warn(f"tc.compile({name}): {message}", CompileWarning, stacklevel=level)

    def _trace(self, entry: _Entry, flat: list, args, kwargs):
        self.stats["traces"] += 1
        entry.traces += 1
        rec = Recording()
        rec.not_cpu = False
        rec.watch = watch = hooks.TensorWatch(
            rec, [(k, t) for k, t in enumerate(flat) if type(t) is not np.ndarray])
        swap = {}
        with state.tracing(rec), hooks.installed(rec):
            for k, x in enumerate(flat):
                if type(x) is np.ndarray:
                    swap[id(x)] = rec.input_array(x, k)
                    continue
                data = hooks._DATA.__get__(x)
                if type(data) is np.ndarray and id(data) not in watch.adopted:
                    traced = rec.input_array(data, k)
                    watch.adopted[id(data)] = traced
                    hooks._DATA.__set__(x, traced)
                    watch.restore.append((x, data))
                elif type(data) is not TracedArray:
                    rec.not_cpu = True
            try:
                result = self.fn(*_swapped(args, swap), **_swapped(kwargs, swap))
                outputs = _encode_outputs(rec, watch, result) if rec.taint_reason is None \
                    else None
                if rec.taint_reason is None:
                    _finish(rec, watch)
            finally:
                hooks.put_back(watch)
        if rec.taint_reason is None:
            _check_survivors(rec, watch, result, collect=entry.traces > 2)
        self._settle(entry, rec, outputs, flat)
        return result

    def _settle(self, entry: _Entry, rec, outputs, flat) -> None:
        """After a trace: a plan, another trace next time, or eager from now on."""
        if rec.not_cpu:
            self._eager_reason = "GPU steps are not replayed yet (a CUDA graph capture of " \
                                 "the plan is still to come): it runs eagerly"
        elif rec.eager_forever:
            self._eager_reason = f"it runs eagerly: {rec.taint_reason}"
        if self._eager_reason is not None:
            self._warn(self._eager_reason)
            return
        if rec.taint_reason is None:
            fp = fingerprint(rec, outputs)
            if fp == entry.pending:
                if len(self.plans) >= MAX_PLANS:
                    entry.eager = True
                    self._warn(f"more than {MAX_PLANS} plans: new signatures run eagerly")
                    return
                kinds = ["array" if type(x) is np.ndarray else "tensor" for x in flat]
                if self.fuse:
                    fuse.fuse(rec, outputs)
                entry.plans.append(build(rec, outputs, kinds))
                entry.pending, entry.traces = None, 0
                return
            entry.pending = fp
        if entry.traces >= MAX_TRACES_PER_SIGNATURE:
            entry.eager = True
            why = rec.taint_reason or "each trace recorded a different program (Python " \
                                      "values that change from call to call?)"
            self._warn(f"keeps retracing ({entry.traces} traces without a plan); these "
                       f"calls run eagerly from now on: {why}")


def _swapped(v, swap: dict):
    """``v`` with the NumPy arrays in ``swap`` replaced by their TracedArrays."""
    if not swap:
        return v
    t = type(v)
    if t is np.ndarray:
        return swap.get(id(v), v)
    if t is tuple or t is list:
        return t(_swapped(x, swap) for x in v)
    if t is dict:
        return {k: _swapped(x, swap) for k, x in v.items()}
    return v


def _encode_outputs(rec, watch, v):
    """What the call returned, as the plan rebuilds it."""
    t = type(v)
    if isinstance(v, Tensor):
        k = watch.inputs.get(id(v))
        if k is not None or watch.pre_existing(v):
            return ("obj", v)
        fn = hooks._GRAD_FN.__get__(v)
        if fn is not None and grad_state.enabled and _graph_unused(fn):
            rec.taint("it returns a tensor whose graph is still needed (call backward "
                      "inside the compiled function, or return a detached tensor)",
                      forever=True)
        return ("tensor", hooks.final_ref(rec, hooks._DATA.__get__(v)), v._backend)
    if t is TracedArray or t is np.ndarray:
        return ("array", hooks.final_ref(rec, v))
    if t is tuple or t is list:
        return (t.__name__, [_encode_outputs(rec, watch, x) for x in v])
    if t is dict:
        return ("dict", [_encode_outputs(rec, watch, x) for x in v.values()], list(v))
    return ("const", v)


def _graph_unused(node) -> bool:
    """Whether no backward went through the graph behind ``node`` (one that did freed the
    nodes that held anything): the caller may still run one, which a replay cannot give."""
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or not hasattr(n, "_edges"):
            continue
        seen.add(id(n))
        if n._freed:
            return False
        stack.extend(e[0] for e in n._edges if e is not None)
    return True


def _finish(rec, watch) -> None:
    """The effects' final values and the version counts, read before the arrays go back."""
    rec.effects = list(watch.effects.items())
    rec.effect_values = {}
    for (kind, key), t in rec.effects:
        if kind == "data":
            value = hooks.final_ref(rec, hooks._DATA.__get__(t))
        elif kind == "rg":
            value = hooks._RG.__get__(t)
        else:
            g = hooks._GRAD.__get__(t)
            if g is None or watch.pre_existing(g):
                value = g
            else:
                if hooks._RG.__get__(g):
                    rec.taint("a gradient it makes has a graph (create_graph)")
                value = ("new", hooks.final_ref(rec, hooks._DATA.__get__(g)), g._backend)
        rec.effect_values[kind, key] = value
    rec.version_deltas = [(box, box[0] - before) for box, before in watch.versions.values()
                          if box[0] != before]


def _check_survivors(rec, watch, result, collect: bool) -> None:
    """Tensors made during the trace that outlive it (besides outputs and gradients) mean
    the step keeps them (an attribute, a list, new optimizer state): not replayable. A first
    step's new optimizer state is the usual case, so only a signature that keeps finding
    survivors pays for a garbage collection (survivors held by reference cycles only)."""
    allowed = {id(x) for x in _tensors_in(result)}
    allowed.update(id(hooks._GRAD.__get__(t)) for (kind, _), t in rec.effects
                   if kind == "grad")

    def alive():
        return [r() for k, r in watch.created.items() if k not in allowed and r() is not None]

    if alive():
        if collect:
            gc.collect()
        if not collect or alive():
            rec.taint("it keeps tensors made inside it beyond the call (in an attribute, a "
                      "list, or new optimizer state)")


def _tensors_in(v):
    if isinstance(v, Tensor):
        yield v
    elif type(v) in (tuple, list):
        for x in v:
            yield from _tensors_in(x)
    elif type(v) is dict:
        for x in v.values():
            yield from _tensors_in(x)
