"""Shape, creation and reduction ops read and check their arguments as PyTorch 2.13 does
(issue 15, differential findings): what PyTorch refuses raises the same error class, in
PyTorch's order of checks, and the edge cases it accepts give its results.

- A required size or dims argument left out (``zeros()``, ``x.view()``, ``x.permute()`` ...)
  is a TypeError; an explicit empty one (``x.view(())``) is the 0-d shape.
- ``x.mT`` / ``x.mH`` / ``x.H`` refuse the ranks PyTorch refuses; on a 0-d tensor they (and
  ``x.T``) are the tensor itself.
- ``split`` / ``chunk`` of a 0-d tensor, ``stack`` with a dim out of range, ``permute`` with a
  repeated dim before one out of range: PyTorch's errors.
- ``arange``: PyTorch's checks (bool dtype, step sign, non-finite bounds) and its integer
  results for fractional bounds.
Every test runs on each backend through the ``device`` fixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc


def _x(device, shape=(2, 3, 4)):
    xv = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) - 5.0
    return tc.tensor(xv, device=device), xv


# -- required size / dims arguments -------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda d, x: tc.zeros(device=d), lambda d, x: tc.ones(device=d),
    lambda d, x: tc.empty(device=d), lambda d, x: tc.rand(device=d),
    lambda d, x: tc.randn(device=d), lambda d, x: x.reshape(), lambda d, x: x.view(),
    lambda d, x: x.expand(), lambda d, x: x.permute(), lambda d, x: x.repeat(),
    lambda d, x: x.sum_to_size(), lambda d, x: tc.zeros(2.5, device=d),
    lambda d, x: tc.ones((2, True), device=d), lambda d, x: tc.zeros(2, size=(2,), device=d),
], ids=range(14))
@pytest.mark.parametrize("ndim", [0, 2])
def test_missing_or_wrong_sizes_are_type_errors(device, call, ndim):
    x = tc.ones([2] * ndim, device=device)
    with pytest.raises(TypeError):
        call(device, x)


def test_explicit_empty_sizes_are_the_0d_shape(device):
    s = tc.tensor(3.0, device=device)
    for out in (s.reshape(()), s.view(()), s.expand(()), s.permute(()), s.repeat(()),
                s.view([]), tc.zeros((), device=device) + s, tc.ones([], device=device) * s):
        assert out.shape == () and out.item() == 3.0
    assert tc.zeros(size=(2, 3), device=device).shape == (2, 3)
    assert tc.randn(size=[4], device=device).shape == (4,)
    assert tc.ones(tc.tensor(2), np.int64(3), device=device).shape == (2, 3)


# -- mT, mH, H, T -------------------------------------------------------------------------
def test_matrix_transposes(device):
    x, xv = _x(device)
    np.testing.assert_array_equal(to_numpy(x.mT), np.swapaxes(xv, -1, -2))
    np.testing.assert_array_equal(to_numpy(x.mH), np.swapaxes(xv, -1, -2))
    np.testing.assert_array_equal(to_numpy(x.T), xv.transpose(2, 1, 0))
    np.testing.assert_array_equal(to_numpy(x[0].H), xv[0].T)
    for t, name in ((tc.ones(3, device=device), "mT"), (tc.zeros(0, device=device), "mT"),
                    (tc.ones(3, device=device), "mH"), (tc.ones(3, device=device), "H"),
                    (x, "H")):
        with pytest.raises(RuntimeError, match=f"tensor.{name} is only supported"):
            getattr(t, name)


@pytest.mark.parametrize("name", ["T", "mT", "mH", "H"])
def test_transposes_of_a_0d_tensor_are_the_tensor(device, name):
    s = tc.tensor(2.5, dtype=tc.float64, device=device, requires_grad=True)
    out = getattr(s, name)
    assert out.shape == () and out.item() == 2.5
    (out * 3.0).backward()
    assert s.grad.item() == 3.0


# -- permute, split, chunk, stack: PyTorch's errors, in its order ---------------------------
@pytest.mark.parametrize("dims,error", [
    ((0, 0, -5, -4), RuntimeError),  # the repeat is seen before the dim out of range
    ((0, -5, 0, -4), IndexError),
    ((0, 1, 2), RuntimeError),  # the count is checked first, whatever the dims
    ((0, 9, 1), RuntimeError),
])
def test_permute_checks_in_pytorch_order(device, dims, error):
    x = tc.ones(1, 2, 3, 4, device=device)
    with pytest.raises(error):
        x.permute(*dims)
    with pytest.raises(RuntimeError, match="number of dimensions"):
        tc.ones(3, device=device).permute(())


def test_permute_values_and_gradient(device):
    x, xv = _x(device)
    x.requires_grad_()
    out = x.permute(2, 0, 1)
    np.testing.assert_array_equal(to_numpy(out), xv.transpose(2, 0, 1))
    g = np.arange(24.0).reshape(4, 2, 3)
    out.backward(tc.tensor(g, device=device))
    np.testing.assert_array_equal(to_numpy(x.grad), g.transpose(1, 2, 0))


@pytest.mark.parametrize("call", [
    lambda s: s.split(1, 0), lambda s: s.split((), 0), lambda s: s.split(-1, 5),
    lambda s: s.split([1, -1], -2), lambda s: tc.split(s, 1), lambda s: s.chunk(1, -1),
    lambda s: s.chunk(0, 3),
], ids=range(7))
def test_split_and_chunk_of_0d_raise_runtime_error(device, call):
    with pytest.raises(RuntimeError, match="expects at least a 1-dimensional tensor"):
        call(tc.tensor(4.0, device=device))


def test_split_and_chunk_check_sizes_before_the_dim(device):
    x = tc.ones(2, device=device)
    with pytest.raises(RuntimeError, match="greater than 0"):
        x.chunk(0, 5)
    with pytest.raises(RuntimeError, match="non-negative"):
        x.split(-1, 5)
    with pytest.raises(IndexError):
        x.split([1, 1], 5)  # sections: the dim first
    with pytest.raises(TypeError):
        tc.tensor(1.0, device=device).chunk(1, 0.5)
    assert [p.tolist() for p in tc.arange(5.0, device=device).split(2)] == [
        [0.0, 1.0], [2.0, 3.0], [4.0]]


def test_stack_checks_the_dim_before_the_sizes(device):
    a, b = tc.ones(2, device=device), tc.ones(4, device=device)
    with pytest.raises(IndexError):
        tc.stack([a, b], 2)
    with pytest.raises(RuntimeError, match="equal size"):
        tc.stack([a, b], 1)


# -- arange ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args,kwargs,error", [
    ((-1,), {}, RuntimeError), ((1, 0), {}, RuntimeError), ((0, 1, -0.5), {}, RuntimeError),
    ((-1.5,), {}, RuntimeError), ((0, 1, 0), {}, RuntimeError),
    ((float("nan"),), {}, RuntimeError), ((0, float("inf")), {}, RuntimeError),
    ((8,), {"dtype": tc.bool}, NotImplementedError),
    ((0, 1, 0), {"dtype": tc.bool}, NotImplementedError),  # the dtype is checked first
    ((0, 2.5, 0.5), {"dtype": tc.int64}, ValueError),  # the step truncates to 0
    (("a",), {}, TypeError), ((tc.ones(2),), {}, TypeError),
])
def test_arange_refuses_what_pytorch_refuses(device, args, kwargs, error):
    with pytest.raises(error):
        tc.arange(*args, device=device, **kwargs)


@pytest.mark.parametrize("args,dtype,expected", [
    ((2.5,), tc.int64, [0, 1]),  # int64: the bounds truncated, then counted
    ((-1.5, 7.25, 2.5), tc.int64, [-1, 1, 3, 5]),
    ((-1.5, 2, 2), tc.int32, [-1, 1]),  # other integers: counted from the exact bounds
    ((0.5, 2.5, 0.5), tc.int32, [0, 0, 0, 0]),
    ((2.5,), tc.int32, [0, 1, 2]),
    ((1, 1, -1), None, []),
    ((np.int64(3),), None, [0, 1, 2]),
    ((True,), None, [0]),
])
def test_arange_integer_results(device, args, dtype, expected):
    out = tc.arange(*args, dtype=dtype, device=device)
    assert out.dtype == (dtype or tc.int64)
    assert out.tolist() == expected


def test_arange_float_values(device):
    out = tc.arange(-1.5, 2, 0.5, dtype=tc.float64, device=device)
    np.testing.assert_array_equal(to_numpy(out), np.arange(-1.5, 2, 0.5))
    assert tc.arange(tc.tensor(3.0), device=device).dtype == tc.float32


# -- reductions: keepdim needs a dim where PyTorch has only op() and op(dim, keepdim) -----------
@pytest.mark.parametrize("call", [
    lambda x: x.sum(keepdim=True), lambda x: x.sum(keepdims=False),
    lambda x: tc.sum(x, keepdim=True), lambda x: x.mean(keepdim=False, dtype=tc.float64),
    lambda x: x.prod(keepdim=True), lambda x: x.prod(None), lambda x: x.prod(dim=None),
    lambda x: x.max(keepdim=True), lambda x: x.min(keepdims=False), lambda x: x.max(None),
    lambda x: tc.max(x, keepdim=True), lambda x: x.max(x, keepdim=True),
    lambda x: x.sum(0, 1), lambda x: x.amax(0, None), lambda x: x.argmax(0, "yes"),
    lambda x: x.std(keepdim=False, unbiased=True), lambda x: x.var(unbiased=False, keepdims=True),
    lambda x: x.var(True, keepdim=True), lambda x: x.std(True, True),
    lambda x: x.var(0, 1), lambda x: x.std(unbiased=True, correction=1),
    lambda x: x.logsumexp(None), lambda x: x.logsumexp(dim=None), lambda x: x.logsumexp(),
    lambda x: x.argmax(dim=()), lambda x: x.bool().argmin([0]),
], ids=range(26))
def test_reduction_arguments_pytorch_refuses(device, call):
    x = tc.ones(2, 3, device=device)
    with pytest.raises(TypeError):
        call(x)


def test_reduction_forms_pytorch_accepts(device):
    xv = np.arange(6.0).reshape(2, 3) ** 1.5
    x = tc.tensor(xv, device=device)
    cases = [
        (x.sum(dim=None, keepdim=True), xv.sum(keepdims=True)),
        (x.sum(axis=None, keepdims=True), xv.sum(keepdims=True)),
        (tc.sum(x, None, True), xv.sum(keepdims=True)),
        (x.mean(None, True), xv.mean(keepdims=True)),
        (x.prod(0, True), xv.prod(0, keepdims=True)),
        (x.max(axis=1, keepdims=True)[0], xv.max(1, keepdims=True)),
        (x.amax(keepdim=True), xv.max(keepdims=True)),
        (x.std(keepdims=True), xv.std(ddof=1, keepdims=True)),
        (x.var(None, True, True), xv.var(ddof=1, keepdims=True)),
        (x.var(dim=None, unbiased=False, keepdim=True), xv.var(keepdims=True)),
        (x.std(True), xv.std(ddof=1)), (x.var(False), xv.var()),
        (x.std(correction=0, keepdim=True), xv.std(keepdims=True)),
        (x.logsumexp((), keepdim=True), np.log(np.exp(xv).sum(keepdims=True))),
        (x.argmax(keepdim=True), np.array([[5]])),
    ]
    for out, expected in cases:
        assert out.shape == expected.shape
        np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12)


def test_logsumexp_empty_dim_list_without_keepdim(device):
    # PyTorch 2.13 raises for a non-empty input of rank >= 1 (and reduces everything otherwise)
    with pytest.raises(RuntimeError, match="broadcast shape"):
        tc.ones(2, 3, device=device).logsumexp(())
    assert tc.tensor(2.0, device=device).logsumexp(()).item() == 2.0
    out = tc.zeros(0, 3, device=device).logsumexp([])
    assert out.shape == () and out.item() == -np.inf


def test_reduction_checks_come_in_pytorch_order(device):
    x = tc.ones(2, 3, 4, device=device)
    with pytest.raises(IndexError):
        x.sum((2, -1, 3))  # every dim in range first, then no repeat
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.sum((2, -1))
    with pytest.raises(IndexError):
        x.amax([2, 2, -4])
    with pytest.raises(IndexError):
        x.all([0, 0, 3])
    with pytest.raises(IndexError, match="non-zero size"):
        tc.ones(3, 0, device=device).amax((1, 1))  # an empty dim before the repeat
    with pytest.raises(RuntimeError, match="appears multiple times"):
        tc.ones(3, 0, device=device).amin((0, 0))
    for call in (lambda: tc.ones(2, dtype=tc.int64, device=device).mean(-3),
                 lambda: x.mean(-5, dtype=tc.int64)):
        with pytest.raises(RuntimeError, match="could not infer output dtype"):
            call()  # the dtype before the dim
    with pytest.raises(TypeError):
        tc.ones(2, dtype=tc.int64, device=device).std(keepdim=False, unbiased=False)
    with pytest.raises(RuntimeError, match="floating point"):
        tc.ones(2, dtype=tc.int64, device=device).std(keepdim=False)


@pytest.mark.parametrize("op", ["sum", "prod"])
def test_integer_dtype_of_a_reduction_needing_a_gradient(device, op):
    x = tc.tensor([1.5, 2.5, 3.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="Autograd not support dtype"):
        getattr(x, op)(dtype=tc.int64)
    with tc.no_grad():
        out = getattr(x, op)(dtype=tc.int64)
    assert out.dtype == tc.int64 and out.item() == 6  # of the truncated [1, 2, 3]
    assert getattr(x.detach(), op)(0, dtype=tc.int64).item() == 6


# -- softmax / log_softmax of integers ------------------------------------------------------
@pytest.mark.parametrize("fn", [tc.nn.functional.softmax, tc.nn.functional.log_softmax,
                                tc.Tensor.softmax, tc.Tensor.log_softmax])
def test_softmax_of_integers(device, fn):
    empty = tc.zeros(0, 2, dtype=tc.int64, device=device)
    out = fn(empty, 1)
    assert out.shape == (0, 2) and out.dtype == tc.int64  # no kernel runs, as in PyTorch
    with pytest.raises(IndexError):
        fn(tc.ones(2, 2, dtype=tc.int64, device=device), 2)  # the dim before the dtype
    with pytest.raises(NotImplementedError):
        fn(tc.ones(2, 2, dtype=tc.int64, device=device), 1)
    out = fn(tc.tensor([[0, 0]], device=device), 1, dtype=tc.float64)
    expected = [[0.5, 0.5]] if "log" not in fn.__name__ else [[np.log(0.5)] * 2]
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12)
