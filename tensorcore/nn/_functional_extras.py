"""More of ``nn.functional``: ``normalize``, ``cosine_similarity``, ``pairwise_distance``,
``pad``, ``embedding`` and ``kl_div``, with PyTorch's signatures, defaults and errors. Each
is composed of differentiable ops (or a ``Function`` whose backward is written with them),
so it is differentiable twice.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> F.normalize(tc.tensor([[3.0, 4.0]])).tolist()
[[0.6000000238418579, 0.800000011920929]]
>>> F.pad(tc.tensor([1, 2]), (1, 2)).tolist()
[0, 1, 2, 0, 0]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..compiler.traced import run_recorded
from ..ops import norms as _norms
from ..ops.select import where
from ..tensor import Tensor
from ._reduction import check_tensors, reduce_loss, resolve_reduction

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pad", "embedding",
           "kl_div"]


def _floating_copy(t: Tensor) -> Tensor:
    """``t`` itself when floating point, else in the default float dtype (PyTorch casts
    integer and bool inputs of the distances so)."""
    return t if t.dtype.is_floating_point else t.to(_dtype.get_default_dtype())


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim`` (``F.normalize``)."""
    check_tensors("normalize", input=input)
    if out is not None:
        raise NotImplementedError("normalize(): out= is not supported")
    if input.dtype == _dtype.float32 and p not in (1, 2, math.inf, -math.inf, 0):
        # the powers of other orders computed in float32 round the norm of one element away
        # from its |x| (PyTorch's is exact there, and so its gradient 0)
        norm = _norms.norm(input.to(_dtype.float64), p, dim, keepdim=True).to(input.dtype)
    else:
        norm = _norms.norm(input, p, dim, keepdim=True)
    return input / norm.clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim``, broadcasting
    ``x1`` and ``x2`` (``F.cosine_similarity``)."""
    check_tensors("cosine_similarity", x1=x1, x2=x2)
    if not (x1.dtype.is_floating_point or x2.dtype.is_floating_point):
        name = {"int64": "Long", "int32": "Int", "bool": "Bool", "int16": "Short",
                "int8": "Char", "uint8": "Byte"}.get(x1.dtype.name, x1.dtype.name)
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{name}")
    shape = _broadcast_shape(tuple(x1.shape), tuple(x2.shape))
    x1, x2 = (t if tuple(t.shape) == shape else t.expand(shape) for t in (x1, x2))
    # broadcast first, then promoted (PyTorch's order: a 0-d input does not defer)
    common = _dtype.result_type(x1.dtype, x2.dtype)
    x1, x2 = (t if t.dtype == common else t.to(common) for t in (x1, x2))
    # PyTorch clamps the norms in place under no_grad: the value is clamped, the gradient
    # is the norm's own
    n1 = _clamped_keep_grad(_norms.norm(x1, 2, dim, keepdim=True), eps)
    n2 = _clamped_keep_grad(_norms.norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


class _ClampKeepGrad(Function):
    """``max(n, eps)`` whose gradient is the identity: PyTorch's ``clamp_min_`` under
    ``no_grad`` of the norms in ``cosine_similarity``."""

    @staticmethod
    def forward(ctx, n, eps):
        return n._backend.xp.maximum(n._data, eps).astype(n._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _clamped_keep_grad(n: Tensor, eps: float) -> Tensor:
    return _ClampKeepGrad.apply(n, eps)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """The broadcast shape of ``a`` and ``b``; PyTorch's RuntimeError when they do not."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {max(len(a), len(b)) - i}")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dim (``F.pairwise_distance``)."""
    check_tensors("pairwise_distance", x1=x1, x2=x2)
    ndim = max(x1.ndim, x2.ndim)
    return _norms.norm(x1 - x2 + eps, p, ndim - 1 if ndim else -1, keepdim=keepdim)


