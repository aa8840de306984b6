"""Rearranging ops with PyTorch's semantics: ``t``, ``flip`` / ``fliplr`` / ``flipud``,
``roll``, ``rot90``, ``movedim`` / ``moveaxis``, ``unbind``, ``tile`` and
``repeat_interleave``. As in PyTorch, ``t``, ``movedim`` and ``unbind`` return views of
their input (an in-place change of one shows in the other); the others return new tensors.
All carry gradients, twice differentiable.

>>> import tensorcore as tc
>>> x = tc.arange(6).reshape(2, 3)
>>> x.flip(1).tolist(), x.roll(1, 1).tolist(), tc.rot90(x).tolist()
([[2, 1, 0], [5, 4, 3]], [[2, 0, 1], [5, 3, 4]], [[2, 5], [1, 4], [0, 3]])
>>> tc.repeat_interleave(tc.tensor([1, 2]), 2).tolist(), [r.tolist() for r in x.unbind(1)]
([1, 1, 2, 2], [[0, 3], [1, 4], [2, 5]])
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._dims import as_int, size_arg, wrap_dim
from .shape import as_view, clone, permute, reshape, stack

TENSOR_METHODS = ["t", "flip", "fliplr", "flipud", "roll", "rot90", "movedim", "moveaxis",
                  "unbind", "tile", "repeat_interleave"]
__all__ = list(TENSOR_METHODS)


def _tensor(input, op: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _ints(value, what: str, op: str) -> tuple:
    """A sequence of ints as PyTorch's ``tuple of ints`` argument reads it (TypeError for
    anything else: a bare int, a float...)."""
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{op}(): argument '{what}' must be tuple of ints, not "
                        f"{type(value).__name__}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not hasattr(type(v), "__index__"):
            raise TypeError(f"{op}(): argument '{what}' must be tuple of ints, but found "
                            f"element of type {type(v).__name__} at pos {i}")
    return tuple(as_int(v, what, op) for v in value)


def _copy_of(out: Tensor, a: Tensor) -> Tensor:
    """``out`` itself, or a copy where it shares ``a``'s memory (PyTorch's result is new)."""
    if out._base is not None and (out._base is a or out._base is a._base):
        return clone(out)
    return out


# -- t, movedim ---------------------------------------------------------------------------
def t(input) -> Tensor:
    """The transpose of a tensor of at most 2 dims (a 0-d or 1-d one: a view of itself)."""
    _tensor(input, "t")
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return permute(input, tuple(range(input.ndim))[::-1])


def movedim(input, source, destination) -> Tensor:
    """A view with the dims ``source`` moved to the positions ``destination`` (ints or
    sequences of ints), the others in their order."""
    _tensor(input, "movedim")
    if isinstance(source, (tuple, list)) != isinstance(destination, (tuple, list)):
        raise TypeError(f"movedim() received an invalid combination of arguments - got "
                        f"(Tensor, {type(source).__name__}, {type(destination).__name__})")
    if isinstance(source, (tuple, list)):
        src, dst = _ints(source, "source", "movedim"), _ints(destination, "destination",
                                                            "movedim")
    else:
        src = (as_int(source, "source", "movedim"),)
        dst = (as_int(destination, "destination", "movedim"),)
    n = input.ndim
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    src = [wrap_dim(d, n, "movedim") for d in src]
    dst = [wrap_dim(d, n, "movedim") for d in dst]
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({ds})")
    if n == 0:
        return permute(input, ())
    order = [-1] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = [next(rest) if o < 0 else o for o in order]
    return permute(input, tuple(order))


moveaxis = movedim


# -- flip, roll, rot90 --------------------------------------------------------------------
class Flip(Function):
    """The input reversed along ``dims`` (a copy); the backward flips the gradient back."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        x = a._data
        return x[tuple(slice(None, None, -1) if d in dims else slice(None)
                       for d in range(x.ndim))].copy()

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input, *dims, **kwargs) -> Tensor:
    """The tensor reversed along each of ``dims`` (a new tensor, as PyTorch's); ``dims`` a
    sequence of ints, or (``x.flip(0, 1)``) ints."""
    _tensor(input, "flip")
    if set(kwargs) - {"dims"}:
        raise TypeError(f"flip() got an unexpected keyword argument {sorted(kwargs)[0]!r}")
    wrapped = set()
    for d in size_arg(dims, kwargs.get("dims"), "dims", "flip"):
        d = wrap_dim(d, input.ndim, "flip")  # in order: a repeat is found before a later
        if d in wrapped:                      # dim out of range, as in PyTorch
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        wrapped.add(d)
    return Flip.apply(input, frozenset(wrapped) if input.ndim else frozenset())


