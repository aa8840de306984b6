"""Backward of the fused linear layer's epilogue on the GPU: ``grad_z = grad_out * act'`` fused
with the bias gradient ``grad_b = grad_z.sum(axis=0)``.

One kernel walks the (M, N) arrays in column strips: a block covers 32 columns (a warp reads
32 consecutive values of a row: coalesced) and one chunk of rows; its 8 rows of threads each
sum their rows' values in a register, then the block adds those 8 partial sums in shared
memory. With one chunk (M <= ``BWD_ROWS_PER_CHUNK``) that sum is ``grad_b`` itself: one
launch. Otherwise each chunk writes its row of a (chunks, N) scratch array and a second small
kernel adds the chunks, in order, per column. No atomics: the result is deterministic.

>>> import numpy as np
>>> g = np.ones((3, 2), np.float32)
>>> out = np.array([[1, 0], [2, 0], [0, 3]], np.float32)
>>> grad_z, grad_b = np.empty_like(g), np.empty(2, np.float32)
>>> act_backward(g, out, None, "relu", grad_z, grad_b)
>>> grad_z.tolist(), grad_b.tolist()
([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [2.0, 1.0])
"""

from __future__ import annotations

import numpy as np
from numba import boolean, cuda, int64, void

from .. import activations
from . import common as cc
from .common import STRIP_TX, STRIP_TY
from .inline import inlined

__all__ = ["act_backward"]

_PARTIALS = (STRIP_TY, STRIP_TX)  # the block's shared scratch (a constant shape for Numba)


@cc.register("act_backward", cc.activation_variants)
def _build_act_backward(dtype, entry):
    """grad_z = g * act'(saved) over a column strip and a row chunk, with column partial
    sums into ``partial[chunk]`` when ``want_bias``; ``act'`` from the activation table's
    ``entry``."""
    t = cc.nb_type(dtype)
    zero = dtype.type(0)
    grad = inlined(entry.scalar_grad, dtype)

    def act_backward_kernel(g, saved, grad_z, partial, rows_per_chunk, want_bias):
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        m, n = g.shape
        col = cuda.blockIdx.x * STRIP_TX + tx
        start = cuda.blockIdx.y * rows_per_chunk
        stop = start + rows_per_chunk
        if stop > m:  # (not min(): an overload that compile_ptx cannot build without a GPU)
            stop = m
        total = zero
        if col < n:
            for row in range(start + ty, stop, STRIP_TY):
                # saved: out or pre, as the table says; g itself for the identity
                v = grad(g[row, col], saved[row, col])
                grad_z[row, col] = v
                total += v
        if want_bias:  # uniform over the grid: every thread reaches the barrier
            sums = cuda.shared.array(_PARTIALS, t)
            sums[ty, tx] = total
            cuda.syncthreads()
            if ty == 0 and col < n:
                for k in range(1, STRIP_TY):
                    total += sums[k, tx]
                partial[cuda.blockIdx.y, col] = total

    mat = t[:, ::1]
    return act_backward_kernel, void(mat, mat, mat, mat, int64, boolean)


@cc.register("column_sum", cc.dtype_variants)
def _build_column_sum(dtype):
    """out[j] = sum over i of partial[i, j], rows added in order (the second stage)."""
    t = cc.nb_type(dtype)
    zero = dtype.type(0)

    def column_sum(partial, out):
        col = cuda.grid(1)
        if col < out.shape[0]:
            total = zero
            for i in range(partial.shape[0]):
                total += partial[i, col]
            out[col] = total

    return column_sum, void(t[:, ::1], t[::1])


def act_backward(grad_out, out, pre, activation: str | None, grad_z, grad_b=None,
                 stream=0) -> None:
    """``grad_z = grad_out * act'(.)`` and, when ``grad_b`` (N,) is given, its column sum.

    ``act'`` comes from the forward's output ``out`` (relu: ``out > 0``, sigmoid, tanh) or
    from the pre-activation ``pre`` (gelu, silu), as the activation table says; activation
    None copies ``grad_out`` (then ``out`` and ``pre`` may be None). All
    arrays are C-contiguous (M, N) / (N,) device arrays of one dtype, allocated by the caller
    (outputs must not overlap inputs or each other). One launch, plus a small second one for
    ``grad_b`` when M > ``BWD_ROWS_PER_CHUNK`` (the (chunks, N) partial sums are then
    allocated here, as the same kind of array as ``grad_b``: CuPy's current device and pool). With
    M = 0, ``grad_b`` is zeroed.
    """
    entry = activations.get(activation)
    cc.check_matrix("grad_out", grad_out)
    m, n = grad_out.shape
    saved_name, saved = cc.saved_for_grad("act_backward", entry, grad_out, out, pre)
    cc.check_matrix(saved_name, saved, (m, n))
    cc.check_matrix("grad_z", grad_z, (m, n))
    if grad_b is not None:
        cc.check_matrix("grad_b", grad_b, (n,), ndim=1)
    cc.check_same_dtype("grad_out", grad_out, **{saved_name: saved}, grad_z=grad_z,
                        grad_b=grad_b)
    if n == 0:
        return
    grid, block = cc.launch_config("act_backward", m, n)
    chunks = grid[1]
    rows_per_chunk = -(-m // chunks)
    want_bias = grad_b is not None
    if not want_bias:
        partial = grad_out  # a stand-in: an input, never touched (see cuda_linear_act)
    elif chunks == 1:
        partial = grad_b.reshape(1, n)
    else:
        partial = _scratch_like(grad_b, (chunks, n))
    kernel = cc.get_kernel("act_backward", grad_out.dtype, entry)
    cc.launch(kernel, grid, block, stream, grad_out, saved, grad_z, partial, rows_per_chunk,
              want_bias)
    if want_bias and chunks > 1:
        grid, block = cc.launch_config("column_sum", chunks, n)
        cc.launch(cc.get_kernel("column_sum", grad_out.dtype), grid, block, stream, partial,
                  grad_b)


def _scratch_like(a, shape: tuple[int, int]):
    """An uninitialised C-contiguous array of ``a``'s kind (NumPy, CuPy or Numba device
    array) and dtype."""
    if isinstance(a, np.ndarray):
        return np.empty(shape, a.dtype)
    if hasattr(a, "copy_to_host"):  # a Numba device array
        return cuda.device_array(shape, a.dtype)
    return type(a)(shape, dtype=a.dtype)  # cupy.ndarray(shape, dtype) allocates from its pool
