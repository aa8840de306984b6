"""The cupy path's layer forward in ONE cuBLASLt call (``tensorcore.kernels.blas.cublaslt``):
GEMM, bias and ReLU (its RELU_BIAS epilogue) for float32 layers, where
``TENSORCORE_CUBLASLT`` (``settings.cublaslt``) switches it on and its one-off check passed.

The backend keeps the switches (``cublaslt``: eagerly, ``cublaslt_in_graphs``) and the
check's result (``_cublaslt_ok``: None until checked); ``works`` is its ``_cublaslt_works``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tensorcore.kernels.activations import TABLE
from tensorcore.kernels.blas import cublas

from .probes import computes

if TYPE_CHECKING:
    from .backend import CupyBackend


def takes(backend: CupyBackend, x, w, activation) -> bool:
    """Whether one cuBLASLt call runs this layer's forward: float32, ReLU or none, no
    dimension of 1 (cuBLASLt's heuristic refuses those; PyTorch keeps them off it too),
    and switched on where it runs now: eagerly (checked on first use) or in a graph
    (checked by prepare_capture, never while recording). Cheap tests first."""
    # the activations cuBLASLt has an epilogue for (the table's ``cublaslt``: BIAS, RELU_BIAS)
    if not ((backend.cublaslt or backend.cublaslt_in_graphs)
            and TABLE[activation].cublaslt is not None
            and x.dtype == np.float32 and w.dtype == np.float32
            and min(*x.shape, w.shape[0]) > 1):
        return False
    if backend.capturing():
        return bool(backend._cublaslt_ok)
    return backend.cublaslt and backend._cublaslt_works()


def in_graphs(backend: CupyBackend) -> bool:
    """Whether a CUDA graph records the cuBLASLt forward (checked in prepare_capture)."""
    return backend.cublaslt or backend.cublaslt_in_graphs


def linear(backend: CupyBackend, x, w, b, relu: bool):
    """``x @ w.T + b``, through ReLU where ``relu``, in one cuBLASLt call (counted in
    ``kernel_calls`` as ``("linear_act", "cublaslt")``)."""
    xp, runtime = backend.xp, backend.runtime
    x = x if cublas.readable(x) else xp.ascontiguousarray(x)
    w, b = xp.ascontiguousarray(w), None if b is None else xp.ascontiguousarray(b)
    out = xp.empty((x.shape[0], w.shape[0]), dtype=x.dtype)
    stream = runtime.stream_ptr()
    runtime.cublaslt().linear(x, w, b, relu, out, runtime.pointer, stream,
                              runtime.cublas().workspace(stream), backend.allows_tf32())
    backend.kernel_calls["linear_act", "cublaslt"] += 1
    return out


def works(backend: CupyBackend) -> bool:
    """Whether one cuBLASLt call computes a small ReLU layer right here (checked once;
    where not, a warning, and the CuPy epilogue kernel from then on)."""
    if backend._cublaslt_ok is None:
        backend._cublaslt_ok = False  # while checking
        x = np.arange(12, dtype=np.float32).reshape(3, 4) / 5 - 1
        w = np.arange(20, dtype=np.float32).reshape(5, 4) / 7 - 1
        b = np.linspace(-1, 1, 5, dtype=np.float32)
        backend._cublaslt_ok = computes(
            lambda: backend.to_numpy(linear(backend, *map(backend.asarray, (x, w, b)), True)),
            np.maximum(x @ w.T + b, 0), "the cuBLASLt call",
            "the cuBLASLt layer forward does not work here", "the cupy path keeps its "
            "epilogue kernel")
    return backend._cublaslt_ok
