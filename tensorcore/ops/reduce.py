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

import numpy as np

from .. import _dtype
from ..autograd.engine import sum_to_shape
from ..autograd.function import Function
from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from ._dims import (
    UNSET,
    accumulate_dtype,
    dim_given,
    dim_list,
    expand_back,
    keepdim_flag,
    kept_shape,
    numpy_names,
    one_dim,
    reduced_shape,
    size_arg,
)
from ._extremes import MaxMin, amax, amin, argmax, argmin, max, min  # noqa: F401
from ._util import const
from .arith import where

TENSOR_METHODS = ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "prod",
                  "logsumexp", "argmax", "argmin", "softmax", "log_softmax", "sum_to_size",
                  "all", "any"]
__all__ = sorted(set(TENSOR_METHODS) | {'sum_to'})


class Sum(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, same_dtype=False):
        """Integers and bools sum to int64 unless ``same_dtype`` (an explicit ``dtype=``)."""
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        ctx.shape = x.shape
        acc = accumulate_dtype(x)
        if x.dtype.kind in "biu":
            acc = x.dtype if same_dtype and x.dtype != np.bool_ else np.int64
        out = x.sum(axis=dims, keepdims=keepdim, dtype=acc)
        return out.astype(x.dtype, copy=False) if acc is np.float32 else out

    @staticmethod
    def backward(ctx, g):
        return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim, ctx._out_backend.xp)


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
        out = x.mean(axis=dims, keepdims=keepdim, dtype=accumulate_dtype(x))
        ctx.count = x.size // builtins.max(out.size, 1) if x.size else 0
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        count = builtins.max(ctx.count, 1)
        gx = expand_back(g, ctx.shape, ctx.dims, ctx.keepdim, ctx._out_backend.xp)
        return gx / count, None, None


class Prod(Function):
    """The gradient as PyTorch's prod_backward: ``g * out / x`` without zeros in the input;
    with zeros, the product of the other elements of each slice (from exclusive products on
    both sides), except that a full reduction over two or more zeros gives zeros."""

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        out = x.prod(axis=dims, keepdims=keepdim, dtype=accumulate_dtype(x))
        if x.dtype.kind == "f":  # integer and bool products are int64, as in PyTorch
            out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        if a.ndim == 0:
            return g, None, None
        gx = expand_back(g, a.shape, ctx.dims, ctx.keepdim)
        zeros = int((a._data == 0).sum())
        if not zeros:
            return gx * (expand_back(out, a.shape, ctx.dims, ctx.keepdim) / a), None, None
        xp = a._backend.xp
        if ctx.dims is None and zeros > 1 and not ctx.create_graph:  # zeros, whatever g holds
            return const(g, xp.zeros(a.shape, g._data.dtype)), None, None
        if ctx.create_graph:  # the products of the others are computed as a constant
            raise RuntimeError("prod(): double backward through an input that holds zeros is "
                               "not supported")
        return gx * const(g, _others_product(a._data, ctx.dims, xp)), None, None


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


class Var(Function):
    """var (or std, ``sqrt``) over ``dims`` with ``correction``; float16 accumulates in
    float32, float32 in float64. The gradient is PyTorch's: ``2 (x - mean) / (n -
    correction)`` (a full reduction with no degree of freedom left: inf, NaN where x equals
    the mean), through ``1 / (2 std)`` for std (0 where std is 0)."""

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim, sqrt):
        ctx.dims, ctx.keepdim, ctx.sqrt = dims, keepdim, sqrt
        x = a._data
        # squares of float32 values overflow early: float32 accumulates in float64 (std of
        # 1e30 and -1e30 is 1.4e30, as PyTorch's), float16 in float32
        acc = np.float64 if x.dtype == np.float32 else accumulate_dtype(x) or x.dtype
        centered = x.astype(acc, copy=False) - x.mean(axis=dims, keepdims=True, dtype=acc)
        n = x.size if dims is None else math.prod(x.shape[d] for d in dims)
        ctx.dof = n - correction
        out = (centered * centered).sum(axis=dims, keepdims=keepdim) / builtins.max(ctx.dof, 0)
        if sqrt:
            out = a._backend.xp.sqrt(out)
        out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(a, out if sqrt else None)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dims, keepdim = ctx.dims, ctx.keepdim
        if ctx.sqrt:
            g = where(out == 0, 0.0, g / (out * 2))
        gx = expand_back(g, a.shape, dims, keepdim)
        mean = Mean.apply(a, dims, True)
        if dims is None and ctx.dof <= 0:
            xp = a._backend.xp
            edge = xp.where(a._data == mean._data, np.nan, np.inf).astype(a._data.dtype)
            return gx * const(g, edge), None, None, None, None
        factor = math.inf if ctx.dof == 0 else 2.0 / ctx.dof
        return gx * (a - mean) * factor, None, None, None, None


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
            m = xp.zeros(kept_shape(x.shape, dims), x.dtype)
        out = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        if not keepdim:
            out = out.reshape(reduced_shape(x.shape, dims, False))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        shape = a.shape
        gx = expand_back(g, shape, ctx.dims, ctx.keepdim)
        outx = expand_back(out, shape, ctx.dims, ctx.keepdim)
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
# number of dims) or ``one_dim`` (exactly one), as its PyTorch counterpart reads them. Where
# PyTorch has ``op()`` and ``op(dim, keepdim)`` only, ``keepdim`` without ``dim`` is refused
# (``dim_given``); ``UNSET`` tells an absent argument from ``None``.
@numpy_names
def sum(a, dim=UNSET, keepdim: bool = UNSET, *, dtype=None):
    dim, keepdim = dim_given(dim, keepdim, "sum")
    dims = dim_list(dim, a.ndim, "sum")
    if dtype is None:
        return Sum.apply(a, dims, keepdim)
    return Sum.apply(_cast(a, dtype), dims, keepdim, True)  # cast first, as PyTorch does


