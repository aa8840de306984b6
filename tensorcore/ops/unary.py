"""Elementwise functions of one tensor, each forward beside its backward.

Backwards are written with tensor ops, so they are differentiable again
(``create_graph=True``).

>>> import tensorcore as tc
>>> x = tc.tensor([0.0, 1.0], requires_grad=True)
>>> x.exp().sum().backward(); x.grad
tensor([1.0000, 2.7183])
"""

from __future__ import annotations

import math

from ..autograd.function import Function, apply_plain
from ..autograd.grad_mode import _State
from ..backends.contract import _sigmoid
from ..tensor import Tensor
from ._util import check_float, const

TENSOR_METHODS = ["abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh",
                  "sigmoid", "relu", "erf", "sign", "floor", "ceil", "round", "trunc",
                  "square", "masked_fill"]
__all__ = list(TENSOR_METHODS)



class Abs(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._backend.xp.abs(a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.sign()


class Exp(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        out = a._backend.xp.exp(_as_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._backend.xp.log(_as_float(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Log1p(Function):
    array_forward = True  # apply_plain's rule: its forward works on arrays alone
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._backend.xp.log1p(_as_float(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a + 1)


class Sqrt(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        out = a._backend.xp.sqrt(_as_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Rsqrt(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        out = 1 / a._backend.xp.sqrt(_as_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * -0.5 * out * out * out


class Sin(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._backend.xp.sin(_as_float(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.cos()


class Cos(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._backend.xp.cos(_as_float(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * -a.sin()


class Tanh(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        out = a._backend.xp.tanh(_as_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


class Sigmoid(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        out = _sigmoid(a._backend.xp, _as_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Relu(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        ctx.mask = x > 0
        return a._backend.xp.maximum(x, 0)  # not x * mask: that gives -0.0 for x < 0

    @staticmethod
    def backward(ctx, g):
        return g * const(g, ctx.mask)


class Erf(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        from ..backends.contract import _erf

        ctx.save_for_backward(a)
        return _erf(a._backend.xp, _as_float(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * (-(a * a)).exp()


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, a, mask, value):
        m = mask._data if hasattr(mask, "_data") else mask
        ctx.mask = m
        return a._backend.xp.where(m, a._data.dtype.type(value), a._data)

    @staticmethod
    def backward(ctx, g):
        return g * const(g, ~ctx.mask), None, None


def _as_float(a):
    x = a._data
    if x.dtype.kind != "f":
        from .. import _dtype
        x = x.astype(_dtype.get_default_dtype().np)
    return x


def _unary(fn, a):
    """``fn.apply(a)``, by the ``apply_plain`` lane when a graph is recorded for a plain
    tensor (not a view)."""
    if isinstance(a, Tensor) and _State.enabled and a._requires_grad and a._base is None:
        return apply_plain(fn, a)
    return fn.apply(a)


def _no_grad_unary(name):
    def op(a):
        return Tensor._make(getattr(a._backend.xp, name)(a._data), a._backend)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` (piecewise constant: no gradient)."
    return op


def abs(a):
    return _unary(Abs, a)


def exp(a):
    return _unary(Exp, a)


def log(a):
    return _unary(Log, a)


def log1p(a):
    return _unary(Log1p, a)


def sqrt(a):
    return _unary(Sqrt, a)


def rsqrt(a):
    return _unary(Rsqrt, a)


def sin(a):
    return _unary(Sin, a)


def cos(a):
    return _unary(Cos, a)


def tanh(a):
    return _unary(Tanh, a)


def sigmoid(a):
    return _unary(Sigmoid, a)


def relu(a):
    return _unary(Relu, a)


def erf(a):
    check_float(a, "erf")
    return _unary(Erf, a)


def square(a):
    return a * a


def masked_fill(a, mask, value):
    return MaskedFill.apply(a, mask, value)


sign = _no_grad_unary("sign")
floor = _no_grad_unary("floor")
ceil = _no_grad_unary("ceil")
trunc = _no_grad_unary("trunc")
round = _no_grad_unary("round")