class _ConstantPad(Function):
    """``x`` inside a block of ``value``: ``pads`` is one (before, after) pair of
    non-negative widths per dim. The gradient is the slice of ``g`` where ``x`` sits."""

    @staticmethod
    def forward(ctx, x, pads, value):
        xp, xd = x._backend.xp, x._data
        shape = tuple(n + a + b for n, (a, b) in zip(xd.shape, pads))
        out = xp.full(shape, value, dtype=xd.dtype)
        ctx.index = tuple(slice(a, a + n) for n, (a, _) in zip(xd.shape, pads))
        out[ctx.index] = xd
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index], None, None


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``input`` padded: ``pad = (left, right, top, bottom, ...)`` widths from the last dim
    backwards (negative widths crop); ``mode`` ``'constant'`` (with ``value``),
    ``'reflect'``, ``'replicate'`` or ``'circular'`` (``F.pad``)."""
    check_tensors("pad", input=input)
    pad = [int(v) for v in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    if mode not in PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return _pad_constant(input, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    return _pad_indexed(input, pairs, mode, len(pad) // 2)


def _pad_constant(input: Tensor, pairs, value) -> Tensor:
    for d, (a, b) in enumerate(pairs):
        n = input.shape[d]
        if n + a + b < 0 or (a < 0 and b < 0 and -a - b > n) or n + min(a, 0) + min(b, 0) < 0:
            raise RuntimeError(f"The input size {n}, plus negative padding {min(a, 0)} and "
                               f"{min(b, 0)} resulted in a negative output size, which is "
                               f"invalid. Check dimension {d} of your input.")
    crop = tuple(slice(-min(a, 0), n - (-min(b, 0)))
                 for n, (a, b) in zip(input.shape, pairs))
    if any(a < 0 or b < 0 for a, b in pairs):
        input = input[crop]
    widths = tuple((max(a, 0), max(b, 0)) for a, b in pairs)
    if not any(a or b for a, b in widths):
        return input.clone()  # a new tensor, as PyTorch's (not a view of the input)
    if not input.dtype.is_floating_point:
        if isinstance(value, float) and value != int(value):
            value = int(value)
    return _ConstantPad.apply(input, widths, value)


def _pad_indexed(input: Tensor, pairs, mode: str, npad: int) -> Tensor:
    """reflect / replicate / circular: an index along each padded dim."""
    first = input.ndim - npad
    if npad > 3:
        raise NotImplementedError("Only 2D, 3D, 4D, 5D padding with non-constant padding are "
                                  "supported for now")
    if input.ndim not in (npad + 1, npad + 2):
        raise NotImplementedError(
            "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now")
    xp = input._backend.xp
    out = input
    for d in range(first, input.ndim):
        a, b = pairs[d]
        n = input.shape[d]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({a}, {b}) "
                               f"at dimension {d} of input {list(input.shape)}")
        if n == 0 and (a or b):
            raise RuntimeError(f"{mode}: input tensor has a dimension of size 0 to pad")
        idx = np.arange(-a, n + b)
        if mode == "replicate":
            idx = np.clip(idx, 0, n - 1)
        elif mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            idx = np.abs(idx) % period
            idx = np.where(idx >= n, period - idx, idx)
        else:
            if a > n or b > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            idx = idx % n
        index = (slice(None),) * d + (Tensor._make(xp.asarray(idx), input._backend),)
        out = out[index]
    return out


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` that the integer ``input`` picks (``F.embedding``): the
    gradient of a row sums over its repeats, and the ``padding_idx`` row gets none."""
    check_tensors("embedding", input=input, weight=weight)
    if input.dtype not in (_dtype.int64, _dtype.int32):
        name = {"float32": "Float", "float64": "Double", "bool": "Bool", "int16": "Short",
                "int8": "Char", "uint8": "Byte", "float16": "Half"}.get(input.dtype.name,
                                                                       input.dtype.name)
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got torch.{name}Tensor "
                           f"instead (while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding(): max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < weight.shape[0], "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -weight.shape[0], "Padding_idx must be within num_embeddings"
            padding_idx = weight.shape[0] + padding_idx
    if input.numel() and not input._backend.capturing():
        # on the host; a compiled step repeats the check at each replay
        run_recorded(_check_embedding_indices, input._data, weight.shape[0], weight.shape[1])
    out = weight[input]
    if padding_idx is None:
        return out
    keep = (input != padding_idx).unsqueeze(-1)
    return where(keep, out, weight.detach()[input])


def _check_embedding_indices(idx, rows: int, cols: int) -> None:
    """PyTorch's errors for an index outside ``[0, rows)`` (a negative one too)."""
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= rows:
        if cols == 0:
            raise RuntimeError(f"INDICES element is out of DATA bounds, id="
                               f"{hi if hi >= rows else lo} axis_dim={rows}")
        raise IndexError("index out of range in self")


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """The KL divergence ``target * (log(target) - input)`` of log-probabilities ``input``
    (``target`` log-probabilities too with ``log_target=True``); ``reduction='batchmean'``
    divides the sum by the batch size, the mathematical KL (``F.kl_div``)."""
    check_tensors("kl_div", input=input, target=target)
    if size_average is not None or reduce is not None:
        reduction = resolve_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy_self(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(loss, reduction)


class _XlogySelf(Function):
    """``t * log(t)``, 0 where ``t`` is 0: PyTorch's ``xlogy(t, t)``, with its gradient
    (``xlogy(g, t)`` masked to 0 where ``t`` is 0, plus ``g * t / t``: NaN at 0, as there)."""

    @staticmethod
    def forward(ctx, t):
        xp, td = t._backend.xp, t._data
        ctx.save_for_backward(t)
        safe = xp.where(td == 0, 1, td)
        return xp.where(td == 0, 0, td * xp.log(safe)).astype(td.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        xlogy = where((g == 0) & (t == t), 0, g * t.log())
        return where(t == 0, 0, xlogy) + g * t / t


def _xlogy_self(t: Tensor) -> Tensor:
    return _XlogySelf.apply(t)
