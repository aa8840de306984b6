"""linear_act_forward (GEMM + bias + activation in one launch) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ACTS, DTYPES, TOL
from reference import act, make

from tensorcore.kernels.numba_cuda.fused import linear_act_forward


def run_forward(m, n, k, dtype, activation, with_bias, with_pre, seed=0):
    x, w = make((m, k), dtype, seed), make((n, k), dtype, seed + 1)
    b = make(n, dtype, seed + 2) if with_bias else None
    out = np.full((m, n), np.nan, dtype)
    pre = np.full((m, n), np.nan, dtype) if with_pre else None
    linear_act_forward(x, w, b, activation, out, pre)
    z = x.astype(np.float64) @ w.astype(np.float64).T
    if with_bias:
        z += b
    np.testing.assert_allclose(out, act(z, activation), **TOL[dtype])
    if with_pre:
        np.testing.assert_allclose(pre, z, **TOL[dtype])


# 37 x 50 x 23: no dimension a multiple of the 64 x 64 x 16 tile; K spans two K tiles.
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("activation", ACTS)
def test_every_activation_dtype_and_bias(activation, with_bias, dtype):
    run_forward(37, 50, 23, dtype, activation, with_bias,
                with_pre=activation == "gelu" or with_bias)


@pytest.mark.parametrize("m,n,k,dtype", [
    (1, 1, 1, np.float32),
    (64, 3, 17, np.float64),  # a full tile of rows, a sliver of columns
    (3, 64, 16, np.float32),  # exactly one K tile
    (67, 70, 40, np.float64),  # 2 x 2 blocks: interior tile edges, partial edge tiles
    (5, 4, 0, np.float64),  # K = 0: out = act(b)
])
def test_edge_shapes(m, n, k, dtype):
    run_forward(m, n, k, dtype, "gelu", with_bias=True, with_pre=True, seed=m + n + k)


def test_empty_output_is_a_no_op():
    x, w = np.ones((0, 3)), np.ones((4, 3))
    linear_act_forward(x, w, None, "relu", np.empty((0, 4)))  # must not launch or raise


def test_relu_propagates_nan():
    x = np.array([[np.nan, 1.0], [-1.0, 0.5]], np.float32)
    w = np.eye(2, dtype=np.float32)
    out = np.empty((2, 2), np.float32)
    linear_act_forward(x, w, None, "relu", out)
    assert np.isnan(out[0, 0]) and out[1].tolist() == [0.0, 0.5]


def _arrays(dtype=np.float32):
    return np.ones((2, 3), dtype), np.ones((4, 3), dtype), np.ones(4, dtype), \
        np.empty((2, 4), dtype)


@pytest.mark.parametrize("change,error,match", [
    (lambda a: a.update(activation="isru"), ValueError, "unknown activation"),
    (lambda a: a.update(w=np.ones((4, 5), np.float32)), ValueError, "disagree on K"),
    (lambda a: a.update(out=np.empty((4, 2), np.float32)), ValueError, r"out must have shape"),
    (lambda a: a.update(b=np.ones(3, np.float32)), ValueError, r"b must have shape \(4,\)"),
    (lambda a: a.update(b=np.ones(4)), TypeError, "b has dtype float64"),
    (lambda a: a.update(x=np.ones((2, 3), np.int64)), TypeError, "x must be float32"),
    (lambda a: a.update(x=np.ones((3, 2), np.float32).T), ValueError, "C-contiguous"),
    (lambda a: a.update(x=[[1.0, 2.0, 3.0]]), TypeError, "device array"),
    (lambda a: a.update(activation="gelu"), ValueError, "needs `pre`"),
])
def test_bad_arguments_raise(change, error, match):
    x, w, b, out = _arrays()
    args = dict(x=x, w=w, b=b, activation="relu", out=out)
    change(args)
    with pytest.raises(error, match=match):
        linear_act_forward(**args)
