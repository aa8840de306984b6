"""Run one generated call in tensorcore and in PyTorch and compare what the two do.

A call is an ``Op`` (a name, the tensorcore callable, the PyTorch callable, a hypothesis
strategy of its arguments) applied to a ``Case``: positional and keyword arguments in which
``Arr`` stands for a tensor (the same NumPy values become a tensorcore tensor and a PyTorch
tensor) and ``DType`` for a dtype. Both sides must raise (tensorcore's exception an instance
of the builtin class PyTorch's derives from), or both must succeed with the same structure,
shape, dtype, values (NaN positions equal, tolerances by dtype), ``requires_grad``, inputs
after the call and, after a backward pass with the same random upstream gradient, the same
gradients. A RuntimeWarning that tensorcore lets through where PyTorch is silent is a
difference too.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import tensorcore as tc

# rtol, atol (the atol scaled by the largest expected magnitude, at least 1) by dtype name
TOLERANCES = {"float16": (2e-3, 2e-3), "float32": (2e-5, 2e-6), "float64": (1e-9, 1e-12)}
GRAD_TOLERANCES = {"float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5), "float64": (1e-8, 1e-11)}
# the dtypes both libraries have, by name; others (uint8 ...) are tensorcore's to convert
SHARED_DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool")


@dataclass(frozen=True, eq=False)
class Arr:
    """A tensor argument: its NumPy values become a tensor on each side."""

    value: np.ndarray
    requires_grad: bool = False

    def __repr__(self) -> str:
        return show_array(self.value, self.requires_grad)


@dataclass(frozen=True)
class DType:
    """A dtype argument, by name (``tc.float64`` on one side, ``torch.float64`` on the other)."""

    name: str

    def __repr__(self) -> str:
        return f"tc.{self.name}"


@dataclass(eq=False)
class Case:
    """One generated call: arguments, and the seed of the upstream gradient of backward."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    seed: int = 0

    def __repr__(self) -> str:
        parts = [show(a) for a in self.args]
        parts += [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return "(" + ", ".join(parts) + ")"


@dataclass(frozen=True, eq=False)
class Op:
    """One row of an op table. ``weight`` scales the number of examples it gets;
    ``render`` (optional) writes a case as the Python expression a user would type."""

    name: str
    tc: Callable
    torch: Callable
    args: Any  # a hypothesis strategy of Case
    weight: float = 1.0
    render: Callable | None = None

    def repro(self, case: Case) -> str:
        """The call as Python: ``render``'s, or ``x.name(...)`` / ``name(...)``."""
        if self.render:
            return self.render(case)
        if self.name.startswith("x.") and case.args:
            rest = Case(case.args[1:], case.kwargs)
            return f"{show(case.args[0])}.{self.name[2:]}{rest!r}"
        return f"{self.name}{case!r}"


def same(fn: Callable) -> dict:
    """``tc=fn, torch=fn`` for a callable written against the tensor API both share."""
    return {"tc": fn, "torch": fn}


# -- showing a case as Python ------------------------------------------------------------

def _num(v, dtype) -> str:
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, float) or (dtype is not None and dtype.kind == "f"):
        v = float(v)
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return str(dtype.type(v)) if dtype is not None else repr(v)
    return repr(v)


def _nested(x, dtype) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(v, dtype) for v in x) + "]"
    return _num(x, dtype)


def show_array(a: np.ndarray, requires_grad: bool = False) -> str:
    body = _nested(a.tolist(), a.dtype) if a.size <= 64 else f"<{list(a.shape)} values>"
    if a.size == 0 and a.ndim != 1:
        body = f"np.empty({list(a.shape)})"
    grad = ", requires_grad=True" if requires_grad else ""
    return f"tensor({body}, dtype=tc.{a.dtype.name}{grad})"


