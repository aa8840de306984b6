"""Elementwise ops: arithmetic, unary functions, clamp/maximum/minimum/where, comparisons and
PyTorch's type promotion.

Forward values are checked against NumPy (float32 tolerance); gradients with
``tc.autograd.gradcheck`` and ``gradgradcheck`` in float64, on broadcasting shapes where the op
broadcasts. Inputs are kept away from the points where an op is not differentiable.
Every test runs on each available backend through the ``device`` fixture.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import to_numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

F32 = {"rtol": 1e-5, "atol": 1e-6}


def leaf(arr, device, dtype=tc.float64):
    """A leaf tensor requiring grad holding ``arr``."""
    return tc.tensor(np.asarray(arr), dtype=dtype, device=device, requires_grad=True)


def values(kind, shape, seed):
    """Random float64 values for an op's domain, away from its non-differentiable points."""
    rng = np.random.default_rng(seed)
    if kind == "any":
        return rng.uniform(-2.0, 2.0, shape)
    if kind == "pos":  # log, sqrt, rsqrt, pow's base
        return rng.uniform(0.5, 2.0, shape)
    if kind == "nonzero":  # abs, relu, divisor: |x| in [0.3, 2]
        return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if kind == "exp":  # pow's exponent
        return rng.uniform(-1.5, 1.5, shape)
    raise ValueError(kind)


def check_forward(tc_fn, np_fn, *arrays, device):
    """``tc_fn`` on float32 tensors matches ``np_fn`` on the same float32 arrays."""
    arrays32 = [np.asarray(a, dtype=np.float32) for a in arrays]
    out = tc_fn(*(tc.tensor(a, device=device) for a in arrays32))
    expected = np_fn(*arrays32)
    assert out.dtype == tc.float32
    assert out.shape == expected.shape
    np.testing.assert_allclose(to_numpy(out), expected, **F32)


def check_grads(fn, *tensors, gradgrad=True):
    assert gradcheck(fn, tensors)
    if gradgrad:
        assert gradgradcheck(fn, tensors)


# -- binary arithmetic -------------------------------------------------------------------------
BINARY = {
    "add": (lambda a, b: a + b, np.add, "any", "any"),
    "sub": (lambda a, b: a - b, np.subtract, "any", "any"),
    "mul": (lambda a, b: a * b, np.multiply, "any", "any"),
    "div": (lambda a, b: a / b, np.divide, "any", "nonzero"),
    "pow": (lambda a, b: a ** b, np.power, "pos", "exp"),
    "maximum": (tc.maximum, np.maximum, "any", "any"),
    "minimum": (tc.minimum, np.minimum, "any", "any"),
    "add_fn": (tc.add, np.add, "any", "any"),
    "sub_fn": (tc.sub, np.subtract, "any", "any"),
    "mul_fn": (tc.mul, np.multiply, "any", "any"),
    "div_fn": (tc.div, np.divide, "any", "nonzero"),
    "pow_fn": (tc.pow, np.power, "pos", "exp"),
}

SHAPE_PAIRS = [((2, 3), (2, 3)), ((3, 1, 4), (2, 4)), ((2, 1), (1, 3)), ((), (2, 3)),
               ((4,), ())]
SMALL_PAIRS = [((2, 3), (2, 3)), ((2, 1, 3), (2, 3)), ((3,), ())]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_forward(device, name, shapes):
    fn, np_fn, ka, kb = BINARY[name]
    check_forward(fn, np_fn, values(ka, shapes[0], 1), values(kb, shapes[1], 2), device=device)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((3, 1, 4), (2, 4)), ((2, 1), (1, 3)), ((), (2, 3))],
                         ids=str)
def test_binary_gradcheck_broadcast(device, name, shapes):
    fn, _, ka, kb = BINARY[name]
    a = leaf(values(ka, shapes[0], 3), device)
    b = leaf(values(kb, shapes[1], 4), device)
    assert gradcheck(fn, (a, b))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SMALL_PAIRS, ids=str)
