"""The fused linear layer's whole backward on the GPU in ONE launch: from ``grad_out`` (M, N)
and what the forward saved, ``grad_x = gz @ w``, ``grad_w = gz.T @ x`` and
``grad_b = gz.sum(0)``, where ``gz = grad_out * act'`` is recomputed as the tiles are staged
and never stored.

The grid is one row of blocks: the first ones compute 64 x 64 tiles of ``grad_x`` (M, K),
reducing over N; the others tiles of ``grad_w`` (N, K), reducing over M. Both kinds run the
register-blocked inner loop of :mod:`~tensorcore.kernels.numba_cuda.linear_act` on (16, 64)
shared-memory tiles; the ``grad_w`` blocks of the first K tile also add up the ``gz`` they
stage: the bias gradient, one block per 64 columns, in a fixed order (deterministic, no
atomics). One launch instead of three (the act backward and two GEMMs): for the small,
launch-bound layers of a training step; cuBLAS wins at large ones.

>>> import numpy as np
>>> g, out = np.ones((2, 3), np.float32), np.array([[1, 0, 2], [3, 4, 0]], np.float32)
>>> x, w = np.ones((2, 4), np.float32), np.ones((3, 4), np.float32)
>>> gx, gw, gb = np.empty((2, 4), np.float32), np.empty((3, 4), np.float32), np.empty(3, np.float32)
>>> linear_backward(g, out, None, x, w, "relu", gx, gw, gb)
>>> gx[:, 0].tolist(), gw[:, 0].tolist(), gb.tolist()
([2.0, 2.0], [2.0, 1.0, 1.0], [2.0, 1.0, 1.0])

(NumPy arrays work under the simulator only, where ``tests_cudasim`` runs this example.)
"""

from __future__ import annotations

from numba import boolean, cuda, int64, void

from .. import activations
from . import common as cc
from .common import (
    GEMM_ACC,
    GEMM_BK,
    GEMM_BM,
    GEMM_BN,
    GEMM_LOADS,
    GEMM_RM,
    GEMM_RN,
    GEMM_THREADS,
    GEMM_TILE,
    GEMM_TX,
    GEMM_TY,
)
from .inline import inlined

__all__ = ["linear_backward"]


