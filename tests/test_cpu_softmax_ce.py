"""The Numba softmax cross-entropy kernel against a NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from tensorcore.kernels.cpu.softmax_ce import softmax_ce_backward, softmax_ce_forward


def _reference(z, t):
    z = z.astype(np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    probs = np.exp(shifted - lse[:, None])
    return lse - shifted[np.arange(len(t)), t], probs


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("n,c", [(1, 1), (7, 3), (33, 10), (5, 1000)])
def test_forward_and_backward_match_numpy(dtype, tol, n, c):
    rng = np.random.default_rng(n * c)
    z = (rng.standard_normal((n, c)) * 30).astype(dtype)
    t = rng.integers(0, c, n)
    losses, probs = softmax_ce_forward(z, t)
    ref_losses, ref_probs = _reference(z, t)
    assert losses.dtype == dtype and probs.dtype == dtype
    np.testing.assert_allclose(losses, ref_losses, rtol=tol, atol=tol)
    np.testing.assert_allclose(probs, ref_probs, rtol=tol, atol=tol)
    onehot = np.eye(c)[t]
    for scale in (0.25, rng.standard_normal(n)):
        before = probs.copy()
        grad = softmax_ce_backward(probs, t, scale)
        expect = (ref_probs - onehot) * np.reshape(scale, (-1, 1) if np.ndim(scale) else ())
        np.testing.assert_allclose(grad, expect, rtol=tol, atol=tol)
        np.testing.assert_array_equal(probs, before)  # left alone


def test_extreme_logits_stay_finite():
    z = np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32)
    losses, probs = softmax_ce_forward(z, np.array([1]))
    assert np.isfinite(losses).all() and np.isfinite(probs).all()
    np.testing.assert_allclose(losses, [2000.0])


@pytest.mark.parametrize("bad", [3, -1])
def test_forward_names_a_target_outside_the_classes(bad):
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds for 3 classes"):
        softmax_ce_forward(np.zeros((2, 3)), np.array([0, bad]))
