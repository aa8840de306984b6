"""``default_collate``: turn a list of samples into one batch, as PyTorch's does.

Tensors are stacked (on their device), NumPy arrays and numbers become tensors (Python
floats float64, ints int64, as PyTorch), strings stay a list; dicts, named tuples, tuples
and lists are collated field by field (a tuple becomes a list, as in PyTorch).

>>> import tensorcore as tc
>>> batch = default_collate([(tc.zeros(2), 1), (tc.ones(2), 0)])
>>> [type(b).__name__ for b in batch], batch[0].shape, batch[1].tolist()
(['Tensor', 'Tensor'], (2, 2), [1, 0])
>>> default_collate([{"x": 1.5, "name": "a"}, {"x": 2.5, "name": "b"}])
{'x': tensor([1.5, 2.5], dtype=tensorcore.float64), 'name': ['a', 'b']}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ... import _dtype
from ...creation import tensor
from ...ops import stack
from ...tensor import Tensor

__all__ = ["default_collate"]


def default_collate(batch: Sequence):
    """Collate a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: NumPy arrays of dtype {elem.dtype} cannot be "
                            f"made into tensors")
        return tensor(np.stack(batch))
    if isinstance(elem, (bool, np.bool_)):
        return tensor(batch, dtype=_dtype.bool_)
    if isinstance(elem, np.generic) and elem.dtype.kind in "iuf":
        return tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, int):
        return tensor(batch, dtype=_dtype.int64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return type(elem)(*(default_collate(list(f)) for f in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(f)) for f in zip(*batch)]
        return fields if isinstance(elem, tuple) else type(elem)(fields)
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")