def fliplr(input) -> Tensor:
    """The tensor reversed left to right (along dim 1); at least 2-D."""
    _tensor(input, "fliplr")
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input) -> Tensor:
    """The tensor reversed upside down (along dim 0); at least 1-D."""
    _tensor(input, "flipud")
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Function):
    """Elements shifted along dims, those past the end coming back at the start (a copy);
    ``dims`` None: over the flattened tensor. The backward rolls the gradient back."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        x = a._data
        xp = a._backend.xp
        if dims is None:
            return _roll(xp, x.reshape(-1), shifts, (0,)).reshape(x.shape)
        return _roll(xp, x, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        return Roll.apply(g, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def _roll(xp, x, shifts, dims):
    out = x
    for s, d in zip(shifts, dims):
        n = x.shape[d]
        if n == 0 or s % n == 0:
            continue
        cut = n - s % n
        head = (slice(None),) * d
        out = xp.concatenate([out[head + (slice(cut, None),)], out[head + (slice(None, cut),)]],
                             axis=d)
    return out.copy() if out is x else out


def roll(input, shifts, dims=None) -> Tensor:
    """The tensor rolled by ``shifts`` along ``dims`` (ints or sequences of the same length;
    ``dims`` None: the tensor flattened, rolled and given its shape back)."""
    _tensor(input, "roll")
    shifts = _ints(shifts, "shifts", "roll") if isinstance(shifts, (tuple, list)) else (
        as_int(shifts, "shifts", "roll"),)
    if dims is None:
        dims = ()
    dims = _ints(dims, "dims", "roll") if isinstance(dims, (tuple, list)) else (
        as_int(dims, "dims", "roll"),)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if not dims and len(shifts) == 1:
        return Roll.apply(input, shifts, None)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if input.numel() == 0:  # PyTorch clones it before reading any dim
        return clone(input)
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return Roll.apply(input, shifts, tuple(wrap_dim(d, input.ndim, "roll") for d in dims))


def rot90(input, k: int = 1, dims=(0, 1)) -> Tensor:
    """The tensor rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first
    dim toward the second (a new tensor)."""
    _tensor(input, "rot90")
    k = as_int(k, "k", "rot90")
    dims = _ints(dims, "dims", "rot90")
    n = input.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = (wrap_dim(d, n, "rot90") for d in dims)
    if dims[0] == dims[1] or abs(dims[0] - dims[1]) == n:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    k %= 4
    if k == 0:
        return clone(input)
    if k == 2:
        return flip(input, (d0, d1))
    out = flip(input, (d1,) if k == 1 else (d0,))
    order = list(range(n))
    order[d0], order[d1] = d1, d0
    return permute(out, tuple(order))


# -- unbind -------------------------------------------------------------------------------
class Unbind(Function):
    """The slices of the input along ``dim``, each a view; the backward stacks their
    gradients (zeros for those not used)."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        head = (slice(None),) * dim
        return tuple(x[head + (i, Ellipsis)] for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(list(grads), ctx.dim), None


def unbind(input, dim: int = 0) -> tuple:
    """The slices along ``dim`` as a tuple of tensors without that dim (views of ``input``)."""
    _tensor(input, "unbind")
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"unbind(): argument 'dim' must be int, not {type(dim).__name__}")
    if input.ndim == 0:
        as_int(dim, "dim", "unbind")
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "unbind")
    if input.shape[d] == 0:
        return ()
    outs = Unbind.apply(input, d)
    if not isinstance(outs, tuple):
        outs = (outs,)
    head = (slice(None),) * d
    return tuple(as_view(o, input, lambda v, i=i: v[head + (i,)]) for i, o in enumerate(outs))


