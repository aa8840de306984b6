"""Reductions, softmax, matmul, shape ops and indexing.

Forward values are checked against NumPy (float32 tolerance); gradients with
``tc.autograd.gradcheck`` and ``gradgradcheck`` in float64 on tiny tensors. Inputs avoid ties
(max/min/argmax) and zeros (prod). Every test runs on each available backend through the
``device`` fixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

F32 = {"rtol": 1e-5, "atol": 1e-6}


def leaf(arr, device, dtype=tc.float64):
    return tc.tensor(np.asarray(arr), dtype=dtype, device=device, requires_grad=True)


def distinct(shape, seed, lo=0.5, spread=0.25):
    """Values without ties (at least ``spread`` apart), random order and sign-free."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (lo + spread * rng.permutation(n)).reshape(shape) * rng.choice([-1.0, 1.0]) + \
        rng.uniform(-0.05, 0.05, shape)


def check_grads(fn, *tensors, gradgrad=True):
    assert gradcheck(fn, tensors)
    if gradgrad:
        assert gradgradcheck(fn, tensors)


def _names_shape(msg: str, shape) -> bool:
    dims = [str(n) for n in shape]
    forms = ["[" + ", ".join(dims) + "]", "(" + ", ".join(dims) + ")", "(" + ",".join(dims) + ")",
             "x".join(dims)]
    return any(f in msg for f in forms)


# -- reductions --------------------------------------------------------------------------------
def _np_var(x, axis, keepdims):
    return np.var(x, axis=axis, keepdims=keepdims, ddof=1)


def _np_std(x, axis, keepdims):
    return np.std(x, axis=axis, keepdims=keepdims, ddof=1)


def _np_lse(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


REDUCTIONS = {
    "sum": (lambda t, d, k: t.sum(d, keepdim=k), np.sum),
    "tc.sum": (lambda t, d, k: tc.sum(t, dim=d, keepdim=k), np.sum),
    "mean": (lambda t, d, k: t.mean(d, keepdim=k), np.mean),
    "var": (lambda t, d, k: t.var(d, keepdim=k), _np_var),
    "std": (lambda t, d, k: t.std(d, keepdim=k), _np_std),
    "prod": (lambda t, d, k: t.prod(d, keepdim=k), np.prod),
    "logsumexp": (lambda t, d, k: t.logsumexp(d, keepdim=k), _np_lse),
    "amax": (lambda t, d, k: t.amax(d, keepdim=k), np.max),
    "amin": (lambda t, d, k: t.amin(d, keepdim=k), np.min),
}
DIMS = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


def _all_dims_for_logsumexp(name, dim):
    """logsumexp has no dim=None form (as in PyTorch): reduce over every dim instead."""
    return (0, 1, 2) if dim is None and name == "logsumexp" else dim


def _refused_dim_list(name, dim, x) -> bool:
    """prod takes one int dim, as in PyTorch: a dim list or None is a TypeError."""
    if name == "prod" and (dim is None or isinstance(dim, tuple)):
        with pytest.raises(TypeError, match="must be int"):
            REDUCTIONS[name][0](x, dim, False)
        return True
    return False


def _dims_np(d):
    return d if d is not None else None


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_forward(device, name, dim, keepdim):
    fn, np_fn = REDUCTIONS[name]
    dim = _all_dims_for_logsumexp(name, dim)
    xv = distinct((2, 3, 4), 1).astype(np.float32)
    if name == "prod":
        xv = xv / np.abs(xv).max() + np.sign(xv) * 0.5
    if _refused_dim_list(name, dim, tc.tensor(xv, device=device)):
        return
    out = fn(tc.tensor(xv, device=device), dim, keepdim)
    expected = np.asarray(np_fn(xv, axis=_dims_np(dim), keepdims=keepdim))
    assert out.shape == expected.shape
    assert out.dtype == tc.float32
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-5, atol=1e-5)


