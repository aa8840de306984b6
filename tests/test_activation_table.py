"""The activation table (``tensorcore.kernels.activations``) is the one place an activation is
declared: a made-up one ("cube", registered by a fixture and removed after) and SiLU run
through ``F.linear_act`` on every backend here (the reference formulas, the Numba CPU kernels,
the stand-in GPU), through the CPU kernels directly, and as CUDA C (checked as C++ against
NumPy, and compiled by NVRTC where CuPy has it)."""
# ruff: noqa: F811 (pytest fixtures imported from made_up_activation, used as arguments)

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from helpers import to_numpy
from made_up_activation import CUBE, activation, cube  # noqa: F401 (fixtures)

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.autograd import gradcheck
from tensorcore.kernels import activations
from tensorcore.ops.linalg import unfused_linear_act


def _reference(name):
    """(forward, derivative) of an activation in NumPy float64."""
    if name == "cube":
        return (lambda z: z ** 3), (lambda z: 3 * z * z)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    return (lambda z: z * sig(z)), (lambda z: sig(z) * (1 + z * (1 - sig(z))))


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _t(a, device, grad=False):
    return tc.tensor(a, dtype=tc.float64, device=device, requires_grad=grad)


def test_linear_act_matches_the_unfused_ops_and_the_formula(device, activation):
    x, w, b, g = _rand(0, 7, 5), _rand(1, 4, 5), _rand(2, 4), _rand(3, 7, 4)
    fwd, slope = _reference(activation)
    xs, ws, bs = (_t(a, device, grad=True) for a in (x, w, b))
    y = F.linear_act(xs, ws, bs, activation)
    assert y.grad_fn.name() == "LinearActBackward0"
    y.backward(_t(g, device))
    z = x @ w.T + b
    np.testing.assert_allclose(to_numpy(y), fwd(z), rtol=1e-12, atol=1e-14)
    gz = g * slope(z)
    for got, want in ((xs.grad, gz @ w), (ws.grad, gz.T @ x), (bs.grad, gz.sum(0))):
        np.testing.assert_allclose(to_numpy(got), want, rtol=1e-10, atol=1e-12)
    # the unfused ops (the create_graph path) agree
    xu, wu, bu = (_t(a, device, grad=True) for a in (x, w, b))
    yu = unfused_linear_act(xu, wu, bu, activation)
    yu.backward(_t(g, device))
    np.testing.assert_allclose(to_numpy(yu), to_numpy(y), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(wu.grad), to_numpy(ws.grad), rtol=1e-10, atol=1e-12)


def test_linear_act_gradcheck(device, activation):
    x, w, b = (_t(_rand(s, *shape), device, grad=True)
               for s, shape in ((4, (3, 5)), (5, (2, 5)), (6, (2,))))
    assert gradcheck(lambda x, w, b: F.linear_act(x, w, b, activation), (x, w, b))


