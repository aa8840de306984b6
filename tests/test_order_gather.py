"""``sort`` / ``argsort`` / ``topk`` / ``kthvalue`` / ``median`` / ``cumsum`` / ``cumprod``
and ``gather`` / ``scatter`` / ``scatter_add`` (and in place) / ``index_select`` /
``masked_select`` / ``take`` / ``take_along_dim``: values against NumPy, gradients against
finite differences in float64 (twice), PyTorch's gradients at zeros and ties, and PyTorch's
errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
NAN = float("nan")


def leaf(array, device, grad=True):
    return tc.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=grad)


def ints(array, device, dtype=tc.int64):
    return tc.tensor(np.asarray(array), dtype=dtype, device=device)


# -- sorting ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_indices_and_gradients(device, dim, descending):
    x = RNG.normal(size=(3, 4))
    values, indices = tc.sort(leaf(x, device, False), dim, descending)
    order = np.argsort(-x if descending else x, axis=dim, kind="stable")
    np.testing.assert_array_equal(to_numpy(indices), order)
    np.testing.assert_array_equal(to_numpy(values), np.take_along_axis(x, order, dim))
    assert indices.dtype == tc.int64
    assert gradcheck(lambda t: tc.sort(t, dim, descending).values, (leaf(x, device),))
    assert gradgradcheck(lambda t: tc.sort(t, dim, descending)[0] ** 2, (leaf(x, device),))


def test_sort_is_stable_with_nan_largest(device):
    x = leaf([3.0, 1.0, 3.0, NAN, 1.0, 0.0], device, False)
    up, down = x.sort(), x.sort(descending=True)
    assert up.indices.tolist() == [5, 1, 4, 0, 2, 3]
    assert down.indices.tolist() == [3, 0, 2, 1, 4, 5]  # PyTorch's values and order
    assert np.isnan(to_numpy(down.values)[0]) and to_numpy(up.values)[:5].tolist() == [
        0.0, 1.0, 1.0, 3.0, 3.0]
    assert tc.argsort(x, stable=True, descending=True).tolist() == [3, 0, 2, 1, 4, 5]
    assert ints([True, False, True], device, tc.bool).sort().indices.tolist() == [1, 0, 2]


def test_sort_gradient_goes_to_each_element_once(device):
    x = leaf([2.0, 2.0, 1.0], device)
    (tc.sort(x).values * leaf([1.0, 10.0, 100.0], device, False)).sum().backward()
    assert x.grad.tolist() == [10.0, 100.0, 1.0]


def test_sort_result_and_argument_forms(device):
    x = leaf([[2.0, 1.0]], device, False)
    out = tc.sort(x, dim=1)
    assert type(out).__name__ == "sort" and out.values is out[0] and out.indices is out[1]
    assert tc.sort(leaf(3.0, device, False)).indices.shape == ()
    with pytest.raises(TypeError, match="keyword-only"):
        tc.sort(x, 1, stable=True)  # as PyTorch: with stable, dim is keyword-only
    assert tc.sort(x, stable=True, dim=0).indices.tolist() == [[0, 0]]
    with pytest.raises(TypeError, match="descending"):
        x.argsort(descending=1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sort(2)


def test_topk_values_indices_and_gradients(device):
    x = RNG.permutation(12).reshape(3, 4) * 0.5
    values, indices = tc.topk(leaf(x, device, False), 2, dim=1)
    order = np.argsort(-x, axis=1)[:, :2]
    np.testing.assert_array_equal(to_numpy(indices), order)
    np.testing.assert_array_equal(to_numpy(values), np.take_along_axis(x, order, 1))
    small = leaf(x, device, False).topk(3, 0, largest=False)
    np.testing.assert_array_equal(to_numpy(small.values), np.sort(x, axis=0))
    assert gradcheck(lambda t: tc.topk(t, 2).values, (leaf(x, device),))
    assert gradgradcheck(lambda t: tc.topk(t, 2, 0)[0] ** 2, (leaf(x, device),))
    assert tc.topk(leaf([1.0, NAN, 2.0], device, False), 1).indices.tolist() == [1]


def test_topk_errors(device):
    x = leaf([1.0, 2.0], device, False)
    for k in (-1, 3):
        with pytest.raises(RuntimeError, match="selected index k out of range"):
            x.topk(k)
    with pytest.raises(RuntimeError, match="bool"):
        ints([True, False], device, tc.bool).topk(1)


def test_kthvalue_and_median(device):
    x = RNG.permutation(15).reshape(3, 5).astype(np.float64)
    t = leaf(x, device, False)
    kv = tc.kthvalue(t, 2, 1, keepdim=True)
    np.testing.assert_array_equal(to_numpy(kv.values), np.sort(x, 1)[:, 1:2])
    np.testing.assert_array_equal(to_numpy(kv.indices), np.argsort(x, 1)[:, 1:2])
    med = t.median(0)
    np.testing.assert_array_equal(to_numpy(med.values), np.sort(x, 0)[1])
    assert t.median().item() == 7.0
    assert leaf([4.0, 1.0, 3.0, 2.0], device, False).median().item() == 2.0  # the lower one
    assert np.isnan(leaf([1.0, NAN, 2.0], device, False).median().item())
    m = leaf([[2.0, NAN, 1.0, NAN], [3.0, 1.0, 2.0, 0.0]], device, False).median(1)
    assert m.indices.tolist() == [1, 1] and np.isnan(m.values.tolist()[0])  # the first NaN
    assert gradcheck(lambda s: tc.kthvalue(s, 3, 0).values, (leaf(x, device),))
    assert gradgradcheck(lambda s: s.median(1).values ** 2, (leaf(x, device),))
    with pytest.raises(RuntimeError, match="k out of range for dimension 1"):
        t.kthvalue(6)
    with pytest.raises(IndexError, match="non-zero size"):
        leaf(np.ones((2, 0)), device, False).median(1)


def test_median_of_all_shares_the_gradient_among_ties(device):
    x = leaf([1.0, 2.0, 2.0, 3.0, 2.0], device)
    x.median().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0.0, 1 / 3, 1 / 3, 0.0, 1 / 3])
    assert gradcheck(lambda t: t.median(), (leaf(RNG.normal(size=(2, 3)), device),))


# -- running totals --------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_and_cumprod_values_and_gradients(device, dim):
    x = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(to_numpy(tc.cumsum(leaf(x, device, False), dim)),
                               np.cumsum(x, dim))
    np.testing.assert_allclose(to_numpy(leaf(x, device, False).cumprod(dim)), np.cumprod(x, dim))
    for fn in (lambda t: tc.cumsum(t, dim), lambda t: t.cumprod(dim)):
        assert gradcheck(fn, (leaf(x, device),))
        assert gradgradcheck(fn, (leaf(x, device),))


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, 0.5], [0.0, 1.5, 0.0, 2.0],
                                    [1.5, -2.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]])
def test_cumprod_gradient_with_zeros(device, values):
    """PyTorch's formula at zeros: exact (finite differences), twice."""
    x = np.array([values, values[::-1]])
    assert gradcheck(lambda t: t.cumprod(1), (leaf(x, device),))
    assert gradgradcheck(lambda t: t.cumprod(1), (leaf(x, device),))
    t = leaf([2.0, 0.0, 3.0], device)
    t.cumprod(0).sum().backward()  # d/dx of x0 + x0 x1 + x0 x1 x2
    assert t.grad.tolist() == [1.0, 2.0 + 6.0, 0.0]


