"""The graph-recordable cuBLAS GEMM (``tensorcore.kernels.blas.cublas``) without a GPU: its
row-major to column-major argument mapping against a column-major reference GEMM that reads
memory through the pointers and leading dimensions it is given (``fake_cublas``), the same
through a real C ABI (``data/stub_cublas.c``, built where a C compiler is present), its stream
and workspace binding, its errors, and the backend's graph mode on it."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from fake_cublas import FakeCublas
from helpers import build_stub_library, forget_cuda_backends, serve_cuda_with
from standin_cuda import ClaimingCupy

import tensorcore as tc
from tensorcore import backends
from tensorcore.backends.cuda import probes
from tensorcore.kernels.blas import cublas as cuda_cublas
from tensorcore.kernels.blas.cublas import Cublas, CublasError


def _handle(lib=None):
    workspaces = []

    def allocate(nbytes):
        workspaces.append(np.empty(nbytes, dtype=np.uint8))
        return workspaces[-1].ctypes.data, workspaces[-1]

    return Cublas.open(9, allocate, lib=lib or FakeCublas()), workspaces


def _matmul(handle, a, b, stream=0):
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    if out.dtype.kind == "f":
        out.fill(np.nan)  # every value must be written
    handle.matmul(a, b, out, lambda x: x.ctypes.data, stream)
    return out


def _layouts(rows: int, cols: int, dtype, rng):
    """``(name, array)``: one rows x cols matrix in every layout BLAS can read unchanged."""
    base = rng.standard_normal((rows, cols)).astype(dtype)
    wide = rng.standard_normal((rows + 2, cols + 3)).astype(dtype)
    wide[1:rows + 1, 2:cols + 2] = base
    tall_t = np.ascontiguousarray(rng.standard_normal((cols + 4, rows)).astype(dtype))
    tall_t[1:cols + 1] = base.T
    return [("c", base.copy()), ("f", np.asfortranarray(base)),
            ("transposed", np.ascontiguousarray(base.T).T),
            ("padded rows", wide[1:rows + 1, 2:cols + 2]),
            ("padded columns", tall_t[1:cols + 1].T)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(3, 5, 4), (1, 5, 4), (3, 1, 4), (3, 5, 1), (1, 1, 1),
                                   (17, 9, 33)])
def test_gemm_reads_every_layout_as_a_row_major_product(m, k, n, dtype):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    handle, _ = _handle()
    for a_name, a in _layouts(m, k, dtype, rng):
        for b_name, b in _layouts(k, n, dtype, rng):
            assert cuda_cublas.readable(a) and cuda_cublas.readable(b), (a_name, b_name)
            np.testing.assert_allclose(_matmul(handle, a, b), a @ b, rtol=1e-5, atol=1e-5,
                                       err_msg=f"a {a_name}, b {b_name}")


def test_size_one_dimensions_of_strided_views_are_read_without_a_copy():
    x = np.arange(48.0).reshape(6, 8)
    row_of_transposed, column_of_slice = x.T[2:3], x[::2, 5:6]
    for a in (row_of_transposed, column_of_slice, x[3:4, ::1]):
        assert cuda_cublas.readable(a)
    handle, _ = _handle()
    b = np.arange(12.0).reshape(6, 2)
    np.testing.assert_allclose(_matmul(handle, row_of_transposed, b), row_of_transposed @ b)
    np.testing.assert_allclose(_matmul(handle, column_of_slice, b[:1]), column_of_slice @ b[:1])


def test_layouts_blas_cannot_read_are_refused_not_misread():
    x = np.arange(64.0).reshape(8, 8)
    for a in (x[::2, ::2], x[::-1], np.broadcast_to(x[:1], (8, 8))):
        assert not cuda_cublas.readable(a)
    handle, _ = _handle()
    with pytest.raises(ValueError, match=r"cannot read strides \(128, 16\).*contiguous"):
        _matmul(handle, x[::2, ::2], x[:4])


def test_gemm_checks_dtypes_and_shapes_before_calling_cublas():
    lib = FakeCublas()
    handle, _ = _handle(lib)
    a32, b32 = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="float32 or float64 operands of one dtype, got float32, "
                                        "float64"):
        _matmul(handle, a32, b32.astype(np.float64))
    with pytest.raises(TypeError, match="int64"):
        _matmul(handle, a32.astype(np.int64), b32.astype(np.int64))
    with pytest.raises(ValueError, match=r"do not chain: \(2, 3\) @ \(4, 3\)"):
        _matmul(handle, a32, b32.T)
    with pytest.raises(ValueError, match=r"empty product \(2, 0\) @ \(0, 4\)"):
        _matmul(handle, a32[:, :0], b32[:0])
    assert not [c for c in lib.calls if c[0] == "gemm"]


def test_an_error_status_raises_cublas_error_naming_it():
    class Failing(FakeCublas):
        def cublasSgemm_v2(self, *args):
            return 13

    handle, _ = _handle(Failing())
    with pytest.raises(CublasError, match="cublasSgemm_v2 failed: CUBLAS_STATUS_EXECUTION_FAILED"):
        _matmul(handle, np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))


def test_each_stream_gets_its_own_workspace_bound_once():
    lib = FakeCublas()
    handle, workspaces = _handle(lib)
    a = np.ones((2, 2), np.float64)
    for stream in (0, 0, 77, 77, 0):
        _matmul(handle, a, a, stream)
    binds = [c for c in lib.calls if c[0] != "gemm"]
    pointers = [w.ctypes.data for w in workspaces]
    assert len(workspaces) == 2 and workspaces[0].nbytes == 32 << 20
    assert binds == [("create",), ("stream", 0), ("workspace", pointers[0], 32 << 20),
                     ("stream", 77), ("workspace", pointers[1], 32 << 20),
                     ("stream", 0), ("workspace", pointers[0], 32 << 20)]
    assert cuda_cublas.workspace_bytes(8) == 4 << 20


@pytest.fixture(scope="module")
def stub_library(tmp_path_factory):
    """``data/stub_cublas.c`` built as a shared library; skips where no C compiler is."""
    return build_stub_library(tmp_path_factory.mktemp("stub"), "stub_cublas.c",
                              "stub_libcublas.so.13")  # never taken for the real one


def test_the_ctypes_calls_reach_a_c_library_intact(stub_library):
    """The argument types ``load_library`` declares carry handles, streams, workspaces, host
    scalars and device pointers through the C ABI as cuBLAS's signatures take them."""
    lib = cuda_cublas.load_library(stub_library)
    handle, workspaces = _handle(lib)
    for fn in ("stub_stream", "stub_workspace"):
        getattr(lib, fn).restype = ctypes.c_void_p
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        for (_, a), (_, b) in zip(_layouts(9, 7, dtype, rng), _layouts(7, 11, dtype, rng)[::-1]):
            np.testing.assert_allclose(_matmul(handle, a, b, stream=0xBEEF), a @ b, rtol=1e-5)
    assert lib.stub_gemms() == 10
    assert lib.stub_stream() == 0xBEEF and lib.stub_workspace() == workspaces[0].ctypes.data
    near_one = np.full((2, 1024), 1.0001, np.float32)  # TF32 math mode, through the C side
    out = np.empty((2, 2), np.float32)
    handle.matmul(near_one, near_one.T, out, lambda x: x.ctypes.data, 0xBEEF, tf32=True)
    assert lib.stub_math_mode() == 3 and (out == 1024.0).all()
    with pytest.raises(CublasError, match="CUBLAS_STATUS_INVALID_VALUE"):  # the C side checks
        _check_status_from(lib)


