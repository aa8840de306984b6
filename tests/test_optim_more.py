"""``LambdaLR``, ``LinearLR``, ``OneCycleLR`` and ``CosineAnnealingWarmRestarts``, and the
optimizers ``NAdam``, ``RAdam``, ``Adamax`` and ``Adadelta``, step by step against
``torch.optim`` (the same parameters and gradients; the lrs, momentums and parameters of
every step). Without torch the module skips, except under CI (``CI=true``)."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.optim import SGD, Adam
from tensorcore.optim.lr_scheduler import (
    CosineAnnealingWarmRestarts,
    LambdaLR,
    LinearLR,
    OneCycleLR,
)

try:
    import torch
except ImportError as e:
    if os.environ.get("CI", "").lower() == "true":
        raise ImportError("these tests must run in CI: install torch") from e
    pytest.skip("torch is not installed", allow_module_level=True)

BASE_LRS = [1.0, 0.3]


def _optimizers(cls_name="SGD", lrs=BASE_LRS, **kwargs):
    """The same optimizer in tensorcore and in torch, one param group per lr."""
    ours = getattr(tc.optim, cls_name)(
        [{"params": [tc.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], **kwargs)
    theirs = getattr(torch.optim, cls_name)(
        [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], **kwargs)
    return ours, theirs


def _history(optimizer, scheduler, steps, keys=("lr",), epochs=None):
    """Each group's values of ``keys`` at each step, stepping as a training loop does
    (``epochs``: the argument of each ``scheduler.step``)."""
    seen = []
    for i in range(steps):
        seen.append([[g[k] for k in keys] for g in optimizer.param_groups])
        assert list(scheduler.get_last_lr()) == [g["lr"] for g in optimizer.param_groups]
        optimizer.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the epoch argument's deprecation
            scheduler.step() if epochs is None else scheduler.step(epochs[i])
    return np.array(seen, dtype=object)


def _compare(ours, theirs, keys=("lr",)):
    a, b = ours.tolist(), theirs.tolist()
    flat = lambda h: np.array([float(x) for s in h for g in s for v in g  # noqa: E731
                               for x in (v if isinstance(v, tuple) else (v,))])
    np.testing.assert_allclose(flat(a), flat(b), rtol=1e-13, atol=1e-15)


class Warmup:
    """A callable object (its state is saved by LambdaLR.state_dict)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


SCHEDULERS = {
    "lambda": ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    "lambda-list": ("LambdaLR", dict(lr_lambda=[lambda e: e // 3, Warmup(4)])),
    "linear": ("LinearLR", dict()),
    "linear-decay": ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=7)),
    "onecycle": ("OneCycleLR", dict(max_lr=[0.5, 2.0], total_steps=40)),
    "onecycle-linear-3phase": ("OneCycleLR", dict(max_lr=1.0, epochs=4, steps_per_epoch=10,
                                                   anneal_strategy="linear", three_phase=True,
                                                   pct_start=0.25)),
    "warm-restarts": ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    "warm-restarts-mult": ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01)),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_lrs_match_torch(name):
    cls_name, kwargs = SCHEDULERS[name]
    ours, theirs = _optimizers(momentum=0.9) if "onecycle" in name else _optimizers()
    keys = ("lr", "momentum") if "onecycle" in name else ("lr",)
    a = _history(ours, getattr(tc.optim.lr_scheduler, cls_name)(ours, **kwargs), 40, keys)
    b = _history(theirs, getattr(torch.optim.lr_scheduler, cls_name)(theirs, **kwargs), 40,
                 keys)
    _compare(a, b)


def test_onecycle_cycles_adams_beta1_and_refuses_past_the_end():
    ours, theirs = _optimizers("Adam", betas=(0.8, 0.99))
    a = _history(ours, OneCycleLR(ours, max_lr=0.1, total_steps=12), 12, ("lr", "betas"))
    b = _history(theirs, torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.1,
                                                             total_steps=12), 12,
                 ("lr", "betas"))
    _compare(a, b)
    sched = OneCycleLR(SGD([tc.zeros(1, requires_grad=True)], momentum=0.9), 0.1,
                       total_steps=2)
    sched.optimizer.step()
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of "
                                         "total steps is 2"):
        sched.step()


