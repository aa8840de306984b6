"""The CuPy backend for ``cuda``: what runs without a GPU, and the real-GPU checks.

Without a GPU: ``import tensorcore`` leaves CuPy alone, ``cuda`` says why it is unusable,
the backend's own logic runs on a "CuPy-on-NumPy" stand-in (its runtime swapped for NumPy),
and the kernel-path switch dispatches by the table. ``test_cuda_kernels.py`` checks the CuPy
kernel sources, ``test_cuda_gpu.py`` the three kernel paths on a real GPU.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from helpers import forget_cuda_backends, serve_cuda_with
from standin_cuda import FUSED_ENTRIES, ClaimingCupy, StandInCupy  # noqa: E402  (tests/ is on sys.path)

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import backends
from tensorcore.autograd import gradcheck
from tensorcore.backends import contract, kernel_paths
from tensorcore.backends.cuda import probes

ON_GPU = tc.cuda.is_available()
ACTS = [None, "relu", "gelu", "sigmoid", "tanh", "silu"]
_erf = np.vectorize(math.erf)


def act_and_slope(z: np.ndarray, activation):
    """Closed forms: the activation of ``z`` and its derivative (float64 NumPy)."""
    if activation == "gelu":
        cdf = 0.5 * (1 + _erf(z / math.sqrt(2)))
        return z * cdf, cdf + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    if activation == "relu":
        return np.maximum(z, 0), (z > 0) * 1.0
    if activation == "tanh":
        return np.tanh(z), 1 - np.tanh(z) ** 2
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s, s * (1 - s)
    if activation == "silu":
        s = 1 / (1 + np.exp(-z))
        return z * s, s * (1 + z * (1 - s))
    return z, np.ones_like(z)


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
def test_numba_cuda_loads_under_a_numpy_without_row_stack():
    """numba-cuda 0.30 overloads np.row_stack, which NumPy 2.5 removed: the kernels module
    gives the alias back before Numba's CUDA target loads (here NumPy loses it first)."""
    code = """
        import numpy as np
        import tensorcore
        del np.row_stack
        import tensorcore.kernels.numba_cuda.common
        print(np.row_stack(([1], [2])).tolist(), np.row_stack is not np.vstack)
    """
    r = _run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["[[1],", "[2]]", "True"]


@pytest.mark.skipif(ON_GPU, reason="a usable GPU is present")
def test_cuda_unusable_here_names_cupy(real_cuda_backend):
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


def test_a_cupy_that_fails_to_import_means_no_gpu(monkeypatch):
    class Broken:
        def find_spec(self, name, path=None, target=None):
            if name == "cupy":
                raise OSError("libcudart.so.13: cannot open shared object file")

    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    assert tc.cuda.is_available() is False
    assert "importing CuPy failed (OSError: libcudart" in backends.cuda_unavailable_reason()


def test_cuda_array_interface_absent_on_cpu():
    t = tc.ones(2)
    assert not hasattr(t, "__cuda_array_interface__")
    with pytest.raises(AttributeError, match="non-CUDA"):
        t.__cuda_array_interface__  # noqa: B018


# -- the stand-in: CupyBackend's logic with NumPy as its array module --------------------------
class RecordingCupy(ClaimingCupy):
    """Claims the fused paths, runs the unfused code for each, and records which was asked."""

    def __init__(self, device) -> None:
        super().__init__(device)
        self.ran: list[tuple[str, str]] = []


def _recorded(entry: str, path: str):
    unfused = StandInCupy.kernel_table[entry, "unfused"]

    def run(self, *args):
        self.ran.append((entry, path))
        return unfused(self, *args)
    return run


def _recorded_matmul(self, a, b):
    self.ran.append(("matmul", "numba"))
    return a @ b


def _recorded_linear_backward(self, *args):
    self.ran.append(("linear_backward", "numba"))
    return ClaimingCupy.kernel_table["linear_backward", "numba"](self, *args)