GRAD_DIMS = [None, 1, -1, (0, 2)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", GRAD_DIMS, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_grads(device, name, dim, keepdim):
    fn, _ = REDUCTIONS[name]
    dim = _all_dims_for_logsumexp(name, dim)
    xv = distinct((2, 3, 2), 2, lo=0.3, spread=0.1)  # no zeros (prod), no ties (amax)
    x = leaf(xv, device)
    if _refused_dim_list(name, dim, x):
        return
    check_grads(lambda t: fn(t, dim, keepdim), x)


def test_reduction_full_returns_0d(device):
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    for out in (x.sum(), x.mean(), x.var(), x.std(), x.prod(), x.max(), x.min(), x.amax()):
        assert out.shape == ()
    assert x.sum().item() == 10.0 and x.prod().item() == 24.0
    assert x.var().item() == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 3, 4]))
    assert x.var(0, correction=0).tolist() == [1.0, 1.0]


def test_max_min_full_reduction_tie_splits_gradient(device):
    x = tc.tensor([1.0, 3.0, 3.0, 0.0], device=device, requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0, 0.5, 0.5, 0])
    x.grad = None
    tc.min(x).backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0, 0, 0, 1])


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1, -3], ids=str)
@pytest.mark.parametrize("largest", [True, False])
def test_max_min_dim_values_indices(device, dim, keepdim, largest):
    xv = distinct((2, 3, 4), 3)
    x = tc.tensor(xv.astype(np.float32), device=device)
    out = x.max(dim, keepdim=keepdim) if largest else tc.min(x, dim=dim, keepdim=keepdim)
    values, indices = out
    assert out.values is values and out.indices is indices
    np_red, np_arg = (np.max, np.argmax) if largest else (np.min, np.argmin)
    ev = np_red(xv.astype(np.float32), axis=dim, keepdims=keepdim)
    ei = np_arg(xv, axis=dim, keepdims=keepdim)
    assert values.shape == ev.shape and indices.shape == ei.shape
    assert indices.dtype == tc.int64
    np.testing.assert_allclose(to_numpy(values), ev, **F32)
    np.testing.assert_array_equal(to_numpy(indices), ei)
    # gradient goes to the selected element
    xl = leaf(distinct((2, 3, 2), 4), device)
    fn = (lambda t: t.max(dim, keepdim=keepdim).values) if largest else \
        (lambda t: t.min(dim, keepdim=keepdim)[0])
    check_grads(fn, xl)


def test_max_dim_without_grad_and_with_grad_agree(device):
    xv = distinct((3, 4), 5)
    a = tc.tensor(xv, device=device)
    b = tc.tensor(xv, device=device, requires_grad=True)
    va, ia = a.max(1)
    vb, ib = b.max(1)
    np.testing.assert_array_equal(to_numpy(ia), to_numpy(ib))
    np.testing.assert_array_equal(to_numpy(va), to_numpy(vb))
    vb.sum().backward()
    expected = np.zeros((3, 4))
    expected[np.arange(3), np.argmax(xv, 1)] = 1
    np.testing.assert_array_equal(to_numpy(b.grad), expected)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, 1, -1], ids=str)
def test_argmax_argmin(device, dim, keepdim):
    xv = distinct((3, 4), 6).astype(np.float32)
    x = tc.tensor(xv, device=device)
    for tc_fn, np_fn in ((tc.argmax, np.argmax), (tc.argmin, np.argmin)):
        out = tc_fn(x, dim=dim, keepdim=keepdim)
        assert out.dtype == tc.int64 and not out.requires_grad
        if dim is None:
            assert out.item() == np_fn(xv)
            continue
        expected = np_fn(xv, axis=dim, keepdims=keepdim)
        assert out.shape == expected.shape
        np.testing.assert_array_equal(to_numpy(out), expected)
    assert x.argmax().item() == np.argmax(xv) and x.argmin(1).tolist() == list(np.argmin(xv, 1))


