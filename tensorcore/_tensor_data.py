"""Python and NumPy data turned into the host array a new ``Tensor`` copies.

``Tensor(data)`` and ``tensorcore.tensor(data)`` read nested lists, scalars, NumPy arrays
and tensors through ``_host_array``: Python floats take the default dtype, integers int64,
anything that is not a number or bool is a TypeError before a GPU library sees it.
"""

from __future__ import annotations

import numpy as np

from . import _dtype
from .backends.contract import unsigned_max
from .tensor import Tensor


def _host_array(data, exact: bool = False) -> np.ndarray:
    """The NumPy array a new tensor copies from ``data`` (arrays, scalars, nested lists).
    Python floats take the default dtype, unless ``exact`` (a dtype is given: they are cast
    to it from their float64 values, not through the default dtype)."""
    if isinstance(data, np.ndarray) or hasattr(data, "__array_interface__"):
        return _numeric(np.array(data, copy=True))
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested_to_numpy(data)
    arr = np.asarray(data)
    if arr.dtype == np.float64 and not exact and not _contains_numpy_float64(data):
        arr = arr.astype(_dtype.get_default_dtype().np)
    elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
        arr = arr.astype(np.int64) if not isinstance(data, np.generic) else arr
    elif arr.dtype.kind == "O":
        raise TypeError(f"could not build a tensor from {type(data).__name__}: nested sequences "
                        f"must be rectangular and hold numbers")
    return _numeric(arr)


def _remember_host_max(t: Tensor, host: np.ndarray) -> Tensor:
    """``t``, which was copied from ``host``; an int64 vector on a GPU also keeps its values'
    unsigned max, for ``class_index_max``."""
    if (t._backend.device.type == "cuda" and host.ndim == 1 and host.dtype == np.int64
            and t._data.dtype == np.int64):
        t._host_max = (t._data, t._version_box[0], unsigned_max(host) if host.size else 0)
    return t


def _numeric(arr: np.ndarray) -> np.ndarray:
    """``arr``, or TypeError when its dtype is not a number or bool (strings, complex, dates):
    checked on the host, before a GPU library sees it (CuPy raises ValueError for strings)."""
    if arr.dtype.kind not in "biuf":
        _dtype.from_numpy_dtype(arr.dtype)  # raises the TypeError naming the dtype
    return arr


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _nested_to_numpy(seq):
    if isinstance(seq, Tensor):
        return seq._backend.to_numpy(seq._data)
    if isinstance(seq, (list, tuple)):
        return [_nested_to_numpy(x) for x in seq]
    return seq


def _contains_numpy_float64(data) -> bool:
    if isinstance(data, np.floating):
        return data.dtype == np.float64
    return False