def test_binary_gradgradcheck_broadcast(device, name, shapes):
    fn, _, ka, kb = BINARY[name]
    a = leaf(values(ka, shapes[0], 5), device)
    b = leaf(values(kb, shapes[1], 6), device)
    assert gradgradcheck(fn, (a, b))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_grad_wrt_one_side_only(device, name):
    fn, _, ka, kb = BINARY[name]
    a = leaf(values(ka, (3, 1, 2), 7), device)
    b = tc.tensor(values(kb, (2, 2), 8), dtype=tc.float64, device=device)
    check_grads(fn, a, b)
    a2 = tc.tensor(values(ka, (3, 1, 2), 7), dtype=tc.float64, device=device)
    b2 = leaf(values(kb, (2, 2), 8), device)
    check_grads(fn, a2, b2)


def test_broadcast_grad_has_input_shape(device):
    a = tc.ones(3, 1, 4, dtype=tc.float64, device=device, requires_grad=True)
    b = tc.ones(2, 4, dtype=tc.float64, device=device, requires_grad=True)
    (a * b * 2).sum().backward()
    assert a.grad.shape == (3, 1, 4) and b.grad.shape == (2, 4)
    np.testing.assert_array_equal(to_numpy(a.grad), np.full((3, 1, 4), 4.0))
    np.testing.assert_array_equal(to_numpy(b.grad), np.full((2, 4), 6.0))


# -- with Python scalars (both orders) ---------------------------------------------------------
SCALAR_OPS = {
    "t+s": (lambda t: t + 1.5, lambda x: x + 1.5, "any"),
    "s+t": (lambda t: 1.5 + t, lambda x: 1.5 + x, "any"),
    "t-s": (lambda t: t - 1.5, lambda x: x - 1.5, "any"),
    "s-t": (lambda t: 1.5 - t, lambda x: 1.5 - x, "any"),
    "t*s": (lambda t: t * -2.5, lambda x: x * -2.5, "any"),
    "s*t": (lambda t: -2.5 * t, lambda x: -2.5 * x, "any"),
    "t/s": (lambda t: t / 4.0, lambda x: x / 4.0, "any"),
    "s/t": (lambda t: 3.0 / t, lambda x: 3.0 / x, "nonzero"),
    "t**2": (lambda t: t ** 2, lambda x: x ** 2, "any"),
    "t**3": (lambda t: t ** 3, lambda x: x ** 3, "any"),
    "t**-1.5": (lambda t: t ** -1.5, lambda x: x ** -1.5, "pos"),
    "t**0.5": (lambda t: t ** 0.5, lambda x: x ** 0.5, "pos"),
    "s**t": (lambda t: 2.0 ** t, lambda x: 2.0 ** x, "any"),
    "-t": (lambda t: -t, np.negative, "any"),
    "t-int": (lambda t: t - 2, lambda x: x - 2, "any"),
    "int/t": (lambda t: 2 / t, lambda x: 2 / x, "nonzero"),
    "clamp(min,max)": (lambda t: t.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), "any"),
    "clamp(min)": (lambda t: t.clamp(min=0.1), lambda x: np.maximum(x, 0.1), "any"),
    "clamp(max)": (lambda t: tc.clamp(t, max=0.1), lambda x: np.minimum(x, 0.1), "any"),
    "clip": (lambda t: t.clip(-1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), "any"),
}


def _clamp_safe(arr):
    """Move values off the clamp bounds used above (finite differences straddle them)."""
    out = arr.copy()
    for bound in (-1.0, -0.5, 0.1, 0.5, 1.0):
        near = np.abs(out - bound) < 0.05
        out[near] += 0.1
    return out


@pytest.mark.parametrize("name", list(SCALAR_OPS))
def test_scalar_ops(device, name):
    fn, np_fn, kind = SCALAR_OPS[name]
    x = _clamp_safe(values(kind, (2, 3), 11))
    check_forward(fn, np_fn, x, device=device)
    check_grads(fn, leaf(x, device))


