"""Gathering and scattering along a dim, with PyTorch's index checks and gradients:
``gather``, ``scatter`` / ``scatter_add`` (and ``scatter_`` / ``scatter_add_``),
``index_select``, ``masked_select``, ``take`` and ``take_along_dim``.

>>> import tensorcore as tc
>>> x = tc.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> tc.gather(x, 1, tc.tensor([[1, 0], [0, 0]])).tolist()
[[2.0, 1.0], [3.0, 3.0]]
>>> tc.zeros(3).scatter_add(0, tc.tensor([0, 0, 2]), tc.ones(3)).tolist()
[2.0, 0.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..compiler.traced import run_recorded
from ..tensor import Tensor
from ._dims import numpy_names, wrap_dim
from .inplace import inplace, scalar_as, torch_name

TENSOR_METHODS = ["gather", "scatter", "scatter_add", "scatter_", "scatter_add_",
                  "index_select", "masked_select", "take", "take_along_dim"]
__all__ = ["gather", "scatter", "scatter_add", "index_select", "masked_select", "take",
           "take_along_dim"]


_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


def _tensor(t, op: str, name: str, pos: int) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(t).__name__}")


def _on(t: Tensor, like: Tensor) -> Tensor:
    return t if t._backend.device == like._backend.device else t.to(like.device)


def _nonempty_shape(shape) -> tuple:
    """PyTorch's ``ensure_nonempty``: a 0-d tensor counts as one of shape (1,)."""
    return tuple(shape) or (1,)


def _full_index(index, dim: int, xp) -> tuple:
    """The NumPy advanced index that ``gather`` / ``scatter`` address: ``index`` along
    ``dim``, each other dim's position in ``index`` along the others."""
    nd = index.ndim
    return tuple(index if d == dim else
                 xp.arange(n).reshape([-1 if i == d else 1 for i in range(nd)])
                 for d, n in enumerate(index.shape))


def _checked(backend, check, *args) -> None:
    """Run an index check that reads the index on the host: recorded in a compiled step
    (each replay checks again), skipped while a CUDA graph is captured (as for ``x[i]``)."""
    if not backend.capturing():
        run_recorded(check, *args)


def _check_range(index, size: int, dim: int) -> None:
    """RuntimeError, as PyTorch's kernels raise, for an index outside ``[0, size)``."""
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= size:
            raise RuntimeError(f"index {lo if lo < 0 else hi} is out of bounds for dimension "
                               f"{dim} with size {size}")


def _index_arg(op: str, input: Tensor, dim, index) -> tuple[int, Tensor]:
    """The wrapped ``dim`` and the int64 ``index`` of ``gather`` / ``scatter``."""
    _tensor(index, op, "index", 3)
    d = wrap_dim(dim, input.ndim, op)
    if index._data.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    return d, _on(index, input)


