"""Indexing (``x[...]``), ``x[...] = v`` and the in-place ops, with PyTorch's rules.

Basic indexing returns a view; integer-array and boolean-mask indexing return copies. The
gradient of an index scatters into zeros and accumulates repeated indices. In-place ops
bump the version counter (shared with views), so a tensor saved for backward that was
changed later raises at backward; on a leaf that requires grad they raise at once.

>>> import tensorcore as tc
>>> x = tc.zeros(3, requires_grad=True)
>>> x[tc.tensor([0, 0, 2])].sum().backward(); x.grad.tolist()
[2.0, 0.0, 1.0]
"""

from __future__ import annotations

import weakref

from ..autograd.function import Function, _SavedOutput
from ..autograd.grad_mode import _State
from ..tensor import Tensor
from ._util import const
from .shape import as_view

TENSOR_METHODS = ["add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "clamp_",
                  "index_put", "masked_fill_"]
__all__ = sorted(set(TENSOR_METHODS) | {'getitem', 'setitem'})



def _raw_index(index, a: Tensor):
    """Turn tensors and lists inside an index into backend arrays; check bounds and types."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            if i._backend.device != a._backend.device:
                raise RuntimeError(f"indices should be on the same device as the indexed "
                                   f"tensor ({a.device}), got {i.device}")
            i = i._data
            if i.dtype.kind not in "biu":
                raise IndexError(f"tensors used as indices must be long, int or bool tensors, "
                                 f"got {i.dtype}")
        elif isinstance(i, list):
            i = a._backend.asarray(i)
            if i.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int or bool tensors")
        elif isinstance(i, float):
            raise IndexError("only integers, slices, ellipsis, None and integer or boolean "
                             "tensors are valid indices (got float)")
        out.append(i)
    if not a._backend.checks_index_bounds and not a._backend.capturing():
        _check_array_bounds(out, a.shape)
    return tuple(out)


def _check_array_bounds(index: tuple, shape) -> None:
    """IndexError, in NumPy's words, for an integer-array index outside its dimension (for
    array libraries that wrap such indices silently; reads the index's range on the host)."""
    dim = 0
    for i in index:
        if i is Ellipsis:
            dim += len(shape) - sum(map(_dims_taken, index))
            continue
        if getattr(i, "dtype", None) is not None and i.dtype.kind in "iu" and i.size \
                and dim < len(shape):
            lo, hi, n = int(i.min()), int(i.max()), shape[dim]
            if lo < -n or hi >= n:
                raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for axis "
                                 f"{dim} with size {n} (indexing a tensor of shape "
                                 f"{list(shape)})")
        dim += _dims_taken(i)


def _dims_taken(i) -> int:
    """How many dimensions of the indexed tensor one entry of an index consumes."""
    if i is None or i is Ellipsis:
        return 0
    if getattr(i, "dtype", None) is not None and i.dtype.kind == "b":
        return i.ndim
    return 1


def _is_basic(index) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index)


def _take(x, index):
    try:
        return x[index]
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {list(x.shape)})") from None


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.index, ctx.shape = index, a._data.shape
        out = _take(a._data, index)
        if type(out) is not type(a._data):
            out = a._backend.asarray(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return IndexScatter.apply(g, ctx.index, ctx.shape), None


class IndexScatter(Function):
    """zeros(shape) with ``g`` added at ``index`` (repeats accumulate): getitem's gradient."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        xp = g._backend.xp
        out = xp.zeros(shape, dtype=g._data.dtype)
        if _is_basic(index):
            out[index] = g._data
        else:
            g._backend.index_add(out, index, g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index], None, None


class IndexPut(Function):
    """``a`` with ``a[index] = value`` applied, out of place."""

    @staticmethod
    def forward(ctx, a, index, value):
        ctx.index = index
        out = a._data.copy()
        out[index] = value._data if isinstance(value, Tensor) else value
        return out

    @staticmethod
    def backward(ctx, g):
        _, _, nv = ctx.needs_input_grad
        return IndexPut.apply(g, ctx.index, 0.0), None, (g[ctx.index] if nv else None)


def getitem(a: Tensor, index):
    index = _raw_index(index, a)
    out = GetItem.apply(a, index)
    return as_view(out, a, lambda t: t[index]) if _is_basic(index) else out


def index_put(a: Tensor, index, value):
    return IndexPut.apply(a, _raw_index(index, a), value)


def setitem(a: Tensor, index, value) -> None:
    index = _raw_index(index, a)
    if isinstance(value, Tensor) and value._backend.device != a._backend.device:
        raise RuntimeError(f"setitem: value is on {value.device} but the tensor is on "
                           f"{a.device}")
    _inplace(a, lambda t: IndexPut.apply(t, index, value), [value],
             lambda x: x.__setitem__(index, value._data if isinstance(value, Tensor) else value))


# -- in-place ops ----------------------------------------------------------------------------
def _check_inplace(a: Tensor, others) -> bool:
    """Apply PyTorch's rules; True when the in-place op must be recorded in the graph."""
    if not _State.enabled:
        return False
    record = a._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others)
    if a._requires_grad and a.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    base = a._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    return record or (base is not None and base._requires_grad)


