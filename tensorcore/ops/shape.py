"""Shape ops: reshape, view, transpose, expand, cat, split, ... and copies between dtypes
and devices. Ops that return views share memory and the version counter with their base.

>>> import tensorcore as tc
>>> x = tc.arange(6.0).reshape(2, 3)
>>> x.T.shape, tc.cat([x, x]).shape, [c.shape for c in x.chunk(3, dim=1)]
((3, 2), (4, 3), [(2, 1), (2, 1), (2, 1)])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor_data import _remember_host_max
from ..autograd.function import Function
from ..tensor import Tensor
from ._dims import as_int, dim_list, numpy_names, one_dim, size_arg, wrap_dim
from .reduce import sum_to

TENSOR_METHODS = ["reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose",
                  "permute", "expand", "expand_as", "broadcast_to", "split", "chunk", "clone",
                  "view_as", "reshape_as", "swapaxes", "swapdims", "narrow", "repeat"]
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
        return g.permute(ctx.inverse), None


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return a._backend.xp.broadcast_to(a._data, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.shape), None


class Cat(Function):
    """Concatenation in the promoted ``dtype``; ``skip[i]``: input i is a legacy empty 1-D
    tensor, left out of the result (its gradient is empty). The gradient of each input comes
    back in its own dtype (the engine casts it)."""

    @staticmethod
    def forward(ctx, dim, dtype, skip, *tensors):
        ctx.dim, ctx.skip = dim, skip
        kept = [t._data for t, s in zip(tensors, skip) if not s]
        ctx.sizes = [x.shape[dim] for x in kept]
        return tensors[0]._backend.xp.concatenate(
            [x.astype(dtype.np, copy=False) for x in kept], axis=dim)

    @staticmethod
    def backward(ctx, g):
        pieces = iter(g.split(ctx.sizes, ctx.dim))
        xp = g._backend.xp
        return (None, None, None, *(Tensor._make(xp.zeros(0, g._data.dtype), g._backend) if s
                                    else next(pieces) for s in ctx.skip))


class Stack(Function):
    @staticmethod
    def forward(ctx, dim, dtype, *tensors):
        ctx.dim = dim
        return tensors[0]._backend.xp.stack([t._data.astype(dtype.np, copy=False)
                                             for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, None, *(p.squeeze(ctx.dim) for p in g.split(1, ctx.dim)))


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
# Sizes are read by ``size_arg`` (``f(2, 3)``, ``f((2, 3))`` or PyTorch's keyword), dims by
# ``_dims`` (NumPy's ``axis`` where PyTorch takes it, through ``numpy_names``).
def _infer(shape, numel, old_shape):
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for i, n in enumerate(shape):
        if n < -1:
            raise RuntimeError(f"invalid shape dimension {n} at index {i} of shape "
                               f"{list(shape)}")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {list(old_shape)})")
    return shape


def reshape(a, *sizes, shape=None):
    shape = _infer(size_arg(sizes, shape, "shape", "reshape"), a._data.size, a._data.shape)
    if shape == a._data.shape:
        return a
    return as_view(Reshape.apply(a, shape, True), a, lambda t: t.reshape(shape))


def view(a, *sizes, size=None):
    shape = _infer(size_arg(sizes, size, "size", "view"), a._data.size, a._data.shape)
    return as_view(Reshape.apply(a, shape, False), a, lambda t: t.view(shape))


def view_as(a, other):
    return view(a, other.shape)


def reshape_as(a, other):
    return reshape(a, other.shape)


def flatten(a, start_dim: int = 0, end_dim: int = -1):
    s, e = wrap_dim(start_dim, a.ndim, "flatten"), wrap_dim(end_dim, a.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if a.ndim == 0:
        return reshape(a, 1)
    shape = a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:]
    return reshape(a, shape)


@numpy_names
def squeeze(a, dim=None):
    if dim is None:
        shape = tuple(n for n in a.shape if n != 1)
    else:
        dims = dim_list(dim, a.ndim, "squeeze", empty_is_all=False) or ()
        shape = tuple(n for i, n in enumerate(a.shape) if not (i in dims and n == 1))
    return reshape(a, shape)


@numpy_names
def unsqueeze(a, dim: int):
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"unsqueeze(): argument 'dim' must be int, not {type(dim).__name__}")
    dim = wrap_dim(dim, a.ndim + 1, "unsqueeze")
    return reshape(a, a.shape[:dim] + (1,) + a.shape[dim:])


def permute(a, *sizes, dims=None):
    order = size_arg(sizes, dims, "dims", "permute")
    if len(order) != a.ndim:
        raise RuntimeError(f"permute(): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {a.ndim} is not equal to len(dims) = {len(order)}")
    wrapped = []
    for d in order:  # in order, as PyTorch: a repeat is found before a later dim out of range
        d = wrap_dim(d, a.ndim, "permute")
        if d in wrapped:
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        wrapped.append(d)
    order = tuple(wrapped)
    return as_view(Permute.apply(a, order), a, lambda t: t.permute(order))


def transpose(a, dim0: int, dim1: int):
    d0, d1 = wrap_dim(dim0, a.ndim, "transpose"), wrap_dim(dim1, a.ndim, "transpose")
    if a.ndim < 2:
        return a
    dims = list(range(a.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(a, dims)


def swapaxes(a, axis0: int, axis1: int):
    """``transpose`` under NumPy's names (PyTorch's ``swapaxes`` takes ``axis0``, ``axis1``)."""
    return transpose(a, axis0, axis1)


swapdims = transpose


def expand(a, *sizes, size=None):
    sizes = size_arg(sizes, size, "size", "expand")
    if len(sizes) < a.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({a.ndim})")
    lead = len(sizes) - a.ndim
    for i, n in enumerate(sizes[:lead]):
        if n < 0:
            raise RuntimeError(f"The expanded size of the tensor ({n}) isn't allowed in a "
                               f"leading, non-existing dimension {i}")
    shape = tuple(a.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(sizes))
    if shape == a.shape:
        return a
    if min(shape) < 0 or any(n != m and n != 1 for n, m in zip(a.shape, shape[lead:])):
        raise RuntimeError(f"The expanded size of the tensor {list(shape)} must match the "
                           f"existing size {list(a.shape)} at non-singleton dimensions")
    return as_view(Expand.apply(a, shape), a, lambda t: t.expand(shape))


def broadcast_to(a, size):
    return expand(a, tuple(size))


def expand_as(a, other):
    return expand(a, other.shape)


def _tensor_list(tensors, op):
    """The tensors of cat/stack: a sequence of Tensors (a Tensor itself is refused, as in
    PyTorch) and their promoted dtype (PyTorch's rule, as for ``+``)."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be a sequence of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        if op == "cat":
            raise ValueError("cat(): expected a non-empty list of Tensors")
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    dtype = tensors[0].dtype
    first = tensors[0]._data.dtype
    for t in tensors:
        if t._data.dtype != first:
            dtype = _dtype.result_type(dtype, t.dtype)
    return tuple(tensors), dtype


@numpy_names
def cat(tensors, dim: int = 0):
    """Concatenate along ``dim`` in the promoted dtype. A legacy empty 1-D tensor (shape
    (0,)) is skipped whatever the others' rank, as PyTorch does; 0-d tensors are refused."""
    tensors, dtype = _tensor_list(tensors, "cat")
    shapes = [t._data.shape for t in tensors]
    if () in shapes:
        raise RuntimeError(f"zero-dimensional tensor (at position {shapes.index(())}) cannot "
                           f"be concatenated")
    skip = tuple(s == (0,) for s in shapes)
    kept = [s for s, k in zip(shapes, skip) if not k]
    if not kept:  # only legacy empties: an empty result, whatever ``dim``
        return Cat.apply(0, dtype, (False,) * len(tensors), *tensors)
    ref = kept[0]
    d = one_dim(dim, len(ref), "cat")
    for i, s in enumerate(shapes):
        if s == ref or skip[i]:
            continue
        if len(s) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} "
                               f"and {len(s)}")
        for j, (m, n) in enumerate(zip(ref, s)):
            if j != d and m != n:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {m} but got size {n} for tensor number {i} "
                                   f"in the list (shapes {list(ref)} and {list(s)})")
    return Cat.apply(d, dtype, skip, *tensors)


