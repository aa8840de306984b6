"""``cdist``: the ``p``-norm distances between the rows of two batches of matrices, with
PyTorch's values, dtype checks and gradients (0 at a zero distance; for ``p = inf`` the
full gradient at each element equal to the largest, as PyTorch's kernel).

>>> import tensorcore as tc
>>> tc.cdist(tc.tensor([[0.0, 0.0]]), tc.tensor([[3.0, 4.0], [1.0, 0.0]])).tolist()
[[5.0, 1.0]]
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import const, tensors_only
from .products import _dtype_label

TENSOR_METHODS: list[str] = []


def _batch_shape(a: tuple, b: tuple) -> tuple:
    """The broadcast batch shape, with PyTorch's error."""
    for k in range(1, min(len(a), len(b)) + 1):
        if a[-k] != b[-k] and 1 not in (a[-k], b[-k]):
            raise RuntimeError(f"The size of tensor a ({a[-k]}) must match the size of tensor "
                               f"b ({b[-k]}) at non-singleton dimension {max(len(a), len(b)) - k}")
    return tuple(np.broadcast_shapes(a, b))
__all__ = ["cdist"]


class CdistInf(Function):
    """The largest ``|diff|`` over the last dimension, with PyTorch's cdist gradient: the
    full gradient at every element equal to the maximum (ties not shared), NaN at inf."""

    array_forward = True

    @staticmethod
    def forward(ctx, d):
        xp, x = d._backend.xp, d._data
        # PyTorch's running max from 0 never takes a NaN: NaNs are skipped
        out = xp.where(x != x, x.dtype.type(0), xp.abs(x)).max(axis=-1)
        ctx.save_for_backward(d, out)
        return out

    @staticmethod
    def backward(ctx, g):
        d, dist = ctx.saved_tensors
        at_max = 1 - (d.abs() - dist.unsqueeze(-1)).abs().ceil().clamp(max=1)
        return g.unsqueeze(-1) * d.sign() * at_max


def cdist(x1, x2, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distances between the rows of ``x1`` (..., P, M) and of ``x2``
    (..., R, M): shape (..., P, R); the gradient at a zero distance is 0."""
    from .norms import vector_norm

    tensors_only("cdist", x1, x2, second="x2")
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    for name, t in (("X1", x1), ("X2", x2)):
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_dtype_label(t.dtype)}")
    batch = _batch_shape(x1.shape[:-2], x2.shape[:-2])
    empty = 0 in (x1.shape[-2], x2.shape[-2], x1.shape[-1]) + batch
    if x1.dtype != x2.dtype:
        if not empty:  # PyTorch checks the dtypes in the kernel, which no empty call runs
            raise RuntimeError(f"expected scalar type {_dtype_label(x1.dtype)} but found "
                               f"{_dtype_label(x2.dtype)}")
        x2 = x2.to(x1.dtype)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if x1.shape[-1] == 0:
        return diff.sum(-1)  # zeros
    if p == math.inf:
        return CdistInf.apply(diff)
    out = vector_norm(diff, p, -1)
    if p == 0:  # PyTorch's gradient: zeros (vector_norm's ord=0 has none)
        out = out + diff.sum(-1).masked_fill(const(out, out._backend.xp.ones((), bool)), 0)
    return out
