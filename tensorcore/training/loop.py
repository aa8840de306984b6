"""The training loop: ``fit``, ``evaluate``, ``predict`` and a thin ``Trainer`` around them.

``fit`` runs the usual PyTorch epoch (``model.train()``; per batch ``zero_grad``, forward,
loss, ``backward``, ``optimizer.step()``), then evaluates on the validation loader under
``no_grad`` in ``model.eval()`` mode, steps the scheduler, logs the epoch in a ``History``
and asks ``EarlyStopping`` whether to go on. The training loss is accumulated as a tensor
and read once per epoch (no per-batch host sync); a tqdm bar counts epochs and shows the
latest values (``progress=False`` silences it). It is ``tqdm.auto``'s (``.progress``): a
widget in a Jupyter notebook (with ipywidgets installed), text in a terminal.
``live_plot=True`` draws the learning curves in a notebook after each epoch (``.live``).

The per-batch work is one function of tensors (``make_train_step``), made once per ``fit``
and compiled with ``tensorcore.compile`` unless ``compile=False``: its first call on a
batch shape records a plan that later batches of that shape replay (the last short batch
of an epoch records its own), and a step that cannot be compiled runs eagerly. Everything
that reads values on the host (the epoch's loss, metrics, early stopping, the scheduler)
stays outside it. Validation runs eagerly.

Batches are ``(inputs, targets)`` pairs, as a ``DataLoader`` over a ``TensorDataset`` yields
them. ``loss_fn(outputs, targets)`` returns a scalar tensor averaged over the batch
(``nn.CrossEntropyLoss()``, ``F.mse_loss``...); the epoch's loss is the sample-weighted mean.

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> from tensorcore.utils.data import DataLoader, TensorDataset
>>> from tensorcore.training import fit, evaluate
>>> tc.manual_seed(0)
>>> X = tc.randn(64, 2)
>>> y = (X[:, 0] > 0).long()
>>> loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
>>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
>>> opt = tc.optim.Adam(model.parameters(), lr=0.05)
>>> history = fit(model, nn.CrossEntropyLoss(), opt, loader, loader, epochs=20,
...               metrics=["accuracy"], progress=False)
>>> history["val_accuracy"][-1] > 0.9
True
>>> sorted(evaluate(model, loader, nn.CrossEntropyLoss(), ["accuracy"]))
['accuracy', 'loss']
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

from .. import compiler
from ..autograd import no_grad
from ..creation import as_tensor
from ..ops import cat
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..tensor import Tensor
from .callbacks import EarlyStopping
from .history import History
from .live import live_plotter
from .progress import progress_bar
from .scoring import MetricFn, resolve_metrics

__all__ = ["Trainer", "evaluate", "fit", "make_train_step", "predict"]

Metrics = Sequence[str | MetricFn] | Mapping[str, MetricFn] | None


def _inputs_and_targets(batch) -> tuple:
    """``(inputs, targets)`` of a batch; a ValueError for any other shape of batch."""
    if isinstance(batch, Sequence) and not isinstance(batch, Tensor) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(f"a batch must be an (inputs, targets) pair, got "
                     f"{type(batch).__name__}" + (f" of {len(batch)} items"
                                                  if isinstance(batch, Sequence) else ""))


@contextlib.contextmanager
def _eval_mode(model) -> Iterator[None]:
    """``model.eval()`` and ``no_grad`` for the block; the previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def evaluate(model, loader: Iterable, loss_fn=None, metrics: Metrics = None) -> dict[str, float]:
    """The model's mean loss (with ``loss_fn``) and ``metrics`` over all batches of
    ``loader``, in eval mode and without recording a graph: ``{"loss": ..., name: ...}``."""
    scorers = resolve_metrics(metrics)
    if loss_fn is None and not scorers:
        raise ValueError("evaluate needs a loss_fn or metrics: there is nothing to compute")
    total, count, outputs, targets = None, 0, [], []
    with _eval_mode(model):
        for batch in loader:
            x, y = _inputs_and_targets(batch)
            out = model(x)
            n = out.shape[0]
            if loss_fn is not None:
                part = loss_fn(out, y) * n
                total = part if total is None else total + part
            count += n
            if scorers:
                outputs.append(out)
                targets.append(y)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    result = {} if loss_fn is None else {"loss": total.item() / count}
    if scorers:
        all_outputs, all_targets = cat(outputs), cat(targets)
        result.update({name: float(fn(all_targets, all_outputs))
                       for name, fn in scorers.items()})
    return result


