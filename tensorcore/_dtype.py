"""Tensor dtypes: PyTorch's names over NumPy's dtypes, and the promotion rules.

>>> import tensorcore as tc
>>> tc.tensor([1, 2]).dtype, tc.tensor([1.0]).dtype
(tensorcore.int64, tensorcore.float32)
"""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, e.g. ``tensorcore.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize")

    def __init__(self, name: str, np_dtype: np.dtype) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"tensorcore.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)
half, float_, double, int_, long = float16, float32, float64, int32, int64

ALL = (float16, float32, float64, int32, int64, bool_)
_FROM_NP = {d.np: d for d in ALL}
_FROM_NAME = {d.name: d for d in ALL} | {"half": half, "float": float32, "double": float64,
                                          "int": int32, "long": int64}
_default_float = float32


def _by_name(name: str) -> dtype:
    return _FROM_NAME[name]


def get_default_dtype() -> dtype:
    """The dtype given to Python floats and float lists (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (``tensorcore.float32`` or ``tensorcore.float64``)."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Turn a tensorcore dtype, NumPy dtype, Python type or name into a tensorcore dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _FROM_NAME:
        return _FROM_NAME[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        raise TypeError(f"{d!r} is not a dtype") from None
    return from_numpy_dtype(npd)


def from_numpy_dtype(npd: np.dtype) -> dtype:
    """The tensorcore dtype of a NumPy dtype; TypeError for ones tensorcore does not support."""
    try:
        return _FROM_NP[npd]
    except KeyError:
        pass
    if npd.kind in "iu" and npd.itemsize < 8:
        return int32 if npd.itemsize <= 4 and npd != np.uint32 else int64
    if npd == np.uint64:
        return int64
    supported = ", ".join(d.name for d in ALL)
    raise TypeError(f"unsupported dtype {npd}: tensorcore supports {supported}")


def result_type(a: dtype, b: dtype) -> dtype:
    """Promotion between two tensor dtypes of the same priority (PyTorch's ``promote_types``).

    NumPy's rules within a category; an integer or bool mixed with a float takes the float
    type (as PyTorch does: int64 + float32 -> float32).
    """
    if a is b:
        return a
    if a.is_floating_point != b.is_floating_point:
        return a if a.is_floating_point else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def can_cast(src: dtype, dst: dtype) -> bool:
    """Whether an op's result of dtype ``src`` may be written into a tensor of dtype ``dst``
    (in-place ops, ``out=``), by PyTorch's ``canCast``: not a float into an integer, not a
    number into bool; within a category, any width."""
    if dst is bool_:
        return src is bool_
    return dst.is_floating_point or not src.is_floating_point


def _category(d: dtype) -> int:
    """PyTorch's promotion categories: bool 0 < integer 1 < floating 2."""
    return 2 if d.is_floating_point else 0 if d is bool_ else 1


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """PyTorch's ``combine_categories``: a lower-priority operand (a 0-d tensor, a number)
    changes the result only when it is of a higher category (or the higher one is bool)."""
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return result_type(higher, lower)
    return higher


def scalar_dtype(value) -> dtype:
    """The dtype a Python (or NumPy) number takes as an operand: bool, int64 or the default
    float type, as PyTorch's wrapped numbers."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_float
    raise TypeError(f"unsupported operand type for a Tensor op: {type(value).__name__} "
                    f"(tensorcore has no complex dtype)" if isinstance(value, complex) else
                    f"unsupported operand type for a Tensor op: {type(value).__name__}")


def promote_types_of(*values) -> dtype:
    """The dtype of an op over ``values`` (tensors and Python or NumPy numbers), by PyTorch's
    ``torch.result_type`` rules.

    Three priorities: tensors with dimensions, then 0-d tensors, then numbers (a Python float
    counts as the default float type, an int as int64, a bool as bool). Within a priority the
    dtypes promote (``result_type``); a lower priority decides only where it is of a higher
    category: ``int32 tensor + 0-d int64`` is int32, ``int32 tensor + 0-d float64`` float64,
    ``int64 tensor + 2.5`` float32, ``float16 tensor + 0-d float64`` float16.

    >>> import tensorcore as tc
    >>> from tensorcore._dtype import promote_types_of
    >>> promote_types_of(tc.ones(2, dtype=tc.float32), tc.ones(2, dtype=tc.int64))
    tensorcore.float32
    >>> promote_types_of(tc.ones(2, dtype=tc.int32), tc.tensor(5), 7)
    tensorcore.int32
    """
    dims = zeros = numbers = None
    for v in values:
        if isinstance(v, (int, float, complex, np.generic)):
            d = scalar_dtype(v)
            numbers = d if numbers is None else result_type(numbers, d)
            continue
        d = v.dtype if isinstance(v.dtype, dtype) else from_numpy_dtype(v.dtype)
        if v.ndim:
            dims = d if dims is None else result_type(dims, d)
        else:
            zeros = d if zeros is None else result_type(zeros, d)
    out = _combine(dims, _combine(zeros, numbers))
    if out is None:
        raise TypeError("promote_types_of() needs at least one tensor or number")
    return out
