"""The CuPy backend's ``numba`` kernel path end to end, under the simulator.

The backend runs on the NumPy stand-in of ``tests/standin_cuda.py`` (the simulator takes
NumPy arrays), with the ``numba`` path forced: ``F.linear_act`` and ``F.cross_entropy`` on
``cuda`` go through the engine, the backend's dispatch and the Numba-CUDA kernels, and must
give the CPU backend's values and gradients.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import backends

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import forget_cuda_backends, serve_cuda_with  # noqa: E402
from standin_cuda import StandInCupy  # noqa: E402


class NumbaStandIn(StandInCupy):
    fused_paths = ("numba",)


@pytest.fixture
def numba_cuda(monkeypatch):
    serve_cuda_with(monkeypatch, NumbaStandIn)
    with backends.use_kernels("numba"):
        yield
    forget_cuda_backends()


def _step(device, x, w1, b1, w2, b2, labels, activation):
    params = [tc.tensor(a, device=device, requires_grad=True) for a in (w1, b1, w2, b2)]
    h = F.linear_act(tc.tensor(x, device=device), params[0], params[1], activation)
    loss = F.cross_entropy(F.linear(h, params[2], params[3]), tc.tensor(labels, device=device))
    loss.backward()
    return [loss.detach().cpu().numpy()] + [p.grad.cpu().numpy() for p in params]


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh", "silu"])
def test_numba_path_matches_the_cpu(numba_cuda, activation):
    rng = np.random.default_rng(0)
    n, d, h, c = 13, 17, 20, 5  # not multiples of the tile
    x = rng.standard_normal((n, d))
    w1, b1 = rng.standard_normal((h, d)) * 0.3, rng.standard_normal(h) * 0.1
    w2, b2 = rng.standard_normal((c, h)) * 0.3, rng.standard_normal(c) * 0.1
    labels = rng.integers(0, c, n)
    on_gpu = _step("cuda", x, w1, b1, w2, b2, labels, activation)
    on_cpu = _step("cpu", x, w1, b1, w2, b2, labels, activation)
    for g, r in zip(on_gpu, on_cpu):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)
    ran = backends.get_backend("cuda").kernel_calls
    assert {entry for entry, path in ran if path == "numba"} == {
        "linear_act", "linear_backward", "softmax_ce", "softmax_ce_backward"}
    assert all(path == "numba" for _, path in ran)


def test_auto_runs_its_probe_then_takes_the_numba_path(monkeypatch):
    """``auto`` launches its one-off probe kernel (here under the simulator), finds the path
    working and sends a small layer to it (with a table that sends small layers to numba;
    the measured one sends none)."""
    from tensorcore.backends import kernel_paths
    from tensorcore.backends.cuda import probes

    monkeypatch.setitem(kernel_paths.AUTO_THRESHOLDS, "linear_act", 256)
    monkeypatch.setattr(probes, "numba_state", {})
    serve_cuda_with(monkeypatch, NumbaStandIn)
    try:
        assert backends.get_kernels() == "auto"
        x, w = (tc.tensor(np.ones(s), device="cuda") for s in ((3, 2), (4, 2)))
        assert F.linear_act(x, w, None, "relu").cpu().tolist() == [[2.0] * 4] * 3
        assert probes.numba_state["ready"] is True
        assert dict(backends.get_backend("cuda").kernel_calls) == {("linear_act", "numba"): 1}
    finally:
        forget_cuda_backends()


@pytest.mark.parametrize("shape", [(13, 17, 20), (1, 5, 1), (33, 2, 70)])
def test_graph_mode_matmul_runs_the_numba_gemm(numba_cuda, shape):
    """In graph mode (``tc.cuda.graphs.capture``) 2-D products avoid cuBLAS: ``a @ b`` runs
    on the Numba GEMM, a layer's backward in one Numba launch, and both still give the CPU's
    values and gradients."""
    m, k, n = shape
    rng = np.random.default_rng(m)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    backend = backends.get_backend("cuda")
    backend.runtime.graph_mode = True
    got = tc.tensor(a, device="cuda") @ tc.tensor(b, device="cuda")
    np.testing.assert_allclose(got.cpu().numpy(), a @ b, rtol=1e-12, atol=1e-12)
    x, w1, b1 = rng.standard_normal((m, k)), rng.standard_normal((n, k)), rng.standard_normal(n)
    w2, b2, labels = rng.standard_normal((3, n)), rng.standard_normal(3), rng.integers(0, 3, m)
    on_gpu = _step("cuda", x, w1, b1, w2, b2, labels, "tanh")
    on_cpu = _step("cpu", x, w1, b1, w2, b2, labels, "tanh")
    for g, r in zip(on_gpu, on_cpu):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)
    assert backend.kernel_calls["matmul", "numba"] == 1  # a @ b
    assert backend.kernel_calls["linear_backward", "numba"] == 2  # the step's two layers
