"""Small helpers shared by the op modules: operands, constants, dims."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from ..tensor import Tensor

_SCALARS = (int, float, bool)


def operands(a: Tensor, b):
    """The raw arrays (or Python scalars) of a binary op, promoted as PyTorch promotes them."""
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
            if (x.ndim == 0) != (y.ndim == 0) and _category(da) == _category(db):
                dt = (db if x.ndim == 0 else da).np  # PyTorch: a 0-d tensor of the same
            else:                                    # category defers to the other's dtype
                dt = _dtype.result_type(da, db).np
            x, y = x.astype(dt, copy=False), y.astype(dt, copy=False)
        return x, y
    if isinstance(b, np.generic) and b.dtype.kind in "biuf":
        b = b.item()  # a NumPy scalar promotes like the Python number (as in PyTorch)
    if isinstance(b, _SCALARS):
        if isinstance(b, float) and x.dtype.kind != "f":
            x = x.astype(_dtype.get_default_dtype().np)
        return x, b
    if isinstance(b, np.ndarray) or isinstance(b, np.generic):
        return operands(a, Tensor(b, device=a.device))
    raise TypeError(f"unsupported operand type for a Tensor op: {type(b).__name__}")


def _category(d) -> int:
    """bool < integer < floating: PyTorch's promotion categories."""
    return 2 if d.is_floating_point else 0 if d.np.kind == "b" else 1


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
