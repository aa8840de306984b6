"""Metrics for the training loop: names or callables of ``(targets, outputs) -> float``.

``fit`` and ``evaluate`` take ``metrics`` as a list of names and callables, or a dict
``{name: callable}``. A callable gets the targets and the model's raw outputs of the whole
split and returns a float. The built-in names wrap ``tensorcore.metrics`` (scikit-learn's
scorer names):

* classification, scored on the predicted labels (``predicted_labels``: ``argmax`` over
  the classes; for a single output column or 1-D outputs, logit > 0 means class 1):
  ``accuracy``, ``precision_macro``, ``recall_macro``, ``f1_macro``,
  ``f1_weighted``;
* regression, scored on the outputs themselves: ``mse``, ``mae``, ``r2``.

>>> import tensorcore as tc
>>> from tensorcore.training.scoring import resolve_metrics
>>> metrics = resolve_metrics(["accuracy", "f1_macro"])
>>> outputs, targets = tc.tensor([[2.0, 0.1], [0.3, 0.9], [1.0, 0.0]]), tc.tensor([0, 1, 1])
>>> {name: round(fn(targets, outputs), 4) for name, fn in metrics.items()}
{'accuracy': 0.6667, 'f1_macro': 0.6667}
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from .. import metrics as M
from ..tensor import Tensor

__all__ = ["METRICS", "predicted_labels", "resolve_metrics"]

MetricFn = Callable[[Tensor, Tensor], float]


def predicted_labels(outputs: Tensor) -> Tensor:
    """Class labels from a model's outputs: ``argmax(dim=1)`` for (N, C) scores with C > 1,
    else ``outputs > 0`` as 0/1 (one logit per sample)."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(dim=1)
    return (outputs.reshape(-1) > 0).long()


def _regression_outputs(outputs: Tensor) -> Tensor:
    return outputs.reshape(-1) if outputs.ndim == 2 and outputs.shape[1] == 1 else outputs


def _on_labels(metric: Callable, **kwargs) -> MetricFn:
    @functools.wraps(metric)
    def score(targets: Tensor, outputs: Tensor) -> float:
        return float(metric(targets, predicted_labels(outputs), **kwargs))
    return score


def _on_values(metric: Callable) -> MetricFn:
    @functools.wraps(metric)
    def score(targets: Tensor, outputs: Tensor) -> float:
        return float(metric(targets, _regression_outputs(outputs)))
    return score


METRICS: dict[str, MetricFn] = {
    "accuracy": _on_labels(M.accuracy_score),
    "precision_macro": _on_labels(M.precision_score, average="macro", zero_division=0.0),
    "recall_macro": _on_labels(M.recall_score, average="macro", zero_division=0.0),
    "f1_macro": _on_labels(M.f1_score, average="macro", zero_division=0.0),
    "f1_weighted": _on_labels(M.f1_score, average="weighted", zero_division=0.0),
    "mse": _on_values(M.mean_squared_error),
    "mae": _on_values(M.mean_absolute_error),
    "r2": _on_values(M.r2_score),
}


def resolve_metrics(metrics: Sequence[str | MetricFn] | Mapping[str, MetricFn] | None
                    ) -> dict[str, MetricFn]:
    """``{name: fn(targets, outputs)}`` from names, callables (named by ``__name__``) or a
    dict; a ValueError names the known metrics for an unknown name."""
    if metrics is None:
        return {}
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    elif isinstance(metrics, str) or callable(metrics):
        raise TypeError(f"metrics must be a list or a dict of metrics, got {metrics!r}; "
                        f"wrap a single one in a list")
    else:
        items = []
        for m in metrics:
            if isinstance(m, str):
                items.append((m, m))
            elif callable(m):
                items.append((getattr(m, "__name__", type(m).__name__), m))
            else:
                raise TypeError(f"a metric must be a name or a callable, got {m!r}")
    resolved = {}
    for name, m in items:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"unknown metric {m!r}; choose one of: "
                                 f"{', '.join(sorted(METRICS))}, or pass a callable")
            m = METRICS[m]
        if not callable(m):
            raise TypeError(f"metric {name!r} must be callable, got {type(m).__name__}")
        resolved[name] = m
    return resolved
