"""Small helpers shared by the op modules: operands, constants, dims."""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..tensor import Tensor

_SCALARS = (int, float, bool)


def operands(a: Tensor, b):
    """The raw arrays (or Python scalars) of a binary op, promoted as PyTorch promotes them
    (``_dtype.promote_types_of``); a Python int outside the tensor's integer range wraps to
    it, as PyTorch's wrapped numbers do (``int32 tensor + 2**40`` adds 0)."""
    x = a._data
    tb = type(b)
    if tb is float and x.dtype.kind == "f":  # the common cases first, cheaply
        return x, b
    if tb is Tensor and x.dtype is b._data.dtype:
        return x, b._data
    if isinstance(b, Tensor):
        y = b._data
        if x.dtype is not y.dtype and x.dtype != y.dtype:
            da, db = _dtype._FROM_NP[x.dtype], _dtype._FROM_NP[y.dtype]
            if (x.ndim == 0) != (y.ndim == 0) and _dtype._category(da) == _dtype._category(db):
                dt = (db if x.ndim == 0 else da).np  # PyTorch: a 0-d tensor of the same
            else:                                    # category defers to the other's dtype
                dt = _dtype.result_type(da, db).np
            x, y = x.astype(dt, copy=False), y.astype(dt, copy=False)
        return x, y
    if isinstance(b, np.generic) and b.dtype.kind in "biuf":
        b = b.item()  # a NumPy scalar promotes like the Python number (as in PyTorch)
    if isinstance(b, _SCALARS):
        if isinstance(b, float):
            if x.dtype.kind != "f":
                x = x.astype(_dtype.get_default_dtype().np)
        elif type(b) is int and not -2**31 <= b < 2**31:
            b = wrap_int(b, x.dtype)
        return x, b
    if isinstance(b, np.ndarray) or isinstance(b, np.generic):
        return operands(a, Tensor(b, device=a.device))
    raise TypeError(f"unsupported operand type for a Tensor op: {type(b).__name__}")


def int_range(v: int) -> None:
    """OverflowError for a Python int PyTorch cannot take as a number (outside int64 and
    uint64: [-2**63, 2**64))."""
    if not -2**63 <= v < 2**64:
        raise OverflowError(f"int too big to convert: {v} is outside [-2**63, 2**64), the "
                            f"range of a tensor op's integer operand")


def wrap_int(v: int, npd: np.dtype):
    """A Python int as the operand of an op with an array of dtype ``npd``, as PyTorch
    converts it: wrapped modulo 2**bits into an integer type (a bool array's result is
    int64), a float for a floating one. OverflowError outside [-2**63, 2**64)."""
    int_range(v)
    if npd.kind == "f":
        return float(v)
    if npd.kind == "b" and v >= 2**63:
        raise RuntimeError(f"Promotion for uint64 is not supported: a bool tensor with the "
                           f"Python int {v} (PyTorch takes ints in [2**63, 2**64) as uint64)")
    bits = 64 if npd.kind == "b" else npd.itemsize * 8
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def checked_scalar(v, dt: _dtype.dtype, float_range: bool = False):
    """A Python number converted to ``dt`` the checked way PyTorch converts the scalar
    arguments of ``pow``, ``clamp``, ``where`` and ``alpha``: RuntimeError when an int does
    not fit an integer ``dt`` (or, with ``float_range``, when a finite number is beyond a
    float16/float32 ``dt``'s largest value: ``clamp`` and ``alpha`` check it, ``where`` does
    not), OverflowError outside what any tensor op takes."""
    if type(v) is int:
        int_range(v)
        if not dt.is_floating_point and dt is not _dtype.bool_:
            info = np.iinfo(dt.np)
            if not info.min <= v <= info.max:
                raise RuntimeError(f"value cannot be converted to type {dt.name} without "
                                   f"overflow (got {v})")
    if float_range and dt.is_floating_point and type(v) is not bool:
        big = _FLOAT_MAX.get(dt.np)
        if big is not None and big < abs(float(v)) < math.inf:
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow "
                               f"(got {v})")
    return v


# the largest finite value of each float dtype narrower than a Python float
_FLOAT_MAX = {np.dtype(np.float16): float(np.finfo(np.float16).max),
              np.dtype(np.float32): float(np.finfo(np.float32).max)}


def const(like: Tensor, array) -> Tensor:
    """A tensor of ``like``'s backend holding ``array`` (a constant: no graph)."""
    if type(array) is not like._backend.array_type:
        array = like._backend.asarray(array)
    return Tensor._make(array, like._backend)


def as_tensor_like(value, like: Tensor) -> Tensor:
    """``value`` as a tensor on ``like``'s device (scalars take ``like``'s dtype)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, _SCALARS):
        return const(like, like._backend.xp.asarray(value, dtype=like._data.dtype))
    return Tensor(value, device=like.device)


def as_operand(v, like: Tensor):
    """``v`` as the other operand of a binary op beside the tensor ``like``: tensors and
    Python numbers as they are, NumPy numbers as Python ones, arrays and lists as tensors on
    ``like``'s device; TypeError for a complex number (tensorcore has no complex dtype)."""
    if isinstance(v, (Tensor, int, float)):
        return v
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return v.item()
    if isinstance(v, complex):
        raise TypeError("tensorcore has no complex dtype: a complex number is not a valid "
                        "operand")
    return Tensor(v, device=like.device)


def normalize_dims(dim, ndim: int):
    """``dim`` (None, int or sequence) as a tuple of non-negative axes, or None for all."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
        out.append(d % max(ndim, 1))
    return tuple(out)


def check_float(t: Tensor, op: str) -> None:
    if t._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got {t.dtype}")


def tensors_only(fn: str, a, b, second: str = "other") -> None:
    """PyTorch's argument check of a function that takes two tensors (``maximum``, the
    logical ops, ``matmul``...): a number, array or list for either is a TypeError naming
    the argument, as there."""
    if type(a) is Tensor and type(b) is Tensor:
        return
    for pos, name, t in ((1, "input", a), (2, second, b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(t).__name__}")
