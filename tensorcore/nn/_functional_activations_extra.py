"""PyTorch's other activations in ``nn.functional``: ``mish``, ``hardtanh``, ``relu6``,
``hardsigmoid``, ``hardswish``, ``logsigmoid``, ``softsign``, ``tanhshrink`` and ``prelu``.

Each is the ``tensor`` form of its entry in the activation table
(``tensorcore.kernels.activations_extra``, whose array formulas the Functions here run), with
PyTorch's gradient at the kinks; all are differentiable twice.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> F.relu6(tc.tensor([-1.0, 3.0, 7.0])).tolist()
[0.0, 3.0, 6.0]
>>> F.hardswish(tc.tensor([-4.0, 4.0])).tolist()
[-0.0, 4.0]
"""

from __future__ import annotations

from ..autograd.function import Function
from ..kernels.activations import TABLE
from ..kernels.activations_extra import ONE_SIXTH
from ..ops.select import where
from ..tensor import Tensor
from ._functional_activations import _floating, _result, log1p_exp

__all__ = ["mish", "hardtanh", "relu6", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
           "tanhshrink", "prelu"]


def _check(fn: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish: ``input * tanh(softplus(input))``.

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in mish(tc.tensor([1.0])).tolist()]
    [0.8651]
    """
    _check("mish", input)
    _floating("mish", input)
    return _result(input, lambda t: t * log1p_exp(t).tanh(), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``input`` clamped to ``[min_val, max_val]``; the gradient is 0 at the bounds and
    beyond, as PyTorch's.

    >>> import tensorcore as tc
    >>> hardtanh(tc.tensor([-2.0, 0.5, 2.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    _check("hardtanh", input)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if not input.dtype.is_floating_point:
        min_val, max_val = int(min_val), int(max_val)

    def fn(t):
        # the gradient passes strictly inside the bounds (0 at NaN, as PyTorch's)
        inside = (t > min_val) & (t < max_val)
        return where(inside, t, where(t <= min_val, min_val,
                                      where(t >= max_val, max_val, t.detach())))

    return _result(input, fn, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)`` (``hardtanh(input, 0, 6)``).

    >>> import tensorcore as tc
    >>> relu6(tc.tensor([8.0])).tolist()
    [6.0]
    """
    _check("relu6", input)
    return hardtanh(input, 0.0, 6.0, inplace)


class _Hard(Function):
    """hardsigmoid / hardswish: the table's array formula forward; PyTorch's gradient
    (``hardsigmoid_backward`` / ``hardswish_backward``) written with Tensor ops."""

    @staticmethod
    def forward(ctx, x, name):
        ctx.name = name
        ctx.save_for_backward(x)
        return TABLE[name].array(x._backend.xp, x._data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.name == "hardsigmoid":
            return where((x > -3) & (x < 3), g * ONE_SIXTH, 0), None
        return where(x <= -3, 0, where(x >= 3, g, g * (x / 3 + 0.5))), None


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(input + 3) / 6``.

    >>> import tensorcore as tc
    >>> hardsigmoid(tc.tensor([0.0, 3.0])).tolist()
    [0.5, 1.0]
    """
    _check("hardsigmoid", input)
    _floating("hardsigmoid", input)
    return _result(input, lambda t: _Hard.apply(t, "hardsigmoid"), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * relu6(input + 3) / 6``.

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in hardswish(tc.tensor([1.0])).tolist()]
    [0.6667]
    """
    _check("hardswish", input)
    _floating("hardswish", input)
    return _result(input, lambda t: _Hard.apply(t, "hardswish"), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(input))``, computed stably (``-softplus(-input)``).

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in logsigmoid(tc.tensor([0.0, -1000.0])).tolist()]
    [-0.6931, -1000.0]
    """
    _check("logsigmoid", input)
    _floating("log_sigmoid", input)
    return -log1p_exp(-input)


def softsign(input: Tensor) -> Tensor:
    """``input / (1 + |input|)``.

    >>> import tensorcore as tc
    >>> softsign(tc.tensor([1.0, -3.0])).tolist()
    [0.5, -0.75]
    """
    _check("softsign", input)
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``input - tanh(input)``.

    >>> import tensorcore as tc
    >>> tanhshrink(tc.tensor([0.0])).tolist()
    [0.0]
    """
    _check("tanhshrink", input)
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``input`` where positive, else ``weight * input``, ``weight`` one value or one per
    channel (dim 1).

    >>> import tensorcore as tc
    >>> prelu(tc.tensor([-2.0, 3.0]), tc.tensor([0.25])).tolist()
    [-0.5, 3.0]
    """
    _check("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu(): argument 'weight' (position 2) must be Tensor, not "
                        f"{type(weight).__name__}")
    _floating("prelu", input, weight)
    n = weight.numel()
    if n != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        if weight.ndim != 1:
            raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but "
                               f"got: ndim = {weight.ndim}")
        if input.ndim >= 2:
            weight = weight.reshape(n, *([1] * (input.ndim - 2)))
    else:
        weight = weight.reshape(())
    positive = input > 0
    # the weight's gradient is masked where the input is positive (0, not 0 * inf)
    return where(positive, input, weight * where(positive, 0, input))
