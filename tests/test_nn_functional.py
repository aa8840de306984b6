"""The fused layers of ``tensorcore.nn.functional`` on every backend: ``linear_act`` (each
activation), ``linear`` and ``cross_entropy`` against NumPy, through gradcheck and
gradgradcheck (the fused backward falls back to the unfused ops under create_graph), and
their bad-input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

ACTS = ["relu", "gelu", "sigmoid", "tanh", None]
_erf = np.vectorize(math.erf)


def _act(z, activation):
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "gelu":
        return 0.5 * z * (1 + _erf(z / math.sqrt(2)))
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    return z


def _data(seed, *shapes, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_linear_act_values(device, activation, dtype, tol):
    x, w, b = _data(1, (9, 5), (7, 5), (7,), dtype=dtype)
    got = F.linear_act(tc.tensor(x, device=device), tc.tensor(w, device=device),
                       tc.tensor(b, device=device), activation)
    assert got.dtype == tc.tensor(x).dtype and got.shape == (9, 7)
    np.testing.assert_allclose(to_numpy(got), _act(x @ w.T + b, activation), rtol=tol, atol=tol)


def test_linear_matches_matmul_and_batch_dims(device):
    x, w, b = _data(2, (2, 3, 4), (5, 4), (5,))
    xt, wt = tc.tensor(x, device=device), tc.tensor(w, device=device)
    np.testing.assert_allclose(to_numpy(F.linear(xt, wt, tc.tensor(b, device=device))),
                               x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(F.linear(xt, wt)), x @ w.T, rtol=1e-12)


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_act_gradcheck_and_gradgradcheck(device, activation, bias):
    x, w, b = _data(3, (2, 3, 4), (3, 4), (3,))
    if activation == "relu":  # keep pre-activations away from the kink
        x, w, b = np.abs(x) + 0.1, np.abs(w) + 0.1, np.abs(b) + 0.1
    xt, wt = (tc.tensor(a, device=device, requires_grad=True) for a in (x, w))
    bt = tc.tensor(b, device=device, requires_grad=True) if bias else None
    inputs = (xt, wt, bt) if bias else (xt, wt)

    def fn(*args):
        return F.linear_act(args[0], args[1], args[2] if bias else None, activation)

    assert tc.autograd.gradcheck(fn, inputs)
    assert tc.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("activation", ACTS)
def test_fused_and_unfused_agree(device, activation):
    x, w, b, g = _data(4, (6, 5), (4, 5), (4,), (6, 4), dtype=np.float32)
    grads = []
    for fn in (F.linear_act, F.unfused_linear_act):
        ts = [tc.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
        out = fn(*ts, activation)
        out.backward(tc.tensor(g, device=device))
        grads.append([to_numpy(out)] + [to_numpy(t.grad) for t in ts])
    for fused, plain in zip(*grads):
        np.testing.assert_allclose(fused, plain, rtol=2e-5, atol=2e-5)


def test_linear_act_only_needed_grads(device):
    x, w, b = _data(5, (3, 2), (4, 2), (4,))
    xt = tc.tensor(x, device=device)  # an input batch: no gradient wanted
    wt, bt = (tc.tensor(a, device=device, requires_grad=True) for a in (w, b))
    F.linear_act(xt, wt, bt, "tanh").sum().backward()
    assert xt.grad is None and wt.grad.shape == (4, 2) and bt.grad.shape == (4,)


@pytest.mark.parametrize("bad,error,match", [
    (lambda d: F.linear(tc.ones(3, 4, device=d), tc.ones(5, 3, device=d)), RuntimeError,
     r"3x4 and 3x5"),
    (lambda d: F.linear(tc.ones(3, 4, device=d), tc.ones(5, 4, device=d), tc.ones(4, device=d)),
     RuntimeError, r"bias of shape \[4\]"),
    (lambda d: F.linear(tc.ones(3, 4, device=d), tc.ones(5, 4, dtype=tc.float64, device=d)),
     RuntimeError, "dtype"),
    (lambda d: F.linear_act(tc.ones(2, 2, device=d), tc.ones(2, 2, device=d), None, "swish"),
     ValueError, "swish"),
    (lambda d: F.linear([[1.0]], tc.ones(1, 1, device=d)), TypeError, "input"),
    (lambda d: F.linear(tc.ones(2, 2, dtype=tc.bool, device=d),
                        tc.ones(2, 2, dtype=tc.bool, device=d)), NotImplementedError, "Bool"),
    (lambda d: F.linear(tc.ones(2, 2, device=d), tc.ones(2, 2, device=d), [1.0, 2.0]),
     TypeError, "bias"),
])
def test_linear_bad_input(device, bad, error, match):
    with pytest.raises(error, match=match):
        bad(device)


def test_linear_on_integers_as_pytorch(device):
    """PyTorch's linear takes integer tensors (an integer GEMM); bools it refuses."""
    x = tc.tensor([[1, 2], [3, 4]], device=device)
    out = F.linear(x, x, tc.tensor([10, 20], device=device))
    assert out.dtype == tc.int64
    assert out.tolist() == [[15, 31], [21, 45]]


