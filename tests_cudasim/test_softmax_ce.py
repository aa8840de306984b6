"""softmax_ce_forward / softmax_ce_backward against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOL
from reference import make, softmax_ce

from tensorcore.kernels.numba_cuda.fused import softmax_ce_backward, softmax_ce_forward


def forward(z, target):
    losses, probs = np.full(len(z), np.nan, z.dtype), np.full(z.shape, np.nan, z.dtype)
    softmax_ce_forward(z, target, losses, probs)
    return losses, probs


# (2, 300): more classes than the 256 threads of a row's block; (7, 3): fewer than a warp;
# (6, 37): a 64-thread block and two column strips in the backward.
@pytest.mark.parametrize("m,c,dtype", [(1, 1, np.float32), (1, 1, np.float64),
                                       (7, 3, np.float32), (6, 37, np.float64),
                                       (2, 300, np.float32)])
def test_forward_and_backward_match_numpy(m, c, dtype):
    rng = np.random.default_rng(m * c)
    z = make((m, c), dtype, m + c, scale=30.0)
    target = rng.integers(0, c, m)
    losses, probs = forward(z, target)
    ref_losses, ref_probs = softmax_ce(z, target)
    np.testing.assert_allclose(losses, ref_losses, **TOL[dtype])
    np.testing.assert_allclose(probs, ref_probs, **TOL[dtype])
    per_row = rng.standard_normal(m).astype(dtype)
    grad = np.full((m, c), np.nan, dtype)
    before = probs.copy()
    softmax_ce_backward(probs, target, per_row, grad)
    expect = (ref_probs - np.eye(c)[target]) * per_row[:, None]
    np.testing.assert_allclose(grad, expect, **TOL[dtype])
    np.testing.assert_array_equal(probs, before)  # left alone


@pytest.mark.parametrize("kind", ["number", "0-d", "(1,)", "(N,)", "(N, 1)"])
def test_backward_scale_forms(kind):
    probs = np.array([[0.25, 0.75], [0.5, 0.5], [0.9, 0.1]])
    target = np.array([1, 0, 0])
    per_row = np.array([1.0, -2.0, 0.5])
    scale, column = {
        "number": (0.5, 0.5), "0-d": (np.array(0.5), 0.5), "(1,)": (np.array([0.5]), 0.5),
        "(N,)": (per_row, per_row[:, None]), "(N, 1)": (per_row[:, None], per_row[:, None]),
    }[kind]
    grad = np.full((3, 2), np.nan)
    softmax_ce_backward(probs, target, scale, grad)
    np.testing.assert_allclose(grad, (probs - np.eye(2)[target]) * column, rtol=1e-15)


def test_extreme_logits_stay_finite():
    z = np.array([[1000.0, -1000.0, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    losses, probs = forward(z, np.array([1, 2]))
    np.testing.assert_allclose(losses, [2000.0, np.log(3.0)], rtol=1e-6)
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_nan_logit_and_bad_target_give_nan_loss():
    z = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0]])
    losses, _ = forward(z, np.array([0, 3]))  # row 0: NaN logit; row 1: target out of range
    assert np.isnan(losses).all()


def test_bad_arguments_raise():
    z, probs = np.zeros((2, 3)), np.zeros((2, 3))
    with pytest.raises(TypeError, match="target must be int64"):
        softmax_ce_forward(z, np.array([0, 1], np.int32), np.empty(2), probs)
    with pytest.raises(ValueError, match=r"target must have shape \(2,\)"):
        softmax_ce_forward(z, np.array([0, 1, 2]), np.empty(2), probs)
    with pytest.raises(ValueError, match=r"losses must have shape \(2,\)"):
        softmax_ce_forward(z, np.array([0, 1]), np.empty(3), probs)
    with pytest.raises(ValueError, match="no classes"):
        softmax_ce_forward(np.zeros((2, 0)), np.array([0, 1]), np.empty(2), np.zeros((2, 0)))
    for bad in (np.ones(3), np.ones((1, 2)), np.ones((2, 1, 1))):
        with pytest.raises(ValueError, match="scale must be a number or hold 1 or 2"):
            softmax_ce_backward(probs, np.array([0, 1]), bad, np.empty((2, 3)))
    with pytest.raises(TypeError, match="scale must be a number or a device array"):
        softmax_ce_backward(probs, np.array([0, 1]), [1.0, 2.0], np.empty((2, 3)))
