"""Indexing (``x[...]``), ``x[...] = v`` and ``index_put``, with PyTorch's rules.

PyTorch reads an index left to right: an integer (or a 0-d integer tensor) selects and
removes its dimension, a slice keeps it, ``None`` (and ``True``/``False``) adds one, and
each ``...`` skips the dimensions no other entry names. That much is a view. Index tensors
and lists (integer or bool) are then applied together to that view by NumPy's rule for
advanced indices: adjacent ones put their result dimensions in their place, separated ones
put them first. So the integers are applied before the advanced indices, unlike NumPy:

>>> import tensorcore as tc
>>> x = tc.arange(24.0).reshape(2, 3, 4)
>>> x[0, :, [0, 1]].shape                  # NumPy's rule would give (2, 3)
(3, 2)

Basic indexing returns a view; advanced indexing returns a copy. The gradient of an index
scatters into zeros and accumulates repeated indices:

>>> x = tc.zeros(3, requires_grad=True)
>>> x[tc.tensor([0, 0, 2])].sum().backward(); x.grad.tolist()
[2.0, 0.0, 1.0]

Beyond PyTorch: negative slice steps (``x[::-1]``) are accepted, with correct gradients.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from .._tensor_data import _nested_to_numpy
from ..autograd.function import Function
from ..compiler.traced import run_recorded, shape_from_values
from ..tensor import Tensor
from .inplace import cast, check_no_overlap, inplace, scalar_as, torch_name, warn_if_expanded
from .shape import as_view

TENSOR_METHODS = ["index_put", "index_put_"]
__all__ = sorted(set(TENSOR_METHODS) | {"getitem", "setitem"})

_ALL = slice(None)
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
_NOT_AN_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                 "Variables are valid indices (got {})")
_NOT_AN_INDEX_DTYPE = "tensors used as indices must be long, int, byte or bool tensors"


class Index:
    """A parsed index: ``basic`` (a NumPy basic index, or None for the whole array) gives a
    view, then ``adv`` (None, or a tuple of ``slice(None)`` and index arrays) applies to that
    view with NumPy's rule. ``mask`` is True when ``adv`` holds one bool mask and nothing
    else: ``x[mask] = v`` then takes a one-element ``v`` of another dtype (as PyTorch)."""

    __slots__ = ("basic", "adv", "mask")

    def __init__(self, basic, adv=None, mask=False) -> None:
        self.basic, self.adv, self.mask = basic, adv, mask

    def take(self, x):
        """``x`` indexed: a view of ``x`` when there is no advanced part, else a copy."""
        if self.adv is None:
            return x[...] if self.basic is None else x[self.basic]
        return self.target(x)[self.adv]

    def target(self, x):
        """The view of ``x`` that the advanced part (if any) applies to."""
        return x if self.basic is None else x[self.basic]


_UNSQUEEZE = Index((None, Ellipsis))  # ``x[True] = v``: PyTorch writes into x.unsqueeze(0)


def parse(index, a: Tensor) -> Index:
    """``index`` (anything ``x[index]`` takes) read as PyTorch reads it, for tensor ``a``."""
    shape = a._data.shape
    if type(index) is int:  # the common case first
        return Index((_checked_int(index, shape, 0, 0), Ellipsis))
    if type(index) is slice:
        checked = _checked_slice(index)  # on a 0-d tensor too, before its IndexError
        if shape:
            return Index((checked, Ellipsis))
    if type(index) is tuple:
        if len(index) <= len(shape):  # integers and slices only: the basic lane
            basic, rdim = [], 0
            for d, entry in enumerate(index):
                if type(entry) is int:
                    basic.append(_checked_int(entry, shape, d, rdim))
                elif type(entry) is slice:
                    basic.append(_checked_slice(entry))
                    rdim += 1
                else:
                    break
            else:
                return Index((*basic, Ellipsis))
        entries = index
    elif isinstance(index, list) and _sequence_as_tuple(index):
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated "
                      "(as in PyTorch); use x[tuple(seq)] instead of x[seq]", UserWarning,
                      stacklevel=3)
        entries = tuple(index)
    else:
        entries = (index,)
    ndim = len(shape)
    specified = sum(map(_dims_named, entries))
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic, adv = [], []
    dim = rdim = 0  # the next dimension of ``a`` to consume, and of the result
    past_end = 0  # dimensions a second '...' skipped beyond the last (PyTorch allows that)
    arrays = masks = 0
    checks = []  # (integer index array, size of its dimension, result dimension)
    for entry in entries:
        if past_end and entry is not Ellipsis:
            raise IndexError(f"too many indices for tensor of dimension {ndim} (after '...')")
        if entry is None:
            basic.append(None)
            adv.append(_ALL)
            rdim += 1
        elif entry is Ellipsis:
            skip = ndim - specified
            take = min(skip, ndim - dim)
            basic += [_ALL] * take
            adv += [_ALL] * take
            dim, rdim, past_end = dim + take, rdim + take, past_end + skip - take
        elif type(entry) is slice:
            if dim >= ndim:
                raise IndexError("slice() cannot be applied to a 0-dim tensor." if not ndim
                                 else f"too many indices for tensor of dimension {ndim}")
            basic.append(_checked_slice(entry))
            adv.append(_ALL)
            dim, rdim = dim + 1, rdim + 1
        elif type(entry) is bool:  # a new dimension of size 1, indexed by [0] or []
            basic.append(None)
            adv.append(_bool_scalar_index(entry, a))
            checks.append((adv[-1], None, rdim))  # in range; its size counts
            rdim += 1
            arrays += 1
        elif isinstance(entry, (int, np.integer)) and not isinstance(entry, np.bool_):
            basic.append(_checked_int(int(entry), shape, dim, rdim))
            dim += 1
        else:
            arr = _index_array(entry, a)
            if arr.ndim == 0:  # a 0-d tensor: an integer selects, a bool adds a dimension
                if arr.dtype.kind == "b":
                    basic.append(None)
                    adv.append(_bool_scalar_index(bool(arr), a))
                    checks.append((adv[-1], None, rdim))
                    rdim += 1
                    arrays += 1
                else:
                    basic.append(_checked_int(int(arr), shape, dim, rdim))
                    dim += 1
                continue
            k = arr.ndim if arr.dtype.kind == "b" else 1
            if dim + k > ndim:
                raise IndexError(f"too many indices for tensor of dimension {ndim}")
            if arr.dtype.kind == "b":
                _check_mask(arr, shape, dim)
                shape_from_values("a bool mask index")  # its count sets the result's shape
                masks += 1
            else:
                checks.append((arr, shape[dim], rdim))
            basic += [_ALL] * k
            adv.append(arr)
            dim, rdim = dim + k, rdim + k
            arrays += 1
    if not arrays:
        return Index(_basic(basic))
    _check_bounds(checks, a._backend)
    while adv[-1] is _ALL:
        adv.pop()
    return Index(_basic(basic), tuple(adv), mask=masks == 1 and arrays == 1)


def _basic(entries: list):
    """The basic part as a NumPy index (``...`` last, so that selecting every dimension still
    gives a 0-d view, not a scalar), or None when it is the whole array."""
    if all(e is _ALL for e in entries):
        return None
    return (*entries, Ellipsis)


def _dims_named(entry) -> int:
    """How many dimensions PyTorch counts ``entry`` as naming, to size each '...'."""
    if entry is None or entry is Ellipsis or type(entry) is bool:
        return 0
    if isinstance(entry, Tensor) and entry._data.dtype.kind == "b":
        return entry._data.ndim
    return 1


def _sequence_as_tuple(seq: list) -> bool:
    """PyTorch's (and old NumPy's) rule: a short list holding a sequence, tensor, slice,
    ``...`` or None is a tuple of indices, not one index."""
    if len(seq) >= 32:
        return False
    return any(isinstance(e, (Tensor, list, tuple, np.ndarray, slice, str)) or e is None
               or e is Ellipsis for e in seq)


def _checked_int(i: int, shape, dim: int, rdim: int) -> int:
    if dim >= len(shape):
        if not shape:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    n = shape[dim]
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for dimension {rdim} with size {n}")
    return i


def _checked_slice(s: slice) -> slice:
    """``s`` with plain int bounds (tensors and NumPy ints as their value); a zero step
    raises ValueError as in PyTorch (a negative one is tensorcore's extension)."""
    start, stop, step = s.start, s.stop, s.step
    if not (type(start) in (int, type(None)) and type(stop) in (int, type(None))
            and type(step) in (int, type(None))):
        start, stop, step = (None if v is None else operator.index(v) for v in (start, stop, step))
        s = slice(start, stop, step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    return s


def _bool_scalar_index(value: bool, a: Tensor):
    """The index of a ``True``/``False`` entry on its new dimension of size 1."""
    return a._backend.xp.zeros(1 if value else 0, dtype=np.int64)


def _index_array(entry, a: Tensor):
    """A tensor, array or list entry as an index array of ``a``'s backend (int or bool)."""
    if isinstance(entry, Tensor):
        arr = entry._data
        if entry._backend.device != a._backend.device:
            if entry._backend.device.type != "cpu":
                raise RuntimeError(f"indices should be either on cpu or on the same device as "
                                   f"the indexed tensor ({a.device}), got {entry.device}")
            arr = a._backend.asarray(arr)  # PyTorch takes CPU indices for a GPU tensor
    elif isinstance(entry, np.ndarray):
        arr = entry
        if arr.dtype == np.uint8:  # PyTorch's legacy byte mask; no such dtype here
            raise IndexError(f"{_NOT_AN_INDEX_DTYPE} (got a uint8 array: use a bool mask)")
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
    elif isinstance(entry, (list, tuple)):
        arr = np.asarray(_nested_to_numpy(list(entry)))
        if arr.size == 0:
            arr = arr.astype(np.int64)  # PyTorch: an empty list is an empty int64 index
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
        elif arr.dtype.kind not in "bf":
            raise TypeError(f"an index list must hold integers or bools, got {arr.dtype}")
    elif isinstance(entry, str):
        raise TypeError("an index list must hold integers or bools, got str")
    else:
        raise IndexError(_NOT_AN_INDEX.format(type(entry).__name__))
    if arr.dtype.kind != "b" and arr.dtype not in _INDEX_DTYPES:
        raise IndexError(f"{_NOT_AN_INDEX_DTYPE} (got {arr.dtype})")
    if type(arr) is not a._backend.array_type:
        arr = a._backend.asarray(arr)
    return arr


def _check_mask(mask, shape, dim: int) -> None:
    for j, n in enumerate(mask.shape):
        if n != shape[dim + j]:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index "
                             f"{dim + j}")


def _check_bounds(checks, backend) -> None:
    """IndexError for an integer index outside ``[-n, n)`` (``checks``: index array, ``n`` or
    None for one in range, result dimension), for array libraries that wrap such indices
    silently: this reads the index's range on the host, and not while capturing. As in
    PyTorch, indices that broadcast to nothing index nothing and are not checked."""
    if not checks:
        return
    shapes = [arr.shape for arr, _, _ in checks]
    try:  # on every backend: PyTorch's first complaint, before a write's value is checked
        size = math.prod(np.broadcast_shapes(*shapes))
    except ValueError:
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {', '.join(str(list(s)) for s in shapes)}") from None
    if backend.checks_index_bounds or backend.capturing() or not size:
        return
    for arr, n, rdim in checks:
        if n is not None:  # a compiled step repeats the check at each replay
            run_recorded(_check_range, arr, n, rdim)


def _check_range(arr, n: int, rdim: int) -> None:
    lo, hi = int(arr.min()), int(arr.max())
    if lo < -n or hi >= n:
        raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for dimension "
                         f"{rdim} with size {n}")


