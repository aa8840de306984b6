"""Reductions (sum, mean, var, max, logsumexp, ...) and softmax, with ``dim`` and ``keepdim``.

float16 inputs accumulate in float32, as PyTorch does.

>>> import tensorcore as tc
>>> x = tc.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> x.sum(dim=0).tolist(), x.mean().item()
([4.0, 6.0], 2.5)
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from ..autograd.engine import sum_to_shape
from ..autograd.function import Function
from ..autograd.grad_mode import _State
from ..tensor import Tensor
from ._util import const, normalize_dims

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


class Sum(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        ctx.shape = x.shape
        acc = _accumulate_dtype(x)
        if x.dtype == np.bool_:
            acc = np.int64
        out = x.sum(axis=dims, keepdims=keepdim, dtype=acc)
        return out.astype(x.dtype, copy=False) if acc is np.float32 else out

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim, ctx._out_backend.xp), None, None


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
        outx = _expand_back(out, a.shape, ctx.dims, ctx.keepdim)
        if not bool((a._data == 0).any()):
            return gx * outx / a, None, None
        # with zeros: the product of the others, computed directly (a constant)
        if _State.enabled:
            raise RuntimeError("prod(): double backward through an input that holds zeros is "
                               "not supported")
        x = a._data
        axes = tuple(range(x.ndim)) if ctx.dims is None else ctx.dims
        others = np.ones_like(x)
        flat = np.moveaxis(x, axes, tuple(range(len(axes)))).reshape(-1, *[
            x.shape[i] for i in range(x.ndim) if i not in axes])
        n = flat.shape[0]
        res = np.empty_like(flat)
        for i in range(n):
            res[i] = np.prod(np.delete(flat, i, axis=0), axis=0)
        others = np.moveaxis(res.reshape(*[x.shape[i] for i in axes], *[
            x.shape[i] for i in range(x.ndim) if i not in axes]),
            tuple(range(len(axes))), axes)
        return gx * const(g, a._backend.asarray(others)), None, None


class MaxReduce(Function):
    """Max or min over all elements or ``dims``: the gradient goes to the extreme elements,
    split evenly among ties."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, largest):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        if x.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() "
                               "== 0. Specify the reduction dim with the 'dim' argument.")
        out = x.max(axis=dims, keepdims=True) if largest else x.min(axis=dims, keepdims=True)
        mask = x == out
        ctx.share = mask / mask.sum(axis=dims, keepdims=True)
        ctx.shape = x.shape
        return out if keepdim else out.reshape(
            tuple(n for i, n in enumerate(x.shape) if dims is not None and i not in dims))

    @staticmethod
    def backward(ctx, g):
        gx = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return gx * const(g, ctx.share.astype(g._data.dtype)), None, None, None


class MaxDim(Function):
    """max/min along one dim: (values, indices); the gradient goes to the returned index."""

    @staticmethod
    def forward(ctx, a, dim, keepdim, largest):
        ctx.keepdim = keepdim
        x = a._data
        xp = a._backend.xp
        idx = (xp.argmax if largest else xp.argmin)(x, axis=dim, keepdims=True)
        vals = xp.take_along_axis(x, idx, axis=dim)
        ctx.onehot = xp.arange(x.shape[dim]).reshape(
            [-1 if i == dim else 1 for i in range(x.ndim)]) == idx
        ctx.shape = x.shape
        ctx.dims = (dim,)
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        ctx.indices = idx
        return vals

    @staticmethod
    def backward(ctx, g):
        gx = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return gx * const(g, ctx.onehot), None, None, None


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        x = a._data
        xp = a._backend.xp
        m = x.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        if not keepdim:
            out = out.reshape(tuple(n for i, n in enumerate(x.shape)
                                    if dims is not None and i not in dims))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        shape = a.shape
        gx = _expand_back(g, shape, ctx.dims, ctx.keepdim)
        outx = _expand_back(out, shape, ctx.dims, ctx.keepdim)
        return gx * (a - outx).exp(), None, None


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        xp = a._backend.xp
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
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
        xp = a._backend.xp
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.dim, keepdim=True), None


# -- public functions -----------------------------------------------------------------------
def _reduce(fn, a, dim, keepdim, *extra):
    dims = normalize_dims(dim, a.ndim)
    if dims is not None and a.ndim == 0:
        dims = None
    return fn.apply(a, dims, keepdim, *extra)


