"""Rounding division and remainders: ``//``, ``%``, ``fmod`` and ``div(rounding_mode=...)``,
each op's forward beside its backward, with PyTorch's rules.

``floor_divide`` rounds toward -inf, ``div(rounding_mode="trunc")`` toward zero; ``remainder``
(``%``) has the sign of the divisor, ``fmod`` the sign of the dividend. Integer operands give
integer results, and an integer division by zero raises (RuntimeError "ZeroDivisionError", as
PyTorch on the CPU) unless the result is empty. Gradients follow PyTorch: ``remainder`` and
``fmod`` pass ``g`` to the dividend and ``-g * floor(a / b)`` / ``-g * trunc(a / b)`` to the
divisor; ``div`` with a rounding mode has a zero gradient; ``floor_divide`` and
``number % tensor`` have none (backward raises, as in PyTorch).

>>> import tensorcore as tc
>>> t = tc.tensor([7, -7])
>>> (t // 2).tolist(), (t % 2).tolist(), tc.fmod(t, 2).tolist()
([3, -4], [1, 1], [1, -1])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import as_operand, operands, wrap_int
from .inplace import arith_inplace, check_cast, inplace_operand


def _int_trunc_div(xp, x, y):
    """Integer division rounded toward zero: the floor quotient, plus one where the division
    is inexact and the signs differ."""
    q = x // y
    return q + ((x % y != 0) & ((x < 0) != (y < 0))).astype(q.dtype)


# op name -> (float kernel, integer kernel), each f(xp, x, y)
_KERNELS = {
    "floor_divide": (lambda xp, x, y: xp.floor_divide(x, y),) * 2,
    "remainder": (lambda xp, x, y: xp.remainder(x, y),) * 2,
    "fmod": (lambda xp, x, y: xp.fmod(x, y),) * 2,
    "trunc": (lambda xp, x, y: xp.trunc(x / y), _int_trunc_div),
}


def _compute(op: str, a: Tensor, b, reflected: bool = False):
    """``op(a, b)`` (``op(b, a)`` when ``reflected``; ``b`` a tensor or a number) on the
    promoted arrays: bool operands raise NotImplementedError as in PyTorch, an integer
    divisor holding a zero raises RuntimeError."""
    x, y = operands(a, b)
    xp = a._backend.xp
    if x.dtype.kind == "f":
        return _KERNELS[op][0](xp, *((y, x) if reflected else (x, y)))
    if x.dtype.kind == "b":  # bool with a bool (or a Python int: the result is int64)
        if type(y) is bool or not isinstance(y, int) and y.dtype.kind == "b":
            raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
        x = x.astype(np.int64)
    if not hasattr(y, "dtype"):
        y = xp.asarray(y, dtype=x.dtype)
    if reflected:
        x, y = y, x
    # PyTorch raises only when a zero divisor is used: never for an empty result (a zero
    # divisor with an empty dividend, or an empty divisor); both non-empty, every divisor
    # element is used by the broadcast result
    if x.size and not a._backend.capturing() and bool((y == 0).any()):
        raise RuntimeError("ZeroDivisionError")
    return _KERNELS[op][1](xp, x, y)


class _NoDerivative(Function):
    """An op PyTorch records without a derivative: backward raises as it does."""

    op = ""

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"derivative for {type(ctx).op} is not implemented")


class FloorDivide(_NoDerivative):
    op = "floor_divide"

    @staticmethod
    def forward(ctx, a, b):
        return _compute("floor_divide", a, b)


class RFloorDivide(_NoDerivative):
    """``b // a`` with ``b`` a number."""

    op = "floor_divide"

    @staticmethod
    def forward(ctx, a, b):
        return _compute("floor_divide", a, b, reflected=True)


class RRemainder(_NoDerivative):
    """``b % a`` with ``b`` a number (PyTorch has no derivative for it)."""

    op = "remainder"

    @staticmethod
    def forward(ctx, a, b):
        return _compute("remainder", a, b, reflected=True)


