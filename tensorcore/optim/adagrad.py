"""``Adagrad``: gradient steps scaled by the root of the sum of all squared gradients.

The update follows the pseudo-code of ``torch.optim.Adagrad``: at step ``t`` the rate is
``lr / (1 + (t - 1) * lr_decay)``, the sum grows by ``g * g`` (it starts at
``initial_accumulator_value``), and ``p -= rate * g / (sqrt(sum) + eps)``.

>>> import tensorcore as tc
>>> w = tc.tensor([1.0], requires_grad=True)
>>> opt = tc.optim.Adagrad([w], lr=0.5)
>>> w.backward(tc.tensor([4.0]))
>>> opt.step()                     # sum = 16: the step is 0.5 * 4 / 4
>>> w.item()
0.5
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

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``."""

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_pytorch_only_options(differentiable)
        check_nonnegative("learning rate", lr)
        check_nonnegative("lr_decay value", lr_decay)
        check_nonnegative("weight_decay value", weight_decay)
        check_nonnegative("initial_accumulator_value value", initial_accumulator_value)
        check_nonnegative("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)
        # PyTorch creates the state at construction (later groups get theirs at their step)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict) -> None:
        state = self.state[p]
        if not state:
            state["step"] = step_state()
            state["sum"] = zeros_state(p, group["initial_accumulator_value"])
            self._state_generation += 1

    def _group_key(self, group: dict) -> tuple:
        return group["weight_decay"] != 0, group["maximize"]

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        self._init_state(p, group)
        decay, eps, neg_clr = compiler.live(_adagrad_numbers, group, state)
        g = effective_grad(p, group["maximize"], decay if group["weight_decay"] != 0 else None)
        xp = p._backend.xp
        state_sum = state["sum"]._data
        std = g * g  # the one temporary: g**2, then the denominator
        state_sum += std
        xp.sqrt(state_sum, out=std)
        std += eps
        xp.divide(g, std, out=std)
        p._backend.axpy_(p._data, neg_clr, std)


def _adagrad_numbers(group: dict, state: dict) -> tuple:
    """Advance ``state['step']`` to ``t`` and return the numbers an Adagrad update's array
    calls take (live under ``compile``): the weight decay, ``eps`` and ``-lr / (1 + (t - 1) *
    lr_decay)``."""
    t = advance_step(state)
    return (group["weight_decay"], group["eps"],
            -(group["lr"] / (1 + (t - 1) * group["lr_decay"])))
