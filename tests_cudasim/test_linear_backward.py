"""linear_backward (the layer's whole backward in one launch) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ACTS, DTYPES, TOL
from reference import act, act_grad, make

from tensorcore.kernels.numba_cuda.fused import linear_backward


def run(m, n, k, dtype, activation, want=("x", "w", "b"), seed=0):
    """The kernel's gradients (NaN-filled outputs, so that a missed element shows) against
    float64 NumPy on the same inputs."""
    x, w = make((m, k), dtype, seed), make((n, k), dtype, seed + 1, scale=0.5)
    pre = make((m, n), dtype, seed + 2, scale=2.0)
    out = act(pre, activation).astype(dtype)
    g = make((m, n), dtype, seed + 3)
    outs = {"x": np.full((m, k), np.nan, dtype), "w": np.full((n, k), np.nan, dtype),
            "b": np.full(n, np.nan, dtype)}
    got = {name: outs[name] if name in want else None for name in outs}
    linear_backward(g, out, pre, x, w, activation, got["x"], got["w"], got["b"])
    gz = act_grad(g, out, pre, activation)
    expect = {"x": gz @ w.astype(np.float64), "w": gz.T @ x.astype(np.float64),
              "b": gz.sum(axis=0)}
    for name in want:  # sums of up to 64 terms: tolerances scaled by the terms' magnitude
        scale = {"x": np.abs(gz) @ np.abs(w), "w": np.abs(gz.T) @ np.abs(x),
                 "b": np.abs(gz).sum(axis=0)}[name]
        tol = 4 * max(m, n) * np.finfo(dtype).eps * scale + TOL[dtype]["atol"]
        assert np.all(np.abs(got[name] - expect[name]) <= tol), name
    return got


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
def test_every_activation_and_dtype(activation, dtype):
    run(37, 29, 23, dtype, activation)  # no dimension a multiple of the 64 x 16 tiles


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (64, 3, 70), (5, 65, 2), (3, 2, 130)])
def test_edge_shapes_span_several_tiles(m, n, k):
    run(m, n, k, np.float64, "tanh", seed=m + n + k)


@pytest.mark.parametrize("want", [("x",), ("w",), ("b",), ("x", "b"), ("w", "b")])
def test_only_the_wanted_gradients_are_written(want):
    got = run(9, 70, 66, np.float64, "relu", want=want)
    assert all(got[name] is None for name in ("x", "w", "b") if name not in want)


def test_empty_dimensions_give_zeros():
    gx, gw, gb = np.full((0, 3), np.nan), np.full((2, 3), np.nan), np.full(2, np.nan)
    linear_backward(np.ones((0, 2)), np.ones((0, 2)), None, np.ones((0, 3)), np.ones((2, 3)),
                    "relu", gx, gw, gb)
    assert gw.tolist() == [[0.0] * 3] * 2 and gb.tolist() == [0.0, 0.0]
    gx = np.full((4, 3), np.nan)
    linear_backward(np.ones((4, 0)), None, None, np.ones((4, 3)), np.ones((0, 3)), None, gx)
    assert gx.tolist() == [[0.0] * 3] * 4
    gb = np.full(2, np.nan)
    linear_backward(np.ones((4, 2)), None, None, np.ones((4, 0)), np.ones((2, 0)), None,
                    np.empty((4, 0)), np.empty((2, 0)), gb)
    assert gb.tolist() == [4.0, 4.0]


def test_bad_arguments_are_named():
    g = np.ones((2, 3))
    with pytest.raises(ValueError, match="disagree"):
        linear_backward(g, g, None, np.ones((2, 4)), np.ones((3, 5)), "relu")
    with pytest.raises(ValueError, match="needs `pre`"):
        linear_backward(g, g, None, np.ones((2, 4)), np.ones((3, 4)), "gelu")
    with pytest.raises(ValueError, match=r"grad_w must have shape \(3, 4\)"):
        linear_backward(g, g, None, np.ones((2, 4)), np.ones((3, 4)), "relu",
                        grad_w=np.empty((4, 3)))
    with pytest.raises(TypeError, match="x has dtype float32"):
        linear_backward(g, g, None, np.ones((2, 4), np.float32), np.ones((3, 4)), "relu")
