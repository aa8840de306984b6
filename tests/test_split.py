"""Splitters against scikit-learn: identical folds and train/test indices, stratified class
shares, interchangeability with scikit-learn's splitters, the kinds of what comes back, and
scikit-learn's errors (plus our stricter StratifiedKFold)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy
from sklearn import model_selection as skms

import tensorcore as tc
from tensorcore import model_selection
from tensorcore.utils.data.split import (
    KFold,
    StratifiedKFold,
    train_test_split,
    train_val_test_split,
)


def _labels(seed, n, n_classes):
    """Labels with every class at least 4 times, in a random order."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.repeat(np.arange(n_classes), 4),
                        rng.integers(0, n_classes, n - 4 * n_classes)])
    return rng.permutation(y) * 3 + 1      # classes 1, 4, 7, ...: not 0..k-1


def _folds(splitter, X, y=None):
    return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(X, y)]


CASES = [(seed, n, k, c) for seed, (n, k, c) in enumerate(
    [(12, 2, 2), (13, 3, 2), (25, 4, 3), (31, 3, 5), (40, 4, 4), (23, 2, 3)])]


@pytest.mark.parametrize("seed,n,k,n_classes", CASES)
@pytest.mark.parametrize("shuffle,random_state", [(False, None), (True, 0), (True, 12345)])
def test_folds_identical_to_sklearn(seed, n, k, n_classes, shuffle, random_state):
    X, y = np.zeros((n, 2)), _labels(seed, n, n_classes)
    for ours, theirs in [(KFold, skms.KFold), (StratifiedKFold, skms.StratifiedKFold)]:
        got = _folds(ours(k, shuffle=shuffle, random_state=random_state), X, y)
        want = _folds(theirs(k, shuffle=shuffle, random_state=random_state), X, y)
        assert got == want


def test_shuffle_with_random_state_object_matches_sklearn():
    X, y = np.zeros((20, 1)), _labels(0, 20, 2)
    ours = StratifiedKFold(4, shuffle=True, random_state=np.random.RandomState(5))
    theirs = skms.StratifiedKFold(4, shuffle=True, random_state=np.random.RandomState(5))
    assert _folds(ours, X, y) == _folds(theirs, X, y)


def test_kfold_partitions_samples(device):
    X = tc.zeros(11, 3, device=device)
    folds = list(KFold(3).split(X))
    assert [len(te) for _, te in folds] == [4, 4, 3]
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(11))
    for tr, te in folds:
        assert tr.dtype.kind == "i" and np.intersect1d(tr, te).size == 0
        assert len(tr) + len(te) == 11


def test_stratified_proportions(device):
    y = np.array([0] * 30 + [1] * 15 + [2] * 5)
    for _, test in StratifiedKFold(5, shuffle=True, random_state=1).split(
            tc.zeros(50, device=device), tc.tensor(y, device=device)):
        assert np.bincount(y[test]).tolist() == [6, 3, 1]


def _mean_test_size(splitter, X, y):
    """A consumer written against the protocol only: split() and get_n_splits()."""
    sizes = [len(test) for _, test in splitter.split(X, y)]
    assert len(sizes) == splitter.get_n_splits(X, y)
    return sum(sizes) / len(sizes)


def test_interchangeable_with_sklearn():
    X, y = np.random.default_rng(0).normal(size=(30, 3)), _labels(1, 30, 3)
    for splitter in (KFold(5), skms.KFold(5), StratifiedKFold(3), skms.StratifiedKFold(3)):
        assert _mean_test_size(splitter, X, y) == pytest.approx(30 / splitter.get_n_splits())
    # ours inside scikit-learn's cross-validation, with its estimator
    from sklearn.linear_model import LogisticRegression
    ours = skms.cross_val_score(LogisticRegression(), X, y, cv=StratifiedKFold(3))
    theirs = skms.cross_val_score(LogisticRegression(), X, y, cv=skms.StratifiedKFold(3))
    np.testing.assert_allclose(ours, theirs)


@pytest.mark.parametrize("test_size,train_size", [(None, None), (0.3, None), (7, None),
                                                  (None, 0.6), (0.2, 0.5), (5, 10)])
@pytest.mark.parametrize("stratified", [False, True])
def test_train_test_split_identical_to_sklearn(test_size, train_size, stratified):
    X, y = np.arange(60).reshape(30, 2), _labels(2, 30, 3)
    kwargs = dict(test_size=test_size, train_size=train_size, random_state=3,
                  stratify=y if stratified else None)
    for got, want in zip(train_test_split(X, y, **kwargs), skms.train_test_split(X, y, **kwargs),
                         strict=True):
        np.testing.assert_array_equal(got, want)