def test_scalar_ops_keep_dtype(device):
    x = tc.tensor([1.0, 2.0], dtype=tc.float64, device=device)
    for out in (x + 1.5, 1.5 + x, x * 2, 2 / x, x ** 2, 2.0 ** x, -x, x.clamp(0.0, 1.5)):
        assert out.dtype == tc.float64


# -- unary -------------------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = {
    "abs": (lambda t: t.abs(), np.abs, "nonzero"),
    "abs_builtin": (lambda t: abs(t), np.abs, "nonzero"),
    "exp": (lambda t: t.exp(), np.exp, "any"),
    "log": (lambda t: t.log(), np.log, "pos"),
    "log1p": (lambda t: t.log1p(), np.log1p, "pos"),
    "log1p_neg": (lambda t: (t * 0.4).log1p(), lambda x: np.log1p(x * np.float32(0.4)), "nonzero"),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, "pos"),
    "rsqrt": (lambda t: t.rsqrt(), lambda x: 1 / np.sqrt(x), "pos"),
    "sin": (lambda t: t.sin(), np.sin, "any"),
    "cos": (lambda t: t.cos(), np.cos, "any"),
    "tanh": (lambda t: t.tanh(), np.tanh, "any"),
    "sigmoid": (lambda t: t.sigmoid(), _sigmoid, "any"),
    "relu": (lambda t: t.relu(), lambda x: np.maximum(x, 0), "nonzero"),
    "neg": (lambda t: -t, np.negative, "any"),
    "tc.exp": (tc.exp, np.exp, "any"),
    "tc.sigmoid": (tc.sigmoid, _sigmoid, "any"),
    "tc.relu": (tc.relu, lambda x: np.maximum(x, 0), "nonzero"),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward(device, name):
    fn, np_fn, kind = UNARY[name]
    check_forward(fn, np_fn, values(kind, (3, 4), 21), device=device)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_grads(device, name):
    fn, _, kind = UNARY[name]
    check_grads(fn, leaf(values(kind, (2, 3), 22), device))


def test_unary_known_values(device):
    x = tc.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], device=device)
    np.testing.assert_allclose(to_numpy(x.relu()), [0, 0, 0, 0.5, 2.0])
    assert not np.signbit(to_numpy(x.relu())[:2]).any()  # +0.0 for negatives, as PyTorch prints
    np.testing.assert_allclose(to_numpy(x.abs()), [2, 0.5, 0, 0.5, 2.0])
    np.testing.assert_allclose(to_numpy(x.sigmoid())[2], 0.5)
    big = tc.tensor([-1000.0, 1000.0], device=device).sigmoid()  # stable: no overflow/nan
    np.testing.assert_array_equal(to_numpy(big), [0.0, 1.0])
    assert to_numpy(tc.tensor([4.0], device=device).rsqrt())[0] == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "sin",
                                  "abs", "relu", "log1p"])
def test_unary_on_0d_tensors(device, name):
    # ufuncs on 0-d arrays give NumPy scalars: outputs saved for backward must still work
    fn, np_fn, kind = UNARY[name]
    x32 = tc.tensor(1.25, device=device, requires_grad=True)
    y = fn(x32)
    assert y.shape == () and y.dtype == tc.float32
    assert y.item() == pytest.approx(float(np_fn(np.float32(1.25))), rel=1e-6)
    y.backward()
    assert x32.grad.shape == ()
    x = leaf(values(kind, (3,), 23), device)
    check_grads(lambda t: fn((t * t).sum() * 0.5 if kind != "nonzero" else t.sum()), x)


def test_0d_chain_second_order(device):
    x = leaf([0.3, 0.7, 1.1], device)
    check_grads(lambda t: t.var().sqrt(), x)
    check_grads(lambda t: t.prod().exp(), x)
    check_grads(lambda t: (t.sum() * 0.2).tanh().sigmoid(), x)


