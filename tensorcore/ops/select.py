"""Selection and comparison: maximum, minimum, clamp, where, the comparisons and the logical
ops, each op's forward beside its backward, with PyTorch's promotion and gradients.

>>> import tensorcore as tc
>>> x = tc.tensor([-1.0, 0.5, 2.0], requires_grad=True)
>>> tc.where(x > 0, x, 0.0).clamp(max=1.0).sum().backward(); x.grad.tolist()
[0.0, 1.0, 0.0]
"""

from __future__ import annotations

import operator as _operator

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..compiler.traced import shape_from_values
from ..tensor import Tensor
from ._util import as_operand, checked_scalar, const, operands, tensors_only


class _Extreme(Function):
    """``maximum`` / ``minimum``: saves both inputs (as PyTorch); the gradient goes to the
    winner, split on a tie, and to both where either is NaN (neither loses)."""

    @staticmethod
    def pick(xp, x, y):  # the elementwise winner's array function
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, a, b):
        x, y = operands(a, b)
        if True in ctx.needs_input_grad:
            ctx.save_for_backward(a, b)
        return cls.pick(a._backend.xp, x, y)

    @staticmethod
    def loses(a, b):  # where a loses to b
        raise NotImplementedError

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        return _select_grads(ctx, g, a, b, cls.loses(a, b), cls.loses(b, a))


class Maximum(_Extreme):
    pick = staticmethod(lambda xp, x, y: xp.maximum(x, y))
    loses = staticmethod(lambda a, b: a < b)


class Minimum(_Extreme):
    pick = staticmethod(lambda xp, x, y: xp.minimum(x, y))
    loses = staticmethod(lambda a, b: a > b)


def _select_grads(ctx, g, a, b, a_loses, b_loses):
    """Gradient of maximum/minimum, PyTorch's formula: ``g`` (halved on a tie) to each input
    except where it loses; a NaN loses nowhere."""
    half = where(a == b, g / 2, g)
    na, nb = ctx.needs_input_grad
    return (where(a_loses, 0.0, half) if na else None), (where(b_loses, 0.0, half) if nb else None)


def _clamp_bound(v, dt: _dtype.dtype):
    if isinstance(v, Tensor):
        return v._data.astype(dt.np, copy=False)
    return checked_scalar(v, dt, float_range=True)


