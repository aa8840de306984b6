"""Helpers for training: gradient clipping, the L1 penalty, parameters as one vector.

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> w = nn.Parameter(tc.zeros(2)); w.grad = tc.tensor([-3.0, 0.5])
>>> nn.utils.clip_grad_value_([w], 1.0); w.grad
tensor([-1.0,  0.5])
"""

from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .regularization import l1_penalty

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty", "parameters_to_vector",
           "vector_to_parameters"]
