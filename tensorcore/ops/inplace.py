"""The machinery of in-place ops (shared with ``x[...] = v``), and ``fill_``, ``zero_``,
``copy_`` and ``masked_fill_``, with PyTorch's rules; the arithmetic ones (``add_``,
``mul_``, ``pow_``, ``clamp_``, ``&=``...) are in ``inplace_arith``.

An in-place op computes what its out-of-place op would and writes it into the tensor: the
result must have the tensor's shape (no broadcasting to a bigger one) and cast to its dtype
(PyTorch's ``canCast``: no float into an integer tensor, no number into a bool one), and the
tensor may not hold one memory location in several elements (an expanded one), except for
ops that write one value wherever they write (``fill_``, ``masked_fill_``, ``index_put_``),
as in PyTorch. It bumps the version counter (shared with views), so a tensor saved for
backward that was changed later raises at backward; on a leaf that requires grad it raises
at once. When a graph is recorded the tensor takes the history of the out-of-place op; an
in-place op on a view gives its base a ``CopySlices`` history.

>>> import tensorcore as tc
>>> x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> z = x.clone()
>>> z[1:] = 0.0
>>> z.sum().backward(); x.grad.tolist()
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype
from ..autograd.function import (
    Function,
    move_saved_output,
    next_seq,
    refresh_view,
    saves_since,
    set_history,
)
from ..autograd.grad_mode import grad_state, no_grad
from ..compiler import state as _compile_state
from ..tensor import Tensor
from ._util import checked_scalar, const, int_range

TENSOR_METHODS = ["zero_", "fill_", "copy_", "masked_fill_"]
__all__ = sorted(TENSOR_METHODS)

OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
           "single memory location. Please clone() the tensor before performing the operation.")

# PyTorch's names of the dtypes, for messages that quote PyTorch's
TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int32": "Int",
               "int64": "Long", "bool": "Bool"}
# per integer dtype: its range and the C type PyTorch's overflow message names
_INT_LIMITS = {np.dtype(np.int32): (-2**31, 2**31 - 1, "int"),
               np.dtype(np.int64): (-2**63, 2**63 - 1, "int64_t")}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def torch_name(dt) -> str:
    return TORCH_NAMES[np.dtype(dt).name if not isinstance(dt, str) else dt]


def scalar_as(value, dt: np.dtype):
    """The Python number ``value`` as PyTorch converts a scalar written into a tensor of
    dtype ``dt``: a float truncates toward zero into an integer type; a Python int outside
    int64 raises ValueError; a value outside ``dt``'s range (NaN or inf into an integer
    type, a finite float beyond float32's) raises RuntimeError. float16 overflows to inf,
    as in PyTorch."""
    if type(value) is float and dt.kind == "f" and (dt.itemsize == 8 or abs(value) <= 65504.0):
        return value  # the common case first: no check needed
    if isinstance(value, complex):
        if dt.kind == "b":
            return bool(value)
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")
    if isinstance(value, (int, np.integer)):
        value = int(value)
        if not -2**63 <= value < 2**63:
            raise ValueError("Overflow when unpacking long long")
    kind = dt.kind
    if kind == "b":
        return bool(value)
    if kind == "f":
        value = float(value)
        if dt == np.float32 and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
            raise RuntimeError("value cannot be converted to type float without overflow")
        if dt == np.float16 and abs(value) > 65504.0:
            return float(cast(np.asarray(value), dt))  # inf past float16's rounding range
        return value
    lo, hi, c_name = _INT_LIMITS[dt]
    if not (math.isfinite(value) and lo <= value <= hi):
        raise RuntimeError(f"value cannot be converted to type {c_name} without overflow")
    return int(value)


def cast(x, dt):
    """The array ``x`` in dtype ``dt``, silent where a value overflows (to inf, as PyTorch's
    casts are: NumPy would warn)."""
    if x.dtype == dt:
        return x
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(dt)


def check_cast(result, dt) -> None:
    """RuntimeError, as PyTorch's, when an in-place op's result of NumPy dtype ``result`` may
    not be written into a tensor of dtype ``dt`` (``_dtype.can_cast``)."""
    if not _dtype.can_cast(_dtype._FROM_NP[result], _dtype._FROM_NP[dt]):
        raise RuntimeError(f"result type {torch_name(result)} can't be cast to the desired "
                           f"output type {torch_name(dt)}")


def overlapping(x) -> bool:
    """Whether several elements of the array ``x`` are one memory location (a stride 0 along
    a dimension of size > 1: an expanded tensor), PyTorch's ``has_internal_overlap``. An
    empty array has no elements to overlap (NumPy gives it zero strides)."""
    return 0 in x.strides and x.size > 0 and any(
        s == 0 and n > 1 for n, s in zip(x.shape, x.strides))


def check_no_overlap(x) -> None:
    if overlapping(x):
        raise RuntimeError(OVERLAP)


class _WriteableAlias:
    """A NumPy array's memory described as writeable (see ``writable``)."""

    def __init__(self, x) -> None:
        interface = dict(x.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface
        self.base = x  # keeps the memory alive


def writable(x):
    """``x``, or a writeable alias of a NumPy view that NumPy made read-only only because it
    comes from ``broadcast_to`` (an expanded tensor, or a view of one), whose memory is a
    tensor's own: PyTorch writes into ``x.expand(3, 3)[0]`` and fills ``x.expand(3, 3)``."""
    flags = getattr(x, "flags", None)
    if flags is None or getattr(flags, "writeable", True):
        return x  # the usual case, and device arrays (no such flag)
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.writeable:
        raise RuntimeError("in-place op on a tensor whose memory is read-only (it shares a "
                           "read-only NumPy array): clone() it first")
    _compile_state.taint("it writes into an expanded tensor (a write tc.compile cannot record)")
    return np.asarray(_WriteableAlias(x))


def checked_result(a: Tensor, out):
    """The array ``out``, an in-place op's result, in ``a``'s dtype: PyTorch's RuntimeError
    when it has another shape (the op broadcast ``a`` to a bigger one) or a dtype that may
    not be cast to ``a``'s."""
    x = a._data
    if out.shape != x.shape:
        raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast "
                           f"shape {list(out.shape)}")
    if out.dtype != x.dtype:
        check_cast(out.dtype, x.dtype)
        out = cast(out, x.dtype)
    return out