def test_float16_sum_mean_accumulate_in_float32(device):
    x = tc.ones(10000, dtype=tc.float16, device=device)
    s = x.sum()
    assert s.dtype == tc.float16 and s.item() == 10000.0
    m = x.mean()
    assert m.dtype == tc.float16 and m.item() == 1.0
    y = tc.ones(2, 5000, dtype=tc.float16, device=device)
    np.testing.assert_array_equal(to_numpy(y.sum(1)), [5000.0, 5000.0])
    np.testing.assert_array_equal(to_numpy(y.mean(-1)), [1.0, 1.0])
    # 0.1 repeated: float16 accumulation would stall far below the true sum
    z = tc.full((4000,), 0.1, dtype=tc.float16, device=device)
    assert abs(z.sum().item() - 4000 * float(np.float16(0.1))) < 1.0


def test_int_reductions(device):
    i = tc.tensor([[1, 2], [3, 4]], device=device)
    assert i.sum().dtype == tc.int64 and i.sum().item() == 10
    assert i.sum(0).tolist() == [4, 6]
    assert tc.tensor([True, True, False], device=device).sum().item() == 2
    assert i.max().item() == 4 and i.argmax().item() == 3
    with pytest.raises(RuntimeError):
        i.mean()


def test_reduction_bad_dim_raises(device):
    x = tc.ones(2, 3, device=device)
    with pytest.raises(IndexError):
        x.sum(2)
    with pytest.raises(IndexError):
        x.mean(-3)


# -- softmax / log_softmax ---------------------------------------------------------------------
def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax(device, dim):
    xv = np.random.default_rng(7).standard_normal((2, 3, 4)).astype(np.float32)
    x = tc.tensor(xv, device=device)
    sm = x.softmax(dim)
    np.testing.assert_allclose(to_numpy(sm), _np_softmax(xv, dim), **F32)
    np.testing.assert_allclose(to_numpy(sm.sum(dim)), np.ones_like(xv.sum(dim)), **F32)
    np.testing.assert_allclose(to_numpy(tc.nn.functional.log_softmax(x, dim)),
                               np.log(_np_softmax(xv, dim)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(x.log_softmax(dim)), np.log(_np_softmax(xv, dim)),
                               rtol=1e-5, atol=1e-5)
    xl = leaf(np.random.default_rng(8).standard_normal((2, 3)), device)
    d = dim if dim != 1 else -2
    check_grads(lambda t: t.softmax(d), xl)
    check_grads(lambda t: t.log_softmax(d), xl)


def test_softmax_is_stable_for_large_inputs(device):
    x = tc.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]], device=device)
    sm = to_numpy(x.softmax(-1))
    ls = to_numpy(x.log_softmax(-1))
    assert np.isfinite(sm).all() and np.isfinite(ls).all()
    np.testing.assert_allclose(sm[0], _np_softmax(np.array([0.0, 1.0, 2.0]), 0), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(x.logsumexp(1)), [1002.407606, -999.592394], rtol=1e-6)


# -- matmul ------------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3, 4), (4, 2)),
    ((4,), (4,)),
    ((4,), (4, 2)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4, 2)),
    ((3, 4), (2, 4, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_forward(device, shapes):
    rng = np.random.default_rng(9)
    av = rng.standard_normal(shapes[0]).astype(np.float32)
    bv = rng.standard_normal(shapes[1]).astype(np.float32)
    a, b = tc.tensor(av, device=device), tc.tensor(bv, device=device)
    expected = np.matmul(av, bv)
    for out in (a @ b, tc.matmul(a, b), a.matmul(b)):
        assert out.shape == expected.shape
        np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_grads(device, shapes):
    rng = np.random.default_rng(10)
    small = int(np.prod(shapes[0])) + int(np.prod(shapes[1])) <= 24
    a = leaf(rng.standard_normal(shapes[0]), device)
    b = leaf(rng.standard_normal(shapes[1]), device)
    check_grads(lambda x, y: x @ y, a, b, gradgrad=small)
    out = a @ b
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_matmul_grads_broadcast_gradgrad(device):
    rng = np.random.default_rng(11)
    a = leaf(rng.standard_normal((2, 1, 1, 2)), device)
    b = leaf(rng.standard_normal((3, 2, 1)), device)
    check_grads(lambda x, y: x @ y, a, b)
    v = leaf(rng.standard_normal((2,)), device)
    check_grads(lambda x, y: x @ y, v, b)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)),
                                   ((2, 3, 4), (5, 4, 6)), ((2, 3, 4), (4, 3, 2))])
