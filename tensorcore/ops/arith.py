"""Elementwise arithmetic, comparisons and selection: each op's forward beside its backward.

Gradients may come out with the broadcast shape; the engine sums them back to each input's
shape, so no op here thinks about broadcasting.

>>> import tensorcore as tc
>>> a = tc.tensor([1.0, 2.0], requires_grad=True)
>>> (a * 3 + 1).sum().backward(); a.grad.tolist()
[3.0, 3.0]
"""

from __future__ import annotations

import math
import operator as _operator

from ..autograd.function import Function, apply_plain
from ..autograd.grad_mode import _State
from ..tensor import Tensor
from ._util import as_tensor_like, const, operands

TENSOR_METHODS = ["add", "sub", "mul", "div", "pow", "neg", "maximum", "minimum", "clamp",
                  "clip", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and",
                  "logical_or", "where", "true_divide", "multiply", "subtract", "divide"]
__all__ = sorted(set(TENSOR_METHODS) | {
    "add", "sub", "rsub", "mul", "div", "rdiv", "pow", "rpow", "neg"})



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
        return y - x

    @staticmethod
    def backward(ctx, g):
        return -g, None


class Mul(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = operands(a, b)
        return x * y

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        if x.dtype.kind != "f":  # true division of integers gives the default float type
            from .. import _dtype
            x = x.astype(_dtype.get_default_dtype().np)
            if not isinstance(y, (int, float)):
                y = y.astype(x.dtype)  # else int64 / float32 -> float64
        ctx.save_for_backward(a, b)
        return x / y

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g / b if na else None), (-g * a / (b * b) if nb else None)


class RDiv(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):  # b / a with b a scalar
        x, y = operands(a, b)
        if x.dtype.kind != "f":  # true division of integers gives the default float type
            from .. import _dtype
            x = x.astype(_dtype.get_default_dtype().np)
        ctx.save_for_backward(a, b)
        return y / x

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return -g * b / (a * a), None


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        out = x ** y
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = g * b * a ** (b - 1) if na else None
        gb = None
        if nb:
            safe_log = a.log().masked_fill(a <= 0, 0.0)
            gb = g * out * safe_log
        return ga, gb


class RPow(Function):
    @staticmethod
    def forward(ctx, a, b):  # b ** a with b a scalar
        x, y = operands(a, b)
        out = y ** x
        ctx.save_for_backward(out)
        ctx.log_base = math.log(b) if b > 0 else math.nan
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * ctx.log_base, None


