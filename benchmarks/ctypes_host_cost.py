"""Python's share of the host cost of the three ctypes paths to the GPU, on any machine: a fast
launch of the Numba ReLU backward (``kernels.cuda_launch.FastKernel``, 38 parameters), a
GEMM through tensorcore's cuBLAS handle (``kernels.cuda_cublas.Cublas``) and a layer forward
in one cuBLASLt call (``kernels.cuda_cublaslt.CublasLt``), each with driver or library
functions that return at once, so no GPU is needed. On a GPU,
``benchmarks/gpu_report.py`` measures the whole calls.

    python benchmarks/ctypes_host_cost.py
"""

from __future__ import annotations

import timeit
from types import SimpleNamespace

import numpy as np

from tensorcore.kernels.activations import TABLE
from tensorcore.kernels.blas import cublas as cuda_cublas
from tensorcore.kernels.blas import cublaslt as cuda_cublaslt
from tensorcore.kernels.numba_cuda import launch as cuda_launch
from tensorcore.kernels.numba_cuda.act_backward import _build_act_backward


def device_array(shape, dtype=np.float32):
    """What the two paths read of a CuPy array, over NumPy memory."""
    a = np.zeros(shape, dtype)
    return SimpleNamespace(data=SimpleNamespace(ptr=a.ctypes.data), size=a.size, shape=a.shape,
                           strides=a.strides, itemsize=a.itemsize, dtype=a.dtype, owner=a)


class NoCublas:
    """libcublas's entry points as ``Cublas`` calls them, returning success at once."""

    def cublasCreate_v2(self, handle):
        return 0

    def __getattr__(self, name):
        return lambda *args: 0


class NoCublasLt(NoCublas):
    """libcublasLt's entry points as ``CublasLt`` calls them: success, one algorithm found."""

    def cublasLtCreate(self, handle):
        return 0

    def cublasLtMatmulAlgoGetHeuristic(self, *args):
        args[-1]._obj.value = 1  # returnAlgoCount
        return 0


def per_call_us(fn, number: int = 20000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    _, signature = _build_act_backward(np.dtype(np.float32), TABLE["relu"])
    kernel = cuda_launch.FastKernel(1, signature.args, launch=lambda *args: 0)
    g, y, gz, gb = (device_array((64, 64)) for _ in range(4))
    launch = per_call_us(lambda: kernel((2, 1), (32, 8), 0, g, y, gz, gb, 64, True))
    cublas = cuda_cublas.Cublas.open(9, lambda n: (0, None), lib=NoCublas())
    x, w, out = device_array((64, 64)), device_array((64, 64)), device_array((64, 64))
    w.strides = w.strides[::-1]  # w.T, as the layers pass it
    gemm = per_call_us(lambda: cublas.matmul(x, w, out, lambda a: a.data.ptr, 0))
    lt = cuda_cublaslt.CublasLt(NoCublasLt())
    b = device_array((64,))
    w.strides = w.strides[::-1]  # w itself again, as the layer passes it
    layer = per_call_us(lambda: lt.linear(x, w, b, True, out, lambda a: a.data.ptr, 0, (0, 0)))
    print(f"FastKernel launch, ReLU backward (38 parameters): {launch:.2f} us")
    print(f"Cublas.matmul, x @ w.T (64 x 64): {gemm:.2f} us")
    print(f"CublasLt.linear, relu(x @ w.T + b) (64 x 64, plan cached): {layer:.2f} us")


if __name__ == "__main__":
    main()