@cc.register("linear_backward", cc.activation_variants)
def _build(dtype, entry):
    """The one-launch backward for ``dtype`` and the activation table's ``entry``."""
    t = cc.nb_type(dtype)
    zero = dtype.type(0)
    grad = inlined(entry.scalar_grad, dtype)

    def linear_backward_kernel(g, saved, x, w, gx, gw, gb, x_blocks, x_k_tiles, w_k_tiles,
                               want_w, want_b):
        gs = cuda.shared.array(GEMM_TILE, t)  # gz, staged: gs[r, i] (r along the reduction)
        os_ = cuda.shared.array(GEMM_TILE, t)  # the other operand: os_[r, j] = w or x
        acc = cuda.local.array(GEMM_ACC, t)
        gr = cuda.local.array(GEMM_RM, t)
        orr = cuda.local.array(GEMM_RN, t)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * GEMM_TX + tx
        m, n = g.shape
        k = x.shape[1]
        block = cuda.blockIdx.x
        for_x = block < x_blocks  # uniform over the block: its barriers are safe
        tile = block if for_x else block - x_blocks
        k_tiles = x_k_tiles if for_x else w_k_tiles  # 1 for grad_b alone
        row0 = (tile // k_tiles) * GEMM_BM  # rows of grad_x (along M) or grad_w (along N)
        k0 = (tile % k_tiles) * GEMM_BN
        reduce_len = n if for_x else m
        sum_bias = want_b and not for_x and k0 == 0
        bias = zero
        for i in range(GEMM_RM):
            for j in range(GEMM_RN):
                acc[i, j] = zero
        for r0 in range(0, reduce_len, GEMM_BK):
            for load in range(GEMM_LOADS):
                e = tid + load * GEMM_THREADS
                if for_x:  # gs[r, i] = gz[row0 + i, r0 + r]: a warp reads along N
                    i = e // GEMM_BK
                    r = e % GEMM_BK
                    row = row0 + i
                    col = r0 + r
                else:  # gs[r, i] = gz[r0 + r, row0 + i]: along N again
                    r = e // GEMM_BM
                    i = e % GEMM_BM
                    row = r0 + r
                    col = row0 + i
                v = zero
                if row < m and col < n:  # saved: out or pre (the table says), g (identity)
                    v = grad(g[row, col], saved[row, col])
                gs[r, i] = v
                r = e // GEMM_BN  # os_[r, j] = w[r0 + r, k0 + j] or x[r0 + r, k0 + j]
                j = e % GEMM_BN
                kk = k0 + j
                if for_x:
                    os_[r, j] = w[r0 + r, kk] if r0 + r < n and kk < k else zero
                else:
                    os_[r, j] = x[r0 + r, kk] if r0 + r < m and kk < k else zero
            cuda.syncthreads()
            if sum_bias and tid < GEMM_BM:
                for r in range(GEMM_BK):
                    bias += gs[r, tid]
            for r in range(GEMM_BK):
                for i in range(GEMM_RM):
                    gr[i] = gs[r, ty + i * GEMM_TY]
                for j in range(GEMM_RN):
                    orr[j] = os_[r, tx + j * GEMM_TX]
                for i in range(GEMM_RM):
                    for j in range(GEMM_RN):
                        acc[i, j] += gr[i] * orr[j]
            cuda.syncthreads()
        if sum_bias and tid < GEMM_BM and row0 + tid < n:
            gb[row0 + tid] = bias
        rows = m if for_x else n
        for i in range(GEMM_RM):
            row = row0 + ty + i * GEMM_TY
            for j in range(GEMM_RN):
                col = k0 + tx + j * GEMM_TX
                if row < rows and col < k:
                    if for_x:
                        gx[row, col] = acc[i, j]
                    elif want_w:
                        gw[row, col] = acc[i, j]

    mat, vec = t[:, ::1], t[::1]
    return linear_backward_kernel, void(mat, mat, mat, mat, mat, mat, vec, int64, int64, int64,
                                        boolean, boolean)


def linear_backward(grad_out, out, pre, x, w, activation: str | None, grad_x=None,
                    grad_w=None, grad_b=None, stream=0) -> None:
    """The backward of ``out = act(x @ w.T + b)`` in one launch: ``grad_x`` (M, K),
    ``grad_w`` (N, K) and ``grad_b`` (N,), each filled where given (None: not wanted).

    ``act'`` comes from ``out`` or ``pre``, as the activation table says, as in
    :func:`~tensorcore.kernels.numba_cuda.act_backward.act_backward`. All arrays are C-contiguous
    device arrays of one dtype (float32 or float64), outputs allocated by the caller and
    overlapping nothing. ValueError / TypeError name a bad argument.
    """
    entry = activations.get(activation)
    cc.check_matrix("grad_out", grad_out)
    cc.check_matrix("x", x)
    cc.check_matrix("w", w)
    (m, n), k = grad_out.shape, x.shape[1]
    if x.shape[0] != m or w.shape != (n, k):
        raise ValueError(f"linear_backward: grad_out (M, N) = {tuple(grad_out.shape)}, x (M, K) "
                         f"= {tuple(x.shape)} and w (N, K) = {tuple(w.shape)} disagree")
    saved_name, saved = cc.saved_for_grad("linear_backward", entry, grad_out, out, pre)
    cc.check_matrix(saved_name, saved, (m, n))
    for name, a, shape in (("grad_x", grad_x, (m, k)), ("grad_w", grad_w, (n, k))):
        if a is not None:
            cc.check_matrix(name, a, shape)
    if grad_b is not None:
        cc.check_matrix("grad_b", grad_b, (n,), ndim=1)
    cc.check_same_dtype("grad_out", grad_out, **{saved_name: saved}, x=x, w=w, grad_x=grad_x,
                        grad_w=grad_w, grad_b=grad_b)
    _zero_empty_products(grad_x, grad_w, grad_b, m, n)
    # the GEMM's 64 x 64 output tiles of grad_x (M, K) and grad_w (N, K), one block each;
    # grad_b alone takes one tile per 64 rows of grad_w (a K of 1)
    (x_rows, k_tiles), block = cc.launch_config("gemm", m, max(k, 1))
    w_rows = cc.launch_config("gemm", n, 1)[0][0]
    x_blocks = x_rows * k_tiles if grad_x is not None and n and k else 0
    w_k_tiles = k_tiles if grad_w is not None and k else 1
    w_blocks = w_rows * w_k_tiles if m and (grad_w is not None and k or grad_b is not None) else 0
    if x_blocks + w_blocks == 0:
        return
    kernel = cc.get_kernel("linear_backward", grad_out.dtype, entry)
    # outputs not wanted get stand-ins that are never written: inputs (see cuda_linear_act)
    cc.launch(kernel, (x_blocks + w_blocks,), block, stream, grad_out, saved, x, w,
              x if grad_x is None else grad_x, x if grad_w is None else grad_w,
              w[0] if grad_b is None else grad_b, x_blocks, k_tiles, w_k_tiles,
              grad_w is not None, grad_b is not None)


def _zero_empty_products(grad_x, grad_w, grad_b, m: int, n: int) -> None:
    """Sums over an empty dimension are zeros: grad_x when N = 0, grad_w and grad_b when
    M = 0 (no block would write them)."""
    for a, empty in ((grad_x, n == 0), (grad_w, m == 0), (grad_b, m == 0)):
        if a is not None and empty:
            a[...] = 0