def test_tf32_sets_the_math_mode_of_float32_gemms_only_when_it_changes():
    handle, _ = _handle()
    lib = handle._lib
    a, b = np.full((2, 1024), 1.0001, np.float32), np.ones((1024, 3), np.float32)

    def gemm(x, y, tf32):
        out = np.empty((x.shape[0], y.shape[1]), x.dtype)
        handle.matmul(x, y, out, lambda arr: arr.ctypes.data, 0, tf32=tf32)
        return out

    np.testing.assert_array_equal(gemm(a, b, True), 1024.0)  # 1.0001 is 1.0 in TF32
    np.testing.assert_array_equal(gemm(a, b, True), 1024.0)
    np.testing.assert_allclose(gemm(np.full((2, 1024), 1.0001), b.astype(np.float64), True),
                               1024 * 1.0001, rtol=1e-12)  # float64 never rounds
    np.testing.assert_allclose(gemm(a, b, False), 1024 * np.float32(1.0001), rtol=1e-5)
    assert [c for c in lib.calls if c[0] == "math mode"] == [("math mode", 3), ("math mode", 0)]


def _check_status_from(lib):
    """A call the stub refuses (ldc < m), through the module's own status check."""
    alpha = ctypes.c_float(1.0)
    x = np.zeros(4, np.float32)
    handle = ctypes.c_void_p()
    lib.cublasCreate_v2(ctypes.byref(handle))
    status = lib.cublasSgemm_v2(handle, 0, 0, 2, 2, 2, ctypes.byref(alpha), x.ctypes.data, 2,
                                x.ctypes.data, 2, ctypes.byref(alpha), x.ctypes.data, 1)
    cuda_cublas.check_status(status, "cublasSgemm_v2")


