"""The ``tensorcore train`` job as library functions: tune, retrain and test an MLP.

``run_experiment(ExperimentConfig(...))`` does the whole job and returns an
``ExperimentResult``: the report (a JSON-ready dict; ``tensorcore.training.report`` prints
it and writes it with the plots), the search, the final model and its history:

1. load a bundled dataset and split it into train / validation / test parts (stratified,
   seeded); features are standardized inside every training run with statistics of that
   run's training samples only;
2. tune the hidden size, learning rate and weight decay of a ``features -> hidden -> ReLU ->
   classes`` network trained with Adam: each config is scored by its validation accuracy
   (early stopping on the validation loss), or with ``cv=K`` by K-fold cross-validation on
   the train + validation samples; the configs come from a grid (``DEFAULT_GRID``, or a
   random subset of it when ``trials`` is smaller), are drawn from ``RANDOM_SPACE``, or
   are halved round by round (``search="halving"``: successive halving with the epochs as
   the budget); with ``cv``, each fold's model stops early on a slice of that fold's
   training part; every training run compiles its step with ``tensorcore.compile`` unless
   ``compile`` is False (``--no-compile``); the trials run here, or on a Dask cluster
   (``workers`` / ``scheduler``), each recorded as it ends in a journal to resume from
   (``experiment_search``);
3. retrain the best config on the training split, early stopping on the validation split;
4. score it once on the untouched test split.

>>> from tensorcore.training.experiment import ExperimentConfig, run_experiment
>>> config = ExperimentConfig(dataset="iris", epochs=2, trials=1, quiet=True)
>>> result = run_experiment(config, log=lambda *args: None)
>>> sorted(result.report["test_metrics"])
['accuracy', 'confusion_matrix', 'f1_macro', 'precision_macro', 'recall_macro']
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import backends, nn, optim
from ..autograd import no_grad
from ..creation import Generator
from ..datasets import LOADERS, load_dataset
from ..metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score
from ..tensor import Tensor
from ..utils.data import DataLoader, TensorDataset
from ..utils.data.split import train_val_test_split
from .callbacks import EarlyStopping
from .cv import CVResult
from .dask_runner import DaskRunner
from .experiment_search import (
    CV_STOPPING_SHARE,
    DEFAULT_GRID,
    RANDOM_SPACE,
    HoldoutObjective,
    experiment_cv_objective,
    run_search,
    runner_report,
    search_journal,
)
from .history import History
from .loop import fit, predict
from .preprocessing import StandardScaler
from .scoring import predicted_labels
from .search import SearchResult

__all__ = ["ConfigError", "DEFAULT_GRID", "ExperimentConfig", "ExperimentResult",
           "HoldoutObjective", "RANDOM_SPACE", "Splits", "build_mlp", "evaluate_predictions",
           "load_splits", "run_experiment", "train_mlp"]


class ConfigError(ValueError):
    """A setting of the job that cannot work (the command line reports it as a usage error)."""


@dataclasses.dataclass
class ExperimentConfig:
    """The settings of one job (the ``tensorcore train`` options)."""

    dataset: str = "digits"
    device: str | None = None
    epochs: int = 100
    cv: int | None = None
    search: str = "grid"
    trials: int | None = None
    out: str = "tensorcore-run"
    seed: int = 0
    batch_size: int = 64
    patience: int = 8
    val_size: float = 0.2
    test_size: float = 0.2
    quiet: bool = False
    compile: bool = True  # the training step through tensorcore.compile (else eager)
    workers: int | None = None  # trials on an embedded Dask LocalCluster of N workers
    scheduler: str | None = None  # trials on the Dask scheduler at this address
    resume: bool = False  # skip the trials journaled in out/trials.jsonl

    def check(self) -> ExperimentConfig:
        """Raise a ``ConfigError`` naming the first bad setting; ``self`` otherwise."""
        if self.dataset not in LOADERS:
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of: "
                             f"{', '.join(sorted(LOADERS))}")
        if self.workers is not None and self.scheduler is not None:
            raise ConfigError("workers (an embedded cluster) and scheduler (a running one) "
                              "exclude each other")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be positive, got {self.workers}")
        if self.search not in ("grid", "random", "halving"):
            raise ConfigError(f"search must be 'grid', 'random' or 'halving', "
                              f"got {self.search!r}")
        if self.search == "halving" and self.trials is not None:
            raise ConfigError("trials does not apply to search='halving': it starts from the "
                              "whole grid and halves it round by round")
        if self.cv is not None and self.cv < 2:
            raise ConfigError(f"cross-validation needs at least 2 folds, got cv={self.cv}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"trials must be positive, got {self.trials}")
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0, got {self.patience}")
        if not isinstance(self.compile, bool):
            raise ConfigError(f"compile must be True or False, got {self.compile!r}")
        return self


# -- data -----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Splits:
    """The three parts of a dataset (raw features: scaling happens per training run)."""

    X_train: Tensor
    y_train: Tensor
    X_val: Tensor
    y_val: Tensor
    X_test: Tensor
    y_test: Tensor
    n_classes: int

    @property
    def n_features(self) -> int:
        """Features per sample."""
        return self.X_train.shape[1]

    def sizes(self) -> dict[str, int]:
        """Samples per part."""
        return {"train": self.X_train.shape[0], "val": self.X_val.shape[0],
                "test": self.X_test.shape[0]}


def load_splits(config: ExperimentConfig, device=None) -> Splits:
    """The dataset of ``config`` on ``device``, split train / val / test (stratified, seeded
    by ``config.seed``)."""
    X, y = load_dataset(config.dataset, device=device)
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(
        X, y, val_size=config.val_size, test_size=config.test_size,
        random_state=config.seed, stratify=y)
    return Splits(X_tr, y_tr, X_va, y_va, X_te, y_te, n_classes=int(y.max().item()) + 1)


# -- one model ------------------------------------------------------------------------------------
class TrainedModel(NamedTuple):
    """A trained network with the scaler its inputs need and its training records."""

    model: nn.Module
    scaler: StandardScaler
    history: History
    stopper: EarlyStopping | None

    def predict_labels(self, X: Tensor) -> Tensor:
        """Predicted classes for raw features ``X``."""
        return predicted_labels(predict(self.model, self.scaler.transform(X)))


def build_mlp(n_features: int, hidden: int, n_classes: int, device=None) -> nn.Sequential:
    """``Linear(n_features, hidden) -> ReLU -> Linear(hidden, n_classes)`` (the first pair
    runs as one fused ``linear_act``)."""
    return nn.Sequential(nn.Linear(n_features, hidden, device=device), nn.ReLU(),
                         nn.Linear(hidden, n_classes, device=device))


def train_mlp(params: dict[str, Any], X_train: Tensor, y_train: Tensor, n_classes: int,
              X_val: Tensor | None = None, y_val: Tensor | None = None, *, epochs: int,
              batch_size: int = 64, patience: int = 8, seed: int = 0,
              progress: bool = False, compile: bool = True) -> TrainedModel:
    """Train a ``build_mlp`` network with Adam (``params``: hidden, lr, weight_decay) on
    standardized features; with validation data, early stopping on the validation loss
    (best weights restored), otherwise ``epochs`` epochs. ``compile`` is ``fit``'s."""
    scaler = StandardScaler().fit(X_train)
    backends.manual_seed(seed)
    model = build_mlp(X_train.shape[1], int(params["hidden"]), n_classes, X_train.device)
    optimizer = optim.Adam(model.parameters(), lr=params["lr"],
                           weight_decay=params["weight_decay"])
    train_loader = DataLoader(TensorDataset(scaler.transform(X_train), y_train),
                              batch_size=batch_size, shuffle=True,
                              generator=Generator().manual_seed(seed))
    val_loader, stopper = None, None
    if X_val is not None:
        val_loader = DataLoader(TensorDataset(scaler.transform(X_val), y_val), batch_size=1024)
        stopper = EarlyStopping(monitor="val_loss", patience=patience)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, val_loader,
                  epochs=epochs, metrics=["accuracy"] if val_loader else None,
                  early_stopping=stopper, progress=progress, compile=compile)
    return TrainedModel(model, scaler, history, stopper)


