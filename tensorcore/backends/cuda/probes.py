"""One-off checks that a GPU path works here before the backend relies on it.

Each runs a small case through the path, compares it with NumPy, and where it fails or
differs warns once and says what the backend takes instead:

* ``numba_ready``: the ``numba`` kernel path (once per process; ``auto`` takes ``cupy``
  where it fails, and fast launches fall back on Numba's dispatcher where only they fail);
* ``graph_cublas_works``: whether the backend's own cuBLAS handle records a GEMM in a CUDA
  graph (once per backend, by ``prepare_capture``; else graphs take the Numba GEMM);
* ``cublaslt_works``: whether the one-call cuBLASLt layer forward computes right (once per
  backend; else the cupy path keeps its epilogue kernel).

``numba_state`` holds what ``numba_kernels`` and ``numba_ready`` found, for the process.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import matmul_precision

if TYPE_CHECKING:
    from .backend import CupyBackend


def graph_cublas_works(backend: CupyBackend) -> bool:
    """Whether ``backend``'s own cuBLAS handle records a GEMM in a CUDA graph, and a replay
    computes it from the inputs as they are then (a transposed weight, as the layers pass
    it); warns where not."""
    a = np.arange(15, dtype=np.float32).reshape(3, 5) / 7
    w = np.arange(20, dtype=np.float32).reshape(4, 5) / 3 - 2

    def replay():
        a_dev, w_dev, a_later = backend.asarray(a.copy()), backend.asarray(w), \
            backend.asarray(1 - a)

        def change_inputs():
            a_dev[...] = a_later

        gemm = backend.kernel_table["matmul", "cublas"]
        return backend.to_numpy(backend.runtime.replay_captured(
            lambda: gemm(backend, a_dev, w_dev.T), change_inputs))

    return computes(replay, (1 - a) @ w.T, "the replayed GEMM",
                     "cuBLAS GEMMs cannot be recorded in a CUDA graph here",
                     "graphs run their matrix products on the Numba GEMM")


def expect(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """RuntimeError naming both when a check's values differ."""
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-5):
        raise RuntimeError(f"{what} computed {got.tolist()}, not {want.tolist()}")


def computes(run, want: np.ndarray, what: str, failure: str, fallback: str) -> bool:
    """Whether ``run()`` (host values, float32 GEMMs at full precision) gives ``want``: a
    one-off check of a GPU path. Where it raises or differs, a warning says ``failure`` (why)
    and ``fallback``."""
    try:
        with matmul_precision.using("highest"):
            got = run()
        expect(got, want, what)
    except Exception as e:  # a missing library, an error status, a refused capture, a value
        warnings.warn(f"{failure} ({type(e).__name__}: {e}); {fallback}", RuntimeWarning,
                      stacklevel=4)
        return False
    return True


numba_state: dict[str, object] = {}


def _numba_launch_setup() -> None:
    """Launch without Numba's per-argument stream synchronization (nor its low-occupancy
    warnings): set its configuration at run time (built-in ``numba.cuda`` and the
    ``numba-cuda`` package keep it apart)."""
    import importlib

    for name in ("numba.core.config", "numba.cuda.core.config"):
        try:
            config = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(config, "CUDA_ARRAY_INTERFACE_SYNC"):
            config.CUDA_ARRAY_INTERFACE_SYNC = False
        if hasattr(config, "CUDA_LOW_OCCUPANCY_WARNINGS"):
            config.CUDA_LOW_OCCUPANCY_WARNINGS = 0


def numba_kernels():
    """``tensorcore.kernels.numba_cuda.fused`` ready to launch; RuntimeError naming why not."""
    if "module" not in numba_state:
        try:
            import tensorcore.kernels.numba_cuda.fused as module

            _numba_launch_setup()
        except Exception as e:  # ImportError, or Numba's CUDA target failing to load
            numba_state["error"] = f"{type(e).__name__}: {e}"
            numba_state["module"] = None
        else:
            numba_state["module"] = module
    if numba_state["module"] is None:
        raise RuntimeError(f"the 'numba' GPU kernel path is unusable: tensorcore.kernels."
                           f"numba_cuda.fused failed to load ({numba_state['error']}); use "
                           f"TENSORCORE_KERNELS=cupy or tc.backends.use_kernels('cupy')")
    return numba_state["module"]


def numba_ready(backend: CupyBackend) -> bool:
    """Whether the ``numba`` path works here, found out once per process: the kernels import,
    and a small ReLU backward with its bias gradient compiles, loads and runs on
    ``backend``'s GPU and computes the right values (a missing NVVM or PTX newer than the
    driver accepts shows here, not in the middle of a step; the check synchronizes the GPU,
    so make the first fused call outside a CUDA-graph capture). It runs through the fast
    launch (``kernels.numba_cuda.launch``) first; if that fails, fast launches are turned off with a
    warning and the probe runs again through Numba's dispatcher. When the path does not work,
    ``auto`` takes the ``cupy`` path and says so once in a warning."""
    if "ready" not in numba_state:
        try:
            numba_kernels()
            from tensorcore.kernels.numba_cuda import common as cuda_common

            try:
                _probe_numba_kernel(backend)
            except Exception as e:  # a wrong value, or a launch error
                if not cuda_common.FAST_LAUNCH:
                    raise
                cuda_common.FAST_LAUNCH = False
                _probe_numba_kernel(backend)  # through Numba's dispatcher; raises if broken too
                warnings.warn(f"fast launches of the Numba kernels failed here "
                              f"({type(e).__name__}: {e}); they go through Numba's dispatcher, "
                              f"which costs many times more host time per launch",
                              RuntimeWarning, stacklevel=2)
        except Exception as e:  # import, NVVM, driver or launch failure
            numba_state["ready"] = False
            warnings.warn(f"the 'numba' GPU kernel path is unusable here ({type(e).__name__}: "
                          f"{e}); kernel path 'auto' takes the 'cupy' path instead",
                          RuntimeWarning, stacklevel=2)
        else:
            numba_state["ready"] = True
    return bool(numba_state["ready"])


def _probe_numba_kernel(backend: CupyBackend) -> None:
    """A ReLU backward with its bias gradient on a 3 x 4 gradient; RuntimeError naming the
    values when they are wrong."""
    g = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    out = np.maximum(g[::-1] * 0.5, 0)
    with backend.runtime.device:
        grad_z = backend.xp.zeros(g.shape, dtype=np.float32)
        grad_b = backend.xp.zeros(4, dtype=np.float32)
        numba_kernels().act_backward(backend.asarray(g), backend.asarray(out), None, "relu",
                                      grad_z, grad_b, stream=backend._numba_stream())
    backend.synchronize()
    want = g * (out > 0)
    expect(backend.to_numpy(grad_z), want, "a probe kernel (the ReLU gradient)")
    expect(backend.to_numpy(grad_b), want.sum(0), "a probe kernel (the bias gradient)")
