"""GPU kernels written in CUDA C and compiled by CuPy (``cupy.RawKernel``): the fused bias +
activation epilogue after a cuBLAS GEMM, its backward, softmax cross-entropy and the
one-pass update (``fused``). Used by the CuPy backend's ``cupy`` kernel path."""
