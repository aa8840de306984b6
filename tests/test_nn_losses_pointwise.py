"""The elementwise losses of ``nn.functional`` on every backend: mse_loss, l1_loss, huber_loss,
smooth_l1_loss, binary_cross_entropy and binary_cross_entropy_with_logits, against NumPy
references from PyTorch's documented formulas (float64) for each reduction and option
(weight, pos_weight, delta, beta), gradients with gradcheck / gradgradcheck, numerical
edge cases (probabilities 0 and 1, logits +-1000) and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

REDUCTIONS = ["mean", "sum", "none"]


def _t(a, device, grad=False):
    return tc.tensor(a, device=device, requires_grad=grad)


def _reduce(losses, reduction):
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def _pair(seed, shape=(4, 3), scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * scale, rng.standard_normal(shape) * scale


def _away_from(x, y, knot):
    """Move pairs whose |x - y| is within 0.05 of a kink: finite differences need room."""
    d = x - y
    near = np.abs(np.abs(d) - knot) < 0.05
    return np.where(near, x + 0.2 * np.sign(d + 1e-300), x)


def _huber(d, delta):
    return np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))


# -- regression losses ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True], ids=["plain", "weight"])
def test_mse_and_l1_values_and_gradients(device, name, reduction, use_weight):
    x, y = _pair(0)
    x = _away_from(x, y, 0.0)  # |d| has a kink at 0
    w = np.random.default_rng(1).uniform(0.5, 2.0, x.shape) if use_weight else None
    err = (x - y) ** 2 if name == "mse_loss" else np.abs(x - y)
    if w is None:
        want = _reduce(err, reduction)
    elif reduction == "mean":  # PyTorch: weighted terms; 'mean' divides by the weights' sum
        want = (w * err).sum() / w.sum()
    else:
        want = _reduce(w * err, reduction)
    fn, ww = getattr(F, name), None if w is None else _t(w, device)
    got = fn(_t(x, device), _t(y, device), reduction=reduction, weight=ww)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-12)
    assert tc.autograd.gradcheck(lambda a, b: fn(a, b, reduction=reduction, weight=ww),
                                 (_t(x, device, True), _t(y, device, True)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("use_weight", [False, True], ids=["plain", "weight"])
def test_huber_loss(device, reduction, delta, use_weight):
    x, y = _pair(2)
    x = _away_from(x, y, delta)
    w = np.random.default_rng(3).uniform(0.5, 2.0, x.shape) if use_weight else None
    losses = _huber(x - y, delta) * (1.0 if w is None else w)
    ww = None if w is None else _t(w, device)
    got = F.huber_loss(_t(x, device), _t(y, device), reduction=reduction, delta=delta,
                       weight=ww)
    np.testing.assert_allclose(to_numpy(got), _reduce(losses, reduction), rtol=1e-12)
    assert tc.autograd.gradcheck(
        lambda a, b: F.huber_loss(a, b, reduction, delta, ww),
        (_t(x, device, True), _t(y, device, True)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.5, 0.0])
def test_smooth_l1_loss(device, reduction, beta):
    x, y = _pair(4)
    x = _away_from(x, y, beta)
    d = x - y
    losses = np.abs(d) if beta == 0 else np.where(np.abs(d) < beta, 0.5 * d * d / beta,
                                                  np.abs(d) - 0.5 * beta)
    got = F.smooth_l1_loss(_t(x, device), _t(y, device), reduction=reduction, beta=beta)
    np.testing.assert_allclose(to_numpy(got), _reduce(losses, reduction), rtol=1e-12)
    inputs = (_t(x, device, True), _t(y, device, True))
    assert tc.autograd.gradcheck(
        lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), inputs)
    if beta > 0:  # the Huber loss divided by beta
        np.testing.assert_allclose(
            to_numpy(got), to_numpy(F.huber_loss(_t(x, device), _t(y, device), reduction,
                                                 beta)) / beta, rtol=1e-12)


def test_regression_gradients_at_the_kinks_follow_pytorch(device):
    x = _t([0.0, 1.0, -1.0, 2.0], device, True)
    y = _t([0.0, 0.0, 0.0, 0.0], device)
    F.smooth_l1_loss(x, y, reduction="sum").backward()  # d = +-beta: the linear branch
    assert x.grad.tolist() == [0.0, 1.0, -1.0, 1.0]
    x.grad = None
    F.l1_loss(x, y, reduction="sum").backward()  # sign(0) = 0
    assert x.grad.tolist() == [0.0, 1.0, -1.0, 1.0]


def test_regression_gradgradcheck(device):
    x, y = _pair(5, (3, 2))
    x = _away_from(x, y, 1.0)
    inputs = (_t(x, device, True), _t(y, device, True))
    for fn in (F.mse_loss, F.huber_loss, F.smooth_l1_loss):
        assert tc.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss,
                                F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_shape_mismatch_raises_instead_of_broadcasting(device, fn):
    # PyTorch only warns for the regression losses and broadcasts (N, 1) against (N,)
    with pytest.raises(ValueError, match=r"\[4, 1\].*\[4\]|\[4\].*\[4, 1\]"):
        fn(_t(np.full((4, 1), 0.5), device), _t(np.full(4, 0.5), device))


def test_regression_bad_options(device):
    x = _t(np.zeros(3), device)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(x, x, weight=_t(np.ones(2), device))
    with pytest.raises(ValueError, match="sums is not a valid value for reduction"):
        F.l1_loss(x, x, reduction="sums")
    with pytest.raises(TypeError, match="'target' must be Tensor"):
        F.mse_loss(x, np.zeros(3))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert F.mse_loss(_t([1.0, 2.0], device), _t([0.0, 0.0], device),
                          size_average=False).item() == 5.0


# -- binary_cross_entropy ---------------------------------------------------------------------
def _bce(p, y, w=None):
    losses = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
    return losses if w is None else losses * w


def _probs(seed, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (3,), (4, 3)], ids=str)
def test_binary_cross_entropy(device, reduction, weight_shape):
    p, y = _probs(6)
    w = None if weight_shape is None else np.random.default_rng(7).uniform(0.5, 2, weight_shape)
    ww = None if w is None else _t(w, device)
    got = F.binary_cross_entropy(_t(p, device), _t(y, device), ww, reduction=reduction)
    np.testing.assert_allclose(to_numpy(got), _reduce(_bce(p, y, w), reduction), rtol=1e-12)
    inputs = (_t(p, device, True), _t(y, device, True))  # the target gets a gradient too
    assert tc.autograd.gradcheck(
        lambda a, b: F.binary_cross_entropy(a, b, ww, reduction=reduction), inputs)


def test_binary_cross_entropy_gradgradcheck(device):
    p, y = _probs(8, (3, 2))
    assert tc.autograd.gradgradcheck(F.binary_cross_entropy,
                                     (_t(p, device, True), _t(y, device, True)))


def test_binary_cross_entropy_at_probabilities_0_and_1(device):
    p = _t([0.0, 1.0, 0.0, 1.0], device, True)
    y = _t([1.0, 0.0, 0.0, 1.0], device)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    assert loss.tolist() == [100.0, 100.0, 0.0, 0.0]  # log clamped to >= -100
    loss.sum().backward()
    # PyTorch's gradient: (p - y) / max(p (1 - p), 1e-12), finite
    np.testing.assert_allclose(to_numpy(p.grad), [-1e12, 1e12, 0.0, 0.0])


def test_binary_cross_entropy_bad_input(device):
    y = _t([0.0, 1.0], device)
    for bad in ([1.5, 0.5], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            F.binary_cross_entropy(_t(bad, device), y)
    with pytest.raises(ValueError, match=r"target size \(\[3\]\).*input size \(\[2\]\)"):
        F.binary_cross_entropy(_t([0.5, 0.5], device), _t([0.0, 1.0, 1.0], device))
    with pytest.raises(RuntimeError, match=r"weight of shape \[3\].*\[2\]"):
        F.binary_cross_entropy(_t([0.5, 0.5], device), y, _t(np.ones(3), device))


# -- binary_cross_entropy_with_logits ----------------------------------------------------------
def _bce_logits(x, y, w=None, pos_weight=None):
    """PyTorch's documented form: -w (pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))."""
    log_sig = -np.logaddexp(0, -x)           # log sigmoid(x), stable
    log_one_minus = -np.logaddexp(0, x)      # log (1 - sigmoid(x))
    pw = 1.0 if pos_weight is None else pos_weight
    losses = -(pw * y * log_sig + (1 - y) * log_one_minus)
    return losses if w is None else losses * w


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True], ids=["plain", "weight"])
@pytest.mark.parametrize("use_pos_weight", [False, True], ids=["", "pos_weight"])
def test_binary_cross_entropy_with_logits(device, reduction, use_weight, use_pos_weight):
    x, _ = _pair(9)
    y = np.random.default_rng(10).uniform(0, 1, x.shape)
    w = np.random.default_rng(11).uniform(0.5, 2, (4, 1)) if use_weight else None
    pw = np.array([0.5, 1.0, 3.0]) if use_pos_weight else None
    ww = None if w is None else _t(w, device)
    pwt = None if pw is None else _t(pw, device)
    got = F.binary_cross_entropy_with_logits(_t(x, device), _t(y, device), ww,
                                             reduction=reduction, pos_weight=pwt)
    np.testing.assert_allclose(to_numpy(got), _reduce(_bce_logits(x, y, w, pw), reduction),
                               rtol=1e-12)
    inputs = (_t(x, device, True), _t(y, device, True))
    fn = lambda a, b: F.binary_cross_entropy_with_logits(  # noqa: E731
        a, b, ww, reduction=reduction, pos_weight=pwt)
    assert tc.autograd.gradcheck(fn, inputs)
    assert tc.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("dtype", [tc.float32, tc.float64])
