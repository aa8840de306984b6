"""Reductions (sum, mean, var, max, logsumexp, ...) and softmax, with ``dim`` and ``keepdim``.

Dims are read by one rule (``_dims``): NumPy's ``axis`` / ``keepdims`` are accepted, ``()``
means every dim, repeated dims and dims out of range raise as in PyTorch. float16 inputs
accumulate in float32, as PyTorch does.

>>> import tensorcore as tc
>>> x = tc.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> x.sum(dim=0).tolist(), x.mean().item(), x.sum(axis=1, keepdims=True).shape
([4.0, 6.0], 2.5, (2, 1))
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd.engine import sum_to_shape
from ..autograd.function import Function
from ..autograd.grad_mode import _State
from ..tensor import Tensor
from ._dims import dim_list, numpy_names, one_dim, size_arg
from ._util import const

TENSOR_METHODS = ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "prod",
                  "logsumexp", "argmax", "argmin", "softmax", "log_softmax", "sum_to_size",
                  "all", "any"]
__all__ = sorted(set(TENSOR_METHODS) | {'sum_to'})


MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _accumulate_dtype(x):
    return np.float32 if x.dtype == np.float16 else None


def _kept_shape(shape, dims):
    """``shape`` with the reduced ``dims`` (None: all) set to 1."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return _kept_shape(shape, dims)
    return () if dims is None else tuple(n for i, n in enumerate(shape) if i not in dims)


def _expand_back(g, shape, dims, keepdim: bool, xp=None):
    """A reduction's output gradient, broadcast back over the input's shape (a Tensor, or a
    read-only array view for a first-order backward)."""
    if not keepdim:
        g = g.reshape(_kept_shape(shape, dims))
    if isinstance(g, Tensor):
        return g.expand(shape)
    if math.prod(shape) > _VIEW_ABOVE:
        return xp.broadcast_to(g, shape)
    out = xp.empty(shape, g.dtype)  # small: a filled copy is cheaper than broadcast_to
    out[...] = g
    return out


_VIEW_ABOVE = 1 << 16  # elements: larger gradients stay read-only broadcast views


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


class Sum(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, same_dtype=False):
        """Integers and bools sum to int64 unless ``same_dtype`` (an explicit ``dtype=``)."""
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        ctx.shape = x.shape
        acc = _accumulate_dtype(x)
        if x.dtype.kind in "biu":
            acc = x.dtype if same_dtype and x.dtype != np.bool_ else np.int64
        out = x.sum(axis=dims, keepdims=keepdim, dtype=acc)
        return out.astype(x.dtype, copy=False) if acc is np.float32 else out

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim, ctx._out_backend.xp)


class SumTo(Function):
    """Sum a broadcast gradient back to ``shape`` (the engine's one broadcasting rule)."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return sum_to_shape(a._data, shape)

    @staticmethod
    def backward(ctx, g):
        return g.expand(ctx.shape), None


class Mean(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        if x.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {a.dtype}")
        ctx.shape = x.shape
        out = x.mean(axis=dims, keepdims=keepdim, dtype=_accumulate_dtype(x))
        ctx.count = x.size // builtins.max(out.size, 1) if x.size else 0
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        count = builtins.max(ctx.count, 1)
        gx = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim, ctx._out_backend.xp)
        return gx / count, None, None


class Prod(Function):
    """The gradient is ``g * out / x`` without zeros in the input; with any zero, the product
    of the other elements of each slice (exclusive products from both sides), as PyTorch's
    prod_backward: one zero in a slice gets the others' product, two zeros give zeros."""

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        out = x.prod(axis=dims, keepdims=keepdim, dtype=_accumulate_dtype(x))
        if x.dtype.kind == "f":  # integer and bool products are int64, as in PyTorch
            out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        gx = _expand_back(g, a.shape, ctx.dims, ctx.keepdim)
        if not bool((a._data == 0).any()):
            return gx * (_expand_back(out, a.shape, ctx.dims, ctx.keepdim) / a), None, None
        if _State.enabled:  # the products of the others are computed as a constant
            raise RuntimeError("prod(): double backward through an input that holds zeros is "
                               "not supported")
        return gx * const(g, _others_product(a._data, ctx.dims, a._backend.xp)), None, None


def _others_product(x, dims, xp):
    """For each element, the product of the other elements of its slice over ``dims``."""
    axes = tuple(range(x.ndim)) if dims is None else tuple(sorted(dims))
    front = tuple(range(len(axes)))
    moved = xp.moveaxis(x, axes, front)
    flat = moved.reshape((-1,) + moved.shape[len(axes):])
    ones = xp.ones((1,) + flat.shape[1:], x.dtype)
    before = xp.concatenate([ones, xp.cumprod(flat[:-1], axis=0)])
    after = xp.concatenate([xp.cumprod(flat[:0:-1], axis=0)[::-1], ones])
    return xp.moveaxis((before * after).reshape(moved.shape), front, axes)


