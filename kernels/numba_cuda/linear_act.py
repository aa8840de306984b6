"""The fused linear layer on the GPU in one launch: ``out = act(x @ w.T + b)``.

A tiled shared-memory GEMM with 4 x 4 register blocking (see ``GEMM_*`` in
:mod:`tensorcore.kernels.numba_cuda.common`) whose epilogue adds the bias, stores the
pre-activation when asked, applies the activation and writes the output: the GEMM result
never goes through global memory before its epilogue.

>>> import numpy as np
>>> x, w = np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)
>>> out = np.empty((2, 4), np.float32)
>>> linear_act_forward(x, w, np.arange(4, dtype=np.float32) - 5, "relu", out)
>>> out.tolist()
[[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]

(NumPy arrays work under the simulator only, where ``tests_cudasim`` runs this example.)
"""

from __future__ import annotations

from numba import boolean, cuda, void

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

__all__ = ["linear_act_forward"]


@cc.register("gemm_act", cc.activation_variants)
def _build(dtype, entry):
    """The GEMM + epilogue kernel for ``dtype`` and the activation table's ``entry``."""
    t = cc.nb_type(dtype)
    zero = dtype.type(0)
    act = inlined(entry.scalar, dtype)

    def gemm_act(x, w, b, out, pre, use_bias, write_pre):
        xs = cuda.shared.array(GEMM_TILE, t)  # xs[k, m] = x[m0 + m, k0 + k]
        ws = cuda.shared.array(GEMM_TILE, t)  # ws[k, n] = w[n0 + n, k0 + k]
        acc = cuda.local.array(GEMM_ACC, t)
        res = cuda.local.array(GEMM_ACC, t)
        xr = cuda.local.array(GEMM_RM, t)
        wr = cuda.local.array(GEMM_RN, t)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * GEMM_TX + tx
        m0 = cuda.blockIdx.x * GEMM_BM  # rows along x: gridDim.y caps at 65535
        n0 = cuda.blockIdx.y * GEMM_BN
        m, k = x.shape
        n = w.shape[0]
        for i in range(GEMM_RM):
            for j in range(GEMM_RN):
                acc[i, j] = zero
        for k0 in range(0, k, GEMM_BK):
            # Stage the tiles: consecutive threads read consecutive k of a row (coalesced);
            # outside the matrices the tiles hold zeros, so edge tiles need no other care.
            for load in range(GEMM_LOADS):
                e = tid + load * GEMM_THREADS
                r = e // GEMM_BK
                c = e % GEMM_BK
                kk = k0 + c
                xs[c, r] = x[m0 + r, kk] if m0 + r < m and kk < k else zero
                ws[c, r] = w[n0 + r, kk] if n0 + r < n and kk < k else zero
            cuda.syncthreads()
            for kk in range(GEMM_BK):
                for i in range(GEMM_RM):
                    xr[i] = xs[kk, ty + i * GEMM_TY]
                for j in range(GEMM_RN):
                    wr[j] = ws[kk, tx + j * GEMM_TX]
                for i in range(GEMM_RM):
                    for j in range(GEMM_RN):
                        acc[i, j] += xr[i] * wr[j]
            cuda.syncthreads()
        # Epilogue. First a small loop that NVVM unrolls: the bias is added into a copy,
        # so `acc` is only ever indexed by constants and lives in registers (indexing it in
        # the large activation loop below, which is not unrolled, would put it in local
        # memory for the whole main loop).
        for j in range(GEMM_RN):
            col = n0 + tx + j * GEMM_TX
            wr[j] = b[col] if use_bias and col < n else zero
        for i in range(GEMM_RM):
            for j in range(GEMM_RN):
                res[i, j] = acc[i, j] + wr[j]
        # Then pre-activation and activation; a warp stores 16 consecutive columns.
        for i in range(GEMM_RM):
            row = m0 + ty + i * GEMM_TY
            for j in range(GEMM_RN):
                col = n0 + tx + j * GEMM_TX
                if row < m and col < n:
                    v = res[i, j]
                    if write_pre:
                        pre[row, col] = v
                    out[row, col] = act(v)

    mat, vec = t[:, ::1], t[::1]
    return gemm_act, void(mat, mat, vec, mat, mat, boolean, boolean)


def linear_act_forward(x, w, b, activation: str | None, out, pre=None, stream=0) -> None:
    """``out = act(x @ w.T + b)`` in one launch, for x (M, K), w (N, K), b (N,) or None.

    All arrays are C-contiguous device arrays of one dtype (float32 or float64), allocated by
    the caller (outputs must not overlap inputs or each other); ``out`` (M, N) receives the
    result and ``pre`` (M, N), when given, the pre-activation ``x @ w.T + b`` (required for
    an activation whose backward reads it, such as ``"gelu"``).
    ``activation`` is a name in the activation table (``tensorcore.kernels.activations``) or
    None. ``stream`` is a Numba stream or 0 (the default stream). Raises ValueError / TypeError
    naming the bad argument.
    """
    entry = activations.get(activation)
    cc.check_matrix("x", x)
    cc.check_matrix("w", w)
    (m, k), n = x.shape, w.shape[0]
    if w.shape[1] != k:
        raise ValueError(f"linear_act_forward: x (M, K) = {tuple(x.shape)} and w (N, K) = "
                         f"{tuple(w.shape)} disagree on K")
    cc.check_matrix("out", out, (m, n))
    if b is not None:
        cc.check_matrix("b", b, (n,), ndim=1)
    if pre is not None:
        cc.check_matrix("pre", pre, (m, n))
    elif entry.reads == "pre":
        raise ValueError(f"linear_act_forward: activation {activation!r} needs `pre` (its "
                         f"backward reads the pre-activation)")
    cc.check_same_dtype("x", x, w=w, b=b, out=out, pre=pre)
    if m == 0 or n == 0:
        return
    grid, block = cc.launch_config("gemm", m, n)
    kernel = cc.get_kernel("gemm_act", x.dtype, entry)
    # Unused arguments get stand-ins of the right type, never touched: inputs, never outputs
    # (with host arrays, Numba and its simulator copy every array argument back after the
    # launch; a copy of an output would overwrite what the kernel wrote).
    cc.launch(kernel, grid, block, stream, x, w, w[0] if b is None else b, out,
              x if pre is None else pre, b is not None, pre is not None)
