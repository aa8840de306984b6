"""Sorting and running totals with PyTorch's semantics: ``sort``, ``argsort``, ``topk``,
``kthvalue``, ``median``, ``cumsum`` and ``cumprod``.

The sorts are stable (PyTorch's CPU sort is, whatever ``stable`` says) and put NaN above
every number. The values of ``sort`` / ``topk`` / ``kthvalue`` / ``median(dim)`` are the
input gathered at the returned indices, so their gradient goes to those elements only, as in
PyTorch. Which of several equal elements ``topk``, ``kthvalue`` and ``median`` return is
unspecified in PyTorch; here it is the first in a stable sort.

>>> import tensorcore as tc
>>> values, indices = tc.sort(tc.tensor([3.0, float("nan"), 1.0]), descending=True)
>>> values.tolist(), indices.tolist()
([nan, 3.0, 1.0], [1, 0, 2])
>>> tc.tensor([1, 2, 3]).cumsum(0).tolist(), tc.tensor([1.0, 0.0, 2.0]).cumprod(0).tolist()
([1, 3, 6], [1.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import grad_state
from ..compiler import state as _compile_state
from ..tensor import Tensor
from ._dims import UNSET, as_int, keepdim_flag, numpy_names, wrap_dim
from ._util import const
from .gather import Gather
from .select import where

TENSOR_METHODS = ["sort", "argsort", "topk", "kthvalue", "median", "cumsum", "cumprod"]
__all__ = list(TENSOR_METHODS)

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])


def _input(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _flag(value, name: str, op: str) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{op}(): argument '{name}' must be bool, not {type(value).__name__}")


def _flip(x, dim: int):
    return x[(slice(None),) * dim + (slice(None, None, -1),)]


def _order(a: Tensor, dim: int, descending: bool):
    """The int64 indices that sort ``a`` along ``dim`` stably (NaN as the largest); a
    descending sort keeps equal elements in their order too."""
    x, xp = a._data, a._backend.xp
    if x.ndim == 0:
        return xp.zeros((), np.int64)
    if not descending:
        return xp.asarray(xp.argsort(x, axis=dim, kind="stable"), dtype=np.int64)
    idx = _flip(xp.argsort(_flip(x, dim), axis=dim, kind="stable"), dim)
    return xp.ascontiguousarray(x.shape[dim] - 1 - idx).astype(np.int64, copy=False)


def _picked(a: Tensor, dim: int, idx) -> Tensor:
    """``a`` gathered at the index array ``idx`` along ``dim`` (differentiable)."""
    index = Tensor._make(idx, a._backend)
    if a.ndim == 0:
        return a.clone() if idx.ndim == 0 else Gather.apply(a.reshape(1), 0, index)
    return Gather.apply(a, dim, index)  # indices made here: no check needed


def _sort_args(op: str, args: tuple, kwargs: dict, stable) -> tuple[object, bool]:
    """``dim`` and ``descending`` as PyTorch's two forms take them: ``op(input, dim=-1,
    descending=False)`` and ``op(input, *, stable, dim=-1, descending=False)``."""
    if stable is not UNSET and args:
        raise TypeError(f"{op}() received an invalid combination of arguments: with 'stable', "
                        f"'dim' and 'descending' are keyword-only ({op}(input, *, stable, "
                        f"dim=-1, descending=False))")
    if len(args) > 2:
        raise TypeError(f"{op}() takes from 1 to 3 positional arguments but {len(args) + 1} "
                        f"were given")
    given = dict(zip(("dim", "descending"), args))
    for name, value in kwargs.items():
        if name == "axis":  # NumPy's name, as PyTorch takes it
            name = "dim"
        if name not in ("dim", "descending"):
            raise TypeError(f"{op}() got an unexpected keyword argument '{name}'")
        if name in given:
            raise TypeError(f"{op}() got multiple values for argument '{name}'")
        given[name] = value
    if stable is not UNSET and stable is not None:
        _flag(stable, "stable", op)
    return given.get("dim", -1), _flag(given.get("descending", False), "descending", op)


def sort(input, *args, stable=UNSET, **kwargs):
    """``sort(input, dim=-1, descending=False)`` or ``sort(input, *, stable, dim=-1,
    descending=False)``: (values, indices) of ``input`` sorted along ``dim`` (NaN last, or
    first when descending); equal elements keep their order."""
    _input("sort", input)
    dim, descending = _sort_args("sort", args, kwargs, stable)
    d = wrap_dim(dim, input.ndim, "sort")
    idx = _order(input, d, descending)
    return SortResult(_picked(input, d, idx), Tensor._make(idx, input._backend))


def argsort(input, *args, stable=UNSET, **kwargs) -> Tensor:
    """``argsort(input, dim=-1, descending=False)`` or ``argsort(input, *, stable, dim=-1,
    descending=False)``: the int64 indices that sort ``input`` (``sort(...).indices``)."""
    _input("argsort", input)
    dim, descending = _sort_args("argsort", args, kwargs, stable)
    d = wrap_dim(dim, input.ndim, "argsort")
    return Tensor._make(_order(input, d, descending), input._backend)


def _first(idx, dim: int, k: int):
    return idx[(slice(None),) * dim + (slice(0, k),)]


@numpy_names
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the ``k`` largest (or, ``largest=False``, smallest) elements
    along ``dim``, largest first (smallest first); NaN counts as the largest."""
    _input("topk", input)
    k = as_int(k, "k", "topk")
    largest = _flag(largest, "largest", "topk")
    _flag(sorted, "sorted", "topk")
    d = wrap_dim(dim, input.ndim, "topk")
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if input._data.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    idx = _order(input, d, largest)
    if input.ndim:
        idx = input._backend.xp.ascontiguousarray(_first(idx, d, k))
    return TopkResult(_picked(input, d, idx), Tensor._make(idx, input._backend))


