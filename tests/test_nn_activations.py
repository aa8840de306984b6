"""The activations of ``nn.functional`` on every backend: leaky_relu, elu, gelu (exact and
tanh), silu, softplus, relu, softmax / log_softmax (PyTorch's ``dim`` handling) and one_hot,
against NumPy (float64), through gradcheck / gradgradcheck, with PyTorch's gradients at the
kinks and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

_erf = np.vectorize(math.erf)


def _t(a, device, grad=False):
    return tc.tensor(a, device=device, requires_grad=grad)


def _x(seed=0, shape=(3, 4)):
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    return np.where(np.abs(x) < 0.05, 0.3, x)  # away from the kink at 0


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # no overflow


ACTIVATIONS = {
    "leaky_relu": (lambda t: F.leaky_relu(t), lambda x: np.where(x > 0, x, 0.01 * x)),
    "leaky_relu_0.2": (lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda t: F.elu(t), lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "elu_1.5": (lambda t: F.elu(t, alpha=1.5),
                lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0)))),
    "gelu": (lambda t: F.gelu(t), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                   * (x + 0.044715 * x ** 3)))),
    "silu": (lambda t: F.silu(t), lambda x: x * _sigmoid(x)),
    "softplus": (lambda t: F.softplus(t), lambda x: np.logaddexp(0, x)),
    "softplus_beta2_threshold3": (lambda t: F.softplus(t, beta=2.0, threshold=3.0),
                                  lambda x: np.where(2 * x > 3, x, np.logaddexp(0, 2 * x) / 2)),
    "relu": (lambda t: F.relu(t), lambda x: np.maximum(x, 0)),
    "sigmoid": (lambda t: F.sigmoid(input=t), _sigmoid),  # PyTorch's keyword
    "tanh": (lambda t: F.tanh(input=t), np.tanh),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_values_and_gradients(device, name):
    fn, ref = ACTIVATIONS[name]
    x = _x()
    np.testing.assert_allclose(to_numpy(fn(_t(x, device))), ref(x), rtol=1e-12, atol=1e-14)
    xt = _t(x, device, True)
    assert tc.autograd.gradcheck(fn, (xt,))
    if name != "relu":
        assert tc.autograd.gradgradcheck(fn, (xt,))


@pytest.mark.parametrize("dtype", [tc.float32, tc.float64])
def test_activations_keep_dtype_and_do_not_overflow(device, dtype):
    x = tc.tensor([-1000.0, -1.0, 0.0, 1000.0], dtype=dtype, device=device)
    for name, (fn, ref) in ACTIVATIONS.items():
        out = fn(x)
        assert out.dtype == dtype, name
        np.testing.assert_allclose(to_numpy(out), ref(to_numpy(x).astype(np.float64)),
                                   rtol=1e-6, atol=1e-30, err_msg=name)


def test_gradients_at_zero_follow_pytorch(device):
    cases = [(lambda t: F.leaky_relu(t, 0.2), 0.2), (lambda t: F.elu(t, alpha=1.5), 1.5),
             (F.softplus, 0.5), (F.silu, 0.5), (F.gelu, 0.5), (F.relu, 0.0)]
    for fn, want in cases:
        x = _t([0.0], device, True)
        fn(x).sum().backward()
        assert x.grad.item() == pytest.approx(want)


def test_gelu_bad_approximate(device):
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(_t([1.0], device), approximate="erf")


def test_inplace_writes_into_the_input(device):
    for fn in (F.relu, F.leaky_relu, F.elu, F.silu):
        x = _t([-1.0, 2.0], device)
        out = fn(x, inplace=True)
        assert out is x
        np.testing.assert_allclose(to_numpy(x), to_numpy(fn(_t([-1.0, 2.0], device))))
    leaf = _t([-1.0, 2.0], device, True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(leaf, inplace=True)


@pytest.mark.parametrize("fn", [F.relu, F.leaky_relu, F.elu], ids=lambda f: f.__name__)
def test_inplace_inside_a_graph_gives_the_same_gradient(device, fn):
    grads = []
    for inplace in (False, True):
        x = _t([-1.0, 0.5, 2.0], device, True)
        y = fn(x * 3, inplace=inplace)
        (y * y).sum().backward()
        grads.append(to_numpy(x.grad))
    # float32 rounding apart: the in-place elu's gradient is computed from its output
    # (out + alpha, as PyTorch's elu_), the other's from its input (alpha * exp(x))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_inplace_silu_in_a_graph_runs_as_in_pytorch(device):
    # silu_ saves a copy of the input it overwrites (PyTorch saves ``self.clone()``): the
    # backward runs and gives silu's derivative at the values before the write
    x = _t([-1.0, 2.0], device, True)
    z = x * 3
    y = F.silu(z, inplace=True)
    assert y is z
    y.sum().backward()
    v = np.array([-3.0, 6.0])
    s = 1 / (1 + np.exp(-v))
    np.testing.assert_allclose(to_numpy(x.grad), 3 * s * (1 + v * (1 - s)), rtol=1e-6)


def test_inplace_relu_saves_its_output(device):
    # relu_ saves its result, which is the tensor it wrote: changing it again is refused at
    # backward, as in PyTorch
    x = _t([-1.0, 2.0], device, True)
    z = x * 1.0
    F.relu(z, inplace=True)
    z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# -- softmax / log_softmax --------------------------------------------------------------------
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape,implicit_dim", [((5,), 0), ((3, 4), 1), ((2, 3, 4), 0),
                                                ((2, 3, 4, 2), 1)])
def test_softmax_implicit_dim_as_pytorch(device, shape, implicit_dim):
    x = _x(1, shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        got = F.softmax(_t(x, device))
    np.testing.assert_allclose(to_numpy(got), _softmax(x, implicit_dim), rtol=1e-12)
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        got = F.log_softmax(_t(x, device))
    np.testing.assert_allclose(to_numpy(got), np.log(_softmax(x, implicit_dim)), rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_dim_and_dtype(device, dim):
    x = _x(2).astype(np.float32)
    got = F.softmax(_t(x, device), dim=dim, dtype=tc.float64)
    assert got.dtype == tc.float64
    np.testing.assert_allclose(to_numpy(got), _softmax(x.astype(np.float64), dim), rtol=1e-12)
    got = F.log_softmax(_t(x, device), dim, dtype=tc.float64)
    np.testing.assert_allclose(to_numpy(got), np.log(_softmax(x.astype(np.float64), dim)),
                               rtol=1e-12)
    xt = _t(_x(3), device, True)
    assert tc.autograd.gradcheck(lambda a: F.log_softmax(a, dim=dim), (xt,))


# -- one_hot ----------------------------------------------------------------------------------
@pytest.mark.parametrize("num_classes", [-1, 5])
def test_one_hot(device, num_classes):
    t = np.array([[0, 3], [1, 1], [2, 0]])
    got = F.one_hot(_t(t, device), num_classes)
    width = 4 if num_classes == -1 else num_classes
    assert got.dtype == tc.int64 and got.shape == (3, 2, width)
    np.testing.assert_array_equal(to_numpy(got), np.eye(width, dtype=np.int64)[t])
    assert F.one_hot(_t(np.zeros(0, dtype=np.int64), device), 3).shape == (0, 3)


@pytest.mark.parametrize("values,num_classes,match", [
    ([0, 3], 2, "Class values must be smaller than num_classes"),
    ([0, -1], -1, "Class values must be non-negative"),
    ([], -1, "Can not infer total number of classes from empty tensor"),
])
def test_one_hot_bad_values(device, values, num_classes, match):
    with pytest.raises(RuntimeError, match=match):
        F.one_hot(tc.tensor(values, dtype=tc.int64, device=device), num_classes)


def test_one_hot_needs_int64(device):
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tc.tensor([0, 1], dtype=tc.int32, device=device))
    with pytest.raises(TypeError, match="must be Tensor"):
        F.one_hot([0, 1])


def test_against_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = np.linspace(-30, 30, 121)
    cases = {"leaky_relu": (0.3,), "elu": (0.7,), "silu": (), "softplus": (1.5, 10.0)}
    for name, args in cases.items():
        np.testing.assert_allclose(to_numpy(getattr(F, name)(tc.tensor(x), *args)),
                                   to_numpy(getattr(tF, name)(torch.tensor(x), *args)),
                                   rtol=1e-12, atol=1e-300, err_msg=name)
    for approximate in ("none", "tanh"):
        np.testing.assert_allclose(to_numpy(F.gelu(tc.tensor(x), approximate=approximate)),
                                   to_numpy(tF.gelu(torch.tensor(x), approximate=approximate)),
                                   rtol=1e-10, atol=1e-300)  # 1 - erf cancels in the tail