def _take(x, idx: Index):
    try:
        return idx.take(x)
    except (IndexError, ValueError) as e:  # index arrays that do not broadcast together
        raise IndexError(f"{e} (indexing a tensor of shape {list(x.shape)})") from None


def _put(x, idx: Index, value, accumulate: bool = False, backend=None) -> None:
    """``x[idx] = value`` (or ``+=``, repeated indices accumulating) on arrays, in place."""
    target = idx.target(x)
    if getattr(value, "dtype", x.dtype) != x.dtype:
        value = cast(value, x.dtype)
    try:
        if accumulate:
            backend.index_add(target, idx.adv, value)
        elif idx.adv is None:
            target[...] = value
        else:
            target[idx.adv] = value
    except ValueError as e:
        shape = list(getattr(value, "shape", ()))
        raise RuntimeError(f"shape mismatch: value tensor of shape {shape} cannot be "
                           f"broadcast to the indexing result ({e})") from None


# -- the ops ---------------------------------------------------------------------------------
class GetItem(Function):
    @staticmethod
    def forward(ctx, a, idx):
        ctx.idx, ctx.shape = idx, a._data.shape
        return _take(a._data, idx)

    @staticmethod
    def backward(ctx, g):
        return IndexScatter.apply(g, ctx.idx, ctx.shape), None


