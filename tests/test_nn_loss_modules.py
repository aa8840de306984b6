"""The loss modules give exactly what their ``tensorcore.nn.functional`` function gives (the
functions are tested in their own suite); a case whose function is not written yet skips."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn


def _needs(fn_name, *params):
    fn = getattr(F, fn_name, None)
    if fn is None:
        pytest.skip(f"F.{fn_name} is not written yet")
    missing = [p for p in params if p not in inspect.signature(fn).parameters]
    if missing:
        pytest.skip(f"F.{fn_name} has no {missing} yet")
    return fn


def _pair(device, seed=0, shape=(6, 4)):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    return (tc.tensor(a, dtype=tc.float64, device=device),
            tc.tensor(b, dtype=tc.float64, device=device))


def _same(got, want):
    np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(device, reduction):
    x, y = _pair(device)
    _same(nn.MSELoss(reduction=reduction)(x, y), F.mse_loss(x, y, reduction=reduction))
    l1 = _needs("l1_loss")
    _same(nn.L1Loss(reduction=reduction)(x, y), l1(x, y, reduction=reduction))
    huber = _needs("huber_loss", "delta")
    _same(nn.HuberLoss(reduction, delta=0.5)(x, y), huber(x, y, reduction=reduction, delta=0.5))


def test_mse_loss_module_value(device):
    x, y = _pair(device)
    np.testing.assert_allclose(nn.MSELoss()(x, y).item(),
                               ((to_numpy(x) - to_numpy(y)) ** 2).mean(), rtol=1e-12)
    assert nn.MSELoss(size_average=False).reduction == "sum"  # PyTorch's legacy flags
    assert nn.MSELoss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_cross_entropy_loss_plain_and_with_options(device):
    logits, _ = _pair(device, shape=(6, 3))
    target = tc.tensor([0, 2, 1, 1, 0, 2], device=device)
    _same(nn.CrossEntropyLoss()(logits, target), F.cross_entropy(logits, target))
    _same(nn.CrossEntropyLoss(reduction="sum")(logits, target),
          F.cross_entropy(logits, target, reduction="sum"))
    fn = _needs("cross_entropy", "weight", "ignore_index", "label_smoothing")
    weight = tc.tensor([1.0, 2.0, 0.5], dtype=tc.float64, device=device)
    module = nn.CrossEntropyLoss(weight, ignore_index=1, label_smoothing=0.1)
    _same(module(logits, target), fn(logits, target, weight=weight, ignore_index=1,
                                     label_smoothing=0.1))


def test_nll_and_binary_losses(device):
    logits, _ = _pair(device, shape=(6, 3))
    target = tc.tensor([0, 2, 1, 1, 0, 2], device=device)
    weight = tc.tensor([1.0, 2.0, 0.5], dtype=tc.float64, device=device)
    nll = _needs("nll_loss", "weight", "ignore_index")
    logp = F.log_softmax(logits, 1)
    _same(nn.NLLLoss(weight, ignore_index=2)(logp, target),
          nll(logp, target, weight=weight, ignore_index=2))
    x, _ = _pair(device, 1)
    y = (x > 0).to(tc.float64)
    probs = x.sigmoid()
    bce = _needs("binary_cross_entropy", "weight")
    _same(nn.BCELoss(reduction="sum")(probs, y), bce(probs, y, reduction="sum"))
    bcel = _needs("binary_cross_entropy_with_logits", "weight", "pos_weight")
    pos = tc.full((4,), 2.0, dtype=tc.float64, device=device)
    _same(nn.BCEWithLogitsLoss(pos_weight=pos)(x, y), bcel(x, y, pos_weight=pos))


def test_weights_are_buffers():
    weight = tc.tensor([1.0, 2.0])
    loss = nn.CrossEntropyLoss(weight=weight)
    assert list(loss.state_dict()) == ["weight"] and loss.weight is weight
    assert list(nn.BCEWithLogitsLoss(pos_weight=weight).state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert loss.double().weight.dtype == tc.float64
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