class Clamp(Function):
    """``min(max(a, lo), hi)``. The gradient masks are PyTorch's ``clamp_backward_min_max``
    (NaN inputs get none), taken from the forward's values: the node saves no tensor, so an
    in-place change of ``a`` after the clamp (an in-place activation built on it) is no
    error."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        # promoted as PyTorch does: an int tensor with a float bound gives float
        dt = _dtype.promote_types_of(a, *[v for v in (lo, hi) if v is not None])
        if dt is _dtype.bool_ and (lo is not None and hi is not None
                                   or not isinstance(lo if hi is None else hi, Tensor)):
            # PyTorch: a bool clamp is a maximum or minimum with one tensor bound only
            raise NotImplementedError("\"clamp\" not implemented for 'Bool' (with a number "
                                      "bound or two bounds)")
        x = a._data.astype(dt.np, copy=False)
        xp = a._backend.xp
        lo_v = None if lo is None else _clamp_bound(lo, dt)
        hi_v = None if hi is None else _clamp_bound(hi, dt)
        out = x
        if lo is not None:
            out = xp.maximum(out, lo_v)
        if hi is not None:
            out = xp.minimum(out, hi_v)
        if True in ctx.needs_input_grad:
            ctx.masks = _clamp_masks(x, lo_v, hi_v)
        return out.astype(dt.np, copy=False)

    @staticmethod
    def backward(ctx, g):
        return tuple(None if m is None or not need else where(const(g, m), g, 0.0)
                     for m, need in zip(ctx.masks, ctx.needs_input_grad))


def _clamp_masks(x, lo, hi):
    """Where ``a``, ``lo`` and ``hi`` get the gradient (PyTorch's rules; a bound above the
    other loses to it)."""
    if lo is not None and hi is not None:
        return (x >= lo) & (x <= hi), (lo > x) & (lo < hi), (hi < x) | (hi < lo)
    if lo is not None:
        return x >= lo, lo > x, None
    return x <= hi, None, hi < x


def _where_operand(v, dt: _dtype.dtype, xp):
    if isinstance(v, Tensor):
        return v._data if v._data.dtype == dt.np else v._data.astype(dt.np)
    # PyTorch checks a float32 result's range here, not a float16 one's
    return xp.asarray(checked_scalar(v, dt, float_range=dt is _dtype.float32), dtype=dt.np)


class Where(Function):
    """``where(cond, a, b)``; saves the condition (version-checked, as PyTorch) only when a
    value needs a gradient."""

    @staticmethod
    def forward(ctx, cond, a, b):
        xp = cond._backend.xp
        if type(a) is Tensor and type(b) is Tensor and a._data.dtype is b._data.dtype:
            x, y = a._data, b._data
        else:  # promoted as PyTorch does (an int tensor with a float scalar gives float32)
            dt = _dtype.promote_types_of(a, b)
            x, y = _where_operand(a, dt, xp), _where_operand(b, dt, xp)
        _, na, nb = ctx.needs_input_grad
        if na or nb:
            ctx.save_for_backward(cond)
        return xp.where(cond._data, x, y)

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        _, na, nb = ctx.needs_input_grad
        return None, (where(c, g, 0.0) if na else None), (where(c, 0.0, g) if nb else None)


# -- public functions -----------------------------------------------------------------------
def maximum(a, b):
    tensors_only("maximum", a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    tensors_only("minimum", a, b)
    return Minimum.apply(a, b)


def clamp(a, min=None, max=None):
    """``a`` limited to ``[min, max]``: both bounds numbers or both tensors (or None), as
    PyTorch's overloads take them (a 0-d tensor that needs no gradient passes for a number);
    any other tensor with a number is a TypeError there."""
    if isinstance(min, np.generic):
        min = min.item()
    if isinstance(max, np.generic):
        max = max.item()
    kinds = {_bound_kind(v) for v in (min, max) if v is not None}
    if kinds == {"tensor", "number"}:  # PyTorch takes a 0-d tensor without grad as a number
        min, max = (v.item() if _bound_kind(v) == "tensor" and v.ndim == 0
                    and not v.requires_grad else v for v in (min, max))
        kinds = {_bound_kind(v) for v in (min, max) if v is not None}
    if len(kinds) > 1 or "other" in kinds:
        got = ", ".join(f"{k}={type(v).__name__}" for k, v in (("min", min), ("max", max)))
        raise TypeError(f"clamp() received an invalid combination of arguments - got ({got}): "
                        f"min and max must both be numbers or both be Tensors")
    return Clamp.apply(a, min, max)


def _bound_kind(v) -> str:
    """Which of PyTorch's clamp overloads a bound selects."""
    return "tensor" if isinstance(v, Tensor) else "number" if isinstance(v, (int, float)) \
        else "other"


_MISSING = object()


def where(condition, input=_MISSING, other=_MISSING):
    """``input`` where ``condition`` holds, else ``other`` (tensors or numbers, promoted as
    ``+`` promotes them). ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``:
    the index tensors of its True elements."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not "
                        f"{type(condition).__name__}")
    if input is _MISSING and other is _MISSING:
        shape_from_values("where(condition) / nonzero")  # the count sets the shapes
        backend = condition._backend
        return tuple(Tensor._make(i.astype(np.int64, copy=False), backend)
                     for i in backend.xp.nonzero(condition._data))
    if input is _MISSING or other is _MISSING:
        raise TypeError("where() takes a condition alone, or a condition, input and other")
    if condition._data.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.name}")
    return Where.apply(condition, as_operand(input, condition), as_operand(other, condition))


def _where_method(self, condition, other):
    """``tensor.where(condition, other)``: PyTorch's method form, ``where(condition, tensor,
    other)``."""
    return where(condition, self, other)


Tensor.where = _where_method


clip = clamp


def _broadcast_error(name: str, a, b, e: ValueError) -> RuntimeError:
    """PyTorch's error class (RuntimeError) for operands whose shapes do not broadcast."""
    shapes = " and ".join(str(list(v.shape)) for v in (a, b) if isinstance(v, Tensor))
    return RuntimeError(f"{name}: the shapes {shapes} cannot be broadcast together ({e})")


