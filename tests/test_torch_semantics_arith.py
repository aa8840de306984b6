"""Elementwise arithmetic means what it means in PyTorch (issue 15, items 1, 4-6).

- What a node saves: only what its backward reads, given which inputs need a gradient; the
  version check applies to that alone (valid in-place code runs, invalid still raises).
- One promotion rule, PyTorch's: tensors, 0-d tensors and Python numbers
  (``_dtype.promote_types_of``), big Python ints wrapping or raising as in PyTorch.
- Gradients at singular points and with NaN, op by op, as PyTorch defines them.
- What PyTorch rejects raises here too (bool ``-``, non-bool ``where`` conditions, ...).
(``//``, ``%``, ``fmod`` and ``div(rounding_mode=...)`` are in test_torch_semantics_division.)

Expected values are written out (they are PyTorch 2.13's) or come from NumPy and closed forms;
gradients away from singular points are checked against finite differences in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import grads, leaf, same, to_numpy

import tensorcore as tc
from tensorcore._dtype import promote_types_of
from tensorcore.autograd import gradcheck, gradgradcheck

nan, inf = math.nan, math.inf


# -- item 1: a node saves only what its backward reads -----------------------------------------
def test_setitem_of_a_scaled_slice_backpropagates(device):
    # the example: the slice is not saved by ``* 2.0`` (a Python number's partner)
    x = tc.arange(5.0, device=device).requires_grad_()
    z = x.clone()
    z[1:3] = z[1:3] * 2.0
    z.sum().backward()
    same(to_numpy(x.grad), [1.0, 2.0, 2.0, 1.0, 1.0])


INPLACE_OK = {
    # name: (build y from (p, b), the in-place change, expected grad of the leaf a, p = a * 1)
    "p*b, p changed": (lambda p, b: p * b, "p", [2.0, 2.0]),
    "b*p, p changed": (lambda p, b: b * p, "p", [2.0, 2.0]),
    "p*2.0, p changed": (lambda p, b: p * 2.0, "p", [2.0, 2.0]),
    "p*3, p changed": (lambda p, b: p * 3, "p", [3.0, 3.0]),
    "p/b, p changed": (lambda p, b: p / b, "p", [0.5, 0.5]),
    "p/2, p changed": (lambda p, b: p / 2, "p", [0.5, 0.5]),
    "2/p, p changed": (lambda p, b: 2 / p, "p", [-2.0, -2.0]),
    "2/p, y changed": (lambda p, b: 2 / p, "y", [-2.0, -2.0]),
    "p-1, p changed": (lambda p, b: p - 1, "p", [1.0, 1.0]),
    "-p, p changed": (lambda p, b: -p, "p", [-1.0, -1.0]),
    "p**2, y changed": (lambda p, b: p ** 2, "y", [2.0, 2.0]),
    "where, p changed": (lambda p, b: tc.where(p > 0, p, 0.0), "p", [1.0, 1.0]),
    "p % b, b changed": (lambda p, b: tc.remainder(p, b), "b", [1.0, 1.0]),
    "fmod(p, 2.), p changed": (lambda p, b: tc.fmod(p, 2.0), "p", [1.0, 1.0]),
    # beyond PyTorch (which saves clamp's input): clamp keeps its forward's masks
    "clamp, p changed": (lambda p, b: tc.clamp(p, 0.0, 1.0), "p", [1.0, 1.0]),
}

INPLACE_RAISES = {
    # PyTorch raises for each: the changed tensor is read by the backward
    "a*b, b changed": lambda p, b, a: (a * b, b),
    "p*q, p changed (both need grad)": lambda p, b, a: (p * (a * 2), p),
    "p/b, b changed": lambda p, b, a: (p / b, b),
    "b/p, b changed": lambda p, b, a: (b / p, b),
    "b/p, p changed": lambda p, b, a: (b / p, p),
    "p**2, p changed": lambda p, b, a: (p ** 2, p),
    "2**p, y changed": lambda p, b, a: ((y := 2 ** p), y),
    "p**b, b changed": lambda p, b, a: (p ** b, b),
    "b**p, b changed": lambda p, b, a: (b ** p, b),
    "b**p, y changed": lambda p, b, a: ((y := b ** p), y),
    "maximum, p changed": lambda p, b, a: (tc.maximum(p, b), p),
    "remainder(b, p), b changed": lambda p, b, a: (tc.remainder(b, p), b),
}


@pytest.mark.parametrize("name", list(INPLACE_OK))
def test_inplace_change_of_what_is_not_saved_runs(device, name):
    build, changed, expected = INPLACE_OK[name]
    a = tc.ones(2, device=device, requires_grad=True)
    p = a * 1
    b = tc.full((2,), 2.0, device=device)
    y = build(p, b)
    {"p": p, "b": b, "y": y}[changed].add_(1)
    y.sum().backward()
    same(to_numpy(a.grad), expected)


@pytest.mark.parametrize("name", list(INPLACE_RAISES))
def test_inplace_change_of_what_is_saved_raises(device, name):
    a = tc.ones(2, device=device, requires_grad=True)
    p = a * 1
    b = tc.full((2,), 2.0, device=device)
    y, changed = INPLACE_RAISES[name](p, b, a)
    changed.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_where_condition_changed_in_place_raises(device):
    # the condition is saved: changing it must not silently change the gradient
    a = tc.ones(3, device=device, requires_grad=True)
    p = a * 1
    c = p > 0
    y = tc.where(c, p, 0.0)
    c.fill_(False)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_mul_saves_nothing_of_a_number_or_of_a_side_without_grad(device):
    a = tc.ones(2, device=device, requires_grad=True)
    b = tc.full((2,), 3.0, device=device)
    assert all(e is None or e[1] is None for e in (a * 2.0).grad_fn._saved)
    saved = (a * b).grad_fn._saved  # b (for a's gradient), not a
    assert [e is not None and e[0] is b for e in saved] == [True, False]


# -- item 4: one promotion rule ----------------------------------------------------------------
def _t(dtype, ndim=1):
    return tc.ones([2] * ndim, dtype=dtype)


PROMOTE = [
    # (operands, PyTorch's torch.result_type)
    ((_t(tc.float32), _t(tc.int64)), tc.float32),
    ((_t(tc.int64), _t(tc.float16)), tc.float16),
    ((_t(tc.int32), _t(tc.int64)), tc.int64),
    ((_t(tc.int32), _t(tc.int64, 0)), tc.int32),
    ((_t(tc.int32), _t(tc.float64, 0)), tc.float64),
    ((_t(tc.float16), _t(tc.float64, 0)), tc.float16),
    ((_t(tc.bool), _t(tc.int32, 0)), tc.int32),
    ((_t(tc.bool), 1), tc.int64),
    ((_t(tc.bool), True), tc.bool),
    ((_t(tc.bool), 1.5), tc.float32),
    ((_t(tc.int32), 2**40), tc.int32),
    ((_t(tc.int64), 2.5), tc.float32),
    ((_t(tc.float16), 2.5), tc.float16),
    ((_t(tc.int32, 0), 2.5), tc.float32),
    ((_t(tc.int32, 0), _t(tc.int64, 0)), tc.int64),
    ((_t(tc.bool, 0), 7), tc.int64),
    ((_t(tc.int32), _t(tc.int64, 0), 7), tc.int32),
    ((_t(tc.int32), _t(tc.float64, 0), _t(tc.float16, 0)), tc.float64),
    ((_t(tc.float32), np.float64(2.0)), tc.float32),
    ((_t(tc.int64), np.float32(2.0)), tc.float32),
]


@pytest.mark.parametrize("k", range(len(PROMOTE)))
def test_promote_types_of_is_torch_result_type(k):
    values, expected = PROMOTE[k]
    assert promote_types_of(*values) is expected


def test_promote_types_of_refuses_complex_and_nothing():
    with pytest.raises(TypeError, match="complex"):
        promote_types_of(_t(tc.float32), 1j)
    with pytest.raises(TypeError):
        promote_types_of()


BIG_INTS = [
    # (label, fn(device), dtype, values): PyTorch wraps a Python int into the tensor's type
    ("i32 + 2**40", lambda d: tc.tensor([1], dtype=tc.int32, device=d) + 2**40, tc.int32, [1]),
    ("2**40 - i32", lambda d: 2**40 - tc.tensor([1], dtype=tc.int32, device=d), tc.int32, [-1]),
    ("i32 * 2**40", lambda d: tc.tensor([3], dtype=tc.int32, device=d) * 2**40, tc.int32, [0]),
    ("i32 + 2**31", lambda d: tc.tensor([1], dtype=tc.int32, device=d) + 2**31, tc.int32,
     [-2**31 + 1]),
    ("i64 + 2**63", lambda d: tc.tensor([1], device=d) + 2**63, tc.int64, [-2**63 + 1]),
    ("i64 + (2**64-1)", lambda d: tc.tensor([1], device=d) + (2**64 - 1), tc.int64, [0]),
    ("i32 == 2**40", lambda d: tc.tensor([0], dtype=tc.int32, device=d) == 2**40, tc.bool,
     [True]),
    ("i32 % (2**40+3)", lambda d: tc.tensor([5], dtype=tc.int32, device=d) % (2**40 + 3),
     tc.int32, [2]),
    # true division converts the int to the float type instead
    ("i32 / 2**40", lambda d: tc.tensor([1], dtype=tc.int32, device=d) / 2**40, tc.float32,
     [2.0**-40]),
    ("2**40 / i32", lambda d: 2**40 / tc.tensor([2], dtype=tc.int32, device=d), tc.float32,
     [2.0**39]),
    ("f32 + (2**64-1)", lambda d: tc.tensor([1.0], device=d) + (2**64 - 1), tc.float32,
     [2.0**64]),
    ("where(c, i64, 2**40)", lambda d: tc.where(tc.tensor([False], device=d),
                                                tc.tensor([1], device=d), 2**40),
     tc.int64, [2**40]),
]


@pytest.mark.parametrize("label,fn,dtype,expected", BIG_INTS, ids=[b[0] for b in BIG_INTS])
def test_big_python_ints_promote_as_in_pytorch(device, label, fn, dtype, expected):
    out = fn(device)
    assert out.dtype is dtype
    np.testing.assert_array_equal(to_numpy(out), np.asarray(expected, dtype=dtype.np))


BIG_INT_ERRORS = [
    ("i64 + 2**64", lambda d: tc.tensor([1], device=d) + 2**64, OverflowError),
    ("i64 + (-2**63-1)", lambda d: tc.tensor([1], device=d) + (-2**63 - 1), OverflowError),
    ("i32 + 2**70", lambda d: tc.tensor([1], dtype=tc.int32, device=d) + 2**70, OverflowError),
    ("f32 * 2**70", lambda d: tc.tensor([1.0], device=d) * 2**70, OverflowError),
    ("f32 / 2**70", lambda d: tc.tensor([1.0], device=d) / 2**70, OverflowError),
    ("bool + 2**63", lambda d: tc.tensor([True], device=d) + 2**63, RuntimeError),
    # pow, clamp and where convert their number checked: out of the integer type's range
    ("i32 ** 2**31", lambda d: tc.tensor([2], dtype=tc.int32, device=d) ** 2**31, RuntimeError),
    ("clamp(i32, 2**31)", lambda d: tc.tensor([2], dtype=tc.int32, device=d).clamp(2**31),
     RuntimeError),
    ("clamp(i64, 2**63)", lambda d: tc.tensor([2], device=d).clamp(2**63), RuntimeError),
    ("where(c, i32, 2**31)", lambda d: tc.where(tc.tensor([True], device=d),
                                                tc.tensor([1], dtype=tc.int32, device=d),
                                                2**31), RuntimeError),
    ("where(c, f32, 2**70)", lambda d: tc.where(tc.tensor([True], device=d),
                                                tc.tensor([1.0], device=d), 2**70),
     OverflowError),
    ("f32 + 1j", lambda d: tc.tensor([1.0], device=d) + 1j, TypeError),
]


@pytest.mark.parametrize("label,fn,error", BIG_INT_ERRORS, ids=[b[0] for b in BIG_INT_ERRORS])
def test_big_python_ints_raise_as_in_pytorch(device, label, fn, error):
    with pytest.raises(error):
        fn(device)


SCALAR_DTYPES = [
    # (label, fn(device), dtype, values): bool and int tensors with numbers, written out
    ("bool + True", lambda d: tc.tensor([True, False], device=d) + True, tc.bool, [1, 1]),
    ("bool * True", lambda d: tc.tensor([True, False], device=d) * True, tc.bool, [1, 0]),
    ("bool + 1", lambda d: tc.tensor([True, False], device=d) + 1, tc.int64, [2, 1]),
    ("bool + 1.5", lambda d: tc.tensor([True, False], device=d) + 1.5, tc.float32, [2.5, 1.5]),
    ("bool / bool", lambda d: tc.tensor([True], device=d) / tc.tensor([True], device=d),
     tc.float32, [1.0]),
    ("bool ** 2", lambda d: tc.tensor([True, False], device=d) ** 2, tc.int64, [1, 0]),
    ("bool ** True", lambda d: tc.tensor([True, False], device=d) ** True, tc.bool, [1, 0]),
    ("bool ** 2.0", lambda d: tc.tensor([True, False], device=d) ** 2.0, tc.float32, [1, 0]),
    ("2 ** bool", lambda d: 2 ** tc.tensor([True, False], device=d), tc.int64, [2, 1]),
    ("i32 + True", lambda d: tc.tensor([1], dtype=tc.int32, device=d) + True, tc.int32, [2]),
    ("i64 ** 0", lambda d: tc.tensor([0, 3], device=d) ** 0, tc.int64, [1, 1]),
    ("i64 ** i64 (negative)", lambda d: tc.tensor([2, 1, -1, -1, 0], device=d)
     ** tc.tensor([-1, -3, -3, -2, -1], device=d), tc.int64, [0, 1, -1, 1, 0]),
    ("2 ** i64 (negative)", lambda d: 2 ** tc.tensor([-1, 3], device=d), tc.int64, [0, 8]),
    ("0-d f32 ** i64", lambda d: tc.tensor(2.0, device=d) ** tc.tensor([2], device=d),
     tc.float32, [4.0]),
    ("where(c, 1, 2.5)", lambda d: tc.where(tc.tensor([True, False], device=d), 1, 2.5),
     tc.float32, [1.0, 2.5]),
    ("where(c, True, 2)", lambda d: tc.where(tc.tensor([True, False], device=d), True, 2),
     tc.int64, [1, 2]),
    ("where(c, f16, 0-d f64)", lambda d: tc.where(
        tc.tensor([True, False], device=d), tc.tensor([1.0, 2.0], dtype=tc.float16, device=d),
        tc.tensor(3.0, dtype=tc.float64, device=d)), tc.float16, [1.0, 3.0]),
    ("clamp(bool, 0, 1)", lambda d: tc.tensor([True, False], device=d).clamp(0, 1), tc.int64,
     [1, 0]),
    ("clamp(i32, 0-d f64)", lambda d: tc.tensor([0, 2], dtype=tc.int32, device=d).clamp(
        tc.tensor(0.5, dtype=tc.float64, device=d)), tc.float64, [0.5, 2.0]),
    ("maximum(i64, 0-d f32)", lambda d: tc.maximum(tc.tensor([1, 3], device=d),
                                                    tc.tensor(2.5, device=d)), tc.float32,
     [2.5, 3.0]),
    ("minimum(0-d i64, i32)", lambda d: tc.minimum(
        tc.tensor(2, device=d), tc.tensor([1, 3], dtype=tc.int32, device=d)),
     tc.int32, [1, 2]),
]


@pytest.mark.parametrize("label,fn,dtype,expected", SCALAR_DTYPES,
                         ids=[s[0] for s in SCALAR_DTYPES])
def test_numbers_promote_as_in_pytorch(device, label, fn, dtype, expected):
    out = fn(device)
    assert out.dtype is dtype, f"{label}: {out.dtype}"
    np.testing.assert_array_equal(to_numpy(out), np.asarray(expected, dtype=dtype.np))


# -- item 5: gradients at singular points and with NaN -----------------------------------------
def test_pow_by_zero_has_zero_gradient_everywhere(device):
    for e in (0, 0.0):
        out, (g,) = grads(lambda x, e=e: x ** e, [0.0, 1.0, -2.0], device=device)
        same(out, [1.0, 1.0, 1.0])
        same(g, [0.0, 0.0, 0.0])
    _, (g,) = grads(lambda x: x ** 1, [0.0, -2.0], device=device)
    same(g, [1.0, 1.0])


def test_pow_with_tensor_exponent_singular_points(device):
    base = [0.0, 0.0, 0.0, -2.0, 2.0, 0.0, nan, 1.0]
    expo = [0.0, 1.0, -1.0, 2.0, 0.0, 0.5, 0.0, nan]
    out, (gb, ge) = grads(lambda b, e: b ** e, base, expo, device=device)
    same(out, [1.0, 0.0, inf, 4.0, 1.0, 0.0, 1.0, 1.0])
    same(gb, [0.0, 1.0, -inf, -4.0, 0.0, inf, 0.0, nan])
    same(ge, [0.0, 0.0, -inf, nan, math.log(2.0), 0.0, nan, 0.0])


def test_number_to_a_tensor_power_singular_points(device):
    x = [0.0, 1.0, -1.0, 0.5]
    _, (g,) = grads(lambda t: 0.0 ** t, x, device=device)
    same(g, [0.0, 0.0, -inf, 0.0])
    _, (g,) = grads(lambda t: 0 ** t, x, device=device)
    same(g, [0.0, 0.0, -inf, 0.0])
    _, (g,) = grads(lambda t: (-2.0) ** t, x, device=device)
    same(g, [nan] * 4)
    _, (g,) = grads(lambda t: 1.0 ** t, x, device=device)
    same(g, [0.0] * 4)
    out, (g,) = grads(lambda t: 2 ** t, x, device=device)
    np.testing.assert_allclose(g, out * math.log(2.0), rtol=1e-15)


def test_division_singular_points(device):
    _, (ga, gb) = grads(lambda a, b: a / b, [1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, inf],
                        device=device)
    same(ga, [inf, inf, 1.0, 0.0])
    same(gb, [-inf, nan, 0.0, 0.0])
    _, (g,) = grads(lambda a: 0 / a, [0.0, 1.0, 2.0], device=device)
    same(g, [nan, 0.0, 0.0])
    _, (g,) = grads(lambda a: 1 / a, [0.0, 2.0], device=device)
    same(g, [-inf, -0.25])


@pytest.mark.parametrize("fn", [tc.maximum, tc.minimum])
def test_maximum_minimum_send_the_gradient_to_a_nan_operand_and_the_other(device, fn):
    # neither operand is smaller than a NaN: both get the full gradient (PyTorch's formula)
    _, (ga, gb) = grads(fn, [nan, 1.0, nan, 1.0, 1.0], [1.0, nan, nan, 1.0, 2.0],
                        device=device)
    if fn is tc.maximum:
        same(ga, [1.0, 1.0, 1.0, 0.5, 0.0])
        same(gb, [1.0, 1.0, 1.0, 0.5, 1.0])
    else:
        same(ga, [1.0, 1.0, 1.0, 0.5, 1.0])
        same(gb, [1.0, 1.0, 1.0, 0.5, 0.0])


def test_clamp_with_nan_gives_no_gradient(device):
    out, (g,) = grads(lambda x: x.clamp(0.0, 1.0), [nan, 0.0, 1.0, 0.5, 2.0], device=device)
    same(out, [nan, 0.0, 1.0, 0.5, 1.0])
    same(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    out, (g,) = grads(lambda x: x.clamp(nan, 1.0), [0.0, 2.0], device=device)
    same(out, [nan, nan])
    same(g, [0.0, 0.0])


def test_clamp_with_tensor_bounds_follows_pytorch_masks(device):
    a = [nan, 0.0, 1.0, 0.5, 2.0, 0.5, 0.5, 0.0, 5.0, -1.0]
    lo = [0.0, 0.0, 0.0, nan, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    hi = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, nan, 0.0, 1.0, 0.0]
    out, (ga, glo, ghi) = grads(lambda x, lo, hi: x.clamp(lo, hi), a, lo, hi, device=device)
    same(out, [nan, 0.0, 1.0, nan, 1.0, 0.0, nan, 0.0, 1.0, 0.0])
    same(ga, [0, 1, 1, 0, 0, 0, 0, 1, 0, 0])
    same(glo, [0] * 10)
    same(ghi, [0, 0, 0, 0, 1, 1, 0, 0, 1, 0])


def test_where_blocks_a_nan_gradient_of_the_branch_not_taken(device):
    x = leaf([1.0, -1.0], device)
    y = tc.where(x > 0, x, tc.zeros(2, dtype=tc.float64, device=device))
    y.backward(tc.tensor([2.0, nan], dtype=tc.float64, device=device))
    same(to_numpy(x.grad), [2.0, 0.0])  # PyTorch's where(c, g, 0), not g * c


GRADCHECK = {
    # away from singular points and discontinuities, against finite differences
    "pow(t, t)": (lambda a, b: a ** b, [[0.5, 1.5, 2.0]], [[-1.2, 0.7, 2.0]]),
    "number ** t": (lambda a: 1.7 ** a, [[-1.0, 0.3, 2.0]]),
    "number / t": (lambda a: -3.0 / a, [[-1.0, 0.4, 2.0]]),
    "reciprocal": (lambda a: a.reciprocal(), [[-1.0, 0.4, 2.0]]),
    "div": (lambda a, b: a / b, [[-1.0, 0.4, 2.0]], [[0.7, -1.5, 2.5]]),
    "remainder": (lambda a, b: a % b, [[-1.9, 0.4, 2.3]], [[0.7, -1.5, 1.1]]),
    "fmod": (lambda a, b: tc.fmod(a, b), [[-1.9, 0.4, 2.3]], [[0.7, -1.5, 1.1]]),
    "maximum": (tc.maximum, [[-1.0, 0.4, 2.0]], [[0.7, -1.5, 2.5]]),
    "clamp(t, t, t)": (lambda a, lo, hi: a.clamp(lo, hi), [[-1.0, 0.4, 2.0]],
                       [[-0.5, 0.5, -2.0]], [[0.5, 1.0, 1.0]]),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradients_match_finite_differences(device, name):
    fn, *cols = GRADCHECK[name]
    xs = [leaf(c[0], device) for c in cols]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


# -- item 6: what PyTorch rejects ---------------------------------------------------------------
def test_where_needs_a_bool_tensor_condition(device):
    x = tc.tensor([1.0, 2.0], device=device)
    for cond in (tc.tensor([1, 0], device=device), tc.tensor([1.0, 0.0], device=device)):
        with pytest.raises(RuntimeError, match="boolean"):
            tc.where(cond, x, 0.0)
    with pytest.raises(TypeError, match="condition"):
        tc.where([True, False], x, 0.0)
    with pytest.raises(TypeError, match="condition"):
        tc.where(np.array([True, False]), x, 0.0)


def test_where_forms_of_pytorch(device):
    c = tc.tensor([[True, False], [False, True]], device=device)
    rows, cols = tc.where(c)  # the indices of the True elements
    assert rows.dtype is tc.int64
    same(to_numpy(rows), [0, 1])
    same(to_numpy(cols), [0, 1])
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    same(to_numpy(x.where(c, 0.0)), [[1.0, 0.0], [0.0, 4.0]])  # where(c, x, 0.0)


BOOL_REJECTS = {
    "b - b": lambda b: b - b,
    "b - 1": lambda b: b - 1,
    "1 - b": lambda b: 1 - b,
    "f - True": lambda b: tc.ones(2, device=b.device) - True,
    "True - f": lambda b: True - tc.ones(2, device=b.device),
    "sub(b, b)": lambda b: tc.sub(b, b),
    "-b": lambda b: -b,
    "neg(b)": lambda b: tc.neg(b),
    "+b": lambda b: +b,
}


@pytest.mark.parametrize("name", list(BOOL_REJECTS))
def test_bool_subtraction_and_negation_raise(device, name):
    b = tc.tensor([True, False], device=device)
    with pytest.raises(RuntimeError, match="bool tensor"):
        BOOL_REJECTS[name](b)


def test_other_rejections_of_pytorch(device):
    i = tc.tensor([2, 3], device=device)
    f = tc.tensor([1.0, 2.0], device=device)
    b = tc.tensor([True, False], device=device)
    with pytest.raises(RuntimeError, match="negative integer powers"):
        i ** -1
    with pytest.raises(NotImplementedError):
        b ** b
    with pytest.raises(RuntimeError, match="rounding_mode"):
        tc.div(f, f, rounding_mode="round")
    with pytest.raises(RuntimeError, match="alpha"):
        tc.add(i, 1, alpha=0.5)
    with pytest.raises(RuntimeError, match="alpha"):
        tc.add(f, f, alpha=True)
    with pytest.raises(NotImplementedError):
        f & f
    with pytest.raises(NotImplementedError):
        b | 1.5
    with pytest.raises(TypeError, match="invert"):
        tc.bitwise_not(f)


def test_bitwise_operators_are_pytorchs(device):
    i = tc.tensor([5, 3, -1], device=device)
    b = tc.tensor([True, False, True], device=device)
    same(to_numpy(i & 3), [1, 3, 3])
    same(to_numpy(6 | i), [7, 7, -1])
    same(to_numpy(i ^ i), [0, 0, 0])
    same(to_numpy(~i), [-6, -4, 0])
    assert (~b).dtype is tc.bool and (b ^ True).dtype is tc.bool
    same(to_numpy(b ^ True), [0, 1, 0])
    assert (b & 1).dtype is tc.int64


def test_add_and_sub_with_alpha_and_a_number_first(device):
    f = tc.tensor([1.0, 2.0], device=device)
    same(to_numpy(tc.add(2, f, alpha=3)), [5.0, 8.0])   # 2 + 3 * f
    same(to_numpy(tc.sub(2, f, alpha=3)), [-1.0, -4.0])  # 2 - 3 * f
    same(to_numpy(tc.rsub(f, 2, alpha=3)), [-1.0, -4.0])
    same(to_numpy(tc.sub(f, 2, alpha=3)), [-5.0, -4.0])


def test_negating_a_0d_tensor_gives_a_writable_tensor(device):
    y = -tc.tensor(1.5, device=device)  # the no-graph lane: was a NumPy scalar inside
    y.add_(1)
    y[...] = y * 2
    assert y.shape == () and y.item() == -1.0


def test_functions_need_a_tensor_argument():
    for fn in (tc.add, tc.sub, tc.mul, tc.div, tc.pow, tc.remainder, tc.floor_divide,
               tc.maximum):
        with pytest.raises(TypeError, match="Tensor"):
            fn(2, 3)