def test_the_stub_is_never_taken_for_the_loaded_libcublas(stub_library):
    """Loaded, the C stand-in stays in this process: a real GPU's handle must not find it."""
    cuda_cublas.load_library(stub_library)
    assert cuda_cublas.loaded_library_path("libcublas") != stub_library


def test_the_loaded_library_is_found_by_path():
    maps = ("00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/python3\n"
            "7f10-7f20 rw-p 00000000 00:00 0\n"
            "7f30-7f40 r-xp 00000000 08:02 99 /x/nvidia/cu13/lib/libcublasLt.so.13\n"
            "7f50-7f60 r-xp 00000000 08:02 98 /x/nvidia/cu13/lib/libcublas.so.13\n")
    assert cuda_cublas.loaded_library_path("libcublas", maps) == \
        "/x/nvidia/cu13/lib/libcublas.so.13"
    assert cuda_cublas.loaded_library_path("libcublas", maps.split("7f50")[0]) is None
    assert cuda_cublas.loaded_library_path("libcublasLt", maps) == \
        "/x/nvidia/cu13/lib/libcublasLt.so.13"
    with pytest.raises(OSError, match="cannot load libcublas.*/nowhere/libcublas.so.13"):
        cuda_cublas.load_library("/nowhere/libcublas.so.13")


# -- graph mode on the stand-in GPU -------------------------------------------------------------
class GraphCupy(ClaimingCupy):
    """The stand-in with the fused paths claimed (each runs the unfused code); its GEMMs are
    counted by path in ``kernel_calls``, as on a GPU. (A class of its own: tests patch it.)"""

    kernel_table = dict(ClaimingCupy.kernel_table)


@pytest.fixture
def graph_backend(monkeypatch):
    serve_cuda_with(monkeypatch, GraphCupy)
    monkeypatch.setattr(probes, "numba_ready", lambda backend: True)
    monkeypatch.delenv("TENSORCORE_GRAPH_GEMM", raising=False)
    monkeypatch.setenv("TENSORCORE_CUBLASLT", "0")  # the graph GEMM alone (no cuBLASLt here)
    yield backends.get_backend("cuda")
    forget_cuda_backends()


_RNG = np.random.default_rng(0)
X, W, B = (_RNG.standard_normal(s) for s in ((6, 4), (3, 4), (3,)))


def _layer_step(backend, graph_mode: bool):
    """A tanh layer's forward and backward, and ``x @ w.T``, with the cupy kernel path."""
    x = tc.tensor(X, device="cuda")
    w = tc.tensor(W, device="cuda", requires_grad=True)
    b = tc.tensor(B, device="cuda", requires_grad=True)
    backend.runtime.graph_mode = graph_mode
    try:
        with tc.backends.use_kernels("cupy"):
            out = tc.nn.functional.linear_act(x, w, b, "tanh")
            (out * out).sum().backward()
            product = x @ w.T
    finally:
        backend.runtime.graph_mode = False
    return [t.detach().cpu().numpy() for t in (out, w.grad, b.grad, product)]


def test_graph_mode_records_cublas_gemms_once_the_probe_passes(graph_backend):
    eager = _layer_step(graph_backend, graph_mode=False)
    assert graph_backend.graph_gemm() == "numba"  # nothing probed yet
    graph_backend.prepare_capture()
    assert graph_backend.graph_gemm() == "cublas"
    graph_backend.kernel_calls.clear()
    captured = _layer_step(graph_backend, graph_mode=True)
    # the forward GEMM, dW (x needs no gradient), then x @ w.T
    assert graph_backend.kernel_calls["matmul", "cublas"] == 3
    assert graph_backend.kernel_calls["linear_act", "cupy"] == 1  # no switch to numba now
    assert graph_backend.kernel_calls["matmul", "numba"] == 0
    for got, want in zip(captured, eager):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(captured[0], np.tanh(X @ W.T + B), rtol=1e-12)
    np.testing.assert_allclose(captured[3], X @ W.T, rtol=1e-12)
    graph_backend.runtime.graph_mode = True
    try:  # empty products never reach cuBLAS; a strided operand is copied first
        assert graph_backend.matmul(np.ones((2, 0)), np.ones((0, 3))).tolist() == [[0.0] * 3] * 2
        strided = np.arange(24.0).reshape(4, 6)[::2, ::2]
        np.testing.assert_allclose(graph_backend.matmul(strided, W[:, :3].T), strided @ W[:, :3].T)
    finally:
        graph_backend.runtime.graph_mode = False


