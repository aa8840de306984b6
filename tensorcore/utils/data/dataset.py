"""Map-style datasets as in ``torch.utils.data``: ``Dataset``, ``TensorDataset``, ``Subset``,
``ConcatDataset`` and ``random_split``.

A dataset is anything with ``__getitem__(i)`` and ``__len__()``; samples are whatever
``__getitem__`` returns (a ``TensorDataset`` returns a tuple of tensors).

>>> import tensorcore as tc
>>> from tensorcore.utils.data import TensorDataset, random_split
>>> ds = TensorDataset(tc.arange(10.0).reshape(5, 2), tc.tensor([0, 1, 0, 1, 1]))
>>> x, y = ds[1]; x.tolist(), y.item()
([2.0, 3.0], 1)
>>> train, test = random_split(ds, [0.8, 0.2], generator=tc.Generator().manual_seed(0))
>>> len(train), len(test)
(4, 1)
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Sequence

from ...creation import Generator, randperm
from ...tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension.

    >>> import tensorcore as tc
    >>> ds = TensorDataset(tc.zeros(3, 2), tc.ones(3))
    >>> len(ds), [t.shape for t in ds[0]]
    (3, [(2,), ()])
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset takes tensors; argument {i} is a "
                                f"{type(t).__name__}")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-dimensional (no samples)")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other.

    >>> import tensorcore as tc
    >>> both = TensorDataset(tc.zeros(2)) + TensorDataset(tc.ones(3))
    >>> len(both), both[-1][0].item(), both.cumulative_sizes
    (5, 1.0, [2, 5])
    """

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"absolute value of index {idx} should not exceed dataset "
                                 f"length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"index {idx} is out of range for a dataset of length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        offset = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - offset]


def _lengths_from_fractions(fractions: Sequence[float], n: int) -> list[int]:
    """PyTorch's rule: floor each share, then hand the remainder out round-robin."""
    lengths = []
    for i, frac in enumerate(fractions):
        if frac < 0 or frac > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        lengths.append(int(math.floor(n * frac)))
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty "
                          f"dataset.", stacklevel=3)
    return lengths


def random_split(dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are sizes that sum to ``len(dataset)``, or fractions that sum to 1 (the
    floor of each share, with the remainder handed out one by one from the first split,
    as PyTorch 2.x). The permutation comes from ``generator``, or from the global seed
    (``tensorcore.manual_seed``).
    """
    n = len(dataset)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        lengths = _lengths_from_fractions(lengths, n)
    elif any(int(length) != length or length < 0 for length in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1, got {list(lengths)}")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the length of "
                         f"the input dataset ({n})!")
    indices = randperm(n, device="cpu", generator=generator).tolist()
    return [Subset(dataset, indices[end - int(length):end])
            for end, length in zip(itertools.accumulate(int(x) for x in lengths), lengths)]
