"""nonzero / argwhere, unique and diff: values against NumPy, gradients, errors, compile."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck


def test_nonzero_and_argwhere(device):
    a = np.array([[0, 1.5, 0], [2, 0, np.nan]])
    x = tc.tensor(a, device=device)
    expected = np.argwhere(a)
    for got in (x.nonzero(), tc.nonzero(x), tc.argwhere(x), x.argwhere()):
        assert got.dtype == tc.int64
        np.testing.assert_array_equal(got.cpu().numpy(), expected)
    rows, cols = x.nonzero(as_tuple=True)
    np.testing.assert_array_equal(rows.cpu().numpy(), np.nonzero(a)[0])
    np.testing.assert_array_equal(cols.cpu().numpy(), np.nonzero(a)[1])
    assert tc.nonzero(tc.tensor(3, device=device)).shape == (1, 0)
    assert tc.nonzero(tc.tensor(0, device=device)).shape == (0, 0)
    assert [t.tolist() for t in tc.nonzero(tc.tensor(3, device=device), as_tuple=True)] == [[0]]
    assert tc.nonzero(tc.zeros(0, 3, device=device)).shape == (0, 2)
    with pytest.raises(TypeError, match="'input'"):
        tc.nonzero([1, 0])


def test_unique(device):
    a = np.array([[3, 1, 3], [2, 1, 5]])
    x = tc.tensor(a, device=device)
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(tc.unique(x).cpu().numpy(), values)
    v, i, c = x.unique(return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(v.cpu().numpy(), values)
    np.testing.assert_array_equal(i.cpu().numpy(), inverse.reshape(a.shape))
    np.testing.assert_array_equal(c.cpu().numpy(), counts)
    rows = np.array([[1, 2], [0, 5], [1, 2]])
    v, i, c = tc.unique(tc.tensor(rows, device=device), dim=0, return_inverse=True,
                        return_counts=True)
    assert v.tolist() == [[0, 5], [1, 2]] and i.tolist() == [1, 0, 1] and c.tolist() == [1, 2]
    v = tc.unique(tc.tensor(rows, device=device), dim=1)
    assert v.tolist() == [[1, 2], [0, 5], [1, 2]]
    nans = tc.unique(tc.tensor([np.nan, 1.0, np.nan], device=device))
    assert nans.shape == (3,)  # NaNs are distinct, as in PyTorch
    with pytest.raises(RuntimeError, match="aren't selected"):
        tc.unique(tc.zeros(2, 0, device=device), dim=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tc.unique(x, dim=2)


def test_diff_values_and_gradients(device):
    a = np.random.default_rng(0).normal(size=(3, 5))
    x = tc.tensor(a, device=device, requires_grad=True)
    for n in (0, 1, 2, 7):
        for dim in (0, 1, -1):
            np.testing.assert_allclose(tc.diff(x, n, dim).detach().cpu().numpy(),
                                       np.diff(a, n, axis=dim))
    p, q = np.ones((3, 1)), np.zeros((3, 2))
    got = x.diff(prepend=tc.tensor(p, device=device), append=tc.tensor(q, device=device))
    np.testing.assert_allclose(got.detach().cpu().numpy(), np.diff(a, prepend=p, append=q))
    b = tc.tensor([True, False, False, True], device=device)
    assert tc.diff(b).tolist() == [True, False, True]
    small = tc.tensor(a[:2, :4], device=device, requires_grad=True)
    pre = tc.tensor(np.ones((2, 1)), device=device, requires_grad=True)
    assert gradcheck(lambda t, u: tc.diff(t, 2, prepend=u), (small, pre))
    assert gradgradcheck(lambda t: tc.diff(t, 1, 0), (small,))
    with pytest.raises(RuntimeError, match="at least one-dimensional"):
        tc.diff(tc.tensor(1.0, device=device))
    with pytest.raises(RuntimeError, match="order must be non-negative"):
        tc.diff(x, -1)
    with pytest.raises(RuntimeError, match="same dimension"):
        tc.diff(x, prepend=tc.ones(3, device=device))


def test_search_ops_in_a_compiled_step_run_eagerly_and_match():
    """Their results' lengths depend on the values: a compiled step using them runs eagerly
    (one CompileWarning) and gives eager's values, here with elementwise work after them on
    inputs whose counts differ from call to call."""
    def step(x):
        picked = x.nonzero().sum() + tc.argwhere(x > 0).sum()
        runs = tc.unique_consecutive(x).sum() + tc.searchsorted(tc.unique(x), x).sum()
        u = tc.unique(x)
        return picked + runs + (u * u).sum() + tc.diff(x, 2).sum()

    compiled = tc.compile(step)
    with pytest.warns(tc.compiler.CompileWarning, match="runs eagerly"):
        compiled(tc.tensor([1.0, 2.0, 2.0, 0.0, -1.0, 3.0]))
    for seed in range(4):
        x = tc.tensor(np.random.default_rng(seed).integers(-2, 3, size=(6,)).astype(float))
        assert compiled(x).item() == step(x).item()
    assert compiled.stats["replays"] == 0


def test_searchsorted_and_bucketize(device):
    seq = np.array([1.0, 2.0, 2.0, 3.0])
    x = tc.tensor(seq, device=device)
    v = np.array([[0.0, 2.0], [2.5, 9.0]])
    for side in ("left", "right"):
        got = tc.searchsorted(x, tc.tensor(v, device=device), side=side)
        assert got.dtype == tc.int64
        np.testing.assert_array_equal(got.cpu().numpy(), np.searchsorted(seq, v, side))
    assert tc.searchsorted(x, 2, right=True).tolist() == 3
    rows = np.sort(np.random.default_rng(0).normal(size=(3, 5)), -1)
    vals = np.random.default_rng(1).normal(size=(3, 2))
    got = tc.searchsorted(tc.tensor(rows, device=device), tc.tensor(vals, device=device),
                          out_int32=True)
    assert got.dtype == tc.int32
    np.testing.assert_array_equal(got.cpu().numpy(),
                                  [np.searchsorted(r, w) for r, w in zip(rows, vals)])
    shuffled = tc.tensor([3.0, 1.0, 2.0], device=device)
    order = tc.tensor([1, 2, 0], device=device)
    assert tc.searchsorted(shuffled, tc.tensor([2.5], device=device), sorter=order).tolist() \
        == [2]
    assert tc.bucketize(tc.tensor([0.5, 2.0], device=device), x, right=True).tolist() == [0, 3]
    with pytest.raises(RuntimeError, match="can't be set to opposites"):
        tc.searchsorted(x, x, side="left", right=True)
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        tc.searchsorted(tc.zeros(2, 3, device=device), tc.zeros(3, 2, device=device))
    with pytest.raises(RuntimeError, match="must be 1 dimension"):
        tc.bucketize(x, tc.zeros(2, 2, device=device))


def test_unique_consecutive(device):
    x = tc.tensor([1, 1, 2, 2, 3, 1, 1, 2], device=device)
    v, i, c = tc.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert v.tolist() == [1, 2, 3, 1, 2]
    assert i.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and c.tolist() == [2, 2, 1, 2, 1]
    rows = tc.tensor([[1, 2], [1, 2], [0, 1], [1, 2]], device=device)
    v, c = rows.unique_consecutive(dim=0, return_counts=True)
    assert v.tolist() == [[1, 2], [0, 1], [1, 2]] and c.tolist() == [2, 1, 1]
    nans = tc.tensor([np.nan, np.nan], device=device).unique_consecutive()
    assert nans.shape == (2,)


def test_logspace(device):
    got = tc.logspace(-1, 2, 4, device=device)
    assert got.dtype == tc.get_default_dtype()
    np.testing.assert_allclose(got.cpu().numpy(), np.logspace(-1, 2, 4), rtol=1e-6)
    assert tc.logspace(0, 3, 4, base=2, dtype=tc.float64, device=device).tolist() == \
        [1.0, 2.0, 4.0, 8.0]
    assert tc.logspace(0, 2, 3, dtype=tc.int64, device=device).tolist() == [1, 10, 100]
    assert tc.logspace(0, 1, 0, device=device).shape == (0,)
    with pytest.raises(RuntimeError, match="non-negative"):
        tc.logspace(0, 1, -1)
