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

from ..autograd.grad_mode import is_grad_enabled
from ..backends.contract import ClassTargetError
from ..ops._util import const
from ..ops.arith import where
from ..ops.linalg import CrossEntropy, check_class_targets
from ..tensor import Tensor
from ._reduction import REDUCTIONS, check_same_device, check_tensors, resolve_reduction

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
    mixes the target with the uniform distribution, as PyTorch defines it (a negative one
    smooths nothing, as in PyTorch).

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
    if (weight is None and not label_smoothing > 0.0 and x.ndim == 2 and t.ndim == 1
            and t.dtype == np.int64 and x.dtype.kind == "f" and 0 < t.shape[0] == x.shape[0]
            and not (0 <= ignore_index < x.shape[1] and bool((t == ignore_index).any()))):
        try:
            return CrossEntropy.apply(input, target, reduction)  # the fused fast path
        except ClassTargetError:
            pass  # an ignored target (-100) or a bad one: the general path handles or names it
    check_same_device("cross_entropy", input, target=target, weight=weight)
    if target.shape == input.shape:
        return _probability_cross_entropy(input, target, weight, ignore_index, reduction,
                                          label_smoothing)
    smoothing = label_smoothing if label_smoothing > 0.0 else 0.0
    if smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    logp = _log_softmax("cross_entropy", input, 0 if input.ndim == 1 else 1)
    _check_nll_args("cross_entropy", logp, target, weight)
    if smoothing and logp.ndim == 1 and target.ndim == 1:
        raise RuntimeError(f"cross_entropy: label_smoothing with an input of shape (C,) = "
                           f"{list(input.shape)} takes a 0-d target, got target shape "
                           f"{list(target.shape)}")  # PyTorch's masked_fill_ fails there
    return _nll(logp, target, weight, ignore_index, reduction, smoothing)


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
    _check_nll_args("nll_loss", input, target, weight)
    return _nll(input, target, weight, ignore_index, reduction, 0.0)


def _log_softmax(fn: str, input: Tensor, class_dim: int) -> Tensor:
    """``input.log_softmax(class_dim)`` with PyTorch's errors: IndexError for a 0-d input
    (no class dimension 1), NotImplementedError for an integer or bool one."""
    if input.ndim == 0:
        raise IndexError(f"{fn}: Dimension out of range (expected to be in range of [-1, 0], "
                         f"but got {class_dim})")
    _check_float_input(fn, input)
    return input.log_softmax(class_dim)


def _check_float_input(fn: str, input: Tensor) -> None:
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{fn}: not implemented for an input of dtype "
                                  f"{input.dtype} (it takes floating point scores)")


def _check_nll_args(fn: str, logp: Tensor, target: Tensor, weight: Tensor | None) -> None:
    """PyTorch's argument checks of ``nll_loss_nd`` and its kernels, in their order (the
    order decides which error class a call with several faults raises): the batch sizes;
    the spatial target's size; a weight that requires grad (not differentiable there); the
    target's rank and dtype; the weight's shape; the input's dtype; the weight's dtype."""
    nd = logp.ndim
    if nd == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if nd != 1 and logp.shape[0] != (target.shape[0] if target.ndim else 0):
        raise ValueError(f"Expected input batch_size ({logp.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 0}).")
    expected = [logp.shape[0], *logp.shape[2:]]
    if nd > 2 and nd != 4 and (target.ndim == 0 or target.shape[1:] != logp.shape[2:]):
        raise RuntimeError(f"{fn}: Expected target size {expected}, got {list(target.shape)}")
    if weight is not None and weight.requires_grad and is_grad_enabled():
        kernel = "nll_loss_forward" if nd <= 2 else "nll_loss2d_forward"
        raise RuntimeError(f"The function '{kernel}' is not differentiable with respect to "
                           f"argument 'weight'. This input cannot have requires_grad True.")
    if nd <= 2 and target.ndim > 1 or nd == 4 and target.ndim != 3:
        raise RuntimeError(f"{fn}: a target of shape {expected if nd > 1 else []} expected for "
                           f"an input of shape {list(logp.shape)}, got {list(target.shape)}"
                           f"{' (multi-target is not supported)' if nd <= 2 else ''}")
    if target.dtype.np != np.int64:
        hint = (f"; a target of class probabilities must have the input's shape "
                f"{list(logp.shape)}, got {list(target.shape)}"
                if target.dtype.is_floating_point else "")
        raise RuntimeError(f"{fn}: expected target dtype to be Long (integer class indices, "
                           f"int64), but got {target.dtype}{hint}")
    if nd == 1 and target.ndim == 1 and target.shape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                         f"{target.shape[0]}")
    if nd == 2 and target.ndim == 0:  # reached with an empty batch only
        raise IndexError(f"{fn}: Dimension specified as 0 but the target has no dimensions "
                         f"(an input of shape {list(logp.shape)} takes a target of shape "
                         f"[{logp.shape[0]}])")
    if nd == 4 and target.shape[1:] != logp.shape[2:]:
        raise RuntimeError(f"{fn}: Expected target size {expected}, got {list(target.shape)}")
    n_classes = logp.shape[0 if nd == 1 else 1]
    _check_weight_shape(fn, weight, n_classes)
    _check_float_input(fn, logp)
    if weight is not None and weight.dtype != logp.dtype:
        raise RuntimeError(f"{fn}: weight has dtype {weight.dtype} but input has dtype "
                           f"{logp.dtype}; they must match")