def test_relu_and_abs_grad_values(device):
    x = tc.tensor([-2.0, -0.5, 0.5, 2.0], device=device, requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0, 0, 1, 1])
    x.grad = None
    x.abs().sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [-1, -1, 1, 1])


def test_int_tensor_unary_gives_float32(device):
    i = tc.tensor([1, 2, 4], device=device)
    for fn in (tc.exp, tc.log, tc.sqrt, tc.sin, tc.tanh, tc.sigmoid, tc.rsqrt, tc.log1p):
        out = fn(i)
        assert out.dtype == tc.float32, fn
    np.testing.assert_allclose(to_numpy(i.sqrt()), np.sqrt([1.0, 2.0, 4.0]), **F32)
    assert i.abs().dtype == tc.int64 and (-i).dtype == tc.int64 and i.relu().dtype == tc.int64


# -- clamp / maximum / minimum / where ---------------------------------------------------------
def test_clamp_values_and_grad(device):
    xv = np.array([-2.0, -0.3, 0.2, 0.7, 3.0])
    x = tc.tensor(xv, device=device, requires_grad=True)
    y = x.clamp(-0.5, 0.5)
    np.testing.assert_allclose(to_numpy(y), np.clip(xv, -0.5, 0.5), **F32)
    y.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0, 1, 1, 0, 0])


def test_clamp_requires_a_bound(device):
    with pytest.raises(RuntimeError):
        tc.ones(2, device=device).clamp()


def test_clamp_with_tensor_bounds(device):
    # values on disjoint grids: x is never within finite-difference reach of a bound
    rng = np.random.default_rng(31)
    xv = rng.integers(-8, 8, (3, 1, 4)) * 0.2 + 0.1
    lo_v = rng.integers(-5, 0, (2, 4)) * 0.2
    hi_v = rng.integers(1, 6, (4,)) * 0.2
    x, lo, hi = leaf(xv, device), leaf(lo_v, device), leaf(hi_v, device)
    out = tc.clamp(x, lo, hi)
    np.testing.assert_allclose(to_numpy(out), np.minimum(np.maximum(xv, lo_v), hi_v))
    assert out.shape == (3, 2, 4)
    out.sum().backward()
    full = (3, 2, 4)
    xb = np.broadcast_to(xv, full)
    np.testing.assert_array_equal(to_numpy(lo.grad), (xb < lo_v).sum(0))
    np.testing.assert_array_equal(to_numpy(hi.grad), (xb > hi_v).sum((0, 1)))
    np.testing.assert_array_equal(to_numpy(x.grad),
                                  ((xb >= lo_v) & (xb <= hi_v)).sum(1, keepdims=True))
    check_grads(lambda t, a, b: tc.clamp(t, a, b), x, lo, hi)
    check_grads(lambda t, a: t.clamp(min=a), x, lo)
    check_grads(lambda t, b: t.clamp(max=b), x, hi)


def test_clamp_int_tensor_with_float_bound_promotes(device):
    # PyTorch: an integer tensor clamped by a float scalar gives the default float type
    i = tc.tensor([1, 2, 3], device=device)
    out = i.clamp(min=1.5)
    assert out.dtype == tc.float32
    np.testing.assert_allclose(to_numpy(out), [1.5, 2.0, 3.0])
    assert i.clamp(0, 2).dtype == tc.int64


def test_maximum_minimum_tie_splits_gradient(device):
    a = tc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = tc.tensor([1.0, 5.0, 0.0], device=device, requires_grad=True)
    tc.maximum(a, b).sum().backward()
    np.testing.assert_allclose(to_numpy(a.grad), [0.5, 0.0, 1.0])
    np.testing.assert_allclose(to_numpy(b.grad), [0.5, 1.0, 0.0])
    a.grad = b.grad = None
    tc.minimum(a, b).sum().backward()
    np.testing.assert_allclose(to_numpy(a.grad), [0.5, 1.0, 0.0])
    np.testing.assert_allclose(to_numpy(b.grad), [0.5, 0.0, 1.0])


