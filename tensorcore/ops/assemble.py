"""Assembling tensors with PyTorch's semantics: ``hstack`` / ``vstack`` / ``dstack`` /
``column_stack`` and ``atleast_1d`` / ``2d`` / ``3d``, coordinate grids (``meshgrid``), new
tensors like an existing one (``x.new_zeros``, ``new_ones``, ``new_full``, ``new_empty``,
``new_tensor``, ``type_as``) and sizes (``tc.numel``, ``x.nelement``, ``x.ndimension``).
The stacks return new tensors, ``atleast_*d`` and ``meshgrid`` views of their inputs.

>>> import tensorcore as tc
>>> a, b = tc.tensor([1, 2]), tc.tensor([3, 4])
>>> tc.hstack([a, b]).tolist(), tc.vstack([a, b]).tolist(), tc.column_stack([a, b]).tolist()
([1, 2, 3, 4], [[1, 2], [3, 4]], [[1, 3], [2, 4]])
>>> [g.tolist() for g in tc.meshgrid(a, tc.tensor([5, 6, 7]), indexing="xy")]
[[[1, 2], [1, 2], [1, 2]], [[5, 5], [6, 6], [7, 7]]]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype
from ..tensor import Tensor
from ._dims import size_arg
from ._util import checked_scalar
from .shape import _tensor_list, cat, reshape

TENSOR_METHODS = ["nelement", "ndimension", "new_zeros", "new_ones", "new_full", "new_empty",
                  "new_tensor", "type_as"]
__all__ = ["hstack", "vstack", "dstack", "column_stack", "atleast_1d", "atleast_2d",
           "atleast_3d", "meshgrid", "numel", "row_stack"]


# -- atleast_Nd and the stacks ------------------------------------------------------------
def _atleast(tensors, op: str, shape_of):
    """``atleast_Nd(x)``: a tensor; ``atleast_Nd(x, y)`` or ``atleast_Nd([x, y])``: a tuple."""
    as_seq = len(tensors) == 1 and isinstance(tensors[0], (tuple, list))
    if as_seq:
        tensors = tuple(tensors[0])
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor arguments, got {type(t).__name__}")
    out = tuple(reshape(t, shape_of(t.shape)) if t.ndim < 3 else t for t in tensors)
    return out[0] if len(out) == 1 and not as_seq else out


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,)): a view."""
    return _atleast(tensors, "atleast_1d", lambda s: s or (1,))


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (0-d: (1, 1); (n,): (1, n)): a view."""
    return _atleast(tensors, "atleast_2d", lambda s: (1,) * (2 - len(s)) + s if len(s) < 2
                    else s)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (0-d: (1, 1, 1); (n,): (1, n, 1); (m, n): (m, n, 1))."""
    return _atleast(tensors, "atleast_3d",
                    lambda s: (1, 1, 1) if not s else (1, s[0], 1) if len(s) == 1 else s + (1,))


def _stack_args(tensors, op: str) -> tuple:
    """The tensors of a stack function: a non-empty sequence of Tensors, as PyTorch checks."""
    if not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return _tensor_list(tensors, op)[0]


