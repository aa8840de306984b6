"""Classification losses over class scores: ``cross_entropy`` and ``nll_loss``, with PyTorch's
options (``weight``, ``ignore_index``, ``label_smoothing``, class-probability targets,
inputs of shape (C,), (N, C) or (N, C, d1, ...)).

The common case (2-D logits, int64 targets, no weight, no smoothing, no ignored target)
runs the fused softmax cross-entropy (``ops.linalg.CrossEntropy``); every other case is
composed of differentiable ops (log_softmax, integer-array indexing, sums).

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> logits = tc.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
>>> round(F.cross_entropy(logits, tc.tensor([0, 1])).item(), 4)
0.2395
>>> round(F.cross_entropy(logits, tc.tensor([0, -100])).item(), 4)  # the ignored one
0.2395
>>> F.nll_loss(logits.log_softmax(1), tc.tensor([0, 1]), reduction="none").shape
(2,)
"""

from __future__ import annotations

import math

import numpy as np

from ..backends.contract import ClassTargetError
from ..ops._util import const
from ..ops.arith import where
from ..ops.linalg import CrossEntropy, check_class_targets
from ..tensor import Tensor
from ._reduction import (
    REDUCTIONS,
    check_floating,
    check_same_device,
    check_tensors,
    resolve_reduction,
)

__all__ = ["cross_entropy", "nll_loss"]


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of unnormalized scores ``input`` against ``target``, as
    ``torch.nn.functional.cross_entropy``.

    ``input`` is (C,), (N, C) or (N, C, d1, ...). ``target`` holds int64 class indices of
    shape (), (N,) or (N, d1, ...), or class probabilities (floating point, the input's
    shape). ``weight`` (C,) rescales each class; targets equal to ``ignore_index`` add
    nothing; ``'mean'`` divides by the summed weights of the targets that count (for
    probabilities: by the number of samples, N * d1 * ...). ``label_smoothing`` in [0, 1]
    mixes the target with the uniform distribution, as PyTorch defines it.

    >>> import tensorcore as tc
    >>> x = tc.tensor([[1.0, 2.0, 3.0]])
    >>> round(cross_entropy(x, tc.tensor([2]), label_smoothing=0.3).item(), 4)
    0.7076
    >>> round(cross_entropy(x, tc.tensor([[0.0, 0.0, 1.0]])).item(), 4)
    0.4076
    """
    if reduction not in REDUCTIONS or size_average is not None or reduce is not None:
        reduction = resolve_reduction(size_average, reduce, reduction)
    if not (isinstance(input, Tensor) and isinstance(target, Tensor)) or weight is not None:
        check_tensors("cross_entropy", input=input, target=target, weight=weight)
    x, t = input._data, target._data
    if (weight is None and label_smoothing == 0.0 and x.ndim == 2 and t.ndim == 1
            and t.dtype == np.int64 and x.dtype.kind == "f" and 0 < t.shape[0] == x.shape[0]
            and not (0 <= ignore_index < x.shape[1] and bool((t == ignore_index).any()))):
        try:
            return CrossEntropy.apply(input, target, reduction)  # the fused fast path
        except ClassTargetError:
            pass  # an ignored target (-100) or a bad one: the general path handles or names it
    check_same_device("cross_entropy", input, target=target, weight=weight)
    check_floating("cross_entropy", input=input)
    class_dim, n_classes = _class_dim(input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    _check_weight("cross_entropy", weight, input, n_classes)
    if target.shape == input.shape:
        return _probability_cross_entropy(input, target, weight, ignore_index, reduction,
                                          label_smoothing)
    return _nll(input.log_softmax(class_dim), target, weight, ignore_index, reduction,
                label_smoothing, "cross_entropy")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` ((C,), (N, C) or
    (N, C, d1, ...)) at int64 class indices ``target``, as ``torch.nn.functional.nll_loss``:
    ``-weight[t] * input[n, t]``; ``'mean'`` divides by the summed weights of the targets
    that are not ``ignore_index``.

    >>> import tensorcore as tc
    >>> logp = tc.tensor([[-0.5, -1.0], [-2.0, -0.1]])
    >>> round(nll_loss(logp, tc.tensor([0, 1]), weight=tc.tensor([1.0, 3.0])).item(), 4)
    0.2
    """
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_tensors("nll_loss", input=input, target=target, weight=weight)
    check_same_device("nll_loss", input, target=target, weight=weight)
    check_floating("nll_loss", input=input)
    _, n_classes = _class_dim(input)
    _check_weight("nll_loss", weight, input, n_classes)
    return _nll(input, target, weight, ignore_index, reduction, 0.0, "nll_loss")


