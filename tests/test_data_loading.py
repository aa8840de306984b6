"""``tensorcore.utils.data`` on every backend: datasets, random_split, default_collate and the
DataLoader (epoch coverage, drop_last, reproducible shuffles, the TensorDataset fast path
against per-sample collation), with PyTorch's results where PyTorch defines them, and the
bad-input errors."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    random_split,
)


def _dataset(device, n=10):
    x = tc.arange(n * 2, dtype=tc.float32, device=device).reshape(n, 2)
    y = tc.arange(n, device=device)
    return TensorDataset(x, y)


class Squares(Dataset):
    """A plain map-style dataset (no tensors inside): sample i is (i, i*i)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i, float(i * i)

    def __len__(self):
        return self.n


# -- datasets ----------------------------------------------------------------------------------
def test_tensor_dataset_items(device):
    ds = _dataset(device)
    assert len(ds) == 10
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and x.device == tc.device(device)
    xs, ys = ds[tc.tensor([1, 4], device=device)]
    assert xs.shape == (2, 2) and ys.tolist() == [1, 4]


def test_tensor_dataset_size_mismatch(device):
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(tc.zeros(3, device=device), tc.zeros(4, device=device))
    with pytest.raises(TypeError, match="argument 1"):
        TensorDataset(tc.zeros(3, device=device), [1, 2, 3])


def test_subset_and_concat(device):
    ds = _dataset(device)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1].item() == 7 and sub[-1][1].item() == 5
    assert [int(v) for v in sub[[0, 2]][1].tolist()] == [7, 5]
    both = ConcatDataset([sub, Squares(4)])
    assert len(both) == 7 and both.cumulative_sizes == [3, 7]
    assert both[3] == (0, 0.0) and both[6] == (3, 9.0) and both[-7][1].item() == 7
    with pytest.raises(IndexError, match="out of range"):
        both[7]
    with pytest.raises(ValueError, match="should not exceed"):
        both[-8]
    assert len(sub + Squares(2)) == 5
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


@pytest.mark.parametrize("fractions", [[0.8, 0.2], [0.5, 0.3, 0.2], [1 / 3] * 3, [0.7, 0.3, 0.0]])
@pytest.mark.parametrize("n", [10, 11, 7])
def test_random_split_fraction_sizes_as_pytorch(fractions, n):
    # PyTorch's documented rule: floor(n * fraction) each, then the remainder one by one to
    # the splits in order (round robin)
    theirs = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(theirs)):
        theirs[i % len(theirs)] += 1
    if 0.0 in fractions:
        with pytest.warns(UserWarning, match="Length of split at index 2 is 0"):
            ours = random_split(Squares(n), fractions)
    else:
        ours = random_split(Squares(n), fractions)
    assert [len(s) for s in ours] == theirs


def test_random_split_disjoint_cover_and_reproducible(device):
    ds = _dataset(device, 20)
    parts = random_split(ds, [12, 5, 3], generator=tc.Generator().manual_seed(4))
    assert [len(p) for p in parts] == [12, 5, 3]
    seen = sorted(i for p in parts for i in p.indices)
    assert seen == list(range(20))
    again = random_split(ds, [12, 5, 3], generator=tc.Generator().manual_seed(4))
    assert [p.indices for p in parts] == [p.indices for p in again]
    tc.manual_seed(1)
    a = random_split(ds, [0.5, 0.5])
    tc.manual_seed(1)
    b = random_split(ds, [0.5, 0.5])
    assert a[0].indices == b[0].indices and a[0].indices != sorted(a[0].indices)


def test_random_split_errors():
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(Squares(5), [2, 2])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(Squares(5), [1.5, -0.5])
    with pytest.raises(ValueError, match="non-negative integers"):
        random_split(Squares(5), [2.5, 2.5])


