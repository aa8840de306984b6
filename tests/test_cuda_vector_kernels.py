"""The vector-load elementwise kernels of ``kernels/cupy/fused.py`` (the layer forward's
``act(z + b)`` and ``axpy``) without a GPU: their CUDA C sources are compiled as C++ with
``blockIdx`` / ``threadIdx`` as globals, and every thread of the launch that the entry points
compute (``forward_launch``, ``axpy_launch``) runs one after another (the kernels have no
``__syncthreads``), against NumPy: row tails, vectors of 1, grid-stride loops and the
elements left after the last whole vector.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from test_cuda_backend import ACTS, act_and_slope

from tensorcore.kernels import activations
from tensorcore.kernels.cupy import fused as cuda_cupy

DTYPES = {np.float32: "float", np.float64: "double"}
PRELUDE = r"""
#include <cmath>
using namespace std;
struct Dim3 { unsigned x = 0, y = 0, z = 0; };
static Dim3 blockIdx, threadIdx, blockDim, gridDim;
struct float4 { float x, y, z, w; };
struct double2 { double x, y; };
#define __global__
#define __restrict__
#define LAUNCH(gx, gy, bx, by, call)                                                  \
    gridDim.x = gx; gridDim.y = gy; blockDim.x = bx; blockDim.y = by;                \
    for (blockIdx.y = 0; blockIdx.y < gy; ++blockIdx.y)                              \
    for (blockIdx.x = 0; blockIdx.x < gx; ++blockIdx.x)                              \
    for (threadIdx.y = 0; threadIdx.y < by; ++threadIdx.y)                           \
    for (threadIdx.x = 0; threadIdx.x < bx; ++threadIdx.x) { call; }
"""


def widths(dtype) -> tuple[int, int]:
    return 1, 16 // np.dtype(dtype).itemsize


def _forward_runner(act, dtype, width) -> str:
    name = f"bias_act_{act or 'identity'}_{DTYPES[dtype]}_{width}"
    return f"""
namespace k_{name} {{ {cuda_cupy.forward_source(act, dtype, width)} }}
extern "C" void run_{name}(unsigned gx, unsigned gy, unsigned bx, unsigned by, void* z,
                           void* b, void* y, long long m, int n_vec, int has_bias) {{
    typedef k_{name}::T T;
    LAUNCH(gx, gy, bx, by, k_{name}::{name}((T*)z, (const T*)b, (T*)y, m, n_vec, has_bias))
}}"""


def _axpy_runner(dtype, width) -> str:
    name = f"axpy_{DTYPES[dtype]}_{width}"
    return f"""
namespace k_{name} {{ {cuda_cupy.axpy_source(dtype, width)} }}
extern "C" void run_{name}(unsigned gx, unsigned bx, void* x, void* y, double alpha,
                           long long n_vec, long long n) {{
    typedef k_{name}::T T;
    LAUNCH(gx, 1, bx, 1, k_{name}::{name}((T*)x, (const T*)y, (T)alpha, n_vec, n))
}}"""


@pytest.fixture(scope="module")
def kernels_as_cpp(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    parts = [PRELUDE]
    for dtype in DTYPES:
        for width in widths(dtype):
            parts += [_forward_runner(act, dtype, width) for act in ACTS]
            parts.append(_axpy_runner(dtype, width))
    src = tmp_path_factory.mktemp("vector_kernels") / "kernels.cpp"
    src.write_text("\n".join(parts))
    lib = src.with_suffix(".so")
    subprocess.run([cxx, "-O1", "-fno-strict-aliasing", "-Wno-unknown-pragmas", "-shared",
                    "-fPIC", str(src), "-o", str(lib)], check=True, capture_output=True,
                   timeout=300)
    return ctypes.CDLL(str(lib))


def _ptr(a: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.ctypes.data)


def run_forward(lib, z, b, act, width):
    """The forward on host copies, with the launch ``bias_act_forward`` makes: ``(out, z)``."""
    m, n = z.shape
    n_vec = n // width
    (gx, gy), (bx, by) = cuda_cupy.forward_launch(m, n_vec)
    out = np.full_like(z, np.nan)
    name = f"run_bias_act_{act or 'identity'}_{DTYPES[z.dtype.type]}_{width}"
    getattr(lib, name)(gx, gy, bx, by, _ptr(z), _ptr(z if b is None else b), _ptr(out),
                       ctypes.c_longlong(m), n_vec, int(b is not None))
    return out, z


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", [(1, 4), (3, 5), (7, 8), (33, 12), (9, 264)])
def test_the_forward_computes_act_of_z_plus_b(kernels_as_cpp, dtype, act, shape):
    rng = np.random.default_rng(sum(shape))
    z0 = (3 * rng.standard_normal(shape)).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    want, _ = act_and_slope((z0 + b).astype(np.float64), act)
    for width in widths(dtype):
        if shape[1] % width:
            continue
        out, z = run_forward(kernels_as_cpp, z0.copy(), b, act, width)
        got = out if activations.TABLE[act].reads == "pre" else z
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"width {width}")
        if activations.TABLE[act].reads == "pre":  # z keeps the pre-activation
            np.testing.assert_allclose(z, z0 + b, rtol=1e-6)


@pytest.mark.parametrize("width", [1, 4])
def test_the_forward_without_bias_and_past_the_grid_height(kernels_as_cpp, width,
                                                           monkeypatch):
    monkeypatch.setattr(cuda_cupy, "_MAX_GRID_Y", 2)  # rows loop over the grid's y
    z0 = np.linspace(-3, 3, 37 * 8, dtype=np.float32).reshape(37, 8)
    assert cuda_cupy.forward_launch(37, 8 // width)[0][1] == 2
    _, z = run_forward(kernels_as_cpp, z0.copy(), None, "relu", width)
    np.testing.assert_array_equal(z, np.maximum(z0, 0))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("n", [1, 3, 4, 5, 1023, 4099])
@pytest.mark.parametrize("max_blocks", [1, 4096])  # 1: a grid-stride loop
def test_axpy_adds_alpha_y_to_every_element(kernels_as_cpp, dtype, n, max_blocks):
    rng = np.random.default_rng(n)
    x0, y = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    for width in widths(dtype):
        x = x0.copy()
        n_vec = n // width
        (gx,), (bx,) = cuda_cupy.axpy_launch(n_vec, max_blocks)
        getattr(kernels_as_cpp, f"run_axpy_{DTYPES[dtype]}_{width}")(
            gx, bx, _ptr(x), _ptr(y), ctypes.c_double(-0.25), ctypes.c_longlong(n_vec),
            ctypes.c_longlong(n))
        np.testing.assert_allclose(x, x0 - np.asarray(0.25, dtype) * y, rtol=1e-6,
                                   err_msg=f"width {width}")


def test_vectors_only_where_rows_and_pointers_allow():
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    assert cuda_cupy.vector_width(f32, 2048, 256, 512) == 4
    assert cuda_cupy.vector_width(f64, 2048, 256) == 2
    assert cuda_cupy.vector_width(f32, 10, 256) == 1       # a row of 10 floats
    assert cuda_cupy.vector_width(f32, 2048, 256, 260) == 1  # one pointer off 16 bytes
    assert cuda_cupy.forward_launch(1024, 512) == ((2, 1024), (256, 1))
    assert cuda_cupy.forward_launch(5, 3) == ((1, 1), (32, 8))
    assert cuda_cupy.axpy_launch(0) == ((1,), (256,))  # the tail still gets a thread
    assert cuda_cupy.axpy_launch(10 ** 8) == ((4096,), (256,))