class Gather(Function):
    """``out[i][j] = input[index[i][j]][j]`` (dim 0); the backward scatter-adds."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim, index):
        x, xp, ix = a._data, a._backend.xp, index._data
        ctx.dim, ctx.index, ctx.shape = dim, index, x.shape
        if not ix.size:  # PyTorch checks no shape then: an empty result of the index's shape
            return xp.zeros(ix.shape, x.dtype)
        if x.ndim and ix.ndim:
            return x[_full_index(ix, dim, xp)]
        xs, ixs = x.reshape(_nonempty_shape(x.shape)), ix.reshape(_nonempty_shape(ix.shape))
        return xs[_full_index(ixs, dim, xp)].reshape(ix.shape)

    @staticmethod
    def backward(ctx, g):
        zeros = Tensor._make(g._backend.xp.zeros(ctx.shape, g._data.dtype), g._backend)
        return ScatterAdd.apply(zeros, ctx.dim, ctx.index, g), None, None


class ScatterAdd(Function):
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate); only
    ``src``'s first ``index.shape`` elements are read."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim, index, src):
        x, ix = a._data, index._data
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src._data.shape
        out = x.copy()
        if ix.size:
            target = out.reshape(1) if out.ndim == 0 else out
            s = _src_part(src._data, ix.shape).astype(out.dtype, copy=False)
            a._backend.index_add(target, _full_index(ix.reshape(_nonempty_shape(ix.shape)),
                                                     dim, a._backend.xp),
                                 s.reshape(_nonempty_shape(s.shape)))
        return out

    @staticmethod
    def backward(ctx, g):
        na, _, _, ns = ctx.needs_input_grad
        return (g if na else None), None, None, (
            _src_grad(g, ctx.dim, ctx.index, ctx.src_shape) if ns else None)


class Scatter(Function):
    """``input`` with ``src`` (a tensor, or a number) written at ``index`` along ``dim``;
    the backward: ``g`` with zeros there for ``input``, ``g`` gathered for ``src``."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim, index, src):
        x, ix = a._data, index._data
        ctx.dim, ctx.index = dim, index
        ctx.src_shape = src._data.shape if isinstance(src, Tensor) else None
        out = x.copy()
        if ix.size:
            target = out.reshape(1) if out.ndim == 0 else out
            where = _full_index(ix.reshape(_nonempty_shape(ix.shape)), dim, a._backend.xp)
            if isinstance(src, Tensor):
                s = _src_part(src._data, ix.shape).astype(out.dtype, copy=False)
                target[where] = s.reshape(_nonempty_shape(s.shape))
            else:
                target[where] = src
        return out

    @staticmethod
    def backward(ctx, g):
        na, _, _, ns = ctx.needs_input_grad
        ga = Scatter.apply(g, ctx.dim, ctx.index, 0.0) if na else None
        return ga, None, None, (_src_grad(g, ctx.dim, ctx.index, ctx.src_shape) if ns else None)


def _src_part(s, shape):
    """The part of ``src`` that a scatter with an index of ``shape`` reads."""
    if s.shape == tuple(shape):
        return s
    return s[tuple(slice(0, n) for n in shape)]


def _src_grad(g, dim, index, src_shape):
    """``g`` gathered at ``index``: the gradient of a scatter's ``src``, zero-padded when
    ``src`` is larger than ``index`` (PyTorch raises at backward there)."""
    out = Gather.apply(g, dim, index)
    if tuple(out.shape) == tuple(src_shape):
        return out
    return PadTo.apply(out, tuple(src_shape))


class PadTo(Function):
    """``a`` in the leading corner of zeros of ``shape``; the backward takes that corner."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.corner = tuple(slice(0, n) for n in a._data.shape)
        out = a._backend.xp.zeros(shape, a._data.dtype)
        out[ctx.corner] = a._data
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.corner], None


# -- the checks ------------------------------------------------------------------------------
def _gather_check(input: Tensor, dim: int, index: Tensor) -> None:
    if not index._data.size:
        return
    si, sx = _nonempty_shape(index.shape), _nonempty_shape(input.shape)
    if len(si) != len(sx):
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    for d, (ni, nx) in enumerate(zip(si, sx)):
        if d != dim and ni > nx:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {dim}")
    _checked(input._backend, _check_range, index._data, sx[dim], dim)


def _scatter_check(op: str, input: Tensor, dim: int, index: Tensor, src) -> None:
    if isinstance(src, Tensor) and src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    if not index._data.size:
        return
    si, sx = _nonempty_shape(index.shape), _nonempty_shape(input.shape)
    if len(si) != len(sx):
        raise RuntimeError("Index tensor must have the same number of dimensions as self "
                           "tensor")
    wrong = any(d != dim and ni > nx for d, (ni, nx) in enumerate(zip(si, sx)))
    if isinstance(src, Tensor):
        ss = _nonempty_shape(src.shape)
        if len(ss) != len(si):
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        if wrong or any(ni > ns for ni, ns in zip(si, ss)):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {dim} and to be no "
                               f"larger size than src {list(src.shape)}")
    elif wrong:
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {dim}")
    _checked(input._backend, _check_range, index._data, sx[dim], dim)


# -- the ops ---------------------------------------------------------------------------------
@numpy_names
def gather(input, dim, index, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` picked along ``dim`` by ``index`` (int64, of ``input``'s rank):
    ``out[i][j] = input[index[i][j]][j]`` for dim 0."""
    _tensor(input, "gather", "input", 1)
    d, index = _index_arg("gather", input, dim, index)
    _gather_check(input, d, index)
    return Gather.apply(input, d, index)


