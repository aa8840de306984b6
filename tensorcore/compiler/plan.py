"""A plan: a recording turned into straight-line Python, and its fingerprint.

``build(rec, outputs)`` writes one function, ``_plan(I)``, that does what the traced call
did with no Tensor, graph node or dispatch in between: a prologue checks the guards and
reads the inputs' and externals' arrays (raising ``Miss`` when anything the recording
assumed no longer holds: nothing has run yet then), the body makes the recorded array and
kernel calls in order (``s3 = multiply(s1, s2)``), the live calls give this step's numbers,
and the epilogue applies the effects (new gradients, rebound arrays, version counts) and
builds the outputs. ``Plan.source`` is that code, to print and read.

``fingerprint(rec, outputs)`` is the recording as a comparable value: two traces of a step
that record the same program have equal fingerprints, and only then is a plan made.
"""

from __future__ import annotations

import math
import types

import numpy as np

from ..tensor import Tensor
from . import passes, state
from .traced import LiveRef, Ref, contains


class Miss(Exception):
    """A plan's guard failed: trace again (nothing of the step has run)."""


# -- fingerprints ---------------------------------------------------------------------------
def _key(v, keep: list):
    t = type(v)
    if t is Ref:
        return ("s", v.n)
    if t is LiveRef:
        return ("l", v.n)
    if t is tuple or t is list:
        return (t.__name__, tuple(_key(x, keep) for x in v))
    if t is dict:
        return ("d", tuple((_key(k, keep), _key(x, keep)) for k, x in v.items()))
    if t is slice:
        return ("sl", _key(v.start, keep), _key(v.stop, keep), _key(v.step, keep))
    if t is float:
        return ("f", v.hex())
    if t in (int, bool, str, type(None)) or v is Ellipsis:
        return (t.__name__, v)
    if isinstance(v, np.generic):
        return ("g", v.dtype.str, v.tobytes())
    if isinstance(v, np.dtype):
        return ("dt", v.str)
    if isinstance(v, np.ndarray):
        return ("a", v.dtype.str, v.shape, v.tobytes())
    keep.append(v)
    return ("o", id(v))


def _fn_key(kind, fn, keep):
    """A bound method (a kernel entry, ``np.add.reduce``, an optimizer's live function) is a
    new object at each attribute access: its key is its object and its name."""
    owner = getattr(fn, "__self__", None)
    if owner is not None and type(owner) is not types.ModuleType:
        keep.append(owner)
        return ("m", id(owner), fn.__name__)
    return _key(fn, keep)


def _origin_key(origin, keep):
    kind = origin[0]
    if kind in ("ext", "grad"):
        keep.append(origin[1])
        return (kind, id(origin[1]))
    return (kind, _key(origin[1], keep))


def _args_key(kind, args, keep):
    """A live call's arguments are the objects it reads at each replay (a param group, a
    state dict): their identity counts, not their contents of the moment."""
    if kind == "live":
        keep.append(args)
        return tuple(id(a) for a in args)
    return _key(args, keep)


def fingerprint(rec, outputs) -> tuple:
    keep = rec.keep
    return (tuple((c[0], _fn_key(c[0], c[1], keep), _args_key(c[0], c[2], keep),
                   _key(c[3], keep), _key(c[4], keep)) for c in rec.calls),
            tuple(_origin_key(s["origin"], keep) for s in rec.slots),
            tuple((g[0], _fn_key("guard", g[1], keep) if g[0] == "fn" else id(g[1]),
                   _key(g[2:], keep)) for g in rec.guards),
            tuple((kind, id(t), _key(rec.effect_values[kind, id(t)], keep))
                  for (kind, _), t in rec.effects),
            tuple((id(box), delta) for box, delta in rec.version_deltas),
            _key(outputs, keep))


