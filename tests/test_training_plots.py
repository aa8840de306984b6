"""The plots write real PNG files (content is checked by eye; here: format and size)."""

from __future__ import annotations

import pytest

from tensorcore.training import (
    History,
    grid_search,
    plot_cv_scores,
    plot_learning_curves,
    plot_search_results,
)
from tensorcore.training.cv import CVResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def overfitting_history() -> History:
    h = History()
    for epoch in range(1, 11):
        val = 1.0 / epoch + 0.02 * epoch ** 1.5          # falls, then rises
        h.log(train_loss=1.0 / epoch, val_loss=val, val_accuracy=1 - val / 2)
    return h


def test_learning_curves_png(tmp_path):
    path = plot_learning_curves(overfitting_history(), tmp_path / "sub" / "curves.png")
    assert path == tmp_path / "sub" / "curves.png"
    assert_png(path)


def test_learning_curves_without_validation(tmp_path):
    h = History()
    for loss in (1.0, 0.5, 0.2):
        h.log(train_loss=loss)
    assert_png(plot_learning_curves(h, tmp_path / "train_only.png"))


def test_learning_curves_of_a_diverged_run(tmp_path):
    h = History()
    h.log(train_loss=float("nan"), val_loss=float("nan"))      # fit stops after such an epoch
    assert_png(plot_learning_curves(h, tmp_path / "diverged.png"))


def test_learning_curves_of_an_empty_history():
    with pytest.raises(ValueError, match="history is empty"):
        plot_learning_curves(History(), "never.png")


def test_cv_scores_png(tmp_path):
    folds = [{"fold": k, "score": s} for k, s in enumerate([0.91, 0.95, 0.93, 0.97, 0.9])]
    assert_png(plot_cv_scores(CVResult(folds), tmp_path / "cv.png"))


def test_search_results_png(tmp_path):
    result = grid_search({"lr": [0.1, 0.01], "hidden": [8, 16, 32]},
                         lambda c: c["hidden"] * c["lr"])
    assert_png(plot_search_results(result, tmp_path / "search.png"))
