"""The GPU kernel-path switch: which implementation runs the fused entry points on ``cuda``.

Three paths serve ``linear_act``, its backward and the softmax cross-entropy on the GPU:

* ``"numba"``: single-launch Numba-CUDA kernels (``tensorcore.kernels.cuda_fused``), the
  whole layer (GEMM + bias + activation) in one launch, and the GEMM that CUDA graphs fall
  back on where tensorcore's own cuBLAS handle cannot be recorded (CuPy's cuBLAS calls
  never can);
* ``"cupy"``: cuBLAS for the GEMM (``@``) plus ONE fused CuPy epilogue kernel
  (``tensorcore.kernels.cuda_cupy``);
* ``"unfused"``: the contract's reference ``xp`` code (several CuPy launches).

``"auto"`` (the default) picks ``numba`` or ``cupy`` by the size of the work, from the one
table ``AUTO_THRESHOLDS``; as measured on an H200 it picks ``numba`` for layers up to
512^3 (forward and backward one launch each) and ``cupy`` above, and for the elementwise
entry points.
``TENSORCORE_KERNELS=auto|numba|cupy|unfused`` sets the path when tensorcore is imported;
``set_kernels`` and the context manager ``use_kernels`` set it from Python. Dtypes other
than float32/float64 always take the unfused path.

>>> from tensorcore.backends import kernel_paths
>>> with kernel_paths.use_kernels("cupy"):
...     kernel_paths.resolve("linear_act", 64 * 64 * 64)
'cupy'
>>> kernel_paths.resolve("linear_act", 64 * 64 * 64), kernel_paths.resolve("linear_act", 1024 ** 3)
('numba', 'cupy')
"""

from __future__ import annotations

import contextlib
import os

KERNEL_PATHS = ("auto", "numba", "cupy", "unfused")

# "auto": the largest work (see WORK) that still goes to the single-launch Numba kernels;
# anything larger takes cuBLAS + the CuPy kernels. Measured with benchmarks/gpu_report.py on
# an H200 (docs/benchmarks.md, 2026-11-27), Numba kernels launched through
# kernels.cuda_launch: linear + ReLU fwd+bwd, numba (one launch each way) against cupy,
# 0.118 / 0.183 ms at 64^3, 0.139 / 0.236 at 512^3, 0.285 / 0.191 at 1024^3. The
# elementwise entry points alone: cupy won from 64 x 64 up (0 sends none to numba).
AUTO_THRESHOLDS: dict[str, int] = {
    "linear_act": 512 ** 3,  # work = M * N * K of x (M, K) @ w.T (K, N)
    "act_backward": 0,  # work = M * N of the gradient
    "softmax_ce": 0,    # work = N * C of the logits
}
WORK = {"linear_act": "M*N*K", "act_backward": "M*N", "softmax_ce": "N*C"}

_current = "auto"


def _check(name: str) -> str:
    if name not in KERNEL_PATHS:
        raise ValueError(f"unknown kernel path {name!r}; expected one of {KERNEL_PATHS}")
    return name


def set_kernels(name: str) -> None:
    """Force one GPU kernel path (``"numba"``, ``"cupy"``, ``"unfused"``) or ``"auto"``."""
    global _current
    _current = _check(name)


def get_kernels() -> str:
    """The kernel path in force (``"auto"`` unless forced)."""
    return _current


@contextlib.contextmanager
def use_kernels(name: str):
    """Context manager: GPU kernels launched inside take path ``name``."""
    before = get_kernels()
    set_kernels(name)
    try:
        yield
    finally:
        set_kernels(before)


def resolve(op: str, work: int) -> str:
    """The path that runs ``op`` (a key of ``AUTO_THRESHOLDS``) for a given amount of work."""
    if _current != "auto":
        return _current
    return "numba" if work <= AUTO_THRESHOLDS[op] else "cupy"


def _read_environment() -> None:
    spec = os.environ.get("TENSORCORE_KERNELS", "").strip().lower()
    if spec:
        try:
            set_kernels(spec)
        except ValueError as e:
            raise ValueError(f"TENSORCORE_KERNELS: {e}") from None


_read_environment()
