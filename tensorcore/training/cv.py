"""K-fold cross-validation of a user function: ``cross_validate``.

``fit_and_score(X_train, y_train, X_test, y_test) -> score`` trains a fresh model on the
training part of a fold and scores it on the held-out part (a number, or a dict with a
``"score"`` key and extra numbers). ``cv`` is a number of folds (``KFold(cv)``, unshuffled,
as scikit-learn) or any splitter with scikit-learn's ``split(X, y, groups)`` protocol: ours
(``tensorcore.model_selection.KFold`` / ``StratifiedKFold``) or scikit-learn's. X and y may
be tensors (the folds stay on their device), NumPy arrays or lists. The folds run through a
``TrialRunner`` (serial by default).

>>> import numpy as np
>>> from tensorcore.training import cross_validate
>>> X = np.arange(10.0)
>>> y = 2 * X + np.tile([1.0, -1.0], 5)
>>> def fit_and_score(X_tr, y_tr, X_te, y_te):       # least squares through 0, then -MSE
...     w = (X_tr @ y_tr) / (X_tr @ X_tr)
...     return -float(np.mean((w * X_te - y_te) ** 2))
>>> result = cross_validate(fit_and_score, X, y, cv=5)
>>> [round(s, 3) for s in result.scores]
[-0.986, -0.987, -0.989, -0.997, -1.031]
>>> print(result)
-0.9979 +- 0.0168 over 5 folds
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..utils.data._indexing import as_numpy, check_same_length, take
from ..utils.data.split import KFold
from .journal import run_pool
from .runners import TrialRunner, timed_score, trial_name

__all__ = ["CVObjective", "CVResult", "check_cv", "cross_validate"]


def check_cv(cv) -> Any:
    """A splitter from ``cv``: an int becomes ``KFold(cv)``; anything else must have
    ``split``. Raises ValueError for fewer than 2 folds and TypeError for other objects."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cross-validation needs at least 2 folds, got cv={cv}")
        return KFold(n_splits=int(cv))
    if isinstance(cv, str | bytes) or not callable(getattr(cv, "split", None)):
        raise TypeError(f"cv must be an int (the number of folds) or a splitter with "
                        f"split(X, y, groups), got {type(cv).__name__}")
    return cv


class _FoldTrial:
    """One fold: index the data, call ``fit_and_score``, time it (picklable for pools)."""

    def __init__(self, fit_and_score: Callable, X, y) -> None:
        self.fit_and_score, self.X, self.y = fit_and_score, X, y
        self.trial_name = trial_name(fit_and_score)

    def __call__(self, fold: tuple[int, np.ndarray, np.ndarray]) -> dict:
        k, train, test = fold
        y_train = None if self.y is None else take(self.y, train)
        y_test = None if self.y is None else take(self.y, test)
        record = timed_score(self.fit_and_score, take(self.X, train), y_train,
                             take(self.X, test), y_test, who="fit_and_score",
                             where=f"on fold {k}")
        return {"fold": k, "train_size": len(train), "test_size": len(test), **record}


class CVResult:
    """Per-fold scores of a cross-validation, with their mean and (population) std."""

    def __init__(self, folds: list[dict]) -> None:
        if not folds:
            raise ValueError("a cross-validation result needs at least one fold")
        self.folds = folds

    @property
    def scores(self) -> list[float]:
        """The score of each fold, in fold order."""
        return [f["score"] for f in self.folds]

    @property
    def mean(self) -> float:
        """The mean fold score."""
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        """The standard deviation of the fold scores (``np.std``, ddof=0, as scikit-learn's
        reports)."""
        return float(np.std(self.scores))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: scores, mean, std and the per-fold records."""
        return {"scores": self.scores, "mean": self.mean, "std": self.std,
                "folds": [dict(f) for f in self.folds]}

    def __str__(self) -> str:
        return f"{self.mean:.4f} +- {self.std:.4f} over {len(self.folds)} folds"

    def __repr__(self) -> str:
        return f"CVResult(mean={self.mean:.4g}, std={self.std:.4g}, folds={len(self.folds)})"


def _split(X, y, cv, groups) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The folds of ``cv`` on ``(X, y)``: ``(k, train indices, test indices)``."""
    splitter = check_cv(cv)
    if y is not None:
        check_same_length([X, y])
    labels = None if y is None else as_numpy(y)  # on the host: scikit-learn's splitters read it
    return [(k, np.asarray(train), np.asarray(test))
            for k, (train, test) in enumerate(splitter.split(X, labels, groups))]