RecordingCupy.kernel_table = {
    **ClaimingCupy.kernel_table,
    **{(entry, path): _recorded(entry, path)
       for entry in FUSED_ENTRIES for path in ("numba", "cupy")},
    ("matmul", "numba"): _recorded_matmul,
    ("linear_backward", "numba"): _recorded_linear_backward,
}


@pytest.fixture(params=[StandInCupy, RecordingCupy], ids=["unfused", "recording"])
def stand_in(request, monkeypatch):
    serve_cuda_with(monkeypatch, request.param)
    monkeypatch.setattr(probes, "numba_ready", lambda backend: True)
    yield request.param
    forget_cuda_backends()


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


@pytest.mark.parametrize("index", [
    (np.array([0, 2]),), (np.array([3]),), (np.array([-4]),), (np.array([-3]),),
    (slice(None), np.array([4])), (Ellipsis, np.array([5])), (Ellipsis, np.array([4])),
    (None, 1, np.array([[3, 0]])), (np.ones((3, 4), bool), np.array([5])),
    (np.ones((3, 4), bool), np.array([4])), (np.array([1]), Ellipsis, np.array([0, -6])),
    (np.int64(2), None, slice(1), np.array([], dtype=np.int64))])
def test_index_bounds_check_agrees_with_the_cpu(index):
    """CuPy wraps out-of-range integer-array indices; tensorcore checks them itself there
    (while it reads the index, before the array library sees it), and must reject exactly
    what the CPU backend, whose NumPy checks, rejects."""
    from standin_cuda import StandInCupy

    from tensorcore.ops.index import parse

    a = np.zeros((3, 4, 5))
    wrapping = tc.Tensor._make(a, StandInCupy(tc.device("cuda")))
    assert not wrapping._backend.checks_index_bounds
    try:
        tc.tensor(a)[index]
    except IndexError:
        with pytest.raises(IndexError, match="out of bounds"):
            parse(index, wrapping)
    else:
        parse(index, wrapping)


class _DeviceLikeArray:
    """Not a NumPy array, and its reshape copies when it must, as CuPy's does."""

    def __init__(self, a):
        self.a, self.shape, self.strides, self.dtype = a, a.shape, a.strides, a.dtype

    def reshape(self, shape):
        return self.a.reshape(shape)


def test_view_of_a_device_array_refuses_to_copy():
    from tensorcore.ops.shape import view_array

    a = np.arange(6.0).reshape(2, 3)
    got = view_array(_DeviceLikeArray(a[:, ::1]), (3, 2))
    assert np.shares_memory(got, a) and got.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert np.shares_memory(view_array(_DeviceLikeArray(a.T), (3, 2, 1)), a)
    for bad, shape in ((a.T, (6,)), (a[:, 1:], (4,)), (a[:, ::2], (4,))):
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            view_array(_DeviceLikeArray(bad), shape)


def test_stand_in_rejects_what_cupy_cannot_hold(stand_in):
    """The stand-in refuses strings as CuPy does (ValueError); tensorcore says TypeError first."""
    with pytest.raises(ValueError, match="Unsupported dtype"):
        backends.get_backend("cuda").asarray(np.array(["a"]))
    for bad in (np.array(["a", "b"]), ["a", "b"], "abc"):
        with pytest.raises(TypeError, match="unsupported dtype"):
            tc.tensor(bad, device="cuda")


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
    want, _ = act_and_slope(x @ w.T + b, activation)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *a: F.cross_entropy(F.linear_act(*a, activation), target), args)


def test_stand_in_sgd_update_axpy(stand_in):
    p = tc.ones(70000, device="cuda")
    p.add_(tc.full((70000,), 2.0, device="cuda"), alpha=-0.5)
    assert p.cpu().numpy().min() == p.cpu().numpy().max() == 0.0


def _no_host_read(*args):
    raise AssertionError("read device values on the host while capturing")


