"""The layers of ``tensorcore.nn`` on every backend: values against NumPy, gradients with
gradcheck (float64), ``Sequential``'s Linear + activation fusion against the unfused path,
containers, Dropout, BatchNorm1d and LayerNorm (with their functional forms) and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.autograd import gradcheck

_erf = np.vectorize(math.erf)


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _t(a, device, grad=False):
    return tc.tensor(a, dtype=tc.float64, device=device, requires_grad=grad)


# -- Linear --------------------------------------------------------------------------------------
def test_linear_values_init_bounds_and_dtype(device):
    layer = nn.Linear(50, 30, device=device, dtype=tc.float64)
    w, b = to_numpy(layer.weight), to_numpy(layer.bias)
    assert w.shape == (30, 50) and b.shape == (30,) and layer.weight.dtype == tc.float64
    bound = 1 / math.sqrt(50)  # kaiming_uniform_(a=sqrt(5)) and the bias rule both give this
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    x = _rand(1, 4, 50)
    np.testing.assert_allclose(to_numpy(layer(_t(x, device))), x @ w.T + b, rtol=1e-12)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 2, bias=False).named_parameters()] == ["weight"]


def test_linear_gradcheck_and_shape_error(device):
    layer = nn.Linear(4, 3, device=device).double()
    x = _t(_rand(2, 2, 5, 4), device, grad=True)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, layer.weight, layer.bias))
    with pytest.raises(RuntimeError, match=r"\(2x5 and 4x3\)"):
        layer(_t(_rand(3, 2, 5), device))


# -- Sequential and its fusion -------------------------------------------------------------------
@pytest.mark.parametrize("act_cls,act_fn", [
    (nn.ReLU, lambda z: z.relu()), (nn.GELU, F.gelu),
    (nn.Sigmoid, lambda z: z.sigmoid()), (nn.Tanh, lambda z: z.tanh())])
def test_sequential_fuses_linear_and_activation(device, act_cls, act_fn):
    tc.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 4), act_cls()).to(device).double()
    x = _rand(4, 6, 5)
    fused_x, plain_x = _t(x, device, grad=True), _t(x, device, grad=True)
    fused = model(fused_x)
    assert fused.grad_fn.name() == "LinearActBackward0"
    fused.sum().backward()
    fused_grads = [to_numpy(p.grad) for p in model.parameters()]
    model.zero_grad()
    plain = act_fn(model[0](plain_x))  # the two modules one after the other
    assert plain.grad_fn.name() != "LinearActBackward0"
    plain.sum().backward()
    np.testing.assert_allclose(to_numpy(fused), to_numpy(plain), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(to_numpy(fused_x.grad), to_numpy(plain_x.grad), rtol=1e-12,
                               atol=1e-14)
    for got, want in zip(fused_grads, (to_numpy(p.grad) for p in model.parameters())):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_sequential_does_not_fuse_what_it_cannot():
    x = tc.randn(2, 3)
    approx = nn.Sequential(nn.Linear(3, 3), nn.GELU(approximate="tanh"))
    assert approx(x).grad_fn.name() != "LinearActBackward0"

    class Scaled(nn.Linear):  # a subclass may change forward: run it as written
        def forward(self, input):
            return super().forward(input) * 2

    model = nn.Sequential(Scaled(3, 3), nn.ReLU())
    np.testing.assert_allclose(to_numpy(model(x)),
                               np.maximum(to_numpy(model[0](x)), 0), rtol=1e-6)


def test_sequential_container_protocol():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b)
    assert len(model) == 2 and model[0] is a and model[-1] is b and list(model) == [a, b]
    model.append(c)
    assert model[2] is c and [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert isinstance(model[1:], nn.Sequential) and list(model[1:]) == [b, c]
    del model[0]
    assert list(model) == [b, c] and list(model._modules) == ["0", "1"]
    with pytest.raises(IndexError, match="out of range"):
        model[5]
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("fc", a), ("act", nn.Tanh())]))
    assert named.fc is a and [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Tanh", "Linear", "Linear", "Linear", "ReLU"]
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(3)
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 2)})
    assert list(heads) == ["a", "b"] and "a" in heads and heads["b"].out_features == 2
    assert [n for n, _ in heads.named_parameters()][:2] == ["a.weight", "a.bias"]
    assert heads.pop("a").out_features == 1 and list(heads.keys()) == ["b"]
    with pytest.raises(KeyError):
        heads["zz"]
    heads.update([("fc", nn.Tanh())])
    copied = nn.ModuleDict(heads)  # from another ModuleDict (it iterates its keys)
    assert list(copied.items()) == list(heads.items()) and copied["fc"] is heads["fc"]
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        nn.ModuleDict([("c", nn.ReLU(), 3)])
    with pytest.raises(TypeError, match="iterable of key/value pairs"):
        heads.update(3)


# -- activations, Flatten, Identity ------------------------------------------------------------
ACTIVATIONS = [
    (nn.ReLU(), "relu", lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), "leaky_relu", lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(0.5), "elu", lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (nn.GELU(), "gelu", lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    (nn.GELU("tanh"), "gelu", lambda x: 0.5 * x * (1 + np.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (nn.Sigmoid(), "sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), "tanh", np.tanh),
    (nn.Softmax(dim=1), "softmax", lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=0), "log_softmax",
     lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
]


@pytest.mark.parametrize("module,fn_name,reference", ACTIVATIONS,
                         ids=[repr(m) for m, _, _ in ACTIVATIONS])
def test_activation_modules(device, module, fn_name, reference):
    x = _rand(5, 4, 3) + 0.05  # away from the kinks
    np.testing.assert_allclose(to_numpy(module(_t(x, device))), reference(x), rtol=1e-10,
                               atol=1e-12)
    assert gradcheck(module, (_t(x, device, grad=True),))


def test_softmax_default_dim_and_flatten_identity(device):
    x = _t(_rand(6, 2, 3, 4), device)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        np.testing.assert_allclose(to_numpy(nn.Softmax()(x)).sum(0), 1.0)  # 3-D input: dim 0
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        out = nn.LogSoftmax()(x[0])  # 2-D input: dim 1
    np.testing.assert_allclose(np.exp(to_numpy(out)).sum(1), 1.0)
    assert nn.Flatten()(x).shape == (2, 12) and nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Identity(54, unused="x")(x) is x
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


@pytest.mark.parametrize("module,reference", [
    (nn.ReLU(inplace=True), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2, inplace=True), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(0.5, inplace=True), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)))],
    ids=["ReLU", "LeakyReLU", "ELU"])
def test_inplace_activation_modules_overwrite_their_input(device, module, reference):
    x = _rand(7, 3, 4)
    xt = _t(x, device)
    out = module(xt)
    assert out is xt  # as PyTorch's inplace=True
    np.testing.assert_allclose(to_numpy(xt), reference(x), rtol=1e-12)


# -- Dropout -------------------------------------------------------------------------------------
def test_dropout_scales_kept_values_and_is_reproducible(device):
    x = tc.ones(200, 100, device=device)
    drop = nn.Dropout(p=0.3)
    tc.manual_seed(7)
    out = to_numpy(drop(x))
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    tc.manual_seed(7)
    np.testing.assert_array_equal(to_numpy(drop(x)), out)
    assert drop.eval()(x) is x
    assert not to_numpy(F.dropout(x, p=1.0)).any() and F.dropout(x, p=0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_is_the_mask(device):
    x = _t(_rand(8, 10, 10), device, grad=True)
    tc.manual_seed(1)
    out = F.dropout(x, p=0.5)
    out.sum().backward()
    expected = (to_numpy(out) != 0) * 2.0
    np.testing.assert_allclose(to_numpy(x.grad), expected)


# -- BatchNorm1d ---------------------------------------------------------------------------------
def _bn_reference(x, weight, bias, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axes), x.var(axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * weight.reshape(shape) + bias.reshape(shape), mean, x.var(axes, ddof=1)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm_training_running_stats_and_eval(device, shape):
    bn = nn.BatchNorm1d(3, momentum=0.2).to(device).double()
    with tc.no_grad():
        bn.weight.copy_(_t([1.0, 2.0, 0.5], device))
        bn.bias.copy_(_t([0.0, -1.0, 3.0], device))
    x = _rand(9, *shape) * 2 + 1
    want, mean, unbiased_var = _bn_reference(x, np.array([1, 2, 0.5]), np.array([0, -1, 3.0]),
                                             1e-5)
    np.testing.assert_allclose(to_numpy(bn(_t(x, device))), want, rtol=1e-10)
    np.testing.assert_allclose(to_numpy(bn.running_mean), 0.2 * mean, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(bn.running_var), 0.8 + 0.2 * unbiased_var, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    rm, rv = to_numpy(bn.running_mean), to_numpy(bn.running_var)
    shape_c = (1, -1) + (1,) * (len(shape) - 2)
    eval_want = ((x - rm.reshape(shape_c)) / np.sqrt(rv.reshape(shape_c) + 1e-5)
                 * np.array([1, 2, 0.5]).reshape(shape_c) + np.array([0, -1, 3.0]).reshape(shape_c))
    np.testing.assert_allclose(to_numpy(bn(_t(x, device))), eval_want, rtol=1e-10)
    np.testing.assert_array_equal(to_numpy(bn.running_mean), rm)  # eval leaves stats alone


def test_batchnorm_cumulative_average_and_no_tracking(device):
    bn = nn.BatchNorm1d(2, momentum=None).to(device).double()
    batches = [_rand(s, 5, 2) for s in (1, 2, 3)]
    for b in batches:
        bn(_t(b, device))
    np.testing.assert_allclose(to_numpy(bn.running_mean), np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-12)
    plain = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    x = _rand(4, 5, 2)
    np.testing.assert_allclose(to_numpy(plain(_t(x, device))),
                               (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)
    assert plain.running_mean is None and list(plain.state_dict()) == []


def test_batch_norm_gradcheck_and_errors(device):
    x = _t(_rand(11, 4, 3, 2), device, grad=True)
    w, b = _t(_rand(12, 3), device, grad=True), _t(_rand(13, 3), device, grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     (x, w, b))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tc.ones(1, 3))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(tc.ones(3))
    with pytest.raises(RuntimeError, match="3 channels"):  # PyTorch: RuntimeError
        nn.BatchNorm1d(4)(tc.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"weight should have shape \[3\]"):
        F.batch_norm(x, None, None, tc.ones(4), training=True)


# -- LayerNorm -----------------------------------------------------------------------------------
def test_layernorm_values_gradcheck_and_errors(device):
    ln = nn.LayerNorm((3, 4), eps=1e-3).to(device).double()
    with tc.no_grad():
        ln.weight.copy_(_t(_rand(21, 3, 4), device))
        ln.bias.copy_(_t(_rand(22, 3, 4), device))
    x = _rand(20, 2, 3, 4)
    mean = x.mean((1, 2), keepdims=True)
    want = ((x - mean) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-3)
            * to_numpy(ln.weight) + to_numpy(ln.bias))
    np.testing.assert_allclose(to_numpy(ln(_t(x, device))), want, rtol=1e-10)
    xt = _t(x, device, grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), (xt, ln.weight, ln.bias))
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[3, 4\].*\[2, 4, 3\]"):
        ln(tc.ones(2, 4, 3, dtype=tc.float64))