def _cast(a, dtype):
    """``a`` in a reduction's ``dtype=``: an integer or bool dtype for an input that needs a
    gradient is refused, as in PyTorch (the result could not carry it)."""
    dtype = _dtype.as_dtype(dtype)
    if not dtype.is_floating_point and a.requires_grad and grad_state.enabled:
        raise RuntimeError(f"Autograd not support dtype: {dtype}")
    return a.to(dtype)


@numpy_names
def mean(a, dim=UNSET, keepdim: bool = UNSET, *, dtype=None):
    dim, keepdim = dim_given(dim, keepdim, "mean")
    if dtype is not None:
        dtype = _dtype.as_dtype(dtype)
    if not (dtype or a.dtype).is_floating_point:  # before the dims, as in PyTorch
        raise RuntimeError(f"mean(): could not infer output dtype. "
                           f"{'Input' if dtype is None else 'Optional'} dtype must be either a "
                           f"floating point or complex dtype. Got: {dtype or a.dtype}")
    dims = dim_list(dim, a.ndim, "mean")
    if dtype is not None:
        a = a.to(dtype)
    return Mean.apply(a, dims, keepdim)


@numpy_names
def var(a, dim=UNSET, unbiased=None, keepdim: bool = UNSET, *, correction=None):
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch; a bool
    first argument is ``unbiased`` (PyTorch's ``var(unbiased)`` form)."""
    return Var.apply(a, *_var_args(a, dim, unbiased, keepdim, correction, "var"), False)


@numpy_names
def std(a, dim=UNSET, unbiased=None, keepdim: bool = UNSET, *, correction=None):
    return Var.apply(a, *_var_args(a, dim, unbiased, keepdim, correction, "std"), True)


def _var_args(a, dim, unbiased, keepdim, correction, op):
    """(dims, correction, keepdim) of var/std, read as PyTorch's three forms read them:
    ``var(unbiased)``, ``var(dim, unbiased, keepdim)`` (``unbiased`` with ``keepdim`` needs a
    ``dim``, None included) and ``var(dim=None, *, correction, keepdim)``."""
    if isinstance(dim, bool):  # var(unbiased): nothing else
        if unbiased is not None or keepdim is not UNSET or correction is not None:
            raise TypeError(f"{op}(): a bool first argument is unbiased, and takes no other "
                            f"argument; pass dim as an int")
        dim, unbiased = UNSET, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{op}(): pass either unbiased or correction, not both")
        if dim is UNSET and keepdim is not UNSET:
            raise TypeError(f"{op}(): unbiased with keepdim needs a dim (or use correction=)")
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{op}(): argument 'unbiased' must be bool, not "
                            f"{type(unbiased).__name__}")
    keepdim = keepdim_flag(keepdim, op)
    if not a.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim_list(None if dim is UNSET else dim, a.ndim, op), correction, keepdim


@numpy_names
def prod(a, dim=UNSET, keepdim: bool = UNSET, *, dtype=None):
    dim, keepdim = dim_given(dim, keepdim, "prod", none_ok=False)
    dims = None if dim is None else (one_dim(dim, a.ndim, "prod"),)
    if a.ndim == 0:
        dims = None
    if dtype is not None:
        a = _cast(a, dtype)
    return Prod.apply(a, dims, keepdim)


@numpy_names
def logsumexp(a, dim, keepdim: bool = False):
    """log(sum(exp(x))) over ``dim`` (required, not None). ``dim=()`` is every dim with
    ``keepdim=True``; without it PyTorch 2.13 raises for a non-empty input of rank 1 or more
    (its result and its max disagree in shape), and so does tensorcore."""
    if dim is None:
        raise TypeError("logsumexp(): argument 'dim' must be tuple of ints, not NoneType")
    keepdim = keepdim_flag(keepdim, "logsumexp")
    dims = dim_list(dim, a.ndim, "logsumexp")
    if dims is None and a.ndim and a._data.size and not keepdim:  # dim=(): PyTorch's error
        raise RuntimeError(f"output with shape [] doesn't match the broadcast shape "
                           f"{[1] * a.ndim}")
    if not a.dtype.is_floating_point:  # integers and bools give the default float dtype
        a = a.to(_dtype.get_default_dtype())
    return LogSumExp.apply(a, dims, keepdim)


def _softmax_input(a, dim, dtype, op):
    """The input (in ``dtype``) and dim of softmax / log_softmax: the dim is checked first; an
    integer or bool input is refused unless it is empty (PyTorch runs no kernel then)."""
    d = one_dim(dim, a.ndim, op)
    if dtype is not None:
        a = a.to(dtype)
    if not a.dtype.is_floating_point and a._data.size:
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
    return _bool_reduce(a, dim, keepdim_flag(keepdim, "all"), "all")


@numpy_names
def any(a, dim=None, keepdim: bool = False):
    return _bool_reduce(a, dim, keepdim_flag(keepdim, "any"), "any")