class IndexScatter(Function):
    """zeros(shape) with ``g`` added at ``idx`` (repeats accumulate): getitem's gradient."""

    @staticmethod
    def forward(ctx, g, idx, shape):
        ctx.idx = idx
        out = g._backend.xp.zeros(shape, dtype=g._data.dtype)
        _put(out, idx, g._data, accumulate=idx.adv is not None, backend=g._backend)
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.idx), None, None


class IndexPut(Function):
    """``a`` with ``a[idx] = value`` (or ``+=`` when ``accumulate``) applied, out of place."""

    @staticmethod
    def forward(ctx, a, idx, value, accumulate):
        ctx.idx, ctx.accumulate = idx, accumulate
        out = a._data.copy()
        _put(out, idx, value._data if isinstance(value, Tensor) else value, accumulate,
             a._backend)
        return out

    @staticmethod
    def backward(ctx, g):
        na, _, nv, _ = ctx.needs_input_grad
        g_a = (g if ctx.accumulate else IndexPut.apply(g, ctx.idx, 0.0, False)) if na else None
        return g_a, None, (GetItem.apply(g, ctx.idx) if nv else None), None


def getitem(a: Tensor, index):
    idx = parse(index, a)
    out = GetItem.apply(a, idx)
    if idx.adv is None:
        return as_view(out, a, lambda t: GetItem.apply(t, idx))
    return out


