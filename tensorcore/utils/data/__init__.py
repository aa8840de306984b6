"""Datasets, samplers and the ``DataLoader`` (``torch.utils.data``); ``split`` has the
train/test and K-fold splitters (exported by ``tensorcore.model_selection``).

>>> import tensorcore as tc
>>> from tensorcore.utils.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(tc.zeros(5, 3), tc.zeros(5)), batch_size=2)
>>> [tuple(x.shape) for x, _ in loader]
[(2, 3), (2, 3), (1, 3)]
"""

from .collate import default_collate
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "RandomSampler",
           "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
           "default_collate", "random_split"]
