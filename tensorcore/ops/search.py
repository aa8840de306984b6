"""Finding elements: ``nonzero`` / ``argwhere``, ``unique``, ``diff``, ``searchsorted`` and
``bucketize``, with PyTorch's
signatures, dtypes and errors. Their results but ``diff``'s hold indices or values picked by
the data (no gradient); ``diff`` is a composition of slices and subtraction, so it carries
gradients (twice differentiable).

>>> import tensorcore as tc
>>> tc.tensor([[0, 1], [2, 0]]).nonzero().tolist()
[[0, 1], [1, 0]]
>>> tc.unique(tc.tensor([3, 1, 3])).tolist()
[1, 3]
>>> tc.diff(tc.tensor([1.0, 4.0, 9.0])).tolist()
[3.0, 5.0]
"""

from __future__ import annotations

import numpy as np

from ..compiler.traced import shape_from_values
from ..tensor import Tensor
from ._dims import wrap_dim
from .inplace import torch_name
from .select import where

TENSOR_METHODS = ["nonzero", "argwhere", "unique", "unique_consecutive", "diff"]
__all__ = ["nonzero", "argwhere", "unique", "unique_consecutive", "diff", "searchsorted",
           "bucketize"]


def _tensor(t, op: str, name: str = "input") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position 1) must be Tensor, not "
                        f"{type(t).__name__}")


def _int64(array, backend) -> Tensor:
    return Tensor._make(array.astype(np.int64, copy=False), backend)


def nonzero(input, *, as_tuple=False):
    """The indices of ``input``'s nonzero elements: an ``(n, input.ndim)`` int64 tensor, or
    with ``as_tuple=True`` one 1-D index tensor per dim (``where(condition)``)."""
    _tensor(input, "nonzero")
    if input.ndim == 0:
        flat = input.reshape(1)
        if as_tuple:
            return where(flat)
        n = where(flat)[0].shape[0]
        return _int64(input._backend.xp.zeros((n, 0)), input._backend)
    found = where(input)
    if as_tuple:
        return found
    xp = input._backend.xp
    return _int64(xp.stack([i._data for i in found], axis=1), input._backend)


def argwhere(input) -> Tensor:
    """The indices of ``input``'s nonzero elements as an ``(n, input.ndim)`` int64 tensor
    (``nonzero(input)``)."""
    _tensor(input, "argwhere")
    return nonzero(input)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of ``input`` in ascending order (of its slices along ``dim``
    when given), with the index of each element's value (``return_inverse``) and each
    value's count (``return_counts``), as ``torch.unique``."""
    _tensor(input, "unique")
    return _groups(input, True, return_inverse, return_counts, dim, "unique")


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """``input`` with each run of equal consecutive elements (slices along ``dim`` when
    given) kept once, with each element's run index (``return_inverse``) and each run's
    length (``return_counts``), as ``torch.unique_consecutive``."""
    _tensor(input, "unique_consecutive")
    return _groups(input, False, return_inverse, return_counts, dim, "unique_consecutive")


def _groups(input, sort, return_inverse, return_counts, dim, op):
    """unique (``sort``) and unique_consecutive: runs of equal elements (or slices along
    ``dim``) after a stable sort or in place; NaNs are never equal."""
    shape_from_values(op)  # the number of groups sets the result's shape
    b, xp = input._backend, input._backend.xp
    a = input._data
    if dim is None:
        moved = a.reshape(-1)
        rows = moved.reshape(-1, 1)
        inverse_shape = a.shape
    else:
        d = wrap_dim(dim, input.ndim, op)
        zero = [i for i, k in enumerate(a.shape) if k == 0]
        if len(zero) > 1:
            raise RuntimeError(f"Number of zero sized dimensions is more than one, so {op} "
                               f"cannot be applied ")
        if zero and zero[0] != d:
            raise RuntimeError(f"There are 0 sized dimensions, and they aren't selected, so "
                               f"{op} cannot be applied")
        moved = xp.moveaxis(a, d, 0)
        rows = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
        inverse_shape = (rows.shape[0],)
    n = rows.shape[0]
    if not sort or n == 0:
        order = xp.arange(n, dtype=np.int64)
    elif dim is None:
        order = xp.argsort(moved, kind="stable")
    else:
        keys = [_host(b, rows[:, j]) for j in range(rows.shape[1] - 1, -1, -1)]
        order = xp.asarray(np.lexsort(keys).astype(np.int64) if keys else np.arange(n))
    s = rows[order]
    new = xp.ones(n, dtype=bool)
    if n > 1 and rows.shape[1]:
        new[1:] = (s[1:] != s[:-1]).any(axis=1)
    elif n > 1:
        new[1:] = False
    starts = xp.nonzero(new)[0]
    picked = moved[order[starts]]
    values = picked if dim is None else xp.moveaxis(picked, 0, d)
    out = [Tensor._make(xp.ascontiguousarray(values), b)]
    if return_inverse:
        group = xp.cumsum(new) - 1
        inverse = xp.empty(group.shape, dtype=np.int64)
        inverse[order] = group
        out.append(_int64(inverse.reshape(inverse_shape), b))
    if return_counts:
        ends = xp.concatenate([starts[1:], xp.asarray([n], dtype=starts.dtype)])
        out.append(_int64(ends - starts, b))
    return out[0] if len(out) == 1 else tuple(out)


