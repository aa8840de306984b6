"""``nll_loss`` and ``cross_entropy`` follow PyTorch 2.13 where the differential suite found
them apart: an ignored target's row is selected out (a NaN or infinite score there changes
nothing, in values or gradients); the argument checks raise PyTorch's error class in
PyTorch's order; the (C,) input with a one-element target; a negative label smoothing;
zero classes with every target ignored. Expected values are written out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

NAN, INF = math.nan, math.inf


def _t(a, device, grad=False, dtype=None):
    """A tensor of ``a``; float64 for floats unless ``dtype`` says otherwise."""
    return tc.tensor(np.asarray(a), device=device, requires_grad=grad, dtype=dtype)


# -- ignored targets are selected out -----------------------------------------------------------
@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("use_weight", [False, True], ids=["plain", "weight"])
def test_nll_loss_ignored_row_with_a_non_finite_score_adds_nothing(device, bad, use_weight):
    logp = _t([[-0.5, -1.5, -2.0], [bad, bad, bad], [-1.0, -0.25, bad]], device, True)
    t = _t([1, -100, 1], device)
    w = _t([1.0, 2.0, 4.0], device) if use_weight else None
    w1 = 2.0 if use_weight else 1.0  # the weight of class 1, the only one that counts
    none = F.nll_loss(logp, t, w, reduction="none")
    assert none.tolist() == [1.5 * w1, 0.0, 0.25 * w1]
    assert F.nll_loss(logp, t, w, reduction="sum").item() == pytest.approx(1.75 * w1)
    mean = F.nll_loss(logp, t, w)
    assert mean.item() == pytest.approx(0.875)  # (1.5 + 0.25) w1 / (2 w1)
    mean.backward()
    assert to_numpy(logp.grad).tolist() == [[0.0, -0.5, 0.0], [0.0] * 3, [0.0, -0.5, 0.0]]


@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_nll_loss_ignored_non_finite_rows_on_every_input_layout(device, ignore_index):
    # (N, C, d): the ignored position (n=0, d=1) holds NaN scores
    logp = np.full((2, 3, 2), -1.0)
    logp[0, :, 1] = NAN
    x = _t(logp, device, True)
    t = _t([[2, ignore_index], [1, 2]], device)
    got = F.nll_loss(x, t, ignore_index=ignore_index, reduction="none")
    assert got.tolist() == [[1.0, 0.0], [1.0, 1.0]]
    F.nll_loss(x, t, ignore_index=ignore_index).backward()
    grad = to_numpy(x.grad)
    assert np.isfinite(grad).all() and grad[0, :, 1].tolist() == [0.0, 0.0, 0.0]
    assert grad.sum() == pytest.approx(-1.0)
    # (C,) with a 0-d ignored target: a loss of 0, 'mean' 0 / 0
    v = _t([NAN, INF, 0.5], device, True)
    assert F.nll_loss(v, _t(ignore_index, device), ignore_index=ignore_index,
                      reduction="none").item() == 0.0
    mean = F.nll_loss(v, _t(ignore_index, device), ignore_index=ignore_index)
    assert math.isnan(mean.item())
    mean.backward()
    assert to_numpy(v.grad).tolist() == [0.0, 0.0, 0.0]  # zero gradients, as PyTorch's


def test_cross_entropy_infinite_logits_in_an_ignored_row(device):
    # the differential suite's example: row 1 holds +inf (its softmax is NaN) and is ignored
    x = _t([[INF, -1.24, 1.37, -0.68], [0.66, INF, 0.90, -INF], [1.5, 0.0, -0.07, -0.54]],
           device, True)
    t = _t([0, 1, 0], device)
    got = to_numpy(F.cross_entropy(x, t, ignore_index=1, reduction="none"))
    assert math.isnan(got[0]) and got[1] == 0.0  # row 0 counts: its NaN stays, as PyTorch's
    z = np.array([1.5, 0.0, -0.07, -0.54])
    assert got[2] == pytest.approx(np.log(np.exp(z).sum()) - 1.5)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("use_weight", [False, True], ids=["plain", "weight"])
def test_cross_entropy_ignored_row_with_nan_logits_adds_nothing(device, smoothing, use_weight):
    x = _t([[2.0, 0.0, 0.0], [NAN, 1.0, NAN], [0.0, 0.0, 0.0]], device, True)
    t = _t([0, 2, 1], device)
    w_np = np.array([1.0, 3.0, 0.5]) if use_weight else np.ones(3)
    w = _t(w_np, device) if use_weight else None
    got = F.cross_entropy(x, t, w, ignore_index=2, label_smoothing=smoothing,
                          reduction="none")
    logp = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    q = np.full((2, 3), smoothing / 3) + (1 - smoothing) * np.eye(3)[[0, 1]]
    want = -(q * logp * w_np).sum(1)
    np.testing.assert_allclose(to_numpy(got), [want[0], 0.0, want[1]], rtol=1e-12)
    mean = F.cross_entropy(x, t, w, ignore_index=2, label_smoothing=smoothing)
    assert mean.item() == pytest.approx(want.sum() / (w_np[0] + w_np[1]))
    mean.backward()
    grad = to_numpy(x.grad)  # the rows that count get finite gradients
    assert np.isfinite(grad[[0, 2]]).all()


def test_all_targets_ignored_with_nan_scores(device):
    x = _t([[NAN, 1.0], [INF, 0.0]], device, True)
    t = _t([-100, -100], device)
    assert F.nll_loss(x, t, reduction="none").tolist() == [0.0, 0.0]
    assert F.nll_loss(x, t, reduction="sum").item() == 0.0
    mean = F.nll_loss(x, t)
    assert math.isnan(mean.item())
    mean.backward()
    assert to_numpy(x.grad).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_zero_weights_on_targets_that_count_give_nan_as_in_pytorch(device):
    x = _t([[-1.0, -2.0], [-3.0, -4.0]], device)
    loss = F.nll_loss(x, _t([0, 0], device), _t([0.0, 1.0], device))
    assert math.isnan(loss.item())  # 0 / 0: the summed weight of the targets is 0


def test_zero_classes_with_every_target_ignored(device):
    x = _t(np.zeros((2, 0)), device, True)
    t = _t([-100, -100], device)
    assert F.nll_loss(x, t, reduction="none").tolist() == [0.0, 0.0]
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    mean = F.nll_loss(x, t)
    assert math.isnan(mean.item())
    mean.backward()
    assert x.grad.shape == (2, 0)
    with pytest.raises(IndexError, match="Target 0 is out of bounds"):
        F.nll_loss(x, _t([0, -100], device))


# -- the (C,) input ---------------------------------------------------------------------------
def test_one_dimensional_input_takes_a_one_element_target(device):
    logp = _t([-3.0, -2.0, 0.5], device, True)
    for target in (_t(1, device), _t([1], device)):
        none = F.nll_loss(logp, target, reduction="none")
        assert none.shape == () and none.item() == 2.0
    loss = F.nll_loss(logp, _t([1], device))
    loss.backward()
    assert to_numpy(logp.grad).tolist() == [0.0, -1.0, 0.0]
    x = _t([0.0, 0.0, 0.0], device)
    assert F.cross_entropy(x, _t([2], device)).item() == pytest.approx(math.log(3.0))
    with pytest.raises(ValueError, match="1D target must have size 1, but got target size: 2"):
        F.nll_loss(logp, _t([1, 2], device))
    with pytest.raises(ValueError, match="got target size: 0"):
        F.nll_loss(logp, tc.zeros(0, dtype=tc.int64, device=device))
    with pytest.raises(RuntimeError, match="label_smoothing"):  # as PyTorch's masked_fill_
        F.cross_entropy(x, _t([2], device), label_smoothing=0.1)
    assert F.cross_entropy(x, _t(2, device), label_smoothing=0.1).item() == \
        pytest.approx(math.log(3.0))


def test_negative_label_smoothing_smooths_nothing(device):
    x = _t([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], device)
    for target in (_t([2, 0], device), _t([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], device)):
        want = F.cross_entropy(x, target).item()
        assert F.cross_entropy(x, target, label_smoothing=-0.1).item() == want


# -- a weight that requires grad --------------------------------------------------------------
@pytest.mark.parametrize("shape,kernel", [((2, 3), "nll_loss_forward"),
                                          ((2, 3, 2), "nll_loss2d_forward"),
                                          ((2, 3, 1, 2), "nll_loss2d_forward")])
def test_weight_that_requires_grad_is_refused_for_class_indices(device, shape, kernel):
    x = _t(np.zeros(shape), device)
    t = _t(np.zeros((2,) + shape[2:], dtype=np.int64), device)
    w = _t([1.0, 2.0, 3.0], device, True)
    match = f"'{kernel}' is not differentiable with respect to argument 'weight'"
    for call in (lambda: F.nll_loss(x, t, w), lambda: F.cross_entropy(x, t, w),
                 lambda: F.cross_entropy(x, t, w, label_smoothing=0.1)):
        with pytest.raises(RuntimeError, match=match):
            call()
    with tc.no_grad():  # outside grad mode it is a plain constant
        assert F.nll_loss(x, t, w).item() == 0.0


def test_weight_gets_a_gradient_with_probability_targets(device):
    x = _t([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], device)
    p = _t([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], device)
    w = _t([1.0, 2.0, 3.0], device, True)
    assert tc.autograd.gradcheck(lambda ww: F.cross_entropy(x, p, ww, label_smoothing=0.1),
                                 (w,))
    logp = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    F.cross_entropy(x, p, w).backward()  # d/dw_c of -(1/N) sum_n p_nc logp_nc w_c
    want = -(np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]) * logp).sum(0) / 2
    np.testing.assert_allclose(to_numpy(w.grad), want, rtol=1e-12)


def test_probability_targets_promote_the_weight_dtype(device):
    x = _t([[1.0, 2.0]], device, dtype=tc.float32)
    p = _t([[0.5, 0.5]], device, dtype=tc.float32)
    loss = F.cross_entropy(x, p, _t([1.0, 1.0], device, dtype=tc.float64))
    assert loss.dtype == tc.float64
    with pytest.raises(RuntimeError, match="dtype"):  # class indices: one dtype, as PyTorch
        F.cross_entropy(x, _t([0], device), _t([1.0, 1.0], device, dtype=tc.float64))


# -- which error, in PyTorch's order ----------------------------------------------------------
W_GRAD = "w_grad"  # a weight of ones (C,) that requires grad
CASES = [
    # (fn, input shape, target, kwargs, error, match)
    ("nll_loss", (0, 3), 2, {}, IndexError, "Dimension specified as 0"),
    ("nll_loss", (0, 3), 2, {"weight": (4,)}, IndexError, "Dimension specified as 0"),
    ("nll_loss", (0, 3), 2.0, {}, RuntimeError, "expected target dtype to be Long"),
    ("nll_loss", (0, 3), 2, {"weight": W_GRAD}, RuntimeError, "not differentiable"),
    ("nll_loss", (2, 3), 2, {"weight": W_GRAD}, ValueError, "batch_size"),
    ("nll_loss", (0, 3), [2, 0], {}, ValueError, r"batch_size \(0\).*batch_size \(2\)"),
    ("nll_loss", (0, 3, 2), 0, {"weight": W_GRAD}, RuntimeError, "Expected target size"),
    ("nll_loss", (0, 3, 2, 2), 0, {}, RuntimeError, r"target of shape \[0, 2, 2\]"),
    ("nll_loss", (2, 3, 2, 2), np.zeros((2, 2), np.int64), {}, RuntimeError, "target of shape"),
    ("nll_loss", (2, 3, 2, 2), np.zeros((2, 2, 3), np.int64), {}, RuntimeError,
     "Expected target size"),
    ("nll_loss", (4, 3), [-1, 0, 1, 2], {"weight": W_GRAD}, RuntimeError,
     "not differentiable"),
    ("nll_loss", (4, 3), [0, 0, 1, 2], {"weight": (4,)}, RuntimeError, "weight tensor"),
    ("nll_loss", (4, 3), [0, 0, 1, 5], {"weight": (4,)}, RuntimeError, "weight tensor"),
    ("nll_loss", (2, 3), [[0], [1]], {}, RuntimeError, "multi-target"),
    ("nll_loss", (3,), [[1]], {}, RuntimeError, "multi-target"),
    ("nll_loss", (3,), [1.0, 2.0], {}, RuntimeError, "expected target dtype"),
    ("nll_loss", (3,), [1, 2], {"weight": (4,)}, ValueError, "1D target must have size 1"),
    ("nll_loss", (3,), [3], {}, IndexError, "Target 3 is out of bounds"),
    ("nll_loss", (), 0, {}, ValueError, "Expected 1 or more dimensions"),
    ("cross_entropy", (0, 4), 2, {"reduction": "sum"}, IndexError, "Dimension specified as 0"),
    ("cross_entropy", (0, 1), 0, {"weight": W_GRAD}, RuntimeError, "not differentiable"),
    ("cross_entropy", (0, 1, 1), 0, {"weight": W_GRAD}, RuntimeError, "Expected target size"),
    ("cross_entropy", (2, 1, 1, 1), np.ones((2, 1, 1), np.int64),
     {"weight": W_GRAD, "ignore_index": 0, "label_smoothing": 0.1}, RuntimeError,
     "nll_loss2d_forward"),
    ("cross_entropy", (2, 3), [0], {"label_smoothing": 2.0}, RuntimeError, "label_smoothing"),
    ("cross_entropy", (2, 3), [0], {"label_smoothing": -0.1}, ValueError, "batch_size"),
    ("cross_entropy", (2, 3), 1.0, {}, ValueError, "batch_size"),
    ("cross_entropy", (), [0], {}, IndexError, "Dimension out of range"),
    ("cross_entropy", (), 0.0, {}, IndexError, "Dimension specified as 1"),
    ("cross_entropy", (2, 3), np.zeros((2, 3)), {"weight": (4,)}, RuntimeError,
     "weight tensor"),
]


@pytest.mark.parametrize("fn,shape,target,kwargs,error,match", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_argument_errors_in_pytorchs_class(device, fn, shape, target, kwargs, error, match):
    kwargs = dict(kwargs)
    w = kwargs.get("weight")
    if w is not None:
        n = shape[0] if len(shape) == 1 else shape[1]
        kwargs["weight"] = _t(np.ones(n), device, True) if w == W_GRAD else \
            _t(np.ones(w), device)
    with pytest.raises(error, match=match):
        getattr(F, fn)(_t(np.zeros(shape), device), _t(target, device), **kwargs)


@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
def test_integer_input_is_not_implemented(device, fn):
    x = tc.zeros(2, 3, dtype=tc.int64, device=device)
    with pytest.raises(NotImplementedError, match="floating point"):
        getattr(F, fn)(x, _t([0, 1], device))
    with pytest.raises(RuntimeError, match="weight tensor"):  # the weight's shape comes first
        F.nll_loss(x, _t([0, 5], device), _t(np.ones(4), device))