def check_broadcasts_to(shape, target) -> None:
    """RuntimeError, in PyTorch's words, unless ``shape`` broadcasts to ``target``."""
    try:
        full = np.broadcast_shapes(tuple(shape), tuple(target))
    except ValueError:
        raise RuntimeError(f"The size of tensor a {list(target)} must match the size of "
                           f"tensor b {list(shape)} (they cannot be broadcast)") from None
    if full != tuple(target):
        raise RuntimeError(f"output with shape {list(target)} doesn't match the broadcast "
                           f"shape {list(full)}")


# -- the rules of in-place ops ---------------------------------------------------------------
def _check_inplace(a: Tensor, others) -> bool:
    """Apply PyTorch's rules; True when the in-place op must be recorded in the graph."""
    if not grad_state.enabled:
        return False
    record = a._requires_grad
    for o in others:
        if isinstance(o, Tensor) and o._requires_grad:
            record = True
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
    comes from the op's result, the rest from the base's old value (as PyTorch's). ``mask``
    None: the view was an expanded one (``fill_``), and backward raises as PyTorch's."""

    @staticmethod
    def forward(ctx, base, new_view, view_fn, mask):
        ctx.view_fn, ctx.mask = view_fn, mask
        return base._data  # already holds the new values: the view wrote through

    @staticmethod
    def backward(ctx, g):
        if ctx.mask is None:
            raise RuntimeError(OVERLAP)
        nb, nv, _, _ = ctx.needs_input_grad
        g_base = masked(g, ctx.mask) if nb else None
        return g_base, (ctx.view_fn(g) if nv else None), None, None


def _region_mask(v: Tensor):
    """A bool array of the base's shape, True where the view ``v`` looks; None where
    elements of ``v`` share memory (no gradient can be routed through it)."""
    base = v._base
    mask = base._backend.xp.zeros(base._data.shape, dtype=bool)
    with no_grad():
        region = v._view_fn(Tensor._make(mask, base._backend))
    if overlapping(region._data):
        return None
    writable(region._data)[...] = True
    if int(mask.sum()) != region._data.size:
        raise RuntimeError("in-place op on a view whose layout cannot be replayed on its base; "
                           "clone() the base first")
    return mask


def inplace(a: Tensor, out_of_place, others, mutate=None, *, any_layout: bool = False):
    """Run an in-place op: write its result into ``a``'s array, bump its version and, when a
    graph is being recorded, give ``a`` the history of the equivalent out-of-place op.

    ``out_of_place(t)`` computes the op's result as a new tensor from ``t``, a tensor holding
    ``a``'s array (and history when one is recorded): its promotion, checks and errors are
    the in-place op's. Without a graph ``mutate(x)``, when given, writes the result into the
    array ``x`` directly instead (its caller has checked the operands). Unless
    ``any_layout`` (an op that writes one value wherever it writes), ``a`` may not be an
    expanded tensor. ``t`` is copied (before ``a`` is written) only when a node that call
    recorded saved it for backward, as PyTorch saves ``self.clone()`` only then."""
    if a._base is not None and a._view_version != a._version_box[0]:
        refresh_view(a)
    record = _check_inplace(a, others)  # PyTorch's leaf checks come first
    if not any_layout:
        check_no_overlap(a._data)
    if not record:
        if mutate is None:
            out = out_of_place(Tensor._make(a._data, a._backend))._data
            writable(a._data)[...] = checked_result(a, out)
        else:
            try:
                mutate(writable(a._data))
            except ValueError as e:
                raise RuntimeError(f"in-place op failed on a tensor of shape {list(a.shape)}: "
                                   f"{e}") from None
        a._version_box[0] += 1
        return a
    orig = Tensor._make(a._data, a._backend, a.grad_fn, a._output_nr)
    orig._requires_grad = a._requires_grad
    first = next_seq()  # the nodes out_of_place records come after this number
    out = out_of_place(orig)
    data = checked_result(a, out._data)
    node = out.grad_fn
    if node is None or a._data.dtype.kind != "f":  # no gradient, or none for this dtype
        writable(a._data)[...] = data
        a._version_box[0] += 1
        return a
    if saves_since(node, orig, first):
        orig._data = orig._data.copy()  # the saved value survives the write below
    writable(a._data)[...] = data
    a._version_box[0] += 1
    move_saved_output(node, a)  # a saved output is ``a`` itself now
    if a._base is not None:
        _rebase_view(a, out)
        return a
    set_history(a, node, out._output_nr)
    return a


def _rebase_view(v: Tensor, new_value: Tensor) -> None:
    """After an in-place op on view ``v``: the base gets a CopySlices history joining its old
    history and ``new_value`` (the op's result); ``v`` becomes a view of that again."""
    base = v._base
    node = CopySlices.apply(base, new_value, v._view_fn, _region_mask(v)).grad_fn
    set_history(base, node, 0)
    refresh_view(v)


# -- masked values: where(mask, value, a), exact (no 0 * inf) --------------------------------
class MaskedFill(Function):
    """``a`` with ``value`` (a number, or a 0-d tensor that may need a gradient) where
    ``mask`` (a bool array broadcastable to ``a``) is True."""

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask = mask
        v = cast(value._data, a._data.dtype) if isinstance(value, Tensor) else value
        return a._backend.xp.where(mask, v, a._data).astype(a._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        na, _, nv = ctx.needs_input_grad
        return ((masked(g, ctx.mask) if na else None), None,
                (masked(g, ~ctx.mask).sum() if nv else None))


def masked(g: Tensor, mask) -> Tensor:
    """``g`` with zeros where ``mask`` is True (a recorded op, for higher-order gradients)."""
    return MaskedFill.apply(g, mask, 0.0)


def _zeros(g: Tensor) -> Tensor:
    """The zero gradient of an input whose every value was overwritten."""
    return const(g, g._backend.xp.zeros_like(g._data))


class Fill(Function):
    """Every element ``value`` (a number or a 0-d tensor): ``fill_``'s out-of-place op."""

    @staticmethod
    def forward(ctx, a, value):
        v = cast(value._data, a._data.dtype) if isinstance(value, Tensor) else value
        return a._backend.xp.full(a._data.shape, v, dtype=a._data.dtype)

    @staticmethod
    def backward(ctx, g):
        na, nv = ctx.needs_input_grad
        return (_zeros(g) if na else None), (g.sum() if nv else None)


class CopyFrom(Function):
    """``src`` broadcast to ``a``'s shape in ``a``'s dtype: ``copy_``'s out-of-place op."""

    @staticmethod
    def forward(ctx, a, src):
        out = a._backend.xp.empty_like(a._data)
        check_broadcasts_to(src._data.shape, a._data.shape)
        out[...] = cast(src._data, a._data.dtype)
        return out

    @staticmethod
    def backward(ctx, g):
        na, ns = ctx.needs_input_grad
        return (_zeros(g) if na else None), (g if ns else None)


# -- the ops ---------------------------------------------------------------------------------
def inplace_operand(a, other):
    """``other`` as an operand of ``a``'s in-place op: a tensor on ``a``'s device (a 0-d one
    may come from another device, as in PyTorch) or a number."""
    if isinstance(other, Tensor):
        if other._backend.device != a._backend.device:
            if other._data.ndim:
                raise RuntimeError(f"Expected all tensors to be on the same device, but found "
                                   f"{a.device} and {other.device}")
            other = other.to(a.device)
        return other
    if isinstance(other, (bool, int, float, np.integer, np.floating, np.bool_)):
        other = other.item() if isinstance(other, np.generic) else other
        if type(other) is int and not -2**63 <= other < 2**64:
            int_range(other)  # PyTorch's OverflowError, before any other check
        return other
    raise TypeError(f"in-place op: expected a Tensor or a number, got {type(other).__name__}")


def arith_inplace(a: Tensor, other, out_of_place):
    """``a op= other`` for an elementwise op: ``out_of_place(t, other)``, with its promotion,
    checks and errors, written into ``a`` (``inplace``'s rules)."""
    other = inplace_operand(a, other)
    return inplace(a, lambda t: out_of_place(t, other), [other])


def _fill_operand(a: Tensor, value, too_many_dims: str):
    """The value of ``fill_``/``masked_fill_`` and its array in ``a``'s dtype: a 0-d tensor
    (RuntimeError ``too_many_dims`` otherwise, formatted with its rank) or a number."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(too_many_dims.format(value._data.ndim))
        value = inplace_operand(a, value)
        return value, cast(value._data, a._data.dtype)
    value = _fill_value(a, value)
    return value, value


def _fill_value(a: Tensor, value):
    """The number of ``fill_``/``masked_fill_`` in ``a``'s dtype, as PyTorch converts a
    Scalar argument: an int in [2**63, 2**64) is a uint64 (it fits a float or bool tensor,
    RuntimeError for an integer one), OverflowError beyond; then ``scalar_as``'s rules."""
    value = inplace_operand(a, value)
    dt = a._data.dtype
    if type(value) is int and not -2**63 <= value < 2**63:
        checked_scalar(value, _dtype._FROM_NP[dt])
        value = float(value) if dt.kind == "f" else bool(value)
    return scalar_as(value, dt)


def warn_if_expanded(x, op: str, stacklevel: int = 3) -> None:
    """PyTorch's deprecation warning for an op that writes one value into elements sharing
    memory (the result is what it would be one element at a time); ``stacklevel`` points it
    at the user's line."""
    if overlapping(x):
        warnings.warn(f"Use of {op} on expanded tensors is deprecated. Please clone() the "
                      f"tensor before performing this operation.", UserWarning,
                      stacklevel=stacklevel)


def zero_(a):
    return fill_(a, 0)


def fill_(a, value):
    """Every element ``value``; an expanded tensor too (its memory takes the value), as in
    PyTorch."""
    value, v = _fill_operand(a, value, "fill_ only supports 0-dimension value tensor but "
                                       "got tensor with {} dimensions.")

    def mutate(x):
        x[...] = v

    return inplace(a, lambda t: Fill.apply(t, value), [value], mutate, any_layout=True)


def copy_(a, src, non_blocking: bool = False):
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src._backend.device != a._backend.device:
        src = src.to(a.device)  # recorded: the gradient goes back to src's device
    check_broadcasts_to(src._data.shape, a._data.shape)
    data = cast(src._data, a._data.dtype)

    def mutate(x):
        x[...] = data

    return inplace(a, lambda t: CopyFrom.apply(t, src), [src], mutate)


def masked_fill_(a, mask, value):
    if not isinstance(mask, Tensor) or mask._data.dtype.kind != "b":
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{got}")
    if mask._backend.device != a._backend.device:
        mask = mask.to(a.device)
    m = mask._data
    check_broadcasts_to(m.shape, a._data.shape)
    value, v = _fill_operand(a, value, "masked_fill_ only supports a 0-dimensional value "
                                       "tensor, but got tensor with {} dimension(s).")
    warn_if_expanded(a._data, "masked_fill_")

    def mutate(x):  # writes only where the mask holds: an expanded ``a`` gets PyTorch's values
        a._backend.xp.copyto(x, v, casting="unsafe", where=m)

    return inplace(a, lambda t: MaskedFill.apply(t, m, value), [value], mutate,
                   any_layout=True)
