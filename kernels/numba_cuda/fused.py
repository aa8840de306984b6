"""Numba-CUDA kernels of the GPU backend: the fused linear layer and softmax cross-entropy.

The entry points (callers allocate every output; arrays are C-contiguous 2-D (or 1-D)
float32/float64 device arrays: CuPy or Numba arrays on a GPU, NumPy arrays under Numba's
simulator; ``stream`` is a Numba stream or 0):

* :func:`linear_act_forward` ``(x, w, b, activation, out, pre=None, stream=0)``:
  ``out = act(x @ w.T + b)`` in ONE launch (:mod:`~tensorcore.kernels.numba_cuda.linear_act`);
* :func:`act_backward` ``(grad_out, out, pre, activation, grad_z, grad_b=None, stream=0)``:
  ``grad_z = grad_out * act'`` and the bias gradient ``grad_b = grad_z.sum(0)``
  (:mod:`~tensorcore.kernels.numba_cuda.act_backward`);
* :func:`linear_backward` ``(grad_out, out, pre, x, w, activation, grad_x, grad_w, grad_b,
  stream=0)``: the layer's whole backward in ONE launch, ``gz = grad_out * act'`` recomputed
  as the GEMM tiles are staged (:mod:`~tensorcore.kernels.numba_cuda.linear_backward`);
* :func:`softmax_ce_forward` ``(z, target, losses, probs, stream=0)`` and
  :func:`softmax_ce_backward` ``(probs, target, scale, grad, stream=0)``
  (:mod:`~tensorcore.kernels.numba_cuda.softmax_ce`).

Activations: ``"relu"``, ``"gelu"`` (exact, erf-based, like ``torch.nn.functional.gelu``),
``"sigmoid"``, ``"tanh"`` or None, the same math as :mod:`tensorcore.kernels.cpu.fused`.

Design
------
* GEMM + epilogue. A block of 16 x 16 threads computes a 64 x 64 output tile; each thread
  holds a 4 x 4 register block (rows ``ty + 16 i``, columns ``tx + 16 j``: strided, so that
  its shared-memory reads are conflict-free broadcasts). K advances 16 at a time: the block
  stages a 64 x 16 tile of ``x`` and of ``w`` in shared memory (k-major, padded), threads
  reading consecutive k of a row (coalesced, since both operands are K-contiguous). Tiles are
  zero-filled outside the matrices, so any M, N, K is correct. The epilogue adds the bias,
  stores the pre-activation if asked, applies the activation and stores the output: ``x @ w.T``
  never makes a round trip through global memory. Compiled for sm_90: 95 (float32) / 122
  (float64) registers, no spills, 8.3 / 16.6 KB shared memory per block.
* Act backward: column strips (a warp spans 32 columns of a row) and row chunks; the bias
  gradient is a per-thread register sum, a shared-memory sum over the block's 8 thread rows,
  and for more than ``BWD_ROWS_PER_CHUNK`` rows a second small kernel adding the chunks'
  partial sums in order. No atomics: results are deterministic, run to run.
* Layer backward in one launch: blocks of two kinds in one grid, 64 x 64 tiles of grad_x
  (reducing over N) and of grad_w (over M), ``grad_out * act'`` recomputed as each tile is
  staged; the grad_w blocks of the first K tile also sum it per column: grad_b, in a fixed
  order (no atomics).
* Softmax-CE: one block per row, shared-memory tree reductions for the max and the sum.
* Every grid and block size comes from one helper,
  :func:`tensorcore.kernels.numba_cuda.common.launch_config`. Kernels compile lazily on first use
  with explicit signatures (one variant per dtype and activation), cached per process;
  :func:`warmup` compiles them all up front.

Expected performance regime: single launches for the small and medium shapes of a training
step (a few hundred to ~2k on a side), where launch overhead and the extra memory passes of
GEMM + separate epilogue dominate. At large shapes this GEMM is at best a fraction of cuBLAS:
no tensor cores (Numba exposes no mma/wgmma), no vector loads or double buffering (hand-written
CUDA C SGEMMs with 2-D register blocking are reported near 70 % of cuBLAS FP32, far below TF32
tensor cores; not yet measured here). There, cuBLAS for the GEMM plus a one-pass bias +
activation epilogue is the fast path; choosing by shape is the backend's job.

What the caller (the CuPy backend) must do about launch overhead: set
``NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0`` before numba is first imported (otherwise Numba
synchronises the stream a CuPy array exports on every launch, blocking the host), launch on
CuPy's current stream through a cached ``numba.cuda.external_stream(ptr)`` (ordering with the
CuPy kernels then comes from the stream itself), and call :func:`warmup` once (about 0.3-0.5 s
of NVVM time per variant, or compile lazily). Launches through Numba's dispatcher cost
100-200 us of host time each on an H100 machine (against 15-20 us for a CuPy launch). With
CuPy arrays, every launch here goes through :func:`~tensorcore.kernels.numba_cuda.common.launch`,
which packs the parameters itself and calls the driver (:mod:`.launch`):
on an H200, a layer's forward through ``F.linear_act`` then cost 41-67 us of host time, less
than the cuBLAS + CuPy epilogue path, and with the one-launch backward the layer ran
1.5-2x faster than that path from 64^3 to 512^3, so ``auto`` takes small eager layers here
(``tensorcore.backends.kernel_paths.layer_steps``: not skinny ones with a long reduction).

Checked under Numba's simulator (``tests_cudasim/``), by compiling every variant to sm_90 PTX
without a GPU (``tests/test_cuda_ptx.py``), and on an H100 and an H200 (numba-cuda 0.30.4):
the MLP steps on this path agree with the NumPy floor, and the layer reaches 29 TFLOP/s FP32
at 2048^3 to 8192^3, 57 % of cuBLAS (docs/benchmarks.md).

Under the simulator (NumPy arrays), a tanh layer and its backward:

>>> import numpy as np
>>> x, w, b = np.zeros((2, 3)), np.ones((4, 3)), np.full(4, 0.5)
>>> out = np.empty((2, 4))
>>> linear_act_forward(x, w, b, "tanh", out)
>>> round(float(out[0, 0]), 6)
0.462117
>>> grad_z, grad_b = np.empty((2, 4)), np.empty(4)
>>> act_backward(np.ones((2, 4)), out, None, "tanh", grad_z, grad_b)
>>> round(float(grad_b[0]), 6) == round(2 * (1 - float(out[0, 0]) ** 2), 6)
True
"""

from __future__ import annotations

from .act_backward import act_backward
from .common import ACTIVATIONS, get_kernel, kernel_specs
from .linear_act import linear_act_forward
from .linear_backward import linear_backward
from .softmax_ce import softmax_ce_backward, softmax_ce_forward

__all__ = [
    "ACTIVATIONS", "act_backward", "kernel_specs", "linear_act_forward", "linear_backward",
    "softmax_ce_backward", "softmax_ce_forward", "warmup",
]


def warmup() -> int:
    """Compile every kernel variant now (on a GPU: NVVM, a few seconds in all); returns how
    many there are."""
    count = 0
    for name, key, _, _ in kernel_specs():
        get_kernel(name, *key)
        count += 1
    return count
