"""PNG plots of training and model selection, drawn with matplotlib off screen.

The figures are ``matplotlib.figure.Figure`` objects rendered by the Agg canvas, never
pyplot: nothing opens a window, the global pyplot state and backend are left alone, and the
functions work on machines without a display. Each writes ``path`` and returns it.

* ``plot_learning_curves(history, path)``: training vs validation loss per epoch (a gap that
  opens while the validation loss rises is overfitting), the best epoch marked, and the
  validation metrics beside them (``learning_curves_figure(history)``: that figure, unsaved).
* ``plot_cv_scores(cv_result, path)``: the score of each fold with the mean and a +- std band.
* ``plot_search_results(search_result, path)``: every tried config's score, best first.

>>> import os, tempfile
>>> from tensorcore.training import History, plot_learning_curves
>>> h = History()
>>> for t, v in [(1.0, 1.1), (0.6, 0.8), (0.4, 0.9)]:
...     h.log(train_loss=t, val_loss=v, val_accuracy=1 - v / 2)
>>> with tempfile.TemporaryDirectory() as d:
...     path = plot_learning_curves(h, os.path.join(d, "curves.png"))
...     os.path.getsize(path) > 0
True
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from ..utils.atomic import atomic_write

__all__ = ["plot_cv_scores", "plot_learning_curves", "plot_search_results"]

PathLike = str | os.PathLike


def _figure(ncols: int = 1, width: float = 6.0, height: float = 4.0):
    from matplotlib.figure import Figure  # imported on use: matplotlib takes time to load

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def _write_atomically(path: PathLike, write) -> Path:
    """Write ``path`` with ``write(f)`` through ``atomic_write`` (it holds either its old
    content or the whole new one), making its directory first."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file stands where the directory should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                 str(path.parent)) from None
    with atomic_write(path) as f:
        write(f)
    return path


def _save(fig, path: PathLike) -> Path:
    return _write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=100))


def _loss_keys(history) -> list[str]:
    return [k for k in history.keys() if k.endswith("loss")]


def _best_epoch(history, monitor: str, mode: str) -> int | None:
    """The best epoch of ``monitor``; None when it was not logged or never finite (a run
    that diverged still gets its curves)."""
    if monitor not in history:
        return None
    try:
        return history.best_epoch(monitor, mode)
    except ValueError:
        return None


def learning_curves_figure(history, monitor: str = "val_loss", mode: str = "min"):
    """The figure that ``plot_learning_curves`` saves, not written anywhere: a
    ``matplotlib.figure.Figure`` (not registered with pyplot, so nothing shows it unless
    asked) with one line per logged key, labelled with the key. ``fit(..., live_plot=True)``
    redraws it after each epoch in a notebook (``tensorcore.training.live``)."""
    if len(history) == 0:
        raise ValueError("the history is empty: nothing to plot")
    loss_keys = _loss_keys(history)
    metric_keys = [k for k in history.keys()
                   if k not in loss_keys and (k.startswith("val_") or k.startswith("train_"))]
    fig, axes = _figure(2 if metric_keys else 1)
    epochs = history.epochs
    best = _best_epoch(history, monitor, mode)
    panels = [(axes[0], loss_keys, "loss")]
    if metric_keys:
        panels.append((axes[1], metric_keys, "metric"))
    for ax, keys, ylabel in panels:
        for key in keys:
            values = np.array([np.nan if v is None else v for v in history[key]], dtype=float)
            ax.plot(epochs, values, marker="o", markersize=3, label=key)
        if best is not None:
            ax.axvline(best, color="gray", linestyle="--", linewidth=1,
                       label=f"best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title("training vs validation loss")
    if metric_keys:
        axes[1].set_title("metrics")
    return fig


def plot_learning_curves(history, path: PathLike, monitor: str = "val_loss",
                         mode: str = "min") -> Path:
    """Loss curves (left) and metric curves (right, when metrics were logged) of a
    ``History``; a dashed line marks the best epoch of ``monitor`` when it has a finite
    value."""
    return _save(learning_curves_figure(history, monitor, mode), path)


def plot_cv_scores(cv_result, path: PathLike, score_name: str = "score") -> Path:
    """One bar per fold, a line at the mean and a band of +- one standard deviation."""
    scores = np.asarray(cv_result.scores, dtype=float)
    mean, std = cv_result.mean, cv_result.std
    fig, (ax,) = _figure()
    folds = np.arange(1, len(scores) + 1)
    ax.bar(folds, scores, color="tab:blue", alpha=0.7, label="fold")
    ax.axhline(mean, color="tab:red", label=f"mean {mean:.4f}")
    ax.axhspan(mean - std, mean + std, color="tab:red", alpha=0.15, label=f"+- std {std:.4f}")
    low = min(scores.min(), mean - std)
    high = max(scores.max(), mean + std)
    margin = max(high - low, 1e-3)
    ax.set_ylim(low - margin, high + 0.5 * margin)
    ax.set_xticks(folds)
    ax.set_xlabel("fold")
    ax.set_ylabel(score_name)
    ax.set_title(f"{len(scores)}-fold cross-validation: {mean:.4f} +- {std:.4f}")
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_search_results(search_result, path: PathLike, score_name: str = "score",
                        max_configs: int = 30) -> Path:
    """Horizontal bars of the scores of the (at most ``max_configs``) best configs."""
    rows = search_result.results[:max_configs]
    labels = [", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in r["params"].items()) for r in rows]
    scores = np.array([r["score"] for r in rows], dtype=float)
    fig, (ax,) = _figure(height=max(2.5, 0.3 * len(rows) + 1.2), width=8.0)
    positions = np.arange(len(rows))[::-1]  # the best at the top
    ax.barh(positions, scores, color="tab:green", alpha=0.7)
    ax.set_yticks(positions, labels, fontsize=8)
    finite = scores[np.isfinite(scores)]
    if finite.size:
        spread = max(finite.max() - finite.min(), 1e-3)
        ax.set_xlim(finite.min() - spread, finite.max() + 0.25 * spread)
    ax.set_xlabel(score_name)
    ax.set_title(f"search: {len(search_result.results)} configs, best first")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)