def _host(backend, array) -> np.ndarray:
    return backend.to_numpy(array)


def diff(input, n=1, dim=-1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference ``input[i + 1] - input[i]`` along ``dim``, after
    joining ``prepend`` and ``append`` to it along ``dim`` (bool: ``!=``)."""
    _tensor(input, "diff")
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if type(n) is not int:
        raise TypeError(f"diff(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.ndim, "diff")
    if n == 0:
        return input
    parts = []
    for name, t in (("prepend", prepend), ("append", append)):
        if t is None:
            continue
        _tensor(t, "diff", name)
        if t.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as "
                               "input")
        parts.append((name, t))
    x = input
    if parts:
        from .shape import cat
        pieces = [t for name, t in parts if name == "prepend"] + [input] + \
            [t for name, t in parts if name == "append"]
        x = cat(pieces, d)
    upper = (slice(None),) * d + (slice(1, None),)
    lower = (slice(None),) * d + (slice(None, -1),)
    for _ in range(n):  # slices, not lengths: a length that depends on data replays
        hi, lo = x[upper], x[lower]
        x = hi != lo if x._data.dtype == np.bool_ else hi - lo
    return x



def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None) -> Tensor:
    """For each value of ``input``, the index in ``sorted_sequence`` (along its last dim)
    where it would be inserted to keep the order: the first such index, or the last with
    ``right=True`` / ``side="right"``; int64, or int32 with ``out_int32``."""
    _tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                           f"{side}")
    if side == "left" and right:
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                           "got side of left while right was True")
    right = right or side == "right"
    seq = sorted_sequence._data
    b, xp = sorted_sequence._backend, sorted_sequence._backend.xp
    if isinstance(input, Tensor):
        values = input.to(sorted_sequence.device)._data if input._backend is not b \
            else input._data
    else:
        values = xp.asarray(input)
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if seq.ndim > 1 and (values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(
            f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            f"dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
    if sorter is not None:
        _tensor(sorter, "searchsorted", "sorter")
        if sorter._data.dtype != np.int64:
            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype "
                               f"but got dtype {torch_name(sorter._data.dtype)}")
        if sorter.shape != sorted_sequence.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(seq.shape)}and got sorter "
                               f"tensor {list(sorter.shape)}")
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    out = _bisect(xp, seq, values, right)
    return Tensor._make(out.astype(np.int32 if out_int32 else np.int64), b)


def _bisect(xp, seq, values, right: bool):
    """PyTorch's binary search, step by step (so NaNs land where its kernel puts them): the
    lower bound moves past ``mid`` while ``not seq[mid] >= v`` (``>`` for ``right``). No
    Python number comes from ``seq``'s length (it may depend on data, as ``unique``'s), so a
    compiled step replays it: traced, it runs the 64 steps that any length needs."""
    from ..compiler import is_compiling
    n = seq.shape[-1]
    steps = 64 if is_compiling() else int(n).bit_length() + 1
    pad = xp.zeros(seq.shape[:-1] + (1,), dtype=seq.dtype)
    padded = xp.concatenate([seq, pad], axis=-1)  # mid == n reads the pad, unused
    hi = xp.ones_like(seq, dtype=np.int64).sum(axis=-1, keepdims=seq.ndim > 1)
    lo = xp.zeros(values.shape, dtype=np.int64)
    hi = lo + hi
    for _ in range(steps):
        mid = (lo + hi) // 2
        at = padded[mid] if seq.ndim == 1 else xp.take_along_axis(padded, mid, axis=-1)
        move = ~(at > values) if right else ~(at >= values)
        active = lo < hi
        lo = xp.where(active & move, mid + 1, lo)
        hi = xp.where(active & ~move, mid, hi)
    return lo


def bucketize(input, boundaries, *, out_int32=False, right=False) -> Tensor:
    """The bucket of each value of ``input`` among the 1-D ``boundaries``:
    ``searchsorted(boundaries, input, right=right)``."""
    _tensor(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)