class CopySlices(Function):
    """The base's new history after an in-place op on one of its views: the view's region
    comes from the op's result, the rest from the base's old value (as PyTorch's)."""

    @staticmethod
    def forward(ctx, base, new_view, view_fn, mask):
        ctx.view_fn, ctx.mask = view_fn, mask
        return base._data  # already holds the new values: the view wrote through

    @staticmethod
    def backward(ctx, g):
        nb, nv, _, _ = ctx.needs_input_grad
        g_base = g * const(g, ~ctx.mask) if nb else None
        return g_base, (ctx.view_fn(g) if nv else None), None, None


def refresh_view(v: Tensor) -> None:
    """Re-derive a view's grad_fn from its base after the base's history was rewritten."""
    base = v._base
    v._view_version = v._version_box[0]
    if base._requires_grad:
        prev = _State.enabled
        _State.enabled = True
        try:
            fresh = v._view_fn(base)
        finally:
            _State.enabled = prev
        v.grad_fn, v._output_nr, v._requires_grad = fresh.grad_fn, fresh._output_nr, True


def _region_mask(v: Tensor):
    """A bool array of the base's shape, True where the view ``v`` looks."""
    base = v._base
    mask = base._backend.xp.zeros(base._data.shape, dtype=bool)
    prev = _State.enabled
    _State.enabled = False
    try:
        region = v._view_fn(Tensor._make(mask, base._backend))
    finally:
        _State.enabled = prev
    region._data[...] = True
    if int(mask.sum()) != region._data.size:
        raise RuntimeError("in-place op on a view whose layout cannot be replayed on its base; "
                           "clone() the base first")
    return mask


def _inplace(a: Tensor, out_of_place, others, mutate):
    """Run an in-place op: mutate ``a``'s array, bump its version and, when a graph is being
    recorded, give ``a`` the history of the equivalent out-of-place op."""
    if a._base is not None and a._view_version != a._version_box[0]:
        refresh_view(a)
    if not _check_inplace(a, others):
        try:
            mutate(a._data)
        except ValueError as e:
            raise RuntimeError(f"in-place op failed on a tensor of shape {list(a.shape)}: {e}"
                               ) from None
        a._version_box[0] += 1
        return a
    # the op reads a's values before they are overwritten: it gets a copy with a's history,
    # so what it saves for backward survives the write (PyTorch saves ``self.clone()``)
    orig = Tensor._make(a._data.copy(), a._backend, a.grad_fn, a._output_nr)
    orig._requires_grad = a._requires_grad
    out = out_of_place(orig)
    if out._data.shape != a._data.shape:
        raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the broadcast "
                           f"shape {list(out.shape)}")
    if out._data.dtype != a._data.dtype and not _can_cast(out._data.dtype, a._data.dtype):
        raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type "
                           f"{a.dtype}")
    a._data[...] = out._data
    a._version_box[0] += 1
    if a._base is not None:
        _rebase_view(a, out)
        return a
    node = out.grad_fn
    a.grad_fn, a._output_nr, a._requires_grad = node, out._output_nr, True
    node._outputs = (weakref.ref(a),)
    if node._saved:
        node._saved = tuple(_SavedOutput(0, a._data, a._version_box)
                            if type(e) is _SavedOutput else e for e in node._saved)
    return a


