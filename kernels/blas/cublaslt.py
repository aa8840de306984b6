"""The layer's forward in ONE cuBLASLt call: ``act(x @ w.T + b)`` with the bias and ReLU done
by the GEMM's epilogue, through ``ctypes`` (CuPy does not expose cuBLASLt).

``CublasLt.linear(x, w, b, relu, out, pointer, stream, workspace)`` computes, for float32
C-contiguous ``x`` (M, K) and ``w`` (N, K) and ``b`` (N,) or None, the row-major product as
the column-major one ``out.T = w @ x.T`` (``cuda_cublas.gemm_call``); the bias then runs
along the rows of cuBLASLt's D, as its epilogues define it. Epilogues (cublasLt.h):
``DEFAULT`` (1), ``RELU`` (2), ``BIAS`` (4), ``RELU_BIAS`` (6). GELU's epilogue is the tanh
approximation, not tensorcore's exact GELU, so gelu, sigmoid and tanh stay on the CuPy
epilogue kernel. The descriptors, layouts and the algorithm chosen by cuBLASLt's heuristic
are made once per shape and pointer alignment and kept (the heuristic picks an algorithm for
the alignments it is told, 256 bytes unless told less, and reads the bias pointer's), then a
call sets the bias pointer and runs.

>>> epilogue(relu=True, bias=True), epilogue(relu=False, bias=False)
(6, 1)
>>> ctypes.sizeof(HeuristicResult)   # cublasLtMatmulHeuristicResult_t
96
>>> alignment(0x7f0000000100), alignment(0x7f0000000104), alignment(0)
(256, 4, 256)
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from .cublas import CublasError, check_status, gemm_call, open_library

COMPUTE_32F, COMPUTE_32F_FAST_TF32, R_32F = 68, 77, 0  # cublasComputeType_t, cudaDataType_t
DESC_TRANSA, DESC_TRANSB, DESC_EPILOGUE, DESC_BIAS_POINTER = 3, 4, 7, 8
PREF_MAX_WORKSPACE_BYTES = 1
PREF_MIN_ALIGNMENT = {"a": 5, "b": 6, "c": 7, "d": 8}  # ..._MIN_ALIGNMENT_{A,B,C,D}_BYTES
EPILOGUE_DEFAULT, EPILOGUE_RELU, EPILOGUE_BIAS = 1, 2, 4


def epilogue(relu: bool, bias: bool) -> int:
    """The ``cublasLtEpilogue_t`` for a ReLU and/or a bias (``DEFAULT`` for neither)."""
    code = (EPILOGUE_RELU if relu else 0) | (EPILOGUE_BIAS if bias else 0)
    return code or EPILOGUE_DEFAULT


def alignment(address: int) -> int:
    """The largest power of two up to 256 that divides ``address`` (bytes; 256 for NULL)."""
    return min(256, address & -address) if address else 256


class HeuristicResult(ctypes.Structure):
    """``cublasLtMatmulHeuristicResult_t``: the algorithm (64 opaque bytes) and its needs."""

    _fields_ = [("algo", ctypes.c_uint64 * 8), ("workspace_size", ctypes.c_size_t),
                ("state", ctypes.c_int), ("waves_count", ctypes.c_float),
                ("reserved", ctypes.c_int * 4)]


def load_library(path: str | None = None) -> ctypes.CDLL:
    """libcublasLt (the one loaded with CuPy's libcublas, unless ``path`` names one) with
    the argument types of the calls made here."""
    lib = open_library("libcublasLt", path)
    p, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    out = ctypes.POINTER(p)
    lib.cublasLtCreate.argtypes = [out]
    lib.cublasLtMatmulDescCreate.argtypes = [out, i, i]
    lib.cublasLtMatmulDescSetAttribute.argtypes = [p, i, p, sz]
    lib.cublasLtMatrixLayoutCreate.argtypes = [out, i, ctypes.c_uint64, ctypes.c_uint64,
                                               ctypes.c_int64]
    lib.cublasLtMatmulPreferenceCreate.argtypes = [out]
    lib.cublasLtMatmulPreferenceSetAttribute.argtypes = [p, i, p, sz]
    lib.cublasLtMatmulAlgoGetHeuristic.argtypes = [p, p, p, p, p, p, p, i,
                                                   ctypes.POINTER(HeuristicResult),
                                                   ctypes.POINTER(i)]
    lib.cublasLtMatmul.argtypes = [p, p, p, p, p, p, p, p, p, p, p, p, p, p, sz, p]
    return lib


def _set(setter, obj, attribute: int, value) -> None:
    check_status(setter(obj, attribute, ctypes.byref(value), ctypes.sizeof(value)), "SetAttribute")


class _Plan:
    """Descriptors, layouts and algorithm of one (shape, layout, epilogue, alignments,
    compute type): ``aligned`` holds the byte alignments of A, B and D (C is D) and ``bias``
    a bias pointer of the alignment later calls pass (cuBLASLt reads its value to pick the
    algorithm); ``tf32`` lets the inputs be rounded to TF32."""

    def __init__(self, lib, handle, call, code: int, workspace_size: int,
                 aligned: dict[str, int], bias: ctypes.c_void_p, tf32: bool = False) -> None:
        def new(create, *args):
            obj = ctypes.c_void_p()
            check_status(create(ctypes.byref(obj), *args), create.__name__)
            return obj

        self.desc = new(lib.cublasLtMatmulDescCreate,
                        COMPUTE_32F_FAST_TF32 if tf32 else COMPUTE_32F, R_32F)
        setter = lib.cublasLtMatmulDescSetAttribute
        _set(setter, self.desc, DESC_TRANSA, ctypes.c_int32(call.op_first))
        _set(setter, self.desc, DESC_TRANSB, ctypes.c_int32(call.op_second))
        _set(setter, self.desc, DESC_EPILOGUE, ctypes.c_uint32(code))
        if bias.value:
            _set(setter, self.desc, DESC_BIAS_POINTER, bias)
        first = (call.m, call.k) if call.op_first == 0 else (call.k, call.m)
        second = (call.k, call.n) if call.op_second == 0 else (call.n, call.k)
        layout = lib.cublasLtMatrixLayoutCreate
        self.a = new(layout, R_32F, *first, call.ld_first)
        self.b = new(layout, R_32F, *second, call.ld_second)
        self.d = new(layout, R_32F, call.m, call.n, call.ldc)
        preference = new(lib.cublasLtMatmulPreferenceCreate)
        prefer = lib.cublasLtMatmulPreferenceSetAttribute
        _set(prefer, preference, PREF_MAX_WORKSPACE_BYTES, ctypes.c_uint64(workspace_size))
        for operand, attribute in PREF_MIN_ALIGNMENT.items():
            _set(prefer, preference, attribute, ctypes.c_uint32(aligned["d" if operand == "c"
                                                                        else operand]))
        self.bias = bias.value  # the bias pointer the descriptor holds now
        self.result, found = HeuristicResult(), ctypes.c_int(0)
        check_status(lib.cublasLtMatmulAlgoGetHeuristic(
            handle, self.desc, self.a, self.b, self.d, self.d, preference, 1,
            ctypes.byref(self.result), ctypes.byref(found)), "cublasLtMatmulAlgoGetHeuristic")
        if found.value < 1 or self.result.state != 0:
            raise CublasError(f"cuBLASLt has no algorithm for {call} with epilogue {code}")
        self.algo = ctypes.byref(self.result.algo)


class CublasLt:
    """One cuBLASLt handle (made on the current device), with a plan per shape."""

    def __init__(self, lib=None) -> None:
        self._lib = lib if lib is not None else load_library()
        self._handle = ctypes.c_void_p()
        check_status(self._lib.cublasLtCreate(ctypes.byref(self._handle)), "cublasLtCreate")
        self._plans: dict[tuple, _Plan] = {}
        self._scalars = ctypes.c_float(1.0), ctypes.c_float(0.0)  # alpha, beta: kept alive
        self._alpha, self._beta = (ctypes.byref(v) for v in self._scalars)  # made once
        self._bias = ctypes.c_void_p(0)
        self._lock = threading.Lock()  # the plans' descriptors take the bias per call

    def linear(self, x, w, b, relu: bool, out, pointer, stream: int,
               workspace: tuple[int, int], tf32: bool = False) -> None:
        """``out[...] = relu?(x @ w.T + b)`` in one call on ``stream``; ``workspace`` is a
        ``(pointer, bytes)`` device buffer; ``tf32``: the GEMM may round its inputs to TF32.
        ValueError / TypeError name what does not fit."""
        for name, a in (("x", x), ("w", w), ("out", out)) + ((("b", b),) if b is not None else ()):
            if a.dtype != np.float32:
                raise TypeError(f"cuBLASLt linear takes float32, got {name} {a.dtype}")
        (m, k), n = x.shape, w.shape[0]
        if w.shape[1] != k or out.shape != (m, n) or (b is not None and b.shape != (n,)):
            raise ValueError(f"cuBLASLt linear: shapes x {x.shape}, w {w.shape}, "
                             f"b {None if b is None else b.shape}, out {out.shape} do not fit")
        if 0 in (m, n, k):
            raise ValueError(f"cuBLASLt linear of an empty product {x.shape} @ {w.shape}.T")
        call = gemm_call(x.shape, x.strides, (k, n), w.strides[::-1], 4)
        if call is None:
            raise ValueError(f"cuBLASLt linear cannot read strides {x.strides} / {w.strides}")
        code = epilogue(relu, b is not None)
        first, second, d = pointer(w), pointer(x), pointer(out)  # column-major A, B, D
        bias = pointer(b) if b is not None else 0
        aligned = {"a": alignment(first), "b": alignment(second), "d": alignment(d)}
        key = (call, code, workspace[1], *aligned.values(), alignment(bias), tf32)
        with self._lock:
            self._bias.value = bias
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = _Plan(self._lib, self._handle, call, code,
                                                workspace[1], aligned, self._bias, tf32)
            elif bias and bias != plan.bias:  # the descriptor keeps the last one set
                _set(self._lib.cublasLtMatmulDescSetAttribute, plan.desc, DESC_BIAS_POINTER,
                     self._bias)
                plan.bias = bias
            check_status(self._lib.cublasLtMatmul(
                self._handle, plan.desc, self._alpha, first, plan.a, second, plan.b,
                self._beta, d, plan.d, d, plan.d, plan.algo, workspace[0], workspace[1],
                stream), "cublasLtMatmul")