def test_train_test_split_kinds_and_devices(device):
    X = tc.arange(20, dtype=tc.float32, device=device).reshape(10, 2)
    y_np, y_list = np.arange(10), list("abcdefghij")
    X_tr, X_te, y_tr, y_te, l_tr, l_te = train_test_split(X, y_np, y_list, test_size=0.3,
                                                          random_state=0)
    assert isinstance(X_tr, tc.Tensor) and X_tr.device == tc.device(device)
    assert X_tr.shape == (7, 2) and X_te.shape == (3, 2)
    assert isinstance(y_tr, np.ndarray) and isinstance(l_te, list) and len(l_te) == 3
    assert (to_numpy(X_tr[:, 0]) == 2 * y_tr).all()              # rows stay together
    assert [ord(c) - ord("a") for c in l_tr] == y_tr.tolist()
    plain = train_test_split(list(range(10)), shuffle=False, test_size=2)
    assert plain == [list(range(8)), [8, 9]]


def test_train_val_test_split(device):
    y = np.array([0] * 40 + [1] * 20)
    X = tc.tensor(np.arange(60), device=device)
    parts = train_val_test_split(X, y, val_size=0.2, test_size=0.25, stratify=y,
                                 random_state=0)
    X_tr, X_va, X_te, y_tr, y_va, y_te = parts
    assert [len(p) for p in (y_tr, y_va, y_te)] == [33, 12, 15]
    assert sorted(X_tr.tolist() + X_va.tolist() + X_te.tolist()) == list(range(60))
    for X_part, y_part in ((X_tr, y_tr), (X_va, y_va), (X_te, y_te)):
        assert (y[to_numpy(X_part)] == y_part).all()
        assert abs(y_part.mean() - 1 / 3) < 0.05                 # class shares kept
    again = train_val_test_split(X, y, val_size=0.2, test_size=0.25, stratify=y,
                                 random_state=0)
    assert all((to_numpy(a) if isinstance(a, tc.Tensor) else a).tolist()
               == (to_numpy(b) if isinstance(b, tc.Tensor) else b).tolist()
               for a, b in zip(parts, again))
    counts = [len(p) for p in train_val_test_split(list(range(10)), val_size=2, test_size=3)]
    assert counts == [5, 2, 3]
    with pytest.raises(ValueError, match="train set will be empty"):
        train_val_test_split(list(range(10)), val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="val_size=10 should be"):
        train_val_test_split(list(range(10)), val_size=10)
    with pytest.raises(ValueError, match="test_size=1.0 should be"):
        train_val_test_split(list(range(10)), test_size=1.0)


def test_model_selection_reexports():
    assert model_selection.KFold is KFold and model_selection.StratifiedKFold is StratifiedKFold
    assert model_selection.train_test_split is train_test_split
    assert model_selection.train_val_test_split is train_val_test_split


def test_splitter_errors():
    with pytest.raises(ValueError, match="n_splits=5 greater than the number of samples: "
                                         "n_samples=3"):
        list(KFold(5).split(np.zeros(3)))
    with pytest.raises(ValueError, match="n_splits=2 or more, got n_splits=1"):
        KFold(1)
    with pytest.raises(ValueError, match="Integral"):
        KFold(2.5)
    with pytest.raises(ValueError, match="no effect since shuffle is False"):
        KFold(3, random_state=0)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        StratifiedKFold(3, shuffle=1)
    y = np.array([0] * 6 + [1] * 2)
    with pytest.raises(ValueError, match="n_splits=3 is greater than the number of members"):
        list(StratifiedKFold(3).split(np.zeros(8), y))
    with pytest.raises(ValueError, match="continuous"):
        list(StratifiedKFold(2).split(np.zeros(4), np.array([0.5, 1.5, 0.5, 1.5])))
    with pytest.raises(ValueError, match="needs the class labels"):
        list(StratifiedKFold(2).split(np.zeros(4), None))
    with pytest.raises(ValueError, match="inconsistent numbers of samples: \\[4, 3\\]"):
        list(KFold(2).split(np.zeros(4), np.zeros(3)))


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="At least one array"):
        train_test_split()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        train_test_split(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="test_size=1.5 should be"):
        train_test_split(np.zeros(4), test_size=1.5)
    with pytest.raises(ValueError, match="test_size=4 should be"):
        train_test_split(np.zeros(4), test_size=4)
    with pytest.raises(ValueError, match="not implemented for shuffle=False"):
        train_test_split(np.zeros(4), shuffle=False, stratify=np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="only 1 member"):
        train_test_split(np.zeros(4), stratify=np.array([0, 0, 0, 1]))
    with pytest.raises(TypeError, match="0-dimensional"):
        train_test_split(np.array(3.0))
