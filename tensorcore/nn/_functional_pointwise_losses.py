"""Elementwise losses: ``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``,
``binary_cross_entropy`` and ``binary_cross_entropy_with_logits``, as in PyTorch.

Unlike PyTorch, which only warns, input and target of different shapes raise a ValueError
naming both shapes: broadcasting an (N, 1) prediction against an (N,) target silently gives
an (N, N) loss, the classic wrong result.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> F.l1_loss(tc.tensor([1.0, 2.0]), tc.tensor([0.0, 4.0])).item()
1.5
>>> F.mse_loss(tc.zeros(3, 1), tc.zeros(3))
Traceback (most recent call last):
...
ValueError: mse_loss(): input shape [3, 1] and target shape [3] differ ...
"""

from __future__ import annotations

import contextlib

from .. import _dtype
from ..autograd.function import Function
from ..ops._util import operands
from ..ops.arith import where
from ..tensor import Tensor
from ._functional_activations import _floating, log1p_exp
from ._reduction import (
    check_broadcasts_to,
    check_floating,
    check_tensors,
    reduce_loss,
    resolve_reduction,
)

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


def _check_pair(fn: str, input: Tensor, target: Tensor, weight: Tensor | None = None) -> None:
    check_tensors(fn, input=input, target=target, weight=weight)
    if input.shape != target.shape:
        raise ValueError(f"{fn}(): input shape {list(input.shape)} and target shape "
                         f"{list(target.shape)} differ (tensorcore does not broadcast them; "
                         f"reshape one to the other's shape)")
    if weight is not None and weight.shape != input.shape:
        raise ValueError(f"{fn}(): Weights and input must have the same size: weight "
                         f"{list(weight.shape)}, input {list(input.shape)}")


def _in_input_dtype(fn: str, input: Tensor, target: Tensor) -> Tensor:
    """``target`` in the input's dtype, as PyTorch's huber_loss computes (its result has the
    input's dtype): RuntimeError where their promoted type cannot be cast to it (a float
    target of an integer input), NotImplementedError for an integer or bool input."""
    promoted = _dtype.result_type(input.dtype, target.dtype)
    if not _dtype.can_cast(promoted, input.dtype):
        raise RuntimeError(f"{fn}(): result type {promoted.name} can't be cast to the desired "
                           f"output type {input.dtype.name} (the input's)")
    _floating(fn, input)
    return target if target.dtype is input.dtype else target.to(input.dtype)


