"""The classification losses of ``nn.functional`` (cross_entropy, nll_loss) on every backend:
values against NumPy references written from PyTorch's documented formulas (float64), for
each reduction and option (weight, ignore_index, label_smoothing, probability targets, inputs
(C,), (N, C), (N, C, d1)); gradients with gradcheck / gradgradcheck; the fused fast path
against the general one; bad input. Where torch is importable, also against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(6, 4), (3, 4, 5), (4,)]  # (N, C), (N, C, d1), (C,)
# (use a weight, ignore_index, label_smoothing, whether some targets are ignore_index)
OPTIONS = [(False, -100, 0.0, False), (True, -100, 0.0, False), (False, -100, 0.0, True),
           (False, 1, 0.0, True), (True, -100, 0.0, True), (False, -100, 0.2, False),
           (True, 2, 0.3, True), (True, -100, 1.0, True)]
OPTION_IDS = ["plain", "weight", "ignored", "ignore1", "weight-ignored", "smooth",
              "weight-ignore2-smooth", "weight-ignored-smooth1"]


def _t(a, device, grad=False):
    return tc.tensor(a, device=device, requires_grad=grad)


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _case(shape, use_weight, ignore_index, mark=True, seed=0):
    """Logits, class targets (some equal to ignore_index if ``mark``) and a weight (or
    None)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    t_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, n_classes, size=t_shape)
    if t.ndim and mark:
        t.reshape(-1)[::3] = ignore_index  # every third target ignored
        t.reshape(-1)[1] = (ignore_index + 1) % n_classes  # never all of them
    w = rng.uniform(0.5, 2.0, n_classes) if use_weight else None
    return x, t, w


def _ce_reference(x, t, w, ignore_index, reduction, smoothing, log_probs=False):
    """PyTorch's documented loss, one sample position at a time: the target distribution
    q = (1 - eps) onehot(t) + eps / C, l = -sum_c w_c q_c log p_c, 0 where t is ignored;
    'mean' divides by the sum of w[t] over the targets that are not ignored."""
    class_axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_axis]
    logp = x if log_probs else _log_softmax(x, class_axis)
    w = np.ones(n_classes) if w is None else w
    logp = np.moveaxis(logp[None] if x.ndim == 1 else logp, 1, -1)  # (N, ..., C)
    tt = np.asarray(t).reshape(logp.shape[:-1])
    losses, denominator = np.zeros(tt.shape), 0.0
    for pos in np.ndindex(tt.shape):
        if tt[pos] == ignore_index:
            continue
        q = np.full(n_classes, smoothing / n_classes)
        q[tt[pos]] += 1 - smoothing
        losses[pos] = -(w * q * logp[pos]).sum()
        denominator += w[tt[pos]]
    if reduction == "none":
        return losses.reshape(np.shape(t))
    return losses.sum() if reduction == "sum" else losses.sum() / denominator


def _prob_reference(x, p, w, reduction, smoothing):
    """l = -sum_c w_c q_c log softmax(x)_c with q = (1 - eps) p + eps / C; 'mean' divides by
    the number of sample positions (N * d1 * ...)."""
    class_axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_axis]
    q = p * (1 - smoothing) + smoothing / n_classes
    w = np.ones(n_classes) if w is None else w
    w_shape = [1] * x.ndim
    w_shape[class_axis] = n_classes
    losses = -(w.reshape(w_shape) * q * _log_softmax(x, class_axis)).sum(axis=class_axis)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / losses.size


