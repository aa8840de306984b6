"""``//``, ``%``, ``fmod`` and ``div(rounding_mode=...)`` mean what they mean in PyTorch
(issue 15, item 7): rounding (floor toward -inf, trunc toward zero; ``%`` with the sign of
the divisor, ``fmod`` of the dividend), integer results for integers, integer division by
zero raising, reflected and in-place forms, and PyTorch's gradient conventions.

Expected values come from NumPy or are written out; gradients are written out.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import grads, leaf, same, to_numpy

import tensorcore as tc

nan, inf = math.nan, math.inf


A_INT = np.array([7, -7, 7, -7, 0, 5, -5])
B_INT = np.array([2, 2, -2, -2, 3, 5, 3])
A_FLT = np.array([7.0, -7.0, 2.5, -2.5, 0.0, 5.5, 1.0], dtype=np.float32)
B_FLT = np.array([2.0, 2.0, -1.5, -1.5, 3.0, 0.75, 0.1], dtype=np.float32)


def _trunc_div(a, b):
    return np.trunc(a / b) if a.dtype.kind == "f" else np.sign(a) * np.sign(b) * (
        np.abs(a) // np.abs(b))


ROUNDING = {
    "//": (lambda a, b: a // b, np.floor_divide),
    "floor_divide": (tc.floor_divide, np.floor_divide),
    "div floor": (lambda a, b: tc.div(a, b, rounding_mode="floor"), np.floor_divide),
    "div trunc": (lambda a, b: a.div(b, rounding_mode="trunc"), _trunc_div),
    "%": (lambda a, b: a % b, np.remainder),
    "remainder": (lambda a, b: a.remainder(b), np.remainder),
    "fmod": (tc.fmod, np.fmod),
}


@pytest.mark.parametrize("name", list(ROUNDING))
@pytest.mark.parametrize("kind", ["int", "float"])
def test_rounding_division_values_and_dtypes(device, name, kind):
    fn, np_fn = ROUNDING[name]
    a_np, b_np = (A_INT, B_INT) if kind == "int" else (A_FLT, B_FLT)
    a, b = tc.tensor(a_np, device=device), tc.tensor(b_np, device=device)
    out = fn(a, b)
    expected = np_fn(a_np, b_np)
    assert out.dtype is (tc.int64 if kind == "int" else tc.float32)
    np.testing.assert_array_equal(to_numpy(out), expected.astype(out.dtype.np))
    # with a Python number, and an int32 tensor keeping its type
    i32 = tc.tensor(A_INT, dtype=tc.int32, device=device)
    assert fn(i32, 2).dtype is tc.int32
    np.testing.assert_array_equal(to_numpy(fn(i32, 2)), np_fn(A_INT, np.full(7, 2)))
    assert fn(i32, 2.5).dtype is tc.float32


def test_rounding_written_out(device):
    t = tc.tensor([7, -7, 7, -7], device=device)
    d = tc.tensor([2, 2, -2, -2], device=device)
    same(to_numpy(t // d), [3, -4, -4, 3])                 # toward -inf
    same(to_numpy(tc.div(t, d, rounding_mode="trunc")), [3, -3, -3, 3])  # toward zero
    same(to_numpy(t % d), [1, 1, -1, -1])                 # the sign of the divisor
    same(to_numpy(tc.fmod(t, d)), [1, -1, 1, -1])         # the sign of the dividend
    same(to_numpy(1.0 // tc.tensor([0.1], device=device)), [9.0])  # not floor(1 / 0.1) = 10
    same(to_numpy(2 // tc.tensor([3, -3], device=device)), [0, -1])
    same(to_numpy(5 % tc.tensor([3, -3], device=device)), [2, -1])
    same(to_numpy(5.5 % tc.tensor([2, -2], device=device)), [1.5, -0.5])
    assert (5.5 % tc.tensor([2], device=device)).dtype is tc.float32
    same(to_numpy(tc.tensor([True, False], device=device) // 2), [0, 0])


INT_ZERO_DIVISION = {
    "t // 0": lambda t: t // 0,
    "t % 0": lambda t: t % 0,
    "fmod(t, 0)": lambda t: tc.fmod(t, 0),
    "div trunc": lambda t: tc.div(t, 0, rounding_mode="trunc"),
    "div floor": lambda t: tc.div(t, tc.tensor([1, 0], device=t.device), rounding_mode="floor"),
    "2 // t": lambda t: 2 // (t - 1),
    "t //= 0": lambda t: t.__ifloordiv__(0),
    "t %= tensor": lambda t: t.__imod__(tc.tensor([1, 0], device=t.device)),
    "i32 // 2**40 (wraps to 0)": lambda t: t.int() // 2**40,
}


@pytest.mark.parametrize("name", list(INT_ZERO_DIVISION))
def test_integer_division_by_zero_raises(device, name):
    t = tc.tensor([7, 1], device=device)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        INT_ZERO_DIVISION[name](t)


def test_float_division_by_zero_gives_ieee_values(device):
    f = tc.tensor([1.0, -1.0, 0.0], device=device)
    same(to_numpy(f // 0.0), [inf, -inf, nan])
    same(to_numpy(f % 0.0), [nan, nan, nan])
    same(to_numpy(tc.tensor([5], device=device) % 0.0), [nan])  # an int with a float: float


def test_bool_rounding_division_is_not_implemented(device):
    b = tc.tensor([True, False], device=device)
    for fn in (lambda: b // b, lambda: b % b, lambda: tc.fmod(b, b), lambda: b // True):
        with pytest.raises(NotImplementedError):
            fn()


def test_remainder_and_fmod_gradients(device):
    a, b = [7.0, -7.0, 2.5], [2.0, 2.0, -1.5]
    _, (ga, gb) = grads(lambda x, y: x % y, a, b, device=device)
    same(ga, [1.0, 1.0, 1.0])
    same(gb, [-3.0, 4.0, 2.0])  # -floor(a / b)
    _, (ga, gb) = grads(tc.fmod, a, b, device=device)
    same(ga, [1.0, 1.0, 1.0])
    same(gb, [-3.0, 3.0, 1.0])  # -trunc(a / b)
    _, (ga,) = grads(lambda x: x % 1.5, a, device=device)
    same(ga, [1.0, 1.0, 1.0])


def test_rounding_division_gradients(device):
    _, (ga, gb) = grads(lambda x, y: tc.div(x, y, rounding_mode="floor"), [7.0, -7.0],
                        [2.0, 2.0], device=device)
    same(ga, [0.0, 0.0])
    same(gb, [0.0, 0.0])
    # no derivative in PyTorch: the result is recorded, backward raises
    for fn in (lambda x: x // 2, lambda x: 2 // x, lambda x: 2.5 % x):
        x = leaf([7.0, -7.0], device)
        y = fn(x)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for .* is not implemented"):
            y.sum().backward()


def test_inplace_floor_divide_and_remainder(device):
    t = tc.tensor([7, -7], device=device)
    t //= 2
    same(to_numpy(t), [3, -4])
    t = tc.tensor([7, -7], device=device)
    t %= 3
    same(to_numpy(t), [1, 2])
    t = tc.tensor([7.0, -7.0], device=device)
    t.fmod_(3)
    same(to_numpy(t), [1.0, -1.0])
    with pytest.raises(RuntimeError, match="can't be cast"):
        tc.tensor([7, -7], device=device).__imod__(2.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        tc.tensor([True], device=device).__ifloordiv__(2)
    # with a graph: the gradient of %= is 1, //= has none
    a = tc.arange(5.0, device=device).requires_grad_()
    z = a * 1
    z %= 1.5
    z.sum().backward()
    same(to_numpy(a.grad), [1.0] * 5)
    z = a * 1
    z //= 1.5
    with pytest.raises(RuntimeError, match="derivative for floor_divide"):
        z.sum().backward()
