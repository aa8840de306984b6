"""Elementwise arithmetic (``+ - * / **``, neg, reciprocal): each op's forward beside its
backward, with PyTorch's type promotion (``_util.operands``). Maximum, minimum, clamp, where
and the comparisons are in ``select``, rounding division and remainders in ``division``;
their ops are listed here too, so they become Tensor methods and ``tensorcore`` functions.

Gradients may come out with the broadcast shape; the engine sums them back to each input's
shape, so no op here thinks about broadcasting.

>>> import tensorcore as tc
>>> a = tc.tensor([1.0, 2.0], requires_grad=True)
>>> (a * 3 + 1).sum().backward(); a.grad.tolist()
[3.0, 3.0]
"""

from __future__ import annotations

import operator as _op

import numpy as np

from .. import _dtype
from ..autograd.function import Function, apply_plain
from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from ._util import as_operand as _as_operand
from ._util import checked_scalar, int_range, operands, wrap_int
from .division import (  # noqa: F401  (re-exported: the ops of TENSOR_METHODS and their nodes)
    DivMode,
    FloorDivide,
    Fmod,
    Remainder,
    RFloorDivide,
    RRemainder,
    div_rounded,
    floor_divide,
    floor_divide_,
    fmod,
    fmod_,
    remainder,
    remainder_,
)
from .power import Pow, RPow, pow, rpow  # noqa: F401  (re-exported, as below)
from .select import (  # noqa: F401  (re-exported: the ops of TENSOR_METHODS and their nodes)
    Clamp,
    Maximum,
    Minimum,
    Where,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clamp,
    clip,
    eq,
    ge,
    gt,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    ne,
    where,
)

TENSOR_METHODS = ["add", "sub", "mul", "div", "pow", "neg", "maximum", "minimum", "clamp",
                  "clip", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and",
                  "logical_or", "true_divide", "multiply", "subtract", "divide",
                  "floor_divide", "remainder", "fmod", "floor_divide_", "remainder_", "fmod_",
                  "reciprocal", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
                  "bitwise_not"]
__all__ = sorted(set(TENSOR_METHODS) | {
    "add", "sub", "rsub", "mul", "div", "rdiv", "pow", "rpow", "neg", "where"})

_SUB_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
              "`^` or `logical_xor()` operator instead.")
_SUB_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
             "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
_NEG_BOOL = ("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
             "to invert a mask, use the `~` or `logical_not()` operator instead.")


def _no_bool_sub(a: Tensor, b) -> None:
    """PyTorch refuses ``-`` with a bool operand (tensor or Python bool): RuntimeError."""
    a_bool = a._data.dtype.kind == "b"
    b_bool = type(b) is bool or (b._data.dtype.kind == "b" if type(b) is Tensor
                                 else isinstance(b, np.bool_))
    if a_bool or b_bool:
        raise RuntimeError(_SUB_BOOLS if a_bool and b_bool and type(b) is Tensor else _SUB_BOOL)


