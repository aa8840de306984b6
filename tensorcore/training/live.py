"""Live learning curves in a Jupyter notebook: ``fit(..., live_plot=True)``.

After each epoch, ``LiveLearningCurves.update(history)`` redraws the learning curves with
``plots.learning_curves_figure`` (the figure ``plot_learning_curves`` saves: losses on the
left, validation metrics on the right) and shows it as a PNG in the cell's output. The
first epoch displays it with a display id (``IPython.display.display(...,
display_id=True)``); later epochs replace that same output (``handle.update``), so the cell
ends with one picture, the final curves, not one per epoch.

The figure is a ``matplotlib.figure.Figure`` that pyplot never sees: no backend is chosen,
and the notebook does not show it a second time at the end of the cell.

Outside a Jupyter kernel (a script, a terminal IPython) there is no cell output to update:
``live_plotter`` warns once that live curves need a notebook and names
``tensorcore.training.plots.plot_learning_curves``, which draws them after training, and
``fit`` trains as usual.

>>> from tensorcore.training import History
>>> from tensorcore.training.live import LiveLearningCurves
>>> h = History()
>>> curves = LiveLearningCurves(show=False)    # draw only: there is no notebook here
>>> for train, val in [(1.0, 1.1), (0.6, 0.8)]:
...     h.log(train_loss=train, val_loss=val)
...     _ = curves.update(h)
>>> [line.get_ydata().tolist() for line in curves.figure.axes[0].get_lines()[:2]]
[[1.0, 0.6], [1.1, 0.8]]
"""

from __future__ import annotations

import io
import sys
import warnings

from .plots import learning_curves_figure

__all__ = ["LiveLearningCurves", "in_jupyter_kernel", "live_plotter"]

NOT_IN_NOTEBOOK = (
    "live_plot=True draws live learning curves only in a Jupyter notebook (a running Jupyter "
    "kernel), and this is not one; training goes on without them. Draw them after training "
    "with tensorcore.training.plots.plot_learning_curves(history, 'curves.png').")


def in_jupyter_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook, JupyterLab, VS Code's
    notebooks, Colab), which can show and update a cell's outputs; False in a script and in
    a terminal IPython.

    IPython is looked up among the loaded modules, never imported: a kernel has loaded it.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    # a kernel's shell (ipykernel's ZMQInteractiveShell) holds the kernel it talks through;
    # the terminal shell has none
    return shell is not None and getattr(shell, "kernel", None) is not None


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


class LiveLearningCurves:
    """The learning curves of a ``History``, redrawn by ``update`` and shown in place in a
    notebook cell.

    Args:
        monitor, mode: the key and direction whose best epoch is marked (as in
            ``plot_learning_curves``).
        show: display the figure in the cell's output (a Jupyter kernel is needed); False
            only draws it, into ``figure``.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min", show: bool = True) -> None:
        self.monitor, self.mode, self.show = monitor, mode, show
        self.figure = None  # the latest figure drawn
        self._handle = None  # the display's handle, once the first epoch was shown

    def update(self, history):
        """Redraw the curves of ``history`` (all its epochs so far) and, with ``show``,
        display them: the first call adds the picture to the cell's output, later calls
        replace it. Returns the figure."""
        self.figure = learning_curves_figure(history, self.monitor, self.mode)
        if self.show:
            from IPython.display import Image, display  # only here: a kernel has IPython

            image = Image(data=_png(self.figure), format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)
        return self.figure


def live_plotter(live_plot: bool, early_stopping=None) -> LiveLearningCurves | None:
    """What ``fit`` draws its live curves with: a ``LiveLearningCurves`` with
    ``live_plot`` in a Jupyter kernel (marking ``early_stopping``'s best epoch when given),
    else None; ``live_plot`` outside a kernel warns once (a UserWarning)."""
    if not live_plot:
        return None
    if not in_jupyter_kernel():
        # stacklevel: this function, _fit, fit (or Trainer.fit), then the caller's line
        warnings.warn(NOT_IN_NOTEBOOK, UserWarning, stacklevel=4)
        return None
    if early_stopping is not None:
        return LiveLearningCurves(early_stopping.monitor, early_stopping.mode)
    return LiveLearningCurves()