# -- collate -----------------------------------------------------------------------------------
def test_default_collate_nested(device):
    Point = namedtuple("Point", "x y")
    samples = [{"img": tc.full((2,), float(i), device=device), "meta": (i, 0.5 * i, f"s{i}"),
                "arr": np.array([i, i + 1], dtype=np.int32), "pt": Point(i, [i, -i])}
               for i in range(3)]
    batch = default_collate(samples)
    assert set(batch) == {"img", "meta", "arr", "pt"}
    assert batch["img"].shape == (3, 2) and batch["img"].device == tc.device(device)
    assert batch["img"][:, 0].tolist() == [0.0, 1.0, 2.0]
    ints, floats, names = batch["meta"]            # a tuple of fields becomes a list
    assert isinstance(batch["meta"], list)
    assert ints.dtype == tc.int64 and ints.tolist() == [0, 1, 2]
    assert floats.dtype == tc.float64 and floats.tolist() == [0.0, 0.5, 1.0]
    assert names == ["s0", "s1", "s2"]
    assert batch["arr"].dtype == tc.int32 and batch["arr"].tolist() == [[0, 1], [1, 2], [2, 3]]
    assert isinstance(batch["pt"], Point) and batch["pt"].x.tolist() == [0, 1, 2]
    assert [t.tolist() for t in batch["pt"].y] == [[0, 1, 2], [0, -1, -2]]


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="dtype"):
        default_collate([np.array(["a"]), np.array(["b"])])


# -- DataLoader --------------------------------------------------------------------------------
@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                                    (5, 8, False), (5, 1, False)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_loader_covers_dataset_once(device, n, batch_size, drop_last, shuffle):
    loader = DataLoader(_dataset(device, n), batch_size=batch_size, shuffle=shuffle,
                        drop_last=drop_last)
    sizes, labels = [], []
    for x, y in loader:
        assert x.shape[1:] == (2,) and x.device == tc.device(device)
        assert (x[:, 0] == 2 * y.float()).all().item()     # rows stay paired with labels
        sizes.append(x.shape[0])
        labels += y.tolist()
    expected = [batch_size] * (n // batch_size)
    if n % batch_size and not drop_last:
        expected.append(n % batch_size)
    assert sizes == expected and len(loader) == len(expected)
    assert len(set(labels)) == len(labels)
    if drop_last:
        assert len(labels) == n - n % batch_size
    else:
        assert sorted(labels) == list(range(n))
    if not shuffle:
        assert labels == sorted(labels)


def test_loader_shuffle_reproducible_and_reiterable(device):
    ds = _dataset(device, 30)

    def epoch(loader):
        return [v for _, y in loader for v in y.tolist()]

    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=tc.Generator().manual_seed(7))
    first, second = epoch(loader), epoch(loader)
    assert first != second and sorted(first) == sorted(second) == list(range(30))
    again = DataLoader(ds, batch_size=4, shuffle=True, generator=tc.Generator().manual_seed(7))
    assert epoch(again) == first
    tc.manual_seed(3)
    a = epoch(DataLoader(ds, batch_size=5, shuffle=True))
    tc.manual_seed(3)
    assert epoch(DataLoader(ds, batch_size=5, shuffle=True)) == a != list(range(30))


def test_fast_path_matches_per_sample_collate(device):
    ds = _dataset(device, 13)
    sub = random_split(ds, [9, 4], generator=tc.Generator().manual_seed(0))[0]
    for data in (ds, sub):
        kwargs = dict(batch_size=4, shuffle=True)
        fast = DataLoader(data, generator=tc.Generator().manual_seed(2), **kwargs)
        slow = DataLoader(data, generator=tc.Generator().manual_seed(2),
                          collate_fn=lambda s: default_collate(s), **kwargs)
        for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
            assert fx.tolist() == sx.tolist() and fy.tolist() == sy.tolist()
            assert fx.dtype == sx.dtype and fy.dtype == sy.dtype


def test_fast_path_through_nested_subsets(device):
    ds = _dataset(device, 10)
    outer = Subset(Subset(ds, [9, 8, 7, 6, 5, 4]), [5, 0, 2])    # -> rows 4, 9, 7
    (x, y), = DataLoader(outer, batch_size=3)
    assert y.tolist() == [4, 9, 7] and x[:, 0].tolist() == [8.0, 18.0, 14.0]