def _ce_reference(z, t, reduction):
    shifted = z - z.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(t)), t]
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_cross_entropy_values(device, reduction, dtype, tol):
    (z,) = _data(6, (8, 5), dtype=dtype)
    z = z * 20  # large logits: the stable path matters
    t = np.array([0, 4, 2, 2, 1, 3, 0, 4])
    got = F.cross_entropy(tc.tensor(z, device=device), tc.tensor(t, device=device),
                          reduction=reduction)
    np.testing.assert_allclose(to_numpy(got), _ce_reference(z.astype(np.float64), t, reduction),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck_and_gradgradcheck(device, reduction):
    (z,) = _data(7, (4, 3))
    zt = tc.tensor(z, device=device, requires_grad=True)
    t = tc.tensor([2, 0, 1, 2], device=device)
    assert tc.autograd.gradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction), (zt,))
    assert tc.autograd.gradgradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction), (zt,))


def test_cross_entropy_int32_targets_raise_as_in_pytorch(device):
    (z,) = _data(8, (3, 4))
    t = tc.tensor([3, 0, 1], dtype=tc.int32, device=device)
    with pytest.raises(RuntimeError, match="Long"):
        F.cross_entropy(tc.tensor(z, device=device), t)


@pytest.mark.parametrize("target,error,match", [
    ([0.0, 1.0], RuntimeError, "integer"),
    ([0, 3], IndexError, "Target 3 is out of bounds"),
    ([-1, 0], IndexError, "Target -1 is out of bounds"),
    ([0, 1, 2], ValueError, "batch_size"),
])
def test_cross_entropy_bad_targets(device, target, error, match):
    with pytest.raises(error, match=match):
        F.cross_entropy(tc.zeros(2, 3, device=device), tc.tensor(target, device=device))


def test_cross_entropy_bad_logits_and_reduction(device):
    with pytest.raises(RuntimeError, match="floating point type for target"):  # as PyTorch
        F.cross_entropy(tc.zeros(3, device=device), tc.tensor([0, 1, 2], device=device))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(tc.zeros(2, 3, device=device), tc.tensor([0, 1], device=device),
                        reduction="avg")


def test_mse_loss_and_gelu(device):
    a, b = _data(9, (3, 4), (3, 4))
    at = tc.tensor(a, device=device, requires_grad=True)
    loss = F.mse_loss(at, tc.tensor(b, device=device))
    np.testing.assert_allclose(loss.item(), ((a - b) ** 2).mean(), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(to_numpy(at.grad), 2 * (a - b) / a.size, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(F.gelu(tc.tensor(a, device=device))), _act(a, "gelu"),
                               rtol=1e-7, atol=1e-7)
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(at, tc.zeros(4, 3, device=device))


def test_cross_entropy_backward_twice_with_retain_graph(device):
    logits = tc.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], device=device, requires_grad=True)
    loss = tc.nn.functional.cross_entropy(logits, tc.tensor([1, 2], device=device))
    loss.backward(retain_graph=True)
    first = to_numpy(logits.grad)
    loss.backward()
    np.testing.assert_allclose(to_numpy(logits.grad), 2 * first, rtol=1e-6)