@pytest.mark.parametrize("bad", [3, -1])
def test_cross_entropy_checks_targets_on_the_host_except_while_capturing(stand_in, monkeypatch,
                                                                         bad):
    logits = tc.randn(2, 3, device="cuda", dtype=tc.float64, requires_grad=True)
    target = tc.tensor([0, bad], device="cuda")
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
        F.cross_entropy(logits, target)
    monkeypatch.setattr(stand_in, "capturing", lambda self: True)  # a graph is recording
    monkeypatch.setattr(contract, "targets_in_range", _no_host_read)
    with tc.backends.use_kernels("unfused"):
        loss = F.cross_entropy(logits, target, reduction="none")
        loss.sum().backward()
    got = loss.detach().cpu().numpy()  # the bad row's loss is NaN, as the fused kernels give
    assert np.isnan(got[1]) and got[0] == pytest.approx(
        -np.log(np.exp(logits.detach().cpu().numpy()[0]) /
                np.exp(logits.detach().cpu().numpy()[0]).sum())[0])
    assert np.isfinite(logits.grad.cpu().numpy()[0]).all()


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


def test_graph_mode_keeps_matrix_products_off_cupys_cublas(monkeypatch):
    """CuPy refuses to record cuBLAS calls in a CUDA graph: until ``prepare_capture`` has
    seen tensorcore's own cuBLAS handle work (``test_cuda_cublas``), every 2-D product in
    graph mode takes a Numba kernel, whatever path is forced: a layer's forward and its
    one-launch backward, and ``@`` the Numba GEMM; outside graph mode, none does."""
    serve_cuda_with(monkeypatch, RecordingCupy)
    monkeypatch.setattr(probes, "numba_ready", lambda backend: True)
    try:
        be = backends.get_backend("cuda")
        with tc.backends.use_kernels("cupy"):
            _layer_step(8, 4, 3)
            assert ("linear_act", "cupy") in be.ran and ("matmul", "numba") not in be.ran
            be.ran.clear()
            be.runtime.graph_mode = True
            _layer_step(8, 4, 3)
            a, b = tc.randn(5, 3, device="cuda"), tc.randn(3, 2, device="cuda")
            got = a @ b
        # the stand-in's forward (its numba entry runs the unfused code), then a @ b
        assert be.ran.count(("matmul", "numba")) == 2
        assert ("linear_act", "numba") in be.ran and ("linear_act", "cupy") not in be.ran
        assert ("linear_backward", "numba") in be.ran and ("act_backward", "cupy") not in be.ran
        np.testing.assert_allclose(got.cpu().numpy(), a.cpu().numpy() @ b.cpu().numpy(),
                                   rtol=1e-6)
    finally:
        forget_cuda_backends()


def test_auto_sends_captured_layers_to_cublas(monkeypatch, small_work_to_numba):
    """With tensorcore's cuBLAS handle recordable (the probe passed), ``auto`` sends a
    captured layer to the cupy path, which won at every size in a graph; a forced numba
    path stays numba."""
    serve_cuda_with(monkeypatch, RecordingCupy)
    monkeypatch.setattr(probes, "numba_ready", lambda backend: True)
    try:
        be = backends.get_backend("cuda")
        be._graph_cublas = True  # as after a passing probe
        be.runtime.graph_mode = True
        _layer_step(8, 4, 3)
        assert ("linear_act", "cupy") in be.ran and ("linear_act", "numba") not in be.ran
        assert ("linear_backward", "numba") not in be.ran
        be.ran.clear()
        with tc.backends.use_kernels("numba"):
            _layer_step(8, 4, 3)
        assert ("linear_act", "numba") in be.ran and ("linear_backward", "numba") in be.ran
        be.runtime.graph_mode = False
        be.ran.clear()
        _layer_step(8, 4, 3)  # eager: the table's numba
        assert ("linear_act", "numba") in be.ran
    finally:
        forget_cuda_backends()