def predict(model, X, batch_size: int = 1024) -> Tensor:
    """The model's outputs for all rows of ``X`` (a Tensor or array-like), in batches, in
    eval mode and without a graph."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    X = X if isinstance(X, Tensor) else as_tensor(X)
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"predict needs a batch of at least one sample, got shape "
                         f"{tuple(X.shape)}")
    with _eval_mode(model):
        return cat([model(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])


def make_train_step(model, loss_fn, optimizer, compile: bool = True):
    """The training work of one batch as a function ``step(inputs, targets) -> loss``:
    ``zero_grad``, forward, loss, ``backward``, ``optimizer.step()``; it returns the batch's
    loss, detached. With ``compile`` it is wrapped by ``tensorcore.compile`` (the wrapper's
    ``stats`` count its traces, replays and eager calls).

    Nothing in it reads a value on the host, so that a trace never falls back to eager
    because of the loop's own code.

    >>> import tensorcore as tc
    >>> from tensorcore import nn
    >>> model = nn.Linear(3, 2)
    >>> step = make_train_step(model, nn.CrossEntropyLoss(),
    ...                        tc.optim.SGD(model.parameters(), lr=0.1))
    >>> step(tc.randn(4, 3), tc.tensor([0, 1, 1, 0])).shape
    ()
    """

    def train_step(inputs, targets):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return compiler.compile(train_step) if compile else train_step


def _train_one_epoch(model, step, loader: Iterable) -> float:
    """One pass of ``step`` over ``loader``; the sample-weighted mean training loss (one
    host sync)."""
    model.train()
    total, count = None, 0
    for batch in loader:
        x, y = _inputs_and_targets(batch)
        n = x.shape[0]
        # a new tensor at once: a replayed step may reuse the buffer of the loss it returned
        part = step(x, y) * n
        total = part if total is None else total + part
        count += n
    if count == 0:
        raise ValueError("fit: the training loader yielded no batches")
    return total.item() / count


def _run_epoch(model, loss_fn, optimizer, step, train_loader: Iterable,
               val_loader: Iterable | None, scorers: dict, scheduler) -> dict[str, float]:
    """Train one epoch with ``step``, validate, step the scheduler; the epoch's record."""
    start = time.perf_counter()
    lr = optimizer.param_groups[0]["lr"]  # the rate this epoch trains with
    record = {"train_loss": _train_one_epoch(model, step, train_loader)}
    if val_loader is not None:
        scores = evaluate(model, val_loader, loss_fn, scorers)
        record["val_loss"] = scores.pop("loss")
        record.update({f"val_{name}": value for name, value in scores.items()})
    if scheduler is not None:
        _step_scheduler(scheduler, record)
    record["lr"] = lr
    record["seconds"] = time.perf_counter() - start
    return record


def _check_monitor(early_stopping: EarlyStopping | None, keys: list[str]) -> None:
    if early_stopping is not None and early_stopping.monitor not in keys:
        raise ValueError(f"EarlyStopping monitors {early_stopping.monitor!r}, which fit does "
                         f"not log here; logged keys: {', '.join(keys)} (validation keys "
                         f"need a val_loader)")


def _step_scheduler(scheduler, record: dict[str, float]) -> None:
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(record.get("val_loss", record["train_loss"]))
    else:
        scheduler.step()


def _postfix(record: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.4f}" for k, v in record.items() if k not in ("lr", "seconds")}


