"""Regression metrics with scikit-learn's names and arguments, computed in float64 on the
inputs' device.

>>> mean_squared_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
0.375
>>> r2_score([1, 2, 3], [3, 2, 1])
-3.0
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..tensor import Tensor
from ._inputs import UndefinedMetricWarning, as_backend_arrays

__all__ = ["mean_absolute_error", "mean_squared_error", "r2_score"]


def _targets(y_true, y_pred):
    """``(backend, true, pred)`` as float64 ``(n_samples, n_outputs)`` arrays."""
    backend, t, p = as_backend_arrays(y_true, y_pred)
    if t.ndim > 2 or p.ndim > 2:
        raise ValueError(f"targets must be 1-D or 2-D, got shapes {tuple(t.shape)} and "
                         f"{tuple(p.shape)}")
    t, p = (a.reshape(a.shape[0], -1).astype("float64") for a in (t, p))
    if t.shape[1] != p.shape[1]:
        raise ValueError(f"y_true and y_pred have different number of output ({t.shape[1]}!="
                         f"{p.shape[1]})")
    return backend, t, p


def _combine(backend, per_output, multioutput, variances=None):
    """Per-output scores as a Tensor ('raw_values') or their (weighted) mean as a float."""
    xp = backend.xp
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return Tensor._make(per_output, backend)
        if multioutput == "uniform_average":
            return float(per_output.mean())
        if multioutput == "variance_weighted" and variances is not None:
            if not bool(xp.any(variances != 0)):
                return float(per_output.mean())
            return float((per_output * variances).sum() / variances.sum())
        choices = "'raw_values', 'uniform_average'" + (
            ", 'variance_weighted'" if variances is not None else "")
        raise ValueError(f"multioutput must be one of {choices} or an array of weights, got "
                         f"{multioutput!r}")
    weights = _weights(backend, multioutput)
    if weights.shape[0] != per_output.shape[0]:
        raise ValueError(f"there must be equally many custom weights ({weights.shape[0]}) as "
                         f"outputs ({per_output.shape[0]})")
    total = weights.sum()
    if float(total) == 0:
        raise ZeroDivisionError("the multioutput weights sum to zero, can't be normalized")
    return float((per_output * weights).sum() / total)


def _weights(backend, multioutput):
    """Custom output weights as a 1-D float64 array of ``backend`` (a Tensor on that device
    is used where it is; one elsewhere, a NumPy array or a list is copied there)."""
    if isinstance(multioutput, Tensor):
        src = multioutput.detach()
        multioutput = (src._data if src._backend is backend
                       else src._backend.to_numpy(src._data))
    else:
        multioutput = np.asarray(multioutput)
    return backend.asarray(multioutput).astype("float64").reshape(-1)


def mean_squared_error(y_true, y_pred, *, multioutput="uniform_average"):
    """The mean of ``(y_true - y_pred) ** 2``; per output with ``multioutput='raw_values'``."""
    backend, t, p = _targets(y_true, y_pred)
    return _combine(backend, ((t - p) ** 2).mean(axis=0), multioutput)


def mean_absolute_error(y_true, y_pred, *, multioutput="uniform_average"):
    """The mean of ``|y_true - y_pred|``; per output with ``multioutput='raw_values'``."""
    backend, t, p = _targets(y_true, y_pred)
    return _combine(backend, backend.xp.abs(t - p).mean(axis=0), multioutput)


def r2_score(y_true, y_pred, *, multioutput="uniform_average", force_finite: bool = True):
    """The coefficient of determination, ``1 - SS_res / SS_tot``: 1 is perfect, 0 is as good
    as predicting the mean, below 0 is worse.

    A constant ``y_true`` makes ``SS_tot`` 0: the score is then 1 for a perfect prediction
    and 0 otherwise (nan or -inf with ``force_finite=False``), as scikit-learn. With fewer
    than two samples it is nan, with an ``UndefinedMetricWarning``.
    """
    backend, t, p = _targets(y_true, y_pred)
    xp = backend.xp
    if t.shape[0] < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.",
                      UndefinedMetricWarning, stacklevel=2)
        return float("nan")
    numerator = ((t - p) ** 2).sum(axis=0)
    denominator = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    nonzero_den, nonzero_num = denominator != 0, numerator != 0
    if force_finite:
        ratio = numerator / xp.where(nonzero_den, denominator, 1.0)
        scores = xp.where(nonzero_den, 1 - ratio, xp.where(nonzero_num, 0.0, 1.0))
    else:
        with _quiet(xp):
            scores = 1 - numerator / denominator
    return _combine(backend, scores, multioutput, variances=denominator)


def _quiet(xp):
    """NumPy's errstate (division by zero is wanted here); a no-op for other modules."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore", invalid="ignore") if errstate else contextlib.nullcontext()
