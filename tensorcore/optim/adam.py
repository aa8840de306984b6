"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay.

The update follows the pseudo-code of ``torch.optim.Adam``: ``m = b1 * m + (1 - b1) * g``,
``v = b2 * v + (1 - b2) * g * g``, then ``p -= lr / (1 - b1**t) * m / (sqrt(v') /
sqrt(1 - b2**t) + eps)`` with ``v'`` the running maximum of ``v`` under ``amsgrad``, else
``v``. ``Adam`` adds ``weight_decay * p`` to the gradient; ``AdamW`` first shrinks the
parameter by ``1 - lr * weight_decay`` (decoupled decay).

>>> import tensorcore as tc
>>> w = tc.tensor([1.0, -1.0], requires_grad=True)
>>> opt = tc.optim.Adam([w], lr=0.1)
>>> w.backward(tc.tensor([3.0, -0.5]))
>>> opt.step()                     # Adam's first step moves each entry by about lr
>>> [round(v, 4) for v in w.tolist()]
[0.9, -0.9]
"""

from __future__ import annotations

import math
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

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``decoupled_weight_decay=True`` makes it AdamW)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_pytorch_only_options(differentiable)
        check_nonnegative("learning rate", lr)
        check_nonnegative("epsilon value", eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_nonnegative("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _group_key(self, group: dict) -> tuple:
        return (group["amsgrad"], group["decoupled_weight_decay"], group["weight_decay"] != 0,
                group["maximize"])

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        if not state:
            state["step"] = step_state()
            state["exp_avg"] = zeros_state(p)
            state["exp_avg_sq"] = zeros_state(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_state(p)
            self._state_generation += 1
        (shrink, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_root, eps,
         neg_step) = compiler.live(_adam_numbers, group, state)
        x = p._data
        if group["decoupled_weight_decay"]:
            x *= shrink
            decay = None
        elif group["weight_decay"] == 0:
            decay = None
        g = effective_grad(p, group["maximize"], decay)
        v_max = state["max_exp_avg_sq"]._data if group["amsgrad"] else None
        p._backend.adam_update_(x, g, state["exp_avg"]._data, state["exp_avg_sq"]._data, v_max,
                                beta1, one_minus_beta1, beta2, one_minus_beta2, bias_root,
                                eps, neg_step)


def _adam_numbers(group: dict, state: dict) -> tuple:
    """Advance ``state['step']`` to ``t`` and return the numbers an Adam update's array calls
    take (live under ``compile``): AdamW's shrink factor ``1 - lr * weight_decay``, the
    weight decay, ``b1``, ``1 - b1``, ``b2``, ``1 - b2``, ``sqrt(1 - b2**t)``, ``eps`` and
    the step ``-lr / (1 - b1**t)``."""
    t = advance_step(state)
    lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
    return (1 - lr * weight_decay, weight_decay, beta1, 1 - beta1, beta2, 1 - beta2,
            math.sqrt(1 - beta2 ** t), group["eps"], -lr / (1 - beta1 ** t))


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (``weight_decay=1e-2``)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         differentiable=differentiable, decoupled_weight_decay=True)