class _WithConfig:
    """``fit_and_score`` with a config bound as its first argument (picklable)."""

    def __init__(self, fit_and_score: Callable, config: dict) -> None:
        self.fit_and_score, self.config = fit_and_score, config
        self.trial_name = trial_name(fit_and_score)

    def __call__(self, *data):
        return self.fit_and_score(self.config, *data)


class CVObjective:
    """A search objective scored by K-fold cross-validation: the mean over the folds of
    ``fit_and_score(config, X_train, y_train, X_test, y_test)``, with ``"std"`` and the
    per-fold records under ``"folds"``.

    Given to ``grid_search`` / ``random_search`` / ``halving_search``, every (config, fold)
    pair is one trial of one pool, so a 12-config x 5-fold search keeps 60 trials in flight
    on a cluster; called directly, it runs the folds of one config in order (same result).

    >>> import numpy as np
    >>> from tensorcore.training import grid_search
    >>> X = np.arange(20.0)
    >>> def fit_and_score(config, X_tr, y_tr, X_te, y_te):
    ...     return -float(np.mean((config["w"] * X_te - y_te) ** 2))
    >>> objective = CVObjective(fit_and_score, X, 2 * X, cv=4)
    >>> grid_search({"w": [1.0, 2.0, 3.0]}, objective).best_params
    {'w': 2.0}
    """

    def __init__(self, fit_and_score: Callable[..., float | Mapping[str, float]], X, y=None,
                 *, cv=5, groups=None) -> None:
        if not callable(fit_and_score):
            raise TypeError(f"fit_and_score must be callable, got "
                            f"{type(fit_and_score).__name__}")
        self.fit_and_score, self.X, self.y = fit_and_score, X, y
        self.folds = _split(X, y, cv, groups)

    def run_fold(self, config: dict, k: int) -> dict:
        """The record of fold ``k`` for ``config``."""
        return _FoldTrial(_WithConfig(self.fit_and_score, config), self.X, self.y)(
            self.folds[k])

    @staticmethod
    def combine(folds: list[dict]) -> dict[str, Any]:
        """A config's outcome from its fold records: mean score, std, the folds; the
        seconds are the folds' sum."""
        result = CVResult(folds)
        return {"score": result.mean, "std": result.std, "folds": folds,
                "seconds": float(sum(f["seconds"] for f in folds))}

    def __call__(self, config: dict) -> dict[str, Any]:
        return self.combine([self.run_fold(config, k) for k in range(len(self.folds))])


def cross_validate(fit_and_score: Callable[..., float | Mapping[str, float]], X, y=None, *,
                   cv=5, groups=None, runner: TrialRunner | None = None) -> CVResult:
    """Score ``fit_and_score`` on every fold of ``cv``; see the module docstring.

    Args:
        fit_and_score: ``(X_train, y_train, X_test, y_test) -> score`` (y parts are None
            when ``y`` is None).
        X, y: the samples and their targets (same length).
        cv: the number of folds, or a splitter (``split(X, y, groups)``).
        groups: passed on to ``split`` (for group-aware splitters).
        runner: where the folds run (``SerialRunner`` by default).
    """
    if not callable(fit_and_score):
        raise TypeError(f"fit_and_score must be callable, got {type(fit_and_score).__name__}")
    folds = _split(X, y, cv, groups)
    return CVResult(run_pool(runner, _FoldTrial(fit_and_score, X, y), folds,
                             key_configs=[{"fold": k} for k, _, _ in folds]))