def test_auto_weighs_a_layer_by_its_longest_reduction():
    """A layer's work for ``auto`` is ``layer_steps``: a skinny layer with a long reduction
    (the large MLP's 1024 x 10 x 2048 output layer, 16 forward tiles of 2048 steps) goes to
    cuBLAS though its M*N*K is below 512^3; the tile is the Numba GEMM's."""
    from tensorcore.kernels.numba_cuda import common as cuda_common

    steps = kernel_paths.layer_steps
    assert kernel_paths.LAYER_TILE == cuda_common.GEMM_BM == cuda_common.GEMM_BN
    assert steps(512, 512, 512) == 1024 and steps(1024, 10, 2048) == 3072
    assert steps(1024, 10, 2048, sm_count=1) > steps(1024, 10, 2048)  # fewer SMs: longer
    assert kernel_paths.resolve("linear_act", steps(512, 512, 512)) == "numba"
    assert kernel_paths.resolve("linear_act", steps(128, 512, 784)) == "numba"  # small MLP
    assert kernel_paths.resolve("linear_act", steps(1024, 10, 2048)) == "cupy"
    assert kernel_paths.resolve("linear_act", steps(1024, 1024, 1024)) == "cupy"
    be = StandInCupy(tc.device("cuda"))
    assert be._layer_steps(1024, 10, 2048) == steps(1024, 10, 2048, be.runtime.sm_count)


def test_the_epilogue_kernel_gets_a_contiguous_bias(monkeypatch):
    """The cupy path's epilogue kernel reads the bias as a contiguous vector: a strided one
    (a slice of a bigger tensor) reaches it as a contiguous copy, through ``bias_act`` and
    through ``linear_act``, and the layer still gives NumPy's values."""
    from tensorcore.backends.contract import Backend
    from tensorcore.kernels.cupy import fused as cuda_cupy

    class EpilogueCupy(StandInCupy):  # the cupy path's own forward, its kernel below
        fused_paths = ("cupy",)

    serve_cuda_with(monkeypatch, EpilogueCupy)
    be = backends.get_backend("cuda")
    seen = []

    def epilogue(z, b, activation):
        cuda_cupy.check_bias_act(z, b, activation)  # raises for a strided bias
        seen.append(b.flags.c_contiguous)
        return Backend.bias_act(be, z, b, activation)

    monkeypatch.setattr(cuda_cupy, "bias_act_forward", epilogue)
    try:
        rng = np.random.default_rng(5)
        z, wide = rng.standard_normal((4, 3)), rng.standard_normal(6)
        out, _ = be.bias_act(z.copy(), wide[::2], "relu")
        np.testing.assert_allclose(out, np.maximum(z + wide[::2], 0))
        x, w = tc.tensor(rng.standard_normal((4, 5)), device="cuda"), tc.randn(3, 5, device="cuda",
                                                                                dtype=tc.float64)
        with tc.backends.use_kernels("cupy"):
            y = F.linear_act(x, w, tc.tensor(wide, device="cuda")[::2], "relu")
        want = np.maximum(x.cpu().numpy() @ w.cpu().numpy().T + wide[::2], 0)
        np.testing.assert_allclose(y.cpu().numpy(), want, rtol=1e-12)
        assert seen == [True, True]
    finally:
        forget_cuda_backends()


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


@pytest.fixture
def small_work_to_numba(monkeypatch):
    """An ``auto`` table that sends small work to numba for every entry point."""
    for op, limit in {"linear_act": 256, "act_backward": 256 ** 2,
                      "softmax_ce": 256 ** 2}.items():
        monkeypatch.setitem(kernel_paths.AUTO_THRESHOLDS, op, limit)


def test_the_one_launch_backward_stops_at_its_work_limit(monkeypatch, small_work_to_numba):
    """Above ``one_launch_backward_max`` (M * N * K), the numba path's layer backward is the
    act backward kernel and two GEMMs; at it, one launch."""
    serve_cuda_with(monkeypatch, RecordingCupy)
    monkeypatch.setattr(probes, "numba_ready", lambda backend: True)
    try:
        be = backends.get_backend("cuda")
        for limit, want in ((8 * 4 * 3, "linear_backward"), (8 * 4 * 3 - 1, "act_backward")):
            be.one_launch_backward_max = limit
            be.ran.clear()
            _layer_step(8, 4, 3)
            backward = {e for e, path in be.ran if e in ("linear_backward", "act_backward")}
            assert backward == {want}, limit
    finally:
        forget_cuda_backends()