def test_index_tensors_on_the_device(device):
    # Subset and SubsetRandomSampler take their indices as a Tensor too (as PyTorch's)
    ds = _dataset(device, 6)
    idx = tc.tensor([4, 1, 3], device=device)
    assert [y.tolist() for _, y in DataLoader(Subset(ds, idx), batch_size=2)] == [[4, 1], [3]]
    sampler = SubsetRandomSampler(idx, generator=tc.Generator().manual_seed(0))
    seen = [v for _, y in DataLoader(ds, batch_size=2, sampler=sampler) for v in y.tolist()]
    assert sorted(seen) == [1, 3, 4]


def test_fast_path_batches_are_copies(device):
    ds = _dataset(device, 4)
    x, _ = next(iter(DataLoader(ds, batch_size=2)))
    x += 100
    assert ds.tensors[0][0, 0].item() == 0.0


def test_loader_generic_dataset_and_custom_collate():
    assert tc.utils.data.DataLoader is DataLoader          # reachable as torch.utils.data
    loader = DataLoader(Squares(5), batch_size=2)
    batches = list(loader)
    assert isinstance(batches[0], list) and batches[0][0].tolist() == [0, 1]
    assert batches[-1][1].tolist() == [16.0]
    counted = DataLoader(Squares(5), batch_size=2, collate_fn=len)
    assert list(counted) == [2, 2, 1]
    singles = DataLoader(Squares(3), batch_size=None)
    assert list(singles) == [(0, 0.0), (1, 1.0), (2, 4.0)] and len(singles) == 3
    # batch_size=None keeps shuffle (PyTorch picks the sampler first) and refuses drop_last
    shuffled = DataLoader(Squares(12), batch_size=None, shuffle=True,
                          generator=tc.Generator().manual_seed(0))
    order = [i for i, _ in shuffled]
    assert sorted(order) == list(range(12)) and order != list(range(12))
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(Squares(3), batch_size=None, drop_last=True)


def test_loader_with_sampler(device):
    order = [4, 0, 3]
    loader = DataLoader(_dataset(device, 5), batch_size=2, sampler=order)
    assert [y.tolist() for _, y in loader] == [[4, 0], [3]] and len(loader) == 2
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(_dataset(device, 5), sampler=order, shuffle=True)


def test_loader_with_batch_sampler(device):
    batches = [[3, 1], [0, 2, 4]]
    loader = DataLoader(_dataset(device, 5), batch_sampler=batches, num_workers=2)
    assert [y.tolist() for _, y in loader] == batches and len(loader) == 2
    grouped = DataLoader(_dataset(device, 5),
                         batch_sampler=BatchSampler(SequentialSampler(range(5)), 2, True))
    assert [y.tolist() for _, y in grouped] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="mutually exclusive with batch_size"):
        DataLoader(_dataset(device, 5), batch_sampler=batches, batch_size=2)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(_dataset(device, 5), num_workers=-1)


def test_kfold_with_subset_random_sampler(device):
    """PyTorch's cross-validation pattern: one dataset, a sampler per fold."""
    from tensorcore.model_selection import KFold

    ds = _dataset(device, 9)
    for train_idx, test_idx in KFold(3).split(ds.tensors[0]):
        g = tc.Generator().manual_seed(1)
        loader = DataLoader(ds, batch_size=4, sampler=SubsetRandomSampler(train_idx, g))
        seen = [v for _, y in loader for v in y.tolist()]
        assert sorted(seen) == train_idx.tolist() and len(loader) == 2
        assert not set(seen) & set(test_idx.tolist())


def test_samplers():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    g = tc.Generator().manual_seed(0)
    draws = list(RandomSampler(range(4), replacement=True, num_samples=50, generator=g))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2, 3} and len(set(draws)) == 4
    longer = list(RandomSampler(range(3), num_samples=7, generator=g))
    assert len(longer) == 7 and sorted(longer[:3]) == [0, 1, 2]
    batches = BatchSampler(iter([5, 6, 7]), batch_size=2, drop_last=True)
    assert list(batches) == [[5, 6]]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_loader_bad_batch_size(device, bad):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(_dataset(device), batch_size=bad)


def test_loader_empty_dataset_errors_early(device):
    empty = TensorDataset(tc.zeros(0, 3, device=device))
    with pytest.raises(ValueError, match="dataset is empty"):
        DataLoader(empty, batch_size=2)
