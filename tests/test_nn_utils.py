"""``tensorcore.nn.utils``: gradient clipping by norm and by value (against NumPy),
``l1_penalty`` (value and gradient) and the parameter/vector conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore import nn


def _params_with_grads(device, grads):
    params = []
    for g in grads:
        p = nn.Parameter(tc.zeros(np.shape(g), dtype=tc.float64, device=device))
        p.grad = tc.tensor(g, dtype=tc.float64, device=device)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_scales_to_max_norm(device, norm_type):
    grads = [np.array([[3.0, -4.0], [1.0, 0.5]]), np.array([2.0, -6.0])]
    params = _params_with_grads(device, grads)
    flat = np.concatenate([g.ravel() for g in grads])
    want = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (
        1 / norm_type)
    total = nn.utils.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    assert total.item() == pytest.approx(want, rel=1e-12)
    coef = 1.5 / (want + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(to_numpy(p.grad), g * coef, rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing(device):
    params = _params_with_grads(device, [np.array([0.3, 0.4])])
    params.append(nn.Parameter(tc.zeros(2, device=device)))  # no grad: skipped
    assert nn.utils.clip_grad_norm_(params, 10.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(to_numpy(params[0].grad), [0.3, 0.4])
    single = _params_with_grads(device, [np.array([6.0, 8.0])])[0]
    nn.utils.clip_grad_norm_(single, 1.0)  # a lone tensor is accepted too
    np.testing.assert_allclose(to_numpy(single.grad), [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_nonfinite(device):
    params = _params_with_grads(device, [np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 scales to nan, as in PyTorch
        assert math.isinf(nn.utils.clip_grad_norm_(params, 1.0).item())


def test_clip_grad_value(device):
    params = _params_with_grads(device, [np.array([-3.0, 0.2, 5.0])])
    assert nn.utils.clip_grad_value_(params, 1.0) is None
    np.testing.assert_allclose(to_numpy(params[0].grad), [-1.0, 0.2, 1.0])


def test_l1_penalty_value_and_gradient(device):
    layer = nn.Linear(3, 2, device=device).double()
    w, b = to_numpy(layer.weight), to_numpy(layer.bias)
    penalty = nn.utils.l1_penalty(layer.parameters())
    assert penalty.item() == pytest.approx(np.abs(w).sum() + np.abs(b).sum(), rel=1e-12)
    (0.1 * penalty).backward()
    np.testing.assert_allclose(to_numpy(layer.weight.grad), 0.1 * np.sign(w))
    np.testing.assert_allclose(to_numpy(layer.bias.grad), 0.1 * np.sign(b))
    assert tc.autograd.gradcheck(lambda a, c: nn.utils.l1_penalty([a, c]),
                                 (layer.weight, layer.bias))
    with pytest.raises(ValueError, match="no parameters"):
        nn.utils.l1_penalty([])


def test_parameters_to_vector_and_back(device):
    layer = nn.Linear(3, 2, device=device)
    vec = nn.utils.parameters_to_vector(layer.parameters())
    np.testing.assert_array_equal(to_numpy(vec), np.concatenate(
        [to_numpy(layer.weight).ravel(), to_numpy(layer.bias)]))
    nn.utils.vector_to_parameters(tc.arange(8.0, device=device), layer.parameters())
    assert layer.weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert layer.bias.tolist() == [6.0, 7.0] and layer.weight.requires_grad
    with pytest.raises(RuntimeError, match=r"shape \[5\].*8 elements"):
        nn.utils.vector_to_parameters(tc.zeros(5), layer.parameters())


@pytest.mark.parametrize("norm_type,want", [
    (0, 2.0),           # PyTorch: the 0-"norm" of the per-gradient nonzero counts [3, 2, 0]
    (-math.inf, 0.0),   # the min of the per-gradient min |g| (0 in the first and third)
    (math.inf, 6.0)])
def test_clip_grad_norm_zero_and_infinite_orders_follow_pytorch(device, norm_type, want):
    grads = [np.array([[3.0, -4.0], [0.0, 0.5]]), np.array([2.0, -6.0]), np.zeros(3)]
    params = _params_with_grads(device, grads)
    total = nn.utils.clip_grad_norm_(params, 1.5, norm_type=norm_type, foreach=None)
    assert total.item() == want
    coef = min(1.5 / (want + 1e-6), 1.0)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(to_numpy(p.grad), g * coef, rtol=1e-12)
    nn.utils.clip_grad_value_(params, 0.1, foreach=None)
    assert to_numpy(params[1].grad).tolist() == [0.1, -0.1]
