"""Hyperparameter search over a user function: ``grid_search`` and ``random_search``.

``evaluate(config) -> score`` is any function of a config dict: it trains what it likes and
returns a number (higher is better by default; ``mode="min"`` for losses), or a dict with a
``"score"`` key and any extra numbers to keep (a standard deviation over folds, the best
epoch, ...). The configs are enumerated as scikit-learn's ``ParameterGrid`` and
``ParameterSampler`` do, and evaluated through a ``TrialRunner`` (``SerialRunner`` by
default; see ``tensorcore.training.runners``). The result holds the best config and the full
table, best first.

>>> from tensorcore.training import grid_search
>>> result = grid_search({"x": [-1, 0, 2], "y": [0, 1]},
...                      lambda c: -(c["x"] - 1) ** 2 - c["y"])
>>> result.best_params, result.best_score
({'x': 0, 'y': 0}, -1.0)
>>> len(result.results)
6
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np

from .cv import CVObjective
from .history import check_mode
from .journal import TrialJournal, open_journal, run_pool
from .progress import progress_bar
from .runners import TrialRunner, resolve_runner, timed_score, trial_name
from .tables import format_table

__all__ = ["LogUniform", "SearchResult", "grid_search", "parameter_grid",
           "parameter_sampler", "random_search"]

Score = float | Mapping[str, float]


# -- the configs ---------------------------------------------------------------------------------
def _as_grid_list(param_grid) -> list[Mapping[str, Sequence]]:
    grids = [param_grid] if isinstance(param_grid, Mapping) else list(param_grid)
    for grid in grids:
        if not isinstance(grid, Mapping):
            raise TypeError(f"a parameter grid must be a dict or a list of dicts, "
                            f"got {type(grid).__name__}")
        for key, values in grid.items():
            if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
                raise TypeError(f"parameter grid value for {key!r} must be a list of "
                                f"candidates, got {values!r}")
            if len(values) == 0:
                raise ValueError(f"parameter grid value for {key!r} is empty")
    return grids


def parameter_grid(param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]]
                   ) -> list[dict[str, Any]]:
    """Every combination, in scikit-learn's ``ParameterGrid`` order: per dict, keys sorted,
    the last key varying fastest.

    >>> parameter_grid({"lr": [0.1, 0.01], "hidden": [32, 64]})
    [{'hidden': 32, 'lr': 0.1}, {'hidden': 32, 'lr': 0.01}, {'hidden': 64, 'lr': 0.1}, \
{'hidden': 64, 'lr': 0.01}]
    """
    configs = []
    for grid in _as_grid_list(param_grid):
        keys = sorted(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            configs.append(dict(zip(keys, values)))
    return configs


class LogUniform:
    """A distribution for ``random_search``: log-uniform on [low, high] (learning rates,
    weight decays), with scipy's ``rvs(random_state=...)`` interface.

    >>> import numpy as np
    >>> v = LogUniform(1e-4, 1e-1).rvs(random_state=np.random.default_rng(0))
    >>> 1e-4 <= v <= 1e-1
    True
    """

    def __init__(self, low: float, high: float) -> None:
        if not 0 < low < high:
            raise ValueError(f"LogUniform needs 0 < low < high, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def rvs(self, random_state=None) -> float:
        """One draw, from ``random_state`` (a NumPy Generator, a seed or None)."""
        rng = np.random.default_rng(random_state)
        return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))

    def __repr__(self) -> str:
        return f"LogUniform({self.low:g}, {self.high:g})"


def parameter_sampler(param_distributions: Mapping[str, Any], n_iter: int,
                      seed: int | None = None) -> list[dict[str, Any]]:
    """``n_iter`` configs drawn from a seeded NumPy Generator (same seed, same configs).

    Each value is a list of candidates (drawn uniformly) or a distribution with
    ``rvs(random_state=...)`` (``LogUniform``, scipy.stats). When every value is a list, the
    configs are distinct grid points drawn without replacement (the whole grid, with a
    warning, if ``n_iter`` exceeds it), as scikit-learn's ``ParameterSampler`` does.
    """
    if not isinstance(n_iter, numbers.Integral) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive int, got {n_iter!r}")
    if not isinstance(param_distributions, Mapping):
        raise TypeError(f"param_distributions must be a dict, "
                        f"got {type(param_distributions).__name__}")
    keys = sorted(param_distributions)
    for key in keys:
        value = param_distributions[key]
        if not hasattr(value, "rvs") and (isinstance(value, str) or
                                          not isinstance(value, Sequence | np.ndarray)):
            raise TypeError(f"parameter distribution for {key!r} must be a list or have "
                            f"rvs(random_state=...), got {value!r}")
        if not hasattr(value, "rvs") and len(value) == 0:
            raise ValueError(f"parameter distribution for {key!r} is an empty list")
    rng = np.random.default_rng(seed)
    if not any(hasattr(param_distributions[k], "rvs") for k in keys):
        grid = parameter_grid(param_distributions)
        if n_iter > len(grid):
            warnings.warn(f"the grid of parameters has only {len(grid)} points, fewer than "
                          f"n_iter={n_iter}: running the whole grid", UserWarning, stacklevel=2)
            n_iter = len(grid)
        return [grid[int(i)] for i in rng.choice(len(grid), size=n_iter, replace=False)]
    configs = []
    for _ in range(n_iter):
        config = {}
        for key in keys:
            value = param_distributions[key]
            config[key] = (value.rvs(random_state=rng) if hasattr(value, "rvs")
                           else value[int(rng.integers(len(value)))])
        configs.append(config)
    return configs


# -- running and ranking -------------------------------------------------------------------------
class _TimedTrial:
    """``evaluate`` wrapped to return a flat record (picklable for process pools)."""

    def __init__(self, evaluate: Callable[[dict], Score]) -> None:
        self.evaluate = evaluate
        self.trial_name = trial_name(evaluate)

    def __call__(self, config: dict) -> dict:
        record = timed_score(self.evaluate, dict(config), who="evaluate",
                             where=f"for config {config}")
        return {"params": dict(config), **record}


class SearchResult:
    """The trials of a search, best first.

    ``results`` is a list of dicts ``{"rank", "params", "score", <extras>, "seconds"}``
    sorted by score (NaN last; ties keep trial order); ``best_params`` / ``best_score`` are
    the first; ``table()`` (also ``str(result)``) is the readable version.
    """

    def __init__(self, trials: list[dict], mode: str = "max") -> None:
        check_mode(mode)
        if not trials:
            raise ValueError("a search needs at least one trial")
        sign = -1.0 if mode == "max" else 1.0

        def key(trial: dict) -> tuple[bool, float]:
            return (math.isnan(trial["score"]), sign * trial["score"])

        ranked = sorted(trials, key=key)  # stable: ties keep trial order
        self.results = [{"rank": i + 1, **trial} for i, trial in enumerate(ranked)]
        self.mode = mode

    @property
    def best_params(self) -> dict[str, Any]:
        """The config with the best score."""
        return dict(self.results[0]["params"])

    @property
    def best_score(self) -> float:
        """The best score."""
        return self.results[0]["score"]

    def table(self, max_rows: int | None = None) -> str:
        """An aligned text table: rank, each parameter, score, the scalar extras (numbers
        and strings; lists such as per-fold scores stay in ``results``), seconds."""
        param_keys = list(dict.fromkeys(k for r in self.results for k in r["params"]))
        extra_keys = list(dict.fromkeys(
            k for r in self.results for k, v in r.items()
            if k not in ("rank", "params", "score", "seconds") and isinstance(v, str | Number)))
        headers = ["rank", *param_keys, "score", *extra_keys, "seconds"]
        rows = [[r["rank"], *(r["params"].get(k, "") for k in param_keys), r["score"],
                 *(r.get(k, "") for k in extra_keys), r["seconds"]]
                for r in self.results[:max_rows]]
        return format_table(headers, rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: mode, best params and score, and the ranked results."""
        return {"mode": self.mode, "best_params": self.best_params,
                "best_score": self.best_score, "results": [dict(r) for r in self.results]}

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (f"SearchResult(trials={len(self.results)}, best_score={self.best_score:.4g}, "
                f"best_params={self.best_params})")


