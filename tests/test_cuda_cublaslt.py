"""The one-call layer forward through cuBLASLt (``tensorcore.kernels.blas.cublaslt``) without a
GPU: every call, with its C signature, into a stand-in library (``data/stub_cublaslt.c``) whose
matmul is a column-major reference applying the epilogues as cuBLASLt defines them; the
results against NumPy, the plan cache and the errors. Skips where no C compiler is."""

from __future__ import annotations

import doctest
import functools

import numpy as np
import pytest
from helpers import build_stub_library, serve_cuda_with

from tensorcore.kernels.blas import cublas as cuda_cublas
from tensorcore.kernels.blas import cublaslt as cuda_cublaslt
from tensorcore.kernels.blas.cublas import CublasError
from tensorcore.kernels.blas.cublaslt import CublasLt


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    import ctypes

    path = build_stub_library(tmp_path_factory.mktemp("lt"), "stub_cublaslt.c",
                              "stub_libcublasLt.so.13")  # never taken for the real one
    return ctypes.CDLL(path), cuda_cublaslt.load_library(path)


def _pointer(a) -> int:
    return a.ctypes.data


WORKSPACE = np.empty(1 << 10, np.uint8)


def _aligned(shape, fill, offset: int = 0) -> np.ndarray:
    """float32 values at an address that is ``offset`` bytes past a multiple of 256."""
    size = int(np.prod(shape))
    raw = np.empty(size * 4 + 512, np.uint8)
    start = (-raw.ctypes.data) % 256 + offset
    out = raw[start:start + size * 4].view(np.float32).reshape(shape)
    out[...] = fill
    return out


def _linear(lt, x, w, b, relu, out_offset: int = 0):
    out = _aligned((x.shape[0], w.shape[0]), np.nan, out_offset)
    lt.linear(x, w, b, relu, out, _pointer, 0, (WORKSPACE.ctypes.data, WORKSPACE.nbytes))
    return out


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("m,k,n", [(5, 3, 4), (1, 7, 1), (33, 17, 9)])
def test_one_call_computes_the_layer(stub, m, k, n, with_bias, relu):
    rng = np.random.default_rng(m + k + n)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32) if with_bias else None
    lt = CublasLt(stub[1])
    want = x @ w.T + (b if with_bias else 0)
    want = np.maximum(want, 0) if relu else want
    np.testing.assert_allclose(_linear(lt, x, w, b, relu), want, rtol=1e-5, atol=1e-5)
    wide = np.zeros((m, k + 3), np.float32)
    wide[:, 1:k + 1] = x  # rows padded in memory: read in place
    np.testing.assert_allclose(_linear(lt, wide[:, 1:k + 1], w, b, relu), want, rtol=1e-5,
                               atol=1e-5)


def test_a_plan_is_made_once_per_shape_and_epilogue(stub):
    lib, wrapped = stub
    lt = CublasLt(wrapped)
    x, w = _aligned((4, 3), 1), _aligned((2, 3), 1)
    before = lib.stub_heuristics()
    for bias in (_aligned(2, 0), _aligned(2, 1)):  # a new bias pointer, as aligned
        np.testing.assert_allclose(_linear(lt, x, w, bias, True), np.broadcast_to(3 + bias, (4, 2)))
    assert lib.stub_heuristics() - before == 1
    _linear(lt, x, w, None, True)  # another epilogue: another plan
    _linear(lt, x[:2], w, None, True)  # another shape
    assert lib.stub_heuristics() - before == 3


