"""Pointwise losses where they were found apart from PyTorch 2.13: the Huber and smooth L1
gradients at an infinite difference (+-delta, not NaN), and binary_cross_entropy's target
outside [0, 1] (PyTorch raises). Expected values are written out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F


@pytest.mark.parametrize("loss,slope,small", [
    (lambda x, y: F.huber_loss(x, y, reduction="sum", delta=0.5), 0.5, 0.1),
    (lambda x, y: F.huber_loss(x, y, reduction="sum"), 1.0, 0.1),
    (lambda x, y: F.smooth_l1_loss(x, y, reduction="sum", beta=0.5), 1.0, 0.2),
], ids=["huber-0.5", "huber-1", "smooth_l1-0.5"])
def test_huber_gradient_at_an_infinite_difference(device, loss, slope, small):
    x = tc.tensor(np.array([0.5, -1.0, 2.0, 0.1]), device=device, requires_grad=True)
    y = tc.tensor(np.array([math.nan, math.inf, -math.inf, 0.0]), device=device)
    value = loss(x, y)
    assert math.isnan(value.item())  # the NaN difference
    value.backward()
    grad = to_numpy(x.grad)
    assert math.isnan(grad[0])
    # the linear part's slope at -inf and +inf; the quadratic part's at 0.1
    assert grad[1:].tolist() == pytest.approx([-slope, slope, small])


def test_huber_values_unchanged(device):
    x = tc.tensor(np.array([0.25, 3.0, -2.0]), device=device, requires_grad=True)
    got = F.huber_loss(x, tc.zeros(3, dtype=tc.float64, device=device), reduction="none")
    assert got.tolist() == [0.03125, 2.5, 1.5]
    got.sum().backward()
    assert to_numpy(x.grad).tolist() == [0.25, 1.0, -1.0]


@pytest.mark.parametrize("target", [[0.5, 1.5], [-0.25, 0.5], [math.nan, 0.5]])
def test_binary_cross_entropy_target_outside_zero_one(device, target):
    x = tc.tensor([0.5, 0.5], device=device)
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(x, tc.tensor(target, device=device))
    with pytest.raises(RuntimeError, match="all elements of input"):  # the input first
        F.binary_cross_entropy(tc.tensor([2.0, 0.5], device=device),
                               tc.tensor(target, device=device))
    assert F.binary_cross_entropy(x, tc.tensor([0.0, 1.0], device=device)).item() == \
        pytest.approx(math.log(2.0))


def test_binary_cross_entropy_target_gradient_is_not_clamped(device):
    x = tc.tensor(np.array([0.0, 1.0, 0.25]), device=device)
    y = tc.tensor(np.array([0.5, 0.5, 0.5]), device=device, requires_grad=True)
    F.binary_cross_entropy(x, y, reduction="sum").backward()
    assert to_numpy(y.grad).tolist() == pytest.approx([math.inf, -math.inf, math.log(3.0)])


# -- dtypes, as PyTorch's kernels take them ---------------------------------------------------
def _pair(device, a, b):
    return (tc.tensor([0.5, 0.25], device=device).to(a),
            tc.tensor([0.5, 1.0], device=device).to(b))


@pytest.mark.parametrize("fn,a,b,want", [
    # huber_loss computes in the input's dtype
    ("huber_loss", tc.float32, tc.float64, tc.float32),
    ("huber_loss", tc.float64, tc.bool, tc.float64),
    ("huber_loss", tc.int64, tc.float32, RuntimeError),       # float result into int64
    ("huber_loss", tc.bool, tc.int64, RuntimeError),
    ("huber_loss", tc.int64, tc.bool, NotImplementedError),
    ("smooth_l1_loss", tc.float32, tc.bool, tc.float32),      # bool promoted, not subtracted
    ("smooth_l1_loss", tc.bool, tc.float64, tc.float64),
    ("smooth_l1_loss", tc.bool, tc.bool, NotImplementedError),
    # binary_cross_entropy: one dtype
    ("binary_cross_entropy", tc.float32, tc.float64, RuntimeError),
    ("binary_cross_entropy", tc.float64, tc.float32, RuntimeError),
    ("binary_cross_entropy", tc.int64, tc.float32, RuntimeError),
    ("binary_cross_entropy", tc.int64, tc.int64, NotImplementedError),
    # ... with_logits: the target's floating dtype
    ("binary_cross_entropy_with_logits", tc.float64, tc.float32, tc.float32),
    ("binary_cross_entropy_with_logits", tc.float32, tc.float64, tc.float64),
    ("binary_cross_entropy_with_logits", tc.float32, tc.int64, RuntimeError),
    ("binary_cross_entropy_with_logits", tc.int64, tc.float32, NotImplementedError),
    ("binary_cross_entropy_with_logits", tc.bool, tc.int64, NotImplementedError),
])
def test_pointwise_loss_dtypes(device, fn, a, b, want):
    x, y = _pair(device, a, b)
    if isinstance(want, type):
        with pytest.raises(want):
            getattr(F, fn)(x, y)
        return
    out = getattr(F, fn)(x, y, reduction="none")
    assert out.dtype == want
    xf, yf = (t.to(tc.float64) for t in (x, y))
    np.testing.assert_allclose(to_numpy(out), to_numpy(getattr(F, fn)(xf, yf, reduction="none")),
                               rtol=1e-6)