def _where_inputs(device, seed):
    rng = np.random.default_rng(seed)
    cond = tc.tensor(rng.random((3, 1, 4)) > 0.5, device=device)
    a = leaf(values("any", (2, 4), seed + 1), device)
    b = leaf(values("any", (3, 1, 1), seed + 2), device)
    return cond, a, b


def test_where_forward_broadcast(device):
    cond, a, b = _where_inputs(device, 40)
    out = tc.where(cond, a, b)
    expected = np.where(to_numpy(cond), to_numpy(a), to_numpy(b))
    assert out.shape == expected.shape == (3, 2, 4)
    np.testing.assert_allclose(to_numpy(out), expected)


def test_where_grads(device):
    cond, a, b = _where_inputs(device, 41)
    check_grads(lambda x, y: tc.where(cond, x, y), a, b)
    check_grads(lambda x: tc.where(cond, x, 0.25), a)
    check_grads(lambda y: tc.where(cond, -1.0, y), b)


def test_where_with_scalar_keeps_dtype(device):
    x = tc.tensor([1.0, -2.0], device=device)
    out = tc.where(x > 0, x, 0.0)
    assert out.dtype == tc.float32
    np.testing.assert_array_equal(to_numpy(out), [1.0, 0.0])


# -- comparisons -------------------------------------------------------------------------------
COMPARE = {
    "eq": (lambda a, b: a == b, np.equal),
    "ne": (lambda a, b: a != b, np.not_equal),
    "lt": (lambda a, b: a < b, np.less),
    "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater),
    "ge": (lambda a, b: a >= b, np.greater_equal),
    "tc.eq": (tc.eq, np.equal),
    "tc.lt": (tc.lt, np.less),
}


@pytest.mark.parametrize("name", list(COMPARE))
def test_comparisons(device, name):
    fn, np_fn = COMPARE[name]
    av = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32).repeat(3, 0)
    bv = np.array([[1.0], [3.0], [5.0]], dtype=np.float32)
    a = tc.tensor(av, device=device, requires_grad=True)
    b = tc.tensor(bv, device=device)
    out = fn(a, b)
    assert out.dtype == tc.bool and not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(to_numpy(out), np_fn(av, bv))
    # with a Python scalar, on either side of an operator; tc.eq(3, a) is a TypeError (as
    # in PyTorch: no (Number, Tensor) overload)
    np.testing.assert_array_equal(to_numpy(fn(a, 2.0)), np_fn(av, 2.0))
    if name.startswith("tc."):
        with pytest.raises(TypeError):
            fn(3, a)
    else:
        np.testing.assert_array_equal(to_numpy(fn(3, a)), np_fn(3, av))
    # int tensor against a float tensor compares values, not truncated ones
    i = tc.tensor([1, 2, 3], device=device)
    f = tc.tensor([1.5, 2.0, 2.5], device=device)
    np.testing.assert_array_equal(to_numpy(fn(i, f)), np_fn(np.array([1, 2, 3]), [1.5, 2.0, 2.5]))
    np.testing.assert_array_equal(to_numpy(fn(i, 1.5)), np_fn(np.array([1, 2, 3]), 1.5))
    # 0-d operands still give a (0-d) tensor
    z = fn(tc.tensor(2.0, device=device), 2.0)
    assert z.shape == () and z.dtype == tc.bool and bool(z) == bool(np_fn(2.0, 2.0))


# -- type promotion (PyTorch's rules) ----------------------------------------------------------
def _i64(d):
    return tc.tensor([1, 2, 3], device=d)


def _i32(d):
    return tc.tensor([1, 2, 3], dtype=tc.int32, device=d)


