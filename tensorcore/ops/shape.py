"""Shape ops: reshape, view, transpose, expand, cat, split, ... and copies between dtypes
and devices. Ops that return views share memory and the version counter with their base.

>>> import tensorcore as tc
>>> x = tc.arange(6.0).reshape(2, 3)
>>> x.T.shape, tc.cat([x, x]).shape, [c.shape for c in x.chunk(3, dim=1)]
((3, 2), (4, 3), [(2, 1), (2, 1), (2, 1)])
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, _remember_host_max
from ._util import normalize_dims

TENSOR_METHODS = ["reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose",
                  "permute", "expand", "expand_as", "broadcast_to", "split", "chunk", "clone",
                  "view_as", "reshape_as", "swapaxes", "narrow", "repeat"]
__all__ = sorted(set(TENSOR_METHODS) | {
    "cat", "concat", "concatenate", "stack", "contiguous", "to_dtype", "to_device"})



def as_view(out: Tensor, base: Tensor, view_fn) -> Tensor:
    """Mark ``out`` as a view of ``base`` when it shares its memory: it shares the version
    counter and remembers ``view_fn`` (base -> view), so an in-place change of either can
    rewrite the other's history."""
    data, bdata = out._data, base._data
    owner = bdata if bdata.base is None else bdata.base
    if data is bdata or data.base is owner or data.base is bdata:
        out._version_box = base._version_box
        if base._base is None:
            out._base, out._view_fn = base, view_fn
        else:
            parent_fn = base._view_fn
            out._base, out._view_fn = base._base, lambda t: view_fn(parent_fn(t))
        out._view_version = out._version_box[0]
    return out


class Reshape(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, shape, copy_ok):
        ctx.shape = a._data.shape
        if copy_ok:
            return a._data.reshape(shape)
        return view_array(a._data, shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None, None


def view_array(x, shape):
    """``x`` reshaped without a copy, or RuntimeError as PyTorch's ``view`` says it. NumPy
    judges whether it can be done, for device arrays on a probe of their layout (CuPy's
    ``reshape`` would copy silently)."""
    try:
        if isinstance(x, np.ndarray):
            return np.reshape(x, shape, copy=False)
        probe = np.lib.stride_tricks.as_strided(np.empty(1, x.dtype), x.shape, x.strides)
        np.reshape(probe, shape, copy=False)  # never reads the probe's (absent) memory
        return x.reshape(shape)  # possible without a copy: the same rule gives a view
    except ValueError:
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride "
                           f"(shape {list(x.shape)} to {list(shape)}): at least one dimension "
                           f"spans across two contiguous subspaces. Use .reshape(...) "
                           f"instead.") from None


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return a._data.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(*ctx.inverse), None


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return a._backend.xp.broadcast_to(a._data, shape)

    @staticmethod
    def backward(ctx, g):
        return g.sum_to_size(ctx.shape), None


class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t._data.shape[dim] for t in tensors]
        return tensors[0]._backend.xp.concatenate([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, *g.split(ctx.sizes, ctx.dim))


class Stack(Function):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        return tensors[0]._backend.xp.stack([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, g):
        n = g.shape[ctx.dim]
        return (None, *(p.squeeze(ctx.dim) for p in g.split(1, ctx.dim)))[:n + 1]


class Clone(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        return a._data.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Contiguous(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a):
        return a._backend.xp.ascontiguousarray(a._data)

    @staticmethod
    def backward(ctx, g):
        return g


class ToDtype(Function):
    array_backward = True

    @staticmethod
    def forward(ctx, a, dtype):
        return a._data.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine casts it back to the input's dtype


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, device):
        from ..backends import get_backend

        target = get_backend(device)
        ctx.source = a.device
        host = a._backend.to_numpy(a._data)
        return Tensor._make(target.asarray(host), target)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.source), None


# -- public functions -----------------------------------------------------------------------
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer(shape, numel, old_shape):
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {list(old_shape)})")
    return shape


def reshape(a, *shape):
    shape = _infer(_shape_arg(shape), a._data.size, a._data.shape)
    if shape == a._data.shape:
        return a
    return as_view(Reshape.apply(a, shape, True), a, lambda t: t.reshape(shape))


def view(a, *shape):
    shape = _infer(_shape_arg(shape), a._data.size, a._data.shape)
    return as_view(Reshape.apply(a, shape, False), a, lambda t: t.view(shape))


def view_as(a, other):
    return view(a, other.shape)


def reshape_as(a, other):
    return reshape(a, other.shape)