def _compare(name, compare):
    def op(a, b):
        if not isinstance(a, Tensor):  # PyTorch has no (Number, Tensor) overload
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({type(a).__name__}, {type(b).__name__}): 'input' must be a "
                            f"Tensor")
        x, y = operands(a, b)
        try:
            out = compare(x, y)
        except ValueError as e:
            raise _broadcast_error(name, a, b, e) from None
        if type(out) is not a._backend.array_type:  # 0-d operands give a NumPy scalar
            out = a._backend.asarray(out)
        return Tensor._make(out, a._backend)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` as a bool tensor (no gradient)."
    return op


eq, ne, lt, le, gt, ge = (_compare(n, f) for n, f in (
    ("eq", _operator.eq), ("ne", _operator.ne), ("lt", _operator.lt), ("le", _operator.le),
    ("gt", _operator.gt), ("ge", _operator.ge)))


def _result(t: Tensor, out) -> Tensor:
    if type(out) is not t._backend.array_type:  # 0-d operands give a NumPy scalar
        out = t._backend.asarray(out)
    return Tensor._make(out, t._backend)


def _tensor_and_other(name: str, a, b):
    """``(tensor, other)`` of a commutative op taking a tensor and a tensor or number."""
    if isinstance(a, Tensor):
        return a, as_operand(b, a)
    if isinstance(b, Tensor):
        return b, as_operand(a, b)
    raise TypeError(f"{name}(): expected a Tensor argument, got {type(a).__name__} and "
                    f"{type(b).__name__}")


def logical_not(a):
    return _result(a, a._backend.xp.logical_not(a._data))


# name -> kernel(xp, x, y): the commutative logical and bitwise ops, rules as data
_LOGICAL = {
    "logical_and": lambda xp, x, y: xp.logical_and(x, y),
    "logical_or": lambda xp, x, y: xp.logical_or(x, y),
    "logical_xor": lambda xp, x, y: xp.logical_xor(x, y),
}
_BITWISE = {
    "bitwise_and": lambda xp, x, y: xp.bitwise_and(x, y),
    "bitwise_or": lambda xp, x, y: xp.bitwise_or(x, y),
    "bitwise_xor": lambda xp, x, y: xp.bitwise_xor(x, y),
}


def _elementwise(name: str, kernel, bitwise: bool):
    """A logical op (two tensors, as PyTorch) or a bitwise one (a tensor and a tensor or a
    number, either first)."""
    def op(a, b):
        if bitwise:
            t, other = _tensor_and_other(name, a, b)
        else:
            tensors_only(name, a, b)
            t, other = a, b
        x, y = operands(t, other)
        if bitwise and x.dtype.kind == "f":  # integers and bools only, as in PyTorch
            raise NotImplementedError(f"\"{name}\" not implemented for 'Float': it takes "
                                      f"integer and bool operands")
        try:
            out = kernel(t._backend.xp, x, y)
        except ValueError as e:
            raise _broadcast_error(name, a, b, e) from None
        return _result(t, out)
    op.__name__ = name
    op.__doc__ = (f"Elementwise ``{name}`` (no gradient): " + (
        "of integer or bool tensors (``&``, ``|``, ``^``), bool for bools, integers bit by bit."
        if bitwise else "a bool tensor."))
    return op


logical_and, logical_or, logical_xor = (_elementwise(n, k, False) for n, k in _LOGICAL.items())
bitwise_and, bitwise_or, bitwise_xor = (_elementwise(n, k, True) for n, k in _BITWISE.items())


def bitwise_not(a):
    """``~a``: logical not of a bool tensor, bit inversion of an integer one (no gradient)."""
    kind = a._data.dtype.kind
    if kind == "f":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    xp = a._backend.xp
    return _result(a, xp.logical_not(a._data) if kind == "b" else xp.invert(a._data))