def setitem(a: Tensor, index, value) -> None:
    if index is False:  # PyTorch: a no-op, before any other check
        return
    idx = _UNSQUEEZE if index is True else parse(index, a)
    value = _set_value(a, idx, value)
    data = value._data if isinstance(value, Tensor) else value
    if 0 in a._data.strides:  # an expanded tensor: PyTorch's rules for what may be written
        _check_expanded(a._data, idx)
    inplace(a, lambda t: IndexPut.apply(t, idx, value, False), [value],
            lambda x: _put(x, idx, data), any_layout=True)


def _check_expanded(x, idx: Index) -> None:
    """PyTorch writes ``x[basic] = v`` as a view's ``copy_`` (RuntimeError when elements of
    that view share memory) and an advanced index as ``index_put_`` (a deprecation warning,
    and one value per memory location)."""
    if idx.adv is None:
        check_no_overlap(idx.take(x))
    else:
        warn_if_expanded(x, "index_put_", stacklevel=5)  # past setitem and __setitem__


def _set_value(a: Tensor, idx: Index, value):
    """The value of ``a[idx] = value`` as PyTorch takes it: a number converted to ``a``'s
    dtype, or a tensor (without leading dimensions of size 1) of ``a``'s dtype where an
    advanced index needs that."""
    if type(value) in (float, int, bool):
        return scalar_as(value, a._data.dtype)
    if isinstance(value, Tensor):
        v = value._data
        if value._backend.device != a._backend.device:
            if idx.adv is not None and v.ndim:
                raise RuntimeError(f"setitem: value is on {value.device} but the tensor is on "
                                   f"{a.device}")
            value = value.to(a.device)
        if (idx.adv is not None and v.dtype != a._data.dtype
                and not (idx.mask and v.size == 1)):
            raise RuntimeError(f"Index put requires the source and destination dtypes match, "
                               f"got {torch_name(a._data.dtype)} for the destination and "
                               f"{torch_name(v.dtype)} for the source.")
        lead = 0
        while lead < v.ndim and v.shape[lead] == 1:
            lead += 1
        return value.reshape(v.shape[lead:]) if lead else value
    if isinstance(value, (bool, int, float, complex, np.integer)) and not isinstance(
            value, np.bool_):
        return scalar_as(value, a._data.dtype)
    kind = "cuda." if a.device.type == "cuda" else ""
    raise TypeError(f"can't assign a {type(value).__name__} to a "
                    f"tensorcore.{kind}{torch_name(a._data.dtype)}Tensor")


def _put_index(a: Tensor, indices) -> Index:
    """``index_put``'s ``indices`` (a tuple of index tensors, one per dimension from the
    first) as an Index; a 0-d index tensor is an advanced index here, as in PyTorch."""
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) for i in indices):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    if sum(1 if i._data.dtype.kind != "b" else i.ndim for i in indices) > a.ndim:
        raise IndexError(f"too many indices for tensor of dimension {a.ndim} (got "
                         f"{len(indices)})")
    adv, dim, masks, checks = [], 0, 0, []
    for i in indices:
        arr = _index_array(i, a)
        if arr.dtype.kind == "b":
            _check_mask(arr, a.shape, dim)
            masks += 1
        else:
            checks.append((arr, a.shape[dim], dim))
        adv.append(arr)
        dim += arr.ndim if arr.dtype.kind == "b" else 1
    if not adv:
        return Index(None)
    _check_bounds(checks, a._backend)
    return Index(None, tuple(adv), mask=masks == 1 and len(adv) == 1)


def _put_value(a: Tensor, idx: Index, values):
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not "
                        f"{type(values).__name__}")
    if values._backend.device != a._backend.device and values._data.ndim:
        raise RuntimeError(f"index_put: values are on {values.device} but the tensor is on "
                           f"{a.device}")
    if values._data.dtype != a._data.dtype and not (idx.mask and values._data.size == 1):
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{torch_name(a._data.dtype)} for the destination and "
                           f"{torch_name(values._data.dtype)} for the source.")
    return values.to(a.device)


def index_put(a: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``a`` with ``a[indices] = values`` (``+=`` when ``accumulate``), out of place."""
    idx = _put_index(a, indices)
    values = _put_value(a, idx, values)
    return IndexPut.apply(a, idx, values, bool(accumulate and idx.adv is not None))


def index_put_(a: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    idx = _put_index(a, indices)
    values = _put_value(a, idx, values)
    acc = bool(accumulate and idx.adv is not None)
    warn_if_expanded(a._data, "index_put_")
    return inplace(a, lambda t: IndexPut.apply(t, idx, values, acc), [values],
                   lambda x: _put(x, idx, values._data, acc, a._backend), any_layout=True)
