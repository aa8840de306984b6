"""cuBLAS GEMMs that a CUDA graph can record: a handle of our own, called through ``ctypes``.

CuPy refuses to call cuBLAS while its current stream captures a graph (its ``setStream``
raises "calling cuBLAS API during stream capture is currently unsupported"). cuBLAS itself
records GEMMs in a graph (cuBLAS docs, "CUDA Graphs Support") when alpha and beta are host
values, which the graph keeps as they were at capture, and the handle has a workspace of
its own, so that it allocates nothing while capturing. ``Cublas`` calls the library CuPy
has loaded that way:

* ``Cublas.open(compute_major, allocate)``: a handle on the current device, and a workspace
  per stream from ``allocate(nbytes) -> (pointer, owner)``, kept as long as the handle (a
  graph recorded on a stream goes on using that stream's workspace), as PyTorch keeps its
  cuBLAS workspaces;
* ``Cublas.matmul(a, b, out, pointer, stream, tf32=False)``: ``out = a @ b`` for 2-D
  float32/float64 arrays of any strides that BLAS can read (row- or column-major, padded
  rows, transposed views), into a C-contiguous ``out``; ``tf32`` lets a float32 GEMM round
  its inputs to TensorFloat-32 on the tensor cores (the handle's math mode);
* ``gemm_call(a.shape, a.strides, b.shape, b.strides, itemsize)``: the column-major cuBLAS
  arguments for a row-major product, or ``None`` where an operand needs a copy first (pure
  arithmetic: tested without a GPU against a column-major reference GEMM).

>>> from types import SimpleNamespace as Arr
>>> a, b = Arr(shape=(2, 3), strides=(12, 4)), Arr(shape=(3, 5), strides=(20, 4))
>>> gemm_call(a.shape, a.strides, b.shape, b.strides, 4)   # b is the call's first operand
GemmCall(op_first=0, op_second=0, m=5, n=2, k=3, ld_first=5, ld_second=3, ldc=5)
>>> wt = Arr(shape=(3, 5), strides=(4, 12))   # w.T of a contiguous (5, 3) weight w
>>> gemm_call(a.shape, a.strides, wt.shape, wt.strides, 4).op_first   # read transposed
1
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

OP_N, OP_T = 0, 1  # cublasOperation_t
DEFAULT_MATH, TF32_TENSOR_OP_MATH = 0, 3  # cublasMath_t
_INT_MAX = 2**31 - 1


def workspace_bytes(compute_major: int) -> int:
    """The workspace cuBLAS recommends per handle and stream: 32 MiB from Hopper (sm_90) on,
    4 MiB before."""
    return (32 if compute_major >= 9 else 4) << 20


STATUS = {1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED",
          7: "CUBLAS_STATUS_INVALID_VALUE", 8: "CUBLAS_STATUS_ARCH_MISMATCH",
          11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED",
          14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED"}


class CublasError(RuntimeError):
    """A cuBLAS call returned an error status."""


class GemmCall(NamedTuple):
    """Arguments of ``cublas<t>gemm``: C (m x n, column-major, ``ldc``) = op(first) op(second)."""

    op_first: int
    op_second: int
    m: int
    n: int
    k: int
    ld_first: int
    ld_second: int
    ldc: int


def transposed_operand(shape: tuple[int, int], strides: tuple[int, int],
                       itemsize: int) -> tuple[int, int] | None:
    """``(op, ld)`` such that ``op(M) == a.T``, where ``M`` is the column-major matrix with
    leading dimension ``ld`` at ``a``'s first element; ``None`` where ``a``'s strides have no
    such reading (negative, broadcast, or neither dimension unit-strided).

    >>> transposed_operand((2, 3), (12, 4), 4)   # row-major: memory read column-major is a.T
    (0, 3)
    >>> transposed_operand((2, 3), (4, 8), 4)    # column-major: memory is a, op T gives a.T
    (1, 2)
    """
    rows, cols = shape
    s0, s1 = strides
    if s1 == itemsize and s0 >= max(1, cols) * itemsize and s0 % itemsize == 0:
        return OP_N, s0 // itemsize  # row i of a is column i of M (cols x rows)
    if s0 == itemsize and s1 >= max(1, rows) * itemsize and s1 % itemsize == 0:
        return OP_T, s1 // itemsize  # M is a itself (rows x cols)
    if rows == 1 and s0 != max(1, cols) * itemsize:  # a size-1 dimension takes any stride
        return transposed_operand(shape, (max(1, cols) * itemsize, s1), itemsize)
    if cols == 1 and s1 != max(1, rows) * itemsize:
        return transposed_operand(shape, (s0, max(1, rows) * itemsize), itemsize)
    return None


def readable(a) -> bool:
    """Whether cuBLAS can read the 2-D array ``a`` as it is (else copy it to C order)."""
    return transposed_operand(a.shape, a.strides, a.dtype.itemsize) is not None


def gemm_call(a_shape, a_strides, b_shape, b_strides, itemsize: int) -> GemmCall | None:
    """The column-major call computing the row-major ``a @ b`` into a C-contiguous output:
    ``out.T (n x m) = b.T @ a.T``, so ``b`` is the call's first operand and ``a`` its second.
    ``None`` where ``a`` or ``b`` needs a contiguous copy first."""
    (m, k), n = a_shape, b_shape[1]
    first = transposed_operand(tuple(b_shape), tuple(b_strides), itemsize)
    second = transposed_operand(tuple(a_shape), tuple(a_strides), itemsize)
    if first is None or second is None:
        return None
    return GemmCall(first[0], second[0], n, m, k, first[1], second[1], max(1, n))


# -- the library ---------------------------------------------------------------------------------
def loaded_library_path(stem: str, maps: str | None = None) -> str | None:
    """The path of the library ``stem`` (``"libcublas"``, ``"libcublasLt"``) this process has
    loaded (CuPy's, and libcublas's own dependency), from ``/proc/self/maps`` (or the text
    ``maps``); ``None`` where none is loaded.

    >>> maps = ("7f0-7f1 r-xp 0 fd:01 9 /opt/cuda/lib64/libcublasLt.so.13\\n"
    ...         "7f2-7f3 r-xp 0 fd:01 8 /opt/cuda/lib64/libcublas.so.13.0.2\\n")
    >>> loaded_library_path("libcublas", maps), loaded_library_path("libcublasLt", maps)
    ('/opt/cuda/lib64/libcublas.so.13.0.2', '/opt/cuda/lib64/libcublasLt.so.13')
    """
    if maps is None:
        try:
            with open("/proc/self/maps") as f:
                maps = f.read()
        except OSError:
            return None
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)  # address, perms, offset, dev, inode[, path]
        if len(fields) == 6 and fields[5].rsplit("/", 1)[-1].startswith(stem + ".so"):
            return fields[5].strip()
    return None


def open_library(stem: str, path: str | None = None) -> ctypes.CDLL:
    """The library ``stem`` at ``path``, else the one this process loaded, else the first of
    CUDA 13's, 12's or the unversioned name that loads; OSError naming what was tried."""
    if path:
        names = [path]
    else:
        loaded = loaded_library_path(stem)
        names = ([loaded] if loaded else []) + [f"{stem}.so.13", f"{stem}.so.12", f"{stem}.so"]
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise OSError(f"cannot load {stem} (tried {', '.join(names)})")


def load_library(path: str | None = None) -> ctypes.CDLL:
    """libcublas with the argument types of the calls made here; the one CuPy loaded unless
    ``path`` names another. OSError naming what was tried when there is none."""
    lib = open_library("libcublas", path)
    p, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    lib.cublasCreate_v2.argtypes = [ctypes.POINTER(p)]
    lib.cublasSetStream_v2.argtypes = [p, p]
    lib.cublasSetMathMode.argtypes = [p, i]
    if hasattr(lib, "cublasSetWorkspace_v2"):  # cuBLAS 11.2+
        lib.cublasSetWorkspace_v2.argtypes = [p, p, sz]
    for name, scalar in (("cublasSgemm_v2", ctypes.c_float), ("cublasDgemm_v2", ctypes.c_double)):
        getattr(lib, name).argtypes = [p, i, i, i, i, i, ctypes.POINTER(scalar), p, i, p, i,
                                       ctypes.POINTER(scalar), p, i]
    return lib


def check_status(status: int, call: str) -> None:
    """CublasError naming ``call`` and its ``cublasStatus_t`` (cuBLAS and cuBLASLt alike)."""
    if status != 0:
        raise CublasError(f"{call} failed: {STATUS.get(status, f'status {status}')}")


_GEMM = {np.dtype(np.float32): ("cublasSgemm_v2", ctypes.c_float),
         np.dtype(np.float64): ("cublasDgemm_v2", ctypes.c_double)}


class Cublas:
    """One cuBLAS handle (made on the current device) with a workspace per stream."""

    def __init__(self, lib, workspace_size: int,
                 allocate: Callable[[int], tuple[int, object]]) -> None:
        handle = ctypes.c_void_p()
        check_status(lib.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate")
        self._lib, self._handle = lib, handle
        self._workspace_size, self._allocate = workspace_size, allocate
        self._workspaces: dict[int, tuple[int, object]] = {}  # stream -> (pointer, owner)
        self._stream: int | None = None
        self._math_mode = DEFAULT_MATH  # cuBLAS's default for a new handle
        self._lock = threading.Lock()  # a handle serves one call at a time
        self._gemms = {}  # dtype -> (function, name, alpha, beta): host scalars, made once
        for dtype, (name, scalar) in _GEMM.items():
            alpha, beta = scalar(1.0), scalar(0.0)
            self._gemms[dtype] = (getattr(lib, name), name, ctypes.byref(alpha),
                                  ctypes.byref(beta))

    @classmethod
    def open(cls, compute_major: int, allocate, lib=None) -> Cublas:
        """A handle on the current device of compute capability ``compute_major``.x."""
        lib = lib if lib is not None else load_library()
        return cls(lib, workspace_bytes(compute_major), allocate)

    def _bind(self, stream: int) -> None:
        """Run on ``stream``, with its own workspace (``cublasSetStream`` resets the
        workspace to cuBLAS's pool, which would allocate while capturing)."""
        if stream == self._stream:
            return
        check_status(self._lib.cublasSetStream_v2(self._handle, ctypes.c_void_p(stream)),
                     "cublasSetStream")
        if hasattr(self._lib, "cublasSetWorkspace_v2"):
            pointer, size = self.workspace(stream)
            check_status(self._lib.cublasSetWorkspace_v2(
                self._handle, ctypes.c_void_p(pointer), size), "cublasSetWorkspace")
        self._stream = stream

    def workspace(self, stream: int) -> tuple[int, int]:
        """``(pointer, bytes)`` of ``stream``'s workspace (cuBLASLt calls on the stream share
        it: work on one stream runs in order)."""
        if stream not in self._workspaces:
            self._workspaces[stream] = self._allocate(self._workspace_size)
        return self._workspaces[stream][0], self._workspace_size

    def _set_math_mode(self, mode: int) -> None:
        if mode != self._math_mode:
            check_status(self._lib.cublasSetMathMode(self._handle, mode), "cublasSetMathMode")
            self._math_mode = mode

    def matmul(self, a, b, out, pointer: Callable[[object], int], stream: int,
               tf32: bool = False) -> None:
        """``out[...] = a @ b`` on ``stream``; ``out`` is C-contiguous (m, n) of a's dtype;
        ``tf32``: a float32 product may round its inputs to TF32 (no effect on float64).
        ValueError where the layout needs a copy first (see ``gemm_call``)."""
        dtype = a.dtype
        if dtype not in self._gemms or b.dtype != dtype or out.dtype != dtype:
            raise TypeError(f"cuBLAS GEMM takes float32 or float64 operands of one dtype, got "
                            f"{a.dtype}, {b.dtype} -> {out.dtype}")
        if a.shape[1] != b.shape[0] or out.shape != (a.shape[0], b.shape[1]):
            raise ValueError(f"cuBLAS GEMM shapes do not chain: {a.shape} @ {b.shape} -> "
                             f"{out.shape}")
        if 0 in a.shape or 0 in b.shape:
            raise ValueError(f"cuBLAS GEMM of an empty product {a.shape} @ {b.shape}: the "
                             f"caller makes the (zero) result itself")
        call = gemm_call(a.shape, a.strides, b.shape, b.strides, dtype.itemsize)
        if call is None:
            raise ValueError(f"cuBLAS GEMM cannot read strides {a.strides} / {b.strides}: "
                             f"copy the operands to contiguous memory first")
        if max(call.m, call.n, call.k, call.ld_first, call.ld_second) > _INT_MAX:
            raise ValueError(f"cuBLAS GEMM dimensions exceed 32-bit ints: {a.shape} @ {b.shape}")
        gemm, name, alpha, beta = self._gemms[dtype]
        with self._lock:
            self._bind(stream)
            if dtype == np.float32:
                self._set_math_mode(TF32_TENSOR_OP_MATH if tf32 else DEFAULT_MATH)
            check_status(gemm(self._handle, call.op_first, call.op_second, call.m, call.n,
                              call.k, alpha, pointer(b), call.ld_first, pointer(a),
                              call.ld_second, beta, pointer(out), call.ldc), name)
