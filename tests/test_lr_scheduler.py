"""The learning-rate schedulers against their closed forms over many epochs and several
periods, against ``torch.optim.lr_scheduler`` where PyTorch is installed, a hand-computed
``ReduceLROnPlateau`` sequence, the state dict round trip and the bad-input errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.optim import SGD
from tensorcore.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    StepLR,
)

BASE_LRS = [1.0, 0.3]
EPOCHS = 50


def _optimizer(device, lrs=BASE_LRS, cls=SGD, module=None):
    """An SGD with one param group per lr (torch's when ``module`` is torch)."""
    if module is not None:
        groups = [{"params": [module.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
        return module.optim.SGD(groups, lr=lrs[0])
    groups = [{"params": [tc.zeros(1, device=device, requires_grad=True)], "lr": lr}
              for lr in lrs]
    return cls(groups, lr=lrs[0])


def _run(optimizer, scheduler, epochs=EPOCHS):
    """The lrs in use at each epoch (each group's), stepping as a training loop does."""
    seen = []
    for _ in range(epochs):
        lrs = [g["lr"] for g in optimizer.param_groups]
        assert scheduler.get_last_lr() == lrs
        seen.append(lrs)
        optimizer.step()
        scheduler.step()
    return np.array(seen)


def _closed(fn):
    return np.array([[fn(base, e) for base in BASE_LRS] for e in range(EPOCHS)])


SCHEDULERS = [
    (StepLR, dict(step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    (MultiStepLR, dict(milestones=[2, 5, 5, 11], gamma=0.3),
     lambda b, e: b * 0.3 ** ((e >= 2) + 2 * (e >= 5) + (e >= 11))),
    (ExponentialLR, dict(gamma=0.9), lambda b, e: b * 0.9 ** e),
    (CosineAnnealingLR, dict(T_max=7, eta_min=0.05),
     lambda b, e: 0.05 + (b - 0.05) * (1 + math.cos(math.pi * e / 7)) / 2),
    (CosineAnnealingLR, dict(T_max=10),
     lambda b, e: b * (1 + math.cos(math.pi * e / 10)) / 2),
]
SCHED_IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(SCHEDULERS)]


@pytest.mark.parametrize("cls,kwargs,closed_form", SCHEDULERS, ids=SCHED_IDS)
def test_schedule_matches_closed_form(device, cls, kwargs, closed_form):
    opt = _optimizer(device)
    got = _run(opt, cls(opt, **kwargs))
    np.testing.assert_allclose(got, _closed(closed_form), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls,kwargs,closed_form", SCHEDULERS, ids=SCHED_IDS)
def test_schedule_matches_torch(device, cls, kwargs, closed_form):
    torch = pytest.importorskip("torch")
    opt, topt = _optimizer(device), _optimizer(device, module=torch)
    got = _run(opt, cls(opt, **kwargs))
    expected = _run(topt, getattr(torch.optim.lr_scheduler, cls.__name__)(topt, **kwargs))
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("cls,kwargs,closed_form", SCHEDULERS, ids=SCHED_IDS)
def test_step_with_epoch_jumps_by_the_closed_form(device, cls, kwargs, closed_form):
    opt = _optimizer(device)
    sched = cls(opt, **kwargs)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(13)
    assert sched.last_epoch == 13
    np.testing.assert_allclose(sched.get_last_lr(), _closed(closed_form)[13], rtol=1e-12)


@pytest.mark.parametrize("cls,kwargs,closed_form", SCHEDULERS, ids=SCHED_IDS)
def test_state_dict_round_trip(device, cls, kwargs, closed_form):
    opt = _optimizer(device)
    sched = cls(opt, **kwargs)
    _run(opt, sched, 9)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sched_state and sched_state["last_epoch"] == 9
    expected = _run(opt, sched, 20)

    opt2 = _optimizer(device, lrs=[5.0, 5.0])
    sched2 = cls(opt2, **kwargs)  # before the optimizer's state, as in PyTorch
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    np.testing.assert_array_equal(_run(opt2, sched2, 20), expected)


def test_warns_when_stepped_before_the_optimizer(device):
    opt = _optimizer(device)
    sched = ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        sched.step()
    opt = _optimizer(device)
    sched = ExponentialLR(opt, gamma=0.5)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert sched.get_last_lr() == [0.5, 0.15]


def test_last_epoch_resumes_from_initial_lr(device):
    opt = _optimizer(device)
    with pytest.raises(KeyError, match=r"initial_lr.*param_groups\[0\]"):
        StepLR(opt, step_size=2, last_epoch=4)
    StepLR(opt, step_size=2, gamma=0.5)  # sets initial_lr
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] * 0.25  # as at epoch 4
    sched = StepLR(opt, step_size=2, gamma=0.5, last_epoch=4)
    assert sched.base_lrs == BASE_LRS and sched.last_epoch == 5
    got = _run(opt, sched, 6)  # epochs 5 ... 10
    np.testing.assert_allclose(got, [[b * 0.5 ** (e // 2) for b in BASE_LRS]
                                     for e in range(5, 11)], rtol=1e-15)


def test_scheduler_needs_an_optimizer(device):
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        ExponentialLR([], gamma=0.9)
    with pytest.raises(TypeError, match="dict is not an Optimizer"):
        ReduceLROnPlateau({})
    with pytest.raises(NotImplementedError, match="get_lr"):
        LRScheduler(_optimizer(device))


def test_reduce_on_plateau_min_rel_with_patience_cooldown_and_min_lr(device):
    opt = _optimizer(device, lrs=[1.0, 2.0])
    sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, threshold=0.1,
                              cooldown=1, min_lr=[0.3, 0.0])
    metrics = [10, 9.5, 9.2, 9.1, 9.1, 8.0, 7.5, 7.3, 7.3, 7.3, 7.3]
    # 9.5 and 9.2 do not beat 10 * (1 - 0.1) = 9: the second bad epoch exceeds patience=1;
    # 9.1 falls in the cooldown; 8.0 is the new best (next bar 7.2); the third reduction
    # would take group 0 below its min_lr 0.3.
    expected = [[1.0, 2.0], [1.0, 2.0], [0.5, 1.0], [0.5, 1.0], [0.5, 1.0], [0.5, 1.0],
                [0.5, 1.0], [0.3, 0.5], [0.3, 0.5], [0.3, 0.5], [0.3, 0.25]]
    got = []
    for m in metrics:
        sched.step(m)
        got.append([g["lr"] for g in opt.param_groups])
        assert sched.get_last_lr() == got[-1]
    assert got == expected
    assert sched.best == 8.0 and sched.last_epoch == len(metrics)


def test_reduce_on_plateau_max_abs_and_eps(device):
    opt = _optimizer(device, lrs=[1.0, 1e-8])
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.5,
                              threshold_mode="abs")
    got = []
    for m in [1.0, 1.4, 2.0, 2.0, 3.0]:  # 1.4 and the second 2.0 do not beat best + 0.5
        sched.step(tc.tensor(m))
        got.append([g["lr"] for g in opt.param_groups])
    # the second group's changes (below eps=1e-8) are skipped
    np.testing.assert_allclose(got, [[1.0, 1e-8], [0.1, 1e-8], [0.1, 1e-8], [0.01, 1e-8],
                                     [0.01, 1e-8]], rtol=1e-15)


def test_reduce_on_plateau_matches_torch(device):
    torch = pytest.importorskip("torch")
    metrics = np.random.default_rng(0).standard_normal(60).cumsum()
    kwargs = dict(mode="max", factor=0.5, patience=2, threshold=0.05, cooldown=2,
                  min_lr=0.01)
    results = []
    for opt in (_optimizer(device), _optimizer(device, module=torch)):
        sched = (ReduceLROnPlateau if isinstance(opt, SGD)
                 else torch.optim.lr_scheduler.ReduceLROnPlateau)(opt, **kwargs)
        lrs = []
        for m in metrics:
            sched.step(float(m))
            lrs.append(list(sched.get_last_lr()))
        results.append(lrs)
    assert results[0] == results[1]
    assert results[0][-1] != results[0][0]  # the sequence did reduce


def test_reduce_on_plateau_state_dict_round_trip(device):
    opt = _optimizer(device)
    sched = ReduceLROnPlateau(opt, patience=1)
    for m in [3.0, 2.0, 2.5]:
        sched.step(m)
    other = ReduceLROnPlateau(_optimizer(device), patience=5)
    other.load_state_dict(sched.state_dict())
    assert (other.best, other.num_bad_epochs, other.patience) == (2.0, 1, 1)


def test_reduce_on_plateau_bad_input(device):
    opt = _optimizer(device)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode median is unknown"):
        ReduceLROnPlateau(opt, mode="median")
    with pytest.raises(ValueError, match="threshold mode log is unknown"):
        ReduceLROnPlateau(opt, threshold_mode="log")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
        ReduceLROnPlateau(opt, min_lr=[0.1])
