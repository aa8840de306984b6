"""Activation functions of ``nn.functional`` beyond the tensor methods (``relu``,
``sigmoid``, ``tanh``): ``leaky_relu``, ``elu``, ``gelu`` (exact or tanh), ``silu``,
``softplus``, ``softmax`` / ``log_softmax`` with PyTorch's ``dim`` handling, and
``one_hot``. Each is composed of differentiable ops, so it is differentiable twice.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> F.leaky_relu(tc.tensor([-2.0, 3.0]), 0.5).tolist()
[-1.0, 3.0]
>>> F.one_hot(tc.tensor([0, 2]), 3).tolist()
[[1, 0, 0], [0, 0, 1]]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..ops import reduce as _reduce
from ..ops._util import const
from ..ops.arith import where
from ..ops.inplace import inplace as _inplace
from ..tensor import Tensor

__all__ = ["relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh",
           "softmax", "log_softmax", "one_hot", "log1p_exp"]

GELU_APPROXIMATIONS = ("none", "tanh")


def _floating(fn: str, *tensors) -> None:
    """PyTorch's kernels of these functions exist for floating point only: an integer or bool
    input (when no operand is floating point) raises, as there."""
    tensors = [t for t in tensors if isinstance(t, Tensor)]
    if tensors and not any(t._data.dtype.kind == "f" for t in tensors):
        raise NotImplementedError(f"\"{fn}\" not implemented for '{tensors[0].dtype.name}'")


def _result(input: Tensor, fn, inplace: bool) -> Tensor:
    """``fn(input)``, or for ``inplace=True`` ``input`` overwritten with it as PyTorch's
    in-place activations do (ops.inplace.inplace): a leaf that requires grad refuses, the
    node's saved output is ``input`` itself (so a later change of it is refused at backward),
    and a saved input is a copy of its value before the write."""
    if not inplace:
        return fn(input)
    return _inplace(input, fn, [])


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` elementwise.

    >>> import tensorcore as tc
    >>> relu(tc.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
    True
    """
    return _result(input, Tensor.relu, inplace)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))`` elementwise (PyTorch's ``input`` keyword).

    >>> import tensorcore as tc
    >>> sigmoid(tc.tensor([0.0])).tolist()
    [0.5]
    """
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent elementwise (PyTorch's ``input`` keyword).

    >>> import tensorcore as tc
    >>> tanh(tc.tensor([0.0])).tolist()
    [0.0]
    """
    return input.tanh()


class LeakyRelu(Function):
    """``x`` where positive, else ``slope * x``. Saves its input, as PyTorch; the in-place
    form its output (the input is overwritten), whose sign gives the same factors for a
    slope >= 0 (PyTorch refuses a negative slope there at backward)."""

    @staticmethod
    def forward(ctx, x, slope, inplace):
        xp, xd = x._backend.xp, x._data
        out = xp.where(xd > 0, xd, xd * slope)
        ctx.slope, ctx.from_output = slope, inplace
        ctx.save_for_backward(out if inplace else x)
        return out

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        if ctx.from_output and ctx.slope < 0:
            raise RuntimeError("In-place leakyReLu backward calculation is triggered with a "
                               "negative slope which is not supported. This is caused by "
                               "calling in-place forward function with a negative slope, "
                               "please call out-of-place version instead.")
        xd = t._data
        factor = g._backend.xp.where(xd > 0, 1.0, ctx.slope).astype(xd.dtype)
        return g * const(g, factor), None, None


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input`` (gradient at 0:
    ``negative_slope``, as in PyTorch).

    >>> import tensorcore as tc
    >>> leaky_relu(tc.tensor([-100.0, 1.0])).tolist()
    [-1.0, 1.0]
    """
    _floating("leaky_relu", input)
    return _result(input, lambda t: LeakyRelu.apply(t, negative_slope, inplace), inplace)


class Elu(Function):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``. Saves its input, as PyTorch (the
    in-place form its output: the gradient there is ``out + alpha``). The backward is a
    select, as PyTorch's ``elu_backward``: a NaN input passes the gradient through."""

    @staticmethod
    def forward(ctx, x, alpha, inplace):
        xp, xd = x._backend.xp, x._data
        out = xp.where(xd <= 0, xp.expm1(xp.minimum(xd, 0)) * alpha, xd)
        ctx.alpha, ctx.from_output = alpha, inplace
        ctx.save_for_backward(out if inplace else x)
        return out

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        if ctx.from_output:
            slope = t + ctx.alpha
        else:  # clamped: no overflow in the branch not taken
            slope = t.clamp(max=0.0).exp() * ctx.alpha
        return where(t <= 0, g * slope, g), None, None


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``alpha * (exp(input) - 1)``.

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in elu(tc.tensor([-1.0, 2.0])).tolist()]
    [-0.6321, 2.0]
    """
    _floating("elu", input)
    return _result(input, lambda t: Elu.apply(t, alpha, inplace), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU: ``x * Phi(x)`` (``approximate='none'``, with erf) or its tanh approximation
    ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`` (``approximate='tanh'``).

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in gelu(tc.tensor([1.0]), approximate="tanh").tolist()]
    [0.8412]
    """
    _floating("gelu", input)
    # written as input * cdf(input): the product saves ``input`` (as PyTorch's gelu does), so
    # an in-place change of it before backward is refused there too
    if approximate == "none":
        return input * (0.5 * (1 + (input * math.sqrt(0.5)).erf()))
    if approximate == "tanh":
        inner = (input + 0.044715 * input * input * input) * math.sqrt(2 / math.pi)
        return input * (0.5 * (1 + inner.tanh()))
    raise RuntimeError(f"approximate argument must be either none or tanh, got "
                       f"{approximate!r}.")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): ``input * sigmoid(input)``.

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in silu(tc.tensor([1.0])).tolist()]
    [0.7311]
    """
    _floating("silu", input)
    return _result(input, lambda t: t * t.sigmoid(), inplace)


class Log1pExp(Function):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``; its gradient
    is ``sigmoid(x)``, also at 0 (where max and |x| have kinks)."""

    @staticmethod
    def forward(ctx, x):
        xp, xd = x._backend.xp, x._data
        ctx.save_for_backward(x)
        return xp.maximum(xd, 0) + xp.log1p(xp.exp(-xp.abs(xd)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.sigmoid()


def log1p_exp(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` computed stably (no overflow for x = +-1000).

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in log1p_exp(tc.tensor([-1000.0, 0.0, 1000.0])).tolist()]
    [0.0, 0.6931, 1000.0]
    """
    return Log1pExp.apply(x)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in softplus(tc.tensor([0.0, 30.0])).tolist()]
    [0.6931, 30.0]
    """
    _floating("softplus", input)
    scaled = input * beta
    return where(scaled > threshold, input, log1p_exp(scaled) / beta)


def _softmax_dim(name: str, ndim: int, dim: int | None, stacklevel: int) -> int:
    """PyTorch's implicit dim (0 for 0-, 1- and 3-d inputs, else 1), with its warning."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed in ``dtype`` if given).

    >>> import tensorcore as tc
    >>> softmax(tc.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    return _reduce.softmax(input, _softmax_dim("softmax", input.ndim, dim, _stacklevel), dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably.

    >>> import tensorcore as tc
    >>> [round(v, 4) for v in log_softmax(tc.tensor([0.0, 0.0]), dim=0).tolist()]
    [-0.6931, -0.6931]
    """
    return _reduce.log_softmax(input, _softmax_dim("log_softmax", input.ndim, dim,
                                                   _stacklevel), dtype)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding of the int64 class indices ``tensor``: shape
    ``(*tensor.shape, num_classes)``; ``num_classes=-1`` takes ``max + 1``.

    >>> import tensorcore as tc
    >>> one_hot(tc.tensor([1, 0])).tolist()
    [[0, 1], [1, 0]]
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'tensor' must be Tensor, not "
                        f"{type(tensor).__name__}")
    t = tensor._data
    if t.dtype != np.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor "
                           f"(int64), got {tensor.dtype}.")
    if num_classes < -1:
        raise RuntimeError(f"one_hot: num_classes should be -1 or non-negative, got "
                           f"{num_classes}.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size:
        if int(t.min()) < 0:
            raise RuntimeError(f"Class values must be non-negative (got {int(t.min())}).")
        if int(t.max()) >= num_classes:
            raise RuntimeError(f"Class values must be smaller than num_classes "
                               f"({num_classes}), got {int(t.max())}.")
    xp = tensor._backend.xp
    out = (t[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out, tensor._backend)
