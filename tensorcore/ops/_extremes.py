"""max, min, amax, amin, argmax, argmin: values, indices, and PyTorch's gradient conventions
at ties and NaN (the Tensor methods are bound through ``reduce``).

>>> import tensorcore as tc
>>> x = tc.tensor([1.0, float("nan"), 3.0], requires_grad=True)
>>> x.max().backward(); x.grad.tolist()   # the gradient goes to the NaN, as in PyTorch
[0.0, 1.0, 0.0]
>>> tc.tensor([[1.0, 5.0], [4.0, 2.0]]).max(axis=1)
MaxMin(values=tensor([5., 4.]), indices=tensor([1, 0]))
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._dims import (
    UNSET,
    as_int,
    dim_given,
    dim_list,
    expand_back,
    keepdim_flag,
    numpy_names,
    one_dim,
    reduced_shape,
    wrap_dim,
)
from ._util import const
from .select import where

MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _check_nonempty(x, dims, op):
    """max/min/argmax over an empty slice: the error PyTorch raises."""
    if x.size:
        return
    if dims is None:
        raise (IndexError if op.startswith("arg") else RuntimeError)(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
            f"the reduction dim with the 'dim' argument.")
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


class MaxReduce(Function):
    """amax/amin over ``dims``, or max()/min() over all (``full``): the gradient is split
    evenly among the elements equal to the result. max()/min() put it only there (PyTorch's
    evenly_distribute_backward), and a NaN result sends it to the NaNs; amax/amin multiply by
    the mask over the count (PyTorch's amax backward: a NaN slice gets NaN gradients)."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, largest, full):
        ctx.dims, ctx.keepdim, ctx.full = dims, keepdim, full
        x = a._data
        _check_nonempty(x, dims, ("max" if largest else "min") if full else
                        ("amax" if largest else "amin"))
        out = x.max(axis=dims, keepdims=True) if largest else x.min(axis=dims, keepdims=True)
        if ctx.needs_input_grad[0]:
            xp = a._backend.xp
            mask = x == out
            if full and x.dtype.kind == "f":
                mask = xp.where(xp.isnan(out), xp.isnan(x), mask)
            count = mask.sum(axis=dims, keepdims=True)
            ctx.mask, ctx.shape = mask, x.shape
            ctx.share = xp.where(count > 0, mask / xp.maximum(count, 1), np.nan)
        return out if keepdim else out.reshape(reduced_shape(x.shape, dims, False))

    @staticmethod
    def backward(ctx, g):
        gx = expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        share = const(g, ctx.share.astype(g._data.dtype))
        if ctx.full:
            return where(const(g, ctx.mask), gx * share, 0.0), None, None, None, None
        return gx * share, None, None, None, None


class MaxDim(Function):
    """max/min along one dim: (values, indices); the gradient goes to the returned index (the
    first extreme, or the first NaN), and only there, as PyTorch's scatter does."""

    @staticmethod
    def forward(ctx, a, dim, keepdim, largest):
        x = a._data
        _check_nonempty(x, (dim,), "max" if largest else "min")
        xp = a._backend.xp
        idx = (xp.argmax if largest else xp.argmin)(x, axis=dim, keepdims=True)
        vals = xp.take_along_axis(x, idx, axis=dim)
        if ctx.needs_input_grad[0]:
            ctx.onehot = xp.arange(x.shape[dim]).reshape(
                [-1 if i == dim else 1 for i in range(x.ndim)]) == idx
            ctx.shape, ctx.dims, ctx.keepdim = x.shape, (dim,), keepdim
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        ctx.indices = idx
        return vals

    @staticmethod
    def backward(ctx, g):
        gx = expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return where(const(g, ctx.onehot), gx, 0.0), None, None, None


@numpy_names
def max(a, dim=UNSET, keepdim: bool = UNSET):
    """``max(a)``: the largest value; ``max(a, dim)``: (values, indices); ``max(a, b)``:
    elementwise maximum. ``keepdim`` needs a ``dim`` (an int), as in PyTorch."""
    return _extreme(a, dim, keepdim, True)


@numpy_names
def min(a, dim=UNSET, keepdim: bool = UNSET):
    return _extreme(a, dim, keepdim, False)


def _extreme(a, dim, keepdim, largest):
    op = "max" if largest else "min"
    if isinstance(dim, Tensor):
        if keepdim is not UNSET:
            raise TypeError(f"{op}(): keepdim is not an argument of {op}(input, other)")
        from .arith import maximum, minimum
        return (maximum if largest else minimum)(a, dim)
    dim, keepdim = dim_given(dim, keepdim, op, none_ok=False)
    if dim is None:
        return MaxReduce.apply(a, None, False, largest, True)
    d = one_dim(dim, a.ndim, op)
    if a.ndim == 0:
        return MaxMin(a.clone(), Tensor._make(a._backend.xp.zeros((), np.int64), a._backend))
    values = MaxDim.apply(a, d, keepdim, largest)
    node = values.grad_fn
    indices = node.indices if node is not None else _arg_indices(a, d, keepdim, largest)
    return MaxMin(values, Tensor._make(indices, a._backend))


@numpy_names
def amax(a, dim=(), keepdim: bool = False):
    return MaxReduce.apply(a, _amax_dims(a, dim, "amax"), keepdim_flag(keepdim, "amax"), True,
                           False)


@numpy_names
def amin(a, dim=(), keepdim: bool = False):
    return MaxReduce.apply(a, _amax_dims(a, dim, "amin"), keepdim_flag(keepdim, "amin"), False,
                           False)


def _amax_dims(a, dim, op):
    """The dims of amax/amin. On an empty input PyTorch checks each dim in turn (in range,
    then of non-zero size) before it looks for a repeated one."""
    if a._data.size == 0 and dim is not None:
        for d in dim if isinstance(dim, (tuple, list)) else (dim,):
            if a.shape[wrap_dim(d, a.ndim, op)] == 0:
                raise IndexError(f"{op}(): Expected reduction dim {wrap_dim(d, a.ndim, op)} "
                                 f"to have non-zero size.")
    return dim_list(dim, a.ndim, op)


def _arg_indices(a, d, keepdim, largest):
    """The int64 index array of the first extreme (or first NaN) along the axis ``d``."""
    xp = a._backend.xp
    fn = xp.argmax if largest else xp.argmin
    x = a._data if a.ndim else a._data.reshape(1)
    return xp.asarray(fn(x, axis=d, keepdims=keepdim and a.ndim > 0), dtype=np.int64)


def _argextreme(a, dim, keepdim, largest):
    op = "argmax" if largest else "argmin"
    if dim is not None:  # the dim's type before the dtype, as in PyTorch
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
        as_int(dim, "dim", op)
    if a._data.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input")
    if dim is None:
        _check_nonempty(a._data, None, op)
        out = _arg_indices(a.reshape(-1), 0, False, largest)
        return Tensor._make(out.reshape((1,) * a.ndim if keepdim else ()), a._backend)
    d = one_dim(dim, a.ndim, op)
    if a.ndim:
        _check_nonempty(a._data, (d,), op)
    return Tensor._make(_arg_indices(a, d, keepdim, largest), a._backend)


@numpy_names
def argmax(a, dim=None, keepdim: bool = False):
    return _argextreme(a, dim, keepdim_flag(keepdim, "argmax"), True)


@numpy_names
def argmin(a, dim=None, keepdim: bool = False):
    return _argextreme(a, dim, keepdim_flag(keepdim, "argmin"), False)
