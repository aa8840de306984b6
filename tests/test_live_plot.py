"""Live learning curves (``fit(..., live_plot=True)``) and notebook progress bars.

In-process: the live plotter's figure holds exactly the history's values, and outside a
Jupyter kernel ``live_plot=True`` warns once and trains as without it. In a real Jupyter
kernel (nbclient and ipykernel, as tests/test_notebooks.py runs the course): a live ``fit``
cell ends with one picture, updated in place, equal to the final curves, and the package's
progress bars are ipywidgets. Where nbclient, ipykernel or ipywidgets are missing the kernel
tests skip, except in CI (``CI=true``).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.training import EarlyStopping, History, Trainer, fit
from tensorcore.training.live import LiveLearningCurves, in_jupyter_kernel
from tensorcore.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _need(module: str):
    """Import ``module``; a skip where it is missing, except in CI (``CI=true``)."""
    if os.environ.get("CI", "").lower() == "true":
        return __import__(module)
    return pytest.importorskip(module)


def _setup(seed: int = 0):
    """A seeded two-class problem, its loaders and a model with its optimizer."""
    tc.manual_seed(seed)
    X = tc.randn(96, 2)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    train = DataLoader(TensorDataset(X[:64], y[:64]), batch_size=16, shuffle=True,
                       generator=tc.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(X[64:], y[64:]), batch_size=32)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, tc.optim.Adam(model.parameters(), lr=0.05), train, val


def _curves(history: History, **kwargs) -> dict:
    """Replay ``history`` epoch by epoch into a ``LiveLearningCurves`` (drawing only); its
    final figure's lines by label."""
    live, replay = LiveLearningCurves(show=False, **kwargs), History()
    for record in history:
        replay.log(**record)
        fig = live.update(replay)
    assert fig is live.figure
    return {line.get_label(): (ax.get_title(), line) for ax in fig.axes
            for line in ax.get_lines()}


def test_live_figure_holds_the_history():
    model, opt, train, val = _setup()
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=4,
                  metrics=["accuracy"], progress=False)
    lines = _curves(history)
    best = history.best_epoch("val_loss")
    assert set(lines) == {"train_loss", "val_loss", "val_accuracy", f"best epoch ({best})"}
    for key, panel in [("train_loss", "training vs validation loss"),
                       ("val_loss", "training vs validation loss"), ("val_accuracy", "metrics")]:
        title, line = lines[key]
        assert title == panel
        assert line.get_xdata().tolist() == [1, 2, 3, 4]
        assert line.get_ydata().tolist() == history[key]
    assert list(lines[f"best epoch ({best})"][1].get_xdata()) == [best, best]


def test_live_figure_marks_early_stoppings_best_epoch():
    h = History()
    for loss, acc in [(0.9, 0.6), (0.7, 0.8), (0.5, 0.7)]:
        h.log(train_loss=loss, val_loss=loss + 0.1, val_accuracy=acc)
    lines = _curves(h, monitor="val_accuracy", mode="max")
    assert "best epoch (2)" in lines        # val_loss alone would mark epoch 3


def test_no_kernel_here():
    assert not in_jupyter_kernel()


def test_live_plot_outside_a_kernel_warns_once_and_trains_the_same():
    model, opt, train, val = _setup()
    plain = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3,
                metrics=["accuracy"], progress=False)
    model, opt, train, val = _setup()
    with pytest.warns(UserWarning) as caught:
        live = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3,
                   metrics=["accuracy"], progress=False, live_plot=True)
    ours = [w for w in caught if "live_plot" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    message = str(ours[0].message)
    assert "Jupyter notebook" in message
    assert "tensorcore.training.plots.plot_learning_curves" in message
    assert ours[0].filename == __file__    # it points at the caller's line, not at fit's
    assert len(live) == 3
    for key in ("train_loss", "val_loss", "val_accuracy", "lr"):
        assert live[key] == plain[key]


def test_trainer_live_plot_outside_a_kernel_warns_once():
    model, opt, train, val = _setup()
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, metrics=["accuracy"])
    with pytest.warns(UserWarning, match="Jupyter notebook") as caught:
        history = trainer.fit(train, val, epochs=2, progress=False, live_plot=True,
                              early_stopping=EarlyStopping(patience=5))
    assert len([w for w in caught if "live_plot" in str(w.message)]) == 1
    assert caught[0].filename == __file__
    assert len(history) == 2