def _f16(d):
    return tc.tensor([1.0, 2.0, 4.0], dtype=tc.float16, device=d)


def _f32(d):
    return tc.tensor([1.0, 2.0, 4.0], device=d)


def _f64(d):
    return tc.tensor([1.0, 2.0, 4.0], dtype=tc.float64, device=d)


def _b(d):
    return tc.tensor([True, False, True], device=d)


PROMOTION = [
    # (label, fn(device) -> tensor, expected dtype, expected values)
    ("i64 + 1.5", lambda d: _i64(d) + 1.5, tc.float32, [2.5, 3.5, 4.5]),
    ("1.5 + i64", lambda d: 1.5 + _i64(d), tc.float32, [2.5, 3.5, 4.5]),
    ("i64 - 0.5", lambda d: _i64(d) - 0.5, tc.float32, [0.5, 1.5, 2.5]),
    ("0.5 - i64", lambda d: 0.5 - _i64(d), tc.float32, [-0.5, -1.5, -2.5]),
    ("i64 * 0.5", lambda d: _i64(d) * 0.5, tc.float32, [0.5, 1.0, 1.5]),
    ("i32 + 1.5", lambda d: _i32(d) + 1.5, tc.float32, [2.5, 3.5, 4.5]),
    ("i64 + f32", lambda d: _i64(d) + _f32(d), tc.float32, [2.0, 4.0, 7.0]),
    ("f32 + i64", lambda d: _f32(d) + _i64(d), tc.float32, [2.0, 4.0, 7.0]),
    ("i64 * f32", lambda d: _i64(d) * _f32(d), tc.float32, [1.0, 4.0, 12.0]),
    ("i64 * f64", lambda d: _i64(d) * _f64(d), tc.float64, [1.0, 4.0, 12.0]),
    ("f32 * 2.5", lambda d: _f32(d) * 2.5, tc.float32, [2.5, 5.0, 10.0]),
    ("2.5 * f32", lambda d: 2.5 * _f32(d), tc.float32, [2.5, 5.0, 10.0]),
    ("f32 * 3", lambda d: _f32(d) * 3, tc.float32, [3.0, 6.0, 12.0]),
    ("f32 + f64", lambda d: _f32(d) + _f64(d), tc.float64, [2.0, 4.0, 8.0]),
    ("f64 - f32", lambda d: _f64(d) - _f32(d), tc.float64, [0.0, 0.0, 0.0]),
    ("f16 + 1.5", lambda d: _f16(d) + 1.5, tc.float16, [2.5, 3.5, 5.5]),
    ("f16 + f32", lambda d: _f16(d) + _f32(d), tc.float32, [2.0, 4.0, 8.0]),
    ("i64 / i64", lambda d: _i64(d) / _i64(d), tc.float32, [1.0, 1.0, 1.0]),
    ("i64 / 2", lambda d: _i64(d) / 2, tc.float32, [0.5, 1.0, 1.5]),
    ("i64 / 2.0", lambda d: _i64(d) / 2.0, tc.float32, [0.5, 1.0, 1.5]),
    ("2 / i64", lambda d: 2 / _i64(d), tc.float32, [2.0, 1.0, 2 / 3]),
    ("i32 / i64", lambda d: _i32(d) / _i64(d), tc.float32, [1.0, 1.0, 1.0]),
    ("i32 / i32", lambda d: _i32(d) / _i32(d), tc.float32, [1.0, 1.0, 1.0]),
    ("tc.div(i64, i64)", lambda d: tc.div(_i64(d), _i64(d)), tc.float32, [1.0, 1.0, 1.0]),
    ("f32 / i64", lambda d: _f32(d) / _i64(d), tc.float32, [1.0, 1.0, 4 / 3]),
    ("i64 + 1", lambda d: _i64(d) + 1, tc.int64, [2, 3, 4]),
    ("i32 + 1", lambda d: _i32(d) + 1, tc.int32, [2, 3, 4]),
    ("i32 + i64", lambda d: _i32(d) + _i64(d), tc.int64, [2, 4, 6]),
    ("i64 * 2", lambda d: _i64(d) * 2, tc.int64, [2, 4, 6]),
    ("i64 ** 2", lambda d: _i64(d) ** 2, tc.int64, [1, 4, 9]),
    ("i64 ** 0.5", lambda d: _i64(d) ** 0.5, tc.float32, np.sqrt([1.0, 2.0, 3.0])),
    ("2.0 ** i64", lambda d: 2.0 ** _i64(d), tc.float32, [2.0, 4.0, 8.0]),
    ("2 ** i64", lambda d: 2 ** _i64(d), tc.int64, [2, 4, 8]),
    ("f32 ** 2", lambda d: _f32(d) ** 2, tc.float32, [1.0, 4.0, 16.0]),
    ("bool + 1", lambda d: _b(d) + 1, tc.int64, [2, 1, 2]),
    ("bool + f32", lambda d: _b(d) + _f32(d), tc.float32, [2.0, 2.0, 5.0]),
    ("bool * 1.5", lambda d: _b(d) * 1.5, tc.float32, [1.5, 0.0, 1.5]),
    ("maximum(i64, f32)", lambda d: tc.maximum(_i64(d), _f32(d) * 0.75), tc.float32,
     [1.0, 2.0, 3.0]),
    ("where(c, i64, f32)", lambda d: tc.where(_b(d), _i64(d), _f32(d)), tc.float32,
     [1.0, 2.0, 3.0]),
    ("where(c, i64, 0.5)", lambda d: tc.where(_b(d), _i64(d), 0.5), tc.float32,
     [1.0, 0.5, 3.0]),
    ("where(c, 0.5, i64)", lambda d: tc.where(_b(d), 0.5, _i64(d)), tc.float32,
     [0.5, 2.0, 0.5]),
    ("clamp(i64, min=1.5)", lambda d: _i64(d).clamp(min=1.5), tc.float32, [1.5, 2.0, 3.0]),
    # a 0-d tensor of the same category defers to the dimensioned tensor's dtype
    ("f32 + 0-d f64", lambda d: _f32(d) + tc.tensor(0.5, dtype=tc.float64, device=d),
     tc.float32, [1.5, 2.5, 4.5]),
    ("0-d f64 * f32", lambda d: tc.tensor(2.0, dtype=tc.float64, device=d) * _f32(d),
     tc.float32, [2.0, 4.0, 8.0]),
    ("i32 + 0-d i64", lambda d: _i32(d) + tc.tensor(1, device=d), tc.int32, [2, 3, 4]),
    ("i64 + 0-d f64", lambda d: _i64(d) + tc.tensor(0.5, dtype=tc.float64, device=d),
     tc.float64, [1.5, 2.5, 3.5]),
    ("0-d f32 + 0-d f64", lambda d: tc.tensor(1.0, device=d) + tc.tensor(
        0.5, dtype=tc.float64, device=d), tc.float64, 1.5),
    ("f32 * np.float64", lambda d: _f32(d) * np.float64(2.0), tc.float32, [2.0, 4.0, 8.0]),
    ("i64 + np.float64", lambda d: _i64(d) + np.float64(0.5), tc.float32, [1.5, 2.5, 3.5]),
    ("i32.prod()", lambda d: _i32(d).prod(), tc.int64, 6),
    ("bool.sum()", lambda d: _b(d).sum(), tc.int64, 2),
    ("i32.sum()", lambda d: _i32(d).sum(), tc.int64, 6),
]


