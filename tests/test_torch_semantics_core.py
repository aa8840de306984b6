"""Engine and construction cases where tensorcore silently differed from PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F


class TestZeroDimGradients:
    """Two 0-d gradients summed by NumPy give a scalar, not an array: the engine keeps them
    arrays, so a later backward still accumulates into ``.grad``."""

    def test_leaf_used_twice_then_again(self, device):
        v = tc.tensor(1.5, dtype=tc.float64, device=device, requires_grad=True)
        (v * 2.0 + v * 3.0).backward()
        assert v.grad.item() == 5.0
        (v * 2.0).backward()
        assert v.grad.item() == 7.0
        (v * v).backward()
        assert v.grad.item() == 10.0

    def test_non_leaf_used_twice(self, device):
        v = tc.tensor(2.0, dtype=tc.float64, device=device, requires_grad=True)
        u = v * 3.0  # a node whose output gets two 0-d gradients
        (u * u + u).backward()
        assert v.grad.item() == pytest.approx(3.0 * (2 * 6.0 + 1))
        (v * 4.0).backward()
        assert v.grad.item() == pytest.approx(39.0 + 4.0)


class TestConstructionDtype:
    """``tensor(floats, dtype=float64)`` is built from the float64 values themselves, not
    from their rounding to the default float32."""

    def test_float64_keeps_its_digits(self, device):
        t = tc.tensor([0.1, 1e300, -1e-300], dtype=tc.float64, device=device)
        np.testing.assert_array_equal(to_numpy(t), np.array([0.1, 1e300, -1e-300]))
        assert tc.tensor(0.1, dtype=tc.float64, device=device).item() == 0.1

    def test_default_dtype_unchanged(self, device):
        t = tc.tensor([0.1], device=device)
        assert t.dtype == tc.float32
        assert t.item() == np.float32(0.1)

    def test_floats_into_integers_truncate(self, device):
        t = tc.tensor([1.7, -1.7, 2.5], dtype=tc.int64, device=device)
        assert to_numpy(t).tolist() == [1, -1, 2]


class TestRequiresGradIsABool:
    """``requires_grad=`` of the creation functions and ``Parameter`` takes a bool (None
    means False, as in PyTorch): ``requires_grad=1`` is a TypeError there too."""

    @pytest.mark.parametrize("make", [
        lambda rg: tc.ones(2, requires_grad=rg), lambda rg: tc.zeros(2, requires_grad=rg),
        lambda rg: tc.randn(2, requires_grad=rg), lambda rg: tc.full((2,), 1.0, requires_grad=rg),
        lambda rg: tc.nn.Parameter(tc.ones(2), requires_grad=rg),
    ])
    def test_int_is_refused(self, make):
        with pytest.raises(TypeError, match="requires_grad"):
            make(1)
        assert make(True).requires_grad and not make(False).requires_grad

    def test_none_is_false(self):
        assert not tc.zeros(2, requires_grad=None).requires_grad


def test_fused_relu_backward_is_a_select(device):
    # sqrt'(0) is inf: PyTorch's relu backward selects, so the gradient where relu gave 0 is
    # 0, not inf * 0 = NaN (on every kernel path of linear_act)
    import tensorcore.nn.functional as F

    x = tc.tensor([[-1.0, 4.0]], dtype=tc.float64, device=device, requires_grad=True)
    eye = tc.eye(2, dtype=tc.float64, device=device)
    F.linear_act(x, eye, None, "relu").sqrt().sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [[0.0, 0.25]])


@pytest.mark.parametrize("shape", [(0,), (0, 2), (3, 0, 1)])
def test_in_place_ops_on_empty_tensors(device, shape):
    # an empty array has zero strides in NumPy: it is not an expanded (overlapping) tensor
    x = tc.zeros(*shape, device=device, requires_grad=True)
    z = x.clone()
    z.add_(2.0)
    z.mul_(3.0)
    z[...] = 1.0
    z.sum().backward()
    assert x.grad.shape == shape


class TestInPlaceActivations:
    """The in-place activations save what PyTorch's save: their output is the written tensor
    itself (also a view), so a later change of it is refused at backward."""

    @pytest.mark.parametrize("act", [
        lambda z: F.relu(z, inplace=True), lambda z: F.elu(z, inplace=True),
        lambda z: F.leaky_relu(z, 0.1, inplace=True)])
    @pytest.mark.parametrize("through_view", [False, True])
    def test_changing_the_output_again_is_refused(self, device, act, through_view):
        x = tc.tensor([[-1.0, 2.0], [0.5, -3.0]], device=device, requires_grad=True)
        base = x * 1.0
        z = base[0] if through_view else base
        act(z)
        z.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            base.sum().backward()

    def test_leaky_relu_in_place_with_a_negative_slope_refuses_backward(self, device):
        x = tc.tensor([-1.0, 2.0], device=device, requires_grad=True)
        y = F.leaky_relu(x * 1.0, -0.5, inplace=True)
        with pytest.raises(RuntimeError, match="negative slope"):
            y.sum().backward()

    def test_leaky_relu_in_place_gradient(self, device):
        x = tc.tensor([-1.0, 2.0, -3.0], dtype=tc.float64, device=device, requires_grad=True)
        (F.leaky_relu(x * 1.0, 0.25, inplace=True) * tc.tensor(
            [1.0, 2.0, 3.0], dtype=tc.float64, device=device)).sum().backward()
        np.testing.assert_array_equal(to_numpy(x.grad), [0.25, 2.0, 0.75])


@pytest.mark.parametrize("dtype", [tc.int64, tc.int32, tc.bool])
def test_writing_a_tensor_that_needs_grad_into_integers_records_nothing(device, dtype):
    # integer and bool tensors never require grad (PyTorch: no grad_fn after the write)
    x = tc.tensor([1.5, 0.0], device=device, requires_grad=True)
    z = tc.zeros(2, dtype=dtype, device=device)
    z[0] = x[0]
    z.copy_(x)
    assert not z.requires_grad and z.grad_fn is None
    assert z.dtype == dtype


def test_the_order_of_a_zero_slice_step_and_too_many_indices(device):
    # as PyTorch: a lone slice on a 0-d tensor is refused for its step; in a tuple, the
    # count of indices is checked first
    z = tc.tensor(1.5, device=device)
    with pytest.raises(ValueError, match="step"):
        z[-2:-2:0] = tc.tensor(-0.5, device=device)
    with pytest.raises(IndexError, match="too many indices"):
        tc.tensor([-2.5], device=device)[-1::0, -1::0]


def test_std_of_float32_values_whose_squares_overflow(device):
    # the squares (1e60) overflow float32: accumulated in float64, as PyTorch, the std fits
    x = tc.tensor([1e30, -1e30], device=device)
    assert x.std().item() == pytest.approx(np.sqrt(2.0) * 1e30, rel=1e-6)
    assert x.var().item() == np.inf  # 2e60 itself does not fit float32


@pytest.mark.parametrize("other", [None, "a", [1], (1,)])
def test_equality_with_a_non_number_is_false(device, other):
    # PyTorch: t == None is False and t != None True (Python's own answer); tc.eq refuses
    t = tc.tensor([1], device=device)
    assert (t == other) is False and (t != other) is True
    with pytest.raises(TypeError):
        tc.eq(t, None)
