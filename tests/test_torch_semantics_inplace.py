"""In-place ops follow PyTorch 2.13's rules (issue 15): ``add_ sub_ mul_ div_ pow_ clamp_
floor_divide_ remainder_ fmod_ fill_ copy_ masked_fill_``, the bitwise ones and the
augmented assignments ``+= -= *= /= //= %= **= &= |= ^=``.

- The out-of-place op's result type must cast to self's dtype (PyTorch's ``canCast``), or
  RuntimeError "result type Float can't be cast to the desired output type Long".
- Python numbers convert as PyTorch converts them: ints wrap to an integer tensor's range,
  OverflowError outside [-2**63, 2**64), checked conversions where PyTorch checks.
- ``alpha``, ``rounding_mode`` and the other arguments mean what the out-of-place op's do.
- The result may not broadcast self to a bigger shape, and self may not be an expanded
  tensor (elements sharing memory), except for ``fill_``/``masked_fill_``/``index_put_``.
- ``x op= y`` changes ``x`` itself (every name bound to it sees the change).
(Gradients after in-place ops: test_torch_semantics_inplace_grad.py.)

Expected values are PyTorch 2.13's, written out.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc


def t_(values, dtype, device):
    return tc.tensor(values, dtype=dtype, device=device)


def same(got, expected):
    np.testing.assert_array_equal(to_numpy(got), np.asarray(expected))


# -- the result type must cast to self's dtype --------------------------------------------------
CAST_REFUSED = [
    # (values, dtype, op, the result type PyTorch names)
    ([True], tc.bool, lambda t: operator.iadd(t, 1), "Long"),
    ([True], tc.bool, lambda t: operator.imul(t, 2), "Long"),
    ([True], tc.bool, lambda t: operator.itruediv(t, 1), "Float"),
    ([True], tc.bool, lambda t: operator.ixor(t, 1), "Long"),
    ([True], tc.bool, lambda t: operator.ipow(t, 2), "Long"),
    ([True], tc.bool, lambda t: t.clamp_(0, 1), "Long"),
    ([True], tc.bool, lambda t: t.floor_divide_(2), "Long"),
    ([1], tc.int64, lambda t: operator.iadd(t, 1.5), "Float"),
    ([1], tc.int64, lambda t: operator.imul(t, 1.5), "Float"),
    ([1], tc.int64, lambda t: operator.itruediv(t, 2), "Float"),
    ([1], tc.int64, lambda t: operator.ipow(t, 0.5), "Float"),
    ([1], tc.int64, lambda t: operator.iand(t, 1.5), "Float"),  # before the kernel's refusal
    ([1], tc.int64, lambda t: t.clamp_(0.5), "Float"),
    ([1], tc.int64, lambda t: t.div_(t_([1], tc.int64, t.device)), "Float"),
    ([1], tc.int64, lambda t: t.add_(t_(1.5, tc.float64, t.device)), "Double"),
    ([1], tc.int32, lambda t: t.pow_(t_([2.0], tc.float32, t.device)), "Float"),
    ([1], tc.int32, lambda t: t.true_divide_(1), "Float"),
]


@pytest.mark.parametrize("values,dtype,op,result", CAST_REFUSED)
def test_result_type_must_cast_to_self(device, values, dtype, op, result):
    t = t_(values, dtype, device)
    name = {tc.bool: "Bool", tc.int64: "Long", tc.int32: "Int"}[dtype]
    with pytest.raises(RuntimeError, match=f"result type {result} can't be cast to the "
                                           f"desired output type {name}"):
        op(t)
    same(t, values)  # nothing written


ALLOWED = [
    # (values, dtype, op, expected values): results of the same or a lower category
    ([True, False], tc.bool, lambda t: operator.iadd(t, True), [True, True]),
    ([True, False], tc.bool, lambda t: operator.imul(t, True), [True, False]),
    ([True, False], tc.bool, lambda t: operator.ior(t, True), [True, True]),
    ([True, False], tc.bool, lambda t: operator.ixor(t, True), [False, True]),
    ([True], tc.bool, lambda t: t.pow_(True), [True]),
    ([1, 2], tc.int32, lambda t: operator.ior(t, t_([4], tc.int64, t.device)), [5, 6]),
    ([1], tc.int64, lambda t: operator.ixor(t, True), [0]),
    ([3], tc.int32, lambda t: t.add_(t_([5], tc.int64, t.device)), [8]),
    ([1.5], tc.float32, lambda t: t.add_(t_([1], tc.int64, t.device), alpha=2), [3.5]),
    ([3.0], tc.float16, lambda t: t.add_(t_([5.0], tc.float64, t.device)), [8.0]),
    ([5.0, 2.0], tc.float16, lambda t: t.mul_(t_(3.0, tc.float32, t.device)), [15.0, 6.0]),
    ([2.0], tc.float32, lambda t: operator.ipow(t, t_([3], tc.int64, t.device)), [8.0]),
]


@pytest.mark.parametrize("values,dtype,op,expected", ALLOWED)
def test_results_that_cast_are_written_in_self_dtype(device, values, dtype, op, expected):
    t = t_(values, dtype, device)
    assert op(t) is t
    assert t.dtype == dtype
    same(t, expected)


# -- Python numbers: wrapping, overflow, checked conversions ---------------------------------------
NUMBERS = [
    # (values, dtype, op, expected values)
    ([1], tc.int32, lambda t: operator.iadd(t, 2**40), [1]),
    ([1], tc.int32, lambda t: operator.iadd(t, 2**31), [-2147483647]),
    ([1], tc.int32, lambda t: operator.isub(t, 2**40), [1]),
    ([1], tc.int32, lambda t: operator.imul(t, 2**40 + 3), [3]),
    ([1], tc.int32, lambda t: t.add_(2**63), [1]),
    ([1], tc.int32, lambda t: t.add_(np.int64(2**40)), [1]),
    ([1, 2], tc.int32, lambda t: operator.iand(t, 2**40 + 3), [1, 2]),
    ([1], tc.int64, lambda t: t.add_(2**63), [-9223372036854775807]),
    ([1], tc.int64, lambda t: t.add_(3, alpha=2**40), [1 + 3 * 2**40]),
    ([3], tc.int64, lambda t: t.add_(2**63, alpha=2), [3]),  # 2**64 wraps to 0
    ([1], tc.int32, lambda t: t.add_(t_([1], tc.int64, t.device), alpha=2**40), [1]),
    ([1], tc.int32, lambda t: t.add_(2**31 - 1), [-2147483648]),
    ([1.0], tc.float32, lambda t: t.mul_(2**63), [9.223372036854776e18]),
    ([1.0], tc.float32, lambda t: t.clamp_(2**63), [9.223372036854776e18]),
    ([1.0], tc.float32, lambda t: t.add_(2**63, alpha=2), [1.8446744073709552e19]),
    ([3.0], tc.float16, lambda t: t.add_(70000.0), [np.inf]),
    ([3.0], tc.float32, lambda t: t.fill_(2**63), [9.223372036854776e18]),
    ([False], tc.bool, lambda t: t.fill_(2**63), [True]),
    ([3.0], tc.float64, lambda t: t.add_(t_([1.0], tc.float32, t.device), alpha=1e300),
     [1e300]),  # alpha * other in the result type (float64), not in other's
]


@pytest.mark.parametrize("values,dtype,op,expected", NUMBERS)
def test_python_numbers_convert_as_in_pytorch(device, values, dtype, op, expected):
    t = t_(values, dtype, device)
    op(t)
    assert t.dtype == dtype
    same(t, expected)


NUMBERS_REFUSED = [
    # (values, dtype, op, error class, message fragment)
    ([1.0], tc.float32, lambda t: t.mul_(2**70), OverflowError, "int too big to convert"),
    ([1.0], tc.float32, lambda t: t.add_(2**64), OverflowError, "int too big to convert"),
    ([1.0], tc.float32, lambda t: t.clamp_(2**70), OverflowError, "int too big to convert"),
    ([1], tc.int32, lambda t: t.add_(2**64), OverflowError, "int too big to convert"),
    ([1], tc.int64, lambda t: t.add_(-2**63 - 1), OverflowError, "int too big to convert"),
    ([1], tc.int64, lambda t: t.add_(2**64, alpha=0.5), OverflowError, "int too big"),
    ([True], tc.bool, lambda t: operator.iand(t, 2**64), OverflowError, "int too big"),
    ([3], tc.int64, lambda t: t.fill_(2**64), OverflowError, "int too big to convert"),
    ([3.0], tc.float32, lambda t: t.fill_(-2**63 - 1), OverflowError, "int too big"),
    ([3], tc.int64, lambda t: t.fill_(2**63), RuntimeError, "without overflow"),
    ([3], tc.int64, lambda t: t.masked_fill_(t_([True], tc.bool, t.device), 2**63),
     RuntimeError, "without overflow"),
    ([1], tc.int32, lambda t: t.clamp_(2**40), RuntimeError, "without overflow"),
    ([1], tc.int32, lambda t: t.clamp_(0, 2**40), RuntimeError, "without overflow"),
    ([1], tc.int32, lambda t: operator.ipow(t, 2**40), RuntimeError, "without overflow"),
    ([3.0], tc.float32, lambda t: t.clamp_(1e300), RuntimeError, "without overflow"),
    ([3.0], tc.float32, lambda t: t.clamp_(-1e300, 1e300), RuntimeError, "without overflow"),
]


@pytest.mark.parametrize("values,dtype,op,error,match", NUMBERS_REFUSED)
def test_python_numbers_refused_as_in_pytorch(device, values, dtype, op, error, match):
    t = t_(values, dtype, device)
    with pytest.raises(error, match=match):
        op(t)
    same(t, values)


# -- alpha, rounding_mode, operand kinds ---------------------------------------------------------
ARGUMENTS_REFUSED = [
    # (values, dtype, op, error class, message fragment)
    ([1], tc.int64, lambda t: t.add_(1, alpha=0.5), RuntimeError,
     "For integral input tensors, argument alpha must not be a floating point number."),
    ([1], tc.int64, lambda t: t.sub_(t_([1], tc.int64, t.device), alpha=0.5), RuntimeError,
     "argument alpha must not be a floating point number"),
    ([1.0], tc.float32, lambda t: t.add_(1, alpha=True), RuntimeError,
     "Boolean alpha only supported for Boolean results."),
    ([3], tc.int64, lambda t: t.add_(t_([1], tc.int64, t.device), alpha=True), RuntimeError,
     "Boolean alpha only supported"),
    ([1], tc.int32, lambda t: t.add_(1, alpha=2**40), RuntimeError, "without overflow"),
    ([3.0], tc.float32, lambda t: t.add_(1, alpha=1e300), RuntimeError, "without overflow"),
    ([1.0], tc.float32, lambda t: t.add_(1, alpha=2**70), OverflowError, "int too big"),
    ([True], tc.bool, lambda t: operator.isub(t, True), RuntimeError,
     "Subtraction, the `-` operator"),
    ([True], tc.bool, lambda t: t.sub_(1), RuntimeError, "Subtraction, the `-` operator"),
    ([1.0], tc.float32, lambda t: t.sub_(True, alpha=0.5), RuntimeError,
     "Subtraction, the `-` operator"),
    ([2], tc.int64, lambda t: t.pow_(-1), RuntimeError,
     "Integers to negative integer powers are not allowed."),
    ([1.0], tc.float32, lambda t: operator.iand(t, 1), NotImplementedError, "bitwise_and"),
    ([1.0], tc.float32, lambda t: operator.ior(t, True), NotImplementedError, "bitwise_or"),
    ([-7.0], tc.float32, lambda t: t.div_(2, rounding_mode="bad"), RuntimeError,
     "rounding_mode to be one of None, 'trunc', or 'floor'"),
    ([-7], tc.int64, lambda t: t.div_(0, rounding_mode="floor"), RuntimeError,
     "ZeroDivisionError"),
    ([True], tc.bool, lambda t: t.div_(True, rounding_mode="trunc"), NotImplementedError,
     "Bool"),
    ([3.0], tc.float32, lambda t: t.add_(np.array([2.5])), TypeError, "ndarray"),
    ([3.0], tc.float32, lambda t: t.mul_([2.0]), TypeError, "list"),
    ([3.0], tc.float32, lambda t: t.pow_([2]), TypeError, "list"),
    ([3.0], tc.float32, lambda t: t.clamp_([2.0]), TypeError, "list"),
    ([3], tc.int64, lambda t: t.floor_divide_([2]), TypeError, "list"),
    ([3.0], tc.float32, lambda t: t.add_(None), TypeError, "NoneType"),
    ([3.0], tc.float32, lambda t: t.clamp_(), RuntimeError, "At least one of 'min' or 'max'"),
]


@pytest.mark.parametrize("values,dtype,op,error,match", ARGUMENTS_REFUSED)
def test_arguments_refused_as_in_pytorch(device, values, dtype, op, error, match):
    t = t_(values, dtype, device)
    with pytest.raises(error, match=match):
        op(t)
    same(t, values)


ROUNDED = [
    # (values, dtype, op, expected values)
    ([7, -7], tc.int64, lambda t: t.div_(2, rounding_mode="floor"), [3, -4]),
    ([7, -7], tc.int64, lambda t: t.div_(2, rounding_mode="trunc"), [3, -3]),
    ([5, 2], tc.int32, lambda t: t.div_(t_([2, 2], tc.int64, t.device), rounding_mode="floor"),
     [2, 1]),
    ([-7.0, 7.0], tc.float32, lambda t: t.div_(2, rounding_mode="floor"), [-4.0, 3.0]),
    ([-7.0, 7.0], tc.float32, lambda t: t.divide_(2, rounding_mode="trunc"), [-3.0, 3.0]),
    ([-7.0, 7.0], tc.float32, lambda t: t.div_(2, rounding_mode=None), [-3.5, 3.5]),
    ([3.0], tc.float32, lambda t: t.true_divide_(2), [1.5]),
    ([3.0], tc.float32, lambda t: t.multiply_(2), [6.0]),
    ([3.0], tc.float32, lambda t: t.subtract_(2, alpha=2), [-1.0]),
    ([3], tc.int64, lambda t: t.bitwise_xor_(1), [2]),
    ([3], tc.int64, lambda t: t.bitwise_and_(t_([6], tc.int64, t.device)), [2]),
    ([3], tc.int32, lambda t: t.bitwise_or_(4), [7]),
    ([2.0], tc.float32, lambda t: t.pow_(3), [8.0]),
    ([2], tc.int64, lambda t: t.pow_(3), [8]),
    ([1, -1], tc.int64, lambda t: t.pow_(t_([-2, -3], tc.int64, t.device)), [1, -1]),
]


@pytest.mark.parametrize("values,dtype,op,expected", ROUNDED)
def test_inplace_forms_and_aliases_mean_the_out_of_place_op(device, values, dtype, op,
                                                            expected):
    t = t_(values, dtype, device)
    assert op(t) is t
    assert t.dtype == dtype
    same(t, expected)


AUGMENTED = [
    # (operator, values, dtype, other, expected values)
    (operator.iadd, [1.0, 2.0], tc.float32, 1.5, [2.5, 3.5]),
    (operator.isub, [1.0, 2.0], tc.float32, 1.5, [-0.5, 0.5]),
    (operator.imul, [1, 2], tc.int64, 3, [3, 6]),
    (operator.itruediv, [1.0, 2.0], tc.float32, 4, [0.25, 0.5]),
    (operator.ifloordiv, [7, -7], tc.int64, 2, [3, -4]),
    (operator.imod, [7, -7], tc.int64, 3, [1, 2]),
    (operator.ipow, [2.0, 3.0], tc.float32, 2, [4.0, 9.0]),
    (operator.ipow, [2, 3], tc.int64, 2, [4, 9]),
    (operator.iand, [6, 3], tc.int64, 3, [2, 3]),
    (operator.ior, [4, 1], tc.int32, 2, [6, 3]),
    (operator.ixor, [True, False], tc.bool, True, [False, True]),
]


@pytest.mark.parametrize("op,values,dtype,other,expected", AUGMENTED)
def test_augmented_assignment_changes_the_tensor_itself(device, op, values, dtype, other,
                                                        expected):
    t = t_(values, dtype, device)
    alias, version = t, t._version
    result = op(t, other)
    assert result is alias  # ``t op= other`` rebinds t to the same tensor
    assert t.dtype == dtype and t._version == version + 1
    same(alias, expected)


# -- shapes: no broadcasting self to a bigger shape ----------------------------------------------
BIGGER = [
    lambda t, o: t.add_(o), lambda t, o: t.sub_(o, alpha=2), lambda t, o: t.mul_(o),
    lambda t, o: t.div_(o), lambda t, o: t.div_(o, rounding_mode="floor"),
    lambda t, o: t.pow_(o), lambda t, o: t.clamp_(o), lambda t, o: t.clamp_(None, o),
    lambda t, o: t.copy_(o), lambda t, o: t.floor_divide_(o), lambda t, o: t.remainder_(o),
    lambda t, o: t.fmod_(o), lambda t, o: operator.iadd(t, o),
    lambda t, o: t.masked_fill_(o > 0, 2.0),
]


@pytest.mark.parametrize("op", BIGGER)
def test_other_operand_may_not_broadcast_self_bigger(device, op):
    t = tc.ones(3, device=device)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[2, 3\]"):
        op(t, tc.ones(2, 3, device=device))
    same(t, [1.0, 1.0, 1.0])


def test_shapes_that_do_not_broadcast_or_grow_a_0d_self_raise(device):
    with pytest.raises(RuntimeError, match=r"output with shape \[\] doesn't match"):
        tc.ones((), device=device).add_(tc.ones(1, device=device))
    with pytest.raises(RuntimeError, match=r"output with shape \[1, 3\] doesn't match the "
                                           r"broadcast shape \[3, 3\]"):
        tc.ones(1, 3, device=device).add_(tc.ones(3, 1, device=device))
    with pytest.raises(RuntimeError):
        tc.ones(3, device=device).add_(tc.ones(4, device=device))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\]"):
        t_([1, 2, 3], tc.int64, device).__iand__(tc.ones(2, 3, dtype=tc.int64, device=device))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\]"):  # before 'Float'
        tc.ones(3, device=device).__ixor__(tc.ones(2, 3, device=device))
    t = tc.ones(2, 3, device=device)
    t.add_(tc.ones(3, device=device))  # the other operand broadcasts to self: fine
    same(t, np.full((2, 3), 2.0))


# -- the out-of-place rules the in-place ops inherit ---------------------------------------------
def test_out_of_place_alpha_and_scalar_checks_the_inplace_ops_share(device):
    t32 = tc.tensor([3.0], device=device)
    t64 = tc.tensor([3.0], dtype=tc.float64, device=device)
    one32 = tc.tensor([1.0], device=device)
    # alpha * other in the result type: float64 here, not float32 (which would give inf)
    same(tc.add(t64, one32, alpha=1e300), [1e300])
    same(tc.sub(t64, one32, alpha=-1e300), [1e300])
    # a number times alpha in the result type: 2**63 * 2 as a float; as int64, wrapped to 0
    same(tc.add(t32, 2**63, alpha=2), [1.8446744073709552e19])
    same(tc.add(t_([3], tc.int64, device), 2**63, alpha=2), [3])
    # a bool result takes an int alpha as a bool
    same(tc.add(t_([True, False], tc.bool, device), True, alpha=2), [True, True])
    same(tc.add(t_([False, False], tc.bool, device), t_([True, False], tc.bool, device),
                alpha=2), [True, False])
    for call in (lambda: tc.add(t32, 1, alpha=1e300), lambda: t32.clamp(1e300),
                 lambda: t32.clamp(max=-1e300), lambda: tc.where(t32 > 0, t32, 1e39)):
        with pytest.raises(RuntimeError, match="value cannot be converted to type float32 "
                                               "without overflow"):
            call()
    same(t32.clamp(float("inf")), [np.inf])  # infinities convert
    same(tc.pow(t_([2], tc.int64, device), 1e300), [np.inf])  # pow's float exponent: unchecked
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator"):
        tc.sub(t32, True, alpha=0.5)  # bools refused before alpha is applied
