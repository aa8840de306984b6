"""The package's progress bars: ``tqdm.auto``'s, a widget in a Jupyter notebook and text in
a terminal.

``progress_bar(show, **kwargs)`` is the bar that ``fit`` (epochs) and the searches (trials)
show. In a notebook, tqdm.auto draws an ipywidgets bar where ipywidgets is installed (it
comes with the ``test`` extra; a plain ``pip install tensorcore`` does not bring it), and
otherwise warns once and draws text. A bar that is not shown (``show=False``) is a disabled
plain tqdm and never imports tqdm.auto, so asking for no bar never warns about widgets.

>>> from tensorcore.training.progress import progress_bar
>>> bar = progress_bar(False, total=3, desc="trials")    # no bar wanted: nothing drawn
>>> bar.disable, type(bar).__module__
(True, 'tqdm.std')
>>> bar.close()
"""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(show: bool, **kwargs):
    """A tqdm bar (``kwargs`` are tqdm's): ``tqdm.auto``'s with ``show``, else a disabled
    ``tqdm.std`` bar, which draws nothing (and, being disabled, does not count)."""
    # imported on use: tqdm pulls in more than importing the package needs
    if show:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(disable=not show, **kwargs)
