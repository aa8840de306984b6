"""``EarlyStopping``: stop training when a monitored value stops improving.

After each epoch, ``step(value, model)`` compares the monitored value (``val_loss`` by
default) with the best so far. An improvement (by more than ``min_delta``) resets the count
of bad epochs and, with ``restore_best_weights``, snapshots the model's ``state_dict``; after
``patience`` epochs in a row without one, ``step`` returns True and ``fit`` stops. At the end
of training ``restore(model)`` loads the snapshot back.

>>> from tensorcore.training import EarlyStopping
>>> stopper = EarlyStopping(patience=2)
>>> [stopper.step(v) for v in [1.0, 0.8, 0.9, 0.85]]
[False, False, False, True]
>>> stopper.best, stopper.best_epoch, stopper.stopped_epoch
(0.8, 2, 4)
"""

from __future__ import annotations

import numbers

from .history import check_mode, is_improvement

__all__ = ["EarlyStopping"]


def snapshot_state(model) -> dict:
    """A deep copy of ``model.state_dict()``: detached clones that later updates leave alone."""
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras' rule).

    Args:
        monitor: the History key to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        mode: ``"min"`` (lower is better) or ``"max"``.
        patience: epochs without improvement before stopping (0 stops at the first one).
        min_delta: how much better than the best a value must be to count as improving.
        restore_best_weights: keep a copy of the weights of the best epoch, for ``restore``.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 5,
                 min_delta: float = 0.0, restore_best_weights: bool = True) -> None:
        check_mode(mode)
        if not isinstance(patience, numbers.Integral) or isinstance(patience, bool) \
                or patience < 0:
            raise ValueError(f"patience must be a non-negative int, got {patience!r}")
        if not isinstance(min_delta, numbers.Real) or min_delta < 0:
            raise ValueError(f"min_delta must be a non-negative number, got {min_delta!r}")
        self.monitor = monitor
        self.mode = mode
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self) -> None:
        """Forget everything seen: ready for a new training run."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.wait = 0
        self.epoch = 0
        self.stopped_epoch: int | None = None

    @property
    def should_stop(self) -> bool:
        """Whether the last ``step`` asked to stop."""
        return self.stopped_epoch is not None

    def step(self, value: float, model=None) -> bool:
        """Record the value of the next epoch; True when training should stop.

        With ``restore_best_weights``, ``model`` (anything with ``state_dict``) is
        snapshotted whenever ``value`` is a new best.
        """
        self.epoch += 1
        value = float(value)
        if is_improvement(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, self.epoch, 0
            if self.restore_best_weights and model is not None:
                self.best_state = snapshot_state(model)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = self.epoch
        return self.should_stop

    def restore(self, model) -> bool:
        """Load the best epoch's weights into ``model``; False (and nothing done) when there is
        no snapshot (``restore_best_weights=False``, or no epoch was seen with a model)."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict:
        """The counters (not the weights), for reports."""
        return {"monitor": self.monitor, "mode": self.mode, "patience": self.patience,
                "min_delta": self.min_delta, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch}

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, "
                f"patience={self.patience}, min_delta={self.min_delta}, "
                f"restore_best_weights={self.restore_best_weights})")