def test_dispatch_follows_the_switch(monkeypatch, small_work_to_numba):
    serve_cuda_with(monkeypatch, RecordingCupy)
    monkeypatch.setattr(probes, "numba_ready", lambda backend: True)
    try:
        be = backends.get_backend("cuda")
        _layer_step(8, 4, 3)                     # small: the single-launch Numba kernels
        assert set(be.ran) == {(e, "numba") for e in ("linear_act", "linear_backward",
                                                      "softmax_ce", "softmax_ce_backward")}
        be.ran.clear()
        _layer_step(300, 300, 300)               # 600 layer steps, M*N above the limits
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
        monkeypatch.setattr(probes, "numba_ready", lambda backend: False)
        assert be.kernel_path("linear_act", 1, np.float32) == "cupy"  # auto falls back
    finally:
        forget_cuda_backends()


def test_forced_numba_path_says_why_it_is_unusable(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorcore.kernels.numba_cuda.fused", None)  # no import
    monkeypatch.setattr(probes, "numba_state", {})
    with pytest.raises(RuntimeError,
                       match="'numba' GPU kernel path is unusable.*numba_cuda.fused"):
        probes.numba_kernels()
    with pytest.warns(RuntimeWarning, match="'numba' GPU kernel path is unusable.*'cupy'"):
        assert probes.numba_ready(StandInCupy(tc.device("cuda"))) is False


class _ProbeKernels:
    """A stand-in of ``tensorcore.kernels.numba_cuda.fused`` for the readiness probe: the ReLU
    backward it asks for, or a wrong value, or an error (``fast_only``: only while fast
    launches are on, as a wrong parameter layout would)."""

    def __init__(self, fill=None, error=None, fast_only=False) -> None:
        self.fill, self.error, self.fast_only, self.calls = fill, error, fast_only, 0

    def act_backward(self, grad_out, out, pre, activation, grad_z, grad_b=None, stream=0):
        from tensorcore.kernels.numba_cuda import common as cuda_common

        self.calls += 1
        broken = not self.fast_only or cuda_common.FAST_LAUNCH
        if self.error is not None and broken:
            raise self.error
        assert activation == "relu"
        grad_z[...] = grad_out * (out > 0) if self.fill is None or not broken else self.fill
        if grad_b is not None:
            grad_b[...] = grad_z.sum(0)


@pytest.mark.parametrize("probe,ready", [
    (_ProbeKernels(), True),
    (_ProbeKernels(fill=0.0), False),                                  # a wrong result
    (_ProbeKernels(error=RuntimeError("libNVVM cannot be found")), False),  # compile/load
])
def test_auto_probes_the_numba_path_once_and_falls_back(monkeypatch, small_work_to_numba, probe,
                                                         ready):
    from tensorcore.kernels.numba_cuda import common as cuda_common

    monkeypatch.setattr(cuda_common, "FAST_LAUNCH", True)
    monkeypatch.setattr(probes, "numba_state", {"module": probe})
    be = RecordingCupy(tc.device("cuda"))
    if ready:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            paths = {be.kernel_path("linear_act", 1, np.float32) for _ in range(3)}
    else:
        with pytest.warns(RuntimeWarning, match="'numba' GPU kernel path is unusable") as rec:
            paths = {be.kernel_path("linear_act", 1, np.float32) for _ in range(3)}
        assert len(rec) == 1  # said once
    assert paths == {"numba" if ready else "cupy"} and probe.calls == (1 if ready else 2)
    assert cuda_common.FAST_LAUNCH is ready  # the second try went through Numba's dispatcher
    if not ready:
        with tc.backends.use_kernels("numba"):  # a forced path is never second-guessed
            assert be.kernel_path("linear_act", 1, np.float32) == "numba"


@pytest.mark.parametrize("probe", [_ProbeKernels(fill=0.0, fast_only=True),
                                   _ProbeKernels(error=RuntimeError("CUresult 1"),
                                                 fast_only=True)])
def test_a_failing_fast_launch_falls_back_to_numbas_dispatcher(monkeypatch, probe):
    from tensorcore.kernels.numba_cuda import common as cuda_common

    monkeypatch.setattr(cuda_common, "FAST_LAUNCH", True)
    monkeypatch.setattr(probes, "numba_state", {"module": probe})
    with pytest.warns(RuntimeWarning, match="fast launches of the Numba kernels failed here"):
        assert probes.numba_ready(RecordingCupy(tc.device("cuda"))) is True
    assert cuda_common.FAST_LAUNCH is False and probe.calls == 2


def test_cuda_functions_read_their_device_argument_as_torch_cuda_does():
    index = tc.cuda._device_index
    assert [index(d, 2) for d in (None, 0, 1, "cuda", "cuda:3", tc.device("cuda:1"))] == \
        [2, 0, 1, 2, 3, 1]
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        index("cpu", 0)


class _NumbaModule(_ProbeKernels):
    """The probe's kernel and a forward that records its calls (the layer's values are not
    this test's subject)."""

    def __init__(self) -> None:
        super().__init__()
        self.forwards = 0

    def linear_act_forward(self, x, w, b, activation, out, pre=None, stream=0):
        self.forwards += 1
        out[...] = x @ w.T


class _NumbaPathStandIn(StandInCupy):
    fused_paths = ("numba",)


@pytest.mark.parametrize("graph_mode", [False, True])
def test_a_forced_numba_path_is_probed_before_its_first_launch(monkeypatch, graph_mode):
    """Forced paths skip ``auto``'s choice, but not the probe that checks fast launches: it
    runs once, before the first Numba launch, and never while a graph records (its host
    synchronization would break the capture; ``prepare_capture`` probes before that)."""
    from tensorcore.kernels.numba_cuda import common as cuda_common

    module = _NumbaModule()
    monkeypatch.setattr(cuda_common, "FAST_LAUNCH", True)
    monkeypatch.setattr(probes, "numba_state", {"module": module})
    be = _NumbaPathStandIn(tc.device("cuda"))
    be.runtime.graph_mode = graph_mode
    x, w = np.ones((3, 2), np.float32), np.ones((4, 2), np.float32)
    with tc.backends.use_kernels("numba"):
        for _ in range(2):
            be.linear_act(x, w, None, None)
    assert module.forwards == 2
    assert module.calls == (0 if graph_mode else 1)
    assert ("ready" in probes.numba_state) is not graph_mode


def test_runtime_records_on_a_side_stream_and_leaves_capture_on_error():
    """``CupyRuntime.replay_captured`` and ``record`` (which ``tc.cuda.graphs.capture`` uses)
    in order on a fake CuPy: the side stream waits for the current one, the call runs once,
    is recorded, the inputs change, the graph replays; a failing call ends the capture and
    its own error propagates."""
    import contextlib
    import types

    from tensorcore.backends.cuda import CupyRuntime

    log = []

    class Stream:
        def __init__(self, non_blocking=False):
            log.append("stream")

        def wait_event(self, event):
            log.append("wait")

        def record(self):
            return "event"

        def begin_capture(self):
            log.append("begin")

        def end_capture(self):
            log.append("end")
            return types.SimpleNamespace(launch=lambda stream: log.append("launch"))

        def synchronize(self):
            log.append("sync")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    cuda = types.SimpleNamespace(
        MemoryPool=lambda: types.SimpleNamespace(malloc=None), Stream=Stream,
        get_current_stream=Stream, using_allocator=lambda malloc: contextlib.nullcontext())
    runtime = object.__new__(CupyRuntime)  # no GPU needed past __init__
    runtime.xp, runtime.device = types.SimpleNamespace(cuda=cuda), contextlib.nullcontext()
    calls = []
    out = runtime.replay_captured(lambda: calls.append(1) or np.ones(2),
                                  lambda: log.append("change"))
    assert out.tolist() == [1.0, 1.0] and len(calls) == 2
    assert log == ["stream", "stream", "wait", "begin", "end", "change", "launch", "sync"]
    log.clear()
    with pytest.raises(ZeroDivisionError):
        runtime.record(Stream(), lambda: 1 / 0)
    assert log == ["stream", "begin", "end"]


def test_runtime_joins_and_replays_in_stream_order():
    """``CupyRuntime.join_stream`` and ``replay_graph`` (the capture protocol's GPU side) on
    a fake CuPy: a replay waits for the current stream, copies the new inputs and launches
    on its own stream, and the current stream then waits for it."""
    import contextlib
    import types

    from tensorcore.backends.cuda import CupyRuntime

    log = []

    class Stream:
        def __init__(self, name):
            self.name = name

        def wait_event(self, event):
            log.append(f"{self.name} waits for {event}")

        def record(self):
            return self.name

        def __enter__(self):
            log.append(f"on {self.name}")

        def __exit__(self, *exc):
            log.append(f"off {self.name}")

    current = Stream("current")
    cuda = types.SimpleNamespace(get_current_stream=lambda: current,
                                 using_allocator=lambda malloc: malloc)
    runtime = object.__new__(CupyRuntime)  # no GPU needed past __init__
    runtime.xp, runtime.device = types.SimpleNamespace(cuda=cuda), contextlib.nullcontext()
    side = Stream("side")
    runtime.join_stream(side)
    assert log == ["current waits for side"]
    assert runtime.allocating_from(types.SimpleNamespace(malloc="pool's malloc")) == \
        "pool's malloc"
    log.clear()
    target = np.zeros(2)
    graph = types.SimpleNamespace(launch=lambda stream: log.append(f"launch on {stream.name}"))
    runtime.replay_graph(graph, side, [(target, np.ones(2))])
    assert target.tolist() == [1.0, 1.0]
    assert log == ["side waits for current", "on side", "launch on side", "off side",
                   "current waits for side"]


def test_capture_and_replay_go_through_the_capture_protocol(monkeypatch):
    """``tc.cuda.graphs`` on a backend that logs the capture protocol's calls: the probe,
    the side stream, the warm-up and the recording in graph mode on the graph's pool, the
    join; a replay copies the new inputs into the static buffers through the backend."""
    import contextlib

    from tensorcore.cuda import graphs

    log = []

    class Stream:
        def __enter__(self):
            log.append("stream")

        def __exit__(self, *exc):
            log.append("stream done")

        def synchronize(self):
            log.append("synchronize")

    stream = Stream()

    class LoggingCupy(StandInCupy):
        def prepare_capture(self):
            log.append("prepare")

        def side_stream(self):
            log.append("side stream")
            return "pool", stream

        @contextlib.contextmanager
        def graph_mode(self):
            log.append("graph mode")
            self.runtime.graph_mode = True
            try:
                yield
            finally:
                self.runtime.graph_mode = False
                log.append("graph mode done")

        @contextlib.contextmanager
        def allocating_from(self, pool):
            log.append(f"allocating from {pool}")
            yield

        def record(self, s, fn):
            assert s is stream
            log.append("record")
            return "graph", fn()

        def join_stream(self, s):
            log.append("join")

        def replay_graph(self, graph, s, copies):
            log.append(f"replay {graph}")
            for target, source in copies:
                target[...] = source

    serve_cuda_with(monkeypatch, LoggingCupy)
    monkeypatch.setattr(graphs, "cuda_unavailable_reason", lambda: None)
    try:
        def step(x):
            log.append(f"step, capturing {x._backend.capturing()}")
            return x * 2

        graph = graphs.capture(step, tc.ones(3, device="cuda"), warmup=2)
        assert log == ["prepare", "side stream", "graph mode", "allocating from pool",
                       "stream", "step, capturing True", "step, capturing True",
                       "synchronize", "record", "step, capturing True", "stream done",
                       "join", "graph mode done"]
        log.clear()
        out = graph.replay(tc.tensor([1.0, 2.0, 3.0], device="cuda"))
        assert log == ["replay graph"] and out is graph.outputs
        assert graph.static_inputs[0].cpu().tolist() == [1.0, 2.0, 3.0]
    finally:
        forget_cuda_backends()
