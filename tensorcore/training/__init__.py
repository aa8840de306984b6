"""Training and model selection: the loop, its records, early stopping, searches, plots.

* ``fit``, ``evaluate``, ``predict``, ``Trainer`` (``loop``): the training loop, with
  metrics by name or callable (``scoring``); its per-batch step (``make_train_step``) is
  compiled with ``tensorcore.compile`` unless ``compile=False``.
* ``History`` (``history``): per-epoch records; ``EarlyStopping`` (``callbacks``).
* ``grid_search`` / ``random_search`` (``search``) and ``cross_validate`` / ``CVObjective``
  (``cv``) over a user function, run through a ``TrialRunner`` (``runners``:
  ``SerialRunner``, ``ExecutorRunner`` for any ``concurrent.futures`` executor;
  ``DaskRunner`` for a Dask cluster, ``dask_runner``), with a ``TrialJournal`` of finished
  trials to resume from (``journal``).
* ``StandardScaler`` (``preprocessing``): feature scaling fitted on the training split.
* ``plot_learning_curves``, ``plot_cv_scores``, ``plot_search_results`` (``plots``): PNGs.
* In a Jupyter notebook: the progress bars are widgets (``progress``: tqdm.auto), and
  ``fit(..., live_plot=True)`` redraws the learning curves after each epoch (``live``).

>>> from tensorcore.training import EarlyStopping, History
>>> h, stop = History(), EarlyStopping(patience=1)
>>> for epoch, val in enumerate([0.5, 0.4, 0.45], start=1):
...     h.log(val_loss=val)
...     if stop.step(val):
...         break
>>> epoch, h.best_epoch("val_loss")
(3, 2)
"""

from .callbacks import EarlyStopping
from .cv import CVObjective, CVResult, cross_validate
from .dask_runner import DaskRunner
from .halving import HalvingResult, halving_search
from .history import History
from .journal import TrialJournal
from .loop import Trainer, evaluate, fit, make_train_step, predict
from .plots import plot_cv_scores, plot_learning_curves, plot_search_results
from .preprocessing import StandardScaler
from .runners import ExecutorRunner, SerialRunner, TrialError, TrialRunner
from .search import (
    LogUniform,
    SearchResult,
    grid_search,
    parameter_grid,
    parameter_sampler,
    random_search,
)

__all__ = ["CVObjective", "CVResult", "DaskRunner", "EarlyStopping", "ExecutorRunner",
           "HalvingResult", "History", "LogUniform", "SearchResult", "SerialRunner",
           "StandardScaler", "Trainer", "TrialError", "TrialJournal", "TrialRunner",
           "cross_validate", "evaluate", "fit", "grid_search", "halving_search",
           "make_train_step", "parameter_grid", "parameter_sampler", "plot_cv_scores",
           "plot_learning_curves", "plot_search_results", "predict", "random_search"]
