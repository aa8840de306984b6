"""Trial functions for the Dask runner tests, in a module the worker processes import.

Each records where it ran in a folder (``marks``), so a test can see which worker process
ran a trial and whether a trial ran twice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


class SlowParabola:
    """``-(a - 2)**2 - (b + 1)**2`` after ``seconds`` of sleep; marks ``<a>_<b>.<pid>``."""

    def __init__(self, marks: str | os.PathLike | None = None, seconds: float = 0.0) -> None:
        self.marks, self.seconds = marks, seconds

    def __call__(self, config: dict) -> dict:
        if self.marks is not None:
            Path(self.marks, f"{config['a']}_{config['b']}.{os.getpid()}").touch()
        time.sleep(self.seconds)
        return {"score": -(config["a"] - 2) ** 2 - (config["b"] + 1) ** 2, "pid": os.getpid()}


class FailsOn:
    """A score of ``a``, or a ValueError for ``a == bad``."""

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def __call__(self, config: dict) -> float:
        if config["a"] == self.bad:
            raise ValueError(f"a={self.bad} is the broken config")
        return float(config["a"])


def identity(config):
    return config
