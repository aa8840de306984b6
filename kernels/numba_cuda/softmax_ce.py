"""Fused softmax cross-entropy on the GPU.

Forward: one block per row (a power of two of threads, 32 to ``SOFTMAX_MAX_THREADS``). Each
thread scans its strided share of the row for the maximum, a shared-memory tree reduction
gives the row maximum, a second scan writes ``exp(z - max)`` into ``probs`` and sums it, a
second tree reduction gives the total, and each thread scales the values it wrote (no barrier
needed: it reads back only its own writes). Thread 0 writes the loss
``log(total) + max - z[target]``. Backward: one thread per element,
``(probs - onehot(target)) * scale``.

Targets are int64 class indices; callers check their range (tensorcore's ``cross_entropy``
does). A target outside ``[0, C)`` still never reads out of bounds: its loss is NaN.

>>> import numpy as np
>>> z, t = np.array([[0.0, 0.0], [0.0, 50.0]]), np.array([1, 1])
>>> losses, probs = np.empty(2), np.empty((2, 2))
>>> softmax_ce_forward(z, t, losses, probs)
>>> np.round(losses, 4).tolist(), probs[0].tolist()
([0.6931, 0.0], [0.5, 0.5])
>>> grad = np.empty((2, 2))
>>> softmax_ce_backward(probs, t, 0.5, grad)
>>> grad[0].tolist()
[0.25, -0.25]
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, int64, void

from . import common as cc
from .common import SOFTMAX_MAX_THREADS, STRIP_TX, STRIP_TY

__all__ = ["softmax_ce_backward", "softmax_ce_forward"]

_SCRATCH = (SOFTMAX_MAX_THREADS,)


@cc.register("softmax_ce_forward", cc.dtype_variants)
def _build_forward(dtype):
    t = cc.nb_type(dtype)
    T = dtype.type
    zero, neg_inf, nan = T(0), T(-np.inf), T(np.nan)

    def softmax_ce_forward_kernel(z, target, losses, probs):
        scratch = cuda.shared.array(_SCRATCH, t)
        row = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        threads = cuda.blockDim.x
        n = z.shape[1]
        top = neg_inf
        for j in range(tid, n, threads):
            v = z[row, j]
            if v > top or v != v:  # NaN wins, so that it propagates to the loss
                top = v
        scratch[tid] = top
        cuda.syncthreads()
        half = threads // 2
        while half > 0:  # tree reduction: max
            if tid < half:
                other = scratch[tid + half]
                if other > scratch[tid] or other != other:
                    scratch[tid] = other
            cuda.syncthreads()
            half //= 2
        top = scratch[0]
        cuda.syncthreads()  # everyone has read the max before the scratch is reused
        total = zero
        for j in range(tid, n, threads):
            e = math.exp(z[row, j] - top)
            probs[row, j] = e
            total += e
        scratch[tid] = total
        cuda.syncthreads()
        half = threads // 2
        while half > 0:  # tree reduction: sum
            if tid < half:
                scratch[tid] += scratch[tid + half]
            cuda.syncthreads()
            half //= 2
        total = scratch[0]
        inv = T(1) / total
        for j in range(tid, n, threads):
            probs[row, j] *= inv
        if tid == 0:
            k = target[row]
            picked = z[row, k] if 0 <= k < n else nan
            losses[row] = (top - picked) + math.log(total)  # top - picked first: exact-ish

    mat = t[:, ::1]
    return softmax_ce_forward_kernel, void(mat, int64[::1], t[::1], mat)


@cc.register("softmax_ce_backward", cc.dtype_variants)
def _build_backward(dtype):
    t = cc.nb_type(dtype)
    one = dtype.type(1)

    def softmax_ce_backward_kernel(probs, target, scales, scale, step, grad):
        col = cuda.blockIdx.x * STRIP_TX + cuda.threadIdx.x
        m, n = probs.shape
        if col < n:  # rows with a grid-height stride: any M fits the grid's 65535 blocks
            for row in range(cuda.blockIdx.y * STRIP_TY + cuda.threadIdx.y, m,
                             cuda.gridDim.y * STRIP_TY):
                s = scale if step < 0 else scales[row * step]
                v = probs[row, col]
                if col == target[row]:
                    v -= one
                grad[row, col] = v * s

    mat = t[:, ::1]
    return softmax_ce_backward_kernel, void(mat, int64[::1], t[::1], t, int64, mat)


def _check_target(target, m: int) -> None:
    if len(target.shape) != 1 or target.shape[0] != m:
        raise ValueError(f"target must have shape ({m},), got {tuple(target.shape)}")
    if target.dtype != np.int64:
        raise TypeError(f"target must be int64 class indices, got {target.dtype}")
    if not target.flags["C_CONTIGUOUS"]:
        raise ValueError("target must be contiguous")


def softmax_ce_forward(z, target, losses, probs, stream=0) -> None:
    """Per row ``losses[i] = logsumexp(z[i]) - z[i, target[i]]`` and ``probs = softmax(z)``,
    for (N, C) logits ``z``, (N,) int64 ``target``, (N,) ``losses`` and (N, C) ``probs``
    (C-contiguous device arrays allocated by the caller; ``stream`` a Numba stream or 0)."""
    cc.check_matrix("z", z)
    m, n = z.shape
    if n == 0 and m > 0:
        raise ValueError(f"softmax_ce_forward: z has shape {tuple(z.shape)}: no classes")
    _check_target(target, m)
    cc.check_matrix("losses", losses, (m,), ndim=1)
    cc.check_matrix("probs", probs, (m, n))
    cc.check_same_dtype("z", z, losses=losses, probs=probs)
    if m == 0:
        return
    grid, block = cc.launch_config("softmax_ce", m, n)
    cc.launch(cc.get_kernel("softmax_ce_forward", z.dtype), grid, block, stream, z, target,
              losses, probs)


def softmax_ce_backward(probs, target, scale, grad, stream=0) -> None:
    """``grad = (probs - onehot(target)) * scale`` for (N, C) ``probs`` and ``grad``.

    ``scale`` is a Python number, or a device array holding one value or one per row (shape
    (), (1,), (N,) or (N, 1); e.g. ``g / N`` for a mean loss, ``g[:, None]`` for
    ``reduction='none'``), so that a scale computed on the device needs no synchronisation.
    """
    cc.check_matrix("probs", probs)
    m, n = probs.shape
    _check_target(target, m)
    cc.check_matrix("grad", grad, (m, n))
    cc.check_same_dtype("probs", probs, grad=grad)
    if isinstance(scale, (int, float, np.integer, np.floating)):
        scales, number, step = None, float(scale), -1
    elif not hasattr(scale, "shape"):
        raise TypeError(f"scale must be a number or a device array, got {type(scale).__name__}")
    else:
        shape = tuple(scale.shape)
        size = math.prod(shape)
        if size not in (1, m) or len(shape) > 2 or shape[1:] not in ((), (1,)):
            raise ValueError(f"scale must be a number or hold 1 or {m} (one per row) values, "
                             f"shape (), (1,), ({m},) or ({m}, 1); got shape {shape}")
        scales = scale.reshape(size).astype(probs.dtype, copy=False)
        number, step = 0.0, (1 if size == m else 0)  # step 0: every row reads scales[0]
    if m == 0 or n == 0:
        return
    if scales is None:
        scales = probs[0]  # a stand-in of the right type, unread
    grid, block = cc.launch_config("strip", m, n)
    kernel = cc.get_kernel("softmax_ce_backward", probs.dtype)
    cc.launch(kernel, grid, block, stream, probs, target, scales, number, step, grad)