def test_the_probe_checks_at_full_precision_whatever_the_setting(graph_backend):
    import warnings

    from tensorcore.backends.matmul_precision import using

    with using("high"), warnings.catch_warnings():  # TF32 would miss the probe's tolerance
        warnings.simplefilter("error")
        graph_backend.prepare_capture()
        assert tc.get_float32_matmul_precision() == "high"
    assert graph_backend.graph_gemm() == "cublas"


def test_a_failing_probe_warns_and_keeps_the_numba_gemm(graph_backend, monkeypatch):
    def wrong(self, a, b):
        return a @ b + 1

    monkeypatch.setitem(GraphCupy.kernel_table, ("matmul", "cublas"), wrong)
    with pytest.warns(RuntimeWarning, match="cannot be recorded in a CUDA graph here "
                                            r"\(RuntimeError: the replayed GEMM computed"):
        graph_backend.prepare_capture()
    assert graph_backend.graph_gemm() == "numba"
    graph_backend.prepare_capture()  # probed once: no second warning
    _layer_step(graph_backend, graph_mode=True)
    # the stand-in's forward (its numba entry runs the unfused code), then x @ w.T; the
    # backward is one launch
    assert graph_backend.kernel_calls["matmul", "numba"] == 2
    assert graph_backend.kernel_calls["linear_act", "numba"] == 1
    assert graph_backend.kernel_calls["linear_backward", "numba"] == 1


def test_the_probe_fails_a_graph_that_does_not_recompute_from_its_inputs(graph_backend,
                                                                         monkeypatch):
    def stale_replay(fn, change_inputs):  # the result as recorded, before the inputs change
        out = fn().copy()
        change_inputs()
        return out

    monkeypatch.setattr(graph_backend.runtime, "replay_captured", stale_replay)
    with pytest.warns(RuntimeWarning, match="the replayed GEMM computed"):
        graph_backend.prepare_capture()
    assert graph_backend.graph_gemm() == "numba"


def test_the_graph_gemm_can_be_forced_either_way(graph_backend, monkeypatch):
    monkeypatch.setenv("TENSORCORE_GRAPH_GEMM", "numba")
    graph_backend.prepare_capture()
    assert graph_backend.graph_gemm() == "numba"
    monkeypatch.setenv("TENSORCORE_GRAPH_GEMM", "cublas")
    graph_backend.prepare_capture()  # probes now, and passes
    assert graph_backend.graph_gemm() == "cublas"
    monkeypatch.setenv("TENSORCORE_GRAPH_GEMM", "numba")
    graph_backend.prepare_capture()
    assert graph_backend.graph_gemm() == "numba"
    monkeypatch.delenv("TENSORCORE_GRAPH_GEMM")  # a forced choice ends with its setting
    assert graph_backend.graph_gemm() == "cublas"
    monkeypatch.setenv("TENSORCORE_GRAPH_GEMM", "fast")
    with pytest.raises(ValueError, match="TENSORCORE_GRAPH_GEMM='fast': expected auto, cublas"):
        graph_backend.prepare_capture()


def test_a_forced_cublas_gemm_that_fails_its_probe_raises(graph_backend, monkeypatch):
    monkeypatch.setitem(GraphCupy.kernel_table, ("matmul", "cublas"),
                        lambda self, a, b: a @ b * 2)
    monkeypatch.setenv("TENSORCORE_GRAPH_GEMM", "cublas")
    with pytest.warns(RuntimeWarning), pytest.raises(RuntimeError, match="cannot be recorded"):
        graph_backend.prepare_capture()


def test_eager_products_take_the_own_handle_when_asked(graph_backend, monkeypatch):
    default = _layer_step(graph_backend, graph_mode=False)
    assert graph_backend.kernel_calls["matmul", "cublas"] == 0  # CuPy's @ by default
    graph_backend.eager_gemm = "cublas"
    own = _layer_step(graph_backend, graph_mode=False)
    assert graph_backend.kernel_calls["matmul", "cublas"] == 3
    for got, want in zip(own, default):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    monkeypatch.setenv("TENSORCORE_EAGER_GEMM", "numba")
    forget_cuda_backends()
    with pytest.raises(ValueError, match="TENSORCORE_EAGER_GEMM='numba': expected cupy or "
                                         "cublas"):
        backends.get_backend("cuda")


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(cuda_cublas, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
