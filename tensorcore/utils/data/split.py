"""Model-selection splitters with scikit-learn's protocol and scikit-learn's folds.

``KFold`` and ``StratifiedKFold`` have ``split(X, y=None, groups=None)``, yielding
``(train_idx, test_idx)`` NumPy int arrays (both sorted), and ``get_n_splits()``, so they
and scikit-learn's splitters can be used in each other's place. The folds are identical to
scikit-learn's for the same arguments, with ``shuffle=False`` and also with ``shuffle=True``
and the same ``random_state`` (an int, or a ``np.random.RandomState``, drawn from in the
same order; ``None`` uses NumPy's global random state, as scikit-learn).
``train_test_split`` draws the same indices as scikit-learn's for the same arguments.

One deliberate difference: ``StratifiedKFold`` raises a ``ValueError`` when a class has
fewer members than ``n_splits`` (scikit-learn only warns, and then some test folds lack
that class, so per-fold scores are silently not comparable).

>>> import numpy as np
>>> X, y = np.zeros((6, 2)), np.array([0, 0, 0, 1, 1, 1])
>>> [test.tolist() for _, test in KFold(n_splits=3).split(X)]
[[0, 1], [2, 3], [4, 5]]
>>> [test.tolist() for _, test in StratifiedKFold(n_splits=3).split(X, y)]
[[0, 3], [1, 4], [2, 5]]
>>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=2, random_state=0)
>>> X_tr.shape, y_te.shape
((4, 2), (2,))
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from math import ceil, floor

import numpy as np

from ._indexing import as_numpy, check_same_length, num_samples, take

__all__ = ["KFold", "StratifiedKFold", "train_test_split", "train_val_test_split"]


def check_random_state(seed) -> np.random.RandomState:
    """scikit-learn's rule: None -> NumPy's global state, an int -> a new seeded one."""
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a np.random.RandomState, "
                     f"got {seed!r}")


class _BaseKFold:
    """Checks and the mask-to-indices step shared by the K-fold splitters."""

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state=None) -> None:
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(f"The number of folds must be of Integral type. {n_splits!r} of "
                             f"type {type(n_splits).__name__} was passed.")
        if n_splits <= 1:
            raise ValueError(f"k-fold cross-validation requires at least one train/test split "
                             f"by setting n_splits=2 or more, got n_splits={n_splits}.")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}")
        if not shuffle and random_state is not None:
            raise ValueError("Setting a random_state has no effect since shuffle is False. "
                             "You should leave random_state to its default (None), or set "
                             "shuffle=True.")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of (train, test) pairs ``split`` yields."""
        return self.n_splits

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` index arrays, one pair per fold."""
        n = num_samples(X)
        if y is not None:
            check_same_length([X, y])
        if self.n_splits > n:
            raise ValueError(f"Cannot have number of splits n_splits={self.n_splits} greater "
                             f"than the number of samples: n_samples={n}.")
        test_fold = self._test_folds(n, y)
        indices = np.arange(n)
        for k in range(self.n_splits):
            yield indices[test_fold != k], indices[test_fold == k]

    def _test_folds(self, n: int, y) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_splits={self.n_splits}, "
                f"random_state={self.random_state}, shuffle={self.shuffle})")


class KFold(_BaseKFold):
    """K consecutive folds (shuffled first with ``shuffle=True``); the first
    ``n_samples % n_splits`` folds have one sample more.

    >>> [len(test) for _, test in KFold(3).split(list(range(7)))]
    [3, 2, 2]
    """

    def _test_folds(self, n: int, y) -> np.ndarray:
        indices = np.arange(n)
        if self.shuffle:
            check_random_state(self.random_state).shuffle(indices)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[:n % self.n_splits] += 1
        test_fold = np.empty(n, dtype=np.int64)
        test_fold[indices] = np.repeat(np.arange(self.n_splits), sizes)
        return test_fold


class StratifiedKFold(_BaseKFold):
    """K folds that keep each class's share of samples (scikit-learn's allocation).

    ``y`` (class labels) is required. Raises ValueError if a class has fewer members than
    ``n_splits`` (scikit-learn warns instead).

    >>> y = [0] * 6 + [1] * 3
    >>> [np.bincount(np.array(y)[test]).tolist() for _, test in StratifiedKFold(3).split(y, y)]
    [[2, 1], [2, 1], [2, 1]]
    """

    def split(self, X, y, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` index arrays, stratified by the labels ``y``."""
        if y is None:
            raise ValueError("StratifiedKFold.split needs the class labels y")
        return super().split(X, y, groups)

    def _test_folds(self, n: int, y) -> np.ndarray:
        y_encoded = _encode_by_appearance(as_numpy(y), "StratifiedKFold")
        counts = np.bincount(y_encoded)
        if counts.min() < self.n_splits:
            small = np.flatnonzero(counts < self.n_splits).tolist()
            raise ValueError(f"n_splits={self.n_splits} is greater than the number of members "
                             f"of some classes (class counts {counts.tolist()}, by order of "
                             f"appearance; too small: {small}): every class needs at least "
                             f"n_splits members to appear in every test fold")
        rng = check_random_state(self.random_state)
        # deal the sorted labels round-robin to the folds: how many of each class per fold
        y_order = np.sort(y_encoded)
        allocation = np.asarray([np.bincount(y_order[i::self.n_splits], minlength=len(counts))
                                 for i in range(self.n_splits)])
        test_fold = np.empty(n, dtype=np.int64)
        for k in range(len(counts)):
            folds_for_class = np.arange(self.n_splits).repeat(allocation[:, k])
            if self.shuffle:
                rng.shuffle(folds_for_class)
            test_fold[y_encoded == k] = folds_for_class
        return test_fold


def _class_labels(y: np.ndarray, who: str) -> np.ndarray:
    """Check that ``y`` holds class labels (1-D, no fractional floats)."""
    if y.ndim != 1:
        raise ValueError(f"{who}: y must be 1-dimensional class labels, got shape {y.shape}")
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"{who}: supported target types are ('binary', 'multiclass'); got "
                         f"'continuous' (fractional float labels)")
    return y


def _encode_by_appearance(y: np.ndarray, who: str) -> np.ndarray:
    """Class codes 0, 1, ... numbered in the order the classes first appear in ``y``."""
    _, first, inverse = np.unique(_class_labels(y, who), return_index=True,
                                  return_inverse=True)
    _, class_perm = np.unique(first, return_inverse=True)
    return class_perm[inverse.ravel()]


def _split_sizes(n: int, test_size, train_size, default_test_size: float,
                 test_name: str = "test_size") -> tuple[int, int]:
    """(n_train, n_test) from sizes given as ints or fractions, as scikit-learn's; errors call
    the test part ``test_name``."""
    if test_size is None and train_size is None:
        test_size = default_test_size
    for name, size in ((test_name, test_size), ("train_size", train_size)):
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, (numbers.Integral, numbers.Real)):
            raise ValueError(f"Invalid value for {name}: {size!r}")
        if isinstance(size, numbers.Integral) and not 0 < size < n:
            raise ValueError(f"{name}={size} should be either positive and smaller than the "
                             f"number of samples {n} or a float in the (0, 1) range")
        if not isinstance(size, numbers.Integral) and not 0 < size < 1:
            raise ValueError(f"{name}={size} should be either positive and smaller than the "
                             f"number of samples {n} or a float in the (0, 1) range")
    n_test = None if test_size is None else (
        int(test_size) if isinstance(test_size, numbers.Integral) else ceil(test_size * n))
    n_train = None if train_size is None else (
        int(train_size) if isinstance(train_size, numbers.Integral) else floor(train_size * n))
    n_train = n - n_test if n_train is None else n_train
    n_test = n - n_train if n_test is None else n_test
    if n_train + n_test > n:
        raise ValueError(f"The sum of train_size and test_size = {n_train + n_test}, should be "
                         f"smaller than the number of samples {n}. Reduce test_size and/or "
                         f"train_size.")
    if n_train == 0:
        raise ValueError(f"With n_samples={n}, test_size={test_size} and "
                         f"train_size={train_size}, the resulting train set will be empty.")
    return n_train, n_test


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Per-class draws closest to the class shares, ties broken at random (scikit-learn's)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def _stratified_indices(y: np.ndarray, n_train: int, n_test: int, rng):
    """One draw of scikit-learn's StratifiedShuffleSplit."""
    y = _class_labels(y, "stratify")
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        raise ValueError(f"The least populated classes in y have only 1 member, which is too "
                         f"few. The minimum number of groups for any class cannot be less "
                         f"than 2. Classes with too few members are: "
                         f"{classes[class_counts < 2].tolist()}")
    for name, size in (("train_size", n_train), ("test_size", n_test)):
        if size < len(classes):
            raise ValueError(f"The {name} = {size} should be greater or equal to the number "
                             f"of classes = {len(classes)}")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        members = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(members[:n_i[i]])
        test.extend(members[n_i[i]:n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _train_test_indices(n: int, n_train: int, n_test: int, shuffle: bool, stratify, rng):
    if not shuffle:
        if stratify is not None:
            raise ValueError("Stratified train/test split is not implemented for shuffle=False")
        return np.arange(n_train), np.arange(n_train, n_train + n_test)
    if stratify is not None:
        return _stratified_indices(as_numpy(stratify), n_train, n_test, rng)
    permutation = rng.permutation(n)
    return permutation[n_test:n_test + n_train], permutation[:n_test]


def train_test_split(*arrays, test_size=None, train_size=None, random_state=None,
                     shuffle: bool = True, stratify=None) -> list:
    """Split arrays (Tensors, NumPy arrays, lists) into random train and test parts.

    Returns ``[a_train, a_test, b_train, b_test, ...]``, each piece of the kind it came as
    (a Tensor stays on its device). Sizes are ints (samples) or fractions; with neither
    given the test part is 25%. ``stratify`` (labels) keeps class shares in both parts.
    The indices are the ones scikit-learn's ``train_test_split`` picks for the same
    arguments.

    >>> import tensorcore as tc
    >>> x_tr, x_te = train_test_split(tc.arange(8), test_size=0.25, random_state=1)
    >>> x_tr.shape, x_te.shape
    ((6,), (2,))
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    n = check_same_length(arrays if stratify is None else [*arrays, stratify])
    n_train, n_test = _split_sizes(n, test_size, train_size, default_test_size=0.25)
    train, test = _train_test_indices(n, n_train, n_test, shuffle, stratify,
                                      check_random_state(random_state) if shuffle else None)
    return [piece for a in arrays for piece in (take(a, train), take(a, test))]


def train_val_test_split(*arrays, val_size=0.2, test_size=0.2, random_state=None,
                         shuffle: bool = True, stratify=None) -> list:
    """Split arrays into train, validation and test parts.

    Returns ``[a_train, a_val, a_test, b_train, b_val, b_test, ...]``. ``val_size`` and
    ``test_size`` are fractions of the whole (rounded up, as scikit-learn's test_size) or
    sample counts; the train part is what is left. ``stratify`` keeps class shares in all
    three parts. The test part is split off first, then the validation part, both drawn
    from one ``random_state``.

    >>> import numpy as np
    >>> parts = train_val_test_split(np.arange(10), val_size=0.2, test_size=0.3,
    ...                              random_state=0)
    >>> [len(p) for p in parts]
    [5, 2, 3]
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    n = check_same_length(arrays if stratify is None else [*arrays, stratify])
    n_rest, n_test = _split_sizes(n, test_size, None, default_test_size=0.25)
    n_val = _split_sizes(n, val_size, None, default_test_size=0.25, test_name="val_size")[1]
    if n_rest - n_val <= 0:
        raise ValueError(f"With n_samples={n}, val_size={val_size} and test_size={test_size}, "
                         f"the resulting train set will be empty.")
    rng = check_random_state(random_state) if shuffle else None
    rest, test = _train_test_indices(n, n_rest, n_test, shuffle, stratify, rng)
    rest_stratify = None if stratify is None else as_numpy(stratify)[rest]
    train_pos, val_pos = _train_test_indices(n_rest, n_rest - n_val, n_val, shuffle,
                                             rest_stratify, rng)
    train, val = rest[train_pos], rest[val_pos]
    return [piece for a in arrays for piece in (take(a, train), take(a, val), take(a, test))]
