"""History and EarlyStopping against hand-made sequences."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore import nn
from tensorcore.training import EarlyStopping, History


def make_history(**columns) -> History:
    return History.from_dict({"epoch": list(range(1, len(next(iter(columns.values()))) + 1)),
                              **columns})


# -- History ------------------------------------------------------------------------------------
def test_history_columns_and_missing_values():
    h = History()
    h.log(train_loss=1.0, val_loss=2.0)
    h.log(train_loss=0.5, val_loss=1.5, lr=0.1)
    h.log(train_loss=np.float32(0.25), val_loss=tc.tensor(1.25).item())
    assert len(h) == 3 and h.epochs == [1, 2, 3]
    assert h.keys() == ["train_loss", "val_loss", "lr"]
    assert h["train_loss"] == [1.0, 0.5, 0.25]
    assert h["lr"] == [None, 0.1, None]
    assert all(type(v) is float for v in h["train_loss"])
    assert "val_loss" in h and "val_accuracy" not in h


def test_history_unknown_key_names_the_logged_keys():
    h = make_history(val_loss=[1.0])
    with pytest.raises(KeyError, match=r"val_acc.*logged keys: \['val_loss'\]"):
        h["val_acc"]


@pytest.mark.parametrize("values, mode, expected", [
    ([3.0, 1.0, 2.0, 1.0], "min", 2),                  # ties: the first
    ([0.5, 0.9, 0.7, 0.9], "max", 2),
    ([float("nan"), 2.0, 1.5, float("nan")], "min", 3),  # NaN never best
    ([4.0], "min", 1),
])
def test_best_epoch(values, mode, expected):
    h = make_history(score=values)
    assert h.best_epoch("score", mode) == expected
    assert h.best("score", mode) == values[expected - 1]


def test_best_epoch_errors():
    h = make_history(val_loss=[float("nan"), float("nan")])
    with pytest.raises(ValueError, match="no finite value"):
        h.best_epoch("val_loss")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        make_history(val_loss=[1.0]).best_epoch("val_loss", mode="lowest")


def test_history_to_dict_is_json_and_round_trips():
    h = History()
    h.log(train_loss=1.0, val_loss=float("nan"))
    h.log(train_loss=0.5, val_loss=0.7, val_accuracy=0.8)
    columns = h.to_dict()
    assert columns == {"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [None, 0.7],
                       "val_accuracy": [None, 0.8]}
    again = History.from_dict(json.loads(json.dumps(columns, allow_nan=False)))
    assert again.to_dict() == columns


def test_history_from_dict_checks_lengths():
    with pytest.raises(ValueError, match="different lengths"):
        History.from_dict({"epoch": [1, 2], "val_loss": [1.0]})


# -- EarlyStopping ------------------------------------------------------------------------------
def run(stopper: EarlyStopping, values) -> list[bool]:
    """Feed values until the stopper asks to stop; the answers given."""
    answers = []
    for v in values:
        answers.append(stopper.step(v))
        if answers[-1]:
            break
    return answers


def test_patience_counts_epochs_without_improvement():
    stopper = EarlyStopping(patience=3)
    assert run(stopper, [1.0, 0.9, 0.95, 0.96, 0.97, 0.5]) == [False] * 4 + [True]
    assert (stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (0.9, 2, 5)
    assert stopper.wait == 3 and stopper.should_stop


def test_improvement_resets_the_count():
    stopper = EarlyStopping(patience=2)
    # epochs 3 (worse), 4 (better: reset), 5, 6 (worse twice): stop at 6
    assert run(stopper, [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.1]) == [False] * 5 + [True]
    assert stopper.best_epoch == 4 and stopper.stopped_epoch == 6


def test_patience_zero_stops_at_the_first_non_improvement():
    stopper = EarlyStopping(patience=0)
    assert run(stopper, [1.0, 0.5, 0.5]) == [False, False, True]


def test_min_delta():
    # improving means value < best - 0.05: 0.96 (wait 1), 0.94 (improves on 1.0 by 0.06:
    # reset), 0.9 (only 0.04 better than 0.94: wait 1), 0.8 (new best)
    stopper = EarlyStopping(patience=2, min_delta=0.05)
    assert run(stopper, [1.0, 0.96, 0.94, 0.9, 0.8]) == [False] * 5
    assert stopper.best == 0.8 and stopper.best_epoch == 5
    stopper = EarlyStopping(patience=2, min_delta=0.05)
    assert run(stopper, [1.0, 0.96, 0.951, 0.5]) == [False, False, True]  # 0.951: wait 2
    assert stopper.best == 1.0 and stopper.best_epoch == 1


def test_mode_max():
    stopper = EarlyStopping(monitor="val_accuracy", mode="max", patience=2)
    assert run(stopper, [0.5, 0.7, 0.6, 0.7, 0.9]) == [False, False, False, True]
    assert stopper.best == 0.7 and stopper.best_epoch == 2


def test_nan_counts_as_no_improvement():
    stopper = EarlyStopping(patience=1)
    assert run(stopper, [1.0, float("nan")]) == [False, True]
    assert stopper.best == 1.0


def test_reset_forgets():
    stopper = EarlyStopping(patience=0)
    run(stopper, [1.0, 2.0])
    stopper.reset()
    assert not stopper.should_stop and stopper.best is None and stopper.epoch == 0
    assert run(stopper, [3.0, 2.0]) == [False, False]


def test_restore_best_weights_deep_copies():
    tc.manual_seed(0)
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(patience=2)
    stopper.step(1.0, model)
    best = {k: to_numpy(v) for k, v in model.state_dict().items()}
    with tc.no_grad():                    # in-place updates, as an optimizer makes them
        model.weight.add_(1.0)
        model.bias.mul_(-2.0)
    stopper.step(2.0, model)              # worse: no new snapshot
    assert not np.allclose(to_numpy(model.weight), best["weight"])
    assert stopper.restore(model) is True
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(to_numpy(value), best[key])
    assert model.weight.requires_grad    # still a parameter


def test_restore_without_snapshot_does_nothing():
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(restore_best_weights=False)
    stopper.step(1.0, model)
    before = to_numpy(model.weight)
    assert stopper.restore(model) is False
    np.testing.assert_array_equal(to_numpy(model.weight), before)


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "avg"}, "mode must be 'min' or 'max'"),
    ({"patience": -1}, "patience must be a non-negative int"),
    ({"patience": 1.5}, "patience must be a non-negative int"),
    ({"min_delta": -0.1}, "min_delta must be a non-negative number"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)


def test_state_dict_is_json():
    stopper = EarlyStopping(patience=1)
    run(stopper, [1.0, 1.0])
    state = json.loads(json.dumps(stopper.state_dict()))
    assert state["best_epoch"] == 1 and state["stopped_epoch"] == 2
    assert math.isclose(state["best"], 1.0)