def test_live_plot_in_a_terminal_ipython_warns_once():
    """A terminal IPython has no cell output to update: one warning, and the fit ends."""
    _need("IPython")
    code = ("import warnings; warnings.simplefilter('always')\n"
            "from tensorcore.training.live import in_jupyter_kernel\n"
            "import tensorcore as tc\n"
            "from tensorcore import nn\n"
            "from tensorcore.training import fit\n"
            "from tensorcore.utils.data import DataLoader, TensorDataset\n"
            "X = tc.randn(32, 2); y = (X[:, 0] > 0).long()\n"
            "loader = DataLoader(TensorDataset(X, y), batch_size=16)\n"
            "model = nn.Linear(2, 2)\n"
            "h = fit(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.1),\n"
            "        loader, loader, epochs=2, progress=False, live_plot=True)\n"
            "print('shell', type(get_ipython()).__name__, in_jupyter_kernel(), len(h))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    done = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor",
                           "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "shell TerminalInteractiveShell False 2" in done.stdout, done.stdout + done.stderr
    both = done.stdout + done.stderr
    assert both.count("live learning curves only in a Jupyter notebook") == 1, both


def test_live_plot_false_does_not_warn():
    model, opt, train, val = _setup()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=1, progress=False)


# --- in a real Jupyter kernel ---------------------------------------------------------------

SETUP = """\
import base64, io
import tensorcore as tc
from tensorcore import nn
from tensorcore.training import fit, grid_search
from tensorcore.training.plots import learning_curves_figure
from tensorcore.utils.data import DataLoader, TensorDataset

tc.manual_seed(0)
X = tc.randn(96, 2)
y = (X[:, 0] > 0).long()
train = DataLoader(TensorDataset(X[:64], y[:64]), batch_size=16, shuffle=True)
val = DataLoader(TensorDataset(X[64:], y[64:]), batch_size=32)
model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
opt = tc.optim.Adam(model.parameters(), lr=0.05)
"""
LIVE = """\
history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3, metrics=["accuracy"],
              progress=False, live_plot=True)
"""
# the final curves, drawn again from the returned history and printed as base64 PNG
FINAL = """\
buffer = io.BytesIO()
learning_curves_figure(history).savefig(buffer, format="png", dpi=100)
print(len(history), base64.b64encode(buffer.getvalue()).decode())
"""
FIT_BAR = """\
_ = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=2, progress=True)
"""
SEARCH_BAR = """\
_ = grid_search({"a": [1, 2, 3]}, lambda c: float(c["a"]), progress=True)
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The cells above, run top to bottom in one real Jupyter kernel; the executed cells."""
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (SETUP, LIVE, FINAL, FIT_BAR,
                                                           SEARCH_BAR)]
    path = tmp_path_factory.mktemp("live")
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path)}})
    client.execute()  # a failing cell raises CellExecutionError with its traceback
    for cell in nb.cells:
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, f"the cell warned:\n{cell.source}\n{out.text}"
    return dict(zip(["setup", "live", "final", "fit_bar", "search_bar"], nb.cells))


def test_live_plot_in_a_kernel_shows_one_picture_updated_in_place(executed):
    outputs = executed["live"].outputs
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 1, [out.output_type for out in outputs]   # not one per epoch
    assert images[0].output_type == "display_data"
    shown = base64.b64decode(images[0].data["image/png"])
    epochs, final = executed["final"].outputs[0].text.split()
    assert epochs == "3"
    assert shown == base64.b64decode(final)    # the picture left is the last epoch's curves


@pytest.mark.parametrize("cell", ["fit_bar", "search_bar"])
def test_progress_bars_are_widgets_in_a_kernel(executed, cell):
    _need("ipywidgets")
    outputs = executed[cell].outputs
    assert any(WIDGET_MIME in out.get("data", {}) for out in outputs), outputs
    assert not any(out.output_type == "stream" and "it/s" in out.text for out in outputs)
