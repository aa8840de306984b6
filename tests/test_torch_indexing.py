"""Indexing and ``x[...] = v`` follow PyTorch where it differs from NumPy.

PyTorch applies integers (and 0-d integer tensors) first, as selects; the index tensors and
lists then follow NumPy's adjacency rule on what is left. Each case below states the expected
shape (as PyTorch 2.13 gives it) and a NumPy expression written out for PyTorch's meaning;
values and gradients are checked against that expression. Gradients are read off an id grid:
``ids[expr]`` says which input element each output element reads, so the gradient of
``(out * w).sum()`` is ``bincount(ids[expr], w)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

SHAPE = (2, 3, 4)
M23 = [[True, False, True], [False, True, True]]
M34 = [[True, False, False, True], [False, True, False, False], [True, True, False, False]]


def _t(d, v, dtype=tc.int64):
    return tc.tensor(v, dtype=dtype, device=d)


# name: (index builder, expected shape, NumPy expression with PyTorch's meaning)
CASES = {
    "int_slice_list": (lambda d: (0, slice(None), [0, 1]), (3, 2), lambda a: a[0][:, [0, 1]]),
    "0d_tensor_slice_list": (lambda d: (_t(d, 0), slice(None), [0, 1]), (3, 2),
                             lambda a: a[0][:, [0, 1]]),
    "int32_0d_then_list": (lambda d: (_t(d, 1, tc.int32), [0, 2]), (2, 4),
                           lambda a: a[1][[0, 2]]),
    "slice_int_list": (lambda d: (slice(None), 0, [0, 1]), (2, 2), lambda a: a[:, 0][:, [0, 1]]),
    "list_slice_int": (lambda d: ([0, 1], slice(None), 0), (2, 3), lambda a: a[:, :, 0][[0, 1]]),
    "int_none_list": (lambda d: (0, None, [0, 1]), (1, 2, 4), lambda a: a[0][None][:, [0, 1]]),
    "list_none_list": (lambda d: ([0, 1], None, [0, 1]), (2, 1, 4),
                       lambda a: a[:, None][[0, 1], :, [0, 1]]),
    "none_list_list": (lambda d: (None, [0, 1], [0, 1]), (1, 2, 4),
                       lambda a: a[None][:, [0, 1], [0, 1]]),
    "list_ellipsis_list": (lambda d: ([0, 1], Ellipsis, [0, 1]), (2, 3),
                           lambda a: a[[0, 1], :, [0, 1]]),
    "list_int_list": (lambda d: ([0, 1], 1, [0, 1]), (2,), lambda a: a[:, 1][[0, 1], [0, 1]]),
    "int_list_int": (lambda d: (1, [0, 1], 1), (2,), lambda a: a[1][:, 1][[0, 1]]),
    "negative_int_list": (lambda d: (-1, slice(None), [-1, 0]), (3, 2),
                          lambda a: a[-1][:, [-1, 0]]),
    "step_slice_list": (lambda d: (slice(None), slice(None, None, 2), [1]), (2, 2, 1),
                        lambda a: a[:, ::2, [1]]),
    "broadcast_tensors_apart": (lambda d: (_t(d, [[0], [1]]), slice(None), _t(d, [0, 1, 2])),
                                (2, 3, 3), lambda a: a[[[0], [1]], :, [0, 1, 2]]),
    "broadcast_lists": (lambda d: ([0, 1], [[0], [2]]), (2, 2, 4), lambda a: a[[0, 1], [[0], [2]]]),
    "true_first": (lambda d: True, (1, 2, 3, 4), lambda a: a[None][[0]]),
    "false_first": (lambda d: False, (0, 2, 3, 4), lambda a: a[None][[]]),
    "bool_tensor_0d": (lambda d: _t(d, True, tc.bool), (1, 2, 3, 4), lambda a: a[None][[0]]),
    "slice_true_list": (lambda d: (slice(None), True, [0, 1]), (2, 2, 4),
                        lambda a: a[:, None][:, [0], [0, 1]]),
    "true_slice_list": (lambda d: (True, slice(None), [0, 1]), (2, 2, 4),
                        lambda a: a[None][[0], :, [0, 1]]),
    "empty_list": (lambda d: [], (0, 3, 4), lambda a: a[np.zeros(0, dtype=np.int64)]),
    "two_ellipses": (lambda d: (Ellipsis, Ellipsis), (2, 3, 4), lambda a: a[...]),
    "ellipsis_int_ellipsis": (lambda d: (Ellipsis, 0, Ellipsis), (2, 3), lambda a: a[..., 0]),
    "int_two_ellipses": (lambda d: (0, Ellipsis, Ellipsis), (3, 4), lambda a: a[0]),
    "ellipsis_none_ellipsis": (lambda d: (Ellipsis, None, Ellipsis), (2, 3, 4, 1),
                               lambda a: a[..., None]),
    "list_index": (lambda d: [0, 1], (2, 3, 4), lambda a: a[[0, 1]]),
    "tuple_index": (lambda d: (0, 1), (4,), lambda a: a[0, 1]),
    "all_ints": (lambda d: (1, 2, 3), (), lambda a: a[1, 2, 3]),
    "nested_tuple_entry": (lambda d: ((0, 1), 2), (2, 4), lambda a: a[[0, 1], 2]),
    "mask_2d": (lambda d: _t(d, M23, tc.bool), (4, 4), lambda a: a[np.array(M23)]),
    "int_mask_2d": (lambda d: (0, _t(d, M34, tc.bool)), (5,), lambda a: a[0][np.array(M34)]),
    "mask_int_mask": (lambda d: (_t(d, [True, False], tc.bool), 0,
                                 _t(d, [True, False, True, True], tc.bool)), (3,),
                      lambda a: a[:, 0][[0, 0, 0], [0, 2, 3]]),
    "ellipsis_mask_2d": (lambda d: (Ellipsis, _t(d, M34, tc.bool)), (2, 5),
                         lambda a: a[:, np.array(M34)]),
    "numpy_int_array": (lambda d: (np.array([1, 0], dtype=np.int16), 0), (2, 4),
                        lambda a: a[[1, 0], 0]),
    "numpy_int_scalar": (lambda d: (np.int64(1), [2, 0]), (2, 4), lambda a: a[1][[2, 0]]),
    "tensor_slice_bounds": (lambda d: slice(_t(d, 1), None), (1, 3, 4), lambda a: a[1:]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_getitem_matches_pytorch_meaning(device, name):
    make, shape, expr = CASES[name]
    xv = np.arange(24.0).reshape(SHAPE)
    x = tc.tensor(xv, dtype=tc.float64, device=device, requires_grad=True)
    out = x[make(device)]
    assert out.shape == shape
    np.testing.assert_array_equal(to_numpy(out), expr(xv))
    w = np.random.default_rng(0).standard_normal(shape)
    (out * tc.tensor(w, dtype=tc.float64, device=device)).sum().backward()
    ids = expr(np.arange(24).reshape(SHAPE))
    expected = np.bincount(np.ravel(ids), weights=np.ravel(w), minlength=24).reshape(SHAPE)
    np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["int_slice_list", "list_none_list", "mask_int_mask",
                                  "slice_true_list"])
def test_getitem_gradcheck(device, name):
    make, _, _ = CASES[name]
    xv = np.random.default_rng(1).standard_normal(SHAPE)
    x = tc.tensor(xv, dtype=tc.float64, device=device, requires_grad=True)
    index = make(device)
    assert gradcheck(lambda t: t[index], (x,))
    assert gradgradcheck(lambda t: t[index], (x,))


def test_legacy_list_of_sequences_is_a_tuple(device):
    x = tc.arange(24.0, device=device).reshape(SHAPE)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        out = x[[[0, 1], [1, 2]]]  # x[[0, 1], [1, 2]], as in PyTorch (and NumPy before 1.23)
    np.testing.assert_array_equal(to_numpy(out), np.arange(24.0).reshape(SHAPE)[[0, 1], [1, 2]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        long = x[[0, 1] * 20]  # 32 entries or more: one index tensor, no warning
    assert long.shape == (40, 3, 4)


@pytest.mark.parametrize("index", [lambda d: (1, 2), lambda d: (0, slice(None), 1),
                                   lambda d: _t(d, 1), lambda d: (Ellipsis, 0, Ellipsis),
                                   lambda d: (None, 1, slice(1, 3))])
def test_integer_selects_are_views(device, index):
    """Integers (and 0-d integer tensors) select: the result shares memory, all integers too."""
    x = tc.zeros(SHAPE, device=device)
    v = x[index(device)]
    v.fill_(7.0)
    assert x._version == 1
    assert float(to_numpy(x).sum()) == 7.0 * v.numel()


@pytest.mark.parametrize("index", [lambda d: [0, 1], lambda d: True, lambda d: (0, [1]),
                                   lambda d: _t(d, [[True] * 3] * 2, tc.bool)])
def test_advanced_indices_copy(device, index):
    x = tc.zeros(SHAPE, device=device)
    out = x[index(device)]
    out.fill_(1.0)
    assert float(to_numpy(x).sum()) == 0.0


@pytest.mark.parametrize("shape, index, error", [
    (SHAPE, lambda d: 5, IndexError),
    (SHAPE, lambda d: (0, -4), IndexError),
    (SHAPE, lambda d: [0, 2], IndexError),
    (SHAPE, lambda d: (0, slice(None), _t(d, [4])), IndexError),
    (SHAPE, lambda d: _t(d, -3), IndexError),
    (SHAPE, lambda d: (0, 0, 0, 0), IndexError),
    (SHAPE, lambda d: 1.0, IndexError),
    (SHAPE, lambda d: _t(d, [0.0, 1.0], tc.float32), IndexError),
    (SHAPE, lambda d: (0, _t(d, 1.0, tc.float32)), IndexError),
    (SHAPE, lambda d: [0.0, 1.0], IndexError),  # PyTorch truncates a float list: we refuse it
    (SHAPE, lambda d: _t(d, [True, False, True], tc.bool), IndexError),
    (SHAPE, lambda d: (Ellipsis, _t(d, M23, tc.bool)), IndexError),
    (SHAPE, lambda d: (Ellipsis, 0, Ellipsis, 1), IndexError),
    (SHAPE, lambda d: (Ellipsis, 0, Ellipsis, None), IndexError),
    (SHAPE, lambda d: ([0, 1], [0, 1, 2]), IndexError),
    (SHAPE, lambda d: {}, IndexError),
    (SHAPE, lambda d: np.array([1, 0], dtype=np.uint8), IndexError),
    (SHAPE, lambda d: slice(None, None, 0), ValueError),
    ((), lambda d: 0, IndexError),
    ((), lambda d: [0], IndexError),
    ((), lambda d: slice(0, 1), IndexError),
    ((0, 3), lambda d: 0, IndexError),
    ((0, 3), lambda d: [0], IndexError),
])
def test_getitem_errors_as_pytorch(device, shape, index, error):
    x = tc.zeros(shape, device=device)
    with pytest.raises(error):
        x[index(device)]


def test_zero_dim_and_empty(device):
    x = tc.tensor(5.0, device=device)
    assert x[None].shape == (1,) and x[...].shape == () and x[()].shape == ()
    assert x[True].shape == (1,) and x[False].shape == (0,)
    assert x[_t(device, True, tc.bool)].shape == (1,)
    y = tc.zeros(0, 3, device=device)
    assert y[[]].shape == (0, 3) and y[:, [0, 1]].shape == (0, 2)
    assert y[_t(device, [], tc.bool)].shape == (0, 3)


def test_indices_that_broadcast_to_nothing_are_not_range_checked(device):
    x = tc.zeros(2, 3, device=device)
    assert x[[5], []].shape == (0,)  # as PyTorch and NumPy: nothing is read
    assert x[_t(device, [[7]]), False].shape == (1, 0, 3)
    with pytest.raises(IndexError):
        x[[5], [0]]


def test_negative_step_is_an_extension_with_gradients(device):
    """PyTorch refuses negative slice steps; tensorcore reverses, with correct gradients."""
    x = tc.tensor([1.0, 2.0, 3.0, 4.0], dtype=tc.float64, device=device, requires_grad=True)
    out = x[::-2]
    np.testing.assert_array_equal(to_numpy(out), [4.0, 2.0])
    (out * tc.tensor([10.0, 100.0], dtype=tc.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 100.0, 0.0, 10.0])


def test_cpu_index_for_any_device(device):
    """PyTorch takes CPU index tensors for a tensor on any device."""
    x = tc.arange(12.0, device=device).reshape(3, 4)
    out = x[tc.tensor([2, 0])]
    np.testing.assert_array_equal(to_numpy(out), np.arange(12.0).reshape(3, 4)[[2, 0]])
    if device != "cpu":
        with pytest.raises(RuntimeError, match="same device"):
            tc.zeros(3)[tc.tensor([0], device=device)]


# -- x[index] = value ------------------------------------------------------------------------
def test_setitem_places_values_in_pytorch_layout(device):
    v = np.arange(6.0).reshape(3, 2) + 1
    x = tc.zeros(SHAPE, dtype=tc.float64, device=device)
    x[0, :, [0, 1]] = tc.tensor(v, dtype=tc.float64, device=device)
    expected = np.zeros(SHAPE)
    expected[0][:, [0, 1]] = v
    np.testing.assert_array_equal(to_numpy(x), expected)
    x[0, :, [0, 1]] = tc.tensor(v[None, None], dtype=tc.float64, device=device)  # leading 1s
    np.testing.assert_array_equal(to_numpy(x), expected)
    x[0, :, [2, 3]] = tc.tensor([7.0, 8.0], dtype=tc.float64, device=device)  # broadcast
    expected[0][:, [2, 3]] = [7.0, 8.0]
    np.testing.assert_array_equal(to_numpy(x), expected)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        x[0, :, [0, 1]] = tc.tensor(v.T.copy(), dtype=tc.float64, device=device)  # NumPy's (2, 3)


@pytest.mark.parametrize("name", ["int_slice_list", "list_none_list", "mask_int_mask",
                                  "two_ellipses", "true_slice_list", "tuple_index"])
def test_setitem_gradients_reach_value_and_base(device, name):
    make, shape, expr = CASES[name]
    rng = np.random.default_rng(2)
    xv, vv, wv = rng.standard_normal(SHAPE), rng.standard_normal(shape), rng.standard_normal(SHAPE)
    x = tc.tensor(xv, dtype=tc.float64, device=device, requires_grad=True)
    v = tc.tensor(vv, dtype=tc.float64, device=device, requires_grad=True)
    z = x.clone()
    z[make(device)] = v
    (z * tc.tensor(wv, dtype=tc.float64, device=device)).sum().backward()
    ids = expr(np.arange(24).reshape(SHAPE))
    written = np.isin(np.arange(24), ids).reshape(SHAPE)
    expected_z = xv.copy()
    expected_z.reshape(-1)[np.ravel(ids)] = np.ravel(vv)
    np.testing.assert_array_equal(to_numpy(z), expected_z)
    np.testing.assert_array_equal(to_numpy(x.grad), np.where(written, 0.0, wv))
    np.testing.assert_array_equal(to_numpy(v.grad), wv.reshape(-1)[ids])


def test_setitem_repeated_index_gives_value_gradient_to_each(device):
    v = tc.tensor([1.0, 2.0], dtype=tc.float64, device=device, requires_grad=True)
    z = tc.zeros(3, dtype=tc.float64, device=device)
    z[[0, 0]] = v * 1.0
    (z * tc.tensor([5.0, 6.0, 7.0], dtype=tc.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(v.grad), [5.0, 5.0])  # as PyTorch's index_put


@pytest.mark.parametrize("dtype, index, value, expected", [
    (tc.int64, 0, 2.7, [2, 0, 0]),
    (tc.int64, 0, -2.7, [-2, 0, 0]),
    (tc.int64, [0], 2.7, [2, 0, 0]),
    (tc.int32, slice(0, 2), -1.9, [-1, -1, 0]),
    (tc.bool, 0, 2.5, [True, False, False]),
    (tc.bool, 1, 0.0, [False, False, False]),
    (tc.float32, 0, True, [1.0, 0.0, 0.0]),
    (tc.float16, 0, 1e10, [np.inf, 0.0, 0.0]),
    (tc.int64, 0, np.int32(3), [3, 0, 0]),
    (tc.float32, 0, np.float64(2.5), [2.5, 0.0, 0.0]),
])
def test_setitem_scalar_converted_as_pytorch(device, dtype, index, value, expected):
    x = tc.zeros(3, dtype=dtype, device=device)
    x[index] = value
    assert x.dtype == dtype
    np.testing.assert_array_equal(to_numpy(x), np.array(expected, dtype=dtype.np))


@pytest.mark.parametrize("dtype, value, error", [
    (tc.int32, 2**40, RuntimeError),
    (tc.int64, 1e20, RuntimeError),
    (tc.int64, float("nan"), RuntimeError),
    (tc.int64, float("inf"), RuntimeError),
    (tc.float32, 1e300, RuntimeError),
    (tc.float32, 1 + 2j, RuntimeError),
    (tc.int64, 2**63, ValueError),
    (tc.float32, [1.0, 2.0], TypeError),
    (tc.float32, np.ones(3), TypeError),
    (tc.float32, None, TypeError),
    (tc.float32, "a", TypeError),
    (tc.float32, np.float32(1.5), TypeError),
])
def test_setitem_bad_scalar_raises_as_pytorch(device, dtype, value, error):
    x = tc.zeros(3, dtype=dtype, device=device)
    with pytest.raises(error):
        x[0] = value
    np.testing.assert_array_equal(to_numpy(x), np.zeros(3))


def test_setitem_tensor_dtypes(device):
    x = tc.zeros(3, dtype=tc.int64, device=device)
    x[0:2] = tc.tensor([1.5, -2.5], device=device)  # basic index: cast (truncation), as copy_
    np.testing.assert_array_equal(to_numpy(x), [1, -2, 0])
    with pytest.raises(RuntimeError, match="dtypes match"):
        x[[0, 1]] = tc.tensor([1.5, -2.5], device=device)  # advanced: dtypes must match
    x2 = tc.zeros(2, 3, dtype=tc.int64, device=device)
    with pytest.raises(RuntimeError, match="dtypes match"):
        x2[0, [1]] = tc.tensor([1.5], device=device)
    mask = tc.tensor([True, False, True], device=device)
    x[mask] = tc.tensor(7.9, dtype=tc.float64, device=device)  # one mask, one value: cast
    np.testing.assert_array_equal(to_numpy(x), [7, -2, 7])
    x[True] = tc.tensor(3.0, device=device)  # x[True] = v writes x.unsqueeze(0): cast
    np.testing.assert_array_equal(to_numpy(x), [3, 3, 3])
    x[False] = tc.ones(7, device=device)  # a no-op in PyTorch, whatever the value
    np.testing.assert_array_equal(to_numpy(x), [3, 3, 3])


def test_setitem_on_leaf_that_requires_grad(device):
    x = tc.zeros(3, device=device, requires_grad=True)
    v = tc.ones(1, device=device, requires_grad=True)
    for index, value in [(0, 1.0), ([0], v), (slice(0, 1), v), (Ellipsis, 2.0)]:
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x[index] = value
    x[False] = v  # PyTorch: a no-op before any check
    with tc.no_grad():
        x[1] = 5.0
    np.testing.assert_array_equal(to_numpy(x), [0.0, 5.0, 0.0])
    z = tc.zeros(3, device=device)
    z[[2]] = v * 1.0
    assert z.requires_grad and z.grad_fn is not None


# -- index_put -------------------------------------------------------------------------------
def test_index_put_accumulates_and_differentiates(device):
    x = tc.tensor([1.0, 2.0, 3.0, 4.0], dtype=tc.float64, device=device, requires_grad=True)
    w = tc.tensor([1.0, 2.0, 3.0], dtype=tc.float64, device=device, requires_grad=True)
    idx = (tc.tensor([0, 0, 3], device=device),)
    c = tc.tensor([1.0, 10.0, 100.0, 1000.0], dtype=tc.float64, device=device)
    z = x.index_put(idx, w, accumulate=True)
    np.testing.assert_array_equal(to_numpy(z), [4.0, 2.0, 3.0, 7.0])
    (z * c).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(to_numpy(w.grad), [1.0, 1.0, 1000.0])
    x.grad = w.grad = None
    z = x.clone()
    z.index_put_(idx, w)  # not accumulated: the last write wins, each value gets its gradient
    np.testing.assert_array_equal(to_numpy(z), [2.0, 2.0, 3.0, 3.0])
    (z * c).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 10.0, 100.0, 0.0])
    np.testing.assert_array_equal(to_numpy(w.grad), [1.0, 1.0, 1000.0])


def test_index_put_checks(device):
    x = tc.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match="dtypes match"):
        x.index_put((tc.tensor([0], device=device),), tc.ones(4, dtype=tc.float64, device=device))
    with pytest.raises(TypeError):
        x.index_put([0], tc.ones(4, device=device))
    with pytest.raises(IndexError):
        x.index_put((tc.tensor([0.0], device=device),), tc.ones(4, device=device))
    out = x.index_put((tc.tensor(1, device=device),), tc.ones(4, device=device))  # 0-d: advanced
    np.testing.assert_array_equal(to_numpy(out)[1], np.ones(4))