def test_warm_restarts_with_fractional_epochs_match_torch():
    epochs = [e + i / 4 for e in range(12) for i in range(4)]
    for kwargs in (dict(T_0=4), dict(T_0=2, T_mult=3, eta_min=0.05)):
        ours, theirs = _optimizers()
        a = _history(ours, CosineAnnealingWarmRestarts(ours, **kwargs), len(epochs),
                     epochs=epochs)
        b = _history(theirs, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            theirs, **kwargs), len(epochs), epochs=epochs)
        _compare(a, b)


def test_linear_lr_jumps_by_the_closed_form():
    ours, theirs = _optimizers()
    s1 = LinearLR(ours, start_factor=0.2, total_iters=6)
    s2 = torch.optim.lr_scheduler.LinearLR(theirs, start_factor=0.2, total_iters=6)
    for s, o in ((s1, ours), (s2, theirs)):
        o.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s.step(3)
    np.testing.assert_allclose(s1.get_last_lr(), s2.get_last_lr(), rtol=1e-14)
    np.testing.assert_allclose(s1.get_last_lr(), [b * (0.2 + 0.8 * 3 / 6) for b in BASE_LRS])


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    ours, _ = _optimizers()
    warm = Warmup(4)
    sched = LambdaLR(ours, [lambda e: 1.0, warm])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"n": 4}] and "optimizer" not in state
    warm.n = 100
    sched.load_state_dict(state)
    assert warm.n == 4 and "lr_lambdas" in state


@pytest.mark.parametrize("call, message", [
    (lambda o: LambdaLR(o, [lambda e: 1.0]), "Expected 2 lr_lambdas, but got 1"),
    (lambda o: LinearLR(o, start_factor=0), "Starting multiplicative factor expected to be "
                                            "greater than 0 and less or equal to 1."),
    (lambda o: LinearLR(o, end_factor=1.5), "Ending multiplicative factor expected to be "
                                            "between 0 and 1."),
    (lambda o: OneCycleLR(o, 0.1), "You must define either total_steps OR (epochs AND "
                                   "steps_per_epoch)"),
    (lambda o: OneCycleLR(o, 0.1, total_steps=0), "Expected positive integer total_steps, "
                                                  "but got 0"),
    (lambda o: OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1),
     "Expected positive integer steps_per_epoch, but got -1"),
    (lambda o: OneCycleLR(o, 0.1, total_steps=5, pct_start=1),
     "Expected float between 0 and 1 pct_start, but got 1"),
    (lambda o: OneCycleLR(o, 0.1, total_steps=5, anneal_strategy="exp"),
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda o: OneCycleLR(o, [0.1], total_steps=5), "max_lr must have the same length as "
     "optimizer.param_groups. max_lr has 1 values, param_groups has 2."),
    (lambda o: OneCycleLR(o, 0.1, total_steps=5), "optimizer must support momentum or beta1 "
                                                  "with `cycle_momentum` option enabled"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=0), "Expected positive integer T_0, but "
                                                      "got 0"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "Expected integer T_mult >= "
                                                                "1, but got 0"),
])
def test_scheduler_errors_as_pytorch(call, message):
    ours, theirs = _optimizers("Adagrad")  # no momentum, no betas
    with pytest.raises(ValueError) as mine:
        call(ours)
    assert str(mine.value) == message


def test_warm_restarts_refuses_a_negative_epoch():
    ours, _ = _optimizers()
    sched = CosineAnnealingWarmRestarts(ours, T_0=2)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


