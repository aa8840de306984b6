"""``RMSprop``: gradient steps scaled by a running root mean square of the gradients.

The update follows the pseudo-code of ``torch.optim.RMSprop``: ``v = alpha * v + (1 -
alpha) * g * g``; with ``centered`` the running mean ``m`` of ``g`` is kept too and ``v -
m * m`` replaces ``v``; the step is ``g / (sqrt(v) + eps)``, through a momentum buffer
(``buf = momentum * buf + step``) when ``momentum > 0``, scaled by ``-lr``.

>>> import tensorcore as tc
>>> w = tc.tensor([1.0], requires_grad=True)
>>> opt = tc.optim.RMSprop([w], lr=0.01, alpha=0.75)
>>> w.backward(tc.tensor([2.0]))
>>> opt.step()                     # v = 0.25 * 4 = 1, so the step is lr * 2 / 1
>>> round(w.item(), 6)
0.98
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

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_pytorch_only_options(differentiable)
        check_nonnegative("learning rate", lr)
        check_nonnegative("epsilon value", eps)
        check_nonnegative("momentum value", momentum)
        check_nonnegative("weight_decay value", weight_decay)
        check_nonnegative("alpha value", alpha)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _group_key(self, group: dict) -> tuple:
        return (group["momentum"] > 0, group["centered"], group["weight_decay"] != 0,
                group["maximize"])

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        if not state:
            state["step"] = step_state()
            state["square_avg"] = zeros_state(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_state(p)
            if group["centered"]:
                state["grad_avg"] = zeros_state(p)
            self._state_generation += 1
        decay, alpha, one_minus_alpha, eps, momentum, neg_lr = compiler.live(
            _rmsprop_numbers, group, state)
        g = effective_grad(p, group["maximize"], decay if group["weight_decay"] != 0 else None)
        xp, backend = p._backend.xp, p._backend
        avg = g * g  # the one temporary: g**2, then the denominator
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        backend.axpy_(square_avg, one_minus_alpha, avg)
        if group["centered"]:  # sqrt(square_avg - grad_avg**2)
            grad_avg = state["grad_avg"]._data
            grad_avg *= alpha
            backend.axpy_(grad_avg, one_minus_alpha, g)
            xp.multiply(grad_avg, grad_avg, out=avg)
            xp.subtract(square_avg, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(square_avg, out=avg)
        avg += eps
        xp.divide(g, avg, out=avg)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += avg
            avg = buf
        backend.axpy_(p._data, neg_lr, avg)


def _rmsprop_numbers(group: dict, state: dict) -> tuple:
    """Advance ``state['step']`` and return the numbers an RMSprop update's array calls take
    (live under ``compile``): the weight decay, ``alpha``, ``1 - alpha``, ``eps``, the
    momentum and ``-lr``."""
    advance_step(state)
    alpha = group["alpha"]
    return (group["weight_decay"], alpha, 1 - alpha, group["eps"], group["momentum"],
            -group["lr"])
