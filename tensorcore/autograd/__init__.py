"""Reverse-mode autograd: ``backward``, ``grad``, ``Function``, grad modes, gradcheck.

>>> import tensorcore as tc
>>> x = tc.tensor(3.0, requires_grad=True)
>>> (g,) = tc.autograd.grad(x ** 2, x, create_graph=True)
>>> (g2,) = tc.autograd.grad(g, x)
>>> g.item(), g2.item()
(6.0, 2.0)
"""

from __future__ import annotations

import numpy as np

from ..kernels.activations import is_numpy
from . import engine, function
from .function import Function
from .grad_mode import (
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "gradcheck",
           "gradgradcheck"]


def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _root_grads(outputs, grad_outputs):
    Tensor = function.Tensor  # noqa: N806 (registered by tensorcore.tensor)
    grads = _as_list(grad_outputs) or [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad_outputs has {len(grads)} entries but there are "
                           f"{len(outputs)} outputs")
    result = []
    for out, g in zip(outputs, grads):
        if not isinstance(out, Tensor):
            raise TypeError(f"expected a Tensor output, got {type(out).__name__}")
        if g is None:
            g = _seed(out)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=out.dtype, device=out.device)
        if g._data.shape != out._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {list(g.shape)} "
                               f"and output has a shape of {list(out.shape)}")
        if g._backend is not out._backend and g.device != out.device:
            raise RuntimeError(f"grad_output is on {g.device} but the output is on "
                               f"{out.device}")
        result.append(g)
    return result


def _seed(out):
    """The implicit root gradient of a scalar output: ones of its shape and dtype."""
    data = out._data
    if data.size != 1:
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs (got an "
                           f"output of shape {list(out.shape)}); pass `gradient=` with that "
                           f"shape")
    xp = out._backend.xp
    # a 0-d NumPy seed is fastest made from a scalar; on a GPU a fill kernel, never a
    # host-to-device copy (which a CUDA-graph capture would record by address)
    ones = np.array(1, dtype=data.dtype) if is_numpy(xp) and not data.ndim \
        else xp.ones(data.shape, data.dtype)
    return function.Tensor._make(ones, out._backend)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``."""
    if (grad_tensors is None and inputs is None and not create_graph
            and type(tensors) is function.Tensor and tensors.grad_fn is not None):
        # the training loop's loss.backward(): one output, no options to normalize
        engine.run_backward((tensors,), (_seed(tensors),), bool(retain_graph), False)
        return
    tensors = _as_list(tensors)
    grads = _root_grads(tensors, grad_tensors)
    retain = create_graph if retain_graph is None else retain_graph
    inputs = _as_list(inputs)
    result = engine.run_backward(tensors, grads, retain, create_graph, inputs=inputs,
                                 allow_unused=True, accumulate=True)
    for t, g in zip(inputs or (), result or ()):  # non-leaf inputs accumulate too
        if t.grad_fn is not None and g is not None:
            g = g if create_graph else g.detach().clone()  # owned, never aliased
            t.grad = g if t._grad is None else t._grad + g  # _grad: no non-leaf warning


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``."""
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require "
                               f"grad")
    grads = _root_grads(outputs, grad_outputs)
    retain = create_graph if retain_graph is None else retain_graph
    result = engine.run_backward(outputs, grads, retain, create_graph, inputs=inputs,
                                 allow_unused=allow_unused or materialize_grads,
                                 accumulate=False)
    if materialize_grads:
        result = tuple(g if g is not None else t.detach() * 0 for g, t in zip(result, inputs))
    return result
