"""``NAdam``, ``RAdam``, ``Adamax`` and ``Adadelta``, with PyTorch's defaults and the update
formulas of ``torch.optim``'s single-tensor implementations (the same operations in the same
order): Nesterov momentum in Adam (Dozat's NAdam, with the momentum decay schedule),
rectified Adam (Liu et al.: no adaptive step until the variance of the adaptive lr is
tractable, ``rho_t > 5``), Adam with the infinity norm, and Adadelta (Zeiler). Per-step numbers
pass through ``compiler.live`` as Adam's do, so a ``tc.compile``'d step replays them.

>>> import tensorcore as tc
>>> w = tc.tensor([1.0, -1.0], requires_grad=True)
>>> opt = tc.optim.Adamax([w], lr=0.1)
>>> w.backward(tc.tensor([3.0, -0.5]))
>>> opt.step()                     # Adamax's first step moves each entry by lr
>>> [round(v, 4) for v in w.tolist()]
[0.9, -0.9]
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import compiler
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    advance_step,
    check_nonnegative,
    check_pytorch_only_options,
    effective_grad,
    step_state,
    zeros_state,
)

__all__ = ["NAdam", "RAdam", "Adamax", "Adadelta"]


def _check_adam_like(lr, eps, betas, weight_decay) -> None:
    check_nonnegative("learning rate", lr)
    check_nonnegative("epsilon value", eps)
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    check_nonnegative("weight_decay value", weight_decay)


def _lerp_(m, g, weight, xp) -> None:
    """``m.lerp_(g, weight)`` for a weight below 0.5: ``m += weight * (g - m)``."""
    step = g - m
    step *= weight
    xp.add(m, step, out=m)


def _decayed_grad(p: Tensor, group: dict, x, shrink, decay):
    """The gradient after weight decay: AdamW-style (``p *= 1 - lr * wd`` first) when
    ``decoupled_weight_decay``, else L2 (``g + wd * p``)."""
    if group["weight_decay"] != 0 and group.get("decoupled_weight_decay"):
        x *= shrink
        return effective_grad(p, group["maximize"], None)
    return effective_grad(p, group["maximize"], decay if group["weight_decay"] != 0 else None)


class _DecoupledDecay(Optimizer):
    """An Adam variant whose weight decay may be decoupled (``decoupled_weight_decay``):
    its groups' plans differ by that flag too."""

    def _group_key(self, group: dict) -> tuple:
        return (group["weight_decay"] != 0, group["decoupled_weight_decay"], group["maximize"])