class _FoldTask:
    """One (config, fold) trial of a ``CVObjective`` (picklable)."""

    def __init__(self, objective: CVObjective) -> None:
        self.objective = objective
        self.trial_name = trial_name(objective.fit_and_score)

    def __call__(self, task: tuple[dict, int]) -> dict:
        config, k = task
        return self.objective.run_fold(config, k)


def describe_search(evaluate: Callable, mode: str) -> dict[str, str]:
    """What a journal records of a search run through ``run_trials``."""
    fn = evaluate.fit_and_score if isinstance(evaluate, CVObjective) else evaluate
    return {"evaluate": f"{getattr(fn, '__module__', '?')}.{trial_name(fn)}", "mode": mode}


def run_trials(configs: list[dict], evaluate: Callable[[dict], Score],
               runner: TrialRunner | None = None, mode: str = "max", *,
               journal: str | os.PathLike | TrialJournal | None = None, resume: bool = False,
               progress: bool | None = None, on_trial=None) -> SearchResult:
    """Evaluate every config through the runner and rank the outcomes.

    A ``CVObjective`` runs each (config, fold) pair as its own trial. ``journal`` (a path or
    a ``TrialJournal``) records each finished trial; with ``resume=True`` the trials it holds
    are not run again. ``progress`` shows a bar of finished trials (None: where the runner
    says so, e.g. a ``DaskRunner``); ``on_trial(key, config, info)`` hears of each trial
    that ran (its worker and wall time)."""
    check_mode(mode)
    if not callable(evaluate):
        raise TypeError(f"evaluate must be callable, got {type(evaluate).__name__}")
    configs = [dict(c) for c in configs]
    journal = open_journal(journal, describe_search(evaluate, mode), resume)
    runner = resolve_runner(runner)
    if progress is None:
        progress = isinstance(runner, TrialRunner) and runner.shows_progress
    if isinstance(evaluate, CVObjective):
        n_folds = len(evaluate.folds)
        tasks = [(config, k) for config in configs for k in range(n_folds)]
        with progress_bar(progress, total=len(tasks), desc="trials", unit="fold",
                          leave=False) as bar:
            folds = run_pool(runner, _FoldTask(evaluate), tasks, journal=journal,
                             key_configs=[c for c, _ in tasks],
                             suffixes=[f"-fold{k}" for _, k in tasks], progress=bar,
                             on_trial=on_trial)
        records = [{"params": config, **evaluate.combine(folds[i * n_folds:(i + 1) * n_folds])}
                   for i, config in enumerate(configs)]
        return SearchResult(records, mode)
    with progress_bar(progress, total=len(configs), desc="trials", unit="trial",
                      leave=False) as bar:
        records = run_pool(runner, _TimedTrial(evaluate), configs, journal=journal,
                           progress=bar, on_trial=on_trial)
    return SearchResult(records, mode)


def grid_search(param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
                evaluate: Callable[[dict], Score], runner: TrialRunner | None = None,
                mode: str = "max", **run_options) -> SearchResult:
    """Evaluate every config of ``parameter_grid(param_grid)``; the best has the highest
    score (the lowest with ``mode="min"``). ``run_options`` are ``run_trials``'s
    (``journal``, ``resume``, ``progress``)."""
    return run_trials(parameter_grid(param_grid), evaluate, runner, mode, **run_options)


def random_search(param_distributions: Mapping[str, Any], evaluate: Callable[[dict], Score],
                  n_iter: int = 10, seed: int | None = None,
                  runner: TrialRunner | None = None, mode: str = "max",
                  **run_options) -> SearchResult:
    """Evaluate ``n_iter`` configs drawn by ``parameter_sampler`` (reproducible for a seed);
    ``run_options`` are ``run_trials``'s.

    >>> result = random_search({"lr": LogUniform(1e-3, 1.0)},
    ...                        lambda c: -abs(c["lr"] - 0.1), n_iter=4, seed=0)
    >>> len(result.results), result.best_score <= 0
    (4, True)
    """
    return run_trials(parameter_sampler(param_distributions, n_iter, seed), evaluate,
                      runner, mode, **run_options)
