"""``parameters_to_vector`` / ``vector_to_parameters``: all parameters as one flat vector.

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> layer = nn.Linear(2, 1)
>>> v = nn.utils.parameters_to_vector(layer.parameters()); v.shape
(3,)
>>> nn.utils.vector_to_parameters(tc.zeros(3), layer.parameters()); layer.bias
Parameter containing:
tensor([0.], requires_grad=True)
"""

from __future__ import annotations

from collections.abc import Iterable

from ... import ops
from ...autograd import no_grad
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected tensorcore.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != needed:
        raise RuntimeError(f"vector_to_parameters: vec of shape {list(vec.shape)} does not "
                           f"match the {needed} elements of the parameters")
    offset = 0
    with no_grad():
        for p in params:
            p.copy_(vec[offset:offset + p.numel()].reshape(p.shape))
            offset += p.numel()
