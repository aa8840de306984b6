"""In-place arithmetic with PyTorch's rules: ``add_``, ``sub_``, ``mul_``, ``div_`` (with
``rounding_mode``), ``pow_``, ``clamp_``, ``bitwise_and_``/``or_``/``xor_``, their PyTorch
aliases, and through them ``+= -= *= /= **= &= |= ^=`` (``//=`` and ``%=`` are in
``division``).

Each computes its out-of-place op, with that op's promotion, checks and errors (a Python int
wraps to an int32 tensor's range, ``alpha`` is checked against the result type, ``-`` refuses
bools...), and ``inplace.inplace`` writes the result into the tensor: it must keep the
tensor's shape and cast to its dtype, and the tensor may not be an expanded one.

>>> import tensorcore as tc
>>> t = tc.tensor([1, 2], dtype=tc.int32)
>>> t += 2**32 + 1; t.tolist()
[2, 3]
>>> t += 0.5
Traceback (most recent call last):
    ...
RuntimeError: result type Float can't be cast to the desired output type Int
"""

from __future__ import annotations

from .. import _dtype
from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from .arith import add, bitwise_and, bitwise_or, bitwise_xor, clamp, div, pow, sub
from .inplace import arith_inplace, check_broadcasts_to, check_cast, inplace, inplace_operand

TENSOR_METHODS = ["add_", "sub_", "mul_", "div_", "pow_", "clamp_", "clip_", "bitwise_and_",
                  "bitwise_or_", "bitwise_xor_", "true_divide_", "divide_", "multiply_",
                  "subtract_"]
__all__ = sorted(TENSOR_METHODS)

_FLOAT16_MAX = 65504.0


def _bare(a: Tensor, other, name: str, alpha=1) -> bool:
    """The update lane (a parameter step under ``no_grad``, a counter's ``+= 1``): no graph
    to record, ``a`` a float or integer tensor that is not a view, ``other`` a tensor of its
    dtype and backend or a plain number of its kind, ``alpha`` 1 or (float ``a``) a plain
    number that fits any float type: one NumPy call (or the backend's ``axpy_``) on the
    arrays, which gives what the out-of-place op would. False where that does not hold or
    NumPy refuses (a read-only array, shapes that do not broadcast to ``a``'s, an integer
    quotient): the general path then decides, with PyTorch's errors."""
    to = type(other)
    if a._base is not None or grad_state.enabled and (
            a._requires_grad or to is Tensor and other._requires_grad):
        return False
    x = a._data
    kind = x.dtype.kind
    if to is Tensor:
        if other._backend is not a._backend or other._data.dtype is not x.dtype:
            return False
        o = other._data
    elif to is float and kind == "f" or to is int and -2**31 <= other < 2**31:
        o = other
    else:
        return False
    if kind != "f" and (kind != "i" or name == "div"):
        return False
    if not (type(alpha) is int and alpha == 1):
        if kind != "f" or not (type(alpha) is float and -_FLOAT16_MAX <= alpha <= _FLOAT16_MAX
                               or type(alpha) is int and -2**31 <= alpha < 2**31):
            return False  # the general path checks alpha as PyTorch does
    xp = a._backend.xp
    try:
        if name == "add":
            if alpha != 1 and to is Tensor:
                a._backend.axpy_(x, alpha, o)
            else:
                xp.add(x, o * alpha if alpha != 1 else o, out=x)
        elif name == "sub":
            if alpha != 1 and to is Tensor:
                a._backend.axpy_(x, -alpha, o)
            else:
                xp.subtract(x, o * alpha if alpha != 1 else o, out=x)
        elif name == "mul":
            xp.multiply(x, o, out=x)
        else:
            xp.true_divide(x, o, out=x)
    except (ValueError, TypeError):  # NumPy refused before writing anything
        return False
    a._version_box[0] += 1
    return True


def add_(a, other, *, alpha=1):
    """``a += alpha * other``."""
    if _bare(a, other, "add", alpha):
        return a
    if type(alpha) is int and alpha == 1:
        return arith_inplace(a, other, lambda t, o: t + o)
    return arith_inplace(a, other, lambda t, o: add(t, o, alpha=alpha))


def sub_(a, other, *, alpha=1):
    """``a -= alpha * other``."""
    if _bare(a, other, "sub", alpha):
        return a
    if type(alpha) is int and alpha == 1:
        return arith_inplace(a, other, lambda t, o: t - o)
    return arith_inplace(a, other, lambda t, o: sub(t, o, alpha=alpha))


def mul_(a, other):
    if _bare(a, other, "mul"):
        return a
    return arith_inplace(a, other, lambda t, o: t * o)


def div_(a, other, *, rounding_mode=None):
    """``a /= other``; with ``rounding_mode`` ("trunc" or "floor") ``div``'s rounded
    quotient (an integer tensor can then be divided in place)."""
    if rounding_mode is None:
        if _bare(a, other, "div"):
            return a
        return arith_inplace(a, other, lambda t, o: t / o)
    return arith_inplace(a, other, lambda t, o: div(t, o, rounding_mode=rounding_mode))


def true_divide_(a, other):
    return div_(a, other)


def pow_(a, exponent):
    """``a **= exponent``."""
    return arith_inplace(a, exponent, pow)


def clamp_(a, min=None, max=None):
    bounds = [None if b is None else inplace_operand(a, b) for b in (min, max)]
    return inplace(a, lambda t: clamp(t, *bounds), bounds)


def _bitwise(out_of_place):
    def op(a, other):
        # PyTorch checks the result's shape and type before the kernel refuses floats
        other = inplace_operand(a, other)
        if isinstance(other, Tensor):
            check_broadcasts_to(other._data.shape, a._data.shape)
        check_cast(_dtype.promote_types_of(a, other).np, a._data.dtype)
        return arith_inplace(a, other, out_of_place)
    op.__name__ = out_of_place.__name__ + "_"
    op.__doc__ = f"``{out_of_place.__name__}`` in place (integer and bool tensors)."
    return op


bitwise_and_, bitwise_or_, bitwise_xor_ = (_bitwise(f) for f in (bitwise_and, bitwise_or,
                                                                  bitwise_xor))
clip_ = clamp_
divide_, multiply_, subtract_ = div_, mul_, sub_
