"""Metric inputs: labels and targets as arrays of one backend, with scikit-learn's checks."""

from __future__ import annotations

import numpy as np

from ..backends import get_backend
from ..tensor import Tensor


class UndefinedMetricWarning(UserWarning):
    """A score is ill-defined (a zero division) and was set by ``zero_division``."""


def as_backend_arrays(y_true, y_pred):
    """``(backend, true, pred)``: both as arrays of the backend of the Tensor among them.

    NumPy arrays and lists go to that backend (the CPU one when neither is a Tensor), so the
    metric runs where the tensors live (CuPy for CUDA tensors), without a trip to NumPy.
    """
    tensors = [a for a in (y_true, y_pred) if isinstance(a, Tensor)]
    if len(tensors) == 2 and tensors[0].device != tensors[1].device:
        raise RuntimeError(f"y_true and y_pred must be on the same device, got "
                           f"{tensors[0].device} and {tensors[1].device}")
    backend = tensors[0]._backend if tensors else get_backend("cpu")
    arrays = [a.detach()._data if isinstance(a, Tensor) else backend.asarray(np.asarray(a))
              for a in (y_true, y_pred)]
    for name, a in zip(("y_true", "y_pred"), arrays):
        if a.ndim == 0:
            raise ValueError(f"{name} must be an array of samples, got a scalar")
    if arrays[0].shape[0] != arrays[1].shape[0]:
        raise ValueError(f"y_true and y_pred have different numbers of samples: shapes "
                         f"{tuple(arrays[0].shape)} and {tuple(arrays[1].shape)}")
    if arrays[0].shape[0] == 0:
        raise ValueError("y_true and y_pred are empty (0 samples): a metric needs at least one")
    return backend, arrays[0], arrays[1]


def class_labels(y_true, y_pred):
    """``(backend, true, pred)`` checked as 1-D class labels.

    Scores, logits or probabilities are refused with a hint to take the argmax; floats
    holding whole numbers are accepted as labels, as scikit-learn does.
    """
    backend, t, p = as_backend_arrays(y_true, y_pred)
    xp = backend.xp
    labels = []
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.ndim == 2 and a.shape[1] == 1:  # a column of labels
            a = a.reshape(-1)
        if a.ndim != 1 or (a.dtype.kind == "f" and not bool(xp.all(a == xp.floor(a)))):
            what = f"shape {tuple(a.shape)}" if a.ndim != 1 else "fractional floats"
            raise ValueError(f"classification metrics need class labels, but {name} holds "
                             f"{what} (scores or probabilities?); convert them to labels "
                             f"first, e.g. {name}.argmax(dim=1) for per-class scores or "
                             f"(scores > 0.5) for binary probabilities")
        labels.append(a)
    return backend, labels[0], labels[1]


def as_backend_labels(backend, labels):
    """User-given ``labels`` as a non-empty 1-D array of ``backend``."""
    if isinstance(labels, Tensor):
        labels = labels._backend.to_numpy(labels._data)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"'labels' should be a 1-D list with at least one label, got "
                         f"{labels.tolist()!r}")
    if len(np.unique(labels)) != labels.size:
        raise ValueError(f"'labels' has repeated values: {labels.tolist()!r}")
    return backend.asarray(labels)


def encode(xp, labels, y):
    """Positions of ``y``'s values in ``labels`` and a mask of the values found there."""
    order = xp.argsort(labels)
    pos = xp.minimum(xp.searchsorted(labels[order], y), labels.shape[0] - 1)
    found = labels[order][pos] == y
    return order[pos], found


def check_zero_division(zero_division) -> float:
    """The value an ill-defined score takes: 0 ('warn'), 0, 1 or nan."""
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, (int, float)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return float("nan")
    raise ValueError(f"zero_division must be 'warn', 0, 1 or np.nan, got {zero_division!r}")