def _check_weight_shape(fn: str, weight: Tensor | None, n_classes: int) -> None:
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"{fn}: weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")


def _classes_last(x: Tensor, n_classes: int, n_rows: int) -> Tensor:
    """(C,), (N, C) or (N, C, d1, ...) as (M, C): one row per sample position."""
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1)
    return x.reshape(n_rows, n_classes)


def _nll(logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
         reduction: str, smoothing: float) -> Tensor:
    """The loss of log-probabilities at class indices: weights, ignored targets, label
    smoothing (PyTorch's ``cross_entropy_loss_label_smoothing``) and the reduction.

    An ignored target's row is selected out with ``where`` (value 0, gradient 0), never
    multiplied by a weight of 0: its scores may be NaN or infinite (0 * NaN is NaN)."""
    n_classes = logp.shape[0 if logp.ndim == 1 else 1]
    xp, dtype = logp._backend.xp, logp._data.dtype
    t = target._data.reshape(-1)
    kept = t != ignore_index
    check_class_targets(t[kept], n_classes)
    rows = _classes_last(logp, n_classes, t.shape[0])
    if n_classes == 0:  # then every target is ignored: no class to read
        loss = rows.sum(1)  # exact zeros, connected to the input
        weights = xp.zeros(t.shape, dtype)
    else:
        mask = const(logp, kept)
        classes = xp.where(kept, t, 0)  # an ignored row reads class 0; where() drops it
        picked = -rows[const(logp, xp.arange(t.shape[0])), const(logp, classes)]
        loss = where(mask, picked, 0.0)
        if weight is None:
            weights = kept.astype(dtype)
        else:
            weights = xp.where(kept, weight._data[classes], 0).astype(dtype, copy=False)
            loss = loss * const(logp, weights)
        if smoothing:
            spread = -(rows if weight is None else rows * weight).sum(1)
            loss = loss * (1.0 - smoothing) + where(mask, spread, 0.0) * (smoothing / n_classes)
    if reduction == "none":
        return loss.reshape(target.shape if logp.ndim > 1 else ())
    total = loss.sum()
    if reduction == "sum":
        return total
    if not kept.any():  # 0 / 0: NaN, as in PyTorch, with zero gradients (theirs are too)
        return where(const(logp, xp.asarray(True)), math.nan, total)
    return total / const(logp, xp.asarray(weights.sum(), dtype=dtype))


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
    if input.ndim == 0:
        raise IndexError("cross_entropy: Dimension specified as 1 but the input has no "
                         "dimensions (it takes scores of shape (C,), (N, C) or (N, C, d1, ...))")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    _check_weight_shape("cross_entropy", weight, n_classes)  # its dtype may differ: promoted
    logp = _log_softmax("cross_entropy", input, class_dim)
    if smoothing > 0.0:
        if smoothing > 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {smoothing}")
        target = target * (1.0 - smoothing) + smoothing / n_classes
    terms = logp * target
    if weight is not None:
        terms = terms * weight.reshape(n_classes, *([1] * (input.ndim - class_dim - 1)))
    if reduction == "none":
        return -terms.sum(class_dim)
    total = -terms.sum()
    return total if reduction == "sum" else total / (input.numel() // max(n_classes, 1))
