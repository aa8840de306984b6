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

Activations: every entry of the activation table (``tensorcore.kernels.activations``: relu,
gelu exact and erf-based like ``torch.nn.functional.gelu``, sigmoid, tanh, silu, None, and any
registered there), whose scalar formulas are inlined into the kernels (:mod:`.inline`): the
same math as :mod:`tensorcore.kernels.cpu.fused`.

Design (the details are in each module's docstring):

* GEMM + epilogue in one kernel: 64 x 64 output tiles per block, 4 x 4 register blocks per
  thread, K staged through shared memory; the epilogue adds the bias, stores the
  pre-activation if asked and applies the activation, so ``x @ w.T`` never makes a round
  trip through global memory.
* Act backward: column strips and row chunks; the bias gradient is summed without atomics
  (deterministic run to run).
* Layer backward in one launch: blocks of grad_x and of grad_w tiles in one grid,
  ``grad_out * act'`` recomputed as each tile is staged.
* Every grid and block size comes from
  :func:`tensorcore.kernels.numba_cuda.common.launch_config`; kernels compile lazily with
  explicit signatures (one variant per dtype and activation); :func:`warmup` compiles all.

Where this path pays: single launches for the small and medium layers of a training step,
where launch overhead and the extra memory passes of a GEMM + separate epilogue dominate. At
large shapes this GEMM has no tensor cores (Numba exposes no mma/wgmma), so cuBLAS plus a
one-pass epilogue is faster there; choosing by shape is the backend's job
(``tensorcore.backends.kernel_paths``). Launches go through
:func:`~tensorcore.kernels.numba_cuda.common.launch`, which packs the parameters itself
(:mod:`.launch`), because Numba's dispatcher costs much more host time per launch than
CuPy's. The caller sets ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0`` before numba is imported (else
every launch synchronises the stream a CuPy array exports) and launches on CuPy's current
stream. The measured figures (host cost per launch, the layer against cuBLAS) are in
docs/benchmarks.md.

Checked under Numba's simulator (``tests_cudasim/``), by compiling every variant to sm_90 PTX
without a GPU (``tests/test_cuda_ptx.py``), and by the GPU suite on a lent GPU.

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
from .common import get_kernel, kernel_specs
from .linear_act import linear_act_forward
from .linear_backward import linear_backward
from .softmax_ce import softmax_ce_backward, softmax_ce_forward

__all__ = [
    "act_backward", "kernel_specs", "linear_act_forward", "linear_backward",
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