class NAdam(_DecoupledDecay):
    """NAdam, as ``torch.optim.NAdam``."""

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_pytorch_only_options(differentiable)
        _check_adam_like(lr, eps, betas, weight_decay)
        check_nonnegative("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        if not state:
            state["step"] = step_state()
            state["mu_product"] = step_state()
            state["mu_product"]._data += 1.0
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
            self._state_generation += 1
        (shrink, decay, one_minus_beta1, beta2, one_minus_beta2, bias2, eps, grad_step,
         avg_step) = compiler.live(_nadam_numbers, group, state)
        xp, backend, x = p._backend.xp, p._backend, p._data
        g = _decayed_grad(p, group, x, shrink, decay)
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(m, g, one_minus_beta1, xp)
        v *= beta2
        backend.axpy_(v, one_minus_beta2, g * g)
        denom = v / bias2
        xp.sqrt(denom, out=denom)
        denom += eps
        backend.axpy_(x, grad_step, g / denom)
        backend.axpy_(x, avg_step, m / denom)


def _nadam_numbers(group: dict, state: dict) -> tuple:
    """Advance the step and the product of the momentum coefficients; the numbers of a
    NAdam update (live under ``compile``)."""
    t = advance_step(state)
    lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
    psi = group["momentum_decay"]
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
    product = state["mu_product"]._data
    product *= mu  # a tensor of the default dtype, as PyTorch keeps it
    mu_product = float(product)
    return (1 - lr * wd, wd, 1 - beta1, beta2, 1 - beta2, 1 - beta2 ** t, group["eps"],
            -lr * (1.0 - mu) / (1.0 - mu_product), (-lr * mu_next) / (1.0 - mu_product * mu_next))


class RAdam(_DecoupledDecay):
    """RAdam, as ``torch.optim.RAdam``."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_pytorch_only_options(differentiable)
        _check_adam_like(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        if not state:
            state["step"] = step_state()
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
            self._state_generation += 1
        (shrink, decay, one_minus_beta1, beta2, one_minus_beta2, bias1, lr, root_bias2, eps,
         unrectified, rect) = compiler.live(_radam_numbers, group, state)
        xp, backend, x = p._backend.xp, p._backend, p._data
        g = _decayed_grad(p, group, x, shrink, decay)
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(m, g, one_minus_beta1, xp)
        v *= beta2
        backend.axpy_(v, one_minus_beta2, g * g)
        update = m / bias1
        update *= lr
        # PyTorch's two branches in one sequence of array calls (no Python branch on the
        # step count, so a compiled step replays both): rectified, ``root_bias2`` is
        # sqrt(1 - b2**t) and ``unrectified`` 0, and the calls are PyTorch's; before, they
        # are 0 and 1 and multiply ``update`` by exactly 1 (0 / (d + 1) + 1, with d >= 0)
        adaptive = xp.sqrt(v)
        adaptive += eps
        adaptive += unrectified
        xp.divide(root_bias2, adaptive, out=adaptive)
        adaptive += unrectified
        update *= adaptive
        update *= rect
        x -= update


def _rho(beta2: float, t: float) -> float:
    """RAdam's ``rho_t``, the length of the approximated simple moving average."""
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * (beta2 ** t) / (1 - beta2 ** t)


def _radam_numbers(group: dict, state: dict) -> tuple:
    """Advance the step; the numbers of a RAdam update (live under ``compile``): before the
    first rectified step (``rho_t <= 5``) the adaptive factors are 0, 1 and 1 (see
    ``RAdam._update``)."""
    t = advance_step(state)
    lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
    bias2 = 1 - beta2 ** t
    rho_inf, rho_t = 2 / (1 - beta2) - 1, _rho(beta2, t)
    if rho_t > 5.0:
        root_bias2, unrectified = bias2 ** 0.5, 0.0
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    else:
        root_bias2, unrectified, rect = 0.0, 1.0, 1.0
    return (1 - lr * wd, wd, 1 - beta1, beta2, 1 - beta2, 1 - beta1 ** t, lr, root_bias2,
            group["eps"], unrectified, rect)


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as ``torch.optim.Adamax``."""

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_pytorch_only_options(differentiable)
        _check_adam_like(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _group_key(self, group: dict) -> tuple:
        return (group["weight_decay"] != 0, group["maximize"])

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        if not state:
            state["step"] = step_state()
            state["exp_avg"] = zeros_state(p)
            state["exp_inf"] = zeros_state(p)
            self._state_generation += 1
        decay, one_minus_beta1, beta2, eps, neg_step = compiler.live(_adamax_numbers, group,
                                                                     state)
        xp, backend = p._backend.xp, p._backend
        g = effective_grad(p, group["maximize"], decay if group["weight_decay"] != 0 else None)
        m, u = state["exp_avg"]._data, state["exp_inf"]._data
        _lerp_(m, g, one_minus_beta1, xp)
        u *= beta2
        norm = xp.abs(g)
        norm += eps
        xp.maximum(u, norm, out=u)
        backend.axpy_(p._data, neg_step, m / u)


def _adamax_numbers(group: dict, state: dict) -> tuple:
    """Advance the step; the numbers of an Adamax update (live under ``compile``)."""
    t = advance_step(state)
    beta1, beta2 = group["betas"]
    return (group["weight_decay"], 1 - beta1, beta2, group["eps"],
            -(group["lr"] / (1 - beta1 ** t)))


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta`` (``lr`` scales the delta; 1.0 by default)."""

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_pytorch_only_options(differentiable)
        check_nonnegative("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonnegative("epsilon value", eps)
        check_nonnegative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _group_key(self, group: dict) -> tuple:
        return (group["weight_decay"] != 0, group["maximize"])

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        if not state:
            state["step"] = step_state()
            state["square_avg"] = zeros_state(p)
            state["acc_delta"] = zeros_state(p)
            self._state_generation += 1
        decay, rho, one_minus_rho, eps, neg_lr = compiler.live(_adadelta_numbers, group, state)
        xp, backend = p._backend.xp, p._backend
        g = effective_grad(p, group["maximize"], decay if group["weight_decay"] != 0 else None)
        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho
        backend.axpy_(square_avg, one_minus_rho, g * g)
        std = square_avg + eps
        xp.sqrt(std, out=std)
        delta = acc_delta + eps
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        acc_delta *= rho
        backend.axpy_(acc_delta, one_minus_rho, delta * delta)
        backend.axpy_(p._data, neg_lr, delta)


def _adadelta_numbers(group: dict, state: dict) -> tuple:
    """Advance the step; the numbers of an Adadelta update (live under ``compile``)."""
    advance_step(state)
    rho = group["rho"]
    return group["weight_decay"], rho, 1 - rho, group["eps"], -group["lr"]