def test_silu_module_and_its_fusion(device):
    assert repr(nn.SiLU(inplace=True)) == "SiLU(inplace=True)"
    x = _rand(7, 4, 5)
    np.testing.assert_allclose(to_numpy(nn.SiLU()(_t(x, device))), x / (1 + np.exp(-x)),
                               rtol=1e-12)
    tc.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 3), nn.SiLU()).to(device).double()
    fused = model(_t(x, device))
    assert fused.grad_fn.name() == "LinearActBackward0"
    plain = F.silu(model[0](_t(x, device)))
    np.testing.assert_allclose(to_numpy(fused), to_numpy(plain), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_cpu_kernels_run_a_registered_activation(activation, dtype):
    fused = pytest.importorskip("tensorcore.kernels.cpu.fused")
    fwd, slope = _reference(activation)
    z, b, g = (_rand(s, *shape).astype(dtype) for s, shape in ((8, (33, 9)), (9, (9,)),
                                                                (10, (33, 9))))
    want = z.astype(np.float64) + b.astype(np.float64)
    out, pre = fused.bias_act_forward(z.copy(), b, activation)
    assert pre is not None  # cube and silu read the pre-activation
    tol = {np.float16: 2e-2, np.float32: 1e-5, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(out.astype(np.float64), fwd(want), rtol=tol, atol=tol)
    gz, gb = fused.act_backward(g, out, pre, activation, True)
    ref = g.astype(np.float64) * slope(pre.astype(np.float64))
    np.testing.assert_allclose(gz.astype(np.float64), ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(gb.astype(np.float64), ref.sum(0), rtol=tol * 10,
                               atol=tol * 10)


def test_c_snippets_compute_the_activation_and_its_gradient(cube, tmp_path):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    funcs = []
    for name in ("cube", "silu"):
        e = activations.TABLE[name]
        funcs.append(f"""
extern "C" void fwd_{name}(const T* V, T* Y, long n) {{
    for (long i = 0; i < n; ++i) {{ const T v = V[i]; T y; {e.c_forward} Y[i] = y; }} }}
extern "C" void bwd_{name}(const T* G, const T* Yv, const T* P, T* GZ, long n) {{
    for (long i = 0; i < n; ++i) {{
        const T g = G[i], y = Yv[i], p = P[i]; (void)y; T gz; {e.c_grad} GZ[i] = gz; }} }}""")
    src = tmp_path / "snippets.cpp"
    src.write_text("#include <cmath>\nusing namespace std;\ntypedef double T;\n" +
                   "".join(funcs))
    lib = src.with_suffix(".so")
    subprocess.run([cxx, "-O1", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True,
                   capture_output=True, timeout=120)
    so = ctypes.CDLL(str(lib))
    v = np.linspace(-6, 6, 101)
    g = np.cos(v)
    for name in ("cube", "silu"):
        fwd, slope = _reference(name)
        y, gz = np.empty_like(v), np.empty_like(v)
        ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (v, y, g, gz)]
        so[f"fwd_{name}"](ptr[0], ptr[1], ctypes.c_long(v.size))
        so[f"bwd_{name}"](ptr[2], ptr[1], ptr[0], ptr[3], ctypes.c_long(v.size))
        np.testing.assert_allclose(y, fwd(v), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gz, g * slope(v), rtol=1e-12, atol=1e-15)


def test_cupy_sources_compile_with_nvrtc(activation):
    from test_cuda_kernels import _compiles, _nvrtc

    from tensorcore.kernels.cupy import fused as cuda_cupy

    nvrtc = _nvrtc()
    for dtype in (np.float32, np.float64):
        for source in (cuda_cupy.forward_source(activation, dtype, 1),
                       cuda_cupy.forward_source(activation, dtype, 16 // np.dtype(dtype).itemsize),
                       cuda_cupy.backward_source(activation, dtype)):
            assert _compiles(nvrtc, source) == ""


def test_registering_twice_or_an_unknown_name_fails(cube):
    with pytest.raises(ValueError, match="already registered"):
        activations.register(CUBE)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        F.linear_act(tc.ones(2, 2), tc.ones(2, 2), None, "swish")


SCRIPT_REGISTERING = '''
CELL = """
import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.kernels import activations
from tensorcore.kernels.activations import Activation, typed

def square(v):
    return v * v

def square_grad(g, s):
    return g * (typed(s, 2.0) * s)

activations.register(Activation("square", "pre", lambda t: t * t, lambda xp, z: z * z,
                                lambda xp, g, pre: g * 2 * pre, square, square_grad,
                                "y = v * v;", "gz = g * (T)2 * p;"))
with tc.backends.use_backend("numba"):
    x = tc.ones(4, 3, dtype=tc.float32)
    w = tc.ones(2, 3, dtype=tc.float32, requires_grad=True)
    F.linear_act(x, w, None, "square").sum().backward()
print(w.grad.numpy().tolist())
"""
exec(compile(CELL, "<cell>", "exec"), {"__name__": "<cell>"})  # as a notebook cell's code
'''


def test_an_activation_registered_from_a_cell_runs_in_every_later_process(tmp_path):
    """Numba's disk cache cannot find the functions of code run from a string (a notebook
    cell, exec) again: the kernels of an activation registered there are compiled, not
    cached, so a second process runs it as the first did."""
    import os
    import sys

    script = tmp_path / "register_square.py"
    script.write_text(SCRIPT_REGISTERING)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str([[24.0] * 3] * 2)  # 4 rows * 2 * (x . w = 3) * x


@pytest.mark.slow
def test_numba_cuda_kernels_compile_for_sm90(activation):
    """The Numba-CUDA kernels of a table entry (the made-up one registered by the fixture
    alone, and SiLU) are variants of their own and compile to sm_90 PTX without a GPU: the
    formula inlined (no call left), float32 computing in float32."""
    from test_cuda_ptx import _nvvm_or_skip

    _nvvm_or_skip()
    from numba import cuda

    from tensorcore.kernels.numba_cuda.fused import kernel_specs

    compiled = []
    for name, key, python_kernel, signature in kernel_specs():
        if len(key) < 2 or key[1].name != activation:
            continue
        ptx, _ = cuda.compile_ptx(python_kernel, signature, cc=(9, 0))
        assert ".target sm_90" in ptx and "call" not in ptx, (name, key[0])
        if key[0] == np.float32:
            assert ".f64" not in ptx, (name, key[0])
        compiled.append((name, key[0]))
    assert sorted(compiled) == sorted((name, np.dtype(dtype)) for dtype in (np.float32, np.float64)
                                      for name in ("act_backward", "gemm_act", "linear_backward"))