class MaxReduce(Function):
    """amax/amin over ``dims``, or max()/min() over all: the gradient is split evenly among
    the elements equal to the result. A NaN result: ``all_nans`` (max()/min(), PyTorch's
    evenly_distribute_backward) splits it among the NaNs; amax/amin give the slice NaN
    gradients (PyTorch's amax backward divides by a count of zero)."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, largest, all_nans):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        _check_nonempty(x, dims, ("max" if largest else "min") if all_nans else
                        ("amax" if largest else "amin"))
        out = x.max(axis=dims, keepdims=True) if largest else x.min(axis=dims, keepdims=True)
        if ctx.needs_input_grad[0]:
            xp = a._backend.xp
            mask = x == out
            if all_nans and x.dtype.kind == "f":
                mask = xp.where(xp.isnan(out), xp.isnan(x), mask)
            count = mask.sum(axis=dims, keepdims=True)
            ctx.share = xp.where(count > 0, mask / xp.maximum(count, 1), np.nan)
            ctx.shape = x.shape
        return out if keepdim else out.reshape(_reduced_shape(x.shape, dims, False))

    @staticmethod
    def backward(ctx, g):
        gx = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return gx * const(g, ctx.share.astype(g._data.dtype)), None, None, None, None


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
        from .arith import where

        gx = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return where(const(g, ctx.onehot), gx, 0.0), None, None, None


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        xp = a._backend.xp
        if x.size:
            m = x.max(axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
        else:  # an empty slice sums to 0: -inf, as in PyTorch
            m = xp.zeros(_kept_shape(x.shape, dims), x.dtype)
        out = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        if not keepdim:
            out = out.reshape(_reduced_shape(x.shape, dims, False))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        shape = a.shape
        gx = _expand_back(g, shape, ctx.dims, ctx.keepdim)
        outx = _expand_back(out, shape, ctx.dims, ctx.keepdim)
        return gx * (a - outx).exp(), None, None


def _softmax_axis(x, dim):
    return dim if x.ndim else None


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        if x.size == 0:
            out = x.copy()
        else:
            xp = a._backend.xp
            axis = _softmax_axis(x, dim)
            e = xp.exp(x - x.max(axis=axis, keepdims=True))
            out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * (g - (g * out).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        if x.size == 0:
            out = x.copy()
        else:
            xp = a._backend.xp
            axis = _softmax_axis(x, dim)
            shifted = x - x.max(axis=axis, keepdims=True)
            out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.dim, keepdim=True), None


# -- public functions -----------------------------------------------------------------------
# Each takes NumPy's names too (``numpy_names``); its dims are read by ``dim_list`` (any
# number of dims) or ``one_dim`` (exactly one), as its PyTorch counterpart reads them.
@numpy_names
def sum(a, dim=None, keepdim: bool = False, *, dtype=None):
    dims = dim_list(dim, a.ndim, "sum")
    if dtype is None:
        return Sum.apply(a, dims, keepdim)
    return Sum.apply(a.to(dtype), dims, keepdim, True)  # cast first, as PyTorch does


@numpy_names
def mean(a, dim=None, keepdim: bool = False, *, dtype=None):
    dims = dim_list(dim, a.ndim, "mean")
    if dtype is not None:
        a = a.to(dtype)
    return Mean.apply(a, dims, keepdim)


@numpy_names
def var(a, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch; a bool
    first argument is ``unbiased`` (PyTorch's ``var(unbiased)`` form)."""
    return _var(a, dim, unbiased, keepdim, correction, "var").to(a.dtype)


