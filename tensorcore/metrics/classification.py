"""Classification metrics with scikit-learn's names, arguments and results.

The work runs on the labels' device with the backend's array module. The labels are the
sorted union of the classes in ``y_true`` and ``y_pred`` unless ``labels=`` says otherwise.

>>> import tensorcore as tc
>>> y_true, y_pred = tc.tensor([0, 1, 2, 2]), tc.tensor([0, 2, 2, 2])
>>> accuracy_score(y_true, y_pred)
0.75
>>> round(f1_score(y_true, y_pred, average="macro", zero_division=0), 4)
0.6
>>> confusion_matrix(y_true, y_pred).tolist()
[[1, 0, 0], [0, 0, 1], [0, 0, 2]]
"""

from __future__ import annotations

import warnings

from ..tensor import Tensor
from ._inputs import (
    UndefinedMetricWarning,
    as_backend_labels,
    check_zero_division,
    class_labels,
    encode,
)

__all__ = ["accuracy_score", "confusion_matrix", "f1_score", "fbeta_score",
           "precision_recall_fscore_support", "precision_score", "recall_score"]

AVERAGES = ("binary", "micro", "macro", "weighted", None)


def accuracy_score(y_true, y_pred, *, normalize: bool = True) -> float:
    """The fraction of samples predicted right (their number with ``normalize=False``)."""
    backend, t, p = class_labels(y_true, y_pred)
    correct = backend.xp.sum(t == p)
    return float(correct) / t.shape[0] if normalize else float(correct)


