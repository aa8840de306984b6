"""``tc.compile``: trace a step once, replay it without Python's per-op cost.

``tc.compile(fn)`` (or ``@tc.compile``) returns a ``CompiledFunction``. Its first calls with
a new signature run ``fn`` eagerly while recording every array call it makes (forward,
backward, optimizer step); once two traces agree, later calls replay the recorded calls as
straight-line Python over NumPy arrays and kernels (``compiled.plan`` prints that code).
``docs/compile.md`` has the rules: what is recorded, what stays live, what forces eager.

>>> import tensorcore as tc
>>> w = tc.tensor([1.0, 2.0], requires_grad=True)
>>> @tc.compile
... def step(x):
...     loss = (w * x).sum()
...     loss.backward()
...     with tc.no_grad():
...         w.sub_(0.1 * w.grad)
...     w.grad = None
...     return loss.detach()
>>> losses = [step(tc.tensor([1.0, 1.0])).item() for _ in range(4)]
>>> step.stats
{'traces': 2, 'replays': 2, 'eager': 0}
>>> [round(v, 4) for v in losses], w.tolist()
([3.0, 2.8, 2.6, 2.4], [0.5999999046325684, 1.5999999046325684])

Library code that takes part in tracing uses three hooks from here:

* ``live(fn, *args)``: ``fn(*args)`` computes per-step Python numbers (a learning rate, a
  bias correction) that array calls then use. Outside a trace it is just the call. While
  ``compile`` traces, the call becomes a step of the plan, run again at every replay, and
  the numbers it returns reach the recorded array calls as the values of that replay. Pass
  its results to array calls as they are (no Python arithmetic on them afterwards).
* ``guard(fn, *args)``: ``fn(*args)`` returns a hashable key of the Python state the step's
  structure depends on (which branches run: momentum on or off, nesterov...). A replay
  first evaluates every guard of its plan and traces again when a key changed.
* ``eager_only(reason)``: the code calling it has Python side effects a replay would not
  repeat (a scheduler's step, a change of parameters); a function that calls it while being
  traced always runs eagerly (warned once, with ``reason``).
"""

from __future__ import annotations

from . import state
from .compiled import CompiledFunction, CompileWarning

__all__ = ["CompileWarning", "CompiledFunction", "compile", "eager_only", "guard",
           "is_compiling", "live"]


def is_compiling() -> bool:
    """Whether the calling thread is tracing a function for ``compile`` (as PyTorch's
    ``torch.compiler.is_compiling``)."""
    return state.current() is not None


def _host_call(fn, args):
    """``(recording or None, fn(*args))``: the call runs as one step of the trace (nothing
    inside it is recorded); the recording is None outside a trace (or inside a step)."""
    rec = state.current()
    if rec is None or rec.depth:
        return None, fn(*args)
    with state.suppressed():
        return rec, fn(*args)


def live(fn, *args):
    """``fn(*args)``, recorded as a live step while tracing (see the module docstring)."""
    rec, values = _host_call(fn, args)
    return values if rec is None else rec.record_live(fn, args, values)


def guard(fn, *args):
    """``fn(*args)``, a key the plan checks before each replay (see the module docstring)."""
    rec, key = _host_call(fn, args)
    if rec is not None:
        rec.guards.append(("fn", fn, args, key))
    return key


def eager_only(reason: str) -> None:
    """Mark the function being traced, if any, as one that always runs eagerly."""
    state.taint(reason, forever=True)


def compile(fn=None, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None,
            options=None, disable: bool = False):
    """Compile ``fn`` (usable as ``@tc.compile`` or ``@tc.compile(...)``). PyTorch's
    keyword arguments are accepted; ``disable=True`` returns ``fn`` itself; ``options``
    takes ``{"fuse": True}`` (fuse elementwise chains into Numba kernels: faster, but not
    bit-identical to eager, so off by default)."""
    if fn is None:
        return lambda f: compile(f, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable:
        return fn
    unknown = set(options or ()) - {"fuse"}
    if unknown:
        raise ValueError(f"compile(): unknown options {sorted(unknown)} (known: 'fuse')")
    return CompiledFunction(fn, fuse=bool((options or {}).get("fuse", False)))