def _scatter_args(op, input, dim, index, src, value, reduce=None):
    _tensor(input, op, "input", 1)
    if reduce is not None:
        raise NotImplementedError(f"{op}(): the reduce argument is not supported; use "
                                  f"scatter_add or scatter_reduce")
    if src is None and value is None:
        raise TypeError(f"{op}() missing 1 required argument: 'src' or 'value'")
    if src is not None and value is not None:
        raise TypeError(f"{op}() got both 'src' and 'value'")
    if value is None and not isinstance(src, Tensor):
        value = src
    d, index = _index_arg(op, input, dim, index)
    if isinstance(src, Tensor):
        src = _on(src, input)
        _scatter_check(op, input, d, index, src)
        return d, index, src
    if not isinstance(value, (bool, int, float, np.number)):
        raise TypeError(f"{op}(): argument 'value' must be Number, not "
                        f"{type(value).__name__}")
    _scatter_check(op, input, d, index, None)
    if not index._data.size:  # PyTorch converts the value only when it writes it
        return d, index, 0
    return d, index, scalar_as(value, input._data.dtype)


@numpy_names
def scatter(input, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or a number ``value``) written at
    ``index`` along ``dim``: ``out[index[i][j]][j] = src[i][j]`` for dim 0."""
    d, index, src = _scatter_args("scatter", input, dim, index, src, value, reduce)
    return Scatter.apply(input, d, index, src)


@numpy_names
def scatter_add(input, dim, index, src) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeated indices
    accumulate): ``out[index[i][j]][j] += src[i][j]`` for dim 0."""
    _tensor(src, "scatter_add", "src", 4)
    d, index, src = _scatter_args("scatter_add", input, dim, index, src, None)
    return ScatterAdd.apply(input, d, index, src)