@numpy_names
def std(a, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return _var(a, dim, unbiased, keepdim, correction, "std").sqrt().to(a.dtype)


def _var(a, dim, unbiased, keepdim, correction, op):
    """The variance, in float32 for a float16 input (its caller casts back), as PyTorch."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{op}(): got a bool dim and unbiased; pass dim as an int")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either unbiased or correction, not both")
    if not a.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = dim_list(dim, a.ndim, op)
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if a.dtype == _dtype.float16:
        a = a.float()
    n = a.numel() if dims is None else math.prod(a.shape[d] for d in dims)
    centered = a - Mean.apply(a, dims, True)
    return Sum.apply(centered * centered, dims, keepdim) / builtins.max(n - correction, 0)


@numpy_names
def prod(a, dim=None, keepdim: bool = False, *, dtype=None):
    dims = None if dim is None else (one_dim(dim, a.ndim, "prod"),)
    if a.ndim == 0:
        dims = None
    if dtype is not None:
        a = a.to(dtype)
    return Prod.apply(a, dims, keepdim)


@numpy_names
def max(a, dim=None, keepdim: bool = False):
    """``max(a)``: the largest value; ``max(a, dim)``: (values, indices); ``max(a, b)``:
    elementwise maximum."""
    return _extreme(a, dim, keepdim, True)


@numpy_names
def min(a, dim=None, keepdim: bool = False):
    return _extreme(a, dim, keepdim, False)


def _extreme(a, dim, keepdim, largest):
    if isinstance(dim, Tensor):
        from .arith import maximum, minimum
        return (maximum if largest else minimum)(a, dim)
    if dim is None:
        return MaxReduce.apply(a, None, keepdim, largest, True)
    d = one_dim(dim, a.ndim, "max" if largest else "min")
    if a.ndim == 0:
        return MaxMin(a.clone(), Tensor._make(a._backend.xp.zeros((), np.int64), a._backend))
    values = MaxDim.apply(a, d, keepdim, largest)
    node = values.grad_fn
    indices = node.indices if node is not None else _arg_indices(a, d, keepdim, largest)
    return MaxMin(values, Tensor._make(indices, a._backend))


@numpy_names
def amax(a, dim=(), keepdim: bool = False):
    return MaxReduce.apply(a, dim_list(dim, a.ndim, "amax"), keepdim, True, False)


@numpy_names
def amin(a, dim=(), keepdim: bool = False):
    return MaxReduce.apply(a, dim_list(dim, a.ndim, "amin"), keepdim, False, False)


def _arg_indices(a, d, keepdim, largest):
    """The int64 index array of the first extreme (or first NaN) along the axis ``d``."""
    xp = a._backend.xp
    fn = xp.argmax if largest else xp.argmin
    x = a._data if a.ndim else a._data.reshape(1)
    return xp.asarray(fn(x, axis=d, keepdims=keepdim and a.ndim > 0), dtype=np.int64)


def _argextreme(a, dim, keepdim, largest):
    op = "argmax" if largest else "argmin"
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
    return _argextreme(a, dim, keepdim, True)


@numpy_names
def argmin(a, dim=None, keepdim: bool = False):
    return _argextreme(a, dim, keepdim, False)


@numpy_names
def logsumexp(a, dim, keepdim: bool = False):
    dims = dim_list(dim, a.ndim, "logsumexp")
    if not a.dtype.is_floating_point:  # integers and bools give the default float dtype
        a = a.to(_dtype.get_default_dtype())
    return LogSumExp.apply(a, dims, keepdim)


def _softmax_input(a, dim, dtype, op):
    d = one_dim(dim, a.ndim, op)
    if dtype is not None:
        a = a.to(dtype)
    if not a.dtype.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for \'{a.dtype.name}\' (a floating '
                                  f'point input, or dtype=, is needed)')
    return a, d


@numpy_names
def softmax(a, dim: int, dtype=None):
    return Softmax.apply(*_softmax_input(a, dim, dtype, "softmax"))


@numpy_names
def log_softmax(a, dim: int, dtype=None):
    return LogSoftmax.apply(*_softmax_input(a, dim, dtype, "log_softmax"))


def sum_to(a, shape) -> Tensor:
    """Sum ``a`` down to a shape it was broadcast from."""
    return SumTo.apply(a, tuple(shape))


def sum_to_size(a, *sizes, size=None):
    shape = size_arg(sizes, size, "size", "sum_to_size")
    try:
        ok = np.broadcast_shapes(shape, a.shape) == a.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(a.shape)}")
    return sum_to(a, shape) if shape != a.shape else a


def _bool_reduce(a, dim, keepdim, op):
    """all/any: a bool result; ``dim=()`` reduces nothing, as in PyTorch."""
    dims = dim_list(dim, a.ndim, op, empty_is_all=False)
    x = a._data.astype(bool)
    out = (x.all if op == "all" else x.any)(axis=dims, keepdims=keepdim) if dims != () else x
    return Tensor._make(a._backend.xp.asarray(out), a._backend)


@numpy_names
def all(a, dim=None, keepdim: bool = False):
    return _bool_reduce(a, dim, keepdim, "all")


@numpy_names
def any(a, dim=None, keepdim: bool = False):
    return _bool_reduce(a, dim, keepdim, "any")