def sum(a, dim=None, keepdim: bool = False, *, dtype=None):
    out = _reduce(Sum, a, dim, keepdim)
    return out if dtype is None else out.to(dtype)


def mean(a, dim=None, keepdim: bool = False, *, dtype=None):
    if dtype is not None:
        a = a.to(dtype)
    return _reduce(Mean, a, dim, keepdim)


def var(a, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = normalize_dims(dim, a.ndim)
    n = a.numel() if dims is None else int(np.prod([a.shape[d] for d in dims]))
    centered = a - a.mean(dim, keepdim=True)
    return (centered * centered).sum(dim, keepdim=keepdim) / builtins.max(n - correction, 0)


def std(a, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return var(a, dim, unbiased, keepdim, correction=correction).sqrt()


def prod(a, dim=None, keepdim: bool = False):
    return _reduce(Prod, a, dim, keepdim)


def max(a, dim=None, keepdim: bool = False):
    """``max(a)``: the largest value; ``max(a, dim)``: (values, indices); ``max(a, b)``:
    elementwise maximum."""
    return _extreme(a, dim, keepdim, True)


def min(a, dim=None, keepdim: bool = False):
    return _extreme(a, dim, keepdim, False)


def _extreme(a, dim, keepdim, largest):
    if isinstance(dim, Tensor):
        from .arith import maximum, minimum
        return (maximum if largest else minimum)(a, dim)
    if dim is None:
        return _reduce(MaxReduce, a, None, False, largest)
    (d,) = normalize_dims(dim, a.ndim)
    if a.ndim == 0:
        return MaxMin(a.clone(), Tensor._make(a._backend.xp.zeros((), np.int64), a._backend))
    values = MaxDim.apply(a, d, keepdim, largest)
    node = values.grad_fn
    if node is not None:
        indices = node.indices
    else:
        indices = _argextreme(a, d, keepdim, largest)._data
    return MaxMin(values, Tensor._make(indices, a._backend))


def amax(a, dim=None, keepdim: bool = False):
    return _reduce(MaxReduce, a, dim, keepdim, True)


def amin(a, dim=None, keepdim: bool = False):
    return _reduce(MaxReduce, a, dim, keepdim, False)


def _argextreme(a, dim, keepdim, largest):
    xp = a._backend.xp
    fn = xp.argmax if largest else xp.argmin
    if dim is None:
        out = fn(a._data.reshape(-1))
        return Tensor._make(xp.asarray(out, dtype=np.int64).reshape((1,) * a.ndim if keepdim
                                                                    else ()), a._backend)
    (d,) = normalize_dims(dim, a.ndim)
    return Tensor._make(xp.asarray(fn(a._data, axis=d, keepdims=keepdim), dtype=np.int64),
                        a._backend)


def argmax(a, dim=None, keepdim: bool = False):
    return _argextreme(a, dim, keepdim, True)


def argmin(a, dim=None, keepdim: bool = False):
    return _argextreme(a, dim, keepdim, False)


def logsumexp(a, dim, keepdim: bool = False):
    return _reduce(LogSumExp, a, dim, keepdim)


def softmax(a, dim: int, dtype=None):
    if dtype is not None:
        a = a.to(dtype)
    (d,) = normalize_dims(dim, a.ndim)
    return Softmax.apply(a, d)


def log_softmax(a, dim: int, dtype=None):
    if dtype is not None:
        a = a.to(dtype)
    (d,) = normalize_dims(dim, a.ndim)
    return LogSoftmax.apply(a, d)


def sum_to(a, shape) -> Tensor:
    """Sum ``a`` down to a shape it was broadcast from."""
    return SumTo.apply(a, tuple(shape))


sum_to_size = sum_to


def all(a, dim=None, keepdim: bool = False):
    return Tensor._make(a._backend.xp.asarray(a._data.astype(bool).all(
        axis=normalize_dims(dim, a.ndim), keepdims=keepdim)), a._backend)


def any(a, dim=None, keepdim: bool = False):
    return Tensor._make(a._backend.xp.asarray(a._data.astype(bool).any(
        axis=normalize_dims(dim, a.ndim), keepdims=keepdim)), a._backend)
