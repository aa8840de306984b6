"""The GPU kernel-path switch: which implementation runs the fused entry points on ``cuda``.

Three paths serve ``linear_act``, its backward and the softmax cross-entropy on the GPU:

* ``"numba"``: single-launch Numba-CUDA kernels (``tensorcore.kernels.numba_cuda.fused``), the
  whole layer (GEMM + bias + activation) in one launch, and the GEMM that CUDA graphs fall
  back on where tensorcore's own cuBLAS handle cannot be recorded (CuPy's cuBLAS calls
  never can);
* ``"cupy"``: cuBLAS for the GEMM (``@``) plus ONE fused CuPy epilogue kernel
  (``tensorcore.kernels.cupy.fused``);
* ``"unfused"``: the contract's reference ``xp`` code (several CuPy launches).

``"auto"`` (the default) picks ``numba`` or ``cupy`` by the size of the work, from the one
table ``AUTO_THRESHOLDS``. A layer's work is ``layer_steps``: how long the Numba kernels'
busiest SM reduces, which grows with a skinny layer's long reduction as much as with
M * N * K. Eager layers up to 2048 steps (512^3 is 1024, the small MLP's widest layer 1296)
take ``numba`` (forward and backward one launch each), longer ones (1024^3: 5958;
1024 x 10 x 2048: 3072) and the elementwise entry points ``cupy``: where each path was
faster in the measurements of docs/benchmarks.md (section "GPU"). A CUDA graph records no
launch costs, and there the ``cupy`` path (its GEMMs on tensorcore's cuBLAS handle) was the
faster at every size: the backend sends captured layers to it.
``TENSORCORE_KERNELS=auto|numba|cupy|unfused`` sets the path when tensorcore is imported;
``set_kernels`` sets it from Python, both for the whole process; the context manager
``use_kernels`` for the calling thread only, inside its block (as ``use_backend``). Dtypes
other than float32/float64 always take the unfused path.

>>> from tensorcore.backends import kernel_paths
>>> with kernel_paths.use_kernels("cupy"):
...     kernel_paths.resolve("linear_act", 64 * 64 * 64)
'cupy'
>>> [kernel_paths.layer_steps(n, n, n) for n in (64, 512, 1024)]
[128, 1024, 5958]
>>> kernel_paths.resolve("linear_act", 1024), kernel_paths.resolve("linear_act", 5958)
('numba', 'cupy')
"""

from __future__ import annotations

from ._per_thread import PerThreadChoice

KERNEL_PATHS = ("auto", "numba", "cupy", "unfused")

# "auto": the largest work (see WORK) that still goes to the single-launch Numba kernels;
# anything larger takes cuBLAS + the CuPy kernels. Set from benchmarks/gpu_report.py and
# benchmarks/profile_step.py (Numba kernels launched through kernels.numba_cuda.launch):
# docs/benchmarks.md, section "GPU", tables "Fused linear + ReLU, forward + backward" (numba
# against cupy at 64^3, 512^3 and 1024^3) and "MLP training step on cuda" (the small step,
# widest layer 1296 steps, faster on numba; the large step's 1024 x 10 x 2048 output layer,
# 3072 steps, faster on cupy). The elementwise entry points alone were faster on cupy at
# every size measured (0 sends none to numba).
AUTO_THRESHOLDS: dict[str, int] = {
    "linear_act": 2048,  # work = layer_steps(M, N, K, SMs) of x (M, K) @ w.T (K, N)
    "act_backward": 0,  # work = M * N of the gradient
    "softmax_ce": 0,    # work = N * C of the logits
}
WORK = {"linear_act": "layer_steps(M, N, K, SMs)", "act_backward": "M*N", "softmax_ce": "N*C"}
LAYER_TILE = 64  # the Numba GEMM kernels' output tile (kernels.numba_cuda.common.GEMM_BM, _BN)


def layer_steps(m: int, n: int, k: int, sm_count: int = 132) -> int:
    """The Numba path's layer, x (m, k) @ w.T (k, n), as the reduction steps its busiest SM
    runs in the forward and the one-launch backward: each 64 x 64 output tile reduces over
    one dimension (the forward's over K; the backward's grad_x tiles over N, grad_w tiles
    over M), no tile takes less than its own reduction, and the tiles share ``sm_count``
    SMs. A skinny layer is long: 1024 x 10 x 2048 has 16 forward tiles of 2048 steps."""
    def tiles(rows: int, cols: int) -> int:
        return -(-rows // LAYER_TILE) * -(-cols // LAYER_TILE)

    sms = max(sm_count, 1)
    forward = max(-(-tiles(m, n) * k // sms), k)
    backward = max(-(-(tiles(m, k) * n + tiles(n, k) * m) // sms), n, m)
    return forward + backward


# the path in force: process-wide (set_kernels, TENSORCORE_KERNELS), per thread inside a
# use_kernels block (as use_backend); the one key is the device type the paths serve
_choice = PerThreadChoice({"cuda": "auto"})


def _check(name: str) -> str:
    if name not in KERNEL_PATHS:
        raise ValueError(f"unknown kernel path {name!r}; expected one of {KERNEL_PATHS}")
    return name


def set_kernels(name: str) -> None:
    """Force one GPU kernel path (``"numba"``, ``"cupy"``, ``"unfused"``) or ``"auto"``, in
    every thread (the process-wide default; inside a ``use_kernels`` block it also replaces
    that block's choice until the block ends)."""
    _choice.set_default("cuda", _check(name))


def get_kernels() -> str:
    """The kernel path in force in the calling thread (``"auto"`` unless forced)."""
    return _choice.get("cuda")


def use_kernels(name: str):
    """Context manager: GPU kernels this thread launches inside take path ``name``; other
    threads keep theirs."""
    return _choice.using("cuda", _check(name))


def resolve(op: str, work: int) -> str:
    """The path that runs ``op`` (a key of ``AUTO_THRESHOLDS``) for a given amount of work,
    in the calling thread."""
    # _choice.get("cuda") inlined: this runs on every fused GPU op
    path = (_choice.thread.chosen if _choice.open_blocks else _choice.defaults)["cuda"]
    if path != "auto":
        return path
    return "numba" if work <= AUTO_THRESHOLDS[op] else "cupy"