@pytest.mark.parametrize("label,fn,dtype,expected", PROMOTION, ids=[p[0] for p in PROMOTION])
def test_type_promotion(device, label, fn, dtype, expected):
    out = fn(device)
    assert out.dtype == dtype, f"{label}: got {out.dtype}, PyTorch gives {dtype}"
    assert to_numpy(out).dtype == dtype.np
    np.testing.assert_allclose(to_numpy(out), np.asarray(expected, dtype=np.float64), rtol=1e-3)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_promotion_same_with_and_without_graph(device, op):
    fn = BINARY[op][0]
    for req in (False, True):
        f = tc.tensor([1.0, 2.0], device=device, requires_grad=req)
        i = tc.tensor([3, 4], device=device)
        d = tc.tensor([2.0, 4.0], dtype=tc.float64, device=device, requires_grad=req)
        assert fn(f, i).dtype == tc.float32
        assert fn(i, f).dtype == tc.float32
        assert fn(f, d).dtype == tc.float64
        assert fn(f, 0.5).dtype == tc.float32
        assert fn(i, i).dtype == (tc.float32 if op == "div" else tc.int64)


def test_mixed_precision_grads_take_input_dtype(device):
    a = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tc.tensor([[3.0, 4.0]], dtype=tc.float64, device=device, requires_grad=True)
    out = a * b
    assert out.dtype == tc.float64
    out.sum().backward()
    assert a.grad.dtype == tc.float32 and a.grad.shape == (2,)
    assert b.grad.dtype == tc.float64 and b.grad.shape == (1, 2)
    np.testing.assert_allclose(to_numpy(a.grad), [3.0, 4.0])
    np.testing.assert_allclose(to_numpy(b.grad), [[1.0, 2.0]])