def _rebase_view(v: Tensor, new_value: Tensor) -> None:
    """After an in-place op on view ``v``: the base gets a CopySlices history joining its old
    history and ``new_value`` (the op's result); ``v`` becomes a view of that again."""
    base = v._base
    node = CopySlices.apply(base, new_value, v._view_fn, _region_mask(v)).grad_fn
    base.grad_fn, base._output_nr, base._requires_grad = node, 0, True
    node._outputs = (weakref.ref(base),)
    refresh_view(v)


def _can_cast(src, dst) -> bool:
    return src.kind == dst.kind or (dst.kind == "f" and src.kind in "biu")


def _operand(a, other):
    if isinstance(other, Tensor):
        if other._backend.device != a._backend.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found "
                               f"{a.device} and {other.device}")
        return other._data
    return other


def _arith_inplace(a, other, out_of_place, np_name):
    o = _operand(a, other)

    def mutate(x):
        if isinstance(o, float) and x.dtype.kind != "f" or (
                hasattr(o, "dtype") and o.dtype.kind == "f" and x.dtype.kind != "f"):
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{a.dtype}")
        getattr(a._backend.xp, np_name)(x, o, out=x, casting="unsafe")

    return _inplace(a, lambda t: out_of_place(t, other), [other], mutate)


def _bare_inplace(a, other, np_name, alpha=1) -> bool:
    """The parameter-update path: no graph, a float tensor and a same-device tensor or
    number: one NumPy call on the arrays. False when the general path is needed."""
    if _State.enabled or a._data.dtype.kind != "f":
        return False
    if isinstance(other, Tensor):
        if other._backend is not a._backend:
            return False
        o = other._data
    elif type(other) in (int, float):
        o = other
    else:
        return False
    x = a._data
    try:
        if alpha != 1 and np_name in ("add", "subtract") and x.dtype == getattr(o, "dtype", None):
            a._backend.axpy_(x, alpha if np_name == "add" else -alpha, o)
        else:
            if alpha != 1:
                o = o * alpha
            getattr(a._backend.xp, np_name)(x, o, out=x, casting="same_kind")
    except (ValueError, TypeError) as e:  # shapes or dtypes that do not fit
        raise RuntimeError(f"in-place {np_name} failed on a tensor of shape {list(x.shape)} "
                           f"and dtype {a.dtype}: {e}") from None
    a._version_box[0] += 1
    return True


def add_(a, other, *, alpha=1):
    if _bare_inplace(a, other, "add", alpha):
        return a
    other = other if alpha == 1 else other * alpha
    return _arith_inplace(a, other, lambda t, o: t + o, "add")


def sub_(a, other, *, alpha=1):
    if _bare_inplace(a, other, "subtract", alpha):
        return a
    other = other if alpha == 1 else other * alpha
    return _arith_inplace(a, other, lambda t, o: t - o, "subtract")


def mul_(a, other):
    return _arith_inplace(a, other, lambda t, o: t * o, "multiply")


def div_(a, other):
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"result type Float can't be cast to the desired output type {a.dtype}")
    return _arith_inplace(a, other, lambda t, o: t / o, "divide")


def zero_(a):
    return fill_(a, 0)


def fill_(a, value):
    v = value.item() if isinstance(value, Tensor) else value

    def mutate(x):
        x[...] = v

    return _inplace(a, lambda t: t * 0 + v, [], mutate)


def copy_(a, src):
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src._backend.device != a._backend.device:
        host = src._backend.to_numpy(src._data)
        data = a._backend.asarray(host)
    else:
        data = src._data

    def mutate(x):
        x[...] = data

    def out_of_place(t):
        moved = src.to(a.device).to(a.dtype)
        return t * 0 + moved.expand(t.shape)

    return _inplace(a, out_of_place, [src], mutate)


def clamp_(a, min=None, max=None):
    def mutate(x):
        a._backend.xp.clip(x, min, max, out=x)

    return _inplace(a, lambda t: t.clamp(min, max), [min, max], mutate)


def masked_fill_(a, mask, value):
    m = mask._data if isinstance(mask, Tensor) else mask

    def mutate(x):
        x[m] = value

    return _inplace(a, lambda t: t.masked_fill(mask, value), [], mutate)
