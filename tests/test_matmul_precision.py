"""``tc.set_float32_matmul_precision``: the setting and its errors, and what it does to
products on every device. In TF32, 1.0001 rounds to 1.0, so a row of 1.0001 times a column
of ones sums to exactly the row's length where the GEMM rounds its inputs to TF32 and to
about 1.0001 times it where it does not. On ``cuda`` (a GPU with TF32, or the stand-in,
whose GEMMs round as cuBLAS does with TF32 allowed) float32 products round below
``"highest"``, through CuPy's ``@`` and through tensorcore's own cuBLAS handle, forward and
backward; float64 products and the CPU never do."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

ROWS, DEPTH, COLS = 256, 1024, 128  # big enough for cuBLAS to pick tensor-core kernels
NEAR_ONE = 1.0001


@pytest.fixture(autouse=True)
def highest_afterwards():
    yield
    tc.set_float32_matmul_precision("highest")


def test_highest_is_the_default_and_the_setting_reads_back():
    assert tc.get_float32_matmul_precision() == "highest"
    for precision in ("high", "medium", "highest"):
        tc.set_float32_matmul_precision(precision)
        assert tc.get_float32_matmul_precision() == precision


def test_unknown_precisions_are_refused_by_name():
    tc.set_float32_matmul_precision("high")
    with pytest.raises(ValueError, match="unknown float32 matmul precision 'tf32'; expected "
                                         "one of highest, high, medium"):
        tc.set_float32_matmul_precision("tf32")
    with pytest.raises(TypeError, match="expects a str, but got int"):
        tc.set_float32_matmul_precision(3)
    assert tc.get_float32_matmul_precision() == "high"  # unchanged by the refused calls


def _rounds_to_tf32(device: str, precision: str) -> bool:
    if device != "cuda" or precision == "highest":
        return False
    return tc.backends.get_backend("cuda").runtime.has_tf32  # Ampere (8.0) and later


def _route(device: str, route: str, monkeypatch) -> None:
    if route == "own-cublas":
        if device != "cuda":
            pytest.skip("tensorcore's own cuBLAS handle serves cuda only")
        monkeypatch.setattr(tc.backends.get_backend("cuda"), "eager_gemm", "cublas")


@pytest.mark.parametrize("route", ["default", "own-cublas"])
@pytest.mark.parametrize("precision", ["highest", "high", "medium"])
def test_float32_products_round_to_tf32_on_cuda_below_highest(device, precision, route,
                                                               monkeypatch):
    _route(device, route, monkeypatch)
    x = tc.tensor(np.full((ROWS, DEPTH), NEAR_ONE, np.float32), device=device,
                  requires_grad=True)
    w = tc.tensor(np.ones((COLS, DEPTH), np.float32), device=device, requires_grad=True)
    tc.set_float32_matmul_precision(precision)
    with tc.backends.use_kernels("cupy"):  # the layer's GEMMs on cuBLAS (auto: numba, small)
        product, layer = x @ w.T, F.linear(x, w)
        layer.sum().backward()  # w.grad = ones.T @ x: columns of ROWS x 1.0001
    got = [to_numpy(t) for t in (product, layer, w.grad)]
    if _rounds_to_tf32(device, precision):
        for values, length in zip(got, (DEPTH, DEPTH, ROWS)):
            np.testing.assert_array_equal(values, np.float32(length))
    else:
        for values, length in zip(got, (DEPTH, DEPTH, ROWS)):
            np.testing.assert_allclose(values, length * np.float32(NEAR_ONE), rtol=1e-5)


@pytest.mark.gpu
def test_the_numba_path_keeps_full_precision_below_highest():
    """The Numba kernels have no tensor cores: a layer on the numba path (which auto takes
    for small layers) computes in float32 whatever the setting, as the setting allows."""
    x = tc.tensor(np.full((ROWS, DEPTH), NEAR_ONE, np.float32), device="cuda")
    w = tc.ones(COLS, DEPTH, device="cuda", requires_grad=True)
    tc.set_float32_matmul_precision("high")
    with tc.backends.use_kernels("numba"):
        layer = F.linear(x, w)
        layer.sum().backward()
    for values, length in ((layer, DEPTH), (w.grad, ROWS)):
        np.testing.assert_allclose(to_numpy(values), length * np.float32(NEAR_ONE), rtol=1e-5)


@pytest.mark.parametrize("route", ["default", "own-cublas"])
def test_float64_products_keep_full_precision(device, route, monkeypatch):
    _route(device, route, monkeypatch)
    x = tc.tensor(np.full((4, DEPTH), NEAR_ONE), device=device)
    tc.set_float32_matmul_precision("high")
    np.testing.assert_allclose(to_numpy(x @ tc.ones(DEPTH, 3, dtype=tc.float64, device=device)),
                               DEPTH * NEAR_ONE, rtol=1e-13)