concatenate = concat = cat


@numpy_names
def stack(tensors, dim: int = 0):
    tensors, dtype = _tensor_list(tensors, "stack")
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"stack(): argument 'dim' must be int, not {type(dim).__name__}")
    d = wrap_dim(dim, tensors[0].ndim + 1, "stack")  # before the sizes, as in PyTorch
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    return Stack.apply(d, dtype, *tensors)


@numpy_names
def narrow(a, dim: int, start: int, length: int):
    d = one_dim(dim, a.ndim, "narrow")
    n = a.shape[d]
    start, length = as_int(start, "start", "narrow"), as_int(length, "length", "narrow")
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    start %= max(n, 1)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return a[(slice(None),) * d + (slice(start, start + length),)]


def split(a, split_size_or_sections=None, dim: int = 0, *, split_size=None):
    """PyTorch's ``Tensor.split(split_size, dim)`` and ``torch.split(tensor,
    split_size_or_sections, dim)`` (either keyword)."""
    if split_size is not None:
        if split_size_or_sections is not None:
            raise TypeError("split() got multiple values for argument 'split_size'")
        split_size_or_sections = split_size
    if split_size_or_sections is None:
        raise TypeError("split() missing 1 required positional argument: 'split_size'")
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = [as_int(s, "split_sizes", "split") for s in split_size_or_sections]
        _need_1d(a, dim, "split")
        d = one_dim(dim, a.ndim, "split")
        n = a.shape[d]
        if min(sizes, default=0) < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        return _pieces(a, d, sizes)
    step = as_int(split_size_or_sections, "split_size", "split")
    _need_1d(a, dim, "split")
    if step < 0:  # checked before the dim, as in PyTorch
        raise RuntimeError(f"split expects split_size be non-negative, but got "
                           f"split_size={step}")
    d = one_dim(dim, a.ndim, "split")
    n = a.shape[d]
    if step == 0 and n:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                           f"dimension size of {n}")
    return _pieces(a, d, [min(step, n - s) for s in range(0, n, step)] if n else [0])


