"""Does NVIDIA's nvmath-python record a cuBLAS GEMM in a CUDA graph, and what does a call cost?

The evaluation asked for in docs/backends.md ("cuBLAS and cuBLASLt bindings"): tensorcore
calls cuBLAS through ctypes (``kernels/blas/``) because CuPy's wrapper refuses calls while a
stream captures a graph. ``nvmath.bindings.cublas`` would replace that if a GEMM made through
it records into a CuPy graph and replays with the inputs as they are at replay. This script
checks that, and compares the host cost of an eager call against tensorcore's ``Cublas``:

    pip install nvmath-python            # on the GPU machine, next to the cuda extra
    python benchmarks/nvmath_graph_check.py

Prints one line per finding; without a GPU, CuPy or nvmath it says which is missing and exits 0.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def missing() -> str | None:
    """What this machine lacks for the check, or None."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    if not cupy.is_available():
        return "no GPU"
    try:
        import nvmath.bindings.cublas  # noqa: F401
    except ImportError as e:
        return f"nvmath-python is not importable ({e})"
    return None


def main() -> int:
    why = missing()
    if why is not None:
        print(f"nvmath check skipped: {why}")
        return 0
    import cupy
    from nvmath.bindings import cublas as nv

    from tensorcore.kernels.blas.cublas import Cublas, gemm_call

    m, k, n = 256, 128, 64
    rng = np.random.default_rng(0)
    a = cupy.asarray(rng.standard_normal((m, k), dtype=np.float32))
    w = cupy.asarray(rng.standard_normal((n, k), dtype=np.float32))
    b = w.T  # a transposed weight, as the layers pass it
    out = cupy.empty((m, n), dtype=np.float32)
    call = gemm_call(a.shape, a.strides, b.shape, b.strides, 4)
    alpha, beta = np.ones(1, np.float32), np.zeros(1, np.float32)  # host scalars
    stream = cupy.cuda.Stream(non_blocking=True)
    workspace_size = 32 << 20
    workspace = cupy.cuda.runtime.malloc(workspace_size)  # outside every pool
    handle = nv.create()
    nv.set_stream(handle, stream.ptr)
    nv.set_workspace(handle, workspace, workspace_size)

    def gemm():
        nv.sgemm(handle, call.op_first, call.op_second, call.m, call.n, call.k,
                 alpha.ctypes.data, b.data.ptr, call.ld_first, a.data.ptr, call.ld_second,
                 beta.ctypes.data, out.data.ptr, call.ldc)

    with stream:
        try:
            stream.begin_capture()
            gemm()
            graph = stream.end_capture()
        except Exception as e:  # the answer: it does not record
            print(f"nvmath sgemm in a CUDA graph: FAILED ({type(e).__name__}: {e})")
            return 1
        a[...] = cupy.asarray(rng.standard_normal((m, k), dtype=np.float32))
        graph.launch(stream)
        stream.synchronize()
        want = cupy.asnumpy(a) @ cupy.asnumpy(b)
        err = float(np.abs(cupy.asnumpy(out) - want).max() / np.abs(want).max())
        print(f"nvmath sgemm in a CUDA graph: recorded, replay max relative error {err:.1e} "
              f"({'OK' if err < 1e-5 else 'WRONG'})")

        a @ b  # CuPy loads libcublas, which tensorcore's Cublas then finds by path
        major = int(cupy.cuda.Device().compute_capability) // 10
        ours = Cublas.open(major, lambda size: (cupy.cuda.runtime.malloc(size), None))
        for name, run in (("nvmath.bindings.cublas.sgemm", gemm),
                          ("tensorcore Cublas.matmul (ctypes)",
                           lambda: ours.matmul(a, b, out, lambda x: x.data.ptr, stream.ptr))):
            for _ in range(100):
                run()
            stream.synchronize()
            start = time.perf_counter()
            for _ in range(2000):
                run()
            host = (time.perf_counter() - start) / 2000
            stream.synchronize()
            print(f"{name}: {host * 1e6:.1f} us of host time a call ({m}x{k} @ {k}x{n})")
    nv.destroy(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
