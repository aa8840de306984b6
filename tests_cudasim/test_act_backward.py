"""act_backward (activation gradient fused with the bias-gradient column sum) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ACTS, DTYPES, TOL
from reference import act, act_grad, make

from tensorcore.kernels.numba_cuda import common as cuda_common
from tensorcore.kernels.numba_cuda.fused import act_backward


def saved_forward(m, n, dtype, activation, seed=0):
    """(pre, out) of a forward pass, rounded to dtype, as the backward receives them."""
    pre = make((m, n), dtype, seed, scale=2.0)
    return pre, act(pre, activation).astype(dtype)


def run_backward(m, n, dtype, activation, with_bias, seed=0):
    pre, out = saved_forward(m, n, dtype, activation, seed)
    g = make((m, n), dtype, seed + 1)
    grad_z = np.full((m, n), np.nan, dtype)
    grad_b = np.full(n, np.nan, dtype) if with_bias else None
    act_backward(g, out, pre, activation, grad_z, grad_b)
    expect = act_grad(g, out, pre, activation)
    np.testing.assert_allclose(grad_z, expect, **TOL[dtype])
    if with_bias:
        # a column sum of m terms: allow m roundings of the summands' magnitude
        tol = m * np.finfo(dtype).eps * np.abs(expect).sum(axis=0) + TOL[dtype]["atol"]
        assert np.all(np.abs(grad_b - expect.sum(axis=0)) <= tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("activation", ACTS)
def test_every_activation_dtype_and_bias(activation, with_bias, dtype):
    run_backward(37, 50, dtype, activation, with_bias)


@pytest.mark.parametrize("activation,dtype", [("relu", np.float32), ("gelu", np.float64),
                                              (None, np.float32)])
def test_bias_gradient_in_two_stages(small_chunks, activation, dtype):
    m, n = 37, 33  # 3 row chunks of 16 (the last one partial), 2 column strips
    assert cuda_common.launch_config("act_backward", m, n)[0] == (2, 3)
    run_backward(m, n, dtype, activation, with_bias=True, seed=5)


@pytest.mark.parametrize("m,n", [(1, 1), (64, 3), (9, 64)])
def test_edge_shapes(m, n):
    run_backward(m, n, np.float64, "tanh", with_bias=True, seed=m * n)


def test_no_rows_gives_a_zero_bias_gradient():
    grad_b = np.full(3, np.nan)
    act_backward(np.empty((0, 3)), np.empty((0, 3)), None, "relu", np.empty((0, 3)), grad_b)
    assert grad_b.tolist() == [0.0, 0.0, 0.0]


def test_bias_gradient_is_reproducible(small_chunks):
    pre, out = saved_forward(40, 5, np.float32, "sigmoid")
    g = make((40, 5), np.float32, 1, scale=100.0)
    results = []
    for _ in range(2):
        grad_z, grad_b = np.empty_like(g), np.empty(5, np.float32)
        act_backward(g, out, pre, "sigmoid", grad_z, grad_b)
        results.append(grad_b)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("activation,missing", [("relu", "out"), ("tanh", "out"),
                                                ("gelu", "pre")])
def test_missing_saved_array_raises(activation, missing):
    g = np.ones((2, 3))
    saved = dict(out=g.copy(), pre=g.copy())
    saved[missing] = None
    with pytest.raises(ValueError, match=f"needs `{missing}`"):
        act_backward(g, saved["out"], saved["pre"], activation, np.empty((2, 3)))


def test_mismatched_arguments_raise():
    g = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"grad_z must have shape \(2, 3\)"):
        act_backward(g, g.copy(), None, "relu", np.empty((3, 2)))
    with pytest.raises(ValueError, match=r"grad_b must have shape \(3,\)"):
        act_backward(g, g.copy(), None, "relu", np.empty((2, 3)), np.empty(2))
    with pytest.raises(TypeError, match="out has dtype float32"):
        act_backward(g, np.ones((2, 3), np.float32), None, "relu", np.empty((2, 3)))
