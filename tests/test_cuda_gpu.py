"""The CuPy backend on a real GPU (``@pytest.mark.gpu``; skipped without one): the three
kernel paths against closed forms in NumPy at shapes that are not multiples of the tiles,
forward and backward, float32 and float64; double backward through the fused ops on each
path; CUDA Array Interface, DLPack, memory functions and a captured CUDA graph.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_cuda_backend import ACTS, act_and_slope

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import backends
from tensorcore.autograd import gradgradcheck
from tensorcore.backends import matmul_precision

PATHS = ["numba", "cupy", "unfused"]
SHAPES = [(1, 1, 1), (37, 53, 29), (130, 96, 70), (513, 33, 257)]


def _numpy_layer(x, w, b, activation, g):
    y, slope = act_and_slope(x @ w.T + b, activation)
    gz = g * slope
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
    backward = "linear_backward" if path == "numba" else "act_backward"  # numba: one launch
    assert set(be.kernel_calls) == {("linear_act", path), (backward, path)}
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
def test_gpu_interop_and_memory():
    import cupy

    t = tc.arange(6.0, device="cuda")
    assert t.__cuda_array_interface__["shape"] == (6,)
    assert cupy.asarray(t).tolist() == list(range(6))            # through the interface
    assert tc.from_dlpack(cupy.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    assert tc.cuda.memory_allocated() > 0 and tc.cuda.device_count() >= 1
    assert isinstance(tc.cuda.get_device_name(), str)


@pytest.mark.gpu
def test_gpu_fast_launches_pass_their_probe(monkeypatch):
    """The Numba kernels' fast launches (``kernels.cuda_launch``) compute what Numba's
    dispatcher does: the probe keeps them on (a failure would fall back silently, with only
    a warning, so this test makes it visible)."""
    from tensorcore.backends.cuda import probes
    from tensorcore.kernels.numba_cuda import common as cuda_common

    monkeypatch.setattr(probes, "numba_state", {})  # probed here, whatever ran before
    monkeypatch.setattr(cuda_common, "FAST_LAUNCH", True)
    assert probes.numba_ready(backends.get_backend("cuda"))
    assert cuda_common.FAST_LAUNCH


@pytest.mark.gpu
@pytest.mark.parametrize("fast", [True, False], ids=["fast-launch", "numba-dispatcher"])
def test_gpu_numba_layer_matches_numpy_either_launch(fast, monkeypatch):
    from tensorcore.kernels.numba_cuda import common as cuda_common

    monkeypatch.setattr(cuda_common, "FAST_LAUNCH", fast)
    rng = np.random.default_rng(7)
    x, w, b, g = (rng.standard_normal(s) for s in ((37, 29), (53, 29), (53,), (37, 53)))
    ts = [tc.tensor(a.astype(np.float32), device="cuda", requires_grad=True) for a in (x, w, b)]
    with tc.backends.use_kernels("numba"):
        y = F.linear_act(*ts, "gelu")
        y.backward(tc.tensor(g.astype(np.float32), device="cuda"))
    for a, want in zip([y.detach()] + [t.grad for t in ts], _numpy_layer(x, w, b, "gelu", g)):
        np.testing.assert_allclose(a.cpu().numpy(), want, rtol=1e-3, atol=1e-3)
    assert cuda_common.FAST_LAUNCH is fast  # no probe fell back to the other launch


@pytest.mark.gpu
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("activation", [None, "relu"])
def test_gpu_cublaslt_forward_matches_numpy(shape, activation, monkeypatch):
    """The cupy path's one-call cuBLASLt forward (``TENSORCORE_CUBLASLT=1``): its check
    passes, and the layer and its gradients match NumPy."""
    be = backends.get_backend("cuda")
    monkeypatch.setattr(be, "cublaslt", True)
    assert be._cublaslt_works()
    m, n, k = shape
    rng = np.random.default_rng(m + n + k)
    x, w, b, g = (rng.standard_normal(s) for s in ((m, k), (n, k), (n,), (m, n)))
    ts = [tc.tensor(a.astype(np.float32), device="cuda", requires_grad=True) for a in (x, w, b)]
    be.kernel_calls.clear()
    with tc.backends.use_kernels("cupy"):
        y = F.linear_act(*ts, activation)
        y.backward(tc.tensor(g.astype(np.float32), device="cuda"))
    assert be.kernel_calls["linear_act", "cublaslt"] == (min(shape) > 1)  # none with a 1
    scale = 1e-4 * math.sqrt(k)
    for a, want in zip([y.detach()] + [t.grad for t in ts],
                       _numpy_layer(x, w, b, activation, g)):
        np.testing.assert_allclose(a.cpu().numpy(), want, rtol=scale, atol=scale)


@pytest.mark.gpu
def test_gpu_tf32_reaches_cublaslt_and_leaves_cupys_setting(monkeypatch):
    """Below "highest", the cuBLASLt forward rounds to TF32 too (1.0001 is 1.0 there), and
    CuPy's own float32 compute type is as it was (tests/test_matmul_precision.py has the
    other GEMM routes on every device)."""
    import cupy

    be = backends.get_backend("cuda")
    if not be.runtime.has_tf32:
        pytest.skip("this GPU has no TF32 (compute capability below 8.0)")
    monkeypatch.setattr(be, "cublaslt", True)
    assert be._cublaslt_works()  # its one-off check (at full precision) before the count
    x = tc.tensor(np.full((256, 1024), 1.0001, np.float32), device="cuda")
    w, b = tc.ones(128, 1024, device="cuda"), tc.zeros(128, device="cuda")
    cupy_setting = cupy._core.get_compute_type(np.float32)
    be.kernel_calls.clear()
    with matmul_precision.using("high"), tc.backends.use_kernels("cupy"):
        y = F.linear_act(x, w, b, "relu")
        product = x @ w.T
    assert be.kernel_calls["linear_act", "cublaslt"] == 1
    np.testing.assert_array_equal(y.cpu().numpy(), 1024.0)
    np.testing.assert_array_equal(product.cpu().numpy(), 1024.0)
    assert cupy._core.get_compute_type(np.float32) == cupy_setting


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gpu_own_cublas_handle_matches_cupy_matmul(dtype):
    """``kernels.cuda_cublas`` on the real libcublas: transposed, padded and column-major
    operands, on the default stream and on a side stream (its own workspace)."""
    import cupy

    be = backends.get_backend("cuda")
    rng = np.random.default_rng(1)
    x = cupy.asarray(rng.standard_normal((70, 40)).astype(dtype))
    w = cupy.asarray(rng.standard_normal((33, 45)).astype(dtype))
    cases = [(x, w[:, :40].T), (x[5:, :33], w[:, 2:9]),  # transposed; padded rows
             (cupy.asfortranarray(x), w[:, :40].T[:, ::2]),  # column-major; strided columns
             (x[::2, ::2], w[:20, :5])]  # unreadable: copied first
    for stream in (cupy.cuda.Stream.null, cupy.cuda.Stream(non_blocking=True)):
        with stream:
            for a, b in cases:
                got = be.kernel_table["matmul", "cublas"](be, a, b)
                np.testing.assert_allclose(cupy.asnumpy(got), cupy.asnumpy(a @ b), rtol=1e-5,
                                           atol=1e-5)
        stream.synchronize()


@pytest.mark.gpu
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cols", [8, 10])  # vector loads, and rows of 10 floats: none
def test_gpu_layer_with_a_strided_bias_and_odd_offsets(path, cols):
    """The vector-load epilogue takes whole 16-byte vectors only where the row and every
    pointer allow: a bias sliced from a bigger tensor and an input starting 4 bytes into its
    buffer still give NumPy's values."""
    rng = np.random.default_rng(cols)
    x, w, wide = (rng.standard_normal(s).astype(np.float32) for s in ((9, 7), (cols, 7),
                                                                      (2 * cols,)))
    buffer = tc.tensor(np.concatenate([[0.0], x.ravel()]).astype(np.float32), device="cuda")
    xt = buffer[1:].reshape(9, 7)  # 4 bytes past an aligned allocation
    bt = tc.tensor(wide, device="cuda")[::2]
    with tc.backends.use_kernels(path):
        y = F.linear_act(xt, tc.tensor(w, device="cuda"), bt, "relu")
    np.testing.assert_allclose(y.cpu().numpy(), np.maximum(x @ w.T + wide[::2], 0),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.parametrize("activation", [None, "relu"])
def test_gpu_graph_records_the_cublaslt_forward(activation):
    """By default (``TENSORCORE_CUBLASLT=graph``) a captured cupy-path float32 layer runs
    its forward in one cuBLASLt call; replayed on new inputs, the layer and its gradients
    match NumPy's."""
    be = backends.get_backend("cuda")
    rng = np.random.default_rng(7)
    x0, x1, w, b, g = (rng.standard_normal(s) for s in ((40, 24), (40, 24), (36, 24), (36,),
                                                        (40, 36)))
    wt, bt = (tc.tensor(a.astype(np.float32), device="cuda", requires_grad=True)
              for a in (w, b))
    gt = tc.tensor(g.astype(np.float32), device="cuda")

    def step(x):
        wt.grad = bt.grad = None
        x.grad = None
        y = F.linear_act(x, wt, bt, activation)
        y.backward(gt)
        return y, x.grad, wt.grad, bt.grad

    be.kernel_calls.clear()
    with tc.backends.use_kernels("cupy"):
        graph = tc.cuda.graphs.capture(
            step, tc.tensor(x0.astype(np.float32), device="cuda", requires_grad=True),
            warmup=1)
        got = graph.replay(tc.tensor(x1.astype(np.float32), device="cuda"))
    assert be.graph_gemm() == "cublas" and be.kernel_calls["linear_act", "cublaslt"] >= 2
    for a, want in zip(got, _numpy_layer(x1, w, b, activation, g)):
        np.testing.assert_allclose(a.detach().cpu().numpy(), want, rtol=1e-4, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("gemm", ["cublas", "numba"])  # the GEMM the graph records
@pytest.mark.parametrize("path", ["cupy", "numba"])  # can Numba launches be captured?
def test_gpu_graph_capture_and_replay(path, gemm, monkeypatch):
    monkeypatch.setenv("TENSORCORE_GRAPH_GEMM", gemm)
    be = backends.get_backend("cuda")
    be.kernel_calls.clear()
    w = tc.randn(8, 4, device="cuda", requires_grad=True)

    def step(x):
        w.grad = None
        loss = F.linear_act(x, w, None, "tanh").square().sum()
        loss.backward()
        with tc.no_grad():
            w.sub_(0.01 * w.grad)
        return loss

    with tc.backends.use_kernels(path):
        graph = tc.cuda.graphs.capture(step, tc.ones(16, 4, device="cuda"), warmup=1)
        x = tc.randn(16, 4, device="cuda")
        ref = w.detach().clone().requires_grad_()
        loss = graph.replay(x)
        want = F.linear_act(x, ref, None, "tanh").square().sum()  # eager, same path
        want.backward()
    tc.cuda.synchronize()
    # the graph records the GEMMs of the split backward, or the numba path's one launch
    one_launch = be.kernel_calls["linear_backward", "numba"] > 0
    assert be.graph_gemm() == gemm and (be.kernel_calls["matmul", gemm] > 0) != one_launch
    assert abs(loss.item() - want.item()) < 1e-4 * abs(want.item())
    np.testing.assert_allclose(w.detach().cpu().numpy(),  # the replay updated w in place
                               (ref - 0.01 * ref.grad).detach().cpu().numpy(), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="static shapes"):
        graph.replay(tc.ones(3, 4, device="cuda"))
