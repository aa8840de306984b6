"""Statistics with PyTorch's semantics: ``var_mean``, ``std_mean``, ``quantile`` and
``nanquantile``; ``mode``; the diagonals: ``diagonal`` (a view, as in PyTorch: writes
through it reach the input) and ``diag_embed``; and ``trapezoid`` (``trapz``).

``var_mean`` / ``std_mean`` read their arguments as ``var`` / ``std`` do (``unbiased`` or
``correction``) and return ``(var, mean)`` / ``(std, mean)``. ``quantile`` sorts (NaN as
the largest, stably) and interpolates between the two neighbours of ``q * (n - 1)``, as
PyTorch does, so its gradient goes to those two elements by the interpolation weights.

>>> import tensorcore as tc
>>> v, m = tc.var_mean(tc.tensor([1.0, 2.0, 3.0]))
>>> v.item(), m.item()
(1.0, 2.0)
>>> tc.quantile(tc.tensor([0.0, 10.0, 20.0]), 0.25).item()
5.0
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from ._dims import UNSET, as_int, keepdim_flag, numpy_names, wrap_dim
from .elementary import lerp
from .gather import Gather
from .order import _input, _picked, sort
from .reduce import Mean, Var, _var_args
from .select import where
from .shape import as_view

TENSOR_METHODS = ["quantile", "nanquantile", "diagonal", "diag_embed", "mode"]
__all__ = ["var_mean", "std_mean", "trapezoid", "trapz", *TENSOR_METHODS]

ModeResult = namedtuple("mode", ["values", "indices"])
_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _var_mean(op, input, dim, unbiased, keepdim, correction, sqrt):
    _input(op, input)
    try:  # var's argument checks, then its dtype check under this op's name
        dims, correction, keepdim = _var_args(input, dim, unbiased, keepdim, correction, op)
    except RuntimeError as e:
        if str(e).startswith("std and var only"):
            raise RuntimeError(f"{op} only support floating point and complex dtypes") from None
        raise
    return Var.apply(input, dims, correction, keepdim, sqrt), Mean.apply(input, dims, keepdim)


@numpy_names
def var_mean(input, dim=UNSET, unbiased=None, keepdim=UNSET, *, correction=None):
    """``(var, mean)`` of ``input`` over ``dim`` in one call, as ``torch.var_mean``."""
    return _var_mean("var_mean", input, dim, unbiased, keepdim, correction, False)


@numpy_names
def std_mean(input, dim=UNSET, unbiased=None, keepdim=UNSET, *, correction=None):
    """``(std, mean)`` of ``input`` over ``dim`` in one call, as ``torch.std_mean``."""
    return _var_mean("std_mean", input, dim, unbiased, keepdim, correction, True)


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    _input(op, input)
    if interpolation not in _MODES:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if not isinstance(q, Tensor):
        if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, float, np.number)) \
                or isinstance(q, complex):
            raise TypeError(f"{op}(): argument 'q' (position 2) must be Tensor or float, not "
                            f"{type(q).__name__}")
        if not 0 <= q <= 1:
            raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {float(q):g}")
    if input.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    if isinstance(q, Tensor) and q.ndim > 1:
        raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
    if input.dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    if isinstance(q, Tensor) and q.dtype != input.dtype:
        raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
    if dim is not None:
        dim = wrap_dim(dim, input.ndim, op)
    keepdim = keepdim_flag(keepdim, op)
    xp = input._backend.xp
    dt = input._data.dtype
    if isinstance(q, Tensor):
        qv = xp.asarray(q.to(input.device)._data, dtype=dt)
        if not bool(((qv >= 0) & (qv <= 1)).all()):
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
        scalar_q = q.ndim == 0
    else:
        qv, scalar_q = xp.asarray(q, dtype=dt), True
    qv = qv.reshape(-1)
    if dim is None:
        x = input.reshape(-1)
    else:
        x = input.reshape(1) if input.ndim == 0 else input.movedim(dim, -1)
    n = x.shape[-1]
    if n > 2 ** 24:
        raise RuntimeError(f"{op}() input tensor is too large")
    ordered = sort(x, -1).values
    s = ordered._data
    if ignore_nan:
        scale = (~xp.isnan(s)).sum(axis=-1, keepdims=True).astype(dt) - 1
        ranks = qv * scale
        valid = ~(ranks < 0)
        ranks = xp.where(valid, ranks, dt.type(0))
    else:
        scale = xp.full(s.shape[:-1] + (1,), n - 1, dt)
        ranks = qv * scale
        valid = ~xp.isnan(s).any(axis=-1, keepdims=True)
        ranks = xp.where(valid, ranks, dt.type(n - 1))
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.rint(ranks)  # half to even, as PyTorch's round
    below = ranks.astype(np.int64)
    axis = ordered.ndim - 1
    out = Gather.apply(ordered, axis, Tensor._make(below, input._backend))
    if interpolation in ("linear", "midpoint"):
        if interpolation == "midpoint":
            weights = xp.where(ranks == below, dt.type(0), dt.type(0.5))
        else:
            weights = ranks - below
            if isinstance(q, Tensor) and q.requires_grad and grad_state.enabled:
                weights = _q_weights(q, scale, below, valid, input)
        above = Gather.apply(ordered, axis, Tensor._make(xp.ceil(ranks).astype(np.int64),
                                                         input._backend))
        if not isinstance(weights, Tensor):
            weights = Tensor._make(xp.asarray(weights, dtype=dt), input._backend)
        out = lerp(out, above, weights)
    if keepdim:
        if dim is None:
            out = out.reshape((1,) * input.ndim + (out.shape[-1],))
        elif input.ndim:
            out = out.unsqueeze(dim)
    out = out.squeeze(-1) if scalar_q else out.movedim(-1, 0)
    return out


def _q_weights(q, scale, below, valid, input):
    """The linear weights ``q * scale - below`` as a function of ``q`` (PyTorch's ranks are
    differentiable in ``q``); zero where the rank was replaced (NaN rows)."""
    def const(a):
        return Tensor._make(a, input._backend)
    dt = input._data.dtype
    qt = q.to(input.device).reshape(-1)
    w = qt * const(scale) - const(below.astype(dt))
    return where(const(valid), w, const(input._backend.xp.zeros(w.shape, dt)))


@numpy_names
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles of ``input`` (over ``dim``, or all of it), as
    ``torch.quantile``; a NaN in a row makes its quantiles NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@numpy_names
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """``quantile`` ignoring NaN, as ``torch.nanquantile`` (an all-NaN row gives NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# -- diagonals ----------------------------------------------------------------------------
def _diagonal_array(x, offset, dim1, dim2):
    """The diagonal of array ``x`` as a view that can be written (NumPy makes it read-only
    while its base can be written)."""
    d = x.diagonal(offset, dim1, dim2)
    if isinstance(d, np.ndarray) and not d.flags.writeable and x.flags.writeable:
        d.flags.writeable = True
    return d


class Diagonal(Function):
    """The diagonal of ``a`` in dims ``(dim1, dim2)`` as a last dim; a view of ``a``."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.args, ctx.shape = (offset, dim1, dim2), a._data.shape
        return _diagonal_array(a._data, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        return DiagonalScatter.apply(g, ctx.shape, *ctx.args), None, None, None


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``g`` on the diagonal that ``Diagonal`` reads."""

    @staticmethod
    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        xp = g._backend.xp
        rest = [d for d in range(len(shape)) if d not in (dim1, dim2)]
        out = xp.zeros(tuple(shape[d] for d in rest) + (shape[dim1], shape[dim2]),
                       g._data.dtype)  # the two dims last: written at index arrays
        k = g._data.shape[-1]
        steps = xp.arange(k)
        out[..., steps + max(-offset, 0), steps + max(offset, 0)] = g._data
        order = rest + [dim1, dim2]
        return xp.ascontiguousarray(out.transpose(tuple(np.argsort(order))))

    @staticmethod
    def backward(ctx, g):
        return Diagonal.apply(g, *ctx.args), None, None, None, None


def _two_dims(dim1, dim2, ndim, op):
    d1, d2 = wrap_dim(dim1, ndim, op), wrap_dim(dim2, ndim, op)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of ``input`` in dims ``dim1``, ``dim2`` (a view, as ``torch.diagonal``):
    those dims are removed and the diagonal appended as the last dim."""
    _input("diagonal", input)
    offset = as_int(offset, "offset", "diagonal")
    d1, d2 = _two_dims(dim1, dim2, input.ndim, "diagonal")
    out = Diagonal.apply(input, offset, d1, d2)
    return as_view(out, input, lambda t: t.diagonal(offset, d1, d2))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose diagonals in dims ``dim1``, ``dim2`` are the last dim of ``input``,
    zeros elsewhere, as ``torch.diag_embed``."""
    _input("diag_embed", input)
    offset = as_int(offset, "offset", "diag_embed")
    ndim = input.ndim + 1
    d1, d2 = _two_dims(dim1, dim2, ndim, "diag_embed")
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[-1] + abs(offset)
    rest = list(x.shape[:-1])
    shape = []
    for d in range(ndim):
        shape.append(n if d in (d1, d2) else rest.pop(0))
    return DiagonalScatter.apply(x, tuple(shape), offset, d1, d2)


# -- mode ---------------------------------------------------------------------------------
def mode(input, dim=-1, keepdim=False):
    """(values, indices) of the most frequent value along ``dim`` (the smallest of several,
    at its last index), as ``torch.mode``; the gradient goes to that element. (Beyond 16
    elements PyTorch's unstable sort may name another index of that value.)"""
    _input("mode", input)
    d = wrap_dim(dim, input.ndim, "mode")
    keepdim = keepdim_flag(keepdim, "mode")
    x, xp = input._data, input._backend.xp
    if x.ndim == 0:
        idx = xp.zeros((), np.int64)
        return ModeResult(_picked(input, 0, idx), Tensor._make(idx, input._backend))
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    rows = xp.moveaxis(x, d, -1)
    kept = rows.shape[:-1] + (1,)
    if rows.size == 0:
        idx = xp.zeros(kept, np.int64)
    else:
        flat = rows.reshape(-1, n)
        order = xp.argsort(flat, axis=-1, kind="stable")
        srt = xp.take_along_axis(flat, order, -1)
        start = xp.ones(srt.shape, bool)
        start[:, 1:] = srt[:, 1:] != srt[:, :-1]  # NaN: a run of its own
        end = xp.ones(srt.shape, bool)
        end[:, :-1] = start[:, 1:]
        start_flat = start.reshape(-1)
        run = xp.cumsum(start_flat) - 1
        first = xp.nonzero(start_flat)[0]
        pos = xp.arange(start_flat.size)
        freq = xp.where(end.reshape(-1), pos - first[run] + 1, 0).reshape(srt.shape)
        best = xp.argmax(freq, axis=-1)  # the first longest run: the smallest value
        idx = xp.take_along_axis(order, best[:, None], -1).astype(np.int64)
        if flat.dtype.kind == "f" and bool(xp.isnan(flat).any()):
            idx = _mode_nan_rows(input._backend, flat, idx)
        idx = idx.reshape(kept)
    idx = xp.ascontiguousarray(xp.moveaxis(idx, -1, d))
    values = _picked(input, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return ModeResult(values, Tensor._make(idx, input._backend))


def _mode_nan_rows(backend, flat, idx):
    """``idx`` with the rows holding a NaN redone as PyTorch's CPU kernel does them: an
    insertion sort by ``<`` (its ``std::sort`` for up to 16 elements; NaN compares false,
    so it stays where it is) and runs of ``==`` (each NaN a run of one)."""
    host, out = backend.to_numpy(flat), backend.to_numpy(idx).copy()
    for r in np.nonzero(np.isnan(host).any(axis=1))[0]:
        el = [(v, k) for k, v in enumerate(host[r].tolist())]
        for i in range(1, len(el)):
            val, j = el[i], i
            if val[0] < el[0][0]:
                el[1:i + 1], j = el[0:i], 0
            else:
                while val[0] < el[j - 1][0]:
                    el[j] = el[j - 1]
                    j -= 1
            el[j] = val
        best = freq = run = 0
        for i, (v, k) in enumerate(el):
            run += 1
            if i == len(el) - 1 or v != el[i + 1][0]:
                if run > freq:
                    best, freq = k, run
                run = 0
        out[r, 0] = best
    return backend.xp.asarray(out)


# -- trapezoid ----------------------------------------------------------------------------
def _trapezoid(op, y, x, dx, dim):
    _input(op, y)
    if x is not UNSET and (dx is not UNSET or not isinstance(x, Tensor)):
        got = ", ".join(["Tensor", type(x).__name__]
                        + (["dx=" + type(dx).__name__] if dx is not UNSET else []))
        raise TypeError(f"{op}() received an invalid combination of arguments - got ({got}), "
                        f"but expected one of: (Tensor y, Tensor x, *, int dim = -1) or "
                        f"(Tensor y, *, Number dx = 1, int dim = -1)")
    dim = as_int(dim, "dim", op)
    if x is UNSET:
        if isinstance(dx, Tensor) and dx.ndim == 0:
            dx = dx.item()
        if dx is UNSET:
            dx = 1
        elif not isinstance(dx, (int, float, complex, np.number, np.bool_)):
            raise TypeError(f"{op}(): argument 'dx' must be Number, not {type(dx).__name__}")
    if y.ndim == 0:
        d = dim if x is UNSET else wrap_dim(dim, 0, op)
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    d = wrap_dim(dim, y.ndim, op)
    n = y.shape[d]
    if n == 0:  # no sample: zeros of y's dtype, as NumPy
        shape = y.shape[:d] + y.shape[d + 1:]
        return Tensor._make(y._backend.xp.zeros(shape, y._data.dtype), y._backend)
    if x is UNSET:
        if y.dtype.name == "bool":
            raise RuntimeError("trapezoid: received a bool input for `y`, but bool is not "
                               "supported")
        if op == "trapz" and isinstance(dx, (bool, np.bool_)):
            dx = float(dx)  # trapz's dx is a float
        if isinstance(dx, (bool, complex, np.bool_, np.complexfloating)):
            raise RuntimeError("trapezoid: Currently, we only support dx as a real number.")
        ends = y.narrow(d, 0, 1).squeeze(d) + y.narrow(d, n - 1, 1).squeeze(d)
        return (y.sum(d) - ends * 0.5) * float(dx)
    if y.dtype.name == "bool" or x.dtype.name == "bool":
        raise RuntimeError("trapezoid: received a bool input for `x` or `y`, but bool is not "
                           "supported")
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        x = x.reshape(tuple(n if i == d else 1 for i in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = x.reshape((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    m = x.shape[d]
    step = x.narrow(d, 1, max(m - 1, 0)) - x.narrow(d, 0, max(m - 1, 0))
    return ((step * (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1))) / 2.0).sum(d)


def trapezoid(y, x=UNSET, *, dx=UNSET, dim=-1):
    """The trapezoidal rule along ``dim`` of ``y``, at sample points ``x`` or spacing ``dx``
    (1 by default), as ``torch.trapezoid``."""
    return _trapezoid("trapezoid", y, x, dx, dim)


def trapz(y, x=UNSET, *, dx=UNSET, dim=-1):
    """``trapezoid`` under its older name, as ``torch.trapz``."""
    return _trapezoid("trapz", y, x, dx, dim)
