"""``l1_penalty``: the differentiable sum of absolute values of parameters, for L1
regularisation (add ``lam * l1_penalty(model.parameters())`` to the loss).

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> w = nn.Parameter(tc.tensor([1.0, -2.0]))
>>> penalty = nn.utils.l1_penalty([w]); penalty
tensor(3., grad_fn=<SumBackward0>)
>>> penalty.backward(); w.grad
tensor([ 1., -1.])
"""

from __future__ import annotations

from collections.abc import Iterable

from ...tensor import Tensor
from .clip_grad import _as_list

__all__ = ["l1_penalty"]


def l1_penalty(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """``sum(|w|)`` over all elements of all ``parameters`` (differentiable)."""
    params = _as_list(parameters)
    if not params:
        raise ValueError("l1_penalty: got no parameters")
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total