def test_matmul_shape_mismatch_names_both_shapes(device, sa, sb):
    a, b = tc.ones(*sa, device=device), tc.ones(*sb, device=device)
    with pytest.raises(RuntimeError) as info:
        a @ b
    msg = str(info.value)
    if len(sa) > 1 and len(sb) > 1:
        assert _names_shape(msg, sa) and _names_shape(msg, sb), msg
    else:
        assert str(sa[-1]) in msg and str(sb[0]) in msg, msg


def test_matmul_0d_raises(device):
    with pytest.raises(RuntimeError):
        tc.tensor(2.0, device=device) @ tc.ones(2, device=device)


# -- shape ops ---------------------------------------------------------------------------------
def _x(shape, dtype=np.float32, seed=12):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


SHAPE_OPS = {
    # name: (input shape, tensorcore fn, numpy fn)
    "reshape": ((2, 3, 2), lambda t: t.reshape(3, 4), lambda x: x.reshape(3, 4)),
    "reshape_tuple": ((2, 3, 2), lambda t: t.reshape((4, -1)), lambda x: x.reshape(4, -1)),
    "reshape_-1": ((2, 3, 2), lambda t: t.reshape(-1), lambda x: x.reshape(-1)),
    "view": ((2, 3, 2), lambda t: t.view(2, 6), lambda x: x.reshape(2, 6)),
    "view_-1": ((2, 3, 2), lambda t: t.view(-1, 2), lambda x: x.reshape(-1, 2)),
    "flatten": ((2, 3, 2), lambda t: t.flatten(), lambda x: x.reshape(-1)),
    "flatten_1": ((2, 3, 2), lambda t: t.flatten(1), lambda x: x.reshape(2, 6)),
    "flatten_0_1": ((2, 3, 2), lambda t: t.flatten(0, 1), lambda x: x.reshape(6, 2)),
    "squeeze": ((1, 3, 1, 2), lambda t: t.squeeze(), lambda x: x.squeeze()),
    "squeeze_dim": ((1, 3, 1, 2), lambda t: t.squeeze(2), lambda x: x.squeeze(2)),
    "squeeze_neg": ((1, 3, 1, 2), lambda t: t.squeeze(-2), lambda x: x.squeeze(-2)),
    "squeeze_non1": ((1, 3, 1, 2), lambda t: t.squeeze(1), lambda x: x),
    "unsqueeze_0": ((3, 2), lambda t: t.unsqueeze(0), lambda x: x[None]),
    "unsqueeze_-1": ((3, 2), lambda t: t.unsqueeze(-1), lambda x: x[..., None]),
    "unsqueeze_1": ((3, 2), lambda t: t.unsqueeze(1), lambda x: x[:, None]),
    "transpose": ((2, 3, 2), lambda t: t.transpose(0, 2), lambda x: x.transpose(2, 1, 0)),
    "transpose_neg": ((2, 3, 2), lambda t: t.transpose(-1, -2), lambda x: x.swapaxes(-1, -2)),
    "permute": ((2, 3, 2), lambda t: t.permute(1, 2, 0), lambda x: x.transpose(1, 2, 0)),
    "permute_tuple": ((2, 3, 2), lambda t: t.permute((2, 0, 1)),
                      lambda x: x.transpose(2, 0, 1)),
    "permute_neg": ((2, 3, 2), lambda t: t.permute(-1, 0, 1), lambda x: x.transpose(2, 0, 1)),
    ".T": ((3, 2), lambda t: t.T, lambda x: x.T),
    ".T_3d": ((2, 3, 2), lambda t: t.T, lambda x: x.T),
    ".mT": ((2, 3, 2), lambda t: t.mT, lambda x: x.swapaxes(-1, -2)),
    "expand": ((3, 1), lambda t: t.expand(3, 4), lambda x: np.broadcast_to(x, (3, 4))),
    "expand_-1": ((3, 1), lambda t: t.expand(2, -1, 4),
                  lambda x: np.broadcast_to(x, (2, 3, 4))),
    "expand_as": ((1, 2), lambda t: t.expand_as(tc.ones(3, 2)),
                  lambda x: np.broadcast_to(x, (3, 2))),
    "broadcast_to": ((2, 1), lambda t: t.broadcast_to((3, 2, 3)),
                     lambda x: np.broadcast_to(x, (3, 2, 3))),
    "tc.broadcast_to": ((2, 1), lambda t: tc.broadcast_to(t, (2, 2)),
                        lambda x: np.broadcast_to(x, (2, 2))),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op_forward(device, name):
    shape, fn, np_fn = SHAPE_OPS[name]
    xv = _x(shape)
    out = fn(tc.tensor(xv, device=device))
    expected = np_fn(xv)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(to_numpy(out), expected)


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op_grads(device, name):
    shape, fn, _ = SHAPE_OPS[name]
    x = leaf(_x(shape, np.float64), device)
    check_grads(fn, x)
    out = fn(x)
    w = tc.tensor(_x(out.shape, np.float64, seed=13), device=device)
    (out * w).sum().backward()
    assert x.grad.shape == x.shape


def test_views_share_memory(device):
    x = tc.zeros(2, 3, device=device)
    for v in (x.view(6), x.reshape(3, 2), x.T, x.transpose(0, 1), x.unsqueeze(0), x[1], x[:, 1:]):
        assert v._version == x._version
    v = x.view(6)
    v[0] = 5.0
    assert x[0, 0].item() == 5.0
    with pytest.raises(RuntimeError):
        x.T.view(6)  # not contiguous: view refuses, reshape copies
    assert x.T.reshape(6).shape == (6,)


def test_shape_op_errors(device):
    x = tc.ones(2, 3, device=device)
    with pytest.raises(RuntimeError):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError):
        x.view(-1, -1)
    with pytest.raises(RuntimeError):
        x.expand(3, 3)
    with pytest.raises(RuntimeError):
        x.permute(0, 0)
    with pytest.raises(IndexError):
        x.unsqueeze(3)
    with pytest.raises(IndexError):
        x.transpose(0, 2)