def hstack(tensors) -> Tensor:
    """The tensors joined horizontally: along dim 1, or dim 0 for 1-D ones (0-d: as 1-D)."""
    parts = atleast_1d(list(_stack_args(tensors, "hstack")))
    return cat(list(parts), 0 if parts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """The tensors joined vertically: along dim 0, 1-D (and 0-d) ones as rows."""
    return cat(list(atleast_2d(list(_stack_args(tensors, "vstack")))), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """The tensors joined in depth: along dim 2, each made at least 3-D first."""
    return cat(list(atleast_3d(list(_stack_args(tensors, "dstack")))), 2)


def column_stack(tensors) -> Tensor:
    """The tensors joined as columns: 0-d and 1-D ones become columns (n, 1), then along
    dim 1."""
    parts = _stack_args(tensors, "column_stack")
    return cat([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in parts], 1)


# -- meshgrid -----------------------------------------------------------------------------
_NO_INDEXING = ("torch.meshgrid: in an upcoming release, it will be required to pass the "
                "indexing argument.")


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids of 0-d or 1-D tensors: output ``i`` holds ``tensors[i]`` along dim
    ``i``, expanded over the others (views). ``indexing="xy"`` swaps the first two dims (as
    NumPy's default); not given: ``"ij"``, with PyTorch's warning."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(_NO_INDEXING, UserWarning, stacklevel=2)
        indexing = "ij"
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid(): expected Tensor as element {i}, but got "
                            f"{type(t).__name__}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got a tensor of shape {list(t.shape)}")
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if any(t.device != tensors[0].device for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same device")
    if indexing not in ("xy", "ij"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:
        order[0], order[1] = order[1], order[0]
    shape = tuple(t.numel() for t in order)
    n = len(order)
    grids = [reshape(t, (1,) * i + (-1,) + (1,) * (n - i - 1)).expand(shape)
             for i, t in enumerate(order)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


# -- sizes --------------------------------------------------------------------------------
def numel(input) -> int:
    """The number of elements of a tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input.numel()


def nelement(self) -> int:
    """The number of elements (``numel``)."""
    return self.numel()


def ndimension(self) -> int:
    """The number of dims (``dim``)."""
    return self.ndim


# -- new tensors like self ----------------------------------------------------------------
def _size_of(size: tuple, kwargs: dict, op: str) -> tuple:
    """The size given positionally or as ``size=``; any other keyword is PyTorch's
    TypeError."""
    keyword = kwargs.pop("size", None)
    if kwargs:
        raise TypeError(f"{op}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return size_arg(size, keyword, "size", op)


def _make_like(self, make, size, dtype, device, requires_grad):
    """``make(size, ...)`` (a creation function) with ``self``'s dtype and device unless
    given."""
    return make(size, dtype=self.dtype if dtype is None else dtype,
                device=self.device if device is None else device, requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **kwargs) -> Tensor:
    """A tensor of zeros of ``size``, with ``self``'s dtype and device unless given."""
    from .. import creation  # on call: creation imports the ops

    size = _size_of(size, kwargs, "new_zeros")
    return _make_like(self, creation.zeros, size, dtype, device, requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False, **kwargs) -> Tensor:
    """A tensor of ones of ``size``, with ``self``'s dtype and device unless given."""
    from .. import creation  # on call: creation imports the ops

    size = _size_of(size, kwargs, "new_ones")
    return _make_like(self, creation.ones, size, dtype, device, requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False, **kwargs) -> Tensor:
    """An uninitialized tensor of ``size``, with ``self``'s dtype and device unless given."""
    from .. import creation  # on call: creation imports the ops

    size = _size_of(size, kwargs, "new_empty")
    return _make_like(self, creation.empty, size, dtype, device, requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, with ``self``'s dtype and device
    unless given (the value is converted to that dtype, as PyTorch converts it)."""
    from .. import creation

    if not isinstance(size, (tuple, list)):
        raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    dt = self.dtype if dtype is None else _dtype.as_dtype(dtype)
    size = size_arg((size,), None, "size", "new_full")
    if any(n < 0 for n in size):  # checked before the value, as in PyTorch
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(size)}: {list(size)}")
    return creation.full(size, _fill(fill_value, dt), dtype=dt,
                         device=self.device if device is None else device,
                         requires_grad=requires_grad)


def _fill(value, dt):
    """A fill value for dtype ``dt``: PyTorch's checked conversion (an int dtype takes no
    NaN, infinity or number beyond its range)."""
    if isinstance(value, Tensor):
        value = value.item()
    if hasattr(value, "item"):
        value = value.item()
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"new_full(): argument 'fill_value' must be Number, not "
                        f"{type(value).__name__}")
    if type(value) is float and not dt.is_floating_point and dt is not _dtype.bool_:
        info = np.iinfo(dt.np)
        if not (math.isfinite(value) and info.min <= int(value) <= info.max):
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow "
                               f"(got {value})")
    return checked_scalar(value, dt)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor copying ``data``, with ``self``'s dtype and device unless given."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than tensor.new_tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        data = data.detach()
    return Tensor(data, dtype=self.dtype if dtype is None else dtype,
                  device=self.device if device is None else device, requires_grad=requires_grad)


def type_as(self, other) -> Tensor:
    """``self`` converted to ``other``'s dtype (and device); ``self`` when they are equal."""
    if not isinstance(other, Tensor):
        raise TypeError(f"type_as(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    return self.to(other.device, other.dtype)