def test_binary_cross_entropy_with_logits_is_stable(device, dtype):
    x = tc.tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=dtype, device=device,
                  requires_grad=True)
    y = tc.tensor([0.0, 1.0, 1.0, 0.0, 1.0], dtype=dtype, device=device)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(to_numpy(loss), [1000, 1000, 0, 0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    # sigmoid(x) - y; at 0 that is -0.5 (where max(x, 0) and |x| have kinks)
    np.testing.assert_allclose(to_numpy(x.grad), [1, -1, 0, 0, -0.5], rtol=1e-6)


def test_binary_cross_entropy_with_logits_matches_bce_of_sigmoid(device):
    x, _ = _pair(12)
    y = (np.random.default_rng(13).uniform(0, 1, x.shape) > 0.5).astype(float)
    xt, yt = _t(x, device), _t(y, device)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(xt, yt).item(),
                               F.binary_cross_entropy(xt.sigmoid(), yt).item(), rtol=1e-10)


def test_binary_cross_entropy_with_logits_bad_input(device):
    x = _t(np.zeros((4, 3)), device)
    with pytest.raises(ValueError, match=r"Target size \(\[4\]\).*input size \(\[4, 3\]\)"):
        F.binary_cross_entropy_with_logits(x, _t(np.zeros(4), device))
    with pytest.raises(RuntimeError, match=r"pos_weight of shape \[5\]"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=_t(np.ones(5), device))
    with pytest.raises(RuntimeError, match=r"weight of shape \[2, 4, 3\]"):
        F.binary_cross_entropy_with_logits(x, x, _t(np.ones((2, 4, 3)), device))


# -- against torch, where it is installed -------------------------------------------------------
def test_against_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x, y = _pair(14)
    p, q = _probs(15)
    w = np.random.default_rng(16).uniform(0.5, 2, (4, 3))
    for reduction in REDUCTIONS:
        cases = [("mse_loss", (x, y), {"weight": w}), ("l1_loss", (x, y), {"weight": w}),
                 ("huber_loss", (x, y), {"delta": 0.7, "weight": w}),
                 ("smooth_l1_loss", (x, y), {"beta": 0.7}),
                 ("binary_cross_entropy", (p, q), {"weight": w[0]}),
                 ("binary_cross_entropy_with_logits", (x, q),
                  {"weight": w[:, :1], "pos_weight": w[0]})]
        for name, (a, b), kw in cases:
            ours = getattr(F, name)(tc.tensor(a), tc.tensor(b), reduction=reduction,
                                    **{k: tc.tensor(v) for k, v in kw.items()
                                       if not isinstance(v, float)},
                                    **{k: v for k, v in kw.items() if isinstance(v, float)})
            theirs = getattr(tF, name)(torch.tensor(a), torch.tensor(b), reduction=reduction,
                                       **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                          for k, v in kw.items()})
            np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-10,
                                       err_msg=f"{name} {reduction}")