def test_cumsum_dtypes_and_errors(device):
    b = ints([True, False, True], device, tc.bool)
    assert b.cumsum(0).dtype == tc.int64 and b.cumsum(0).tolist() == [1, 1, 2]
    assert ints([1, 2], device, tc.int32).cumprod(0).dtype == tc.int64
    assert ints([1, 2], device, tc.int32).cumsum(0, dtype=tc.int32).dtype == tc.int32
    assert ints([1, 2], device).cumsum(0, dtype=tc.float32).dtype == tc.float32
    with pytest.raises(TypeError, match="'dim' must be int, not NoneType"):
        tc.cumsum(b, None)
    with pytest.raises(RuntimeError, match="Bool"):
        tc.cumsum(ints([1], device), 0, dtype=tc.bool)


# -- gather / scatter ------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1])
def test_gather_values_and_gradients(device, dim):
    x = RNG.normal(size=(3, 4))
    idx = RNG.integers(0, x.shape[dim], size=(2, 3))
    out = tc.gather(leaf(x, device, False), dim, ints(idx, device))
    full = np.take_along_axis(x[:, :3] if dim == 0 else x[:2], idx, dim)  # index smaller
    np.testing.assert_array_equal(to_numpy(out), full)
    assert gradcheck(lambda t: t.gather(dim, ints(idx, device)), (leaf(x, device),))
    assert gradgradcheck(lambda t: t.gather(dim, ints(idx, device)) ** 2, (leaf(x, device),))