def fit(model, loss_fn, optimizer, train_loader: Iterable, val_loader: Iterable | None = None,
        epochs: int = 10, metrics: Metrics = None, scheduler=None,
        early_stopping: EarlyStopping | None = None, progress: bool = True,
        live_plot: bool = False, compile: bool = True) -> History:
    """Train ``model`` for up to ``epochs`` epochs; the per-epoch ``History``.

    Each epoch logs ``train_loss``, then with ``val_loader`` ``val_loss`` and
    ``val_<metric>`` for each of ``metrics`` (see ``tensorcore.training.scoring``), the
    learning rate ``lr`` the epoch trained with (of the first parameter group) and the
    epoch's ``seconds``. ``scheduler`` steps once per epoch
    (``ReduceLROnPlateau`` on ``val_loss``, or ``train_loss`` without validation).
    ``early_stopping`` is reset, stepped on its monitored key after every epoch, and at the
    end restores the best weights if it kept them. ``progress`` shows a tqdm bar of the
    epochs (a widget in a notebook). ``live_plot`` (a Jupyter notebook only) draws the
    learning curves after each epoch into one picture in the cell's output, updated in place
    (see ``tensorcore.training.live``); elsewhere it warns and training goes on. ``compile``
    (default True) runs the per-batch step through ``tensorcore.compile`` (see
    ``make_train_step``); False runs it eagerly, with the same results.
    """
    step = make_train_step(model, loss_fn, optimizer, compile)
    return _fit(model, loss_fn, optimizer, step, train_loader, val_loader, epochs, metrics,
                scheduler, early_stopping, progress, live_plot)


def _fit(model, loss_fn, optimizer, step, train_loader: Iterable, val_loader: Iterable | None,
         epochs: int, metrics: Metrics, scheduler, early_stopping: EarlyStopping | None,
         progress: bool, live_plot: bool = False) -> History:
    """``fit`` with the training step made (one step for all epochs and batches)."""
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    scorers = resolve_metrics(metrics)
    if scorers and val_loader is None:
        raise ValueError("metrics are computed on the validation split: pass a val_loader")
    keys = ["train_loss", *(["val_loss", *(f"val_{name}" for name in scorers)]
                            if val_loader is not None else []), "lr", "seconds"]
    _check_monitor(early_stopping, keys)
    if early_stopping is not None:
        early_stopping.reset()
    history = History()
    curves = live_plotter(live_plot, early_stopping)
    with progress_bar(progress, total=epochs, desc="fit", unit="epoch", leave=False) as bar:
        for _ in range(epochs):
            record = _run_epoch(model, loss_fn, optimizer, step, train_loader, val_loader,
                                scorers, scheduler)
            history.log(**record)
            bar.set_postfix(_postfix(record), refresh=False)
            bar.update(1)
            if curves is not None:
                curves.update(history)
            if not math.isfinite(record["train_loss"]):
                break  # diverged: more epochs cannot help
            if early_stopping is not None and early_stopping.step(
                    record[early_stopping.monitor], model):
                break
    if early_stopping is not None:
        early_stopping.restore(model)
    return history