@pytest.mark.parametrize("operand", ["x", "w", "b", "out"])
def test_less_aligned_pointers_get_a_plan_of_their_own(stub, operand):
    """cuBLASLt picks its algorithm for the alignments it is told (256 bytes by default) and
    the bias pointer it sees: a pointer 4 bytes off must not reuse a 256-aligned plan."""
    lib, wrapped = stub
    lt = CublasLt(wrapped)
    shapes = {"x": (5, 3), "w": (4, 3), "b": (4,)}
    values = {name: np.arange(np.prod(s), dtype=np.float32).reshape(s) / 7 - 1
              for name, s in shapes.items()}
    want = np.maximum(values["x"] @ values["w"].T + values["b"], 0)
    before = lib.stub_heuristics()
    for offset in (0, 4, 0):
        args = {name: _aligned(v.shape, v, offset if name == operand else 0)
                for name, v in values.items()}
        got = _linear(lt, args["x"], args["w"], args["b"], True,
                      out_offset=offset if operand == "out" else 0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert lib.stub_heuristics() - before == 2  # the 256-byte plan is kept for the third call


def test_tf32_gets_a_plan_of_its_own_that_rounds_the_inputs(stub):
    lib, wrapped = stub
    lt = CublasLt(wrapped)
    x, w = _aligned((3, 1024), 1.0001), _aligned((2, 1024), 1.0)
    before = lib.stub_heuristics()

    def forward(tf32):
        out = _aligned((3, 2), np.nan)
        lt.linear(x, w, None, True, out, _pointer, 0, (WORKSPACE.ctypes.data, WORKSPACE.nbytes),
                  tf32=tf32)
        return out

    np.testing.assert_allclose(forward(False), 1024 * np.float32(1.0001), rtol=1e-5)
    np.testing.assert_array_equal(forward(True), 1024.0)  # 1.0001 is 1.0 in TF32
    np.testing.assert_allclose(forward(False), 1024 * np.float32(1.0001), rtol=1e-5)
    assert lib.stub_heuristics() - before == 2


def test_what_does_not_fit_is_refused_by_name(stub):
    lt = CublasLt(stub[1])
    x, w = np.ones((4, 3), np.float32), np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32, got x float64"):
        _linear(lt, x.astype(np.float64), w, None, False)
    with pytest.raises(ValueError, match=r"shapes x \(4, 3\), w \(2, 4\)"):
        _linear(lt, x, np.ones((2, 4), np.float32), None, False)
    with pytest.raises(ValueError, match=r"b \(3,\)"):
        _linear(lt, x, w, np.ones(3, np.float32), False)
    with pytest.raises(ValueError, match="empty product"):
        _linear(lt, x[:, :0], w[:, :0], None, False)
    with pytest.raises(ValueError, match="cannot read strides"):
        _linear(lt, np.ones((4, 6), np.float32)[:, ::2], w, None, False)


def test_an_error_status_names_the_call(stub):
    class Failing:
        def __getattr__(self, name):
            return getattr(stub[1], name)

        @staticmethod
        def cublasLtMatmul(*args):
            return 13

    lt = CublasLt(Failing())
    with pytest.raises(CublasError, match="cublasLtMatmul failed: CUBLAS_STATUS_EXECUTION_FAILED"):
        _linear(lt, np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), None, False)


def test_the_stub_is_never_taken_for_the_loaded_libcublaslt(stub):
    """The C stand-in stays loaded in this process, under a name of its own: a real GPU's
    ``CublasLt`` (found through ``/proc/self/maps``) must not load it and hand it device
    pointers (a segfault on the H200, 2026-11-27)."""
    assert cuda_cublas.loaded_library_path("libcublasLt") != stub[0]._name


def test_the_library_is_found_next_to_libcublas_or_named(tmp_path):
    with pytest.raises(OSError, match="cannot load libcublasLt.*/nowhere/libcublasLt.so"):
        cuda_cublaslt.load_library("/nowhere/libcublasLt.so")


def test_docstring_examples_run():
    result = doctest.testmod(cuda_cublaslt, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- the cupy path's forward on the stand-in GPU ------------------------------------------------
@pytest.fixture
def lt_backend(stub, monkeypatch):
    """The stand-in GPU with the cupy path claimed, cuBLASLt on, served by the C stand-in."""
    from helpers import forget_cuda_backends
    from standin_cuda import StandInCupy

    import tensorcore as tc
    from tensorcore import backends

    class LtCupy(StandInCupy):
        fused_paths = ("cupy",)
        kernel_table = {**StandInCupy.kernel_table,
                        ("act_backward", "cupy"): StandInCupy.kernel_table["act_backward",
                                                                          "unfused"]}

    serve_cuda_with(monkeypatch, LtCupy)
    be = backends.get_backend("cuda")
    lt = CublasLt(stub[1])
    monkeypatch.setattr(be.runtime, "cublaslt", lambda: lt, raising=False)
    be.cublaslt = True
    with tc.backends.use_kernels("cupy"):
        yield be
    forget_cuda_backends()


@pytest.mark.parametrize("activation", [None, "relu"])
def test_the_cupy_path_runs_a_float32_layer_forward_in_one_call(lt_backend, activation):
    import tensorcore as tc
    import tensorcore.nn.functional as F

    rng = np.random.default_rng(3)
    x, w, b, g = (rng.standard_normal(s).astype(np.float32) for s in ((6, 5), (4, 5), (4,),
                                                                     (6, 4)))
    ts = [tc.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b)]
    y = F.linear_act(*ts, activation)
    y.backward(tc.tensor(g, device="cuda"))
    z = x @ w.T + b
    want = np.maximum(z, 0) if activation == "relu" else z
    gz = g * (z > 0) if activation == "relu" else g
    np.testing.assert_allclose(y.detach().cpu().numpy(), want, rtol=1e-5, atol=1e-5)
    for t, expect in zip(ts, (gz @ w, gz.T @ x, gz.sum(0))):
        np.testing.assert_allclose(t.grad.cpu().numpy(), expect, rtol=1e-4, atol=1e-4)
    assert lt_backend.kernel_calls["linear_act", "cublaslt"] == 2  # the probe, then the layer