def confusion_matrix(y_true, y_pred, *, labels=None, normalize: str | None = None) -> Tensor:
    """``C[i, j]``: how many samples of class ``labels[i]`` were predicted as ``labels[j]``.

    ``normalize`` = 'true' (rows sum to 1), 'pred' (columns) or 'all'; samples whose true or
    predicted class is not in ``labels`` are left out. An int64 Tensor (float64 when
    normalized) on the inputs' device.

    >>> import tensorcore as tc
    >>> confusion_matrix(tc.tensor([1, 1, 0]), tc.tensor([1, 0, 0]), normalize="true").tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    if normalize not in ("true", "pred", "all", None):
        raise ValueError(f"normalize must be one of {{'true', 'pred', 'all', None}}, got "
                         f"{normalize!r}")
    backend, t, p = class_labels(y_true, y_pred)
    xp = backend.xp
    given = labels is not None
    labels = _labels(xp, backend, t, p, labels)
    n = labels.shape[0]
    t_code, t_found = encode(xp, labels, t)
    p_code, p_found = encode(xp, labels, p)
    if given and not bool(xp.any(t_found)):
        raise ValueError("At least one label specified must be in y_true")
    keep = t_found & p_found
    cm = xp.bincount(t_code[keep] * n + p_code[keep], minlength=n * n).reshape(n, n)
    cm = cm.astype("int64")
    if normalize is not None:
        total = {"true": cm.sum(axis=1, keepdims=True), "pred": cm.sum(axis=0, keepdims=True),
                 "all": cm.sum()}[normalize]
        cm = xp.where(total == 0, 0.0, cm / xp.where(total == 0, 1, total))
    return Tensor._make(cm, backend)


def precision_recall_fscore_support(y_true, y_pred, *, beta: float = 1.0, labels=None,
                                    pos_label=1, average: str | None = None,
                                    zero_division="warn"):
    """Precision, recall, F-beta and support (the count of each class in ``y_true``).

    ``average``: 'binary' (the scores of ``pos_label`` only; binary data), 'micro' (from the
    total counts), 'macro' (unweighted mean over labels), 'weighted' (mean weighted by
    support) or None (per label, as Tensors; support is None when averaged).
    ``zero_division`` (0, 1, nan, or 'warn': 0 with an ``UndefinedMetricWarning``) is what a
    score with a zero denominator becomes; nan scores are left out of the averages.
    """
    if average not in AVERAGES:
        raise ValueError(f"average has to be one of {AVERAGES}, got {average!r}")
    if beta < 0:
        raise ValueError(f"beta should be >=0 in the F-beta score, got {beta}")
    zero_value = check_zero_division(zero_division)
    backend, t, p = class_labels(y_true, y_pred)
    xp = backend.xp
    if average == "binary":
        labels = _binary_labels(xp, backend, t, p, pos_label)
    labels = _labels(xp, backend, t, p, labels)
    n = labels.shape[0]
    t_code, t_found = encode(xp, labels, t)
    p_code, p_found = encode(xp, labels, p)
    true_sum = xp.bincount(t_code[t_found], minlength=n)
    pred_sum = xp.bincount(p_code[p_found], minlength=n)
    tp_sum = xp.bincount(t_code[t_found & p_found & (t_code == p_code)], minlength=n)
    if average == "micro":
        tp_sum, pred_sum, true_sum = (a.sum(keepdims=True) for a in (tp_sum, pred_sum, true_sum))
    warn = zero_division == "warn"
    precision = _divide(xp, tp_sum, pred_sum, zero_value, warn and "Precision")
    recall = _divide(xp, tp_sum, true_sum, zero_value, warn and "Recall")
    if beta == float("inf"):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        beta2 = beta * beta
        f_score = _divide(xp, (1 + beta2) * tp_sum.astype("float64"),
                          beta2 * true_sum + pred_sum, zero_value, warn and "F-score")
    if average is None:
        return tuple(Tensor._make(a, backend) for a in (precision, recall, f_score, true_sum))
    weights = true_sum if average == "weighted" else None
    return (*(_nanaverage(xp, a, weights) for a in (precision, recall, f_score)), None)


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                    zero_division="warn"):
    """``tp / (tp + fp)``: how many of the predicted members of a class are members."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[0]


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                 zero_division="warn"):
    """``tp / (tp + fn)``: how many of a class's members were predicted as members."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[1]


def fbeta_score(y_true, y_pred, *, beta: float, labels=None, pos_label=1, average="binary",
                zero_division="warn"):
    """The weighted harmonic mean of precision and recall (recall ``beta`` times as
    important)."""
    return precision_recall_fscore_support(y_true, y_pred, beta=beta, labels=labels,
                                           pos_label=pos_label, average=average,
                                           zero_division=zero_division)[2]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
             zero_division="warn"):
    """The harmonic mean of precision and recall, ``2 tp / (2 tp + fp + fn)``.

    >>> f1_score([0, 1, 1, 0], [0, 1, 0, 0])
    0.6666666666666666
    """
    return fbeta_score(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label,
                       average=average, zero_division=zero_division)


def _labels(xp, backend, t, p, labels):
    """The given labels, or the sorted union of the classes in ``t`` and ``p``."""
    if labels is not None:
        return as_backend_labels(backend, labels)
    return xp.unique(xp.concatenate([t, p]))


def _binary_labels(xp, backend, t, p, pos_label) -> list:
    """``[pos_label]`` after scikit-learn's checks that the data are binary."""
    present = xp.unique(xp.concatenate([t, p]))
    if present.shape[0] > 2:
        raise ValueError("Target is multiclass but average='binary'. Please choose another "
                         "average setting, one of [None, 'micro', 'macro', 'weighted'].")
    if not bool(xp.any(present == pos_label)) and present.shape[0] == 2:
        raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of "
                         f"{backend.to_numpy(present).tolist()}")
    return [pos_label]


def _divide(xp, numerator, denominator, zero_value: float, warn_name):
    """``numerator / denominator`` with ``zero_value`` where the denominator is 0."""
    zero = denominator == 0
    result = numerator / xp.where(zero, 1, denominator).astype("float64")
    if warn_name and bool(xp.any(zero)):
        warnings.warn(f"{warn_name} is ill-defined and being set to 0.0 for labels with no "
                      f"samples to divide by. Use `zero_division` parameter to control this "
                      f"behavior.", UndefinedMetricWarning, stacklevel=4)
    return xp.where(zero, zero_value, result)


def _nanaverage(xp, scores, weights) -> float:
    """The (weighted) mean of the scores that are not nan; nan if none is."""
    keep = ~xp.isnan(scores)
    if not bool(xp.any(keep)):
        return float("nan")
    scores = scores[keep]
    if weights is not None:
        weights = weights[keep]
        total = weights.sum()
        if float(total) != 0:
            return float((scores * weights).sum() / total)
    return float(scores.mean())
