"""``StandardScaler``: zero mean and unit variance per feature, as scikit-learn's.

Fit it on the training split only and apply it to every split: statistics taken from the
validation or test samples would leak them into training. The statistics stay on the data's
device; a constant feature gets a scale of 1 (as scikit-learn), so it maps to 0.

>>> import tensorcore as tc
>>> from tensorcore.training import StandardScaler
>>> train = tc.tensor([[1.0, 5.0], [3.0, 5.0]])
>>> scaler = StandardScaler().fit(train)
>>> scaler.mean_.tolist(), scaler.scale_.tolist()
([2.0, 5.0], [1.0, 1.0])
>>> scaler.transform(tc.tensor([[4.0, 6.0]])).tolist()
[[2.0, 1.0]]
"""

from __future__ import annotations

from ..autograd import no_grad
from ..creation import ones_like
from ..ops import where
from ..tensor import Tensor

__all__ = ["StandardScaler"]


class StandardScaler:
    """``(X - mean_) / scale_`` per column; ``scale_`` is the population standard deviation
    (``ddof=0``, scikit-learn's), 1 where it is 0."""

    def __init__(self) -> None:
        self.mean_: Tensor | None = None
        self.scale_: Tensor | None = None

    def fit(self, X: Tensor) -> StandardScaler:
        """Learn the per-column mean and scale of ``X`` (n_samples, n_features)."""
        _check_2d(X, "fit")
        if X.shape[0] == 0:
            raise ValueError("StandardScaler.fit needs at least one sample")
        with no_grad():
            self.mean_ = X.mean(dim=0)
            std = X.std(dim=0, correction=0)
            self.scale_ = where(std > 0, std, ones_like(std))
        return self

    def transform(self, X: Tensor) -> Tensor:
        """Standardize ``X`` with the fitted statistics (differentiable in ``X``)."""
        if self.mean_ is None:
            raise RuntimeError("this StandardScaler is not fitted yet: call fit(X_train) first")
        _check_2d(X, "transform")
        if X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has {X.shape[1]} features, but StandardScaler was fitted on "
                             f"{self.mean_.shape[0]}")
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X: Tensor) -> Tensor:
        """``fit(X)``, then ``transform(X)``."""
        return self.fit(X).transform(X)


def _check_2d(X, what: str) -> None:
    if not isinstance(X, Tensor) or X.ndim != 2:
        shape = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
        raise ValueError(f"StandardScaler.{what} expects a 2-D Tensor (n_samples, "
                         f"n_features), got {shape}")
