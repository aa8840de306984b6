"""``kernels/cupy/fused.py`` without CUDA: every activation has both snippets, the Python-side
checks name what is wrong, the snippets' math (compiled as C++) matches closed forms, and,
where CuPy and NVRTC are installed (no GPU needed; CI installs both), every kernel source
compiles for sm_90 and every kernel object builds in CuPy.
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


def _snippets():
    """activation -> its CUDA C (forward, gradient) snippets, from the activation table."""
    return {name: (e.c_forward, e.c_grad) for name, e in activations.TABLE.items()}


def test_every_activation_has_forward_and_backward_kernels():
    from tensorcore.kernels.activations_extra import EXTRA

    assert set(activations.names()) == set(ACTS) | {"silu"} | {e.name for e in EXTRA}
    for act, (fwd, bwd) in _snippets().items():
        assert fwd.startswith("y = ") and bwd.startswith("gz = ")
        for dtype, ctype in ((np.float32, "float"), (np.float64, "double")):
            src = cuda_cupy.forward_source(act, dtype, 1)
            assert f"bias_act_{act or 'identity'}_{ctype}_1(" in src and fwd in src
            assert ("((V*)Y)[i] = y_out.v;" in src) == (activations.TABLE[act].reads == "pre")
            src = cuda_cupy.backward_source(act, dtype)
            assert f"act_backward_{act or 'identity'}_{ctype}(" in src and bwd in src
            assert ("P[i]" in src) == (activations.TABLE[act].reads == "pre")
        assert f"typedef {ctype} T;" in cuda_cupy.softmax_ce_source(np.float64)


def test_kernel_checks_name_what_is_wrong():
    z = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        cuda_cupy.backward_source("swish", np.float32)
    with pytest.raises(TypeError, match="float16"):
        cuda_cupy.softmax_ce_source(np.float16)
    with pytest.raises(TypeError, match="z: expected float32 or float64, got int64"):
        cuda_cupy.check_bias_act(np.zeros((2, 2), np.int64), None, None)
    with pytest.raises(ValueError, match=r"bias: expected shape \(3,\), got \(4,\)"):
        cuda_cupy.check_bias_act(z, np.zeros(4, np.float32), "relu")
    with pytest.raises(ValueError, match="bias: expected a contiguous array"):
        cuda_cupy.check_bias_act(z, np.zeros(6, np.float32)[::2], "relu")
    with pytest.raises(TypeError, match="z=float32, b=float64"):
        cuda_cupy.check_bias_act(z, np.zeros(3), "relu")
    with pytest.raises(ValueError, match=r"out: expected shape \(4, 3\), got \(3, 4\)"):
        cuda_cupy.check_act_backward(z, z.T.copy(), None, "tanh")
    with pytest.raises(ValueError, match="out: expected a C-contiguous array"):
        cuda_cupy.check_act_backward(z[:, :2], np.zeros((8, 4), np.float32)[::2, :2], None,
                                     "tanh")
    with pytest.raises(ValueError, match="needs the pre-activation"):
        cuda_cupy.check_act_backward(z, z, None, "gelu")
    with pytest.raises(TypeError, match="target: expected integer class indices"):
        cuda_cupy.check_softmax_ce(z, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"target: expected shape \(4,\)"):
        cuda_cupy.check_softmax_ce(z, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="scale: expected 1 or 4 values"):
        cuda_cupy.check_scale(np.ones(2), 4)


@pytest.fixture(scope="module")
def snippets_as_cpp(tmp_path_factory):
    """The activation snippets compiled as C++ (``T`` = double) into a library, so their math
    is checked against NumPy on any machine with a C++ compiler."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    funcs = []
    for act, (fwd, bwd) in _snippets().items():
        name = act or "identity"
        funcs.append(f"""
extern "C" void fwd_{name}(const T* V, T* Y, long n) {{
    for (long i = 0; i < n; ++i) {{ const T v = V[i]; T y; {fwd} Y[i] = y; }} }}
extern "C" void bwd_{name}(const T* G, const T* Yv, const T* P, T* GZ, long n) {{
    for (long i = 0; i < n; ++i) {{
        const T g = G[i], y = Yv[i], p = P[i]; (void)p; T gz; {bwd} GZ[i] = gz; }} }}""")
    src = tmp_path_factory.mktemp("snippets") / "snippets.cpp"
    src.write_text("#include <cmath>\nusing namespace std;\ntypedef double T;\n" +
                   "".join(funcs))
    lib = src.with_suffix(".so")
    subprocess.run([cxx, "-O1", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True,
                   capture_output=True, timeout=120)
    return ctypes.CDLL(str(lib))


@pytest.mark.parametrize("activation", ACTS)
def test_snippets_compute_the_activation_and_its_gradient(snippets_as_cpp, activation):
    v = np.append(np.linspace(-6, 6, 101), np.nan)  # NaN propagates, as in PyTorch
    g = np.cos(np.nan_to_num(v))
    want_y, slope = act_and_slope(v, activation)
    y, gz = np.empty_like(v), np.empty_like(v)
    ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (v, y, g, gz)]
    name = activation or "identity"
    getattr(snippets_as_cpp, f"fwd_{name}")(ptr[0], ptr[1], ctypes.c_long(v.size))
    getattr(snippets_as_cpp, f"bwd_{name}")(ptr[2], ptr[1], ptr[0], ptr[3],
                                             ctypes.c_long(v.size))
    np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gz, g * slope, rtol=1e-12, atol=1e-15)


