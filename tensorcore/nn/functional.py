"""Functional layers: ``linear``, the fused ``linear_act``, activations and losses, with
PyTorch's names, signatures and defaults.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> logits = tc.tensor([[2.0, 0.0], [0.0, 2.0]])
>>> round(F.cross_entropy(logits, tc.tensor([0, 1])).item(), 4)
0.1269
"""

from __future__ import annotations

from ..ops import linear, linear_act, unfused_linear_act
from ._functional_activations import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    one_hot,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from ._functional_activations_extra import (
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    prelu,
    relu6,
    softsign,
    tanhshrink,
)
from ._functional_extras import (
    cosine_similarity,
    embedding,
    kl_div,
    normalize,
    pad,
    pairwise_distance,
)
from ._functional_layers import batch_norm, dropout, layer_norm
from ._functional_losses import cross_entropy, nll_loss
from ._functional_pointwise_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)

__all__ = ["linear", "linear_act", "unfused_linear_act",
           "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh",
           "softmax", "log_softmax", "one_hot",
           "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "dropout", "batch_norm", "layer_norm",
           "normalize", "cosine_similarity", "pairwise_distance", "pad", "embedding", "kl_div",
           "mish", "hardtanh", "relu6", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
           "tanhshrink", "prelu"]