class DivMode(Function):
    """``div(a, b, rounding_mode=...)``: the rounded quotient, a zero gradient (PyTorch's
    ``grad * 0``). ``reflected``: ``b`` is the dividend."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b, mode, reflected):
        return _compute("trunc" if mode == "trunc" else "floor_divide", a, b, reflected)

    @staticmethod
    def backward(ctx, g):
        na, nb, _, _ = ctx.needs_input_grad
        return (g * 0 if na else None), (g * 0 if nb else None), None, None


class _RoundedRemainder(Function):
    """``a - round(a / b) * b`` with the class's rounding (``op``: its kernel): d/da = g,
    d/db = -g * round(a / b). Saves ``a`` and ``b`` only when ``b`` needs a gradient."""

    op = rounding = None

    @staticmethod
    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return _compute(type(ctx).op, a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        gb = None
        if nb:
            a, b = ctx.saved_tensors
            gb = -g * div_rounded(a, b, type(ctx).rounding)
        return (g if na else None), gb


class Remainder(_RoundedRemainder):
    """``a % b``, the sign of ``b`` (floor rounding)."""

    op, rounding = "remainder", "floor"


class Fmod(_RoundedRemainder):
    """``fmod(a, b)``, the sign of ``a`` (trunc rounding)."""

    op, rounding = "fmod", "trunc"


# -- public functions -----------------------------------------------------------------------
def _tensor_first(name: str, a, b):
    """``(tensor, other, reflected)`` for a binary op of a tensor and a tensor or number."""
    if isinstance(a, Tensor):
        return a, as_operand(b, a), False
    if isinstance(b, Tensor):
        return b, as_operand(a, b), True
    raise TypeError(f"{name}(): expected a Tensor argument, got {type(a).__name__} and "
                    f"{type(b).__name__}")


def div_rounded(a, b, rounding_mode: str):
    """``div(a, b, rounding_mode=...)`` ("trunc" or "floor")."""
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    t, other, reflected = _tensor_first("div", a, b)
    if reflected and isinstance(other, Tensor):
        t, other, reflected = other, t, False
    return DivMode.apply(t, other, rounding_mode, reflected)


def floor_divide(a, b):
    """``a // b`` rounded toward -inf (integers stay integers). No gradient: backward through
    it raises, as in PyTorch."""
    t, other, reflected = _tensor_first("floor_divide", a, b)
    if not reflected:
        return FloorDivide.apply(t, other)
    if isinstance(other, Tensor):
        return FloorDivide.apply(other, t)
    return RFloorDivide.apply(t, other)


def remainder(a, b):
    """``a % b`` with the sign of ``b`` (Python's ``%``), as ``torch.remainder``."""
    t, other, reflected = _tensor_first("remainder", a, b)
    if not reflected:
        return Remainder.apply(t, other)
    if isinstance(other, Tensor):
        return Remainder.apply(other, t)
    return RRemainder.apply(t, other)


def fmod(a, b):
    """C's ``fmod``: the remainder with the sign of ``a``. ``a`` must be a tensor (as in
    PyTorch)."""
    if not isinstance(a, Tensor):
        raise TypeError(f"fmod(): argument 'input' must be Tensor, not {type(a).__name__}")
    return Fmod.apply(a, as_operand(b, a))


def _inplace(a: Tensor, other, out_of_place, op: str):
    """``a op= other`` through the in-place machinery (``inplace.arith_inplace``), after
    PyTorch's checks in its order: bool operands raise, the result type must cast to
    ``a``'s, an integer zero divisor raises. ``other`` is a tensor or a number (as in
    PyTorch: no list)."""
    other = inplace_operand(a, other)
    if type(other) is int and not -2**31 <= other < 2**31:
        other = wrap_int(other, a._data.dtype)
    dt = _dtype.promote_types_of(a, other)
    if dt is _dtype.bool_:
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
    check_cast(dt.np, a._data.dtype)
    if not dt.is_floating_point and a._data.size and not a._backend.capturing():
        zero = (other._data == 0).any() if isinstance(other, Tensor) else other == 0
        if bool(zero):
            raise RuntimeError("ZeroDivisionError")
    return arith_inplace(a, other, out_of_place)


def floor_divide_(a, other):
    """``a //= other`` in place."""
    return _inplace(a, other, floor_divide, "floor_divide")


def remainder_(a, other):
    """``a %= other`` in place."""
    return _inplace(a, other, remainder, "remainder")


def fmod_(a, other):
    """``fmod`` in place."""
    return _inplace(a, other, fmod, "fmod")
