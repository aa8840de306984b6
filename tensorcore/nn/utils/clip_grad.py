"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``.

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> w = nn.Parameter(tc.zeros(2)); w.grad = tc.tensor([3.0, 4.0])
>>> nn.utils.clip_grad_norm_([w], max_norm=1.0)
tensor(5.)
>>> w.grad
tensor([0.6, 0.8])
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ... import ops
from ...autograd import no_grad
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(t: Tensor, norm_type: float) -> Tensor:
    """``torch.linalg.vector_norm(t, norm_type)`` of all elements: max / min of ``|t|`` for
    +-inf, the count of nonzeros for 0, else ``sum(|t|**p) ** (1/p)``."""
    if norm_type == math.inf:
        return t.abs().max()
    if norm_type == -math.inf:
        return t.abs().min()
    if norm_type == 0:
        return (t != 0).to(t.dtype).sum()
    return (t.abs() ** norm_type).sum() ** (1 / norm_type)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale the gradients in place so that their joint ``norm_type`` norm (PyTorch's: the
    norm of the per-gradient norms; for a p-norm that is the norm of all of them as one
    vector) is at most ``max_norm``; returns the norm before clipping. ``foreach`` is
    accepted for PyTorch compatibility and ignored."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        from ...creation import tensor
        return tensor(0.0)
    with no_grad():
        norms = [_vector_norm(g.detach(), norm_type) for g in grads]
        total = norms[0] if len(norms) == 1 else _vector_norm(ops.stack(norms), norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               f"`parameters` is non-finite, so it cannot be clipped. To "
                               f"disable this error and scale the gradients by the non-finite "
                               f"norm anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]`` (``foreach`` is
    accepted for PyTorch compatibility and ignored)."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)
