"""``DataLoader``: batches of a dataset, in order or shuffled, as ``torch.utils.data``'s.

Iterating a loader runs one epoch; it can be iterated again (a new order each time when
``shuffle=True``). For a ``TensorDataset`` (or a ``Subset`` of one) with the default collate,
a batch is cut from the tensors with one indexing call per tensor instead of stacking
samples one by one: the training hot loop.

Unlike PyTorch, which fails only when the first batch is drawn, building a loader on an
empty dataset raises a ``ValueError`` at once.

>>> import tensorcore as tc
>>> from tensorcore.utils.data import DataLoader, TensorDataset
>>> ds = TensorDataset(tc.arange(10.0), tc.arange(10))
>>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=tc.Generator().manual_seed(0))
>>> len(loader), [x.shape[0] for x, y in loader]
(3, [4, 4, 2])
>>> sorted(int(v) for _, y in loader for v in y.tolist()) == list(range(10))
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ...creation import Generator
from ...tensor import Tensor
from ._indexing import index_array, take
from .collate import default_collate
from .dataset import Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, check_batch_size

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate ``dataset`` in batches of ``batch_size`` samples.

    ``shuffle=True`` draws a new order every epoch from ``generator`` (a
    ``tensorcore.Generator``) or from the global seed (``tensorcore.manual_seed``);
    ``sampler`` gives the order yourself (then ``shuffle`` must stay False);
    ``drop_last`` drops a last, incomplete batch; ``batch_sampler`` gives whole batches of
    indices (instead of the four options before); ``collate_fn`` turns a list of samples
    into a batch (``default_collate``). ``batch_size=None`` yields single samples as they
    are, without collating. Batches are made in the calling process: ``num_workers`` is
    accepted for PyTorch code but starts no workers, and ``pin_memory`` does nothing.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = False,
                 sampler: Sampler | None = None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, generator: Generator | None = None) -> None:
        if batch_size is not None:
            check_batch_size(batch_size)
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty (length 0); PyTorch would fail "
                             "only when iterating, tensorcore checks when the loader is built")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:  # PyTorch's order: batch_size=None still honours shuffle
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.generator = generator
        self.collate_fn = default_collate if collate_fn is None else collate_fn

    def __len__(self) -> int:
        if self.batch_sampler is None:
            return len(self.sampler)
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator:
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.dataset[index]
            return
        source = _tensor_source(self.dataset) if self.collate_fn is default_collate else None
        batches = (self.batch_sampler.index_batches()
                   if hasattr(self.batch_sampler, "index_batches")
                   else (np.asarray(b, dtype=np.int64) for b in self.batch_sampler))
        for batch in batches:
            if source is not None:
                tensors, base_index = source
                rows = batch if base_index is None else base_index[batch]
                yield [take(t, rows) for t in tensors]
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in batch])


def _tensor_source(dataset) -> tuple[tuple[Tensor, ...], np.ndarray | None] | None:
    """The tensors behind a TensorDataset, possibly under Subsets, and the index map."""
    index = None
    while isinstance(dataset, Subset):
        sub = index_array(dataset.indices)
        index = sub if index is None else sub[index]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    return dataset.tensors, index

