"""``tensorcore.nn.init``: gains against PyTorch's documented table, fans, exact bounds of the
uniform initialisers, standard deviations of the normal ones on large tensors, generators,
in-place and outside the graph, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import init


@pytest.mark.parametrize("name,param,gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0),
    ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3))])
def test_calculate_gain_table(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity softplus"):
        init.calculate_gain("softplus")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans():
    assert init._calculate_fan_in_and_fan_out(tc.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(tc.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tc.empty(5))


def _assert_uniform(t, bound):
    a = to_numpy(t)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.03 * bound / math.sqrt(3)


def _assert_normal_std(t, std):
    a = to_numpy(t)
    assert abs(a.mean()) < 0.05 * std and abs(a.std() - std) < 0.03 * std


def test_uniform_and_normal(device):
    t = tc.empty(200, 100, device=device)
    init.uniform_(t, -2.0, 3.0)
    a = to_numpy(t)
    assert a.min() >= -2.0 and a.max() <= 3.0 and abs(a.mean() - 0.5) < 0.05
    init.normal_(t, 1.0, 2.0)
    assert abs(to_numpy(t).mean() - 1.0) < 0.05 and abs(to_numpy(t).std() - 2.0) < 0.06


def test_xavier_and_kaiming_scales(device):
    w = tc.empty(300, 200, device=device, dtype=tc.float64)
    init.xavier_uniform_(w, gain=2.0)
    _assert_uniform(w, 2.0 * math.sqrt(6 / 500))
    init.xavier_normal_(w)
    _assert_normal_std(w, math.sqrt(2 / 500))
    init.kaiming_uniform_(w, nonlinearity="relu")
    _assert_uniform(w, math.sqrt(2) * math.sqrt(3 / 200))
    init.kaiming_uniform_(w, a=math.sqrt(5))  # PyTorch's Linear default: bound 1/sqrt(fan_in)
    _assert_uniform(w, 1 / math.sqrt(200))
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    _assert_normal_std(w, math.sqrt(2 / 300))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(w, mode="fan_avg")


def test_in_place_outside_the_graph_and_constants(device):
    p = tc.zeros(3, 4, requires_grad=True, device=device)
    out = init.uniform_(p)
    assert out is p and p.is_leaf and p.requires_grad and p.grad_fn is None
    assert init.constant_(p, 2.5) is p and (to_numpy(p) == 2.5).all()
    assert not to_numpy(init.zeros_(p)).any()
    assert (to_numpy(init.ones_(p)) == 1).all()
    with pytest.raises(TypeError, match="floating-point"):
        init.normal_(tc.zeros(3, dtype=tc.int64))


def test_generator_makes_draws_reproducible():
    g = tc.Generator().manual_seed(11)
    a = to_numpy(init.kaiming_normal_(tc.empty(4, 5), generator=g))
    g.manual_seed(11)
    b = to_numpy(init.kaiming_normal_(tc.empty(4, 5), generator=g))
    np.testing.assert_array_equal(a, b)
    tc.manual_seed(5)
    c = to_numpy(init.xavier_uniform_(tc.empty(4, 5)))
    tc.manual_seed(5)
    np.testing.assert_array_equal(to_numpy(init.xavier_uniform_(tc.empty(4, 5))), c)


def test_kaiming_on_zero_element_tensors_is_a_no_op_as_in_pytorch():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        w = tc.empty(3, 0)  # fan_in 0: the bound would divide by zero
        with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
            assert fn(w) is w
    with pytest.warns(UserWarning, match="no-op"):
        layer = nn.Linear(0, 3)
    assert layer.bias.tolist() == [0.0, 0.0, 0.0]  # bound 1/sqrt(0) taken as 0, as PyTorch
    assert layer(tc.ones(2, 0)).tolist() == [[0.0] * 3] * 2
