"""Each optimizer's update against the pseudo-code of PyTorch's documentation, written here
in NumPy float64, for one and three steps and every option that changes the formula; the
dtype of float32 parameters is kept; and each optimizer minimizes a convex quadratic.

As in PyTorch's implementation, ``maximize`` negates the gradient before the weight decay
term is added."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from tensorcore.optim.lr_scheduler import StepLR

SHAPE = (3, 4)


def _grad_in(g, p, maximize, weight_decay):
    g = -g if maximize else g
    return g + weight_decay * p if weight_decay else g


def sgd_reference(p, grads, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    b = None
    for g in grads:
        g = _grad_in(g, p, maximize, weight_decay)
        if momentum != 0:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def adam_reference(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False, decoupled=False):
    beta1, beta2 = betas
    m, v, v_max = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p - lr * weight_decay * p
            g = _grad_in(g, p, maximize, 0.0)
        else:
            g = _grad_in(g, p, maximize, weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def adamw_reference(p, grads, weight_decay=1e-2, **kwargs):
    return adam_reference(p, grads, weight_decay=weight_decay, decoupled=True, **kwargs)


def rmsprop_reference(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                      momentum=0.0, centered=False, maximize=False):
    v, g_ave, b = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = _grad_in(g, p, maximize, weight_decay)
        v = alpha * v + (1 - alpha) * g * g
        v_tilde = v
        if centered:
            g_ave = alpha * g_ave + (1 - alpha) * g
            v_tilde = v_tilde - g_ave * g_ave
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(v_tilde) + eps)
    return p


def adagrad_reference(p, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    state_sum = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, start=1):
        lr_t = lr / (1 + (t - 1) * lr_decay)
        g = _grad_in(g, p, maximize, weight_decay)
        state_sum = state_sum + g * g
        p = p - lr_t * g / (np.sqrt(state_sum) + eps)
    return p


CASES = [
    (SGD, sgd_reference, dict(lr=0.1)),
    (SGD, sgd_reference, dict(lr=0.1, momentum=0.9)),
    (SGD, sgd_reference, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    (SGD, sgd_reference, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, sgd_reference, dict(lr=0.1, weight_decay=0.2)),
    (SGD, sgd_reference, dict(lr=0.1, maximize=True)),
    (SGD, sgd_reference, dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.2,
                              maximize=True)),
    (SGD, sgd_reference, dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.2,
                              maximize=True)),
    (Adam, adam_reference, dict()),
    (Adam, adam_reference, dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3)),
    (Adam, adam_reference, dict(lr=0.1, weight_decay=0.3)),
    (Adam, adam_reference, dict(lr=0.1, amsgrad=True)),
    (Adam, adam_reference, dict(lr=0.1, maximize=True)),
    (Adam, adam_reference, dict(lr=0.1, betas=(0.5, 0.6), weight_decay=0.3, amsgrad=True,
                                maximize=True)),
    (AdamW, adamw_reference, dict()),
    (AdamW, adamw_reference, dict(lr=0.1, weight_decay=0.3)),
    (AdamW, adamw_reference, dict(lr=0.1, betas=(0.5, 0.6), weight_decay=0.3, amsgrad=True,
                                  maximize=True)),
    (RMSprop, rmsprop_reference, dict()),
    (RMSprop, rmsprop_reference, dict(lr=0.1, alpha=0.7, eps=1e-3)),
    (RMSprop, rmsprop_reference, dict(lr=0.1, centered=True)),
    (RMSprop, rmsprop_reference, dict(lr=0.1, momentum=0.9)),
    (RMSprop, rmsprop_reference, dict(lr=0.1, weight_decay=0.3)),
    (RMSprop, rmsprop_reference, dict(lr=0.1, maximize=True)),
    (RMSprop, rmsprop_reference, dict(lr=0.1, alpha=0.7, centered=True, momentum=0.5,
                                      weight_decay=0.3, maximize=True)),
    (Adagrad, adagrad_reference, dict()),
    (Adagrad, adagrad_reference, dict(lr=0.1, lr_decay=0.5)),
    (Adagrad, adagrad_reference, dict(lr=0.1, initial_accumulator_value=0.7)),
    (Adagrad, adagrad_reference, dict(lr=0.1, weight_decay=0.3)),
    (Adagrad, adagrad_reference, dict(lr=0.1, maximize=True)),
    (Adagrad, adagrad_reference, dict(lr=0.1, lr_decay=0.5, initial_accumulator_value=0.7,
                                      weight_decay=0.3, eps=1e-3, maximize=True)),
]
IDS = [f"{cls.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for cls, _, kw in CASES]


def _data(steps, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(SHAPE), [rng.standard_normal(SHAPE) for _ in range(steps)]


def run_optimizer(cls, kwargs, p0, grads, device, dtype=tc.float64):
    """``cls`` on one parameter starting at ``p0``, fed the gradients ``grads`` in turn:
    ``(parameter, optimizer)``."""
    p = tc.tensor(p0, dtype=dtype, device=device, requires_grad=True)
    opt = cls([p], **kwargs)
    for g in grads:
        p.grad = tc.tensor(g, dtype=dtype, device=device)
        opt.step()
    return p, opt


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("cls,reference,kwargs", CASES, ids=IDS)
def test_update_matches_documented_formula(device, cls, reference, kwargs, steps):
    p0, grads = _data(steps)
    p, _ = run_optimizer(cls, kwargs, p0, grads, device)
    expected = reference(p0, grads, **kwargs)
    assert not np.allclose(expected, p0)  # the step moved the parameter
    np.testing.assert_allclose(to_numpy(p), expected, rtol=1e-12, atol=1e-12)


def test_sgd_first_momentum_step_ignores_dampening(device):
    p0, grads = np.array([1.0]), [np.array([2.0]), np.array([2.0])]
    p, _ = run_optimizer(SGD, dict(lr=0.5, momentum=0.5, dampening=0.5), p0, grads[:1], device)
    assert to_numpy(p).tolist() == [0.0]  # buf = g = 2, not (1 - 0.5) * 2
    p, _ = run_optimizer(SGD, dict(lr=0.5, momentum=0.5, dampening=0.5), p0, grads, device)
    assert to_numpy(p).tolist() == [-1.0]  # buf = 0.5 * 2 + 0.5 * 2 = 2


@pytest.mark.parametrize("cls,reference,kwargs", CASES[1::3], ids=IDS[1::3])
def test_float32_parameters_stay_float32(device, cls, reference, kwargs):
    p0, grads = _data(3, seed=1)
    p, opt = run_optimizer(cls, kwargs, p0, grads, device, dtype=tc.float32)
    assert p.dtype == tc.float32
    buffers = [v for k, v in opt.state[p].items() if k != "step"]
    assert all(v.dtype == tc.float32 and v.shape == SHAPE for v in buffers)
    expected = reference(p0.astype(np.float32).astype(np.float64),
                         [g.astype(np.float32).astype(np.float64) for g in grads], **kwargs)
    np.testing.assert_allclose(to_numpy(p), expected, rtol=1e-4, atol=1e-5)


CONVERGENCE = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.1)),
    (AdamW, dict(lr=0.1, weight_decay=0.0)),
    (RMSprop, dict(lr=0.05, momentum=0.5, centered=True)),
    (Adagrad, dict(lr=0.5)),
]


@pytest.mark.parametrize("cls,kwargs", CONVERGENCE,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(CONVERGENCE)])
def test_minimizes_a_convex_quadratic(device, cls, kwargs):
    rng = np.random.default_rng(3)
    m = rng.standard_normal((5, 5))
    a_np, b_np = m @ m.T / 5 + np.eye(5), rng.standard_normal(5)
    a = tc.tensor(a_np, device=device)
    b = tc.tensor(b_np, device=device)
    w = tc.zeros(5, dtype=tc.float64, device=device, requires_grad=True)
    opt = cls([w], **kwargs)
    sched = StepLR(opt, step_size=100, gamma=0.3)
    for _ in range(600):
        opt.zero_grad()
        loss = 0.5 * (w * (a @ w)).sum() - (b * w).sum()
        loss.backward()
        opt.step()
        sched.step()
    np.testing.assert_allclose(to_numpy(w), np.linalg.solve(a_np, b_np), atol=1e-4)


def test_adam_bias_correction_first_step_is_lr_times_sign(device):
    """Adam's first step is ``lr * g / (|g| + eps')``: about ``lr`` in each entry."""
    p0 = np.zeros(4)
    g = np.array([1e-3, -2.0, 50.0, -0.25])
    p, _ = run_optimizer(Adam, dict(lr=0.01, eps=0.0), p0, [g], device)
    np.testing.assert_allclose(to_numpy(p), -0.01 * np.sign(g), rtol=1e-12)


@pytest.mark.parametrize("cls,reference,kwargs", CASES, ids=IDS)
def test_matches_torch_optim(device, cls, reference, kwargs):
    """The same five steps through ``torch.optim`` (skipped where PyTorch is not installed)."""
    torch = pytest.importorskip("torch")
    p0, grads = _data(5, seed=2)
    p, _ = run_optimizer(cls, kwargs, p0, grads, device)
    tp = torch.tensor(p0, requires_grad=True)
    topt = getattr(torch.optim, cls.__name__)([tp], **kwargs)
    for g in grads:
        tp.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(to_numpy(p), tp.detach().numpy(), rtol=1e-11, atol=1e-13)
