"""Elementwise functions of one tensor, each forward beside its backward.

Backwards are written with tensor ops, so they are differentiable again
(``create_graph=True``). Each op saves what PyTorch's saves (the input, or the output where
the backward reads the output: exp, sqrt, rsqrt, tanh, sigmoid, relu), so the same in-place
changes after it are refused at backward. The piecewise constant ops (sign, floor, ceil,
round, trunc) have a zero gradient, as in PyTorch.

>>> import tensorcore as tc
>>> x = tc.tensor([0.0, 1.0], requires_grad=True)
>>> x.exp().sum().backward(); x.grad
tensor([1.0000, 2.7183])
"""

from __future__ import annotations

import math

from ..autograd.function import Function, apply_plain
from ..autograd.grad_mode import grad_state
from ..backends.contract import _erf, _sigmoid
from ..tensor import Tensor
from ._util import const

TENSOR_METHODS = ["abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh",
                  "sigmoid", "relu", "erf", "sign", "floor", "ceil", "round", "trunc",
                  "square", "masked_fill"]
__all__ = list(TENSOR_METHODS)


class Abs(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype.kind == "b":
            raise NotImplementedError("\"abs\" not implemented for 'Bool'")
        ctx.save_for_backward(a)
        return a._backend.xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.sign()  # sign is 0 at 0 and at NaN: PyTorch's gradient there


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
        x = _as_float(a)
        out = _sigmoid(a._backend.xp, x)
        if out.dtype != x.dtype:  # SciPy's expit computes float16 in float64
            out = out.astype(x.dtype)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Relu(Function):
    """``max(x, 0)``; saves its output (as PyTorch), and its backward is a select, not a
    product: where the output is <= 0 the gradient is 0 even if the incoming one is inf or
    NaN (``relu(x).sqrt()`` at x < 0), and a NaN output passes the gradient on."""

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype.kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")
        out = a._backend.xp.maximum(x, 0)  # not x * mask: that gives -0.0 for x < 0
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if type(g) is Tensor:  # create_graph: a select differentiable in g
            from .arith import where
            return where(out <= 0, 0.0, g)
        return ctx._out_backend.xp.where(out <= 0, g.dtype.type(0), g)


class Erf(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x = _as_float(a)  # integers and bools give the default float dtype, as in PyTorch
        out = _erf(a._backend.xp, x)
        return out if out.dtype == x.dtype else out.astype(x.dtype)  # SciPy: float16 -> 64

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * (-(a * a)).exp()


class MaskedFill(Function):
    """``value`` where ``mask`` is True, else ``input``; ``value`` a number or a 0-d tensor
    (which gets the sum of the gradient at the filled places). Saves the mask only, as
    PyTorch: the mask is version-checked, the input is not."""

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.save_for_backward(mask)
        x = a._data
        fill = value._data.astype(x.dtype) if isinstance(value, Tensor) else \
            x.dtype.type(value)
        return a._backend.xp.where(mask._data, fill, x)

    @staticmethod
    def backward(ctx, g):
        from .arith import where

        (mask,) = ctx.saved_tensors
        na, _, nv = ctx.needs_input_grad
        # selects, not products with the mask: an inf or NaN gradient at a filled place
        # does not leak into the input's gradient (PyTorch's masked_fill backward)
        ga = where(mask, 0.0, g) if na else None
        gv = where(mask, g, 0.0).sum() if nv else None
        return ga, None, gv


class _ZeroGrad(Function):
    """Base of the piecewise constant ops: a zero gradient everywhere, jumps included
    (PyTorch's convention), so a graph through them runs instead of stopping."""

    array_forward = True
    array_backward = True

    @staticmethod
    def backward(ctx, g):
        zeros = (const(g, g._backend.xp.zeros_like(g._data)) if type(g) is Tensor
                 else ctx._out_backend.xp.zeros_like(g))
        return (zeros,) + (None,) * (len(ctx.needs_input_grad) - 1)


def _rounded(a, fn, name: str):
    """``fn`` of ``a``'s array for floats; integers are whole already (a copy, keeping
    their dtype); bools are refused, as PyTorch does."""
    x = a._data
    kind = x.dtype.kind
    if kind == "f":
        return fn(x)
    if kind == "b":
        raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")
    return x.copy()


class Sign(_ZeroGrad):
    @staticmethod
    def forward(ctx, a):
        x, xp = a._data, a._backend.xp
        if x.dtype.kind == "b":
            return x.copy()
        s = xp.sign(x)
        # PyTorch's sign(NaN) is 0 (and so is abs's gradient there)
        return xp.where(s == s, s, 0) if x.dtype.kind == "f" else s


class Floor(_ZeroGrad):
    @staticmethod
    def forward(ctx, a):
        return _rounded(a, a._backend.xp.floor, "floor")


class Ceil(_ZeroGrad):
    @staticmethod
    def forward(ctx, a):
        return _rounded(a, a._backend.xp.ceil, "ceil")


class Trunc(_ZeroGrad):
    @staticmethod
    def forward(ctx, a):
        return _rounded(a, a._backend.xp.trunc, "trunc")


class Round(_ZeroGrad):
    """Half to even; with ``decimals`` as PyTorch computes it: ``rint(x * 10**d) / 10**d``
    (``rint(x / 10**-d) * 10**-d`` for d < 0), floats only."""

    @staticmethod
    def forward(ctx, a, decimals):
        xp = a._backend.xp
        if decimals == 0:
            return _rounded(a, xp.rint, "round")
        x = a._data
        if x.dtype.kind != "f":
            raise NotImplementedError(f"\"round\" with decimals not implemented for "
                                      f"'{a.dtype.name}'")
        if decimals > 0:
            scale = 10.0 ** decimals
            return xp.rint(x * scale) / scale
        scale = 10.0 ** -decimals
        return xp.rint(x / scale) * scale


def _as_float(a):
    x = a._data
    if x.dtype.kind != "f":
        from .. import _dtype
        x = x.astype(_dtype.get_default_dtype().np)
    return x


def _unary(fn, a):
    """``fn.apply(a)``, by the ``apply_plain`` lane when a graph is recorded; TypeError naming
    the op for a non-tensor."""
    if isinstance(a, Tensor):
        if grad_state.enabled and a._requires_grad:
            return apply_plain(fn, a)
        return fn.apply(a)
    raise TypeError(f"{fn.__name__.lower()}(): argument 'input' (position 1) must be Tensor, "
                    f"not {type(a).__name__}")


def _piecewise(fn, a, *args):
    """A piecewise constant op: recorded (with its zero gradient) only when a graph is."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{fn.__name__.lower()}(): argument 'input' (position 1) must be "
                        f"Tensor, not {type(a).__name__}")
    if grad_state.enabled and (a._requires_grad or a._base is not None):
        return fn.apply(a, *args)
    out, backend = fn.forward(None, a, *args), a._backend
    if type(out) is not backend.array_type:  # a NumPy scalar from a 0-d input
        out = backend.asarray(out)
    return Tensor._make(out, backend)


def abs(input):
    return _unary(Abs, input)


def exp(input):
    return _unary(Exp, input)


def log(input):
    return _unary(Log, input)


def log1p(input):
    return _unary(Log1p, input)


def sqrt(input):
    return _unary(Sqrt, input)


def rsqrt(input):
    return _unary(Rsqrt, input)


def sin(input):
    return _unary(Sin, input)


def cos(input):
    return _unary(Cos, input)


def tanh(input):
    return _unary(Tanh, input)


def sigmoid(input):
    return _unary(Sigmoid, input)


def relu(input):
    return _unary(Relu, input)


def erf(input):
    return _unary(Erf, input)


def square(input):
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        input = input.long()  # PyTorch: square of bools is int64 (pow(x, 2))
    return input * input


def masked_fill(input, mask, value):
    """``value`` where the bool tensor ``mask`` (broadcast) is True, else ``input``."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"masked_fill(): argument 'mask' (position 1) must be Tensor, not "
                        f"{type(mask).__name__}")
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                           f"dtype {mask.dtype}")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        if not value._requires_grad:
            value = value.item()  # a constant: also from another device, as in PyTorch
    return MaskedFill.apply(input, mask, value)


def sign(input):
    """-1, 0 or 1 elementwise (0 for NaN, as PyTorch); a zero gradient."""
    return _piecewise(Sign, input)


def floor(input):
    """The largest whole number <= each element; a zero gradient."""
    return _piecewise(Floor, input)


def ceil(input):
    """The smallest whole number >= each element; a zero gradient."""
    return _piecewise(Ceil, input)


def trunc(input):
    """Each element rounded toward zero; a zero gradient."""
    return _piecewise(Trunc, input)


def round(input, *, decimals: int = 0):
    """Each element rounded half to even (to ``decimals`` places); a zero gradient."""
    if type(decimals) is not int:
        raise TypeError(f"round(): argument 'decimals' must be int, not "
                        f"{type(decimals).__name__}")
    return _piecewise(Round, input, decimals)