class Neg(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        return -a._data

    @staticmethod
    def backward(ctx, g):
        return -g


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        xp = a._backend.xp
        ctx.a_wins = x > y
        ctx.tie = x == y
        return xp.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _select_grads(ctx, g)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        xp = a._backend.xp
        ctx.a_wins = x < y
        ctx.tie = x == y
        return xp.minimum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _select_grads(ctx, g)


def _select_grads(ctx, g):
    """Gradient of max/min: to the winner; a tie splits it evenly, as PyTorch does."""
    wins, tie = const(g, ctx.a_wins), const(g, ctx.tie)
    share_a = wins + tie * 0.5
    na, nb = ctx.needs_input_grad
    return (g * share_a if na else None), (g * (1 - share_a) if nb else None)


class Clamp(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        from .. import _dtype

        if lo is None and hi is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        dt = a.dtype  # promoted as PyTorch does: an int tensor with a float bound gives float
        for v in (lo, hi):
            if isinstance(v, Tensor):
                dt = _dtype.result_type(dt, v.dtype)
            elif isinstance(v, float) and not dt.is_floating_point:
                dt = _dtype.get_default_dtype()
        x = a._data.astype(dt.np, copy=False)
        xp = a._backend.xp
        lo_v = lo._data.astype(dt.np, copy=False) if isinstance(lo, Tensor) else lo
        hi_v = hi._data.astype(dt.np, copy=False) if isinstance(hi, Tensor) else hi
        keep = xp.ones(x.shape, dtype=bool)
        out = x
        if lo is not None:
            keep = keep & (x >= lo_v)
            out = xp.maximum(out, lo_v)
        if hi is not None:
            keep = keep & (x <= hi_v)
            out = xp.minimum(out, hi_v)
        ctx.keep = keep
        # tensor bounds get gradients where they win (PyTorch's clamp_backward_min_max)
        _, nlo, nhi = ctx.needs_input_grad
        if nlo:
            ctx.lo_wins = (x < lo_v) & (lo_v < hi_v) if hi is not None else x < lo_v
        if nhi:
            ctx.hi_wins = (x > hi_v) | (hi_v < lo_v) if lo is not None else x > hi_v
        return out.astype(x.dtype, copy=False) if out is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        _, nlo, nhi = ctx.needs_input_grad
        return (g * const(g, ctx.keep), g * const(g, ctx.lo_wins) if nlo else None,
                g * const(g, ctx.hi_wins) if nhi else None)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        xp = (a if isinstance(a, Tensor) else b)._backend.xp
        c = cond._data if isinstance(cond, Tensor) else cond
        ctx.cond = c.astype(bool, copy=False)
        # promoted as PyTorch does (an int tensor with a float scalar gives float32)
        x, y = operands(a, b) if isinstance(a, Tensor) else operands(b, a)[::-1]
        return xp.where(ctx.cond, x, y)

    @staticmethod
    def backward(ctx, g):
        c = const(g, ctx.cond)
        _, na, nb = ctx.needs_input_grad
        return None, (g * c if na else None), (g * (~c) if nb else None)


# -- public functions -----------------------------------------------------------------------
def binary(fn, op, a, b):
    """``fn.apply(a, b)`` by the shortest lane: just ``op`` on the arrays when no graph is
    recorded and no type promotion is needed (the path of every backward formula and every
    update), ``apply_plain`` when a graph is recorded for plain operands, else ``apply``.
    (With grad enabled, views go through ``apply``, which re-derives a stale view's history.)"""
    if type(b) is Tensor:
        if not (a._backend is b._backend and a._data.dtype is b._data.dtype
                and (fn is not Div or a._data.dtype.kind == "f")):  # int / int -> float32
            return fn.apply(a, b)
        if _State.enabled and (a._requires_grad or b._requires_grad
                               or a._base is not None or b._base is not None):
            if a._base is None and b._base is None:
                return apply_plain(fn, a, b)
            return fn.apply(a, b)
        y = b._data
    elif type(b) is float and a._data.dtype.kind == "f":
        if _State.enabled and (a._requires_grad or a._base is not None):
            return fn.apply(a, b) if a._base is not None else apply_plain(fn, a, b)
        y = b
    else:
        return fn.apply(a, b)
    try:
        out = op(a._data, y)
    except ValueError:
        return fn.apply(a, b)  # raises the broadcasting error with both shapes
    if type(out) is not a._backend.array_type:
        out = a._backend.asarray(out)
    return Tensor._make(out, a._backend)


def add(a, b, *, alpha=1):
    if not isinstance(a, Tensor):
        a, b = b, a
    return Add.apply(a, b if alpha == 1 else b * alpha)


def sub(a, b, *, alpha=1):
    if not isinstance(a, Tensor):
        return RSub.apply(b, a)
    return Sub.apply(a, b if alpha == 1 else b * alpha)


def rsub(a, b):
    return RSub.apply(a, b)


def mul(a, b):
    if not isinstance(a, Tensor):
        a, b = b, a
    return Mul.apply(a, b)


def div(a, b, *, rounding_mode=None):
    if rounding_mode is not None:
        q = (a / b)
        return q.floor() if rounding_mode == "floor" else q.trunc()
    if not isinstance(a, Tensor):
        return RDiv.apply(b, a)
    return Div.apply(a, b)


def rdiv(a, b):
    return RDiv.apply(a, b)


def pow(a, b):
    if not isinstance(a, Tensor):
        return RPow.apply(b, a)
    return Pow.apply(a, b)


def rpow(a, b):
    return RPow.apply(a, b)


def neg(a):
    return Neg.apply(a)


def maximum(a, b):
    return Maximum.apply(a, as_tensor_like(b, a))


def minimum(a, b):
    return Minimum.apply(a, as_tensor_like(b, a))


def clamp(a, min=None, max=None):
    return Clamp.apply(a, min, max)


def where(condition, a, b):
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError("where: at least one of the two value arguments must be a Tensor")
    return Where.apply(condition, a, b)


true_divide = divide = div
multiply = mul
subtract = sub
clip = clamp


def _compare(name):
    compare = getattr(_operator, name.strip("_"))  # reflects properly when ``a`` is a scalar

    def op(a, b):
        t = a if isinstance(a, Tensor) else b
        x, y = operands(a, b) if t is a else operands(b, a)[::-1]
        try:
            out = compare(x, y)
        except ValueError as e:
            shapes = " and ".join(str(list(v.shape)) for v in (a, b) if isinstance(v, Tensor))
            raise RuntimeError(f"{op.__name__}: the shapes {shapes} cannot be broadcast "
                               f"together ({e})") from None
        if type(out) is not t._backend.array_type:  # 0-d operands give a NumPy scalar
            out = t._backend.asarray(out)
        return Tensor._make(out, t._backend)
    op.__name__ = name.strip("_")
    op.__doc__ = f"Elementwise ``{name}`` as a bool tensor (no gradient)."
    return op


eq, ne, lt, le, gt, ge = (_compare(f"__{n}__") for n in ("eq", "ne", "lt", "le", "gt", "ge"))


def logical_not(a):
    return Tensor._make(a._backend.xp.logical_not(a._data), a._backend)


def logical_and(a, b):
    x, y = operands(a, b)
    return Tensor._make(a._backend.xp.logical_and(x, y), a._backend)


def logical_or(a, b):
    x, y = operands(a, b)
    return Tensor._make(a._backend.xp.logical_or(x, y), a._backend)