def test_onecycle_drives_a_training_loop():
    w = tc.tensor([3.0, -2.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    sched = OneCycleLR(opt, max_lr=0.3, total_steps=100)
    for _ in range(99):  # the 100th step's lr is the last: min_lr
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        sched.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.3 / 25 / 1e4, rel_tol=1e-9)
    assert np.abs(to_numpy(w)).max() < 0.05


# -- the optimizers --------------------------------------------------------------------------
OPTIMIZERS = [
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.05)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.7, 0.9), eps=1e-4, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
]
OPT_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(OPTIMIZERS)]
STEPS = 12  # past RAdam's first rectified step (the 6th for beta2 = 0.999, 4th for 0.9)


def _grads(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) * (1 + k % 3) for k in range(STEPS)]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)],
                         ids=["float64", "float32"])
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=OPT_IDS)
def test_optimizer_steps_match_torch(device, name, kwargs, dtype, rtol):
    start = np.random.default_rng(1).standard_normal((3, 4)).astype(dtype)
    ours = tc.tensor(start, device=device, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    opt = getattr(tc.optim, name)([ours], **kwargs)
    topt = getattr(torch.optim, name)([theirs], **kwargs)
    assert opt.defaults == {k: v for k, v in topt.defaults.items() if k in opt.defaults}
    for g in _grads(start.shape, dtype):
        ours.grad = tc.tensor(g, device=device)
        theirs.grad = torch.tensor(g)
        opt.step()
        topt.step()
        assert ours.dtype == tc.tensor(start).dtype
        np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), rtol=rtol,
                                   atol=rtol * 1e-2)
    state, tstate = opt.state[ours], topt.state[theirs]
    assert set(state) == set(tstate)
    for key in state:
        np.testing.assert_allclose(to_numpy(state[key]), tstate[key].numpy(), rtol=rtol * 10,
                                   atol=rtol * 1e-2)


def test_optimizer_defaults_are_pytorchs():
    w = [tc.zeros(1, requires_grad=True)]
    tw = [torch.zeros(1, requires_grad=True)]
    for name in ("NAdam", "RAdam", "Adamax", "Adadelta"):
        ours, theirs = getattr(tc.optim, name)(w).defaults, getattr(torch.optim, name)(tw)
        for key, value in ours.items():
            assert theirs.defaults[key] == value, (name, key)


@pytest.mark.parametrize("name, kwargs, message", [
    ("NAdam", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("NAdam", dict(momentum_decay=-0.1), "Invalid momentum_decay value: -0.1"),
    ("RAdam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("RAdam", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("Adamax", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adamax", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(lr=-0.5), "Invalid learning rate: -0.5"),
])
def test_optimizer_errors_as_pytorch(name, kwargs, message):
    with pytest.raises(ValueError) as mine:
        getattr(tc.optim, name)([tc.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    assert str(mine.value) == str(theirs.value) == message


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=OPT_IDS)
def test_compiled_training_step_matches_eager(name, kwargs):
    """A compiled step (forward, backward, update) gives eager's parameters bit for bit,
    over RAdam's switch to rectified steps and an lr a scheduler changes between steps."""
    x = tc.tensor(np.random.default_rng(2).standard_normal((16, 5)), dtype=tc.float32)
    y = tc.tensor(np.random.default_rng(3).standard_normal((16, 1)), dtype=tc.float32)

    def run(compiled):
        w = tc.tensor(np.linspace(-1, 1, 5).reshape(5, 1), dtype=tc.float32,
                      requires_grad=True)
        opt = getattr(tc.optim, name)([w], **kwargs)
        sched = LambdaLR(opt, lambda e: 1.0 / (1 + e))

        def step():
            opt.zero_grad()
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        fn = tc.compile(step) if compiled else step
        for _ in range(STEPS):
            fn()
            sched.step()
        return to_numpy(w), fn

    eager, _ = run(False)
    replayed, fn = run(True)
    np.testing.assert_array_equal(replayed, eager)
    assert fn.stats["replays"] >= STEPS - 3
