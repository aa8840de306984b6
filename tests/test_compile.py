"""``tc.compile``: a replayed step gives what the eager step gives, bit for bit on the CPU
backends, on every backend of the suite (the stand-in GPU included).

Each comparison runs the same seeded training twice, eagerly and compiled, and also checks
that the compiled run did replay (``stats["replays"]``): a compile that silently ran
everything eagerly fails here. ``test_compile_rules.py`` has what retraces and what runs
eagerly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.compiler import CompileWarning
from tensorcore.training import make_train_step

STEPS = 50


def make_model(kind: str, device: str):
    tc.manual_seed(0)
    layers = [nn.Linear(12, 16)]
    if kind == "batchnorm":
        layers.append(nn.BatchNorm1d(16))
    layers.append(nn.ReLU())
    if kind == "dropout":
        layers.append(nn.Dropout(0.25))
    layers.append(nn.Linear(16, 4))
    return nn.Sequential(*layers).to(device)


def make_optimizer(kind: str, model):
    """``(optimizer, scheduler or None)``."""
    if kind == "adam":
        opt = tc.optim.Adam(model.parameters(), lr=0.01)
        return opt, tc.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return tc.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True), None


def batches(device: str, steps: int = STEPS):
    """``(x, y, last_of_epoch)``: batches of 16 with a short one (7) ending each "epoch"."""
    rng = np.random.default_rng(1)
    teacher = rng.standard_normal((12, 4))  # labels a model can learn
    for i in range(steps):
        n = 7 if i % 10 == 9 else 16
        x = rng.standard_normal((n, 12)).astype(np.float32)
        yield (tc.tensor(x, device=device), tc.tensor((x @ teacher).argmax(1), device=device),
               i % 10 == 9)


def train(model_kind: str, opt_kind: str, device: str, compiled: bool):
    """``(losses, final parameters and buffers as arrays, the step function)``."""
    model = make_model(model_kind, device)
    opt, scheduler = make_optimizer(opt_kind, model)
    # zero_grad, forward, loss, backward, opt.step(), the loss detached
    fn = make_train_step(model, nn.CrossEntropyLoss(), opt, compile=compiled)
    losses = []
    for x, y, epoch_end in batches(device):
        losses.append(fn(x, y).item())
        if epoch_end and scheduler is not None:
            scheduler.step()  # outside the step: the learning rate is live in the plan
    state = [p.detach().cpu().numpy() for p in model.parameters()]
    state += [b.cpu().numpy() for b in model.buffers()]
    return losses, state, fn


def assert_same(a, b, device):
    """Bit for bit on the CPU; on cuda within the GPU suite's float32 tolerance."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if device == "cpu":
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model_kind, opt_kind", [
    ("plain", "sgd"), ("plain", "adam"), ("dropout", "sgd"), ("batchnorm", "adam")],
    ids=["sgd-momentum", "adam-steplr", "dropout", "batchnorm"])
def test_compiled_training_equals_eager(device, model_kind, opt_kind):
    eager_losses, eager_state, _ = train(model_kind, opt_kind, device, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # no fallback to eager
        losses, state, fn = train(model_kind, opt_kind, device, True)
    assert fn.stats["replays"] >= STEPS - 8, fn.stats
    assert len(fn.plans) == 2  # the full batches and the short last ones
    assert_same([np.array(losses)], [np.array(eager_losses)], device)
    assert_same(state, eager_state, device)
    assert np.mean(eager_losses[-10:]) < np.mean(eager_losses[:10])  # it trained


def test_op_by_op_notebook_code_equals_eager(device):
    """The course's way: ``h @ W + b``, ``.relu()``, ``log_softmax``, ``[idx, y]``,
    ``.mean()``, and SGD by hand under ``no_grad``."""
    def run(compiled):
        tc.manual_seed(3)
        ps = [tc.randn(12, 16, device=device) * 0.3, tc.zeros(16, device=device),
              tc.randn(16, 4, device=device) * 0.3, tc.zeros(4, device=device)]
        for p in ps:
            p.requires_grad_()
        idx = tc.arange(16, device=device)

        def step(x, y):
            h = (x @ ps[0] + ps[1]).relu()
            logp = (h @ ps[2] + ps[3]).log_softmax(dim=1)
            loss = -logp[idx, y].mean()
            loss.backward()
            with tc.no_grad():
                for p in ps:
                    p -= 0.1 * p.grad
                    p.grad = None
            return loss.detach()

        fn = tc.compile(step) if compiled else step
        losses = [fn(x, y).item() for x, y, short in batches(device, 30) if not short]
        return losses, [p.detach().cpu().numpy() for p in ps], fn

    eager_losses, eager_params, _ = run(False)
    losses, params, fn = run(True)
    assert fn.stats["replays"] >= 20
    assert_same([np.array(losses)], [np.array(eager_losses)], device)
    assert_same(params, eager_params, device)


def test_the_plan_is_readable_python(device):
    w = tc.ones(3, device=device, requires_grad=True)

    @tc.compile
    def step(x):
        loss = (w * x).sum()
        loss.backward()
        with tc.no_grad():
            w.sub_(0.5 * w.grad)
        w.grad = None
        return loss.detach()

    assert step.plan is None
    x = tc.tensor([1.0, 2.0, 3.0], device=device)
    for _ in range(3):
        step(x)
    assert step.stats == {"traces": 2, "replays": 1, "eager": 0}
    source = step.plan
    assert source.startswith("def _plan(I):") and "multiply(" in source
    compile(source, "<plan>", "exec")  # it is Python
    np.testing.assert_allclose(w.detach().cpu().numpy(), [-0.5, -2.0, -3.5])


def test_dropout_draws_fresh_numbers_each_replay(device):
    """Each replay draws new random numbers, the ones eager mode draws from the same seed."""
    def masks(compiled):
        tc.manual_seed(5)
        fn = tc.compile(lambda x: nn.functional.dropout(x, 0.5)) if compiled else \
            (lambda x: nn.functional.dropout(x, 0.5))
        x = tc.ones(64, device=device)
        return [fn(x).cpu().numpy() for _ in range(6)], fn

    eager, _ = masks(False)
    compiled, fn = masks(True)
    assert fn.stats["replays"] == 4
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(compiled[-1], compiled[-2])


def test_numpy_array_arguments_are_inputs():
    w = tc.zeros(3, requires_grad=True)

    @tc.compile
    def step(x):
        loss = (w * tc.as_tensor(x)).sum()
        return loss.detach()

    for i in range(4):
        out = step(np.full(3, float(i), dtype=np.float32))
    assert step.stats["replays"] == 2
    assert out.item() == 0.0
    with tc.no_grad():
        w.add_(1.0)
    assert step(np.full(3, 2.0, dtype=np.float32)).item() == 6.0
