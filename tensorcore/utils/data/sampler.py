"""Samplers: the order in which a ``DataLoader`` visits a dataset (``torch.utils.data`` names).

A sampler is an iterable of dataset indices with a ``__len__``. ``SequentialSampler`` and
``RandomSampler`` also hand the whole epoch's order over as one NumPy array
(``epoch_indices``), which lets the ``DataLoader`` cut batches without a Python loop.

>>> import tensorcore as tc
>>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
[[0, 1], [2, 3], [4]]
>>> g = tc.Generator().manual_seed(0)
>>> sorted(RandomSampler(range(4), generator=g))
[0, 1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized

import numpy as np

from ...creation import Generator, randint, randperm
from ._indexing import index_array

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler"]


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def epoch_indices(self) -> np.ndarray:
        """The epoch's order as one NumPy index array."""
        return np.arange(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random order every epoch (or ``num_samples`` draws with ``replacement``).

    The numbers come from ``generator`` (a ``tensorcore.Generator``) or, without one, from
    the global seed, so ``tensorcore.manual_seed`` makes the epochs reproducible.
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        """How many indices an epoch yields."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def epoch_indices(self) -> np.ndarray:
        """A new epoch's order (or draws) as one NumPy index array."""
        n = len(self.data_source)
        if self.replacement:
            draws = randint(0, n, (self.num_samples,), device="cpu", generator=self.generator)
            return draws.numpy()
        whole, rest = divmod(self.num_samples, n)
        perms = [randperm(n, device="cpu", generator=self.generator).numpy()
                 for _ in range(whole + (rest > 0))]
        return np.concatenate(perms)[:self.num_samples]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order every epoch (for example one fold's
    training indices from a K-fold splitter).

    >>> import tensorcore as tc
    >>> sorted(SubsetRandomSampler([7, 3, 5], generator=tc.Generator().manual_seed(0)))
    [3, 5, 7]
    """

    def __init__(self, indices, generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def epoch_indices(self) -> np.ndarray:
        """The indices in a new random order, as one NumPy index array."""
        order = randperm(len(self.indices), device="cpu", generator=self.generator).numpy()
        return index_array(self.indices)[order]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        check_batch_size(batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def index_batches(self) -> Iterator[np.ndarray]:
        """The batches as NumPy index arrays (sliced from one array when the sampler can)."""
        if hasattr(self.sampler, "epoch_indices"):
            order = self.sampler.epoch_indices()
            stop = len(order) - (len(order) % self.batch_size if self.drop_last else 0)
            for start in range(0, stop, self.batch_size):
                yield order[start:start + self.batch_size]
            return
        for batch in self:
            yield np.asarray(batch, dtype=np.int64)

    def __iter__(self) -> Iterator[list[int]]:
        if hasattr(self.sampler, "epoch_indices"):
            yield from (b.tolist() for b in self.index_batches())
            return
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)


def check_batch_size(batch_size) -> None:
    """ValueError unless ``batch_size`` is a positive integer (bools excluded)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"batch_size should be a positive integer value, but got "
                         f"batch_size={batch_size!r}")
