"""A stand-in GPU for tests on machines without one: ``CupyBackend``'s own logic with NumPy as
its array module, registered for the ``cuda`` device type.

Where no GPU is present, ``tests/conftest.py`` adds it to the ``device`` fixture, so the whole
suite runs once more on ``cuda`` semantics (transfers, ``.numpy()`` refusing device memory,
device checks); ``TENSORCORE_TEST_STANDIN_CUDA=0`` leaves it out.
"""

from __future__ import annotations

import contextlib

import numpy as np

from tensorcore.backends.contract import Backend
from tensorcore.backends.cuda import CupyBackend
from tensorcore.backends.cuda.paths import softmax_ce_unchecked


class NumpyRuntime:
    """CupyRuntime's interface served by NumPy (host copies are real copies)."""

    xp, array_type = np, np.ndarray
    device = contextlib.nullcontext()

    def __init__(self, index: int) -> None:
        self.index = index

    @staticmethod
    def to_host(a):
        return np.array(a, copy=True)

    def scatter_add(self, target, index, values):
        np.add.at(target, index, values)

    def synchronize(self):
        pass

    has_tf32 = True  # as an Ampere or later GPU
    sm_count = 132   # as an H100

    @staticmethod
    def tf32_matmul(a, b):
        """``a @ b`` on TF32-rounded inputs, as cuBLAS's float32 GEMM with TF32 allowed."""
        from fake_cublas import tf32

        return tf32(a) @ tf32(b)

    def stream_ptr(self):
        return 0

    graph_mode = False

    def capturing(self):
        return self.graph_mode

    def on_device(self, a):
        return True

    @staticmethod
    def pointer(a):
        return a.ctypes.data

    def cublas(self):
        """A real ``kernels.blas.cublas.Cublas`` on the NumPy stand-in of libcublas."""
        if getattr(self, "_cublas", None) is None:
            from fake_cublas import FakeCublas

            from tensorcore.kernels.blas.cublas import Cublas

            self._cublas = Cublas.open(9, self._allocate, lib=FakeCublas())
        return self._cublas

    @staticmethod
    def _allocate(nbytes):
        buffer = np.empty(nbytes, dtype=np.uint8)
        return buffer.ctypes.data, buffer

    def replay_captured(self, fn, change_inputs):
        fn()
        change_inputs()
        return fn().copy()


class StandInCupy(CupyBackend):
    runtime_class = NumpyRuntime
    kernel_table = dict(CupyBackend.kernel_table)  # its own: tests patch it

    def asarray(self, data, dtype=None):
        arr = super().asarray(data, dtype)
        if arr.dtype.kind not in "biufc":  # as CuPy, which holds numbers only
            raise ValueError(f"Unsupported dtype {arr.dtype}")
        return arr
    fused_paths = ()  # "unfused" only: the numba and cupy kernels need a GPU


FUSED_ENTRIES = ("linear_act", "act_backward", "softmax_ce", "softmax_ce_backward")


def _softmax_ce_fused(backend, z, target):  # as the kernels: NaN for a target outside [0, C)
    return softmax_ce_unchecked(backend.xp, z, target)


def _matmul_numpy(backend, a, b):  # the Numba GEMM, as NumPy's
    return a @ b


def _linear_backward_numpy(backend, grad_out, out, pre, x, w, activation, needs):
    """The one-launch backward's results, from the contract's NumPy math."""
    gz, gb = Backend.act_backward(backend, grad_out, out, pre, activation, needs[2])
    return (gz @ w if needs[0] else None, gz.T @ x if needs[1] else None,
            gb if needs[2] else None)


class ClaimingCupy(StandInCupy):
    """The stand-in claiming the fused paths (``numba``, ``cupy``), each running the unfused
    code, and the Numba GEMM as NumPy's: the backend's path logic without the kernels."""

    fused_paths = ("numba", "cupy")
    # linear_act's unfused code calls matmul, as cupy's does
    kernel_table = {
        **StandInCupy.kernel_table,
        **{(entry, path): _softmax_ce_fused if entry == "softmax_ce"
           else StandInCupy.kernel_table[entry, "unfused"]
           for entry in FUSED_ENTRIES for path in ("numba", "cupy")},
        ("matmul", "numba"): _matmul_numpy,
        ("linear_backward", "numba"): _linear_backward_numpy,
    }

    def axpy_(self, x, alpha, y):  # the one-pass update kernel's path, as the unfused update
        Backend.axpy_(self, x, alpha, y)
