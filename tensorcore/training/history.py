"""``History``: what happened during training, one record per epoch.

Each record maps names to numbers: ``train_loss``, ``val_loss`` and ``val_<metric>`` as
written by ``fit``, plus anything else logged (``lr``, ``seconds``). ``history["val_loss"]``
is the column of one key, ``best_epoch`` finds the epoch where a monitored key was best, and
``to_dict`` gives plain JSON-ready columns.

>>> from tensorcore.training import History
>>> h = History()
>>> for loss, val in [(0.9, 0.8), (0.5, 0.6), (0.3, 0.7)]:
...     h.log(train_loss=loss, val_loss=val)
>>> h["val_loss"]
[0.8, 0.6, 0.7]
>>> h.best_epoch("val_loss")
2
>>> h.to_dict()["epoch"]
[1, 2, 3]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

__all__ = ["History", "is_improvement"]

_MODES = ("min", "max")


def check_mode(mode: str) -> str:
    """``mode`` itself if it is ``"min"`` or ``"max"``; otherwise a ValueError."""
    if mode not in _MODES:
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


def is_improvement(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (lower for ``"min"``,
    higher for ``"max"``). Anything beats ``best=None``; NaN never improves.

    >>> is_improvement(0.5, 0.6, "min"), is_improvement(0.5, 0.6, "max")
    (True, False)
    >>> is_improvement(0.58, 0.6, "min", min_delta=0.05)
    False
    """
    if value is None or math.isnan(value):
        return False
    if best is None or math.isnan(best):
        return True
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


class History:
    """Per-epoch records of training (epochs numbered from 1).

    ``log(**values)`` appends the next epoch's record; ``history[key]`` is that key's column
    (``None`` for epochs that did not log it); ``keys()`` lists the keys in first-logged order.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []

    def log(self, **values: float) -> None:
        """Append the record of the next epoch; values become Python floats."""
        self.records.append({k: float(v) for k, v in values.items()})

    @property
    def epochs(self) -> list[int]:
        """The epoch numbers: ``[1, 2, ..., len(self)]``."""
        return list(range(1, len(self.records) + 1))

    def keys(self) -> list[str]:
        """The logged keys, in the order they first appeared."""
        seen: dict[str, None] = {}
        for record in self.records:
            seen.update(dict.fromkeys(record))
        return list(seen)

    def __getitem__(self, key: str) -> list[float | None]:
        if not any(key in record for record in self.records):
            raise KeyError(f"no values logged for {key!r}; logged keys: {self.keys()}")
        return [record.get(key) for record in self.records]

    def __contains__(self, key: object) -> bool:
        return any(key in record for record in self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, float]]:
        return iter(self.records)

    def best_epoch(self, monitor: str = "val_loss", mode: str = "min") -> int:
        """The (1-based) epoch with the best value of ``monitor``: the first one on ties;
        epochs without a value (or with NaN) are skipped.

        >>> h = History.from_dict({"epoch": [1, 2, 3], "val_accuracy": [0.7, 0.9, 0.9]})
        >>> h.best_epoch("val_accuracy", mode="max")
        2
        """
        check_mode(mode)
        best_epoch, best = None, None
        for epoch, value in zip(self.epochs, self[monitor]):
            if is_improvement(value, best, mode):
                best_epoch, best = epoch, value
        if best_epoch is None:
            raise ValueError(f"{monitor!r} has no finite value in any epoch")
        return best_epoch

    def best(self, monitor: str = "val_loss", mode: str = "min") -> float:
        """The best value of ``monitor`` (the value at ``best_epoch``)."""
        return self[monitor][self.best_epoch(monitor, mode) - 1]

    def to_dict(self) -> dict[str, list]:
        """Columns ``{"epoch": [...], key: [...]}``: lists of ints, floats and ``None``
        (``json.dumps`` writes NaN or infinity as non-standard tokens; they become ``None``)."""
        columns: dict[str, list] = {"epoch": self.epochs}
        for key in self.keys():
            columns[key] = [None if v is None or not math.isfinite(v) else v for v in self[key]]
        return columns

    @classmethod
    def from_dict(cls, columns: Mapping[str, list]) -> History:
        """The inverse of ``to_dict`` (missing values, ``None``, are left out of records)."""
        history = cls()
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths: "
                             f"{ {k: len(v) for k, v in columns.items()} }")
        n = lengths.pop() if lengths else 0
        for i in range(n):
            history.log(**{k: v[i] for k, v in columns.items()
                           if k != "epoch" and v[i] is not None})
        return history

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={self.keys()})"
