"""What every loss shares: the ``reduction`` argument (with PyTorch's legacy ``size_average``
and ``reduce``), applying it, and the argument checks.

>>> import tensorcore as tc
>>> from tensorcore.nn._reduction import reduce_loss
>>> reduce_loss(tc.tensor([1.0, 2.0, 6.0]), "mean").item()
3.0
"""

from __future__ import annotations

import warnings

from ..tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def resolve_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """``reduction``, or the one the deprecated ``size_average`` / ``reduce`` pair names (as
    PyTorch's ``_Reduction.legacy_get_string``); raises ValueError for an unknown one."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """The mean, the sum, or (``'none'``) the elementwise losses themselves."""
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def check_tensors(fn: str, **tensors) -> None:
    """TypeError naming the argument that is not a Tensor (None is allowed: optional)."""
    for name, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def check_same_device(fn: str, input: Tensor, **others) -> None:
    """RuntimeError naming the argument that lives on another device than ``input``."""
    for name, t in others.items():
        if t is not None and t.device != input.device:
            raise RuntimeError(f"{fn}(): expected all tensors to be on the same device, but "
                               f"input is on {input.device} and {name} on {t.device}")


def check_floating(fn: str, **tensors) -> None:
    """RuntimeError naming the argument whose dtype is not floating point."""
    for name, t in tensors.items():
        if t is not None and not t.dtype.is_floating_point:
            raise RuntimeError(f"{fn}(): expected a floating point {name}, got {t.dtype}")


def check_broadcasts_to(fn: str, name: str, t: Tensor | None, shape) -> None:
    """RuntimeError unless ``t`` broadcasts to ``shape`` without growing it."""
    if t is None:
        return
    ok = t.ndim <= len(shape) and all(
        a in (1, b) for a, b in zip(reversed(t.shape), reversed(tuple(shape))))
    if not ok:
        raise RuntimeError(f"{fn}(): {name} of shape {list(t.shape)} cannot be broadcast to "
                           f"the target shape {list(shape)}")