def flatten(a, start_dim: int = 0, end_dim: int = -1):
    if a.ndim == 0:
        return reshape(a, 1)
    s, e = normalize_dims((start_dim, end_dim), a.ndim)
    shape = a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:]
    return reshape(a, shape)


def squeeze(a, dim=None):
    if dim is None:
        shape = tuple(n for n in a.shape if n != 1)
    else:
        dims = normalize_dims(dim, a.ndim) if a.ndim else ()
        shape = tuple(n for i, n in enumerate(a.shape) if not (i in dims and n == 1))
    return reshape(a, shape)


def unsqueeze(a, dim: int):
    if not -a.ndim - 1 <= dim <= a.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-a.ndim - 1}, {a.ndim}], but got {dim})")
    dim = dim % (a.ndim + 1)
    return reshape(a, a.shape[:dim] + (1,) + a.shape[dim:])


def permute(a, *dims):
    dims = normalize_dims(_shape_arg(dims), a.ndim) if a.ndim else ()
    if sorted(dims) != list(range(a.ndim)):
        raise RuntimeError(f"permute(): dims {list(dims)} are not a permutation of the "
                           f"{a.ndim} dimensions of a tensor of shape {list(a.shape)}")
    return as_view(Permute.apply(a, dims), a, lambda t: t.permute(*dims))


def transpose(a, dim0: int, dim1: int):
    if a.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return a
    d0, d1 = normalize_dims((dim0, dim1), a.ndim)
    dims = list(range(a.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(a, *dims)


swapaxes = transpose


def expand(a, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < a.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({a.ndim})")
    lead = len(sizes) - a.ndim
    shape = tuple(a.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(sizes))
    if shape == a.shape:
        return a
    try:
        np.broadcast_shapes(a.shape, shape)
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor {list(shape)} must match the "
                           f"existing size {list(a.shape)} at non-singleton dimensions") from None
    if np.broadcast_shapes(a.shape, shape) != shape:
        raise RuntimeError(f"cannot expand shape {list(a.shape)} to {list(shape)}")
    return as_view(Expand.apply(a, shape), a, lambda t: t.expand(shape))


def broadcast_to(a, shape):
    return expand(a, tuple(shape))


def expand_as(a, other):
    return expand(a, other.shape)


def _check_same(tensors, name):
    if not tensors:
        raise ValueError(f"{name}() expects a non-empty sequence of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected a sequence of Tensors, got {type(t).__name__}")


def cat(tensors, dim: int = 0):
    tensors = list(tensors)
    _check_same(tensors, "cat")
    (d,) = normalize_dims(dim, tensors[0].ndim)
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(ref) or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref))
                                     if i != d):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {d}: got "
                               f"{list(ref)} and {list(t.shape)}")
    return Cat.apply(d, *tensors)


concatenate = concat = cat


def stack(tensors, dim: int = 0):
    tensors = list(tensors)
    _check_same(tensors, "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} and {list(t.shape)}")
    if not -tensors[0].ndim - 1 <= dim <= tensors[0].ndim:
        raise IndexError(f"Dimension out of range for stack: {dim}")
    return Stack.apply(dim % (tensors[0].ndim + 1), *tensors)


def narrow(a, dim: int, start: int, length: int):
    (d,) = normalize_dims(dim, a.ndim)
    return a[(slice(None),) * d + (slice(start, start + length),)]


def split(a, split_size_or_sections, dim: int = 0):
    (d,) = normalize_dims(dim, a.ndim)
    n = a.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    out, start = [], 0
    for size in sizes:
        out.append(narrow(a, d, start, size))
        start += size
    return tuple(out)


def chunk(a, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    (d,) = normalize_dims(dim, a.ndim)
    step = -(-a.shape[d] // chunks) if a.shape[d] else 1
    return split(a, step, d)


def repeat(a, *sizes):
    sizes = _shape_arg(sizes)
    out = a.reshape((1,) * (len(sizes) - a.ndim) + a.shape)
    pieces = out
    for d, r in enumerate(sizes):
        if r != 1:
            pieces = cat([pieces] * r, d)
    return pieces


def clone(a):
    return Clone.apply(a)


def contiguous(a):
    return Contiguous.apply(a)


def to_dtype(a, dtype):
    if not dtype.is_floating_point:  # integer and bool results are not differentiable
        return Tensor._make(a._data.astype(dtype.np), a._backend)
    return ToDtype.apply(a, dtype)


def to_device(a, device):
    out = ToDevice.apply(a, device)
    if a._backend.device.type == "cpu":  # a's array is the host copy
        _remember_host_max(out, a._data)
    return out