def show(v) -> str:
    if isinstance(v, float):
        return _num(v, None)
    if isinstance(v, slice):
        parts = ["" if p is None else show(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts if v.step is not None else parts[:2])
    if v is Ellipsis:
        return "..."
    if isinstance(v, tuple):
        inner = ", ".join(show(x) for x in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    return repr(v)


def show_index(index) -> str:
    """An index as written between brackets: ``0, :, [0, 1]``."""
    if isinstance(index, tuple):
        return ", ".join(show(i) for i in index) if index else "()"
    return show(index)


# -- the two sides ------------------------------------------------------------------------

def _tc_tensor(a: np.ndarray):
    if a.dtype.name in SHARED_DTYPES:
        return tc.from_numpy(a.copy())
    return tc.tensor(a)  # other dtypes: tensorcore's own conversion


@dataclass(frozen=True)
class Side:
    name: str
    make: Callable  # NumPy array -> tensor
    dtypes: dict  # dtype name -> dtype
    backward: Callable
    context: Callable  # backend name -> context manager


TC = Side("tensorcore", _tc_tensor,
          {"float16": tc.float16, "float32": tc.float32, "float64": tc.float64,
           "int32": tc.int32, "int64": tc.int64, "bool": tc.bool},
          tc.autograd.backward, lambda backend: tc.backends.use_backend(backend, "cpu"))
TORCH = Side("torch", lambda a: torch.from_numpy(a.copy()),
             {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64,
              "int32": torch.int32, "int64": torch.int64, "bool": torch.bool,
              "uint8": torch.uint8},
             torch.autograd.backward, lambda backend: contextlib.nullcontext())


def materialize(obj, side: Side, leaves: list, memo: dict):
    """``obj`` with every Arr made a tensor of ``side`` (the same Arr, the same tensor)."""
    if isinstance(obj, Arr):
        if id(obj) not in memo:
            t = side.make(obj.value)
            if obj.requires_grad:
                t.requires_grad_(True)
            memo[id(obj)] = t
            leaves.append((obj, t))
        return memo[id(obj)]
    if isinstance(obj, DType):
        return side.dtypes[obj.name]
    if isinstance(obj, tuple):
        return tuple(materialize(x, side, leaves, memo) for x in obj)
    if isinstance(obj, list):
        return [materialize(x, side, leaves, memo) for x in obj]
    if isinstance(obj, dict):
        return {k: materialize(v, side, leaves, memo) for k, v in obj.items()}
    return obj


@dataclass
class Outcome:
    value: Any
    error: BaseException | None
    leaves: list
    warned: list


def call(side: Side, fn: Callable, case: Case, backend: str) -> Outcome:
    leaves: list = []
    with warnings.catch_warnings(record=True) as caught, side.context(backend):
        warnings.simplefilter("always")
        tc._silence_numpy_fp_warnings()  # as at import: pytest's own filters replaced it
        try:
            memo: dict = {}
            args = materialize(case.args, side, leaves, memo)
            kwargs = materialize(case.kwargs, side, leaves, memo)
            value, error = fn(*args, **kwargs), None
        except Exception as e:  # noqa: BLE001 - every exception is an outcome to compare
            value, error = None, e
    return Outcome(value, error, leaves, [w.category for w in caught])


# -- comparing ----------------------------------------------------------------------------

def builtin_class(exc: BaseException) -> type:
    """The builtin exception class an exception derives from (torch.OutOfMemoryError ->
    RuntimeError). PyTorch's NotImplementedError for a dtype a kernel lacks ("not implemented
    for 'Bool'") counts as the RuntimeError it derives from."""
    cls = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
    return RuntimeError if cls is NotImplementedError else cls


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"


def _torch_bug(e: BaseException) -> bool:
    """PyTorch failing its own internal check: no behaviour to compare with."""
    return "INTERNAL ASSERT FAILED" in str(e)


def compare_errors(where: str, tc_err, th_err) -> list[str]:
    if tc_err is None and th_err is None:
        return []
    if tc_err is None:
        return [f"{where}: only torch raises ({_err(th_err)})"]
    if th_err is None:
        return [f"{where}: only tensorcore raises ({_err(tc_err)})"]
    if not isinstance(tc_err, builtin_class(th_err)):
        return [f"{where}: error class: tensorcore {_err(tc_err)}; torch {_err(th_err)}"]
    return []


def _flat(value) -> list:
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    return [value]


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def compare_arrays(where: str, a: np.ndarray, b: np.ndarray, dtype_name: str,
                   tolerances=TOLERANCES) -> list[str]:
    """Values of tensorcore (``a``) against torch (``b``), shapes already equal."""
    if dtype_name in tolerances or a.dtype.kind == "f" or b.dtype.kind == "f":
        rtol, atol = tolerances.get(dtype_name, tolerances["float32"])
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        finite = b64[np.isfinite(b64)]
        scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
        bad = ~np.isclose(a64, b64, rtol=rtol, atol=atol * scale, equal_nan=True)
    else:
        bad = a != b
    if not bad.any():
        return []
    i = tuple(int(k) for k in np.argwhere(bad)[0])
    return [f"{where}: values differ at {bad.sum()} of {bad.size} ({'index ' + str(list(i))}: "
            f"tensorcore {a[i]!r}, torch {b[i]!r})"]


FLOAT_ORDER = ("float16", "float32", "float64")


def _looser(dtype: str, floor: str) -> str:
    """The tolerance to compare a ``dtype`` result with: a float result's no tighter than
    ``floor``'s; integer and bool results exactly."""
    if dtype not in FLOAT_ORDER:
        return dtype
    return min(dtype, floor, key=FLOAT_ORDER.index)


def precision_floor(leaves: list, case: Case) -> str:
    """The least precise float dtype a call may compute in: its float inputs' (PyTorch computes
    float32 * float64 0-d in float32, and the float64 input's gradient carries float32
    rounding), a float dtype it passes (``softmax(x64, dtype=float32)``), and float32 where an
    integer or bool tensor takes part (PyTorch converts it through the default dtype)."""
    names = [arr.value.dtype.name for arr, _ in leaves if arr.value.dtype.name in FLOAT_ORDER]
    if any(arr.value.dtype.kind in "biu" for arr, _ in leaves):
        names.append("float32")
    names += [d.name for d in _dtypes_in((case.args, case.kwargs)) if d.name in FLOAT_ORDER]
    return min(names + ["float64"], key=FLOAT_ORDER.index)


def _dtypes_in(x):
    if isinstance(x, DType):
        yield x
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from _dtypes_in(v)
    elif isinstance(x, dict):
        yield from _dtypes_in(list(x.values()))


def compare_tensors(where: str, a, b, tolerances=TOLERANCES, floor="float64") -> list[str]:
    if not isinstance(a, tc.Tensor):
        return [f"{where}: tensorcore gives {type(a).__name__}, torch a Tensor"]
    out = []
    if tuple(a.shape) != tuple(b.shape):
        return [f"{where}: shape: tensorcore {tuple(a.shape)}, torch {tuple(b.shape)}"]
    th_dtype = str(b.dtype).removeprefix("torch.")
    if a.dtype.name != th_dtype:
        out.append(f"{where}: dtype: tensorcore {a.dtype.name}, torch {th_dtype}")
    out += compare_arrays(where, to_numpy(a), to_numpy(b), _looser(th_dtype, floor),
                          tolerances)
    return out


def compare_values(where: str, a, b, floor: str = "float64") -> list[str]:
    if isinstance(b, torch.Tensor):
        out = compare_tensors(where, a, b, floor=floor)
        if not out and a.requires_grad != b.requires_grad:
            out.append(f"{where}: requires_grad: tensorcore {a.requires_grad}, "
                       f"torch {b.requires_grad}")
        return out
    if isinstance(b, (tuple, list)):
        if not isinstance(a, (tuple, list)) or len(a) != len(b):
            return [f"{where}: tensorcore gives {type(a).__name__} "
                    f"{len(a) if isinstance(a, (tuple, list)) else ''}, torch a sequence of "
                    f"{len(b)}"]
        return [m for i, (x, y) in enumerate(zip(a, b)) for m in
                compare_values(f"{where}[{i}]", x, y, floor)]
    if isinstance(b, (bool, int, float)):
        kinds = (bool, int, float)
        if type(a) not in kinds or kinds.index(type(a)) != kinds.index(type(b)):
            return [f"{where}: tensorcore gives {a!r}, torch {b!r}"]
        ok = a == b or (a != a and b != b) or (
            isinstance(b, float) and np.isclose(a, b, rtol=1e-5, atol=1e-6))
        return [] if ok else [f"{where}: tensorcore gives {a!r}, torch {b!r}"]
    if b is None:
        return [] if a is None else [f"{where}: tensorcore gives {a!r}, torch None"]
    return [] if a == b else [f"{where}: tensorcore gives {a!r}, torch {b!r}"]


def _upstream(out_pairs, seed: int, backend: str):
    rng = np.random.default_rng(seed)
    tc_grads, th_grads = [], []
    for _, b in out_pairs:
        g = rng.standard_normal(tuple(b.shape)).astype(str(b.dtype).removeprefix("torch."))
        th_grads.append(torch.from_numpy(g.copy()))
        with TC.context(backend):
            tc_grads.append(tc.from_numpy(g.copy()))
    return tc_grads, th_grads


def _backward(side: Side, outs, grads, backend) -> tuple:
    with warnings.catch_warnings(record=True) as caught, side.context(backend):
        warnings.simplefilter("always")
        tc._silence_numpy_fp_warnings()  # as at import: pytest's own filters replaced it
        try:
            side.backward(outs, grads)
            error = None
        except Exception as e:  # noqa: BLE001
            error = e
    return error, [w.category for w in caught]


def compare_gradients(tco: Outcome, tho: Outcome, case: Case, backend: str) -> list[str]:
    pairs = [(a, b) for a, b in zip(_flat(tco.value), _flat(tho.value))
             if isinstance(b, torch.Tensor) and b.requires_grad
             and isinstance(a, tc.Tensor) and a.requires_grad]
    if not pairs:
        return []
    tc_grads, th_grads = _upstream(pairs, case.seed, backend)
    th_err, th_warned = _backward(TORCH, [b for _, b in pairs], th_grads, backend)
    if th_err is not None and _torch_bug(th_err):
        return []
    tc_err, tc_warned = _backward(TC, [a for a, _ in pairs], tc_grads, backend)
    out = compare_errors("backward", tc_err, th_err)
    out += compare_warnings("backward", tc_warned, th_warned)
    if out or th_err is not None:
        return out
    for i, ((arr, a), (_, b)) in enumerate(zip(tco.leaves, tho.leaves)):
        if not arr.requires_grad:
            continue
        where = f"grad of input {i}"
        if a.grad is None or b.grad is None:
            if (a.grad is None) != (b.grad is None):
                out.append(f"{where}: tensorcore {_brief(a.grad)}, torch {_brief(b.grad)}")
            continue
        out += compare_tensors(where, a.grad, b.grad, GRAD_TOLERANCES,
                               precision_floor(tco.leaves, case))
    return out


def _brief(g) -> str:
    return "None" if g is None else f"a tensor of shape {tuple(g.shape)}"


def compare_warnings(where: str, tc_warned: list, th_warned: list) -> list[str]:
    extra = [c.__name__ for c in tc_warned if issubclass(c, RuntimeWarning)]
    if extra and not th_warned:
        return [f"{where}: tensorcore warns ({', '.join(sorted(set(extra)))}), torch is silent"]
    return []


def compare(op: Op, case: Case, backend: str) -> list[str]:
    """Every difference between tensorcore and torch on ``case`` (empty when they agree)."""
    tho = call(TORCH, op.torch, case, backend)
    if tho.error is not None and _torch_bug(tho.error):
        return []
    tco = call(TC, op.tc, case, backend)
    out = compare_errors("call", tco.error, tho.error)
    if tco.error is not None or tho.error is not None:
        return out
    out += compare_warnings("call", tco.warned, tho.warned)
    try:  # reading tensorcore's result may itself fail (a dtype it does not know ...)
        out += compare_values("result", tco.value, tho.value,
                              precision_floor(tco.leaves, case))
        for i, ((_, a), (_, b)) in enumerate(zip(tco.leaves, tho.leaves)):
            out += compare_tensors(f"input {i} after the call", a, b)
        if not any(m.startswith("result") and "shape" in m for m in out):
            out += compare_gradients(tco, tho, case, backend)
    except Exception as e:  # noqa: BLE001
        out.append(f"reading tensorcore's result raises {_err(e)}")
    return out


# -- recording or failing -----------------------------------------------------------------

def report(op: Op, case: Case, backend: str, diffs: list[str], collect: str | None) -> None:
    """Fail with the differences, or (findings mode) append them to ``collect`` as JSON."""
    repro = op.repro(case)
    if collect:
        with open(collect, "a", encoding="utf-8") as f:
            f.write(json.dumps({"op": op.name, "backend": backend, "diffs": diffs,
                                "repro": repro}) + "\n")
        return
    raise AssertionError(f"{op.name} differs from PyTorch (tensorcore backend {backend}):\n"
                         f"  {repro}\n  " + "\n  ".join(diffs))