def _class_dim(input: Tensor) -> tuple[int, int]:
    """The class dimension (0 for a (C,) input, else 1) and the number of classes."""
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    class_dim = 0 if input.ndim == 1 else 1
    return class_dim, input.shape[class_dim]


def _check_weight(fn: str, weight: Tensor | None, input: Tensor, n_classes: int) -> None:
    if weight is None:
        return
    if weight.ndim != 1 or weight.shape[0] != n_classes:
        raise RuntimeError(f"{fn}: weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"{fn}: weight has dtype {weight.dtype} but input has dtype "
                           f"{input.dtype}; they must match")


def _check_index_target(fn: str, input: Tensor, target: Tensor) -> None:
    """PyTorch's rules for class-index targets: int64, and the input's shape less its class
    dimension."""
    if target.dtype.np != np.int64:
        hint = (f"; a target of class probabilities must have the input's shape "
                f"{list(input.shape)}, got {list(target.shape)}"
                if target.dtype.is_floating_point else "")
        raise RuntimeError(f"{fn}: expected target dtype to be Long (integer class indices, "
                           f"int64), but got {target.dtype}{hint}")
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError(f"{fn}: 0D target tensor expected for an input of shape (C,) "
                               f"= {list(input.shape)}, got target shape {list(target.shape)}")
        return
    if target.ndim == 0 or target.shape[0] != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 0}).")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if target.shape != expected:
        if input.ndim == 2:
            raise RuntimeError(f"{fn}: 0D or 1D target tensor expected, multi-target not "
                               f"supported (input {list(input.shape)}, target "
                               f"{list(target.shape)})")
        raise RuntimeError(f"{fn}: Expected target size {list(expected)}, got "
                           f"{list(target.shape)}")


def _classes_last(x: Tensor, n_classes: int) -> Tensor:
    """(C,), (N, C) or (N, C, d1, ...) as (M, C): one row per sample position."""
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1)
    return x.reshape(-1, n_classes)


def _nll(logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
         reduction: str, smoothing: float, fn: str) -> Tensor:
    """The loss of log-probabilities at class indices: weights, ignored targets, label
    smoothing (PyTorch's ``cross_entropy_loss_label_smoothing``) and the reduction."""
    _check_index_target(fn, logp, target)
    n_classes = logp.shape[0 if logp.ndim == 1 else 1]
    xp = logp._backend.xp
    t = target._data.reshape(-1)
    ignored = t == ignore_index
    check_class_targets(t[~ignored], n_classes)
    rows = _classes_last(logp, n_classes)
    classes = const(logp, xp.where(ignored, 0, t))  # ignored: any valid index, weighted 0
    counts = const(logp, (~ignored).astype(logp._data.dtype))
    weights = counts if weight is None else weight[classes] * counts
    loss = -rows[const(logp, xp.arange(t.shape[0])), classes] * weights
    if smoothing > 0.0:
        spread = -(rows if weight is None else rows * weight).sum(1) * counts
        loss = loss * (1.0 - smoothing) + spread * (smoothing / n_classes)
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss.sum() if reduction == "sum" else _weighted_mean(loss.sum(), weights.sum())


def _weighted_mean(total: Tensor, total_weight: Tensor) -> Tensor:
    """``total / total_weight``; NaN when every target is ignored (total weight 0), as in
    PyTorch, but with zero gradients there (not NaN ones that would poison an update)."""
    empty = total_weight == 0
    return where(empty, math.nan, total / where(empty, 1.0, total_weight))


def _probability_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None,
                               ignore_index: int, reduction: str, smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities (PyTorch's
    ``cross_entropy_loss_prob_target``): ``'mean'`` divides by N * d1 * ..., not by
    weights."""
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"cross_entropy: expected floating point type for target with "
                           f"class probabilities (the input's shape {list(input.shape)}), "
                           f"got {target.dtype}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim, n_classes = _class_dim(input)
    if smoothing > 0.0:
        target = target * (1.0 - smoothing) + smoothing / n_classes
    terms = input.log_softmax(class_dim) * target
    if weight is not None:
        terms = terms * weight.reshape(n_classes, *([1] * (input.ndim - class_dim - 1)))
    if reduction == "none":
        return -terms.sum(class_dim)
    total = -terms.sum()
    return total if reduction == "sum" else total / (input.numel() // max(n_classes, 1))
