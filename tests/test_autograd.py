"""Reverse-mode autograd: backward/grad semantics, higher order, custom Functions, hooks,
grad modes, version counters, anomaly detection, deep graphs and memory behaviour.

Every test runs on each available backend through the ``device`` fixture; values are
checked against NumPy or closed forms.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import Function, gradcheck, gradgradcheck


# -- backward ----------------------------------------------------------------------------------
def test_backward_scalar_matches_closed_form(device):
    xv = np.array([1.0, -2.0, 3.0])
    x = tc.tensor(xv, device=device, requires_grad=True)
    (x * x * x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), 3 * xv ** 2)
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    assert x.grad.device == x.device


def test_backward_with_gradient_argument(device):
    xv = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    gv = np.array([[1.0, -1.0], [0.5, 2.0]], dtype=np.float32)
    x = tc.tensor(xv, device=device, requires_grad=True)
    y = x * x
    y.backward(gradient=tc.tensor(gv, device=device))
    np.testing.assert_allclose(to_numpy(x.grad), 2 * xv * gv, rtol=1e-6)


def test_backward_non_scalar_without_gradient_raises(device):
    x = tc.ones(3, device=device, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    assert x.grad is None


def test_backward_gradient_shape_mismatch_raises(device):
    x = tc.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(tc.ones(4, device=device))


def test_backward_on_tensor_without_grad_raises(device):
    x = tc.ones(3, device=device)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.sum().backward()


def test_grad_accumulates_over_two_backward_calls(device):
    xv = np.array([0.5, 1.5, -1.0], dtype=np.float32)
    x = tc.tensor(xv, device=device, requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    np.testing.assert_allclose(to_numpy(first), 2 * xv, rtol=1e-6)
    (3 * x).sum().backward()
    # as in PyTorch, the second gradient is added into the same .grad tensor, in place
    assert x.grad is first
    np.testing.assert_allclose(to_numpy(x.grad), 2 * xv + 3, rtol=1e-6)


def test_grad_accumulation_does_not_alias_between_leaves(device):
    # the same incoming gradient array reaches two leaves: each must own its .grad
    a = tc.ones(3, device=device, requires_grad=True)
    b = tc.ones(3, device=device, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(10.0)
    np.testing.assert_allclose(to_numpy(b.grad), np.ones(3))
    np.testing.assert_allclose(to_numpy(a.grad), np.full(3, 11.0))


def test_retain_graph_allows_second_backward(device):
    x = tc.tensor([2.0, 3.0], device=device, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = to_numpy(x.grad)
    y.backward()
    xv = np.array([2.0, 3.0])
    expected = np.exp(xv) * (1 + xv)
    np.testing.assert_allclose(g1, expected, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(x.grad), 2 * expected, rtol=1e-5)


def test_backward_twice_without_retain_graph_raises(device):
    x = tc.tensor([2.0, 3.0], device=device, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_shared_subexpression_gets_summed_gradient(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 3
    z = (y * y + y).sum()  # dz/dx = (2y + 1) * 3
    z.backward()
    np.testing.assert_allclose(to_numpy(x.grad), (2 * 3 * np.array([1.0, 2.0]) + 1) * 3)


def test_broadcast_gradient_is_reduced(device):
    a = tc.ones(2, 3, device=device, requires_grad=True)
    b = tc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_allclose(to_numpy(b.grad), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(to_numpy(a.grad), np.tile([1.0, 2.0, 3.0], (2, 1)))


def test_backward_inputs_argument_limits_accumulation(device):
    a = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = tc.tensor([3.0, 4.0], device=device, requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_allclose(to_numpy(a.grad), [3.0, 4.0])
    # PyTorch: with inputs=, only those leaves accumulate
    assert b.grad is None


# -- autograd.grad ------------------------------------------------------------------------------
def test_autograd_grad_with_grad_outputs(device):
    xv = np.array([1.0, 2.0, 3.0])
    gv = np.array([1.0, 0.0, -2.0])
    x = tc.tensor(xv, device=device, requires_grad=True)
    y = x.sin()
    (g,) = tc.autograd.grad(y, x, grad_outputs=tc.tensor(gv, device=device))
    np.testing.assert_allclose(to_numpy(g), np.cos(xv) * gv, rtol=1e-5)
    assert x.grad is None  # grad() never touches .grad


def test_autograd_grad_does_not_touch_existing_grad(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 5).sum().backward()
    before = to_numpy(x.grad)
    (g,) = tc.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(to_numpy(g), [2.0, 4.0])
    np.testing.assert_allclose(to_numpy(x.grad), before)


def test_autograd_grad_unused_input(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    unused = tc.tensor([5.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        tc.autograd.grad((x * x).sum(), [x, unused])
    gx, gu = tc.autograd.grad((x * x).sum(), [x, unused], allow_unused=True)
    np.testing.assert_allclose(to_numpy(gx), [2.0, 4.0])
    assert gu is None
    assert x.grad is None and unused.grad is None


def test_autograd_grad_input_not_requiring_grad_raises(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = tc.tensor([1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tc.autograd.grad((x * c).sum(), [c])


def test_autograd_grad_non_leaf_inputs(device):
    xv = np.array([0.5, -1.0, 2.0])
    x = tc.tensor(xv, device=device, requires_grad=True)
    h = x * 2           # non-leaf
    y = (h * h).sum()   # dy/dh = 2h = 4x ; dy/dx = 8x
    gh, gx = tc.autograd.grad(y, [h, x])
    np.testing.assert_allclose(to_numpy(gh), 4 * xv, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(gx), 8 * xv, rtol=1e-6)
    assert x.grad is None and h._grad is None  # (h.grad of a non-leaf warns)


def test_autograd_grad_multiple_outputs(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y1, y2 = (x * x).sum(), (x * 3).sum()
    (g,) = tc.autograd.grad([y1, y2], x)
    np.testing.assert_allclose(to_numpy(g), [2.0 + 3.0, 4.0 + 3.0])


# -- higher order -------------------------------------------------------------------------------
def test_second_derivative_of_cube(device):
    xv = np.array([-1.5, 0.5, 2.0])
    x = tc.tensor(xv, dtype=tc.float64, device=device, requires_grad=True)
    y = (x ** 3).sum()
    (g,) = tc.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(to_numpy(g), 3 * xv ** 2)
    assert g.requires_grad and g.grad_fn is not None
    (g2,) = tc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(to_numpy(g2), 6 * xv)


def test_second_derivative_of_sin_with_backward(device):
    xv = np.array([0.3, 1.2, -2.0])
    x = tc.tensor(xv, dtype=tc.float64, device=device, requires_grad=True)
    y = x.sin().sum()
    y.backward(create_graph=True)
    np.testing.assert_allclose(to_numpy(x.grad), np.cos(xv))
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), -np.sin(xv))


def test_third_derivative_of_cube(device):
    x = tc.tensor(1.7, dtype=tc.float64, device=device, requires_grad=True)
    (g1,) = tc.autograd.grad(x ** 3, x, create_graph=True)
    (g2,) = tc.autograd.grad(g1, x, create_graph=True)
    (g3,) = tc.autograd.grad(g2, x)
    assert g1.item() == pytest.approx(3 * 1.7 ** 2)
    assert g2.item() == pytest.approx(6 * 1.7)
    assert g3.item() == pytest.approx(6.0)


# -- custom Function --------------------------------------------------------------------------
class MulSin(Function):
    """f(x, y) = x * sin(y), with a backward written by hand."""

    seen_needs = []

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y.sin()

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        MulSin.seen_needs.append(tuple(ctx.needs_input_grad))
        gx = g * y.sin() if ctx.needs_input_grad[0] else None
        gy = g * x * y.cos() if ctx.needs_input_grad[1] else None
        return gx, gy


def test_custom_function_values_and_needs_input_grad(device):
    xv, yv = np.array([1.0, 2.0]), np.array([0.5, -0.3])
    x = tc.tensor(xv, dtype=tc.float64, device=device, requires_grad=True)
    y = tc.tensor(yv, dtype=tc.float64, device=device)
    MulSin.seen_needs.clear()
    out = MulSin.apply(x, y)
    assert out.grad_fn is not None and "MulSin" in out.grad_fn.name()
    np.testing.assert_allclose(to_numpy(out), xv * np.sin(yv))
    out.sum().backward()
    assert MulSin.seen_needs == [(True, False)]
    np.testing.assert_allclose(to_numpy(x.grad), np.sin(yv))
    assert y.grad is None


def test_custom_function_forward_runs_with_grad_mode_off(device):
    seen = []

    class Twice(Function):  # not array_forward: its forward may call Tensor ops
        @staticmethod
        def forward(ctx, x):
            seen.append(tc.is_grad_enabled())
            return x * 2.0  # recorded nowhere: the node is Twice's alone

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    x = tc.ones(3, device=device, requires_grad=True)
    y = Twice.apply(x)
    assert seen == [False] and tc.is_grad_enabled()
    assert y.grad_fn.name() == "TwiceBackward0" and y.grad_fn.next_functions == ((x, 0),)
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 2.0, 2.0])


def test_custom_function_gradcheck_and_gradgradcheck(device):
    tc.manual_seed(3)
    x = tc.randn(3, dtype=tc.float64, device=device, requires_grad=True)
    y = tc.randn(3, dtype=tc.float64, device=device, requires_grad=True)
    assert gradcheck(MulSin.apply, (x, y))
    assert gradgradcheck(MulSin.apply, (x, y))


def test_gradcheck_detects_wrong_backward(device):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = tc.tensor([1.0, 2.0], dtype=tc.float64, device=device, requires_grad=True)
    assert gradcheck(Bad.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError):
        gradcheck(Bad.apply, (x,))


def test_custom_function_no_graph_when_inputs_do_not_require_grad(device):
    x = tc.tensor([1.0, 2.0], device=device)
    out = MulSin.apply(x, x)
    assert out.grad_fn is None and not out.requires_grad


def test_saved_tensors_freed_after_backward(device):
    class Keep(Function):
        ctxs = []

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            Keep.ctxs.append(ctx)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = tc.ones(2, device=device, requires_grad=True)
    Keep.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="freed|second time"):
        _ = Keep.ctxs[-1].saved_tensors
    Keep.ctxs.clear()


# -- hooks and retain_grad ----------------------------------------------------------------------
def test_hook_on_leaf_modifies_grad_and_remove(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []

    def hook(g):
        seen.append(to_numpy(g))
        return g * 10

    handle = x.register_hook(hook)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(to_numpy(x.grad), [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 4.0])
    assert len(seen) == 1


def test_hook_on_non_leaf_modifies_downstream_grad(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    seen = []

    def hook(g):
        seen.append(to_numpy(g))
        return g * 2

    handle = h.register_hook(hook)
    (h * h).sum().backward(retain_graph=False)
    np.testing.assert_allclose(seen[0], [6.0, 12.0])         # 2h
    np.testing.assert_allclose(to_numpy(x.grad), [36.0, 72.0])    # 2h * 2 * 3
    assert h._grad is None  # hooks alone do not retain the grad
    handle.remove()
    x.grad = None
    h2 = x * 3
    (h2 * h2).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [18.0, 36.0])


def test_hook_removed_on_non_leaf_not_called(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    calls = []
    handle = h.register_hook(lambda g: calls.append(1))
    handle.remove()
    h.sum().backward()
    assert calls == []
    np.testing.assert_allclose(to_numpy(x.grad), [3.0, 3.0])


def test_register_hook_without_grad_raises(device):
    with pytest.raises(RuntimeError):
        tc.ones(2, device=device).register_hook(lambda g: g)


def test_retain_grad(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * x
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    (h * 4).sum().backward()
    np.testing.assert_allclose(to_numpy(h.grad), [4.0, 4.0])
    np.testing.assert_allclose(to_numpy(x.grad), [8.0, 16.0])
    other = x * 2
    other.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):  # as PyTorch: .grad of a non-leaf
        assert other.grad is None


# -- grad modes ---------------------------------------------------------------------------------
def test_no_grad_context_and_decorator(device):
    x = tc.ones(2, device=device, requires_grad=True)
    with tc.no_grad():
        assert not tc.is_grad_enabled()
        y = x * 2
    assert tc.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @tc.no_grad()
    def f(t):
        assert not tc.is_grad_enabled()
        return t * 2

    out = f(x)
    assert tc.is_grad_enabled()
    assert out.grad_fn is None and not out.requires_grad


def test_enable_grad_context_and_decorator_inside_no_grad(device):
    x = tc.ones(2, device=device, requires_grad=True)

    @tc.enable_grad()
    def g(t):
        return t * 2

    with tc.no_grad():
        with tc.enable_grad():
            y = x * 2
        assert not tc.is_grad_enabled()
        z = g(x)
        assert not tc.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert z.requires_grad and z.grad_fn is not None


def test_set_grad_enabled_context_function_and_decorator(device):
    x = tc.ones(2, device=device, requires_grad=True)
    with tc.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tc.is_grad_enabled()
    with tc.set_grad_enabled(True):
        assert (x * 2).requires_grad

    @tc.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert tc.is_grad_enabled()  # creating the decorator does not switch the mode
    assert not f(x).requires_grad
    assert tc.is_grad_enabled()

    tc.set_grad_enabled(False)
    try:
        assert not tc.is_grad_enabled()
    finally:
        tc.set_grad_enabled(True)
    assert tc.is_grad_enabled()


def test_grad_mode_restored_after_exception(device):
    with pytest.raises(ValueError):
        with tc.no_grad():
            raise ValueError
    assert tc.is_grad_enabled()

    @tc.no_grad()
    def boom():
        raise ValueError

    with pytest.raises(ValueError):
        boom()
    assert tc.is_grad_enabled()


# -- version counter and in-place rules -----------------------------------------------------
def test_inplace_on_saved_tensor_raises_at_backward(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2
    y = h * h  # saves h
    h.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_saved_output_raises_at_backward(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.exp()  # saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_inplace_through_view_of_saved_constant_raises(device):
    w = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    x = tc.tensor([3.0, 4.0], device=device)  # no grad, but saved by the product
    y = (w * x).sum()
    x[0:1].add_(1.0)                            # a view shares the version counter
    assert x._version == 1
    with pytest.raises(RuntimeError, match="inplace"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = tc.ones(3, device=device, requires_grad=True)
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(),
               lambda: x.fill_(1.0), lambda: x.clamp_(0, 1)):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            op()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[0] = 5.0
    assert x._version == 0
    np.testing.assert_allclose(to_numpy(x), np.ones(3))


def test_inplace_on_view_of_leaf_requiring_grad_raises(device):
    x = tc.ones(2, 3, device=device, requires_grad=True)
    v = x[0]
    with pytest.raises(RuntimeError, match="view of a leaf"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        v[1] = 3.0
    np.testing.assert_allclose(to_numpy(x), np.ones((2, 3)))


def test_inplace_under_no_grad_on_leaf_sgd_update(device):
    wv = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    w = tc.tensor(wv, device=device, requires_grad=True)
    (w * w).sum().backward()
    v0 = w._version
    with tc.no_grad():
        w.sub_(0.1 * w.grad)
    assert w._version == v0 + 1
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(to_numpy(w), wv - 0.1 * 2 * wv, rtol=1e-6)
    with tc.no_grad():
        w -= 1.0  # __isub__ keeps the same object
    assert w._version == v0 + 2
    np.testing.assert_allclose(to_numpy(w), wv * 0.8 - 1.0, rtol=1e-6)


def test_version_counter_shared_with_views_and_detach(device):
    x = tc.zeros(4, device=device)
    v = x[1:3]
    d = x.detach()
    v.add_(1.0)
    assert x._version == v._version == d._version == 1
    np.testing.assert_allclose(to_numpy(x), [0.0, 1.0, 1.0, 0.0])
    d.mul_(2.0)
    assert x._version == 2
    np.testing.assert_allclose(to_numpy(x), [0.0, 2.0, 2.0, 0.0])


def test_setitem_records_graph(device):
    sv = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    src = tc.tensor(sv, device=device, requires_grad=True)
    val = tc.tensor([10.0, 20.0], device=device, requires_grad=True)
    x = src * 2          # non-leaf: in-place allowed
    x[1:3] = val * 3
    assert x.grad_fn is not None
    np.testing.assert_allclose(to_numpy(x), [2.0, 30.0, 60.0, 8.0])
    w = tc.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    (x * w).sum().backward()
    np.testing.assert_allclose(to_numpy(src.grad), [2.0, 0.0, 0.0, 8.0])   # overwritten -> 0
    np.testing.assert_allclose(to_numpy(val.grad), [2.0 * 3, 3.0 * 3])


def test_setitem_with_index_tensor_records_graph(device):
    src = tc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x = src.clone()
    idx = tc.tensor([0, 2], device=device)
    v = tc.tensor([5.0, 7.0], device=device, requires_grad=True)
    x[idx] = v
    np.testing.assert_allclose(to_numpy(x), [5.0, 2.0, 7.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(to_numpy(src.grad), [0.0, 4.0, 0.0])
    np.testing.assert_allclose(to_numpy(v.grad), [10.0, 14.0])


def test_inplace_on_non_leaf_records_graph(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 1.0
    y.mul_(x)   # y = x * x
    y.add_(3.0)
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 4.0])


# -- anomaly detection -------------------------------------------------------------------------
def test_detect_anomaly_names_the_op(device):
    x = tc.tensor([0.0, 1.0], device=device, requires_grad=True)
    with np.errstate(all="ignore"):
        with tc.autograd.detect_anomaly():
            y = x.sqrt().sum()
            with pytest.raises(RuntimeError, match="Sqrt"):
                y.backward()
        # outside anomaly mode the same backward silently produces inf
        x2 = tc.tensor([0.0, 1.0], device=device, requires_grad=True)
        x2.sqrt().sum().backward()
    assert not np.isfinite(to_numpy(x2.grad)[0])
    np.testing.assert_allclose(to_numpy(x2.grad)[1], 0.5)


# -- deep graphs and memory -----------------------------------------------------------------------
def test_very_long_chain_backward_is_iterative(device):
    n = 100_000
    x = tc.ones(16, dtype=tc.float64, device=device, requires_grad=True)
    z = x
    for _ in range(n):
        z = z * 1.0001
    z.sum().backward()
    expected = 1.0001 ** n
    np.testing.assert_allclose(to_numpy(x.grad), np.full(16, expected), rtol=1e-9)
    np.testing.assert_allclose(to_numpy(z), np.full(16, expected), rtol=1e-9)
    del z
    # freeing a 100k-deep graph must not recurse either (the chain is dropped above)


def test_graph_freed_without_cycles(device):
    gc.collect()
    gc.disable()
    try:
        x = tc.randn(4, 3, device=device, requires_grad=True)
        w = tc.randn(3, 2, device=device, requires_grad=True)
        h = (x @ w).relu()
        h2 = h.exp() * h + h.sin()
        loss = (h2 ** 2).sum() / 3.0
        loss.backward()
        nodes = []
        stack = [loss.grad_fn]
        while stack:
            n = stack.pop()
            if n is None or isinstance(n, tc.Tensor):
                continue
            nodes.append(weakref.ref(n))
            stack.extend(f for f, _ in n.next_functions)
        assert len(nodes) >= 8
        del loss, h, h2, n, stack
        dead = [r() is None for r in nodes]
        assert all(dead), f"{dead.count(False)} of {len(dead)} graph nodes kept alive"
        # retaining the graph also must not create cycles
        y = (x.exp() * w.sum()).sum()
        y.backward(retain_graph=True)
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
        assert x.grad is not None and w.grad is not None
    finally:
        gc.enable()


def test_training_loop_memory_is_flat():
    """10,000 small training steps leave no graph behind.

    Graph lifetime is the engine's business, the same for every backend, so this runs once
    (on the default backend): tracemalloc slows each step several times over. Tracing starts
    after a 1,000-step warm-up, so the traced size at the end is what steps 1,000..10,000 kept.
    """
    tc.manual_seed(0)
    x = tc.randn(4, 3)
    w1 = tc.randn(3, 5, requires_grad=True)
    w2 = tc.randn(5, 1, requires_grad=True)
    early_nodes = []

    def step(i):
        h = (x @ w1).relu()
        loss = (h @ w2).sum() * 0.001
        if i < 5:
            early_nodes.append(weakref.ref(loss.grad_fn))
            early_nodes.append(weakref.ref(h.grad_fn))
        loss.backward()
        with tc.no_grad():
            w1.sub_(1e-4 * w1.grad)
            w2.sub_(1e-4 * w2.grad)
        w1.grad = None
        w2.grad = None

    for i in range(1000):
        step(i)
    assert len(early_nodes) == 10 and all(r() is None for r in early_nodes)
    gc.collect()
    tracemalloc.start()
    try:
        after_1000 = tracemalloc.get_traced_memory()[0]
        for i in range(1000, 10_000):
            step(i)
        gc.collect()
        after_10000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after_10000 - after_1000 < 32 * 1024, (after_1000, after_10000)
    assert all(r() is None for r in early_nodes)
    assert w1.is_leaf and w1.grad is None and w1._version == 10_000


# -- regressions found while writing this suite -----------------------------------------------
def test_leaf_hook_called_once_with_total_gradient(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(to_numpy(g)))
    (x * x + x).sum().backward()  # three uses of x: one hook call with the sum
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [3.0, 5.0])
    np.testing.assert_allclose(to_numpy(x.grad), [3.0, 5.0])


def test_nonlinear_leaf_hook_sees_total(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.register_hook(lambda g: g.clamp(max=3.0))
    (x * x).sum().backward()  # total 2x = [2, 4] -> clamped [2, 3]
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 3.0])


def test_backward_inputs_non_leaf_accumulates(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(to_numpy(h.grad), [6.0, 12.0])
    assert x.grad is None


def test_grads_are_owned_and_writable(device):
    x = tc.ones(3, device=device, requires_grad=True)
    h = x + 0.0
    h.retain_grad()
    h.sum().backward()
    x.grad.zero_()
    h.grad.mul_(2.0)
    np.testing.assert_allclose(to_numpy(x.grad), np.zeros(3))
    np.testing.assert_allclose(to_numpy(h.grad), np.full(3, 2.0))
    g = tc.ones(3, device=device)
    x.grad = None
    x.backward(g)
    x.grad.add_(1.0)
    np.testing.assert_allclose(to_numpy(g), np.ones(3))  # the caller's gradient is not aliased


def test_inplace_fill_and_clamp_on_non_leaf(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2          # [2, 4]
    y.clamp_(0.0, 3.0)  # [2, 3]
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 0.0])
    x.grad = None
    y = x * 2
    y.fill_(5.0)
    (y * x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [5.0, 5.0])


def test_inplace_uses_pre_write_value_in_backward(device):
    x = tc.tensor([1.0, 2.0], dtype=tc.float64, device=device, requires_grad=True)
    y = x * 1.0
    y.mul_(x)                # y = x^2 (needs the old y for d/dx)
    y.mul_(x)                # y = x^3
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), 3 * np.array([1.0, 2.0]) ** 2)


def test_grad_mode_is_per_thread():
    import threading

    seen = {}

    def worker():
        seen["start"] = tc.is_grad_enabled()
        with tc.no_grad():
            seen["inside"] = tc.is_grad_enabled()
            barrier.wait()  # the main thread checks its own mode now
            barrier.wait()

    barrier = threading.Barrier(2)
    t = threading.Thread(target=worker)
    t.start()
    barrier.wait()
    main_mode = tc.is_grad_enabled()
    x = tc.ones(2, requires_grad=True)
    recorded = (x * 2).requires_grad
    barrier.wait()
    t.join()
    assert seen == {"start": True, "inside": False}
    assert main_mode and recorded


def test_leaf_gradient_shared_with_a_pending_node_is_not_written_in_place(device):
    # Add hands one array to the leaf and to node p; q's contribution reaches the leaf
    # before p runs: accumulating it in place would corrupt p's incoming gradient
    a = tc.ones(3, device=device, requires_grad=True)
    w = tc.tensor([1.0, 2.0, 3.0], device=device)
    p = a * 3.0
    q = a * 5.0
    v = (a + p) + q
    (v * w).sum().backward()
    np.testing.assert_allclose(to_numpy(a.grad), [9.0, 18.0, 27.0])