def evaluate_predictions(y_true: Tensor, y_pred: Tensor, n_classes: int) -> dict[str, Any]:
    """Accuracy, macro precision / recall / F1 and the confusion matrix (a list of rows)."""
    labels = list(range(n_classes))
    macro = {"labels": labels, "average": "macro", "zero_division": 0.0}
    with no_grad():
        return {
            "accuracy": accuracy_score(y_true, y_pred),
            "precision_macro": precision_score(y_true, y_pred, **macro),
            "recall_macro": recall_score(y_true, y_pred, **macro),
            "f1_macro": f1_score(y_true, y_pred, **macro),
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        }


# -- the job --------------------------------------------------------------------------------------
class ExperimentResult(NamedTuple):
    """What ``run_experiment`` produced."""

    report: dict[str, Any]
    search: SearchResult
    final: TrainedModel
    cv: CVResult | None


def run_experiment(config: ExperimentConfig, splits: Splits | None = None,
                   log: Callable[..., None] = print, runner=None,
                   journal: str | os.PathLike | None = None) -> ExperimentResult:
    """Tune, retrain and test (see the module docstring). ``log`` receives one-line
    progress messages; ``splits`` (from ``load_splits``) may be given to skip loading.

    ``runner`` runs the search's trials; without one, ``config.workers`` starts an embedded
    Dask cluster and ``config.scheduler`` joins a running one (a ``DaskRunner``, closed at
    the end), else they run here one by one. ``journal`` is where finished trials are
    recorded (the command line's ``<out>/trials.jsonl``); ``config.resume`` runs only the
    trials it does not hold."""
    config.check()
    if config.resume and journal is None:
        raise ConfigError("resume needs the journal of the run to resume (trials.jsonl in its "
                          "output directory)")
    with contextlib.ExitStack() as stack:
        if runner is None and (config.workers is not None or config.scheduler is not None):
            runner = _dask_runner(config)  # started in _run, where its start is timed
            stack.callback(runner.close)
        return _run(config, splits, log, runner, journal)


