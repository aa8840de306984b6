"""Functional layers: ``linear``, the fused ``linear_act``, activations and losses.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> logits = tc.tensor([[2.0, 0.0], [0.0, 2.0]])
>>> round(F.cross_entropy(logits, tc.tensor([0, 1])).item(), 4)
0.1269
"""

from __future__ import annotations

from ..ops import cross_entropy, linear, linear_act, unfused_linear_act
from ..ops.reduce import log_softmax, softmax
from ..ops.unary import relu, sigmoid, tanh
from ._functional_layers import batch_norm, dropout, layer_norm  # noqa: F401

__all__ = ["linear", "linear_act", "unfused_linear_act", "cross_entropy", "relu", "sigmoid",
           "tanh", "softmax", "log_softmax", "gelu", "mse_loss"]


def gelu(x):
    """Exact (erf) GELU: ``x * Phi(x)``."""
    return 0.5 * x * (1 + (x * 0.7071067811865476).erf())


def mse_loss(input, target, reduction: str = "mean"):
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input shape {list(input.shape)} and target shape "
                         f"{list(target.shape)} differ")
    d = (input - target) ** 2
    return {"mean": d.mean, "sum": d.sum}.get(reduction, lambda: d)()
