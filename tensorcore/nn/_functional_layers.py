"""Functional forms of the stateful layers: ``dropout``, ``batch_norm`` and ``layer_norm``,
with PyTorch's signatures, composed from differentiable tensor ops (re-exported by
``tensorcore.nn.functional``).

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> x = tc.tensor([[1.0, 3.0], [3.0, 5.0]])
>>> F.layer_norm(x, (2,), eps=0.0)
tensor([[-1.,  1.],
        [-1.,  1.]])
>>> F.dropout(x, p=0.5, training=False) is x
True
"""

from __future__ import annotations

from .. import creation
from ..autograd import no_grad
from ..tensor import Tensor
from ._functional_activations import _floating

__all__ = ["dropout", "batch_norm", "layer_norm"]


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (inverted dropout); the identity when not ``training``. Draws from the seeded default
    stream, so ``tensorcore.manual_seed`` makes it reproducible."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        keep = creation.rand(input.shape, dtype=input.dtype, device=input.device) >= p
        out = input * (keep.to(input.dtype) * (1.0 / (1.0 - p)))
    if inplace:
        input.copy_(out)
        return input
    return out


def _channel_shape(input: Tensor) -> tuple:
    """How a per-channel (C,) tensor broadcasts against (N, C) or (N, C, L) input."""
    return (1, -1) + (1,) * (input.ndim - 2)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of (N, C) or (N, C, L) input by the batch statistics
    when ``training`` (updating the running mean and unbiased running variance in place with
    ``momentum``), else by the running statistics."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dims (N, C, ...), got "
                         f"shape {list(input.shape)}")
    _floating("batch_norm", input)
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise RuntimeError(f"batch_norm: {name} should have shape [{channels}] (the "
                               f"channels of input of shape {list(input.shape)}), got "
                               f"{list(t.shape)}")
    shape = _channel_shape(input)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {list(input.shape)}")
        mean = input.mean(dims)
        centered = input - mean.reshape(shape)
        var = (centered * centered).mean(dims)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
            if running_var is not None:
                unbiased = var.detach() * (count / (count - 1))
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are needed when not "
                               "training")
        centered = input - running_mean.reshape(shape)
        var = running_var
    out = centered * (var + eps).rsqrt().reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale
    by ``weight`` and shift by ``bias`` (both of ``normalized_shape``)."""
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size {list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"layer_norm: {name} should have shape "
                               f"{list(normalized_shape)}, got {list(t.shape)}")
    _floating("layer_norm", input)
    dims = tuple(range(input.ndim - k, input.ndim))
    centered = input - input.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