# -- cross_entropy with class indices ---------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("use_weight,ignore_index,smoothing,mark", OPTIONS, ids=OPTION_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_indices_values(device, shape, use_weight, ignore_index, smoothing,
                                            mark, reduction):
    x, t, w = _case(shape, use_weight, ignore_index, mark)
    got = F.cross_entropy(_t(x, device), _t(t, device),
                          weight=None if w is None else _t(w, device),
                          ignore_index=ignore_index, reduction=reduction,
                          label_smoothing=smoothing)
    want = _ce_reference(x, t, w, ignore_index, reduction, smoothing)
    assert got.shape == np.shape(want) and got.dtype == tc.float64
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("use_weight,ignore_index,smoothing,mark", OPTIONS, ids=OPTION_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_indices_gradcheck(device, shape, use_weight, ignore_index,
                                               smoothing, mark, reduction):
    x, t, w = _case(shape, use_weight, ignore_index, mark, seed=1)
    tt, ww = _t(t, device), None if w is None else _t(w, device)  # a constant, as in PyTorch

    def loss(a):
        return F.cross_entropy(a, tt, ww, ignore_index=ignore_index, reduction=reduction,
                               label_smoothing=smoothing)

    assert tc.autograd.gradcheck(loss, (_t(x, device, True),))


@pytest.mark.parametrize("use_weight,ignore_index,smoothing,mark",
                         [OPTIONS[1], OPTIONS[3], OPTIONS[6]], ids=["weight", "ignore", "all"])
def test_cross_entropy_gradgradcheck(device, use_weight, ignore_index, smoothing, mark):
    x, t, w = _case((3, 4, 2), use_weight, ignore_index, mark, seed=2)
    tt, ww = _t(t, device), None if w is None else _t(w, device)
    assert tc.autograd.gradgradcheck(
        lambda a: F.cross_entropy(a, tt, ww, ignore_index=ignore_index,
                                  label_smoothing=smoothing), (_t(x, device, True),))


def test_cross_entropy_all_targets_ignored(device):
    x = _t(np.zeros((2, 3)), device, True)
    t = _t([-100, -100], device)
    for smoothing in (0.0, 0.1):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no 0 / 0 warnings either
            mean = F.cross_entropy(x, t, label_smoothing=smoothing)
            assert np.isnan(mean.item())  # 0 / 0, as in PyTorch
            mean.backward()  # ... but zero gradients, as PyTorch's, not NaN ones
        assert x.grad.tolist() == [[0.0] * 3] * 2
        x.grad = None
    F.nll_loss(x, t).backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2
    x.grad = None
    total = F.cross_entropy(x, t, reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2
    assert F.cross_entropy(x, t, reduction="none").tolist() == [0.0, 0.0]


# -- probability targets ----------------------------------------------------------------------
def _probabilities(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    class_axis = 0 if len(shape) == 1 else 1
    p = rng.uniform(0, 1, shape)
    return x, p / p.sum(axis=class_axis, keepdims=True)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("use_weight", [False, True], ids=["plain", "weight"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_values(device, shape, use_weight, smoothing,
                                                  reduction):
    x, p = _probabilities(shape, 3)
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    w = np.linspace(0.5, 2.0, n_classes) if use_weight else None
    got = F.cross_entropy(_t(x, device), _t(p, device), None if w is None else _t(w, device),
                          reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(to_numpy(got), _prob_reference(x, p, w, reduction, smoothing),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (4,)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_gradcheck(device, shape, reduction):
    x, p = _probabilities(shape, 4)
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    w = _t(np.linspace(0.5, 2.0, n_classes), device)
    inputs = (_t(x, device, True), _t(p, device, True))  # the target gets a gradient too
    assert tc.autograd.gradcheck(
        lambda a, b: F.cross_entropy(a, b, w, reduction=reduction, label_smoothing=0.1), inputs)
    assert tc.autograd.gradgradcheck(lambda a, b: F.cross_entropy(a, b), inputs)


def test_cross_entropy_one_hot_probabilities_equal_class_indices(device):
    x, t, _ = _case((5, 3), False, -100, False)
    probs = np.eye(3)[t]
    a = F.cross_entropy(_t(x, device), _t(t, device), label_smoothing=0.2)
    b = F.cross_entropy(_t(x, device), _t(probs, device), label_smoothing=0.2)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)


# -- the fused fast path ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_path_agrees_with_the_general_path(device, dtype, tol, reduction):
    x, t, _ = _case((16, 7), False, -100, False, seed=5)
    x = (x * 10).astype(dtype)
    fused_in = _t(x, device, True)
    general_in = _t(x, device, True)
    fused = F.cross_entropy(fused_in, _t(t, device), reduction=reduction)
    # a weight of ones takes the general path
    general = F.cross_entropy(general_in, _t(t, device), _t(np.ones(7, dtype), device),
                              reduction=reduction)
    assert fused.grad_fn.name() == "CrossEntropyBackward0"
    assert general.grad_fn.name() != "CrossEntropyBackward0"
    np.testing.assert_allclose(to_numpy(fused), to_numpy(general), rtol=tol,
                               atol=tol)
    seed = np.linspace(0.5, 1.5, x.shape[0]).astype(dtype)
    grad_out = _t(seed, device) if reduction == "none" else None
    fused.backward(grad_out)
    general.backward(grad_out)
    np.testing.assert_allclose(to_numpy(fused_in.grad), to_numpy(general_in.grad), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("kwargs", [{"weight": "ones"}, {"label_smoothing": 0.1},
                                    {"ignore_index": 1}], ids=["weight", "smooth", "ignore"])
def test_options_leave_the_fused_path(device, kwargs):
    x = _t(np.zeros((2, 3)), device, True)
    if kwargs.get("weight") == "ones":
        kwargs = {"weight": _t(np.ones(3), device)}
    loss = F.cross_entropy(x, _t([1, 2], device), **kwargs)
    assert loss.grad_fn.name() != "CrossEntropyBackward0"
    assert F.cross_entropy(x, _t([1, 2], device)).grad_fn.name() == "CrossEntropyBackward0"
    # an ignore_index that is a class but no target: still fused
    fused = F.cross_entropy(x, _t([1, 2], device), ignore_index=0)
    assert fused.grad_fn.name() == "CrossEntropyBackward0"


def test_ignored_target_on_the_common_shape_leaves_the_fused_path(device):
    x, t, _ = _case((4, 3), False, -100, True, seed=6)  # targets hold -100
    got = F.cross_entropy(_t(x, device), _t(t, device))
    np.testing.assert_allclose(got.item(), _ce_reference(x, t, None, -100, "mean", 0.0),
                               rtol=1e-12)


# -- nll_loss ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("use_weight,ignore_index", [(False, -100), (True, -100), (False, 1),
                                                     (True, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_values_and_gradcheck(device, shape, use_weight, ignore_index, reduction):
    x, t, w = _case(shape, use_weight, ignore_index, True, seed=7)
    logp = _log_softmax(x, 0 if len(shape) == 1 else 1)
    ww = None if w is None else _t(w, device)
    got = F.nll_loss(_t(logp, device), _t(t, device), ww, ignore_index=ignore_index,
                     reduction=reduction)
    want = _ce_reference(logp, t, w, ignore_index, reduction, 0.0, log_probs=True)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-10, atol=1e-12)
    tt = _t(t, device)
    assert tc.autograd.gradcheck(
        lambda a: F.nll_loss(a, tt, ww, ignore_index=ignore_index, reduction=reduction),
        (_t(x, device, True),))


def test_nll_loss_of_log_softmax_is_cross_entropy(device):
    x, t, w = _case((5, 4, 3), True, -100, True, seed=8)
    xt, tt, wt = _t(x, device), _t(t, device), _t(w, device)
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(xt, 1), tt, wt).item(),
                               F.cross_entropy(xt, tt, wt).item(), rtol=1e-12)


# -- legacy arguments -------------------------------------------------------------------------
@pytest.mark.parametrize("size_average,reduce,reduction", [
    (None, False, "none"), (False, None, "sum"), (True, True, "mean"), (False, False, "none")])
def test_legacy_size_average_and_reduce(device, size_average, reduce, reduction):
    x, t, _ = _case((4, 3), False, -100, False, seed=9)
    xt, tt = _t(x, device), _t(t, device)
    with pytest.warns(UserWarning, match="size_average and reduce"):
        got = F.cross_entropy(xt, tt, None, size_average, -100, reduce)
    np.testing.assert_allclose(to_numpy(got), _ce_reference(x, t, None, -100, reduction, 0.0),
                               rtol=1e-12)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("input_shape,target,error,match", [
    ((4, 5), [0, 1, 2, 12], IndexError, r"Target 12 is out of bounds"),
    ((4, 5), [0, -3, 2, 1], IndexError, r"Target -3 is out of bounds"),
    ((4, 5), [0, 1, 2], ValueError,
     r"Expected input batch_size \(4\) to match target batch_size \(3\)\."),
    ((4, 5), np.zeros((4, 4)), RuntimeError, r"\[4, 5\].*\[4, 4\]"),  # float, wrong shape
    ((4, 5), np.zeros(4), RuntimeError, "Long"),                      # float indices
    ((4, 5), np.zeros((4, 5), dtype=np.int64), RuntimeError, "floating point type"),
    ((4, 5), np.zeros((4, 2), dtype=np.int64), RuntimeError, "multi-target"),
    ((2, 3, 4), np.zeros((2, 5), dtype=np.int64), RuntimeError,
     r"Expected target size \[2, 4\], got \[2, 5\]"),
    ((5,), [1, 2], ValueError, "1D target must have size 1, but got target size: 2"),
    ((), 0, RuntimeError, "floating point type for target"),  # same shape: probabilities
])
def test_cross_entropy_bad_targets(device, input_shape, target, error, match):
    with pytest.raises(error, match=match):
        F.cross_entropy(_t(np.zeros(input_shape), device), _t(target, device))


def test_int32_targets_are_rejected_as_in_pytorch(device):
    t = tc.tensor([0, 1], dtype=tc.int32, device=device)
    for fn in (F.cross_entropy, F.nll_loss):
        with pytest.raises(RuntimeError, match="expected target dtype to be Long"):
            fn(_t(np.zeros((2, 3)), device), t)


def test_cross_entropy_bad_options(device):
    x, t = _t(np.zeros((2, 3)), device), _t([0, 1], device)
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined either for all 3"):
        F.cross_entropy(x, t, _t(np.ones(2), device))
    with pytest.raises(RuntimeError, match="dtype"):
        F.cross_entropy(x, t, tc.ones(3, dtype=tc.float32, device=device))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, t, label_smoothing=1.5)  # (a negative one smooths nothing)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(x, _t(np.full((2, 3), 1 / 3), device), ignore_index=1)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.cross_entropy(x, t, reduction="avg")
    with pytest.raises(TypeError, match="'target' must be Tensor"):
        F.cross_entropy(x, [0, 1])
    with pytest.raises(NotImplementedError, match="floating point scores"):
        F.cross_entropy(_t([[0, 1]], device), _t([0], device))
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.nll_loss(x, _t([3, -100], device))


# -- against torch, where it is installed -------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_against_torch(shape):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    for (use_weight, ignore_index, smoothing, mark), reduction in zip(OPTIONS * 3,
                                                                      REDUCTIONS * 8):
        x, t, w = _case(shape, use_weight, ignore_index, mark, seed=10)
        kw = {"ignore_index": ignore_index, "reduction": reduction,
              "label_smoothing": smoothing}
        ours = F.cross_entropy(tc.tensor(x), tc.tensor(t),
                               None if w is None else tc.tensor(w), **kw)
        theirs = tF.cross_entropy(torch.tensor(x), torch.tensor(t),
                                  None if w is None else torch.tensor(w), **kw)
        np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-10, atol=1e-12)
        x, p = _probabilities(shape, 11)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = F.cross_entropy(tc.tensor(x), tc.tensor(p), reduction=reduction,
                                   label_smoothing=smoothing)
            theirs = tF.cross_entropy(torch.tensor(x), torch.tensor(p), reduction=reduction,
                                      label_smoothing=smoothing)
        np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-10, atol=1e-12)