def _selected(op: str, result, input, k: int, d: int, keepdim: bool):
    """The ``k``-th smallest (0-based; NaN largest) along ``d`` as (values, indices)."""
    idx = _order(input, d, False)
    if input.ndim:
        idx = input._backend.xp.ascontiguousarray(
            idx[(slice(None),) * d + (slice(k, k + 1),)])
    values = _picked(input, d, idx)
    if input.ndim and not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return result(values, Tensor._make(idx, input._backend))


@numpy_names
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the ``k``-th smallest element (from 1) along ``dim``."""
    _input("kthvalue", input)
    k = as_int(k, "k", "kthvalue")
    keepdim = keepdim_flag(keepdim, "kthvalue")
    d = wrap_dim(dim, input.ndim, "kthvalue")
    n = input.shape[d] if input.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if input._data.dtype == np.bool_ and input.ndim:
        raise RuntimeError("\"kthvalue_cpu\" not implemented for 'Bool'")
    return _selected("kthvalue", KthvalueResult, input, k - 1, d, keepdim)


class MedianAll(Function):
    """``median()`` of all elements: the gradient is shared evenly among the elements equal
    to the result (the NaNs for a NaN median), as PyTorch's evenly_distribute_backward."""

    array_forward = True

    @staticmethod
    def forward(ctx, a):
        x, xp = a._data, a._backend.xp
        flat = x.reshape(-1)
        if flat.size == 0:
            ctx.share = xp.zeros(x.shape, x.dtype)
            empty = {"f": np.nan, "b": True}.get(x.dtype.kind)  # PyTorch's values
            return xp.full((), np.iinfo(x.dtype).min if empty is None else empty, x.dtype)
        nan = xp.isnan(x) if x.dtype.kind == "f" else None
        if nan is not None and bool(nan.any()):  # NaN propagates, as in PyTorch
            out, mask = xp.full((), np.nan, x.dtype), nan
        else:
            out = flat[xp.argsort(flat, kind="stable")[(flat.size - 1) // 2]].reshape(())
            mask = x == out
        if ctx.needs_input_grad[0]:
            ctx.share = mask / max(int(mask.sum()), 1)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * const(g, ctx.share.astype(g._data.dtype))


@numpy_names
def median(input, dim=None, keepdim: bool = False):
    """``median(input)``: the lower median of all elements (NaN if any is NaN);
    ``median(input, dim)``: (values, indices) of the lower median along ``dim``."""
    _input("median", input)
    if dim is None:
        if input._data.dtype == np.bool_ and input._data.size:
            raise RuntimeError("\"median_cpu\" not implemented for 'Bool'")
        return MedianAll.apply(input)
    keepdim = keepdim_flag(keepdim, "median")
    d = wrap_dim(dim, input.ndim, "median")
    n = input.shape[d] if input.ndim else 1
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    if input._data.dtype == np.bool_:
        raise RuntimeError("\"median_out\" not implemented for 'Bool'")
    x, xp = input._data, input._backend.xp
    if x.dtype.kind == "f" and x.ndim and bool(xp.isnan(x).any()):
        return _median_nan(input, d, keepdim)
    return _selected("median", MedianResult, input, (n - 1) // 2, d, keepdim)


def _median_nan(input, d: int, keepdim: bool):
    """``median(dim)`` where some slice holds a NaN: there the first NaN, as PyTorch."""
    x, xp = input._data, input._backend.xp
    nan = xp.isnan(x)
    first_nan = xp.argmax(nan, axis=d, keepdims=True)
    srt = _order(input, d, False)
    mid = srt[(slice(None),) * d + (slice((x.shape[d] - 1) // 2, (x.shape[d] + 1) // 2),)]
    idx = xp.where(nan.any(axis=d, keepdims=True), first_nan, mid).astype(np.int64)
    values = _picked(input, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return MedianResult(values, Tensor._make(idx, input._backend))


# -- running totals --------------------------------------------------------------------------
# float16 / float32 running totals accumulate in float64, as PyTorch's CPU kernels do
_ACC = {np.dtype(np.float16): np.float64, np.dtype(np.float32): np.float64}


class Cumsum(Function):
    """The running sum along ``dim`` (from the end when ``reverse``); the backward is the
    running sum the other way."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim, reverse, keep):
        x, xp = a._data, a._backend.xp
        ctx.dim, ctx.reverse = dim, reverse
        dt = x.dtype if keep or x.dtype.kind == "f" else np.int64
        if x.ndim == 0:
            return x.astype(dt)
        acc = _ACC.get(np.dtype(dt), dt)
        if not reverse:
            return xp.cumsum(x, axis=dim, dtype=acc).astype(dt, copy=False)
        out = _flip(xp.cumsum(_flip(x, dim), axis=dim, dtype=acc), dim)
        return xp.ascontiguousarray(out).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        return Cumsum.apply(g, ctx.dim, not ctx.reverse, True), None, None, None


class Cumprod(Function):
    """The running product along ``dim``; the backward is PyTorch's formula, exact where the
    input holds zeros (see ``_cumprod_grad``)."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim, keep):
        x, xp = a._data, a._backend.xp
        ctx.dim = dim
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a)
        dt = x.dtype if keep or x.dtype.kind == "f" else np.int64
        if x.ndim == 0:
            return x.astype(dt)
        return xp.cumprod(x, axis=dim, dtype=_ACC.get(np.dtype(dt), dt)).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        if a.ndim == 0 or a.shape[ctx.dim] <= 1:
            return g, None, None
        return _cumprod_grad(a, g, ctx.dim), None, None


def _cumprod_grad(x: Tensor, g: Tensor, dim: int) -> Tensor:
    """d/dx_i of sum_k g_k prod_{j<=k} x_j. Before the first zero ``z`` of a slice it is
    ``rcumsum(g * cumprod(x))_i / x_i``; at ``z`` it is ``rcumsum(g * cumprod(x1))_z`` with
    ``x1`` = x with x_z = 1; after it, ``x_z`` times the gradient at ``x1`` (zero, but with the
    right derivative: that part is built only for a second derivative)."""
    xp = x._backend.xp
    zero = x._data == 0
    out = Cumprod.apply(x, dim, True)
    # a compiled step's trace takes the general formula, unless it builds a second order
    # (the recursion below ends where no zero is left: that reads the input on the host)
    if (_compile_state.current() is None or grad_state.enabled) and not bool(zero.any()):
        return Cumsum.apply(g * out, dim, True, True) / x
    seen = xp.cumsum(zero, axis=dim)
    before, first = const(x, seen == 0), const(x, zero & (seen == 1))
    first_order = not grad_state.enabled  # PyTorch's O(n) formula: masked products
    w = g * out
    if first_order:  # (an overflow past a zero, inf * 0, stays out of the sums)
        w = where(before, w, 0.0)
    part_before = Cumsum.apply(w, dim, True, True) / where(before, x, 1.0)
    x1 = where(first, 1.0, x)
    c1 = Cumprod.apply(x1, dim, True)
    if first_order:
        c1 = where(const(x, seen == 1), c1, 0.0)
    part_first = Cumsum.apply(g * c1, dim, True, True)
    after = 0.0
    if not first_order:  # a graph of this gradient is recorded (create_graph)
        after = where(first, x, 0.0).sum(dim, keepdim=True) * _cumprod_grad(x1, g, dim)
    return where(before, part_before, where(first, part_first, after))


def _running(op: str, node, input, dim, dtype, *extra):
    _input(op, input)
    if dim is None:
        raise TypeError(f"{op}(): argument 'dim' must be int, not NoneType")
    d = wrap_dim(dim, input.ndim, op)
    if dtype is None:
        return node.apply(input, d, *extra, False)
    dtype = _dtype.as_dtype(dtype)
    if dtype is _dtype.bool_:
        raise RuntimeError(f"\"{op}_out_cpu\" not implemented for 'Bool'")
    if not dtype.is_floating_point and input.requires_grad and grad_state.enabled:
        raise RuntimeError(f"Autograd not support dtype: {dtype}")
    return node.apply(input.to(dtype), d, *extra, True)


@numpy_names
def cumsum(input, dim, *, dtype=None) -> Tensor:
    """The running sum along ``dim`` (integers and bools sum to int64 unless ``dtype``)."""
    return _running("cumsum", Cumsum, input, dim, dtype, False)


@numpy_names
def cumprod(input, dim, *, dtype=None) -> Tensor:
    """The running product along ``dim`` (integers and bools to int64 unless ``dtype``)."""
    return _running("cumprod", Cumprod, input, dim, dtype)
