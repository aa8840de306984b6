"""The loss modules give exactly what their ``tensorcore.nn.functional`` function gives (the
functions are tested in their own suite)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn


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
    _same(nn.L1Loss(reduction=reduction)(x, y), F.l1_loss(x, y, reduction=reduction))
    _same(nn.HuberLoss(reduction, delta=0.5)(x, y),
          F.huber_loss(x, y, reduction=reduction, delta=0.5))


def test_mse_loss_module_value(device):
    x, y = _pair(device)
    np.testing.assert_allclose(nn.MSELoss()(x, y).item(),
                               ((to_numpy(x) - to_numpy(y)) ** 2).mean(), rtol=1e-12)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nn.MSELoss(size_average=False).reduction == "sum"  # PyTorch's legacy flags
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.MSELoss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_cross_entropy_loss_plain_and_with_options(device):
    logits, _ = _pair(device, shape=(6, 3))
    target = tc.tensor([0, 2, 1, 1, 0, 2], device=device)
    _same(nn.CrossEntropyLoss()(logits, target), F.cross_entropy(logits, target))
    _same(nn.CrossEntropyLoss(reduction="sum")(logits, target),
          F.cross_entropy(logits, target, reduction="sum"))
    weight = tc.tensor([1.0, 2.0, 0.5], dtype=tc.float64, device=device)
    module = nn.CrossEntropyLoss(weight, ignore_index=1, label_smoothing=0.1)
    _same(module(logits, target), F.cross_entropy(logits, target, weight=weight, ignore_index=1,
                                     label_smoothing=0.1))


def test_nll_and_binary_losses(device):
    logits, _ = _pair(device, shape=(6, 3))
    target = tc.tensor([0, 2, 1, 1, 0, 2], device=device)
    weight = tc.tensor([1.0, 2.0, 0.5], dtype=tc.float64, device=device)
    logp = F.log_softmax(logits, 1)
    _same(nn.NLLLoss(weight, ignore_index=2)(logp, target),
          F.nll_loss(logp, target, weight=weight, ignore_index=2))
    x, _ = _pair(device, 1)
    y = (x > 0).to(tc.float64)
    probs = x.sigmoid()
    _same(nn.BCELoss(reduction="sum")(probs, y), F.binary_cross_entropy(probs, y, reduction="sum"))
    pos = tc.full((4,), 2.0, dtype=tc.float64, device=device)
    _same(nn.BCEWithLogitsLoss(pos_weight=pos)(x, y),
          F.binary_cross_entropy_with_logits(x, y, pos_weight=pos))


def test_weights_are_buffers():
    weight = tc.tensor([1.0, 2.0])
    loss = nn.CrossEntropyLoss(weight=weight)
    assert list(loss.state_dict()) == ["weight"] and loss.weight is weight
    assert list(nn.BCEWithLogitsLoss(pos_weight=weight).state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert loss.double().weight.dtype == tc.float64
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