def _weighted(errors: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    """PyTorch's weighted ``mse_loss`` / ``l1_loss``: 'mean' is sum(w * e) / sum(w)."""
    if weight is None:
        return reduce_loss(errors, reduction)
    errors = errors * weight
    if reduction == "mean":
        return errors.sum() / weight.sum()
    return reduce_loss(errors, reduction)


class SquaredError(Function):
    """``(x - y) ** 2`` elementwise. Saves both operands, as PyTorch's mse_loss: an
    in-place change of either afterwards is refused at backward."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        a, b = operands(x, y)
        diff = a - b
        return diff * diff

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        twice = (x - y) * g * 2.0
        return (twice if nx else None), (-twice if ny else None)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Squared error ``(input - target) ** 2``, reduced; with ``weight`` (input's shape),
    ``'mean'`` is ``sum(w * e) / sum(w)``. Shapes must match: a ValueError names both
    (PyTorch only warns, then broadcasts).

    >>> import tensorcore as tc
    >>> mse_loss(tc.tensor([1.0, 2.0]), tc.tensor([0.0, 4.0]), reduction="sum").item()
    5.0
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    _check_pair("mse_loss", input, target, weight)
    _floating("mse_loss", input, target)
    return _weighted(SquaredError.apply(input, target), weight, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Absolute error ``|input - target|``, reduced; ``weight`` as in ``mse_loss``. Shapes
    must match (ValueError otherwise).

    >>> import tensorcore as tc
    >>> l1_loss(tc.tensor([1.0, 2.0]), tc.tensor([0.0, 4.0]), reduction="none").tolist()
    [1.0, 2.0]
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    _check_pair("l1_loss", input, target, weight)
    return _weighted((input - target).abs(), weight, reduction)


def _quadratic_then_linear(diff: Tensor, knot: float) -> Tensor:
    """``0.5 d^2`` for ``|d| < knot``, else ``knot * (|d| - 0.5 knot)`` (the Huber loss).
    The square takes no large difference (0 there): an infinite one would send 0 * inf = NaN
    back through the branch ``where`` leaves out (PyTorch: +-knot). A NaN one stays in it,
    so its gradient is NaN, as PyTorch's."""
    size = diff.abs()
    inner = where(size >= knot, 0.0, diff)
    return where(size < knot, 0.5 * inner * inner, (size - 0.5 * knot) * knot)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Huber loss: ``0.5 d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``,
    with ``d = input - target``; ``weight`` (input's shape) multiplies each term before the
    reduction (``'mean'`` is the plain mean, as in PyTorch). Shapes must match.

    >>> import tensorcore as tc
    >>> huber_loss(tc.tensor([0.5, 3.0]), tc.zeros(2), reduction="none").tolist()
    [0.125, 2.5]
    """
    reduction = resolve_reduction(None, None, reduction)
    _check_pair("huber_loss", input, target, weight)
    target = _in_input_dtype("huber_loss", input, target)
    if not delta > 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta "
                           f"(got {delta}).")
    loss = _quadratic_then_linear(input - target, delta)
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Smooth L1: ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (the Huber
    loss divided by ``beta``; ``beta=0`` is the L1 loss). Shapes must match.

    >>> import tensorcore as tc
    >>> smooth_l1_loss(tc.tensor([0.5, 3.0]), tc.zeros(2), beta=2.0, reduction="none").tolist()
    [0.0625, 2.0]
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    _check_pair("smooth_l1_loss", input, target)
    _floating("smooth_l1_loss", input, target)
    if input.dtype is _dtype.bool_ or target.dtype is _dtype.bool_:  # '-' refuses bool
        promoted = _dtype.result_type(input.dtype, target.dtype)
        input, target = input.to(promoted), target.to(promoted)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta "
                           f"(got {beta}).")
    diff = input - target
    loss = diff.abs() if beta == 0 else _quadratic_then_linear(diff, beta) / beta
    return reduce_loss(loss, reduction)


class BinaryCrossEntropy(Function):
    """``-(y log x + (1 - y) log(1 - x))`` elementwise, each log clamped to >= -100; the
    input gradient is PyTorch's ``(x - y) / max(x (1 - x), 1e-12)``, finite at 0 and 1; the
    target's is PyTorch's ``log(1 - x) - log(x)``, not clamped (infinite at 0 and 1)."""

    @staticmethod
    def forward(ctx, x, y):
        xp = x._backend.xp
        xd, yd = x._data, y._data
        for name, v in (("input", xd), ("target", y._data)):  # NaN is outside, as in PyTorch
            if not bool(xp.all((v >= 0) & (v <= 1))):
                raise RuntimeError(f"binary_cross_entropy(): all elements of {name} should be "
                                   f"between 0 and 1")
        ctx.save_for_backward(x, y)
        with _quiet_log(xp):
            log_x = xp.maximum(xp.log(xd), -100)
            log_1mx = xp.maximum(xp.log(1 - xd), -100)
        return -(yd * log_x + (1 - yd) * log_1mx)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = g * (x - y) / (x * (1 - x)).clamp(min=1e-12) if nx else None
        gy = None
        if ny:
            with _quiet_log(x._backend.xp):
                gy = g * ((1 - x).log() - x.log())  # unclamped: +-inf at 0 and 1, as PyTorch
        return gx, gy


def _quiet_log(xp):
    """log(0) = -inf is expected here (then clamped): no warning about it."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore") if errstate else contextlib.nullcontext()


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` (each in [0, 1], else RuntimeError)
    against ``target`` of the same shape (ValueError otherwise); the logs are clamped to
    >= -100 as in PyTorch; ``weight`` broadcasts to the target's shape.

    >>> import tensorcore as tc
    >>> round(binary_cross_entropy(tc.tensor([0.9, 0.2]), tc.tensor([1.0, 0.0])).item(), 4)
    0.1643
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_tensors("binary_cross_entropy", input=input, target=target, weight=weight)
    if input.shape != target.shape:
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to "
                         f"the input size ({list(input.shape)}) is deprecated. Please ensure "
                         f"they have the same size.")
    if target.dtype is not input.dtype:
        raise RuntimeError(f"binary_cross_entropy(): Found dtype {target.dtype.name} (target) "
                           f"but expected {input.dtype.name} (the input's)")
    _floating("binary_cross_entropy", input)
    check_broadcasts_to("binary_cross_entropy", "weight", weight, target.shape)
    loss = BinaryCrossEntropy.apply(input, target)
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)`` against ``target``, computed stably from
    the logits: ``(1 - y) x + (1 + (pos_weight - 1) y) log(1 + exp(-x))``, times ``weight``.
    ``weight`` and ``pos_weight`` (e.g. one per class, (C,)) broadcast to the target's
    shape; target and input shapes must match (ValueError otherwise).

    >>> import tensorcore as tc
    >>> binary_cross_entropy_with_logits(tc.tensor([1000.0, -1000.0]), tc.tensor([0.0, 1.0]),
    ...                                  reduction="none").tolist()
    [1000.0, 1000.0]
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    fn = "binary_cross_entropy_with_logits"
    check_tensors(fn, input=input, target=target, weight=weight, pos_weight=pos_weight)
    if input.shape != target.shape:
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size "
                         f"({list(input.shape)})")
    _floating(fn, input)
    check_floating(fn, target=target)
    check_broadcasts_to(fn, "weight", weight, target.shape)
    check_broadcasts_to(fn, "pos_weight", pos_weight, target.shape)
    if input.dtype is not target.dtype:  # the result takes the target's dtype, as PyTorch's
        input = input.to(target.dtype)
    softplus_neg = log1p_exp(-input)  # -log(sigmoid(x))
    if pos_weight is not None:
        softplus_neg = softplus_neg * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input + softplus_neg
    return reduce_loss(loss if weight is None else loss * weight, reduction)