class Add(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        return x + y

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        _no_bool_sub(a, b)
        return x - y

    @staticmethod
    def backward(ctx, g):
        return g, -g


class RSub(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        _no_bool_sub(a, b)
        return y - x

    @staticmethod
    def backward(ctx, g):
        return -g, None


class AddAlpha(Function):
    """``a + alpha * b`` (``a - alpha * b`` when ``subtract``) of two tensors in their result
    type, as PyTorch's kernel: ``alpha`` (already checked against that type) scales ``b``
    after promotion (``0-d float64 + alpha * bool tensor`` is float64). d/da = g (``-g``...),
    d/db = g * alpha elementwise before the engine sums it to ``b``'s shape, as PyTorch (a
    zero ``g`` with an infinite alpha gives NaN)."""

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b, alpha, subtract):
        x, y = operands(a, b)
        ctx.scale = -alpha if subtract else alpha
        y = y * alpha
        return x - y if subtract else x + y

    @staticmethod
    def backward(ctx, g):
        return g, g * ctx.scale, None, None


class Mul(Function):
    """Saves ``b`` only when ``a`` needs a gradient and ``a`` only when ``b`` does (a Python
    number is kept as it is, never version-checked), as PyTorch's mul."""

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(b if na else None, a if nb else None)
        x, y = operands(a, b)
        return x * y

    @staticmethod
    def backward(ctx, g):
        b, a = ctx.saved_tensors
        return (None if b is None else g * b), (None if a is None else g * a)


def _true_div_operands(a, b):
    """Operands of a true division: integers become the default float type first, so a big
    Python int divides as the float it is (PyTorch: ``int32 tensor / 2**40`` is 9.1e-13)."""
    if type(b) is int:
        x = a._data
        if x.dtype.kind != "f":
            wrap_int(b, x.dtype)  # PyTorch's error for a bool tensor with a uint64 number
            x = x.astype(_dtype.get_default_dtype().np)
        return x, wrap_int(b, x.dtype)
    x, y = operands(a, b)
    if x.dtype.kind != "f":  # true division of integers gives the default float type
        x = x.astype(_dtype.get_default_dtype().np)
        if not isinstance(y, (int, float)):
            y = y.astype(x.dtype)  # else int64 / float32 -> float64
    return x, y


class Div(Function):
    """Saves ``b`` when either input needs a gradient and ``a`` only when ``b`` does (PyTorch:
    d/da = g / b, d/db = -g * (a / b) / b)."""

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        if na or nb:
            ctx.save_for_backward(b, a if nb else None)
        x, y = _true_div_operands(a, b)
        return x / y

    @staticmethod
    def backward(ctx, g):
        b, a = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g / b if na else None), (-g * (a / b) / b if nb else None)


class Reciprocal(Function):
    """``1 / a`` (integers give the default float type); saves its output, as PyTorch:
    d/da = -g * out**2. ``number / tensor`` is ``reciprocal(tensor) * number``, as PyTorch
    computes it (same values, and the input is not saved)."""

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype.kind != "f":
            x = x.astype(_dtype.get_default_dtype().np)
        out = 1 / x
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return -g * (out * out)