# -- cat / stack / split / chunk ---------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(device, dim):
    shapes = {0: [(1, 3), (2, 3), (1, 3)], 1: [(2, 1), (2, 3), (2, 2)],
              -1: [(2, 1), (2, 3), (2, 2)]}[dim]
    arrays = [_x(s, seed=20 + i) for i, s in enumerate(shapes)]
    out = tc.cat([tc.tensor(a, device=device) for a in arrays], dim=dim)
    np.testing.assert_array_equal(to_numpy(out), np.concatenate(arrays, axis=dim))
    assert tc.concat([tc.tensor(a, device=device) for a in arrays], dim).shape == out.shape
    leaves = [leaf(a.astype(np.float64), device) for a in arrays]
    check_grads(lambda *ts: tc.cat(ts, dim), *leaves)


def test_cat_mismatch_raises(device):
    with pytest.raises(RuntimeError):
        tc.cat([tc.ones(2, 3, device=device), tc.ones(2, 4, device=device)], dim=0)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(device, dim):
    arrays = [_x((2, 3), seed=30 + i) for i in range(3)]
    out = tc.stack([tc.tensor(a, device=device) for a in arrays], dim=dim)
    np.testing.assert_array_equal(to_numpy(out), np.stack(arrays, axis=dim))
    leaves = [leaf(a[:, :2].astype(np.float64), device) for a in arrays[:2]]
    check_grads(lambda *ts: tc.stack(ts, dim), *leaves)


def test_stack_mismatch_raises(device):
    with pytest.raises(RuntimeError):
        tc.stack([tc.ones(2, 3, device=device), tc.ones(3, 2, device=device)])