# -- bad input ---------------------------------------------------------------------------------
def _names_shape(msg: str, shape) -> bool:
    dims = [str(n) for n in shape]
    forms = ["[" + ", ".join(dims) + "]", "(" + ", ".join(dims) + ")", "(" + ",".join(dims) + ")",
             "x".join(dims)]
    if len(dims) == 1:
        forms.append("(" + dims[0] + ",)")
    return any(f in msg for f in forms)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "==", "<", "maximum", "where"])
def test_shape_mismatch_raises_runtime_error_naming_shapes(device, op):
    a = tc.ones(2, 3, device=device)
    b = tc.ones(4, device=device) * 2
    fns = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
           "**": lambda: a ** b, "==": lambda: a == b, "<": lambda: a < b,
           "maximum": lambda: tc.maximum(a, b), "where": lambda: tc.where(a > 0, a, b)}
    with pytest.raises(RuntimeError) as info:
        fns[op]()
    msg = str(info.value)
    assert _names_shape(msg, (2, 3)) and _names_shape(msg, (4,)), msg


def test_shape_mismatch_with_grad_raises_runtime_error(device):
    a = tc.ones(2, 3, device=device, requires_grad=True)
    b = tc.ones(3, 2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape("[2, 3]")) as info:
        a + b
    assert "[3, 2]" in str(info.value)


# -- property: broadcast gradients are reduced to the input's shape ----------------------------
def _reduce_to(grad: np.ndarray, shape) -> np.ndarray:
    """Sum a broadcast gradient down to ``shape`` (NumPy reference)."""
    lead = grad.ndim - len(shape)
    g = grad.sum(axis=tuple(range(lead))) if lead else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 min_side=1, max_side=3),
       seed=st.integers(0, 2**31 - 1))
def test_property_broadcast_mul_grad(device, shapes, seed):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    av, bv = rng.standard_normal(sa), rng.standard_normal(sb)
    a = tc.tensor(av, dtype=tc.float64, device=device, requires_grad=True)
    b = tc.tensor(bv, dtype=tc.float64, device=device, requires_grad=True)
    out = a * b
    assert out.shape == shapes.result_shape
    out.sum().backward()
    assert a.grad.shape == tuple(sa) and b.grad.shape == tuple(sb)
    full = shapes.result_shape
    np.testing.assert_allclose(to_numpy(a.grad), _reduce_to(np.broadcast_to(bv, full), sa),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(b.grad), _reduce_to(np.broadcast_to(av, full), sb),
                               rtol=1e-12, atol=1e-12)