def _nvrtc():
    """CuPy's NVRTC binding when it and the NVRTC library load (no GPU needed), else skip."""
    try:
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
    except Exception as e:  # ImportError, or the NVRTC library missing
        pytest.skip(f"no CuPy NVRTC here ({type(e).__name__})")
    return nvrtc


def _compiles(nvrtc, source: str) -> str:
    """'' when ``source`` compiles for sm_90, else NVRTC's log."""
    prog = nvrtc.createProgram(source, "kernel.cu", [], [])
    try:
        nvrtc.compileProgram(prog, ["-arch=compute_90", "-std=c++17"])
        return ""
    except nvrtc.NVRTCError:
        return nvrtc.getProgramLog(prog)
    finally:
        nvrtc.destroyProgram(prog)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_sources_compile_for_sm90(dtype):
    nvrtc = _nvrtc()
    ctype = {np.float32: "float", np.float64: "double"}[dtype]
    sources = [cuda_cupy.softmax_ce_source(dtype)]
    sources += [cuda_cupy.backward_source(act, dtype) for act in ACTS]
    for width in (1, 16 // np.dtype(dtype).itemsize):
        sources += [cuda_cupy.forward_source(act, dtype, width) for act in ACTS]
        sources.append(cuda_cupy.axpy_source(dtype, width))
    sources.append(f"typedef {ctype} T;\n__device__ void f(const T* probs, const long long* "
                   f"target, const T* scale, long long c, long long per_row, T& grad, "
                   f"long long i) {{ {cuda_cupy.SOFTMAX_CE_BACKWARD_OPERATION} }}")
    assert "undefined" in _compiles(nvrtc, "__device__ void f(float& y) { y = nope(y); }")
    for src in sources:
        assert _compiles(nvrtc, src) == "", src


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_objects_build_in_cupy(dtype):
    """Where CuPy imports (no GPU needed): CuPy's parser accepts every ElementwiseKernel's
    parameters, and each RawKernel's name is a kernel its source defines (a wrong one would
    only fail at the first launch on a GPU, as "named symbol not found")."""
    pytest.importorskip("cupy")
    for act in ACTS:
        for width in (1, 16 // np.dtype(dtype).itemsize):
            forward = cuda_cupy._forward_kernel(activations.TABLE[act], dtype, width)
            assert f'extern "C" __global__ void {forward.name}(' in forward.code
        backward = cuda_cupy._backward_kernel(activations.TABLE[act], dtype)
        assert f'extern "C" __global__ void {backward.name}(' in backward.code
    for width in (1, 16 // np.dtype(dtype).itemsize):
        axpy = cuda_cupy._axpy_kernel(dtype, width)
        assert f'extern "C" __global__ void {axpy.name}(' in axpy.code
    softmax = cuda_cupy._softmax_kernel(dtype)
    assert f'extern "C" __global__ void {softmax.name}(' in softmax.code
    assert (cuda_cupy._softmax_backward_kernel().nin, cuda_cupy._softmax_backward_kernel().nout) \
        == (5, 1)


def test_a_name_registered_again_gets_kernels_of_its_own():
    """The CuPy kernels are cached per table entry: an activation removed and registered
    again under its name with other formulas compiles its new source (no GPU needed to build
    the kernel objects)."""
    pytest.importorskip("cupy")
    from tensorcore.kernels.activations import Activation

    def entry(c_forward):
        return Activation("twice", "out", lambda t: 2 * t, lambda xp, z: 2 * z,
                          lambda xp, g, out: 2 * g, lambda v: v + v, lambda g, s: g + g,
                          c_forward, "gz = g + g;")

    codes = []
    for c_forward in ("y = v + v;", "y = (T)2 * v;"):
        activations.register(entry(c_forward))
        try:
            codes.append(cuda_cupy._forward_kernel(activations.TABLE["twice"], np.float32,
                                                   1).code)
        finally:
            activations.unregister("twice")
    assert "y = v + v;" in codes[0] and "y = (T)2 * v;" in codes[1]


def test_register_refuses_a_cublaslt_epilogue_the_forward_does_not_run():
    """Only BIAS and RELU_BIAS run as one cuBLASLt call: any other epilogue name would give
    a layer without its activation, so the table refuses it."""
    from tensorcore.kernels.activations import Activation

    with pytest.raises(ValueError, match="cublaslt must be one of"):
        activations.register(Activation(
            "gelu_lt", "pre", lambda t: t, lambda xp, z: z, lambda xp, g, p: g,
            lambda v: v, lambda g, s: g, "y = v;", "gz = g;", cublaslt="GELU_BIAS"))
    assert "gelu_lt" not in activations.TABLE
