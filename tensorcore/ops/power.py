"""Powers: ``a ** b`` with a tensor or number exponent and ``number ** tensor``, each op's
forward beside its backward, with PyTorch's result types, checked exponents and gradients at
singular points (``x ** 0`` has a zero gradient at 0, ``0 ** y`` for ``y >= 0`` too).

>>> import tensorcore as tc
>>> x = tc.tensor([0.0, 2.0], requires_grad=True)
>>> (x ** 2).sum().backward(); x.grad.tolist()
[0.0, 4.0]
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import as_operand as _as_operand
from ._util import checked_scalar, const, operands
from .select import where


def _int_pow(xp, x, y):
    """``x ** y`` for integer arrays as PyTorch: a negative exponent gives 1 for base 1,
    +-1 for base -1 and 0 otherwise (NumPy refuses negative integer powers)."""
    neg = y < 0
    if not neg.any():
        return x ** y
    out = x ** xp.where(neg, 0, y)
    special = xp.where(x == 1, 1, xp.where(x == -1, 1 - 2 * (y & 1), 0))
    return xp.where(neg, special, out).astype(out.dtype, copy=False)


def _pow_by_number(a: Tensor, b):
    """``a ** b`` with ``b`` a Python number: PyTorch's result dtype, its checked conversion
    of ``b`` and its refusal of negative integer powers of integers."""
    x = a._data
    if x.dtype.kind == "f" and x.dtype.itemsize > 2 and (
            type(b) is float or type(b) is int) and -2**24 <= b <= 2**24:
        return x ** b  # the common case, cheaply (b is exact in float32)
    dt = _dtype.promote_types_of(a, b)
    b = checked_scalar(b, dt, float_range=dt is _dtype.float16)  # PyTorch: float32 takes any
    if dt is _dtype.float32:  # PyTorch keeps the exponent a double (2**24 + 1 stays odd)
        return (x.astype(np.float64) ** float(b)).astype(np.float32)
    if x.dtype != dt.np:
        x = x.astype(dt.np)
    if dt is _dtype.bool_:  # bool ** bool: True ** b is True, False ** b is not b
        return x.copy() if b else a._backend.xp.ones_like(x)
    if not dt.is_floating_point and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return x ** b


class Pow(Function):
    """``a ** b`` (``b`` a tensor or a number) with PyTorch's gradients: zero for ``a`` where
    the exponent is 0 (also at a = 0), zero for ``b`` where a = 0 and b >= 0, NaN for ``b``
    at a negative base (log of it). Saves ``a`` and ``b`` when either needs a gradient, the
    output only when ``b`` does."""

    @staticmethod
    def forward(ctx, a, b):
        if isinstance(b, Tensor):
            x, y = operands(a, b)
            kind = x.dtype.kind
            if kind == "b":
                raise NotImplementedError("\"pow\" not implemented for 'Bool'")
            out = _int_pow(a._backend.xp, x, y) if kind in "iu" else x ** y
        else:
            out = _pow_by_number(a, b)
        na, nb = ctx.needs_input_grad
        if nb:
            ctx.save_for_backward(a, b, out)
        elif na:
            ctx.save_for_backward(a, b, None)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            if not isinstance(b, Tensor):
                # zero for a zero exponent; PyTorch's test misses False: g * 0 * a ** -1
                ga = (const(g, g._backend.xp.zeros_like(g._data))
                      if b == 0 and type(b) is not bool else g * b * a ** (b - 1))
            else:
                ga = where(b == 0, 0.0, g * b * a ** (b - 1))
        if nb:
            base = a if a.dtype == out.dtype else a.to(out.dtype)
            gb = g * where((a == 0) & (b >= 0), 0.0, out * base.log())
        return ga, gb


class RPow(Function):
    """``b ** a`` with ``b`` a number: d/da = out * log(b), zero where b = 0 and a >= 0
    (PyTorch), NaN for a negative base."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        kind = x.dtype.kind
        xp = a._backend.xp
        if kind == "b" and type(y) is bool:
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        if kind in "iu":
            out = _int_pow(xp, xp.asarray(y, dtype=x.dtype), x)
        else:
            out = y ** x
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a if y == 0 else None, out)
            ctx.log_base = math.log(y) if y > 0 else -math.inf if y == 0 else math.nan
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        d = out * ctx.log_base
        if a is not None:  # base 0: PyTorch's gradient is 0 where the exponent is >= 0
            d = where(a >= 0, 0.0, d)
        return g * d, None


# -- public functions -----------------------------------------------------------------------
def pow(a, b):
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"pow(): expected a Tensor argument, got {type(a).__name__} and "
                            f"{type(b).__name__} (tensorcore's functions take a tensor)")
        return rpow(b, a)
    return Pow.apply(a, _as_operand(b, a))


def rpow(a, b):
    """``b ** a``."""
    b = _as_operand(b, a)
    if isinstance(b, Tensor):
        return Pow.apply(b, a)
    return RPow.apply(a, b)