class Trainer:
    """``fit`` / ``evaluate`` / ``predict`` with the model, loss, optimizer, metrics and
    scheduler given once.

    >>> import tensorcore as tc
    >>> from tensorcore import nn
    >>> from tensorcore.utils.data import DataLoader, TensorDataset
    >>> model = nn.Linear(3, 2)
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.1),
    ...                   metrics=["accuracy"])
    >>> loader = DataLoader(TensorDataset(tc.randn(8, 3), tc.tensor([0, 1] * 4)), batch_size=4)
    >>> len(trainer.fit(loader, loader, epochs=2, progress=False))
    2
    >>> trainer.predict(tc.randn(5, 3)).shape
    (5, 2)

    ``compile`` (default True) is ``fit``'s; ``train_step`` is the step the latest ``fit``
    trained with (the ``tensorcore.compile`` wrapper, with its ``stats``, when compiled).
    """

    def __init__(self, model, loss_fn, optimizer, metrics: Metrics = None,
                 scheduler=None, compile: bool = True) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.metrics, self.scheduler, self.compile = metrics, scheduler, compile
        self.train_step = None

    def fit(self, train_loader: Iterable, val_loader: Iterable | None = None, epochs: int = 10,
            early_stopping: EarlyStopping | None = None, progress: bool = True,
            live_plot: bool = False) -> History:
        """``fit`` with this trainer's model, loss, optimizer, metrics, scheduler and
        ``compile`` (``live_plot``: learning curves drawn live in a Jupyter notebook)."""
        self.train_step = make_train_step(self.model, self.loss_fn, self.optimizer,
                                          self.compile)
        return _fit(self.model, self.loss_fn, self.optimizer, self.train_step, train_loader,
                    val_loader, epochs, self.metrics if val_loader is not None else None,
                    self.scheduler, early_stopping, progress, live_plot)

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """``evaluate`` with this trainer's loss and metrics."""
        return evaluate(self.model, loader, self.loss_fn, self.metrics)

    def predict(self, X, batch_size: int = 1024) -> Tensor:
        """``predict`` with this trainer's model."""
        return predict(self.model, X, batch_size)

    def cross_validate(self, X, y, cv=5, *, epochs: int = 10, batch_size: int = 64,
                       groups=None, seed: int = 0, runner=None, preprocess=None):
        """K-fold cross-validation of this trainer's setup; a ``CVResult``.

        Each fold trains a fresh copy of the model, optimizer and scheduler *as they are
        now* (call it before ``fit``) for ``epochs`` epochs on the fold's training part
        (shuffled, dropout and shuffling seeded by ``seed``), then evaluates it on the
        held-out part with the trainer's loss and metrics. A fold's score is its first
        metric, or its loss without metrics; its record holds them all. ``cv`` is
        ``cross_validate``'s; ``runner`` runs the folds (a ``DaskRunner``: one trial each).
        ``preprocess`` (e.g. an unfitted ``StandardScaler()``): a copy is fitted on each
        fold's training part and transforms both parts, so no statistic of the held-out
        part leaks into training (scikit-learn's pipeline in cross-validation).
        """
        from .cv import cross_validate

        if preprocess is not None and not (hasattr(preprocess, "fit")
                                           and hasattr(preprocess, "transform")):
            raise TypeError(f"preprocess must have fit and transform methods (e.g. "
                            f"StandardScaler()), got {type(preprocess).__name__}")
        return cross_validate(_TrainerFold(self, epochs, batch_size, seed, preprocess), X, y,
                              cv=cv, groups=groups, runner=runner)


class _TrainerFold:
    """One fold of ``Trainer.cross_validate`` (picklable: it holds the trainer's parts)."""

    def __init__(self, trainer: Trainer, epochs: int, batch_size: int, seed: int,
                 preprocess=None) -> None:
        self.parts = (trainer.model, trainer.loss_fn, trainer.optimizer, trainer.scheduler)
        self.preprocess = preprocess
        self.metrics, self.compile = trainer.metrics, trainer.compile
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed
        self.trial_name = f"Trainer({type(trainer.model).__name__}).cross_validate"

    def __call__(self, X_train, y_train, X_test, y_test) -> dict[str, float]:
        import copy

        from .. import backends
        from ..creation import Generator
        from ..utils.data import DataLoader, TensorDataset

        model, loss_fn, optimizer, scheduler = copy.deepcopy(self.parts)
        if self.preprocess is not None:  # fitted on this fold's training part only
            prep = copy.deepcopy(self.preprocess).fit(X_train)
            X_train, X_test = prep.transform(X_train), prep.transform(X_test)
        backends.manual_seed(self.seed)
        train = DataLoader(TensorDataset(X_train, y_train), batch_size=self.batch_size,
                           shuffle=True, generator=Generator().manual_seed(self.seed))
        _fit(model, loss_fn, optimizer, make_train_step(model, loss_fn, optimizer, self.compile),
             train, None, self.epochs, None, scheduler, None, False)
        scores = evaluate(model, DataLoader(TensorDataset(X_test, y_test), batch_size=1024),
                          loss_fn, self.metrics)
        first = next((k for k in scores if k != "loss"), "loss")
        return {"score": scores[first], **scores}