# -- code ---------------------------------------------------------------------------------------
class _Writer:
    """Names for the objects the plan's code uses, and its lines."""

    def __init__(self) -> None:
        # __name__: NumPy's floating-point warnings from a replay are tensorcore's own
        # computations, which ``import tensorcore`` keeps quiet
        self.ns = {"__name__": "tensorcore.compiler.replay", "Miss": Miss, "_state": state,
                   "_make": Tensor._make, "_asarray": np.asarray}
        self.names: dict[int, str] = {}
        self.lines: list[str] = []

    def name(self, obj, hint: str) -> str:
        key = id(obj)
        if key not in self.names:
            base = "".join(ch if ch.isalnum() else "_" for ch in hint) or "c"
            name, n = base, 1
            while name in self.ns:
                n += 1
                name = f"{base}_{n}"
            self.ns[name] = obj
            self.names[key] = name
        return self.names[key]

    def expr(self, v) -> str:
        t = type(v)
        if t is Ref:
            return f"s{v.n}"
        if t is LiveRef:
            return f"l{v.n}"
        if t is tuple:
            inner = ", ".join(self.expr(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if t is list:
            return "[" + ", ".join(self.expr(x) for x in v) + "]"
        if t is dict and all(type(k) is str for k in v):
            return "{" + ", ".join(f"{k!r}: {self.expr(x)}" for k, x in v.items()) + "}"
        if t is slice:
            return f"slice({self.expr(v.start)}, {self.expr(v.stop)}, {self.expr(v.step)})"
        if t in (int, bool, str, type(None)) or (t is float and math.isfinite(v)):
            return repr(v)
        if v is Ellipsis:
            return "..."
        return self.name(v, "c")

    def target(self, v) -> str:
        t = type(v)
        if t is Ref:
            return f"s{v.n}"
        if t is tuple or t is list:
            return "(" + ", ".join(self.target(x) for x in v) + ",)"
        return "_"

    def call(self, kind, fn, args, kwargs) -> str:
        hint = getattr(fn, "__name__", "f")
        if kind == "method":
            hint = "ndarray_" + hint
        elif kind == "kernel":
            hint = "k_" + hint
        elif kind == "ufunc" and hasattr(fn, "__self__"):
            hint = f"{fn.__self__.__name__}_{hint}"  # np.add.reduce -> add_reduce
        parts = [self.expr(a) for a in args]
        parts += [f"{k}={self.expr(x)}" for k, x in kwargs.items()]
        return f"{self.name(fn, hint)}({', '.join(parts)})"


# source -> its compiled code: steps of one structure (each trial of a search, each fit)
# write the same source, their objects being names in the namespace
_CODE: dict[str, object] = {}
_CODE_LIMIT = 256


class Plan:
    """One replayable program (see the module docstring): ``run(inputs)``."""

    def __init__(self, source: str, ns: dict) -> None:
        self.source = source
        code = _CODE.get(source)
        if code is None:
            if len(_CODE) >= _CODE_LIMIT:
                _CODE.clear()
            code = _CODE[source] = compile(source, "<tensorcore plan>", "exec")
        exec(code, ns)  # the generated code of this module, nothing from outside
        self.run = ns["_plan"]


def _guard_lines(w: _Writer, rec, obj_expr) -> None:
    done = set()
    for g in rec.guards:
        kind, obj = g[0], g[1]
        key = (kind, id(obj))
        if key in done and kind != "fn":
            continue
        done.add(key)
        if kind == "grad":
            test = "is not None" if g[2] else "is None"
            w.lines.append(f"    if {obj_expr(obj)}._grad {test}: raise Miss")
        elif kind == "rg":
            w.lines.append(f"    if {obj_expr(obj)}._requires_grad is not {g[2]!r}: raise Miss")
        elif kind == "training":
            w.lines.append(f"    if {w.name(obj, 'module')}.training is not {g[2]!r}: "
                           f"raise Miss")
        else:  # ("fn", fn, args, key)
            fn, args, value = obj, g[2], g[3]
            w.lines.append(f"    if {w.name(fn, 'guard')}(*{w.name(args, 'guard_args')}) != "
                           f"{w.name(value, 'guard_key')}: raise Miss")


def build(rec, outputs, input_kinds: list[str]) -> Plan:
    """The plan of a finished recording; ``outputs`` as ``compiled.encode_outputs`` gives
    them; ``input_kinds[k]`` is "tensor" or "array" for the k-th flat input."""
    w = _Writer()
    opt = passes.analyze(rec, outputs)
    inputs = rec.watch.inputs  # id(tensor) -> k

    def obj_expr(t):
        k = inputs.get(id(t))
        return f"I[{k}]" if k is not None else w.name(t, "t")

    w.lines.append("def _plan(I):")
    w.lines.append(f"    if _state.epoch != {state.epoch}: raise Miss")
    _guard_lines(w, rec, obj_expr)
    for n, slot in enumerate(rec.slots):
        kind, what = slot["origin"]
        if kind == "input":
            w.lines.append(f"    s{n} = I[{what}]._data" if input_kinds[what] == "tensor"
                           else f"    s{n} = I[{what}]")
        elif kind in ("ext", "grad"):
            src = f"{obj_expr(what)}._data" if kind == "ext" else \
                f"{obj_expr(what)}._grad._data"
            seen = w.name(slot["traced"]._plain, "was")
            w.lines.append(f"    s{n} = {src}")
            strides = slot["traced"]._plain.strides  # (views and kernels depend on them)
            w.lines.append(f"    if s{n} is not {seen} and (s{n}.shape != {slot['shape']!r} "
                           f"or s{n}.dtype != {w.name(slot['dtype'], 'dtype')} "
                           f"or s{n}.strides != {strides!r}): raise Miss")
        elif kind == "const":
            c = w.name(what, "const")
            w.lines.append(f"    s{n} = {c}.copy()" if slot["written"] else f"    s{n} = {c}")
    for n, (value, copy) in sorted(opt.folded.items()):
        c = w.name(value, "folded")
        w.lines.append(f"    s{n} = {c}.copy()" if copy else f"    s{n} = {c}")
    for i, (kind, fn, args, kwargs, result) in enumerate(rec.calls):
        if i in opt.skip:
            continue
        if kind == "live":
            first, count, as_tuple = result
            lhs = ", ".join(f"l{first + i}" for i in range(count))
            call = f"{w.name(fn, 'live')}(*{w.name(args, 'live_args')})"
            w.lines.append(f"    {lhs}{',' if as_tuple else ''} = {call}")
            continue
        if i in opt.buffers:  # (named first, so that the code reads buffer_N)
            buffer = opt.buffer_arrays[opt.buffers[i]]
            w.name(buffer, "buffer")
            kwargs = {"out": buffer}
        call = w.call(kind, fn, args, kwargs)
        if contains(result, Ref):
            if type(result) is Ref and rec.slots[result.n]["scalar"]:
                call = f"_asarray({call})"
            w.lines.append(f"    {w.target(result)} = {call}")
        else:
            w.lines.append(f"    {call}")
        if i in opt.frees:
            w.lines.append(f"    del {', '.join(f's{n}' for n in sorted(opt.frees[i]))}")
    for (kind, _), t in rec.effects:
        value = rec.effect_values[kind, id(t)]
        if kind == "data":
            w.lines.append(f"    {obj_expr(t)}._data = {w.expr(value)}")
        elif kind == "rg":
            w.lines.append(f"    {obj_expr(t)}._requires_grad = {value!r}")
        elif value is None:
            w.lines.append(f"    {obj_expr(t)}._grad = None")
        elif type(value) is tuple:  # ("new", Ref, backend)
            w.lines.append(f"    {obj_expr(t)}._grad = _make({w.expr(value[1])}, "
                           f"{w.name(value[2], 'backend')})")
        else:
            w.lines.append(f"    {obj_expr(t)}._grad = {obj_expr(value)}")
    for box, delta in rec.version_deltas:
        w.lines.append(f"    {w.name(box, 'version')}[0] += {delta}")
    w.lines.append(f"    return {_output_expr(w, outputs, obj_expr)}")
    return Plan("\n".join(w.lines) + "\n", w.ns)


def _output_expr(w: _Writer, v, obj_expr) -> str:
    kind = v[0]
    if kind == "tensor":
        return f"_make({w.expr(v[1])}, {w.name(v[2], 'backend')})"
    if kind == "array":
        return w.expr(v[1])
    if kind == "obj":
        return obj_expr(v[1])
    if kind == "const":
        return w.expr(v[1])
    items = [_output_expr(w, x, obj_expr) for x in v[1]]
    if kind == "tuple":
        return f"({', '.join(items)},)" if len(items) == 1 else f"({', '.join(items)})"
    if kind == "list":
        return f"[{', '.join(items)}]"
    return "{" + ", ".join(f"{w.expr(k)}: {x}" for k, x in zip(v[2], items)) + "}"
