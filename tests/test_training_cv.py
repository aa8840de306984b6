"""cross_validate: the same fold scores with our splitters and scikit-learn's."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn import model_selection as skms

import tensorcore as tc
from tensorcore.datasets import load_iris
from tensorcore.model_selection import KFold, StratifiedKFold
from tensorcore.training import ExecutorRunner, cross_validate


def nearest_centroid_accuracy(X_train, y_train, X_test, y_test) -> float:
    """A deterministic classifier on tensors: the class whose training mean is closest."""
    classes = sorted(set(y_train.tolist()))
    centroids = tc.stack([X_train[y_train == c].mean(dim=0) for c in classes])
    distances = ((X_test.unsqueeze(1) - centroids.unsqueeze(0)) ** 2).sum(dim=2)
    predicted = tc.tensor(classes, device=X_test.device)[distances.argmin(dim=1)]
    return (predicted == y_test).float().mean().item()


@pytest.mark.parametrize("ours, theirs", [
    (KFold(5), skms.KFold(5)),
    (KFold(4, shuffle=True, random_state=3), skms.KFold(4, shuffle=True, random_state=3)),
    (StratifiedKFold(5, shuffle=True, random_state=0),
     skms.StratifiedKFold(5, shuffle=True, random_state=0)),
])
def test_same_fold_scores_with_our_and_scikit_learns_splitters(device, ours, theirs):
    X, y = load_iris(device=device)
    a = cross_validate(nearest_centroid_accuracy, X, y, cv=ours)
    b = cross_validate(nearest_centroid_accuracy, X, y, cv=theirs)
    assert a.scores == b.scores and len(a.scores) == ours.get_n_splits()
    assert [f["test_size"] for f in a.folds] == [f["test_size"] for f in b.folds]
    assert 0.7 < a.mean <= 1.0
    assert a.mean == pytest.approx(np.mean(a.scores)) and a.std == pytest.approx(np.std(a.scores))


def test_fold_contents_and_int_cv(device):
    X = tc.arange(10.0, device=device).reshape(10, 1)
    y = tc.arange(10, device=device)
    seen = []

    def record(X_tr, y_tr, X_te, y_te):
        assert X_tr.device == X.device and y_te.dtype == tc.int64
        seen.append((y_tr.tolist(), y_te.tolist()))
        return float(y_te.sum().item())

    result = cross_validate(record, X, y, cv=5)          # an int: KFold(5), unshuffled
    assert [test for _, test in seen] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert seen[0][0] == list(range(2, 10))
    assert result.scores == [1.0, 5.0, 9.0, 13.0, 17.0]
    assert str(result) == "9.0000 +- 5.6569 over 5 folds"


def test_numpy_inputs_extras_and_json():
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1] * 3)

    def score(X_tr, y_tr, X_te, y_te):
        assert isinstance(X_tr, np.ndarray)
        return {"score": float(X_te.mean()), "n": len(X_te)}

    result = cross_validate(score, X, y, cv=3)
    assert [f["n"] for f in result.folds] == [2, 2, 2]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["scores"] == [1.5, 5.5, 9.5] and data["mean"] == pytest.approx(5.5)


def test_without_y():
    result = cross_validate(lambda X_tr, y_tr, X_te, y_te: float(len(X_te) + (y_tr is None)),
                            list(range(7)), cv=3)
    assert result.scores == [4.0, 3.0, 3.0]


def test_executor_runner_gives_the_serial_folds(device):
    X, y = load_iris(device=device)
    cv = StratifiedKFold(5, shuffle=True, random_state=1)
    serial = cross_validate(nearest_centroid_accuracy, X, y, cv=cv)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = cross_validate(nearest_centroid_accuracy, X, y, cv=cv,
                                  runner=ExecutorRunner(pool))
    assert threaded.scores == serial.scores


@pytest.mark.parametrize("kwargs, error, message", [
    ({"cv": 1}, ValueError, "at least 2 folds, got cv=1"),
    ({"cv": 11}, ValueError, "n_splits=11 greater than the number of samples: n_samples=10"),
    ({"cv": "five"}, TypeError, "cv must be an int"),
    ({"cv": 2.5}, TypeError, "cv must be an int"),
])
def test_bad_cv(kwargs, error, message):
    with pytest.raises(error, match=message):
        cross_validate(lambda *a: 1.0, np.zeros((10, 2)), np.zeros(10), **kwargs)


def test_bad_inputs():
    X = np.zeros((6, 2))
    with pytest.raises(ValueError, match="inconsistent numbers of samples: \\[6, 5\\]"):
        cross_validate(lambda *a: 1.0, X, np.zeros(5), cv=2)
    with pytest.raises(TypeError, match="must return a number .* got str on fold 0"):
        cross_validate(lambda *a: "high", X, cv=2)
    with pytest.raises(KeyError, match="without a 'score' key"):
        cross_validate(lambda *a: {"accuracy": 1.0}, X, cv=2)
    with pytest.raises(TypeError, match="fit_and_score must be callable"):
        cross_validate(None, X, cv=2)


def test_model_selection_exports():
    import tensorcore.model_selection as ms
    from tensorcore import training

    assert ms.cross_validate is training.cross_validate
    assert ms.grid_search is training.grid_search and ms.random_search is training.random_search


# -- Trainer.cross_validate -----------------------------------------------------------------------
def _trainer(device):
    from tensorcore import nn
    from tensorcore.training import Trainer

    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16, device=device), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(16, 3, device=device))
    return Trainer(model, nn.CrossEntropyLoss(), tc.optim.Adam(model.parameters(), lr=0.05),
                   metrics=["accuracy"])


def test_trainer_cross_validate_trains_a_fresh_copy_per_fold(device):
    import copy

    from tensorcore.training.loop import evaluate, fit
    from tensorcore.utils.data import DataLoader, TensorDataset

    X, y = load_iris(device=device)
    trainer = _trainer(device)
    before = [p.detach().cpu().numpy().copy() for p in trainer.model.parameters()]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    result = trainer.cross_validate(X, y, cv=cv, epochs=4, batch_size=32, seed=5)
    # the trainer's own model is untouched
    assert all(np.array_equal(b, p.detach().cpu().numpy())
               for b, p in zip(before, trainer.model.parameters()))
    # fold 1 by hand: a copy of the untrained setup, seeded, trained and evaluated
    _, (train, test) = list(enumerate(cv.split(X, y.cpu().numpy())))[1]
    model, opt = copy.deepcopy((trainer.model, trainer.optimizer))
    tc.manual_seed(5)
    rows = {k: tc.tensor(v, device=device) for k, v in (("train", train), ("test", test))}
    loader = DataLoader(TensorDataset(X[rows["train"]], y[rows["train"]]), batch_size=32,
                        shuffle=True, generator=tc.Generator().manual_seed(5))
    fit(model, trainer.loss_fn, opt, loader, epochs=4, progress=False)
    held_out = DataLoader(TensorDataset(X[rows["test"]], y[rows["test"]]),
                          batch_size=1024)
    expected = evaluate(model, held_out, trainer.loss_fn, ["accuracy"])
    fold = result.folds[1]
    assert fold["score"] == fold["accuracy"] == expected["accuracy"]
    assert fold["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    assert result.mean > 0.6 and len(result.scores) == 3


def test_trainer_cross_validate_fits_preprocess_on_each_training_part(device):
    """``preprocess``: a copy fitted per fold on its training rows alone; the same scores as
    scaling by hand inside each fold, and other scores than scaling all rows first."""
    from tensorcore.training import StandardScaler, cross_validate
    from tensorcore.training.loop import _TrainerFold

    X, y = load_iris(device=device)
    X = X * tc.tensor([1.0, 10.0, 100.0, 0.1], device=device)  # features of unequal scales
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scaler = StandardScaler()
    got = _trainer(device).cross_validate(X, y, cv=cv, epochs=3, preprocess=scaler)
    assert scaler.mean_ is None  # the caller's transformer stays unfitted

    by_hand = _TrainerFold(_trainer(device), 3, 64, 0)

    def scaled_inside(X_tr, y_tr, X_te, y_te):
        s = StandardScaler().fit(X_tr)
        return by_hand(s.transform(X_tr), y_tr, s.transform(X_te), y_te)

    want = cross_validate(scaled_inside, X, y, cv=cv)
    assert got.scores == want.scores
    leaky = _trainer(device).cross_validate(StandardScaler().fit_transform(X), y, cv=cv,
                                            epochs=3)
    assert [f["loss"] for f in leaky.folds] != [f["loss"] for f in got.folds]
    with pytest.raises(TypeError, match="fit and transform"):
        _trainer(device).cross_validate(X, y, cv=cv, preprocess="standard")


def test_trainer_cross_validate_through_a_runner_equals_serial():
    X, y = load_iris()
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    serial = _trainer("cpu").cross_validate(X, y, cv=cv, epochs=3)
    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread: the seeds are per process
        pooled = _trainer("cpu").cross_validate(X, y, cv=cv, epochs=3,
                                                runner=ExecutorRunner(pool))
    assert pooled.scores == serial.scores