@numpy_names
def scatter_(input, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
    """``scatter`` in place."""
    d, index, src = _scatter_args("scatter_", input, dim, index, src, value, reduce)
    return inplace(input, lambda t: Scatter.apply(t, d, index, src),
                   [src] if isinstance(src, Tensor) else [])


@numpy_names
def scatter_add_(input, dim, index, src) -> Tensor:
    """``scatter_add`` in place."""
    _tensor(src, "scatter_add_", "src", 4)
    d, index, src = _scatter_args("scatter_add_", input, dim, index, src, None)
    return inplace(input, lambda t: ScatterAdd.apply(t, d, index, src), [src])


class IndexSelect(Function):
    """The entries ``index`` (1-D) of ``input`` along ``dim``; the backward adds them back."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, dim, index):
        x = a._data
        ctx.dim, ctx.index, ctx.shape = dim, index, x.shape
        if x.ndim == 0:
            return x.reshape(1)[index].reshape(index.shape)
        return x[(slice(None),) * dim + (index,)]

    @staticmethod
    def backward(ctx, g):
        return IndexAddInto.apply(g, ctx.dim, ctx.index, ctx.shape), None, None


class IndexAddInto(Function):
    """Zeros of ``shape`` with ``g`` added at the entries ``index`` along ``dim``."""

    array_forward = True

    @staticmethod
    def forward(ctx, g, dim, index, shape):
        ctx.dim, ctx.index = dim, index
        out = g._backend.xp.zeros(shape, g._data.dtype)
        if not shape:
            g._backend.index_add(out.reshape(1), index.reshape(-1), g._data.reshape(-1))
        else:
            g._backend.index_add(out, (slice(None),) * dim + (index,), g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return IndexSelect.apply(gg, ctx.dim, ctx.index), None, None, None


@numpy_names
def index_select(input, dim, index) -> Tensor:
    """The entries ``index`` (a 1-D int64 or int32 tensor) of ``input`` along ``dim``."""
    _tensor(input, "index_select", "input", 1)
    _tensor(index, "index_select", "index", 3)
    d = wrap_dim(dim, input.ndim, "index_select")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    ix = _on(index, input)._data
    if input.ndim == 0:
        if ix.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{ix.size} value(s)")
        if int(ix.reshape(-1)[0]) != 0:
            raise IndexError("index out of range in self")
        return IndexSelect.apply(input.reshape(1), 0, ix.astype(np.int64).reshape(1)).reshape(())
    n, flat = input.shape[d], ix.reshape(-1)
    if flat.size:
        if input.ndim > 1 and input.numel() == 0:
            if n == 0:
                raise RuntimeError("index_select(): self indexing axis dim should be positive")
            _checked(input._backend, _select_range, flat, n, RuntimeError)
        _checked(input._backend, _select_range, flat, n,
                 RuntimeError if input.ndim > 1 and d == 1 else IndexError)
    return IndexSelect.apply(input, d, flat.astype(np.int64, copy=False))


def _select_range(ix, n: int, error) -> None:
    """index_select's error for its first index outside ``[0, n)``, of the class and words
    of the PyTorch kernel that runs (its dim-1 kernel raises RuntimeError)."""
    bad = (ix < 0) | (ix >= n)
    if bool(bad.any()):
        if error is IndexError:
            raise IndexError("index out of range in self")
        first = int(ix[int(bad.argmax())])
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={first} axis_dim={n}")


def masked_select(input, mask) -> Tensor:
    """The elements of ``input`` where ``mask`` (bool; the two broadcast) is True, as a 1-D
    tensor."""
    _tensor(input, "masked_select", "input", 1)
    _tensor(mask, "masked_select", "mask", 2)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask (got "
                           f"{torch_name(mask._data.dtype)})")
    mask = _on(mask, input)
    try:
        shape = np.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise RuntimeError(f"The size of tensor a {list(input.shape)} must match the size of "
                           f"tensor b {list(mask.shape)} (they cannot be broadcast)") from None
    x = input if tuple(input.shape) == shape else input.expand(shape)
    m = mask._data if tuple(mask.shape) == shape else mask._backend.xp.broadcast_to(
        mask._data, shape)
    return x.reshape(-1)[Tensor._make(m.reshape(-1), mask._backend)]


def take(input, index) -> Tensor:
    """The elements of ``input`` seen as 1-D at ``index`` (int64; negative counts from the
    end), in ``index``'s shape."""
    _tensor(input, "take", "input", 1)
    _tensor(index, "take", "index", 2)
    if index._data.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{torch_name(index._data.dtype)}")
    ix = _on(index, input)._data
    n = input.numel()
    if ix.size:
        _checked(input._backend, _take_range, ix, n)
    flat = ix.reshape(-1)
    flat = input._backend.xp.where(flat < 0, flat + n, flat)
    return IndexSelect.apply(input.reshape(-1), 0, flat).reshape(ix.shape)


def _take_range(ix, n: int) -> None:
    lo, hi = int(ix.min()), int(ix.max())
    if lo < -n or hi >= n:
        raise IndexError(f"out of range: tried to access index {lo if lo < -n else hi} on a "
                         f"tensor of {n} elements.")


@numpy_names
def take_along_dim(input, indices, dim=None) -> Tensor:
    """``gather`` with ``indices`` broadcast against ``input`` (except along ``dim``; a
    negative index counts from the end there); with no ``dim``, of ``input`` flattened. An
    index out of range raises (PyTorch reads past the dim without a check)."""
    _tensor(input, "take_along_dim", "input", 1)
    _tensor(indices, "take_along_dim", "indices", 2)
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if indices._data.dtype != np.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{torch_name(indices._data.dtype)}")
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    d = wrap_dim(dim, input.ndim, "take_along_dim")
    n, ix = (input.shape[d] if input.ndim else 1), _on(indices, input)._data
    indices = Tensor._make(input._backend.xp.where(ix < 0, ix + n, ix), input._backend)
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    si, sx = list(indices.shape), list(input.shape)
    si[d] = sx[d] = 1
    try:
        common = list(np.broadcast_shapes(tuple(si), tuple(sx)))
    except ValueError:
        raise RuntimeError(f"The size of tensor a {list(input.shape)} must match the size of "
                           f"tensor b {list(indices.shape)} (they cannot be broadcast)") \
            from None
    xs = common.copy()
    xs[d] = input.shape[d]
    is_ = common.copy()
    is_[d] = indices.shape[d]
    x = input if list(input.shape) == xs else input.expand(xs)
    ix = indices if list(indices.shape) == is_ else indices.expand(is_)
    return gather(x, d, ix)
