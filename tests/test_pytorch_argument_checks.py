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
