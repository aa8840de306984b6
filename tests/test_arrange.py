"""``t``, ``flip`` / ``fliplr`` / ``flipud``, ``roll``, ``rot90``, ``movedim`` / ``moveaxis``,
``unbind``, ``tile``, ``repeat_interleave``, the stacks, ``meshgrid``, the sizes and the
``new_*`` methods: values against NumPy, gradients against finite differences in float64
(twice), views where PyTorch returns views (and copies elsewhere), and PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def leaf(array, device, grad=True):
    return tc.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=grad)


def check_grads(fn, *arrays, device):
    inputs = tuple(leaf(a, device) for a in arrays)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_t_and_movedim_are_views(device):
    m = RNG.normal(size=(2, 3))
    x = leaf(m, device, grad=False)
    np.testing.assert_array_equal(to_numpy(x.t()), m.T)
    np.testing.assert_array_equal(to_numpy(tc.t(leaf(m[0], device, False))), m[0])
    x.t()[2, 1] = 7.0  # writes through, as in PyTorch
    assert to_numpy(x)[1, 2] == 7.0
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        tc.zeros(2, 2, 2, device=device).t()
    a = RNG.normal(size=(2, 3, 4))
    y = leaf(a, device, grad=False)
    for src, dst in ((0, -1), ((0, 1), (2, 0)), ([2], [0])):
        np.testing.assert_array_equal(to_numpy(tc.movedim(y, src, dst)),
                                      np.moveaxis(a, src, dst))
        assert tc.moveaxis(y, src, dst).shape == np.moveaxis(a, src, dst).shape
    y.movedim(0, 2)[0, 0, 1] = -1.0
    assert to_numpy(y)[1, 0, 0] == -1.0
    check_grads(lambda t: tc.movedim(t, (0, 2), (1, 0)) * tc.arange(3.0, device=device).double(),
                a, device=device)
    with pytest.raises(RuntimeError, match="repeated dim in `source`"):
        tc.movedim(y, (0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="same number of dims"):
        tc.movedim(y, (0, 1), (1,))
    with pytest.raises(IndexError, match="Dimension out of range"):
        y.movedim(3, 0)


@pytest.mark.parametrize("dims", [(0,), (1, -1), (0, 1, 2), ()])
def test_flip_values_and_gradients(device, dims):
    a = RNG.normal(size=(2, 3, 4))
    out = tc.flip(leaf(a, device, False), dims)
    np.testing.assert_array_equal(to_numpy(out), np.flip(a, dims) if dims else a)
    check_grads(lambda t: t.flip(*dims) * tc.arange(4.0, device=device).double() if dims
                else t.flip(dims) * 2.0, a, device=device)


def test_flip_copies_and_its_checks(device):
    x = tc.arange(6, device=device).reshape(2, 3)
    y = x.flip(1)
    y[0, 0] = 100  # a new tensor: x unchanged, as in PyTorch
    assert to_numpy(x).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert to_numpy(tc.fliplr(x)).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert to_numpy(tc.flipud(x)).tolist() == [[3, 4, 5], [0, 1, 2]]
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        x.flip(1, -1)
    with pytest.raises(RuntimeError, match="Input must be >= 2-d."):
        tc.fliplr(tc.zeros(3, device=device))
    with pytest.raises(RuntimeError, match="Input must be >= 1-d."):
        tc.flipud(tc.zeros((), device=device))
    with pytest.raises(TypeError, match="missing"):
        tc.flip(x)


@pytest.mark.parametrize("shifts, dims", [(1, 0), (-2, 1), ((1, 5), (0, 1)), (7, None),
                                          ((2, 1), (1, 1)), (2**40, 1)])
def test_roll_matches_numpy(device, shifts, dims):
    a = RNG.normal(size=(3, 4))
    out = tc.roll(leaf(a, device, False), shifts, dims)
    np.testing.assert_array_equal(to_numpy(out), np.roll(a, shifts, dims))
    check_grads(lambda t: t.roll(shifts, dims) * tc.arange(4.0, device=device).double(), a,
                device=device)


def test_roll_checks(device):
    x = tc.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        tc.roll(x, (1, 2))
    with pytest.raises(RuntimeError, match="`shifts` required"):
        tc.roll(x, (), ())
    with pytest.raises(IndexError, match="no dimensions"):
        tc.roll(tc.tensor(1.0, device=device), 1, 0)
    assert tc.roll(tc.zeros(0, 3, device=device), 1, 5).shape == (0, 3)  # PyTorch's shortcut
    with pytest.raises(TypeError, match="'shifts'"):
        tc.roll(x, 1.0, 0)


@pytest.mark.parametrize("k", [0, 1, 2, 3, -1, 6])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (2, 0)])
def test_rot90_matches_numpy(device, k, dims):
    a = RNG.normal(size=(2, 3, 4))
    out = tc.rot90(leaf(a, device, False), k, dims)
    np.testing.assert_array_equal(to_numpy(out), np.rot90(a, k, dims))
    check_grads(lambda t: tc.rot90(t, k, dims).sin(), a, device=device)


def test_rot90_checks(device):
    x = tc.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match="expected total rotation dims == 2"):
        tc.rot90(x, 1, (0,))
    with pytest.raises(RuntimeError, match="expected total dims >= 2"):
        tc.rot90(tc.zeros(3, device=device))
    with pytest.raises(RuntimeError, match="expected rotation dims to be different"):
        tc.rot90(x, 1, (-2, 0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        tc.rot90(x, 1, (0, 2))
    y = tc.rot90(x)
    y[0, 0] = 1.0
    assert to_numpy(x).sum() == 0.0  # a new tensor


def test_unbind_views_and_gradient(device):
    a = RNG.normal(size=(2, 3))
    x = leaf(a, device, grad=False)
    parts = x.unbind(1)
    assert isinstance(parts, tuple) and len(parts) == 3
    for i, p in enumerate(parts):
        np.testing.assert_array_equal(to_numpy(p), a[:, i])
    parts[1][0] = 9.0  # a view, as in PyTorch
    assert to_numpy(x)[0, 1] == 9.0
    check_grads(lambda t: tc.unbind(t, 0)[1] * 3.0, a, device=device)
    check_grads(lambda t: t.unbind(-1)[0] * t.unbind(-1)[2], a, device=device)
    assert tc.zeros(0, 2, device=device).unbind() == ()
    with pytest.raises(IndexError, match="no dimensions"):
        tc.tensor(1.0, device=device).unbind()
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unbind(2)


def test_unbind_then_in_place_keeps_the_gradient_exact(device):
    w = leaf(RNG.normal(size=(2, 3)), device)
    y = w * 1.0
    rows = y.unbind(0)
    rows[1].mul_(2.0)  # PyTorch refuses this; here the base's history is rewritten
    y.sum().backward()
    assert to_numpy(w.grad).tolist() == [[1.0] * 3, [2.0] * 3]


@pytest.mark.parametrize("reps", [(2,), (2, 1), (1, 1), (2, 1, 3), (0, 2)])
def test_tile_matches_numpy(device, reps):
    a = RNG.normal(size=(2, 3))
    x = leaf(a, device, False)
    np.testing.assert_array_equal(to_numpy(tc.tile(x, reps)), np.tile(a, reps))
    np.testing.assert_array_equal(to_numpy(x.tile(*reps)), np.tile(a, reps))
    check_grads(lambda t: t.tile(reps) * 1.5, a, device=device)
    out = x.tile(reps)
    out.zero_()  # always a new tensor (all ones too), as PyTorch's
    np.testing.assert_array_equal(to_numpy(x), a)


def test_tile_of_an_empty_tensor_by_a_negative_count(device):
    x = tc.zeros(2, 0, device=device, dtype=tc.float64, requires_grad=True)
    y = x.tile(-1)  # -1 times nothing along the last dim: empty, as in PyTorch
    assert y.shape == (2, 0)
    y.sum().backward()  # PyTorch's backward raises here
    assert x.grad.shape == (2, 0)


def test_repeat_with_ones_is_a_copy(device):
    x = tc.zeros(3, device=device)
    x.repeat(1)[0] = 5.0
    assert to_numpy(x).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_repeat_interleave_int_and_tensor(device, dim):
    a = RNG.normal(size=(2, 3))
    x = leaf(a, device, False)
    np.testing.assert_array_equal(to_numpy(tc.repeat_interleave(x, 2, dim)),
                                  np.repeat(a, 2, dim))
    n = a.size if dim is None else a.shape[dim]
    counts = np.arange(n) % 3
    np.testing.assert_array_equal(
        to_numpy(x.repeat_interleave(tc.tensor(counts, device=device), dim)),
        np.repeat(a, counts, dim))
    check_grads(lambda t: tc.repeat_interleave(t, 3, dim) * 1.5, a, device=device)
    check_grads(lambda t: t.repeat_interleave(tc.tensor(counts, device=device), dim).exp(),
                a, device=device)
    one = x.repeat_interleave(1, dim)
    one.zero_()  # a new tensor even for 1 repeat
    np.testing.assert_array_equal(to_numpy(x), a)


def test_repeat_interleave_index_form_and_checks(device):
    counts = tc.tensor([1, 0, 2], device=device, dtype=tc.int32)
    out = tc.repeat_interleave(counts)
    assert to_numpy(out).tolist() == [0, 2, 2] and out.dtype == tc.int32
    x = tc.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match="Repeats must be non-negative"):
        x.repeat_interleave(-1)
    with pytest.raises(RuntimeError, match="repeats can not be negative"):
        x.repeat_interleave(tc.tensor([1, -1], device=device), 0)
    with pytest.raises(RuntimeError, match="same size as input along dim"):
        x.repeat_interleave(tc.tensor([1, 2, 3], device=device), 0)
    with pytest.raises(RuntimeError, match="0-dim or 1-dim"):
        x.repeat_interleave(tc.ones(2, 2, dtype=tc.int64, device=device), 0)
    with pytest.raises(RuntimeError, match="Long or Int"):
        x.repeat_interleave(tc.ones(2, device=device), 0)
    with pytest.raises(RuntimeError, match="Invalid output_size"):
        x.repeat_interleave(2, 0, output_size=3)
    with pytest.raises(TypeError, match="'repeats'"):
        x.repeat_interleave(2.0)


def test_stacks_match_numpy(device):
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    v, w = RNG.normal(size=3), RNG.normal(size=3)
    ta, tb, tv, tw = (leaf(z, device, False) for z in (a, b, v, w))
    for ours, theirs in ((tc.hstack, np.hstack), (tc.vstack, np.vstack),
                         (tc.dstack, np.dstack), (tc.column_stack, np.column_stack)):
        np.testing.assert_array_equal(to_numpy(ours([ta, tb])), theirs([a, b]))
        np.testing.assert_array_equal(to_numpy(ours((tv, tw))), theirs((v, w)))
        with pytest.raises(RuntimeError, match="expects a non-empty TensorList"):
            ours([])
        with pytest.raises(TypeError, match="tuple of Tensors"):
            ours(ta)
    s = tc.tensor(1.5, device=device)
    assert to_numpy(tc.hstack([s, s])).tolist() == [1.5, 1.5]
    assert tc.atleast_1d(s).shape == (1,) and tc.atleast_2d(tv).shape == (1, 3)
    assert tc.atleast_3d(ta).shape == (2, 3, 1) and tc.atleast_3d(tv).shape == (1, 3, 1)
    assert [t.shape for t in tc.atleast_2d([s, ta])] == [(1, 1), (2, 3)]
    assert to_numpy(tc.vstack([tv, tc.arange(3, device=device)])).dtype == np.float64
    check_grads(lambda p, q: tc.column_stack([p, q]).sin(), v, a.T.copy(), device=device)
    check_grads(lambda p, q: tc.dstack([p, q]) * 2.0, a, b, device=device)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_numpy(device, indexing):
    u, v, w = RNG.normal(size=2), RNG.normal(size=3), RNG.normal(size=4)
    grids = tc.meshgrid(*(leaf(z, device, False) for z in (u, v, w)), indexing=indexing)
    for ours, theirs in zip(grids, np.meshgrid(u, v, w, indexing=indexing)):
        np.testing.assert_array_equal(to_numpy(ours), theirs)
    check_grads(lambda p, q: tc.meshgrid([p, q], indexing=indexing)[0]
                * tc.meshgrid(p, q, indexing=indexing)[1], u, v, device=device)


def test_meshgrid_warns_without_indexing_and_checks(device):
    a, b = tc.arange(3, device=device), tc.arange(2, device=device)
    with pytest.warns(UserWarning, match="indexing argument"):
        grids = tc.meshgrid(a, b)
    assert [g.shape for g in grids] == [(3, 2), (3, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tc.meshgrid(a, b, indexing="ij")
    with pytest.raises(RuntimeError, match="same dtype"):
        tc.meshgrid(a, b.double(), indexing="ij")
    with pytest.raises(RuntimeError, match="0D or 1D"):
        tc.meshgrid(tc.zeros(2, 2, device=device), indexing="ij")
    with pytest.raises(RuntimeError, match='"xy" or "ij"'):
        tc.meshgrid(a, indexing="ji")
    with pytest.raises(RuntimeError, match="non-empty"):
        tc.meshgrid(indexing="ij")


def test_sizes_and_new_tensors(device):
    x = tc.zeros(2, 3, dtype=tc.int32, device=device)
    assert tc.numel(x) == 6 and x.nelement() == 6 and x.ndimension() == 2
    with pytest.raises(TypeError, match="must be Tensor"):
        tc.numel(3)
    for name, value in (("new_zeros", 0), ("new_ones", 1)):
        for out in (getattr(x, name)(2, 4), getattr(x, name)((2, 4)),
                    getattr(x, name)(size=[2, 4])):
            assert out.shape == (2, 4) and out.dtype == tc.int32 and out.device == x.device
            assert (to_numpy(out) == value).all()
    with pytest.raises(TypeError, match="unexpected keyword argument 'shape'"):
        x.new_zeros(shape=(2,))  # never silently ignored
    e = x.new_empty(3, dtype=tc.float64, requires_grad=True)
    assert e.shape == (3,) and e.dtype == tc.float64 and e.requires_grad and e.is_leaf
    f = x.new_full((2,), 2.5)
    assert to_numpy(f).tolist() == [2, 2] and f.dtype == tc.int32
    with pytest.raises(RuntimeError, match="without overflow"):
        x.new_full((2,), float("nan"))
    with pytest.raises(RuntimeError, match="without overflow"):
        x.new_full((2,), 2**40)
    with pytest.raises(RuntimeError, match="without overflow"):
        x.new_full((2,), 1e30)
    with pytest.raises(RuntimeError, match="negative dimension"):
        x.new_full((2, -1), 1e30)  # the size is checked first
    with pytest.raises(TypeError, match="tuple of ints"):
        x.new_full(2, 1)
    t = x.new_tensor([1.7, -2.5])
    assert to_numpy(t).tolist() == [1, -2] and t.dtype == tc.int32 and t.device == x.device
    src = tc.ones(2, requires_grad=True, device=device)
    with pytest.warns(UserWarning, match="detach"):
        c = x.new_tensor(src, dtype=tc.float32)
    assert not c.requires_grad and c.dtype == tc.float32
    y = tc.ones(2, device=device).type_as(x)
    assert y.dtype == tc.int32 and to_numpy(y).tolist() == [1, 1]
    with pytest.raises(TypeError, match="'other'"):
        x.type_as(3)


def test_arrange_ops_in_a_compiled_step_match_eager():
    def step(x):
        parts = x.unbind(0)
        y = tc.rot90(x.flip(1), 1) + tc.movedim(x, 0, 1).roll(1, 0)
        return (y.sum() + parts[0].sum() * 2 + tc.hstack([x, x.t().t()]).sum()
                + x.repeat_interleave(2, 1).tile(2).mean() + tc.meshgrid(
                    x[0], x[1], indexing="ij")[1].sum())

    compiled = tc.compile(step)
    for seed in range(3):
        x = tc.tensor(np.random.default_rng(seed).normal(size=(3, 3)))
        assert compiled(x).item() == step(x).item()