SPLITS = [
    ("split_int", lambda t: t.split(2, dim=1), lambda x: np.split(x, [2, 4], axis=1)),
    ("split_int_uneven", lambda t: t.split(3, 1), lambda x: np.split(x, [3], axis=1)),
    ("split_sizes", lambda t: t.split([1, 4], dim=-1), lambda x: np.split(x, [1], axis=1)),
    ("split_dim0", lambda t: tc.split(t, 1), lambda x: np.split(x, [1], axis=0)),
    ("chunk_2", lambda t: t.chunk(2, dim=1), lambda x: np.split(x, [3], axis=1)),
    ("chunk_3", lambda t: t.chunk(3, -1), lambda x: np.split(x, [2, 4], axis=1)),
    ("chunk_more_than_size", lambda t: tc.chunk(t, 4, 0), lambda x: np.split(x, [1], axis=0)),
]


@pytest.mark.parametrize("name,fn,np_fn", SPLITS, ids=[s[0] for s in SPLITS])
def test_split_chunk(device, name, fn, np_fn):
    xv = _x((2, 5))
    parts = fn(tc.tensor(xv, device=device))
    expected = np_fn(xv)
    assert isinstance(parts, tuple) and len(parts) == len(expected)
    for p, e in zip(parts, expected):
        assert p.shape == e.shape
        np.testing.assert_array_equal(to_numpy(p), e)
    x = leaf(xv.astype(np.float64), device)
    check_grads(lambda t: tuple(fn(t)), x)
    # only some pieces used: the others get zero gradient
    fn(x)[0].sum().backward()
    g = np.zeros((2, 5))
    first = expected[0]
    if name == "split_dim0" or name == "chunk_more_than_size":
        g[:first.shape[0]] = 1
    else:
        g[:, :first.shape[1]] = 1
    np.testing.assert_array_equal(to_numpy(x.grad), g)


def test_split_bad_sizes_raises(device):
    with pytest.raises(RuntimeError):
        tc.ones(2, 5, device=device).split([2, 2], dim=1)


# -- indexing ----------------------------------------------------------------------------------
def _idx(device, values):
    return tc.tensor(np.asarray(values), device=device)


BASIC_INDEX = {
    "int": lambda d: 1,
    "neg_int": lambda d: -1,
    "slice": lambda d: slice(1, 3),
    "slice_step": lambda d: (slice(None), slice(None, None, 2)),
    "tuple": lambda d: (1, slice(0, 2)),
    "ellipsis": lambda d: (Ellipsis, -1),
    "none": lambda d: (None, 1),
    "int_int": lambda d: (0, 2),
    "empty_slice": lambda d: slice(2, 2),
}
ADV_INDEX = {
    "int_list": lambda d: [0, 2, 0],
    "int_tensor": lambda d: _idx(d, [2, 0, 2, 2]),
    "int_tensor_neg": lambda d: _idx(d, [-1, 0, -3]),
    "int_tensor_2d": lambda d: _idx(d, [[0, 1], [1, 1]]),
    "int32_tensor": lambda d: tc.tensor([1, 1, 0], dtype=tc.int32, device=d),
    "pair": lambda d: (_idx(d, [0, 2, 2]), _idx(d, [1, 3, 1])),
    "tensor_slice": lambda d: (_idx(d, [1, 1]), slice(1, 3)),
    "slice_tensor": lambda d: (slice(None), _idx(d, [3, 0, 3])),
    "bool_mask_full": lambda d: tc.tensor(np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 0]],
                                                   dtype=bool), device=d),
    "bool_mask_rows": lambda d: tc.tensor(np.array([True, False, True]), device=d),
    "bool_mask_cols": lambda d: (slice(None), tc.tensor(np.array([False, True, True, False]),
                                                        device=d)),
}


def _np_index(index):
    if isinstance(index, tuple):
        return tuple(_np_index(i) for i in index)
    if isinstance(index, tc.Tensor):
        return to_numpy(index)
    return index


