"""Reductions at NaN, ties, zeros and infinities: values and gradients as PyTorch 2.13 gives
them (issue 15, item 5), and what each node saves (item 1).

The expected values are written out; each follows from PyTorch's backward formula named in
the test (evenly_distribute_backward, amax's scale by count, max(dim)'s scatter,
prod_backward, var_backward / std_backward). Gradients are of ``out.sum()`` in float64.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import grad_of, to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():  # 0/0, inf - inf and log(0) on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def check(fn, values, device, out, grad):
    got_out, got_grad = grad_of(fn, values, device)
    np.testing.assert_allclose(got_out, np.asarray(out, dtype=np.float64), rtol=1e-12,
                               equal_nan=True)
    np.testing.assert_allclose(got_grad, np.asarray(grad, dtype=np.float64), rtol=1e-12,
                               equal_nan=True)


# -- max / min ---------------------------------------------------------------------------------
# max() and min(): the gradient split evenly among the elements equal to the result, or among
# the NaNs when the result is NaN, and exactly zero elsewhere (evenly_distribute_backward)
FULL_EXTREME = [
    ([1.0, NAN, 3.0], NAN, [0, 1, 0]),
    ([NAN, NAN, 3.0], NAN, [0.5, 0.5, 0]),
    ([NAN, 3.0, NAN], NAN, [0.5, 0, 0.5]),
    ([INF, NAN], NAN, [0, 1]),
    ([-INF, -INF], -INF, [0.5, 0.5]),
]


@pytest.mark.parametrize("values,out,grad", FULL_EXTREME, ids=str)
@pytest.mark.parametrize("largest", [True, False])
def test_max_min_full_send_the_gradient_to_the_nans(device, values, out, grad, largest):
    check(lambda t: t.max() if largest else t.min(), values, device, out, grad)


def test_max_full_ties_split_and_others_stay_zero(device):
    check(lambda t: t.max(), [3.0, 1.0, 3.0], device, 3.0, [0.5, 0, 0.5])
    check(lambda t: t.min(), [3.0, 1.0, 3.0], device, 1.0, [0, 1, 0])
    # an infinite upstream gradient stays off the other elements (filled in, not multiplied)
    check(lambda t: t.max().log(), [-INF, 0.0], device, -INF, [0, INF])
    check(lambda t: t.max().log(), [1.0, NAN, 3.0], device, NAN, [0, NAN, 0])


def test_amax_amin_nan_slice_gets_nan_gradients(device):
    # amax: grad * (x == out) / count; a NaN slice has count 0, so 0/0 over the slice
    check(lambda t: t.amax(), [1.0, NAN, 3.0], device, NAN, [NAN, NAN, NAN])
    check(lambda t: t.amin(1), [[1.0, NAN, 3.0], [3.0, 1.0, 1.0]], device,
          [NAN, 1.0], [[NAN, NAN, NAN], [0, 0.5, 0.5]])
    check(lambda t: t.amax(0), [3.0, 1.0, 3.0], device, 3.0, [0.5, 0, 0.5])


def test_max_dim_gradient_goes_to_the_returned_index(device):
    x = tc.tensor([[1.0, NAN, 3.0, NAN], [3.0, 3.0, 1.0, 2.0]], dtype=tc.float64,
                  device=device, requires_grad=True)
    values, indices = x.max(1)
    assert indices.tolist() == [1, 0]  # the first NaN; the first of tied maxima
    np.testing.assert_array_equal(to_numpy(values), [NAN, 3.0])
    values.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [[0, 1, 0, 0], [1, 0, 0, 0]])
    # scattered: an infinite upstream gradient leaves the others exactly zero
    check(lambda t: t.min(0).values.log(), [[0.0, 2.0], [1.0, 3.0]], device,
          [-INF, np.log(2.0)], [[INF, 0.5], [0, 0]])


@pytest.mark.parametrize("largest", [True, False])
def test_argmax_argmin_return_the_first_nan(device, largest):
    x = tc.tensor([[1.0, NAN, 3.0, NAN], [NAN, NAN, 1.0, 0.0], [2.0, 5.0, 5.0, -1.0]],
                  device=device)
    fn = tc.argmax if largest else tc.argmin
    assert fn(x, 1).tolist() == ([1, 0, 1] if largest else [1, 0, 3])
    assert fn(x).item() == 1
    assert fn(x[2]).item() == (1 if largest else 3)


# -- prod ----------------------------------------------------------------------------------------
PROD = [
    # (fn, input, output, gradient): no zeros: g * out / x
    (lambda t: t.prod(), [2.0, 3.0, 4.0], 24.0, [12, 8, 6]),
    # one zero: it gets the product of the others
    (lambda t: t.prod(), [2.0, 0.0, 4.0], 0.0, [0, 8, 0]),
    # two zeros, full reduction: zeros
    (lambda t: t.prod(), [0.0, 0.0, 4.0], 0.0, [0, 0, 0]),
    (lambda t: t.prod(), [[-INF, -INF, 0.0], [0.0, -INF, 1.0]], NAN, [[0] * 3] * 2),
    # a zero with NaN / inf: exclusive products from both sides (prod_safe_zeros_backward)
    (lambda t: t.prod(), [NAN, 0.0, 2.0], NAN, [0, NAN, NAN]),
    (lambda t: t.prod(), [INF, 0.0, 2.0], NAN, [0, INF, NAN]),
    # along a dim, any zero anywhere: every slice from exclusive products
    (lambda t: t.prod(1), [[2.0, 0.0, 4.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]], [0, 0, 6],
     [[0, 8, 0], [0, 0, 0], [6, 3, 2]]),
    (lambda t: t.prod(0), [[2.0, 0.0, 4.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]], [0, 0, 12],
     [[0, 0, 3], [2, 0, 12], [0, 0, 4]]),
    (lambda t: t.prod(0, keepdim=True), [[INF, 0.0], [0.0, 2.0]], [[NAN, 0]], [[0, 2], [INF, 0]]),
    (lambda t: t.prod(0), 0.0, 0.0, 1.0),  # 0-d: the gradient passes through
]


@pytest.mark.parametrize("case", range(len(PROD)))
def test_prod_gradient_with_zeros(device, case):
    fn, values, out, grad = PROD[case]
    check(fn, values, device, out, grad)


def test_prod_gradients_without_zeros_match_finite_differences(device):
    x = tc.tensor([[0.5, -1.5, 2.0], [1.25, 0.75, -0.5]], dtype=tc.float64, device=device,
                  requires_grad=True)
    for fn in (lambda t: t.prod(), lambda t: t.prod(1), lambda t: t.prod(0, keepdim=True)):
        assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


# -- var / std -------------------------------------------------------------------------------
VAR = [
    # one element, correction 1: 0/0 and a NaN gradient
    (lambda t: t.var(), [2.0], NAN, [NAN]),
    (lambda t: t.std(0), [[2.0, 3.0]], [NAN, NAN], [[NAN, NAN]]),
    (lambda t: t.var(correction=0), [2.0], 0.0, [0]),
    # std of constant values is 0: its gradient is 0 (std_backward masks result == 0)
    (lambda t: t.std(), [1.0, 1.0], 0.0, [0, 0]),
    (lambda t: t.std(0), [[2.0, 0.0, 4.0], [0.0, 0.0, 1.0]], [2 ** 0.5, 0, 4.5 ** 0.5],
     [[0.5 ** 0.5, 0, 0.5 ** 0.5], [-(0.5 ** 0.5), 0, -(0.5 ** 0.5)]]),
    (lambda t: t.std(correction=0), [2.0], 0.0, [0]),
    # no degree of freedom left, all dims: inf, NaN where x equals the mean
    (lambda t: t.var(correction=2), [0.0, 1.0], INF, [INF, INF]),
    (lambda t: t.var(correction=3), [1.0, 1.0], NAN, [NAN, NAN]),
    (lambda t: t.std(correction=2), [0.0, 1.0], INF, [NAN, NAN]),
    # along a dim: 2 (x - mean) / (n - correction)
    (lambda t: t.var(0, correction=2), [0.0, 1.0], INF, [-INF, INF]),
    # infinite inputs: the direct term only (the mean's term sums to zero)
    (lambda t: t.var(), [INF, 0.0, 2.0], NAN, [NAN, -INF, -INF]),
    (lambda t: t.var(0), [-INF, 0.0], NAN, [NAN, INF]),
]


@pytest.mark.parametrize("case", range(len(VAR)))
def test_var_std_edge_values_and_gradients(device, case):
    fn, values, out, grad = VAR[case]
    check(fn, values, device, out, grad)


def test_var_std_gradients_match_finite_differences(device):
    x = tc.tensor([[0.5, -1.5, 2.0], [1.25, 0.75, -0.5]], dtype=tc.float64, device=device,
                  requires_grad=True)
    for fn in (lambda t: t.var(), lambda t: t.std(1), lambda t: t.var(0, correction=0),
               lambda t: t.std((0, 1), keepdim=True), lambda t: t.var(1, correction=1.5)):
        assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


def test_float16_var_std_accumulate_in_float32(device):
    x = tc.tensor([1000.0, 1001.0, 1002.0, 1003.0], dtype=tc.float16, device=device)
    assert x.var().dtype == tc.float16
    assert x.var().item() == pytest.approx(np.var([1000, 1001, 1002, 1003], ddof=1),
                                           rel=1e-3)  # float32 sums: no cancellation
    assert x.std(correction=0).item() == pytest.approx(np.std([1000, 1001, 1002, 1003]),
                                                       rel=1e-3)


# -- logsumexp, softmax, log_softmax with infinities -----------------------------------------
LSE = [
    (lambda t: t.logsumexp(0), [-INF, -INF], -INF, [NAN, NAN]),
    (lambda t: t.logsumexp(0), [-INF, 0.0], 0.0, [0, 1]),
    (lambda t: t.logsumexp(0), [INF, 0.0], INF, [NAN, 0]),
    (lambda t: t.logsumexp(1), [[-INF, -INF], [0.0, -INF]], [-INF, 0], [[NAN, NAN], [1, 0]]),
    (lambda t: t.logsumexp(0), np.zeros((0, 2)), [-INF, -INF], np.zeros((0, 2))),
    (lambda t: t.softmax(0), [-INF, 0.0], [0, 1], [0, 0]),
    (lambda t: t.softmax(0), [-INF, -INF], [NAN, NAN], [NAN, NAN]),
    (lambda t: t.log_softmax(0), [-INF, 0.0], [-INF, 0], [1, -1]),
    (lambda t: t.log_softmax(1), [[-INF, -INF], [0.0, -INF]], [[NAN, NAN], [0, -INF]],
     [[NAN, NAN], [-1, 1]]),
    (lambda t: t.softmax(0), 3.0, 1.0, 0.0),  # a 0-d tensor
]


@pytest.mark.parametrize("case", range(len(LSE)))
def test_logsumexp_softmax_with_infinities(device, case):
    fn, values, out, grad = LSE[case]
    check(fn, values, device, out, grad)


# -- item 1: what each node saves -------------------------------------------------------------
# These ops save no tensor (or only their output): changing their input in place after the
# forward leaves the backward valid, as in PyTorch.
SAVE_NOTHING_OF_THE_INPUT = {
    "sum": lambda y: y.sum(), "mean": lambda y: y.mean(1), "max_dim": lambda y: y.max(1)[0],
    "softmax": lambda y: y.softmax(1), "log_softmax": lambda y: y.log_softmax(0),
    "argmax_free_sum": lambda y: y.sum((0, 1)),
}


@pytest.mark.parametrize("name", list(SAVE_NOTHING_OF_THE_INPUT))
def test_changing_the_input_in_place_after_the_forward_is_allowed(device, name):
    fn = SAVE_NOTHING_OF_THE_INPUT[name]
    x = tc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], dtype=tc.float64, device=device,
                  requires_grad=True)
    y = x.clone()
    out = fn(y)
    y.mul_(2.0)
    out.sum().backward()
    ref = tc.tensor(to_numpy(x), device=device, requires_grad=True)
    fn(ref.clone()).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), to_numpy(ref.grad), rtol=1e-12)


def test_var_does_not_save_its_output(device):
    x = tc.tensor([[1.0, 2.0, 4.0]], dtype=tc.float64, device=device, requires_grad=True)
    v = x.clone().var(1)
    v.mul_(3.0)  # PyTorch's var saves only its input
    v.sum().backward()
    # 3 * 2 (x - 7/3) / 2
    np.testing.assert_allclose(to_numpy(x.grad), [[-4.0, -1.0, 5.0]], rtol=1e-12)


@pytest.mark.parametrize("fn", [lambda y: y.prod(1), lambda y: y.logsumexp(1),
                                lambda y: y.var(1)], ids=["prod", "logsumexp", "var"])
def test_ops_that_read_their_input_still_check_its_version(device, fn):
    x = tc.tensor([[1.0, 2.0, 4.0]], device=device, requires_grad=True)
    y = x.clone()
    out = fn(y)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