class Neg(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        if a._data.dtype.kind == "b":
            raise RuntimeError(_NEG_BOOL)
        return -a._data

    @staticmethod
    def backward(ctx, g):
        return -g



# -- public functions -----------------------------------------------------------------------
def binary(fn, op, a, b):
    """``fn.apply(a, b)`` by the shortest lane: just ``op`` on the arrays when no graph is
    recorded and no type promotion is needed (the path of every backward formula and every
    update), ``apply_plain`` when a graph is recorded for operands of one dtype, else
    ``apply``. (With grad enabled a view may have gained a history through its base: it is
    recorded, by ``apply``, which re-derives that history.)"""
    if type(b) is Tensor:
        if not (a._backend is b._backend and a._data.dtype is b._data.dtype
                and (fn is not Div or a._data.dtype.kind == "f")):  # int / int -> float32
            return fn.apply(a, b)
        if grad_state.enabled and (a._requires_grad or b._requires_grad
                                   or a._base is not None or b._base is not None):
            return apply_plain(fn, a, b)
        y = b._data
    elif type(b) is float and a._data.dtype.kind == "f":
        if grad_state.enabled and (a._requires_grad or a._base is not None):
            return apply_plain(fn, a, b)
        y = b
    else:
        return fn.apply(a, b)
    try:
        out = op(a._data, y)
    except (ValueError, TypeError):  # apply raises PyTorch's error: the broadcasting error
        return fn.apply(a, b)        # with both shapes, or bool subtraction's
    if type(out) is not a._backend.array_type:
        out = a._backend.asarray(out)
    return Tensor._make(out, a._backend)


def _checked_alpha(a, b, alpha):
    """``alpha`` of ``add``/``sub`` after PyTorch's checks against the result type of ``a``
    and ``b``: no float alpha for an integer result, no bool alpha for a non-bool one, an
    alpha must fit it (int32, float16...); a bool result takes alpha as a bool."""
    if isinstance(alpha, Tensor):
        alpha = alpha.item()
    dt = _dtype.promote_types_of(a, b)
    if isinstance(alpha, float) and not dt.is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if isinstance(alpha, bool) and dt is not _dtype.bool_:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    alpha = checked_scalar(alpha, dt, float_range=True)
    return (bool(alpha) if dt is _dtype.bool_ else alpha), dt


def _number_times_alpha(b, alpha, dt: _dtype.dtype):
    """``b * alpha`` for a number ``b``, as the result type ``dt`` holds it: a float for a
    float result, wrapped for an integer one (no OverflowError), a bool for a bool one."""
    if type(b) is int:
        int_range(b)  # OverflowError past int64/uint64 even when alpha is 0
    if dt is _dtype.bool_:
        return b and alpha
    if dt.is_floating_point:
        return float(b) * alpha
    return wrap_int((b * alpha) & (2**64 - 1), dt.np)


def _add_alpha(a, b, alpha, subtract: bool):
    """``a + alpha * b`` (``a - alpha * b``) with ``alpha`` other than the int 1."""
    if subtract:  # a bool operand is refused before alpha could hide it
        _no_bool_sub(*((a, b) if isinstance(a, Tensor) else (b, a)))
    alpha, dt = _checked_alpha(a, b, alpha)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return AddAlpha.apply(a, b, alpha, subtract)
    if not isinstance(b, Tensor):
        b = _number_times_alpha(b, alpha, dt)
        return Sub.apply(a, b) if subtract else Add.apply(a, b)
    b = (b if b.dtype is dt else b.to(dt)) * alpha  # a number ``a``: b's shape is the result's
    return RSub.apply(b, a) if subtract else Add.apply(b, a)


def _no_tensor(name: str, a, b) -> TypeError:
    return TypeError(f"{name}(): expected a Tensor argument, got {type(a).__name__} and "
                     f"{type(b).__name__} (tensorcore's functions take a tensor)")


def add(a, b, *, alpha=1):
    """``a + alpha * b``."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise _no_tensor("add", a, b)
    if alpha != 1 or type(alpha) is not int:
        return _add_alpha(a, b, alpha, False)
    if not isinstance(a, Tensor):
        a, b = b, a
    return Add.apply(a, b)


def sub(a, b, *, alpha=1):
    """``a - alpha * b``."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise _no_tensor("sub", a, b)
    if alpha != 1 or type(alpha) is not int:
        return _add_alpha(a, b, alpha, True)
    if not isinstance(a, Tensor):
        return RSub.apply(b, a)
    return Sub.apply(a, b)


def rsub(a, b, *, alpha=1):
    """``b - alpha * a``."""
    return sub(b, a, alpha=alpha)


def mul(a, b):
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise _no_tensor("mul", a, b)
        a, b = b, a
    return Mul.apply(a, b)


def div(a, b, *, rounding_mode=None):
    """``a / b``; ``rounding_mode="trunc"`` or ``"floor"`` rounds the quotient (integers stay
    integers, as in PyTorch; the gradient is zero)."""
    if rounding_mode is not None:
        return div_rounded(a, b, rounding_mode)
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise _no_tensor("div", a, b)
        return rdiv(b, a)
    return Div.apply(a, b)


def rdiv(a, b):
    """``b / a``: ``reciprocal(a) * b`` for a number ``b``, as PyTorch computes it."""
    b = _as_operand(b, a)
    if isinstance(b, Tensor):
        return Div.apply(b, a)
    r = reciprocal(a)
    if type(b) is int and not -2**31 <= b < 2**31:
        b = wrap_int(b, r._data.dtype)  # OverflowError past uint64, as PyTorch
    return binary(Mul, _op.mul, r, float(b))  # a float: the shortest lane


def reciprocal(a):
    if a._data.dtype.kind == "f":  # the lanes of ``binary``
        if not (grad_state.enabled and (a._requires_grad or a._base is not None)):
            out = 1 / a._data
            if type(out) is not a._backend.array_type:
                out = a._backend.asarray(out)
            return Tensor._make(out, a._backend)
        return apply_plain(Reciprocal, a)
    return Reciprocal.apply(a)


def neg(a):
    return Neg.apply(a)



true_divide = divide = div
multiply = mul
subtract = sub

