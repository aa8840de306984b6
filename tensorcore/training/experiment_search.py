"""The search of the ``tensorcore train`` job: how a config is scored and how the configs run.

* ``HoldoutObjective``: validation accuracy at the early-stopping epoch.
* ``experiment_cv_objective``: mean accuracy over stratified K folds of train + validation,
  as a ``CVObjective``, so that every (config, fold) pair is one trial of the pool.
* ``run_search``: the grid, random draws or successive halving, through the job's runner,
  with a bar of finished trials, the journal of the run (``trials.jsonl``) and a record of
  where each trial ran.

With a runner whose ``trial_device`` is set (GPU workers), each trial moves its data to
that device before training.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ..metrics import accuracy_score
from ..ops import cat
from ..utils.data.split import StratifiedKFold, train_test_split
from .cv import CVObjective
from .halving import halving_schedule, halving_search
from .journal import TrialJournal
from .search import LogUniform, SearchResult, grid_search, parameter_grid, random_search

__all__ = ["DEFAULT_GRID", "HoldoutObjective", "RANDOM_SPACE", "experiment_cv_objective",
           "halving_min_epochs", "run_search"]

DEFAULT_GRID = {"hidden": [64, 128, 256], "lr": [3e-3, 1e-2], "weight_decay": [1e-4, 1e-3]}
RANDOM_SPACE = {"hidden": [16, 32, 64, 128, 256], "lr": LogUniform(3e-4, 3e-2),
                "weight_decay": [0.0, 1e-5, 1e-4, 1e-3]}
DEFAULT_RANDOM_TRIALS = 12
HALVING_FACTOR = 3
CV_STOPPING_SHARE = 0.15  # of each fold's training part, for early stopping

# the settings that change a trial's result: a journal written with others is not resumed
RESULT_SETTINGS = ("dataset", "epochs", "cv", "search", "trials", "seed", "batch_size",
                   "patience", "val_size", "test_size", "compile")


def _split_epochs(params: dict, config) -> tuple[dict, int]:
    """The model's params and the most epochs to train: ``params["epochs"]`` where a search
    sets it (halving's budget), else ``config.epochs``."""
    model_params = {k: v for k, v in params.items() if k != "epochs"}
    return model_params, int(params.get("epochs", config.epochs))


def _on(device, *tensors):
    return tensors if device is None else tuple(t.to(device) for t in tensors)


class HoldoutObjective:
    """A config's score: validation accuracy at the early-stopping epoch; also the epochs
    actually trained (``"epochs_trained"``). ``params["epochs"]``, where given, caps them.
    ``device``: where the trial trains (None: where the splits are)."""

    def __init__(self, splits, config, device=None) -> None:
        self.splits, self.config, self.device = splits, config, device

    def __call__(self, params: dict) -> dict[str, float]:
        from .experiment import train_mlp

        s, c = self.splits, self.config
        params, epochs = _split_epochs(params, c)
        X_train, y_train, X_val, y_val = _on(self.device, s.X_train, s.y_train, s.X_val,
                                             s.y_val)
        trained = train_mlp(params, X_train, y_train, s.n_classes, X_val, y_val,
                            epochs=epochs, batch_size=c.batch_size, patience=c.patience,
                            seed=c.seed, compile=c.compile)
        best, trained_epochs = trained.stopper.best_epoch, len(trained.history)
        if best is None:  # diverged: no finite validation loss; ranked last
            return {"score": float("nan"), "val_loss": float("nan"), "best_epoch": 0,
                    "epochs_trained": trained_epochs}
        return {"score": trained.history["val_accuracy"][best - 1],
                "val_loss": trained.history["val_loss"][best - 1], "best_epoch": best,
                "epochs_trained": trained_epochs}


class FoldAccuracy:
    """One fold of a config: train with early stopping on ``CV_STOPPING_SHARE`` of the fold's
    training part (stratified; never on its test part), then the test part's accuracy."""

    def __init__(self, config, n_classes: int, device=None) -> None:
        self.config, self.n_classes, self.device = config, n_classes, device

    def __call__(self, params: dict, X_tr, y_tr, X_te, y_te) -> float:
        from .experiment import train_mlp

        c = self.config
        params, epochs = _split_epochs(params, c)
        X_tr, y_tr, X_te, y_te = _on(self.device, X_tr, y_tr, X_te, y_te)
        X_fit, X_stop, y_fit, y_stop = train_test_split(
            X_tr, y_tr, test_size=CV_STOPPING_SHARE, stratify=y_tr, random_state=c.seed)
        trained = train_mlp(params, X_fit, y_fit, self.n_classes, X_stop, y_stop,
                            epochs=epochs, batch_size=c.batch_size, patience=c.patience,
                            seed=c.seed, compile=c.compile)
        return accuracy_score(y_te, trained.predict_labels(X_te))


def experiment_cv_objective(splits, config, device=None) -> CVObjective:
    """Mean accuracy over ``config.cv`` stratified, shuffled folds of train + validation.
    A K the data cannot split raises the job's ``ConfigError`` before any training."""
    from .experiment import ConfigError

    X, y = cat([splits.X_train, splits.X_val]), cat([splits.y_train, splits.y_val])
    splitter = StratifiedKFold(config.cv, shuffle=True, random_state=config.seed)
    try:
        return CVObjective(FoldAccuracy(config, splits.n_classes, device), X, y, cv=splitter)
    except ValueError as e:
        raise ConfigError(f"--cv {config.cv}: {e}") from e


def halving_min_epochs(config) -> int:
    """The first round's epochs for ``search="halving"``: scikit-learn's "exhaust" start for a
    third of ``config.epochs``, so the last round trains about ``epochs / 3`` epochs (3, 9, 27
    for the 12 grid configs and 100 epochs) and all the rounds together stay well under the
    grid's epochs; the best config is then retrained with every epoch."""
    budget = max(1, config.epochs // HALVING_FACTOR)
    return halving_schedule(len(parameter_grid(DEFAULT_GRID)), budget,
                            factor=HALVING_FACTOR).min_resources


def search_journal(config, path: str | os.PathLike, resume: bool) -> TrialJournal:
    """The run's journal at ``path``, described by the settings that change results."""
    settings = dataclasses.asdict(config)
    return TrialJournal(path, {"job": "tensorcore train",
                               **{k: settings[k] for k in RESULT_SETTINGS}}, resume=resume)


def run_search(objective, config, runner=None, journal: TrialJournal | None = None,
               trials: list | None = None) -> SearchResult:
    """The grid (whole, or ``trials`` points of it at random), ``trials`` random draws, or
    successive halving over the grid with the epochs as the resource. ``trials`` (a list)
    receives ``{"key", "params", "worker", "wall_s"}`` for each trial run here."""
    def heard(key: str, params: dict, info: dict) -> None:
        if trials is not None:
            trials.append({"key": key, "params": params, **info})

    options = {"runner": runner, "journal": journal, "progress": not config.quiet,
               "on_trial": heard}
    grid_size = len(parameter_grid(DEFAULT_GRID))
    if config.search == "halving":
        return halving_search(DEFAULT_GRID, objective, resource="epochs",
                              max_resources=config.epochs,
                              min_resources=halving_min_epochs(config),
                              factor=HALVING_FACTOR, **options)
    if config.search == "grid" and (config.trials is None or config.trials >= grid_size):
        return grid_search(DEFAULT_GRID, objective, **options)
    space = DEFAULT_GRID if config.search == "grid" else RANDOM_SPACE
    n_iter = config.trials or (grid_size if config.search == "grid" else DEFAULT_RANDOM_TRIALS)
    return random_search(space, objective, n_iter=n_iter, seed=config.seed, **options)


def runner_report(runner, trials: list[dict]) -> dict[str, Any]:
    """What report.json records of the runner: its description and each trial's worker and
    wall time (the trials of a resumed run that were in the journal are not among them)."""
    from .dask_runner import DaskRunner
    from .runners import SerialRunner

    if runner is None or isinstance(runner, SerialRunner):
        described: dict[str, Any] = {"runner": "SerialRunner", "n_workers": 1}
    elif isinstance(runner, DaskRunner):
        described = runner.describe()
    else:
        described = {"runner": repr(runner)}
    return {**described, "trials": trials}