# -- tile, repeat_interleave --------------------------------------------------------------
def tile(input, *dims, **kwargs) -> Tensor:
    """``input`` repeated ``dims[i]`` times along each dim (``dims`` shorter than the rank:
    1s in front; longer: new leading dims), as ``repeat`` but always a new tensor."""
    _tensor(input, "tile")
    if set(kwargs) - {"dims"}:
        raise TypeError(f"tile() got an unexpected keyword argument {sorted(kwargs)[0]!r}")
    reps = size_arg(dims, kwargs.get("dims"), "dims", "tile")
    reps = (1,) * (input.ndim - len(reps)) + tuple(reps)
    return _copy_of(input.repeat(reps), input)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Each element repeated ``repeats`` times (an int, or an integer tensor of one count per
    slice along ``dim``) along ``dim`` (None: over the flattened tensor). With no ``repeats``,
    ``input`` holds the counts and the result is the repeated indices ``0 .. len-1``."""
    _tensor(input, "repeat_interleave")
    if repeats is None:
        return _repeated_indices(input, output_size)
    if dim is not None:
        dim = as_int(dim, "dim", "repeat_interleave")
    if isinstance(repeats, Tensor):
        return _by_tensor(input, repeats, dim, output_size)
    if isinstance(repeats, bool) or not hasattr(type(repeats), "__index__"):
        raise TypeError(f"repeat_interleave() received an invalid combination of arguments - "
                        f"got (Tensor, {type(repeats).__name__}): 'repeats' must be an int or a "
                        f"Tensor")
    r = int(repeats)
    x, d = (reshape(input, -1), 0) if dim is None else (input, wrap_dim(dim, input.ndim))
    if r < 0:
        raise RuntimeError("Repeats must be non-negative")
    if x.ndim == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    n = x.shape[d]
    _check_size(output_size, n * r)
    shape = x.shape[:d] + (n * r,) + x.shape[d + 1:]
    out = x.unsqueeze(d + 1).expand(x.shape[:d + 1] + (r,) + x.shape[d + 1:]).reshape(shape)
    return _copy_of(out, input)


def _check_size(output_size, size: int) -> None:
    if output_size is not None and as_int(output_size, "output_size",
                                          "repeat_interleave") != size:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {size} but got "
                           f"{output_size}")


def _counts(repeats: Tensor, output_size):
    """The counts of the index form, on the host, checked as PyTorch checks them."""
    if repeats.ndim != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if repeats._data.dtype.kind not in "iu":
        raise RuntimeError(f"\"repeat_interleave_cpu\" not implemented for "
                           f"'{repeats.dtype.name}': repeats has to be Long or Int tensor")
    counts = repeats._backend.to_numpy(repeats._data)
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    if counts.size:  # no counts: an empty result whatever ``output_size`` says, as PyTorch's
        _check_size(output_size, int(counts.sum()))
    return counts


def _repeated_indices(repeats: Tensor, output_size) -> Tensor:
    counts = _counts(repeats, output_size)
    idx = np.repeat(np.arange(counts.size, dtype=counts.dtype), counts)
    return Tensor._make(repeats._backend.asarray(idx), repeats._backend)


def _by_tensor(input, repeats: Tensor, dim, output_size) -> Tensor:
    x, dim = (reshape(input, -1), 0) if dim is None else (input, dim)

    def size():  # read where PyTorch reads it: a bad dim is an IndexError there
        if x.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return x.shape[wrap_dim(dim, x.ndim, "repeat_interleave")]

    if repeats.ndim == 0 or (repeats.ndim == 1 and repeats.shape[0] == 1):
        repeats = repeats.reshape(1).expand(size())
    elif repeats.ndim == 1:
        if repeats.shape[0] != size():
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {repeats.shape[0]} and input.size({dim}) = "
                               f"{size()}")
    else:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    counts = _counts(repeats, output_size)
    d = wrap_dim(dim, x.ndim, "repeat_interleave")
    idx = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    index = Tensor._make(x._backend.asarray(idx), x._backend)
    return x[(slice(None),) * d + (index,)]