def _need_1d(a, dim, op):
    """split/chunk of a 0-d tensor: a RuntimeError whatever the (int) dim, as in PyTorch."""
    if a.ndim == 0:
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
        as_int(dim, "dim", op)
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")


def _pieces(a, d, sizes):
    out, start = [], 0
    for size in sizes:
        out.append(a[(slice(None),) * d + (slice(start, start + size),)])
        start += size
    return tuple(out)


@numpy_names
def chunk(a, chunks: int, dim: int = 0):
    chunks = as_int(chunks, "chunks", "chunk")
    _need_1d(a, dim, "chunk")
    if chunks <= 0:  # checked before the dim, as in PyTorch
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = one_dim(dim, a.ndim, "chunk")
    n = a.shape[d]
    if n == 0:  # as PyTorch: ``chunks`` empty pieces
        return _pieces(a, d, [0] * chunks)
    return split(a, -(-n // chunks), d)


def repeat(a, *sizes, repeats=None):
    """Tile ``a``: each dim ``i`` (after leading 1s are added) ``sizes[i]`` times, as a
    broadcast of interleaved singleton dims, reshaped (its gradient sums the tiles)."""
    sizes = size_arg(sizes, repeats, "repeats", "repeat")
    if len(sizes) < a.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    shape = (1,) * (len(sizes) - a.ndim) + a.shape
    out_shape = tuple(r * n for r, n in zip(sizes, shape))
    if min(out_shape, default=0) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(out_shape)}: {list(out_shape)}")
    paired = tuple(v for n in shape for v in (1, n))
    tiled = tuple(v for r, n in zip(sizes, shape) for v in (r, n))
    out = reshape(a, paired).expand(tiled).reshape(out_shape)
    shares = out._base is not None and (out._base is a or out._base is a._base)
    return clone(out) if shares else out  # all sizes 1 gave a view: PyTorch's result is new


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