@pytest.mark.parametrize("name", list(BASIC_INDEX) + list(ADV_INDEX))
def test_getitem_forward_and_grads(device, name):
    make = {**BASIC_INDEX, **ADV_INDEX}[name]
    index = make(device)
    xv = _x((3, 4))
    out = tc.tensor(xv, device=device)[index]
    expected = xv[_np_index(index)]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(to_numpy(out), expected)
    x = leaf(xv.astype(np.float64), device)
    check_grads(lambda t: t[index], x)
    # gradient: ones scattered back, repeated indices accumulate (np.add.at)
    x[index].sum().backward()
    g = np.zeros((3, 4))
    np.add.at(g, _np_index(index), 1.0)
    np.testing.assert_array_equal(to_numpy(x.grad), g)


def test_getitem_basic_is_view_advanced_is_copy(device):
    x = tc.zeros(3, 4, device=device)
    x[1:][0, 0] = 7.0
    assert x[1, 0].item() == 7.0
    y = x[tc.tensor([0, 1], device=device)]
    y[0, 0] = 9.0
    assert x[0, 0].item() == 0.0


def test_getitem_repeated_indices_accumulate(device):
    x = tc.zeros(4, device=device, requires_grad=True)
    w = tc.tensor([1.0, 2.0, 3.0, 4.0, 5.0], device=device)
    (x[tc.tensor([1, 1, 3, 1, 0], device=device)] * w).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [5.0, 1 + 2 + 4, 0.0, 3.0])


@pytest.mark.parametrize("index", [
    lambda d: 3, lambda d: -4, lambda d: (0, 4), lambda d: _idx(d, [0, 3]),
    lambda d: _idx(d, [-4]), lambda d: [0, 5]])
def test_getitem_out_of_range_raises_index_error(device, index):
    x = tc.ones(3, 4, device=device)
    with pytest.raises(IndexError):
        x[index(device)]


@pytest.mark.parametrize("index", [
    lambda d: tc.tensor([0.0, 1.0], device=d), lambda d: tc.tensor(1.0, device=d),
    lambda d: 1.0, lambda d: [0.0, 1.0], lambda d: (0, tc.tensor([1.5], device=d))])
def test_getitem_float_index_raises_index_error(device, index):
    x = tc.ones(3, 4, device=device)
    with pytest.raises(IndexError):
        x[index(device)]


def test_getitem_bool_mask_wrong_shape_raises(device):
    x = tc.ones(3, 4, device=device)
    with pytest.raises(IndexError):
        x[tc.tensor([True, False], device=device)]


# -- property: integer-array gradients are np.add.at counts ------------------------------------
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 5), cols=st.sampled_from([None, 1, 3]),
       idx_shape=st.sampled_from([(1,), (4,), (7,), (2, 3), (3, 3), (1, 5)]),
       seed=st.integers(0, 2**31 - 1))
def test_property_index_grad_is_add_at_counts(device, n, cols, idx_shape, seed):
    rng = np.random.default_rng(seed)
    shape = (n,) if cols is None else (n, cols)
    idx = rng.integers(-n, n, idx_shape)  # negative indices and (likely) repeats
    x = tc.tensor(rng.standard_normal(shape), dtype=tc.float64, device=device,
                  requires_grad=True)
    out = x[tc.tensor(idx, device=device)]
    assert out.shape == idx_shape + shape[1:]
    out.sum().backward()
    counts = np.zeros(shape)
    np.add.at(counts, idx, 1.0)
    assert x.grad.shape == shape
    np.testing.assert_array_equal(to_numpy(x.grad), counts)
    # weighted: the gradient of (x[idx] * w).sum() is np.add.at(0, idx, w)
    w = rng.standard_normal(out.shape)
    x.grad = None
    (x[tc.tensor(idx, device=device)] * tc.tensor(w, device=device)).sum().backward()
    expected = np.zeros(shape)
    np.add.at(expected, idx, w)
    np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-12, atol=1e-12)