@pytest.mark.parametrize("shape", [(1, 5, 4), (6, 1, 4), (6, 5, 1)], ids=["m1", "k1", "n1"])
def test_products_with_a_dimension_of_1_keep_the_epilogue_kernel(lt_backend, shape,
                                                                   monkeypatch):
    """cuBLASLt's heuristic refuses them (as PyTorch found): the layer goes the other way."""
    import tensorcore as tc
    import tensorcore.nn.functional as F
    from tensorcore.backends.contract import Backend
    from tensorcore.kernels.cupy import fused as cuda_cupy

    monkeypatch.setattr(cuda_cupy, "bias_act_forward",  # the epilogue kernel, on NumPy
                        functools.partial(Backend.bias_act, lt_backend))
    lt_backend._cublaslt_works()  # the check's own call, counted before
    m, k, n = shape
    x, w, b = (np.ones(s, np.float32) for s in ((m, k), (n, k), (n,)))
    lt_backend.kernel_calls.clear()
    y = F.linear_act(*(tc.tensor(a, device="cuda") for a in (x, w, b)), "relu")
    np.testing.assert_allclose(y.cpu().numpy(), np.full((m, n), k + 1.0))
    assert lt_backend.kernel_calls["linear_act", "cublaslt"] == 0
    assert lt_backend.kernel_calls["linear_act", "cupy"] == 1


def test_the_cupy_path_forward_rounds_to_tf32_below_highest(lt_backend):
    import tensorcore as tc
    import tensorcore.nn.functional as F
    from tensorcore.backends.matmul_precision import using

    x = tc.tensor(np.full((3, 1024), 1.0001, np.float32), device="cuda")
    w, b = tc.ones(2, 1024, device="cuda"), tc.zeros(2, device="cuda")
    with using("high"):
        y = F.linear_act(x, w, b, "relu")
    np.testing.assert_array_equal(y.cpu().numpy(), 1024.0)
    assert lt_backend.kernel_calls["linear_act", "cublaslt"] == 2  # the probe, then the layer
    np.testing.assert_allclose(F.linear_act(x, w, b, "relu").cpu().numpy(),
                               1024 * np.float32(1.0001), rtol=1e-5)


def test_a_cublaslt_forward_that_computes_wrong_values_is_switched_off(lt_backend,
                                                                       monkeypatch):
    monkeypatch.setattr(CublasLt, "linear", lambda self, x, w, b, relu, out, *rest: out.fill(0))
    with pytest.warns(RuntimeWarning, match="cuBLASLt layer forward does not work here"):
        assert lt_backend._cublaslt_works() is False
    assert lt_backend._cublaslt_works() is False  # checked once: switching it on again
    assert lt_backend.cublaslt is True            # does not bring it back


def test_a_graph_records_the_cublaslt_forward_once_checked_before(lt_backend, monkeypatch):
    """The check reads its result back, which a recording refuses: ``prepare_capture`` runs
    it, and graph mode then takes the one-call forward; unchecked, graph mode keeps the
    epilogue kernel and checks nothing."""
    import tensorcore as tc
    import tensorcore.nn.functional as F
    from tensorcore.backends.contract import Backend
    from tensorcore.kernels.cupy import fused as cuda_cupy

    monkeypatch.setattr(cuda_cupy, "bias_act_forward",  # the epilogue kernel, on NumPy
                        functools.partial(Backend.bias_act, lt_backend))

    x, w, b = (tc.tensor(np.ones(s, np.float32), device="cuda") for s in ((3, 4), (2, 4), (2,)))
    lt_backend._graph_cublas = True  # as after a passing probe of the graph GEMM
    lt_backend.runtime.graph_mode = True
    try:
        np.testing.assert_array_equal(F.linear_act(x, w, b, "relu").cpu().numpy(), 5.0)
        assert lt_backend._cublaslt_ok is None  # not checked while recording
        assert lt_backend.kernel_calls["linear_act", "cublaslt"] == 0
        lt_backend.runtime.graph_mode = False
        lt_backend.prepare_capture()
        assert lt_backend._cublaslt_ok is True
        lt_backend.runtime.graph_mode = True
        lt_backend.kernel_calls.clear()
        np.testing.assert_array_equal(F.linear_act(x, w, b, "relu").cpu().numpy(), 5.0)
        assert lt_backend.kernel_calls["linear_act", "cublaslt"] == 1
    finally:
        lt_backend.runtime.graph_mode = False


@pytest.mark.parametrize("value,eager,in_graphs", [(None, False, True), ("graph", False, True),
                                                   ("1", True, True), ("0", False, False)])
def test_the_environment_sets_where_the_cublaslt_forward_runs(monkeypatch, value, eager,
                                                              in_graphs):
    from standin_cuda import StandInCupy

    import tensorcore as tc

    if value is None:
        monkeypatch.delenv("TENSORCORE_CUBLASLT", raising=False)
    else:
        monkeypatch.setenv("TENSORCORE_CUBLASLT", value)
    be = StandInCupy(tc.device("cuda"))
    assert (be.cublaslt, be._graph_cublaslt()) == (eager, in_graphs)
    monkeypatch.setenv("TENSORCORE_CUBLASLT", "yes")
    with pytest.raises(ValueError, match="TENSORCORE_CUBLASLT='yes': expected 0, 1 or graph"):
        StandInCupy(tc.device("cuda"))
