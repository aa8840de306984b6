"""Reductions read and differentiate as PyTorch 2.13 does (issue 15, items 1, 3, 5, 6).

- NumPy's ``axis`` / ``keepdims`` are accepted wherever PyTorch accepts them, as functions and
  as Tensor methods; a name with its alias is a TypeError; ``dim=()`` reduces every dim.
- Repeated dims raise RuntimeError, dims out of range IndexError, non-int dims TypeError.
- Gradients at NaN, ties, zeros and infinities follow PyTorch's conventions: the expected
  values below are written out (they are PyTorch's, checked by hand against its formulas).
Every test runs on each backend through the ``device`` fixture.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc

NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():  # 0/0 and log(0) on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _x(device, dtype=tc.float32):
    xv = np.array([[1.0, 5.0, -2.0, 0.5], [4.0, -3.0, 2.5, 7.0], [0.25, 6.0, -1.0, 3.0]])
    return tc.tensor(xv, dtype=dtype, device=device), xv


def assert_same(actual, expected):
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=1e-12,
                               atol=0, equal_nan=True)


# -- item 3: NumPy's names ----------------------------------------------------------------------
# (NumPy-named call, PyTorch-named call): each pair must agree, as functions and as methods
ALIASED = {
    "sum": (lambda x: x.sum(axis=1, keepdims=True), lambda x: x.sum(dim=1, keepdim=True)),
    "tc.sum": (lambda x: tc.sum(x, axis=(0, 1)), lambda x: tc.sum(x, dim=(0, 1))),
    "sum-dtype": (lambda x: x.sum(axis=0, dtype=tc.float64),
                  lambda x: x.sum(dim=0, dtype=tc.float64)),
    "mean": (lambda x: x.mean(axis=0, keepdims=True), lambda x: x.mean(0, True)),
    "tc.mean": (lambda x: tc.mean(x, axis=-1), lambda x: tc.mean(x, -1)),
    "var": (lambda x: x.var(axis=1, keepdims=True), lambda x: x.var(1, keepdim=True)),
    "tc.var": (lambda x: tc.var(x, axis=1, correction=0), lambda x: tc.var(x, 1, correction=0)),
    "std": (lambda x: x.std(axis=0, unbiased=False), lambda x: x.std(0, False)),
    "prod": (lambda x: x.prod(axis=1, keepdims=True), lambda x: x.prod(1, keepdim=True)),
    "tc.prod": (lambda x: tc.prod(x, axis=0), lambda x: tc.prod(x, 0)),
    "amax": (lambda x: x.amax(axis=(0, 1)), lambda x: x.amax(dim=(0, 1))),
    "tc.amin": (lambda x: tc.amin(x, axis=1, keepdims=True), lambda x: tc.amin(x, 1, True)),
    "argmax": (lambda x: x.argmax(axis=1), lambda x: x.argmax(1)),
    "tc.argmin": (lambda x: tc.argmin(x, axis=0, keepdims=True), lambda x: tc.argmin(x, 0, True)),
    "argmax-none": (lambda x: x.argmax(axis=None), lambda x: x.argmax()),
    "logsumexp": (lambda x: x.logsumexp(axis=1), lambda x: x.logsumexp(1)),
    "tc.logsumexp": (lambda x: tc.logsumexp(x, axis=0, keepdims=True),
                     lambda x: tc.logsumexp(x, 0, True)),
    "all": (lambda x: (x > 0).all(axis=1), lambda x: (x > 0).all(1)),
    "tc.any": (lambda x: tc.any(x > 6, axis=0, keepdims=True), lambda x: tc.any(x > 6, 0, True)),
    "softmax": (lambda x: x.softmax(axis=1), lambda x: x.softmax(1)),
    "tc.softmax": (lambda x: tc.softmax(x, axis=0), lambda x: tc.softmax(x, 0)),
    "log_softmax": (lambda x: x.log_softmax(axis=0), lambda x: x.log_softmax(0)),
    "tc.log_softmax": (lambda x: tc.log_softmax(x, axis=1, dtype=tc.float64),
                       lambda x: tc.log_softmax(x, 1, tc.float64)),
}


@pytest.mark.parametrize("name", list(ALIASED))
def test_numpy_names_mean_the_pytorch_names(device, name):
    numpy_style, torch_style = ALIASED[name]
    x, _ = _x(device)
    a, b = numpy_style(x), torch_style(x)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


@pytest.mark.parametrize("largest", [True, False])
def test_max_min_with_axis_give_values_and_indices(device, largest):
    x, xv = _x(device)
    fn = tc.max if largest else tc.min
    out = fn(x, axis=1, keepdims=True)
    method = (x.max if largest else x.min)(axis=0)
    np_red, np_arg = (np.max, np.argmax) if largest else (np.min, np.argmin)
    np.testing.assert_array_equal(to_numpy(out.values), np_red(xv, 1, keepdims=True))
    np.testing.assert_array_equal(to_numpy(out.indices), np_arg(xv, 1, keepdims=True))
    np.testing.assert_array_equal(to_numpy(method.indices), np_arg(xv, 0))


def test_numpy_names_forward_gradients(device):
    x = tc.tensor(np.arange(6.0).reshape(2, 3), device=device, requires_grad=True)
    x.sum(axis=1, keepdims=True).mean(axis=0).backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((2, 3), 0.5))


@pytest.mark.parametrize("call", [
    lambda x: x.sum(1, axis=1),
    lambda x: x.sum(dim=1, axis=1),
    lambda x: tc.mean(x, dim=0, axis=0),
    lambda x: x.sum(0, keepdim=True, keepdims=True),
    lambda x: x.var(dim=1, axis=1),
    lambda x: x.max(dim=1, axis=1),
    lambda x: x.argmax(1, axis=1),
    lambda x: x.softmax(1, axis=1),
    lambda x: x.softmax(1, keepdims=True),  # softmax has no keepdim (nor does PyTorch's)
    lambda x: x.log_softmax(dim=0, keepdim=True),
], ids=range(10))
def test_a_name_with_its_alias_or_an_unknown_keyword_is_a_type_error(device, call):
    x, _ = _x(device)
    with pytest.raises(TypeError):
        call(x)


# -- item 3: dim=() and dim=[] -----------------------------------------------------------------
LIST_REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), np.sum),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), np.mean),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda v, keepdims: np.var(v, ddof=1,
                                                                              keepdims=keepdims)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda v, keepdims: np.std(v, ddof=1,
                                                                              keepdims=keepdims)),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), np.max),
    "amin": (lambda x, d, k: x.amin(d, keepdim=k), np.min),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k),
                  lambda v, keepdims: np.log(np.exp(v).sum(keepdims=keepdims))),
}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("empty", [(), []], ids=["tuple", "list"])
@pytest.mark.parametrize("name", list(LIST_REDUCTIONS))
def test_empty_dim_list_reduces_every_dim(device, name, empty, keepdim):
    fn, np_fn = LIST_REDUCTIONS[name]
    x, xv = _x(device, tc.float64)
    if name == "logsumexp" and not keepdim:  # PyTorch 2.13 raises there (shapes disagree)
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            fn(x, empty, keepdim)
        return
    out = fn(x, empty, keepdim)
    expected = np_fn(xv, keepdims=keepdim)
    assert out.shape == np.shape(expected) == ((1, 1) if keepdim else ())
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12)


@pytest.mark.parametrize("empty", [(), []], ids=["tuple", "list"])
@pytest.mark.parametrize("name", list(LIST_REDUCTIONS))
def test_empty_dim_list_gradient_is_the_full_reductions(device, name, empty):
    fn = LIST_REDUCTIONS[name][0]
    grads = []
    for dims in (empty, (0, 1)):
        x = tc.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=tc.float64, device=device,
                      requires_grad=True)
        fn(x, dims, name == "logsumexp").sum().backward()
        grads.append(to_numpy(x.grad))
    assert np.isfinite(grads[0]).all()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_all_any_empty_dim_list_reduces_nothing(device):
    x = tc.tensor([[0.0, 2.0], [3.0, 0.0]], device=device)
    for fn in (tc.all, tc.any):
        out = fn(x, dim=())
        assert out.dtype == tc.bool and out.shape == (2, 2)
        np.testing.assert_array_equal(to_numpy(out), [[False, True], [True, False]])
    assert tc.all(x, dim=(0, 1)).item() is False and tc.any(x, ()).shape == (2, 2)


# -- item 6: dims PyTorch refuses -----------------------------------------------------------------
DIM_LIST_OPS = {
    "sum": lambda x, d: x.sum(d), "mean": lambda x, d: x.mean(d), "var": lambda x, d: x.var(d),
    "std": lambda x, d: x.std(d), "amax": lambda x, d: x.amax(d), "amin": lambda x, d: x.amin(d),
    "logsumexp": lambda x, d: x.logsumexp(d), "all": lambda x, d: x.all(d),
    "any": lambda x, d: x.any(d), "tc.sum": lambda x, d: tc.sum(x, axis=d),
}


@pytest.mark.parametrize("dims", [(0, 0), (0, -2), (1, 0, 1), [-1, 1]], ids=str)
@pytest.mark.parametrize("name", list(DIM_LIST_OPS))
def test_repeated_dims_raise_runtime_error(device, name, dims):
    x, _ = _x(device)
    with pytest.raises(RuntimeError, match="appears multiple times in the list of dims"):
        DIM_LIST_OPS[name](x, dims)


def test_repeated_dim_on_a_0d_tensor_raises(device):
    s = tc.tensor(2.0, device=device)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        s.sum((0, -1))


ONE_DIM_OPS = {
    "argmax": lambda x, d: x.argmax(d), "argmin": lambda x, d: x.argmin(d),
    "max": lambda x, d: x.max(d), "min": lambda x, d: x.min(d), "prod": lambda x, d: x.prod(d),
    "softmax": lambda x, d: x.softmax(d), "log_softmax": lambda x, d: x.log_softmax(d),
}


@pytest.mark.parametrize("name", list(DIM_LIST_OPS) + list(ONE_DIM_OPS))
@pytest.mark.parametrize("dim", [2, -3, (0, 2), (-3,)], ids=str)
def test_dims_out_of_range_raise_index_error(device, name, dim):
    fn = {**DIM_LIST_OPS, **ONE_DIM_OPS}[name]
    if name in ONE_DIM_OPS and isinstance(dim, tuple):
        dim = dim[-1]
    x, _ = _x(device)
    with pytest.raises(IndexError, match="Dimension out of range"):
        fn(x, dim)


@pytest.mark.parametrize("name", list(ONE_DIM_OPS))
@pytest.mark.parametrize("dim", [(0,), [1], (), (0, 1)], ids=str)
def test_single_dim_ops_refuse_dim_lists(device, name, dim):
    x, _ = _x(device)
    with pytest.raises(TypeError, match="must be int"):
        ONE_DIM_OPS[name](x, dim)


@pytest.mark.parametrize("name", list(DIM_LIST_OPS) + list(ONE_DIM_OPS))
@pytest.mark.parametrize("dim", [1.0, "a", (1.0,), True], ids=str)
def test_non_integer_dims_raise_type_error(device, name, dim):
    fn = {**DIM_LIST_OPS, **ONE_DIM_OPS}[name]
    if name in ("var", "std") and dim is True:
        return  # var(True) is PyTorch's var(unbiased=True)
    x, _ = _x(device)
    with pytest.raises(TypeError):
        fn(x, dim)


def test_integer_like_dims_are_accepted(device):
    x, xv = _x(device)
    np.testing.assert_allclose(to_numpy(x.sum(np.int64(1))), xv.sum(1), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(x.amax((np.int32(0), 1))), xv.max(), rtol=1e-6)
    assert x.argmax(tc.tensor(1)).tolist() == list(xv.argmax(1))


@pytest.mark.parametrize("name", list(DIM_LIST_OPS) + list(ONE_DIM_OPS))
def test_0d_tensor_takes_dims_0_and_minus_1(device, name):
    fn = {**DIM_LIST_OPS, **ONE_DIM_OPS}[name]
    s = tc.tensor(1.5, device=device)
    for d in (0, -1):
        out = fn(s, d)
        out = out[0] if isinstance(out, tuple) else out
        assert out.shape == ()
    with pytest.raises(IndexError):
        fn(s, 1)


def test_var_bool_first_argument_is_unbiased(device):
    x, xv = _x(device, tc.float64)
    assert x.var(False).item() == pytest.approx(np.var(xv))
    assert x.std(True).item() == pytest.approx(np.std(xv, ddof=1))
    np.testing.assert_allclose(to_numpy(x.var(1, False)), np.var(xv, 1), rtol=1e-12)
    with pytest.raises(TypeError):
        x.var(1, unbiased=False, correction=0)


def test_var_std_refuse_integer_tensors(device):
    i = tc.tensor([[1, 2], [3, 4]], device=device)
    for fn in (tc.var, tc.std):
        with pytest.raises(RuntimeError, match="floating point"):
            fn(i)


def test_argmax_refuses_bool_but_max_takes_it(device):
    b = tc.tensor([[True, False], [False, False]], device=device)
    with pytest.raises(RuntimeError, match="bool"):
        b.argmax()
    values, indices = b.max(0)
    assert values.tolist() == [True, False] and indices.tolist() == [0, 0]


@pytest.mark.parametrize("fn,error", [
    (lambda e: e.max(), RuntimeError), (lambda e: e.amax(), RuntimeError),
    (lambda e: e.argmax(), IndexError), (lambda e: e.max(0), IndexError),
    (lambda e: e.amin(0), IndexError), (lambda e: e.argmin(0), IndexError),
], ids=range(6))
def test_extremes_of_empty_slices_raise(device, fn, error):
    with pytest.raises(error, match="Expected reduction dim"):
        fn(tc.zeros(0, 3, device=device))


def test_extremes_over_a_nonempty_dim_of_an_empty_tensor(device):
    e = tc.zeros(0, 3, device=device)
    assert e.amax(1).shape == (0,) and e.max(1).indices.shape == (0,)
    assert e.argmin(1).shape == (0,)


def test_dtype_keyword_casts_first(device):
    i = tc.tensor([[1, 2], [3, 4]], dtype=tc.int32, device=device)
    assert i.sum().dtype == tc.int64 and i.sum(dtype=tc.int32).dtype == tc.int32
    x = tc.tensor([[1.7, 2.6]], device=device)
    assert x.sum(dtype=tc.int64).item() == 3  # each value truncated, then summed
    p = x.prod(1, dtype=tc.float64)
    assert p.dtype == tc.float64 and p.item() == pytest.approx(1.7 * 2.6, rel=1e-6)


def test_softmax_of_integers_and_empty_tensors(device):
    with pytest.raises(NotImplementedError):
        tc.tensor([1, 2], device=device).softmax(0)
    assert tc.tensor([1, 2], device=device).softmax(0, dtype=tc.float32).dtype == tc.float32
    for fn in (tc.softmax, tc.log_softmax):
        assert fn(tc.zeros(0, 3, device=device), 0).shape == (0, 3)
    assert tc.tensor([1, 2], device=device).logsumexp(0).dtype == tc.float32
