"""Rows of tensors, NumPy arrays and lists picked by index, each returned as its own kind."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor


def num_samples(a) -> int:
    """The length of the first dimension, with a TypeError for things without one."""
    if isinstance(a, (Tensor, np.ndarray)):
        if a.ndim == 0:
            raise TypeError(f"expected an array-like with samples along its first dimension, "
                            f"got a 0-dimensional {type(a).__name__}")
        return a.shape[0]
    if isinstance(a, (list, tuple)):
        return len(a)
    raise TypeError(f"expected a Tensor, a NumPy array or a list, got {type(a).__name__}")


def take(a, index: np.ndarray):
    """``a[index]`` for a NumPy index array; a Tensor stays on its device, a list a list."""
    if isinstance(a, Tensor):
        idx = a._backend.asarray(index)
        if not a._requires_grad:  # data: the rows copied directly, no graph to record
            return Tensor._make(a._data[idx], a._backend)
        return a[Tensor._make(idx, a._backend)]
    if isinstance(a, np.ndarray):
        return a[index]
    picked = [a[i] for i in index.tolist()]
    return tuple(picked) if isinstance(a, tuple) else picked


def as_numpy(a) -> np.ndarray:
    """A host NumPy copy of labels given as a Tensor, a NumPy array or a list."""
    if isinstance(a, Tensor):
        return a._backend.to_numpy(a._data)
    return np.asarray(a)


def index_array(indices) -> np.ndarray:
    """Sample indices (a list, a NumPy array or a Tensor on any device) as a host int64 array."""
    return np.asarray(as_numpy(indices), dtype=np.int64)


def check_same_length(arrays) -> int:
    """The common number of samples, or a ValueError listing the lengths."""
    lengths = [num_samples(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"{lengths}")
    return lengths[0]
