"""The CuPy backend for ``cuda``: what runs without a GPU, and the real-GPU checks.

Without a GPU: ``import tensorcore`` leaves CuPy alone, ``cuda`` says why it is unusable,
the backend's own logic runs on a "CuPy-on-NumPy" stand-in (its runtime swapped for NumPy),
the kernel-path switch dispatches by the table, and the CuPy kernels' snippets are checked
as C++ against NumPy. ``@pytest.mark.gpu`` tests compare the three kernel paths with each
other and NumPy on a real GPU, and skip cleanly here.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import math
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import backends
from tensorcore.autograd import gradcheck, gradgradcheck
from tensorcore.backends import cupy_backend, kernel_paths
from tensorcore.backends.cupy_backend import CupyBackend
from tensorcore.kernels import cuda_cupy

ON_GPU = tc.cuda.is_available()
ACTS = [None, "relu", "gelu", "sigmoid", "tanh"]
_erf = np.vectorize(math.erf)


def _run_python(code: str, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


# -- without a GPU -------------------------------------------------------------------------------
def test_import_and_cpu_work_never_import_cupy():
    code = """
        import sys

        class Block:
            tried = []
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("cupy", "cupyx"):
                    Block.tried.append(name)
                    raise ImportError("blocked")
        sys.meta_path.insert(0, Block())
        import tensorcore as tc
        import tensorcore.nn.functional as F
        x, w = tc.randn(4, 3, requires_grad=True), tc.randn(2, 3, requires_grad=True)
        F.cross_entropy(F.linear_act(x, w, None, "gelu"), tc.tensor([0, 1, 1, 0])).backward()
        print("tried:", Block.tried)
    """
    r = _run_python(code)
    assert r.returncode == 0, r.stderr
    assert "tried: []" in r.stdout


@pytest.mark.skipif(ON_GPU, reason="a usable GPU is present")
def test_cuda_unusable_here_names_cupy():
    reason = backends.cuda_unavailable_reason()
    assert tc.cuda.is_available() is False and tc.cuda.device_count() == 0
    assert "CuPy" in reason
    if importlib.util.find_spec("cupy") is None:
        assert "pip install 'tensorcore[cuda]'" in reason
    with pytest.raises(RuntimeError, match="CuPy") as exc:
        tc.zeros(2, device="cuda")
    assert reason in str(exc.value)
    for needs_gpu in (tc.cuda.memory_allocated, tc.cuda.current_device, tc.cuda.synchronize):
        with pytest.raises(RuntimeError, match="CuPy"):
            needs_gpu()
    with pytest.raises(RuntimeError, match="CuPy"):
        tc.cuda.graphs.capture(lambda: None)
    tc.cuda.empty_cache()  # a no-op without a GPU, as in PyTorch


def test_reasons_for_cupy_without_gpu_and_forced_cpu(monkeypatch):
    fake = type(sys)("cupy")
    fake.is_available = lambda: False
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert "cupy.is_available() is False" in backends.cuda_unavailable_reason()
    assert tc.cuda.is_available() is False
    monkeypatch.setenv("TENSORCORE_DEVICE", "cpu")
    assert "TENSORCORE_DEVICE=cpu" in backends.cuda_unavailable_reason()


def test_cuda_array_interface_absent_on_cpu():
    t = tc.ones(2)
    assert not hasattr(t, "__cuda_array_interface__")
    with pytest.raises(AttributeError, match="non-CUDA"):
        t.__cuda_array_interface__  # noqa: B018


# -- the stand-in: CupyBackend's logic with NumPy as its array module --------------------------
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

    def stream_ptr(self):
        return 0

    def on_device(self, a):
        return True


class StandInCupy(CupyBackend):
    runtime_class = NumpyRuntime
    fused_paths = ()  # "unfused" only: the numba and cupy kernels need a GPU


class RecordingCupy(StandInCupy):
    """Claims the fused paths, runs the unfused code for each, and records which was asked."""

    fused_paths = ("numba", "cupy")

    def __init__(self, device) -> None:
        super().__init__(device)
        self.ran: list[tuple[str, str]] = []


def _recorded(entry: str, path: str):
    def run(self, *args):
        self.ran.append((entry, path))
        return getattr(self, f"_{entry}_unfused")(*args)
    return run


for _entry in ("linear_act", "act_backward", "softmax_ce", "softmax_ce_backward"):
    for _path in ("numba", "cupy"):
        setattr(RecordingCupy, f"_{_entry}_{_path}", _recorded(_entry, _path))


@pytest.fixture(params=[StandInCupy, RecordingCupy], ids=["unfused", "recording"])
def stand_in(request, monkeypatch):
    monkeypatch.setitem(backends._IMPLEMENTATIONS, "cuda", {"cupy": request.param})
    monkeypatch.setitem(backends._chosen, "cuda", "cupy")
    monkeypatch.setattr(cupy_backend, "_numba_ready", lambda: True)
    yield request.param
    for key in [k for k in backends._instances if k[0].type == "cuda"]:
        del backends._instances[key]


def test_stand_in_ops_and_transfers(stand_in):
    a = np.arange(12.0).reshape(3, 4)
    t = tc.tensor(a, device="cuda")
    assert t.is_cuda and t.device == tc.device("cuda") and t.backend_name == "cupy"
    assert isinstance(backends.get_backend("cuda"), stand_in)
    np.testing.assert_allclose(((t * 2 + 1) @ t.T).cpu().numpy(), (a * 2 + 1) @ a.T)
    np.testing.assert_allclose(t.sum(1).tolist(), a.sum(1))
    np.testing.assert_allclose(t.softmax(1).cpu().numpy().sum(1), np.ones(3))
    assert t[1:, ::2].cpu().tolist() == a[1:, ::2].tolist()
    back = tc.tensor(a).cuda().cpu()
    assert back.device == tc.device("cpu") and back.tolist() == a.tolist()
    assert tc.ones(2).to("cuda:0").device == tc.device("cuda:0")
    with pytest.raises(TypeError, match="can't convert cuda device type tensor to numpy. Use "
                       r"Tensor.cpu\(\) to copy the tensor to host memory first."):
        t.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        tc.ones(2, device="cuda", requires_grad=True).__cuda_array_interface__  # noqa: B018


def test_stand_in_gather_backward_uses_scatter_add(stand_in):
    x = tc.zeros(4, device="cuda", requires_grad=True)
    x[tc.tensor([0, 2, 0, 0], device="cuda")].sum().backward()
    assert x.grad.device.type == "cuda" and x.grad.tolist() == [3.0, 0.0, 1.0, 0.0]


def test_stand_in_random_numbers_match_the_cpu(stand_in):
    tc.manual_seed(5)
    on_cpu = [tc.rand(4), tc.randn(3), tc.randint(0, 9, (5,)), tc.randperm(6)]
    tc.manual_seed(5)
    on_gpu = [tc.rand(4, device="cuda"), tc.randn(3, device="cuda"),
              tc.randint(0, 9, (5,), device="cuda"), tc.randperm(6, device="cuda")]
    for c, g in zip(on_cpu, on_gpu):
        assert g.is_cuda and g.dtype == c.dtype and g.tolist() == c.tolist()


@pytest.mark.parametrize("activation", ACTS)
def test_stand_in_fused_layer_and_loss_gradcheck(stand_in, activation):
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s) + (0.5 if activation == "relu" else 0)
               for s in ((5, 3), (4, 3), (4,)))
    args = [tc.tensor(v, device="cuda", requires_grad=True) for v in (x, w, b)]
    target = tc.tensor([0, 3, 1, 1, 2], device="cuda")
    got = F.linear_act(*args, activation)
    z = x @ w.T + b
    want = {"relu": np.maximum(z, 0), "tanh": np.tanh(z), "sigmoid": 1 / (1 + np.exp(-z)),
            "gelu": 0.5 * z * (1 + _erf(z / math.sqrt(2))), None: z}[activation]
    np.testing.assert_allclose(got.detach().cpu().numpy(), want, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *a: F.cross_entropy(F.linear_act(*a, activation), target), args)


def test_stand_in_sgd_update_axpy(stand_in):
    p = tc.ones(70000, device="cuda")
    p.add_(tc.full((70000,), 2.0, device="cuda"), alpha=-0.5)
    assert p.cpu().numpy().min() == p.cpu().numpy().max() == 0.0


def test_graph_replay_checks_its_static_inputs():
    static = [tc.zeros(2, 3), tc.zeros(4, dtype=tc.int64)]
    tc.cuda.graphs.check_static_inputs(static, (tc.ones(2, 3), tc.ones(4, dtype=tc.int64)))
    with pytest.raises(TypeError, match="takes the 2 input"):
        tc.cuda.graphs.check_static_inputs(static, (tc.ones(2, 3),))
    with pytest.raises(TypeError, match="input 1 must be a Tensor"):
        tc.cuda.graphs.check_static_inputs(static, (tc.ones(2, 3), [1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"input 0 has shape \(3, 2\).*static shapes"):
        tc.cuda.graphs.check_static_inputs(static, (tc.ones(3, 2), tc.ones(4, dtype=tc.int64)))
    with pytest.raises(ValueError, match="input 1 .* dtype tensorcore.float32"):
        tc.cuda.graphs.check_static_inputs(static, (tc.ones(2, 3), tc.ones(4)))


# -- the kernel-path switch ----------------------------------------------------------------------
def test_auto_picks_by_the_table():
    assert kernel_paths.get_kernels() == "auto"
    for op, limit in kernel_paths.AUTO_THRESHOLDS.items():
        assert kernel_paths.resolve(op, limit) == "numba"
        assert kernel_paths.resolve(op, limit + 1) == "cupy"
    assert set(kernel_paths.AUTO_THRESHOLDS) == set(kernel_paths.WORK)


def test_use_kernels_forces_each_path_and_restores():
    for path in ("numba", "cupy", "unfused"):
        with tc.backends.use_kernels(path):
            assert tc.backends.get_kernels() == path
            assert {kernel_paths.resolve(op, 1) for op in kernel_paths.AUTO_THRESHOLDS} == {path}
        assert tc.backends.get_kernels() == "auto"
    with pytest.raises(KeyError), tc.backends.use_kernels("cupy"):
        raise KeyError
    assert tc.backends.get_kernels() == "auto"
    with pytest.raises(ValueError, match="unknown kernel path 'fast'"):
        tc.backends.set_kernels("fast")


def test_environment_forces_a_path_and_rejects_unknown_ones():
    code = "import tensorcore as tc; print(tc.backends.get_kernels())"
    assert _run_python(code, TENSORCORE_KERNELS="unfused").stdout.strip() == "unfused"
    r = _run_python(code, TENSORCORE_KERNELS="bogus")
    assert r.returncode != 0 and "TENSORCORE_KERNELS" in r.stderr and "bogus" in r.stderr


def _layer_step(m, n, k, dtype=np.float64):
    x = tc.randn(m, k, device="cuda", dtype=tc.float64).to(dtype=dtype)
    w = tc.randn(n, k, device="cuda", dtype=tc.float64).to(dtype=dtype).requires_grad_()
    b = tc.zeros(n, device="cuda", dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(F.linear_act(x, w, b, "relu"), tc.zeros(m, dtype=tc.int64,
                                                                 device="cuda"))
    loss.backward()


def test_dispatch_follows_the_switch(monkeypatch):
    monkeypatch.setitem(backends._IMPLEMENTATIONS, "cuda", {"cupy": RecordingCupy})
    monkeypatch.setitem(backends._chosen, "cuda", "cupy")
    monkeypatch.setattr(cupy_backend, "_numba_ready", lambda: True)
    try:
        be = backends.get_backend("cuda")
        _layer_step(8, 4, 3)                     # small: the single-launch Numba kernels
        assert set(be.ran) == {(e, "numba") for e in ("linear_act", "act_backward",
                                                      "softmax_ce", "softmax_ce_backward")}
        be.ran.clear()
        _layer_step(300, 300, 300)               # M*N*K and M*N above the table's limits
        assert set(be.ran) == {(e, "cupy") for e in ("linear_act", "act_backward",
                                                     "softmax_ce", "softmax_ce_backward")}
        for path in ("numba", "cupy", "unfused"):
            be.ran.clear()
            be.kernel_calls.clear()
            with tc.backends.use_kernels(path):
                _layer_step(8, 4, 3)
            assert {p for _, p in be.kernel_calls} == {path}
            assert {p for _, p in be.ran} == ({path} if path != "unfused" else set())
        be.ran.clear()
        with tc.backends.use_kernels("cupy"):
            _layer_step(8, 4, 3, dtype=np.float16)  # no fused kernel for float16
        assert be.ran == [] and {p for _, p in be.kernel_calls} >= {"unfused"}
        monkeypatch.setattr(cupy_backend, "_numba_ready", lambda: False)
        assert be.kernel_path("linear_act", 1, np.float32) == "cupy"  # auto falls back
    finally:
        for key in [k for k in backends._instances if k[0].type == "cuda"]:
            del backends._instances[key]


def test_forced_numba_path_says_why_it_is_unusable(monkeypatch):
    def broken(name):
        raise ImportError(f"no module {name}")

    monkeypatch.setattr(cupy_backend, "_kernels", broken)
    monkeypatch.setattr(cupy_backend, "_numba_state", {})
    with pytest.raises(RuntimeError, match="'numba' GPU kernel path is unusable.*cuda_fused"):
        cupy_backend._numba_kernels()
    assert cupy_backend._numba_ready() is False


# -- kernels/cuda_cupy.py without CUDA -----------------------------------------------------------
def test_every_activation_has_forward_and_backward_kernels():
    assert set(cuda_cupy.ACTIVATIONS) == set(ACTS)
    for act, (fwd, bwd) in cuda_cupy.ACTIVATIONS.items():
        assert fwd.startswith("y = ") and bwd.startswith("gz = ")
        op = cuda_cupy.forward_operation(act)
        assert op.startswith("T v = z + b;") and ("y = " in op) == (act == "gelu")
        for dtype, ctype in ((np.float32, "float"), (np.float64, "double")):
            src = cuda_cupy.backward_source(act, dtype)
            assert f"act_backward_{act or 'identity'}_{ctype}(" in src and bwd in src
            assert ("P[i]" in src) == (act in cuda_cupy.NEEDS_PRE)
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
    for act, (fwd, bwd) in cuda_cupy.ACTIVATIONS.items():
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
    v = np.linspace(-6, 6, 101)
    g = np.cos(v)
    ref = backends.get_backend("cpu", "numpy")
    want_y, _ = ref.bias_act(v[None].copy(), None, activation)
    want_gz, _ = ref.act_backward(g[None], want_y, v[None], activation, False)
    y, gz = np.empty_like(v), np.empty_like(v)
    ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (v, y, g, gz)]
    name = activation or "identity"
    getattr(snippets_as_cpp, f"fwd_{name}")(ptr[0], ptr[1], ctypes.c_long(v.size))
    getattr(snippets_as_cpp, f"bwd_{name}")(ptr[2], ptr[1], ptr[0], ptr[3],
                                             ctypes.c_long(v.size))
    np.testing.assert_allclose(y, want_y[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gz, want_gz[0], rtol=1e-12, atol=1e-15)


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
    for act in ACTS:  # the ElementwiseKernel bodies, in a function shaped like CuPy's
        outs = "T& z, T& y" if act in cuda_cupy.NEEDS_PRE else "T& z"
        sources.append(f"typedef {ctype} T;\n__device__ void f(const T b, {outs}) "
                       f"{{ {cuda_cupy.forward_operation(act)} }}")
    sources.append(f"typedef {ctype} T;\n__device__ void f(const T* probs, const long long* "
                   f"target, const T* scale, long long c, long long per_row, T& grad, "
                   f"long long i) {{ {cuda_cupy.SOFTMAX_CE_BACKWARD_OPERATION} }}")
    assert "undefined" in _compiles(nvrtc, "__device__ void f(float& y) { y = nope(y); }")
    for src in sources:
        assert _compiles(nvrtc, src) == "", src


# -- on a real GPU -------------------------------------------------------------------------------
PATHS = ["numba", "cupy", "unfused"]
SHAPES = [(1, 1, 1), (37, 53, 29), (130, 96, 70), (513, 33, 257)]


def _numpy_layer(x, w, b, activation, g):
    z = x @ w.T + b
    y = {"relu": np.maximum(z, 0), "tanh": np.tanh(z), "sigmoid": 1 / (1 + np.exp(-z)),
         "gelu": 0.5 * z * (1 + _erf(z / math.sqrt(2))), None: z}[activation]
    d = {"relu": (z > 0) * 1.0, "tanh": 1 - y * y, "sigmoid": y * (1 - y), None: 1.0,
         "gelu": 0.5 * (1 + _erf(z / math.sqrt(2))) + z * np.exp(-z * z / 2) /
         math.sqrt(2 * math.pi)}[activation]
    gz = g * d
    return y, gz @ w, gz.T @ x, gz.sum(0)


@pytest.mark.gpu
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_gpu_paths_match_numpy(path, shape, activation, dtype, tol):
    m, n, k = shape
    rng = np.random.default_rng(m * n + k)
    x, w, b, g = (rng.standard_normal(s) for s in ((m, k), (n, k), (n,), (m, n)))
    ts = [tc.tensor(a.astype(dtype), device="cuda", requires_grad=True) for a in (x, w, b)]
    be = backends.get_backend("cuda")
    be.kernel_calls.clear()
    with tc.backends.use_kernels(path):
        y = F.linear_act(*ts, activation)
        y.backward(tc.tensor(g.astype(dtype), device="cuda"))
    assert set(be.kernel_calls) == {("linear_act", path), ("act_backward", path)}
    got = [y.detach()] + [t.grad for t in ts]
    scale = math.sqrt(k)
    for a, want in zip(got, _numpy_layer(x, w, b, activation, g)):
        np.testing.assert_allclose(a.cpu().numpy(), want, rtol=tol * scale, atol=tol * scale)


@pytest.mark.gpu
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n,c", [(1, 1), (7, 10), (300, 1000)])
def test_gpu_softmax_ce_paths_match_numpy(path, n, c):
    rng = np.random.default_rng(n + c)
    z, t = rng.standard_normal((n, c)) * 3, rng.integers(0, c, n)
    logits = tc.tensor(z, device="cuda", requires_grad=True)
    with tc.backends.use_kernels(path):
        loss = F.cross_entropy(logits, tc.tensor(t, device="cuda"))
        loss.backward()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(loss.item(), -np.log(p[np.arange(n), t]).mean(), rtol=1e-10)
    p[np.arange(n), t] -= 1
    np.testing.assert_allclose(logits.grad.cpu().numpy(), p / n, rtol=1e-9, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("activation", ["gelu", "tanh", "sigmoid"])
def test_gpu_fused_ops_are_twice_differentiable(path, activation):
    rng = np.random.default_rng(0)
    args = [tc.tensor(rng.standard_normal(s), device="cuda", requires_grad=True)
            for s in ((5, 3), (4, 3), (4,))]
    target = tc.tensor([0, 3, 1, 1, 2], device="cuda")
    with tc.backends.use_kernels(path):
        assert gradgradcheck(lambda *a: F.cross_entropy(F.linear_act(*a, activation), target,
                                                        reduction="sum"), args)


@pytest.mark.gpu
def test_gpu_interop_memory_and_graphs():
    import cupy

    t = tc.arange(6.0, device="cuda")
    assert t.__cuda_array_interface__["shape"] == (6,)
    assert cupy.asarray(t).tolist() == list(range(6))            # through the interface
    assert tc.from_dlpack(cupy.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    assert tc.cuda.memory_allocated() > 0 and tc.cuda.device_count() >= 1
    assert isinstance(tc.cuda.get_device_name(), str)
    w = tc.randn(8, 4, device="cuda", requires_grad=True)

    def step(x):
        w.grad = None
        loss = F.linear_act(x, w, None, "tanh").square().sum()
        loss.backward()
        with tc.no_grad():
            w.sub_(0.01 * w.grad)
        return loss

    with tc.backends.use_kernels("cupy"):
        graph = tc.cuda.graphs.capture(step, tc.ones(16, 4, device="cuda"), warmup=1)
        x = tc.randn(16, 4, device="cuda")
        before = w.detach().clone()
        loss = graph.replay(x)
        want = F.linear_act(x, before, None, "tanh").square().sum()
    tc.cuda.synchronize()
    assert abs(loss.item() - want.item()) < 1e-4 * abs(want.item())
    with pytest.raises(ValueError, match="static shapes"):
        graph.replay(tc.ones(3, 4, device="cuda"))
