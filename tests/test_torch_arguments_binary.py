"""Binary elementwise ops take the arguments PyTorch takes, and refuse the others with its
error class (issue 15, items 4 and 6; found by the differential suite):

* ``maximum``, ``minimum``, ``logical_and/or/xor`` take two tensors: a number, a list or an
  array on either side is a TypeError (functions and methods);
* ``tc.eq/ne/lt/le/gt/ge`` take a tensor first (a number second); the operators still
  reflect (``3 < t``);
* ``clamp``/``clip`` bounds are both numbers or both tensors (either may be None);
* shapes that do not broadcast are a RuntimeError for the logical and bitwise ops too;
* ``add``/``sub`` with ``alpha`` compute ``alpha * other`` in the result type (a 0-d float64
  with a bool tensor is float64; a bool result takes alpha as a bool), check alpha against
  it, and refuse a bool operand of ``sub`` before alpha is applied;
* a finite number beyond float16's (float32's) range is refused as a clamp bound, an alpha
  or a float16 exponent (RuntimeError, as PyTorch's checked conversion);
* integer ``//``, ``%``, ``fmod`` and ``div(rounding_mode=...)`` by zero raise only when the
  result is not empty.

Expected values are written out.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc

TWO_TENSOR_OPS = {"maximum": tc.maximum, "minimum": tc.minimum,
                  "logical_and": tc.logical_and, "logical_or": tc.logical_or,
                  "logical_xor": tc.logical_xor}


@pytest.mark.parametrize("name", list(TWO_TENSOR_OPS))
@pytest.mark.parametrize("other", [0, 2.5, True, [1.0, 2.0], np.array([1.0, 2.0]),
                                   np.float64(1.0)],
                         ids=["int", "float", "bool", "list", "array", "np-float"])
def test_two_tensor_ops_refuse_anything_else(device, name, other):
    fn = TWO_TENSOR_OPS[name]
    t = tc.tensor([1.0, 3.0], device=device)
    with pytest.raises(TypeError, match="must be Tensor"):
        fn(t, other)
    with pytest.raises(TypeError, match="must be Tensor"):
        fn(other, t)
    with pytest.raises(TypeError, match="must be Tensor"):
        getattr(t, name)(other)


@pytest.mark.parametrize("name,expected", [
    ("maximum", [2.0, 3.0]), ("minimum", [1.0, 2.0]), ("logical_and", [True, True]),
    ("logical_or", [True, True]), ("logical_xor", [False, False])])
def test_two_tensor_ops_with_tensors(device, name, expected):
    a = tc.tensor([1.0, 3.0], device=device)
    b = tc.tensor(2.0, device=device)
    np.testing.assert_array_equal(to_numpy(TWO_TENSOR_OPS[name](a, b)), expected)
    np.testing.assert_array_equal(to_numpy(getattr(a, name)(b)), expected)


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor", "bitwise_and",
                                  "bitwise_or", "bitwise_xor"])
def test_logical_and_bitwise_ops_refuse_unbroadcastable_shapes(device, name):
    a = tc.tensor([1, 2], device=device)
    b = tc.zeros(0, 0, 4, 3, dtype=tc.int64, device=device)
    with pytest.raises(RuntimeError, match=r"\[2\] and \[0, 0, 4, 3\]"):
        getattr(tc, name)(a, b)


COMPARISONS = {"eq": [False, True], "ne": [True, False], "lt": [True, False],
               "le": [True, True], "gt": [False, False], "ge": [False, True]}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison_functions_take_a_tensor_first(device, name):
    fn = getattr(tc, name)
    t = tc.tensor([1, 2], device=device)
    np.testing.assert_array_equal(to_numpy(fn(t, 2)), COMPARISONS[name])
    np.testing.assert_array_equal(to_numpy(getattr(t, name)(2.0)), COMPARISONS[name])
    for number in (2, 2.0, True):
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            fn(number, t)


def test_comparison_operators_still_reflect(device):
    t = tc.tensor([1, 2, 3], device=device)
    np.testing.assert_array_equal(to_numpy(2 < t), [False, False, True])
    np.testing.assert_array_equal(to_numpy(2 == t), [False, True, False])
    np.testing.assert_array_equal(to_numpy(2.5 >= t), [True, True, False])


@pytest.mark.parametrize("fn", [lambda x, **k: x.clamp(**k), lambda x, **k: tc.clamp(x, **k),
                                lambda x, **k: x.clip(**k)], ids=["x.clamp", "tc.clamp", "x.clip"])
def test_clamp_bounds_are_both_numbers_or_both_tensors(device, fn):
    x = tc.tensor([-2.0, 0.5, 3.0], device=device)
    lo, hi = tc.tensor(-1.0, device=device), tc.tensor([1.0, 1.0, 2.0], device=device)
    with pytest.raises(TypeError, match="invalid combination"):
        fn(x, min=tc.tensor([-1.0], device=device), max=2.0)
    with pytest.raises(TypeError, match="invalid combination"):
        fn(x, min=-1.0, max=hi)
    with pytest.raises(TypeError, match="invalid combination"):  # a 0-d one needing grad
        fn(x, min=tc.tensor(-1.0, device=device, requires_grad=True), max=2.0)
    with pytest.raises(TypeError, match="invalid combination"):
        fn(x, max=[1.0, 1.0, 2.0])
    # a 0-d tensor without grad passes for a number (PyTorch's Scalar): number promotion
    np.testing.assert_array_equal(to_numpy(fn(x, min=lo, max=2.0)), [-1.0, 0.5, 2.0])
    i = tc.tensor([1, 9], device=device)
    out = fn(i, min=tc.tensor(5.0, dtype=tc.float64, device=device), max=7)
    assert out.dtype == tc.float32  # as int64 tensor with a float number
    np.testing.assert_array_equal(to_numpy(out), [5.0, 7.0])
    np.testing.assert_array_equal(to_numpy(fn(x, min=lo, max=hi)), [-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(to_numpy(fn(x, min=-1.0, max=2.0)), [-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(to_numpy(fn(x, min=lo)), [-1.0, 0.5, 3.0])
    np.testing.assert_array_equal(to_numpy(fn(x, min=None, max=np.float32(1.0))),
                                  [-2.0, 0.5, 1.0])


def test_clamp_takes_a_parameter_as_a_tensor_bound(device):
    x = tc.tensor([-2.0, 0.5, 3.0], device=device)
    hi = tc.nn.Parameter(tc.tensor(1.0, device=device))
    out = x.clamp(min=tc.tensor(0.0, device=device), max=hi)
    out.sum().backward()
    np.testing.assert_array_equal(to_numpy(out), [0.0, 0.5, 1.0])
    assert hi.grad.item() == 1.0


def test_add_scales_by_alpha_in_the_result_type(device):
    a = tc.tensor(0.5, dtype=tc.float64, device=device, requires_grad=True)
    mask = tc.tensor([[True, False]], device=device)
    out = tc.add(a, mask, alpha=3.25)
    assert out.dtype == tc.float64  # a 0-d float64 decides the type against a bool tensor
    np.testing.assert_array_equal(to_numpy(out), [[3.75, 0.5]])
    out.sum().backward()
    assert a.grad.item() == 2.0


@pytest.mark.parametrize("alpha,expected", [(2**40, [False, True]), (2, [False, True]),
                                            (0, [False, True]), (-1, [False, True]),
                                            (True, [False, True]), (False, [False, True])])
def test_bool_results_take_alpha_as_a_bool(device, alpha, expected):
    a = tc.tensor([False, True], device=device)
    out = a.add(tc.tensor(False, device=device), alpha=alpha)
    assert out.dtype == tc.bool
    np.testing.assert_array_equal(to_numpy(out), expected)
    out = a.add(True, alpha=alpha)
    assert out.dtype == tc.bool
    np.testing.assert_array_equal(to_numpy(out), [bool(alpha)] * 2 if alpha else [False, True])


def test_alpha_is_checked_against_the_result_type(device):
    i32 = tc.tensor([1], dtype=tc.int32, device=device)
    np.testing.assert_array_equal(to_numpy(i32.add(1, alpha=-2**31)), [1 - 2**31])
    with pytest.raises(RuntimeError, match="without overflow"):
        i32.add(1, alpha=-2**31 - 1)
    with pytest.raises(RuntimeError, match="without overflow"):
        i32.add(i32, alpha=2**40)
    h = tc.tensor([1.0], dtype=tc.float16, device=device)
    np.testing.assert_array_equal(to_numpy(h.add(h, alpha=65504.0)), [65504.0])
    with pytest.raises(RuntimeError, match="without overflow"):
        h.add(h, alpha=65505.0)
    with pytest.raises(RuntimeError, match="without overflow"):
        h.sub(1.0, alpha=-70000)
    f = tc.tensor([1.0], device=device)
    with pytest.raises(RuntimeError, match="without overflow"):
        f.add(f, alpha=1e300)
    assert np.isinf(to_numpy(h.add(h, alpha=float("inf")))).all()  # inf converts
    with pytest.raises(OverflowError):
        tc.tensor([False, True], device=device).add(2**70, alpha=0)


def test_sub_refuses_a_bool_operand_whatever_alpha(device):
    x = tc.tensor([[1.5]], device=device)
    mask = tc.tensor([[True]], device=device)
    for call in (lambda: x.sub(True, alpha=5), lambda: x.sub(mask, alpha=2),
                 lambda: tc.sub(2, mask, alpha=2), lambda: mask.sub(x, alpha=2)):
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool"):
            call()
    np.testing.assert_array_equal(to_numpy(x.add(True, alpha=5)), [[6.5]])


def test_narrow_float_bounds_and_exponents_are_checked(device):
    h = tc.tensor([1.0, 2.0], dtype=tc.float16, device=device)
    i = tc.tensor([1, 2], dtype=tc.int32, device=device)
    for call in (lambda: h.clamp(max=70000), lambda: h.clamp(-1e5, 1e5),
                 lambda: i.clamp(max=1e39), lambda: h ** 70000.0, lambda: h ** 100000):
        with pytest.raises(RuntimeError, match="without overflow"):
            call()
    np.testing.assert_array_equal(to_numpy(i.clamp(max=1e38)), [1.0, 2.0])  # float32 holds it
    np.testing.assert_array_equal(to_numpy(h.clamp(max=float("inf"))), [1.0, 2.0])
    np.testing.assert_array_equal(to_numpy(h ** 2), [1.0, 4.0])
    f = tc.tensor([1.0], device=device)
    np.testing.assert_array_equal(to_numpy(f ** 1e39), [1.0])  # float32 takes any exponent
    # where converts unchecked (as PyTorch)
    out = tc.where(tc.tensor([True, False], device=device), h, 70000)
    assert out.dtype == tc.float16 and to_numpy(out)[0] == 1.0


INT_DIVISIONS = {
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "fmod": tc.fmod,
    "trunc": lambda a, b: tc.div(a, b, rounding_mode="trunc"),
    "floor": lambda a, b: tc.div(a, b, rounding_mode="floor"),
}


@pytest.mark.parametrize("name", list(INT_DIVISIONS))
def test_integer_division_by_zero_raises_only_for_a_non_empty_result(device, name):
    fn = INT_DIVISIONS[name]
    empty = tc.zeros(4, 0, 1, dtype=tc.int64, device=device)
    zeros = tc.tensor([0, 1], device=device)
    for a, b, shape in ((empty, 0, (4, 0, 1)), (empty, zeros, (4, 0, 2)),
                        (tc.zeros(0, 2, dtype=tc.int64, device=device), zeros, (0, 2))):
        out = fn(a, b)
        assert out.shape == shape and out.dtype == tc.int64
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(tc.tensor([1, 2], device=device), 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(tc.tensor([[7], [8]], device=device), zeros)
    if name != "fmod":  # fmod takes a tensor first
        assert fn(5, tc.zeros(0, dtype=tc.int64, device=device)).shape == (0,)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn(5, zeros)


@pytest.mark.parametrize("name", ["floor_divide_", "remainder_", "fmod_"])
def test_inplace_integer_division_by_zero_raises_only_when_not_empty(device, name):
    empty = tc.zeros(4, 0, 1, dtype=tc.int64, device=device)
    assert getattr(empty, name)(0).shape == (4, 0, 1)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(tc.tensor([1, 2], device=device), name)(0)


def test_alpha_times_a_number_as_the_result_type_holds_it(device):
    f = tc.tensor(2.5, device=device)
    assert tc.add(f, -2**33, alpha=-2**33).item() == 2.5 + 2.0**66  # a float: no overflow
    assert tc.sub(f, -2**33, alpha=-2**33).item() == 2.5 - 2.0**66
    b = tc.tensor([True, False], device=device)  # int64: the product wraps
    np.testing.assert_array_equal(to_numpy(b.add(2**63 - 1, alpha=2**40)),
                                  [1 - 2**40, -2**40])
    i32 = tc.tensor([1, 2], dtype=tc.int32, device=device)
    np.testing.assert_array_equal(to_numpy(i32.add(2**31 - 1, alpha=2)), [-1, 0])


@pytest.mark.parametrize("exponent,expected", [
    (2**31 + 7, [-1.0, -np.inf, 0.0]), (2.0**24 + 1, [-1.0, -np.inf, 0.0]),
    (2**24 + 1, [-1.0, -np.inf, 0.0]), (-(2**24) - 1, [-1.0, -0.0, np.inf]),
    (2**53 + 1, [1.0, np.inf, 0.0])])  # past 2**53 a double is even, as in PyTorch
def test_float32_power_keeps_an_odd_exponent_odd(device, exponent, expected):
    x = tc.tensor([-1.0, -2.4, 0.0], device=device)
    out = x ** exponent
    assert out.dtype == tc.float32
    np.testing.assert_array_equal(to_numpy(out), expected)
    np.testing.assert_array_equal(to_numpy(tc.pow(x, exponent)), expected)


def test_alpha_gradient_is_scaled_before_the_broadcast_sum(device):
    a = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tc.tensor([[3.0], [4.0]], device=device, requires_grad=True)
    out = tc.sub(a, b, alpha=2.5)
    np.testing.assert_array_equal(to_numpy(out), [[-6.5, -5.5], [-9.0, -8.0]])
    out.sum().backward()
    np.testing.assert_array_equal(to_numpy(a.grad), [2.0, 2.0])
    np.testing.assert_array_equal(to_numpy(b.grad), [[-5.0], [-5.0]])
    # each element of g is scaled first: a zero g times an infinite alpha is NaN (PyTorch)
    y = tc.tensor(-0.5, device=device, requires_grad=True)
    x = tc.tensor([[0], [-4], [-5]], dtype=tc.int32, device=device)
    x.add(y, alpha=-np.inf).backward(tc.tensor([[1.0], [0.0], [2.0]], device=device))
    assert np.isnan(y.grad.item())


@pytest.mark.parametrize("exponent,expected", [
    (0, [0.0, 0.0, 0.0, 0.0]), (0.0, [0.0, 0.0, 0.0, 0.0]),
    (False, [np.nan, 0.0, -0.0, 0.0]),  # PyTorch's zero-exponent rule misses False
    (True, [1.0, 1.0, 1.0, 1.0])])
def test_pow_gradient_at_a_zero_exponent(device, exponent, expected):
    x = tc.tensor([0.0, 2.0, -1.0, np.inf], dtype=tc.float64, device=device,
                  requires_grad=True)
    x.pow(exponent).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), expected)


def test_bool_clamp_takes_one_tensor_bound_only(device):
    b = tc.tensor([True, False], device=device)
    t, f = tc.tensor([True], device=device), tc.tensor(False, device=device)
    np.testing.assert_array_equal(to_numpy(b.clamp(min=t)), [True, True])
    np.testing.assert_array_equal(to_numpy(b.clamp(max=f)), [False, False])
    for call in (lambda: b.clamp(t, t), lambda: b.clamp(min=True), lambda: b.clamp(f, True)):
        with pytest.raises(NotImplementedError, match="Bool"):
            call()
    out = b.clamp(min=tc.tensor(1, device=device))  # an int bound: int64, as PyTorch
    assert out.dtype == tc.int64
    np.testing.assert_array_equal(to_numpy(out), [1, 1])