def test_gather_accumulates_repeated_indices_in_its_gradient(device):
    x = leaf([1.0, 2.0, 3.0], device)
    x.gather(0, ints([0, 0, 2], device)).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 1.0]


def test_gather_errors(device):
    x = leaf(np.ones((2, 3)), device, False)
    with pytest.raises(RuntimeError, match="int32/int64 for index"):
        x.gather(0, leaf([[0.0]], device, False))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(0, ints([0], device))
    with pytest.raises(RuntimeError, match="to be no larger than self"):
        x.gather(0, ints([[0, 0, 0, 0]], device))
    with pytest.raises(RuntimeError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x.gather(0, ints([[2]], device))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        x.gather(1, ints([[-1]], device))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.gather(2, ints([[0]], device))


def test_scatter_and_scatter_add(device):
    idx = ints([[0, 1, 0], [2, 0, 1]], device)
    src = RNG.normal(size=(2, 3))
    out = tc.scatter(leaf(np.zeros((3, 3)), device, False), 0, idx, leaf(src, device, False))
    expect = np.zeros((3, 3))
    for i in range(2):
        for j in range(3):
            expect[idx.tolist()[i][j], j] = src[i, j]
    np.testing.assert_array_equal(to_numpy(out), expect)
    added = tc.zeros(3, device=device).scatter_add(0, ints([0, 0, 2], device),
                                                   tc.ones(3, device=device))
    assert added.tolist() == [2.0, 0.0, 1.0]
    filled = tc.zeros(2, 2, device=device).scatter(1, ints([[1], [0]], device), value=5.0)
    assert filled.tolist() == [[0.0, 5.0], [5.0, 0.0]]
    assert tc.zeros(2, device=device).scatter(0, ints([1], device), 2.5).tolist() == [0.0, 2.5]


def test_scatter_gradients(device):
    base = RNG.normal(size=(3, 3))
    idx = ints([[0, 1, 2], [2, 0, 1]], device)  # a permutation per column: no overwrite
    src = RNG.normal(size=(2, 3))
    for fn in (tc.scatter, tc.scatter_add):
        assert gradcheck(lambda a, s, fn=fn: fn(a, 0, idx, s),
                         (leaf(base, device), leaf(src, device)))
        assert gradgradcheck(lambda a, s, fn=fn: fn(a, 0, idx, s) ** 2,
                             (leaf(base, device), leaf(src, device)))
    a = leaf(base, device)
    tc.scatter(a, 0, idx, 1.0).sum().backward()  # no gradient where it was overwritten
    np.testing.assert_array_equal(to_numpy(a.grad), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_scatter_of_a_larger_src_reads_its_corner(device):
    s = leaf(np.arange(1.0, 7.0).reshape(2, 3), device)
    out = tc.zeros(2, 2, dtype=tc.float64, device=device).scatter_add(
        1, ints([[1, 1]], device), s)
    assert out.tolist() == [[0.0, 3.0], [0.0, 0.0]]
    out.sum().backward()  # the gradient of src: zeros past the index's shape
    assert s.grad.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


def test_scatter_errors(device):
    x = leaf(np.zeros((2, 3)), device, False)
    with pytest.raises(RuntimeError, match="self.dtype to be equal to src.dtype"):
        x.scatter(0, ints([[0]], device), ints([[1]], device))
    with pytest.raises(RuntimeError, match="int32/int64 for index"):
        x.scatter_add(0, leaf([[0.0]], device, False), x)
    with pytest.raises(RuntimeError, match="no larger size than src"):
        x.scatter(0, ints([[0, 1]], device), leaf([[1.0]], device, False))
    with pytest.raises(RuntimeError, match="index 2 is out of bounds for dimension 0"):
        x.scatter(0, ints([[2]], device), 1.0)
    with pytest.raises(RuntimeError, match="without overflow"):
        ints([1, 2], device, tc.int32).scatter(0, ints([0], device), 2**40)
    with pytest.raises(TypeError, match="'src' or 'value'"):
        x.scatter(0, ints([[0]], device))


def test_scatter_in_place(device):
    x = tc.zeros(3, dtype=tc.float64, device=device)
    version = x._version
    assert x.scatter_(0, ints([2], device), 7.0) is x and x.tolist() == [0.0, 0.0, 7.0]
    x.scatter_add_(0, ints([2, 0], device), tc.ones(2, dtype=tc.float64, device=device))
    assert x.tolist() == [1.0, 0.0, 8.0] and x._version == version + 2
    a = leaf([1.0, 2.0, 3.0], device)
    s = leaf([5.0], device)
    y = a * 1.0
    y.scatter_(0, ints([1], device), s)
    (y * leaf([1.0, 2.0, 3.0], device, False)).sum().backward()
    assert a.grad.tolist() == [1.0, 0.0, 3.0] and s.grad.tolist() == [2.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf([1.0], device).scatter_add_(0, ints([0], device), leaf([1.0], device, False))


def test_index_select(device):
    x = RNG.normal(size=(3, 4))
    for dim, idx in ((0, [2, 0, 2]), (1, [3, 1])):
        for dtype in (tc.int64, tc.int32):
            out = tc.index_select(leaf(x, device, False), dim, ints(idx, device, dtype))
            np.testing.assert_array_equal(to_numpy(out), np.take(x, idx, dim))
        index = ints(idx, device)
        assert gradcheck(lambda t, d=dim, i=index: t.index_select(d, i), (leaf(x, device),))
        assert gradgradcheck(lambda t, d=dim, i=index: t.index_select(d, i) ** 2,
                             (leaf(x, device),))
    t = leaf(x, device, False)
    with pytest.raises(IndexError, match="index out of range in self"):
        t.index_select(0, ints([3], device))
    with pytest.raises(RuntimeError, match="out of DATA bounds"):  # PyTorch's dim-1 kernel
        t.index_select(1, ints([-1], device))
    with pytest.raises(IndexError, match="supposed to be a vector"):
        t.index_select(0, ints([[0]], device))
    with pytest.raises(RuntimeError, match="int32 or int64"):
        t.index_select(0, leaf([0.0], device, False))
    assert leaf(2.0, device, False).index_select(0, ints([0], device)).shape == ()


def test_masked_select(device):
    x = RNG.normal(size=(2, 3))
    mask = np.array([True, False, True])
    out = tc.masked_select(leaf(x, device, False), tc.tensor(mask, device=device))
    np.testing.assert_array_equal(to_numpy(out), x[:, mask].reshape(-1))
    t = leaf(x[0], device)
    tc.masked_select(t, tc.tensor(np.array([[True], [False], [True]]), device=device)).sum() \
        .backward()  # the input broadcast: its gradient sums the copies
    assert t.grad.tolist() == [2.0, 2.0, 2.0]
    assert gradgradcheck(lambda s: s.masked_select(tc.tensor(mask, device=device)) ** 2,
                         (leaf(x, device),))
    with pytest.raises(RuntimeError, match="expected BoolTensor for mask"):
        t.masked_select(ints([1, 0, 1], device))


def test_take_and_take_along_dim(device):
    x = RNG.normal(size=(3, 4))
    idx = np.array([[0, -1], [5, 11]])
    np.testing.assert_array_equal(to_numpy(tc.take(leaf(x, device, False), ints(idx, device))),
                                  np.take(x, idx))
    assert gradcheck(lambda t: t.take(ints(idx, device)), (leaf(x, device),))
    with pytest.raises(IndexError, match="out of range: tried to access index 12"):
        leaf(x, device, False).take(ints([12], device))
    with pytest.raises(RuntimeError, match="Expected a long tensor"):
        leaf(x, device, False).take(ints([0], device, tc.int32))
    ind = np.argsort(x, axis=1)[:, :1]
    np.testing.assert_array_equal(
        to_numpy(tc.take_along_dim(leaf(x, device, False), ints(ind, device), dim=1)),
        np.take_along_axis(x, ind, 1))
    row = ints([[0, 2]], device)  # broadcast against x's rows
    np.testing.assert_array_equal(to_numpy(leaf(x, device, False).take_along_dim(row, 1)),
                                  x[:, [0, 2]])
    assert gradgradcheck(lambda t: t.take_along_dim(row, 1) ** 2, (leaf(x, device),))
    flat = tc.take_along_dim(leaf(x, device, False), ints([0, 11], device))
    assert to_numpy(flat).tolist() == [x[0, 0], x[2, 3]]
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        tc.take_along_dim(leaf(x, device, False), ints([0], device), 0)


def test_ops_in_a_compiled_step_match_eager():
    idx = tc.tensor([[1, 0, 2]])

    def step(x):
        v, i = x.sort(1, descending=True)
        return (v[:, :2].sum() + x.topk(2).values.sum() + x.cumsum(0).sum()
                + x.cumprod(1).sum() + x.gather(0, idx).sum()
                + tc.zeros(3, 3, dtype=x.dtype).scatter_add(0, idx, x[:1]).sum()
                + x.index_select(1, tc.tensor([0, 2])).sum() + i.sum())

    compiled = tc.compile(step)
    for seed in range(3):
        x = tc.tensor(np.random.default_rng(seed).normal(size=(3, 4)))
        assert compiled(x).item() == step(x).item()


def test_masked_select_in_a_compiled_step_runs_eagerly():
    """Its length is the mask's count: replaying a traced length would be wrong (the square
    of 2 elements where 1 is selected), so the step runs eagerly, with eager's values."""
    def step(x):
        m = x.masked_select(x > 0)
        return (m * m).sum()

    compiled = tc.compile(step)
    with pytest.warns(tc.compiler.CompileWarning, match="masked_select"):
        assert compiled(tc.tensor([1.0, -2.0, 3.0])).item() == 10.0
    for values, want in (([-1.0, -2.0, 3.0], 9.0), ([5.0, -1.0, -1.0], 25.0)):
        assert compiled(tc.tensor(values)).item() == want


def test_gradients_in_a_compiled_step_match_eager():
    """A training step through sort, topk, cumprod (with zeros), gather and scatter_add:
    compiled, its replays give eager's gradients."""
    idx = tc.tensor([[1, 0, 2, 0]])

    def run(compiled):
        w = tc.tensor(np.random.default_rng(1).normal(size=(3, 4)), requires_grad=True)

        def step(x):
            h = x * w
            loss = (h.sort(1).values[:, -1].sum() + h.topk(2, 0).values.sum()
                    + h.relu().cumprod(1).sum() + h.gather(0, idx).sum()
                    + tc.zeros(3, 4, dtype=h.dtype).scatter_add(0, idx, h[:1]).pow(2).sum())
            loss.backward()
            g = w.grad.clone()
            w.grad = None
            return g

        fn = tc.compile(step) if compiled else step
        return [fn(tc.tensor(np.random.default_rng(s).normal(size=(3, 4)))).numpy()
                for s in range(4)], fn

    eager, _ = run(False)
    grads, fn = run(True)
    for a, b in zip(grads, eager):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert fn.stats["replays"] >= 2


def test_edges_as_pytorch(device):
    """float32 running totals accumulate in float64; an empty gather index gives an empty
    result of its shape unchecked; take_along_dim counts a negative index from the end."""
    x = tc.tensor(np.array([1e-30, 1e-30, np.inf], np.float32), device=device)
    assert x.cumprod(0).tolist()[2] == np.inf  # not 0 * inf = nan
    big = tc.tensor(np.array([2.0**24, 1.0, 1.0], np.float32), device=device)
    assert big.cumsum(0).tolist() == [2.0**24, 2.0**24, 2.0**24 + 2]  # float32: 2**24 last
    out = tc.gather(tc.ones(0, 3, 1, device=device), -1, ints(np.zeros((2, 0)), device))
    assert out.shape == (2, 0)
    row = leaf([[1.5, 3.0, 2.5]], device, False)
    assert tc.take_along_dim(row, ints([[-1, -3]], device), 1).tolist() == [[2.5, 1.5]]
    with pytest.raises(IndexError, match="no dimensions"):
        tc.take_along_dim(leaf(1.0, device, False), ints(0, device), 0)


def test_numpy_names_as_pytorch_takes_them(device):
    x = leaf([[2.0, 1.0], [0.0, 3.0]], device, False)
    i = ints([[0, 1]], device)
    assert tc.sort(x, axis=0).indices.tolist() == [[1, 0], [0, 1]]
    assert x.argsort(axis=0, stable=True).tolist() == [[1, 0], [0, 1]]
    assert x.cumsum(axis=0).tolist() == [[2.0, 1.0], [2.0, 4.0]]
    assert x.median(axis=0, keepdims=True).values.shape == (1, 2)
    assert tc.gather(x, axis=0, index=i).tolist() == [[2.0, 3.0]]
    assert x.scatter_add(axis=0, index=i, src=x).tolist() == [[4.0, 1.0], [0.0, 4.0]]
    assert x.index_select(axis=1, index=ints([1], device)).tolist() == [[1.0], [3.0]]
    with pytest.raises(TypeError, match="both 'dim' and its alias 'axis'"):
        x.cumsum(dim=0, axis=0)
