"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

The update follows the pseudo-code of ``torch.optim.SGD``: with ``g`` the gradient (negated
under ``maximize``, plus ``weight_decay * p``), the momentum buffer starts as ``g`` and then
becomes ``momentum * buf + (1 - dampening) * g``; the step is ``buf`` (or ``g + momentum *
buf`` with ``nesterov``), scaled by ``-lr``.

>>> import tensorcore as tc
>>> w = tc.tensor([1.0], requires_grad=True)
>>> opt = tc.optim.SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(2):
...     opt.zero_grad()
...     w.backward(tc.tensor([1.0]))   # a constant gradient of 1
...     opt.step()
>>> round(w.item(), 6)                 # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
0.71
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import compiler
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    check_nonnegative,
    check_pytorch_only_options,
    effective_grad,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_pytorch_only_options(differentiable)
        check_nonnegative("learning rate", lr)
        check_nonnegative("momentum value", momentum)
        check_nonnegative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _group_key(self, group: dict) -> tuple:
        return (group["momentum"] != 0, group["nesterov"], group["weight_decay"] != 0,
                group["maximize"])

    def _update(self, p: Tensor, group: dict, state: dict) -> None:
        decay, momentum, keep, neg_lr = compiler.live(_sgd_numbers, group)
        g = effective_grad(p, group["maximize"], decay if group["weight_decay"] != 0 else None)
        backend = p._backend
        if group["momentum"] != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor._make(g.copy(), backend)
                self._state_generation += 1
            else:
                b = buf._data
                b *= momentum
                backend.axpy_(b, keep, g)
            if group["nesterov"]:
                g = g + momentum * buf._data
            else:
                g = buf._data
        backend.axpy_(p._data, neg_lr, g)


def _sgd_numbers(group: dict) -> tuple:
    """The numbers an SGD update's array calls take (live under ``compile``): the weight
    decay, the momentum, the weight ``1 - dampening`` of the gradient in the buffer, ``-lr``."""
    return group["weight_decay"], group["momentum"], 1 - group["dampening"], -group["lr"]