def _dask_runner(config: ExperimentConfig):
    from .dask_runner import DaskRunner

    gpu = str(config.device or backends.get_default_device()).startswith("cuda")
    if config.scheduler is not None:
        return DaskRunner(config.scheduler, gpu=gpu, quiet=config.quiet)
    return DaskRunner(n_workers=config.workers, gpu=gpu, quiet=config.quiet)


def _run(config: ExperimentConfig, splits: Splits | None, log, runner, journal
         ) -> ExperimentResult:
    start = time.perf_counter()
    timings: dict[str, float] = {}
    device = backends.get_default_device() if config.device is None else config.device
    if splits is None:
        splits = load_splits(config, device)
    timings["data_s"] = time.perf_counter() - start
    trial_device = None if runner is None else runner.trial_device
    objective = (experiment_cv_objective(splits, config, trial_device) if config.cv
                 else HoldoutObjective(splits, config, trial_device))
    scored_by = (f"mean accuracy over {config.cv} stratified folds of train + val "
                 f"(early stopping on {CV_STOPPING_SHARE:.0%} of each fold's training part)"
                 if config.cv else "validation accuracy")
    log(f"search: {config.search}, each config scored by {scored_by}")
    if isinstance(runner, DaskRunner):
        try:  # the cluster's start is timed apart from the search
            runner.start()
        except (ImportError, OSError, RuntimeError) as e:  # no dask, no scheduler, no GPU
            option = "--scheduler" if config.scheduler is not None else "--workers"
            raise ConfigError(f"{option}: {e}") from e
        timings["cluster_start_s"] = runner.start_seconds
    if journal is not None:
        try:
            journal = search_journal(config, journal, config.resume)
        except ValueError as e:  # a journal of another search, or not a journal
            raise ConfigError(f"--resume: {e}") from None
        if len(journal):
            log(f"resuming: {len(journal)} trials are in {journal.path}")
    mark = time.perf_counter()
    trials: list[dict] = []
    search = run_search(objective, config, runner, journal, trials)
    timings["search_s"] = time.perf_counter() - mark
    best = search.best_params
    log(f"best config: {format_params(best)} (score {search.best_score:.4f})")

    mark = time.perf_counter()
    s = splits
    final = train_mlp(best, s.X_train, s.y_train, s.n_classes, s.X_val, s.y_val,
                      epochs=config.epochs, batch_size=config.batch_size,
                      patience=config.patience, seed=config.seed, progress=not config.quiet,
                      compile=config.compile)
    timings["retrain_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    metrics = evaluate_predictions(s.y_test, final.predict_labels(s.X_test), s.n_classes)
    val_accuracy = accuracy_score(s.y_val, final.predict_labels(s.X_val))
    timings["test_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - start
    cv_result = CVResult(search.results[0]["folds"]) if config.cv else None
    report = {
        "config": dataclasses.asdict(config),
        "dataset": {"name": config.dataset, "n_features": s.n_features,
                    "n_classes": s.n_classes, "sizes": s.sizes()},
        "device": {"device": str(device),
                   "backend": backends.get_backend_name(s.X_train.device.type)},
        "model": {"layers": [s.n_features, best["hidden"], s.n_classes],
                  "activation": "relu", "optimizer": "Adam", "loss": "cross_entropy"},
        "search": {"kind": config.search, "scored_by": scored_by, **search.to_dict(),
                   "table": search.table()},
        "best_params": best,
        "cv": None if cv_result is None else cv_result.to_dict(),
        "history": final.history.to_dict(),
        "early_stopping": final.stopper.state_dict(),
        "val_accuracy": val_accuracy,
        "test_metrics": metrics,
        "runner": runner_report(runner, trials),
        "timings": timings,
    }
    return ExperimentResult(report, search, final, cv_result)


def format_params(params: dict) -> str:
    """``hidden=64, lr=0.01, weight_decay=0.0001``."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())
