"""A stand-in libcublas for tests without a GPU: the ``ctypes`` calls ``kernels.blas.cublas``
makes, served on host memory by a column-major reference GEMM that reads its operands through
the raw pointers and leading dimensions it is given, as cuBLAS does (BLAS semantics, with
cuBLAS's argument checks)."""

from __future__ import annotations

import ctypes

import numpy as np


def column_major(pointer: int, rows: int, cols: int, ld: int, dtype) -> np.ndarray:
    """The column-major ``rows x cols`` matrix with leading dimension ``ld`` at ``pointer``."""
    dtype = np.dtype(dtype)
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols), dtype)
    nbytes = ((cols - 1) * ld + rows) * dtype.itemsize
    flat = np.frombuffer((ctypes.c_char * nbytes).from_address(pointer), dtype)
    return np.lib.stride_tricks.as_strided(flat, (rows, cols),
                                           (dtype.itemsize, ld * dtype.itemsize))


def tf32(a: np.ndarray) -> np.ndarray:
    """float32 values rounded to TensorFloat-32's 10-bit mantissa (to nearest, ties away from
    zero), as the tensor cores read float32 inputs when TF32 is allowed."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


def _address(pointer) -> int:
    """A pointer argument as ctypes would pass it: an int, or a ``c_void_p``."""
    return pointer if isinstance(pointer, int) else (pointer.value or 0)


class FakeCublas:
    """``cublasCreate_v2``, ``cublasSetStream_v2``, ``cublasSetWorkspace_v2``,
    ``cublasSetMathMode`` and the S/D GEMMs (the S GEMM on TF32-rounded inputs in math mode
    3); ``calls`` lists what was called, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.math_mode = 0

    def cublasCreate_v2(self, handle_ref) -> int:
        handle_ref._obj.value = 0x1000
        self.calls.append(("create",))
        return 0

    def cublasSetStream_v2(self, handle, stream) -> int:
        self.calls.append(("stream", _address(stream)))
        return 0

    def cublasSetWorkspace_v2(self, handle, pointer, size) -> int:
        self.calls.append(("workspace", _address(pointer), size))
        return 0

    def cublasSetMathMode(self, handle, mode) -> int:
        if mode not in (0, 2, 3):
            return 7
        self.calls.append(("math mode", mode))
        self.math_mode = mode
        return 0

    def _gemm(self, dtype, handle, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        a_rows, b_rows = (m if op_a == 0 else k), (k if op_b == 0 else n)
        if min(m, n, k) < 0 or lda < max(1, a_rows) or ldb < max(1, b_rows) or ldc < max(1, m):
            return 7  # CUBLAS_STATUS_INVALID_VALUE, as cuBLAS checks
        self.calls.append(("gemm", np.dtype(dtype).name, op_a, op_b, m, n, k))
        a_mat = column_major(_address(a), a_rows, k if op_a == 0 else m, lda, dtype)
        b_mat = column_major(_address(b), b_rows, n if op_b == 0 else k, ldb, dtype)
        c_mat = column_major(_address(c), m, n, ldc, dtype)
        if dtype == np.float32 and self.math_mode == 3:
            a_mat, b_mat = tf32(a_mat), tf32(b_mat)
        product = (a_mat if op_a == 0 else a_mat.T) @ (b_mat if op_b == 0 else b_mat.T)
        beta_value = beta._obj.value
        c_mat[...] = alpha._obj.value * product + (beta_value * c_mat if beta_value else 0)
        return 0

    def cublasSgemm_v2(self, *args) -> int:
        return self._gemm(np.float32, *args)

    def cublasDgemm_v2(self, *args) -> int:
        return self._gemm(np.float64, *args)
