"""In-place ops on views rewrite the base's history (PyTorch's CopySlices), and views of a
base changed in place re-derive theirs: gradients stay right, never silently stale."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc


def _x(device, values=(1.0, 2.0, 3.0, 4.0)):
    return tc.tensor(list(values), dtype=tc.float64, device=device, requires_grad=True)


def test_inplace_on_view_reaches_base(device):
    x = _x(device)
    a = x * 1
    a[0:2].mul_(3)
    a.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [3, 3, 1, 1])
    np.testing.assert_allclose(to_numpy(a), [3, 6, 3, 4])


def test_view_taken_before_base_changed_sees_new_history(device):
    x = _x(device)
    a = x * 1
    v = a[1:3]
    a.mul_(2)
    (v * 1).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0, 2, 2, 0])


def test_value_with_grad_written_through_view_of_constant(device):
    w = tc.tensor([5.0, 6.0], dtype=tc.float64, device=device, requires_grad=True)
    buf = tc.zeros(4, dtype=tc.float64, device=device)
    u = buf[1:3]
    buf[2:] = w
    (u * tc.tensor([1.0, 10.0], dtype=tc.float64, device=device)).sum().backward()
    np.testing.assert_allclose(to_numpy(w.grad), [10, 0])


def test_setitem_on_transposed_view(device):
    w = tc.tensor([5.0, 6.0], dtype=tc.float64, device=device, requires_grad=True)
    buf = tc.zeros(2, 3, dtype=tc.float64, device=device)
    buf.T[0] = w[0] * tc.ones(2, dtype=tc.float64, device=device)
    (buf * 3).sum().backward()
    np.testing.assert_allclose(to_numpy(w.grad), [6, 0])


def test_nested_views_and_reshape(device):
    x = _x(device)
    a = x * 2
    a.view(2, 2)[1, 1] = 0.0
    a.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2, 2, 2, 0])


def test_views_gradcheck_and_gradgradcheck(device):
    def f(t):
        a = t * 1.0
        a[1:3] = a[0:2].clone() * t[1:3]
        a.view(2, 2)[:, 0].mul_(t[2:])
        return (a * a).sum()

    x = tc.tensor([0.3, -1.2, 0.7, 1.9], dtype=tc.float64, device=device, requires_grad=True)
    assert tc.autograd.gradcheck(f, (x,))
    assert tc.autograd.gradgradcheck(f, (x,))


def test_saved_view_then_base_changed_raises(device):
    x = _x(device)
    a = x * 1
    y = a[0:2] * x[0:2]  # saves the view a[0:2]
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_view_of_leaf_raises_but_not_under_no_grad(device):
    x = _x(device)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0:2].mul_(2)
    with tc.no_grad():
        x[0:2].mul_(2)
    np.testing.assert_allclose(to_numpy(x), [2, 4, 3, 4])
    assert x._version == 1


@pytest.mark.parametrize("n", [10, 100_000])
def test_sub_with_alpha_under_no_grad_matches_numpy(device, n):
    rng = np.random.default_rng(0)
    w0, g0 = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    w, g = tc.tensor(w0, device=device, requires_grad=True), tc.tensor(g0, device=device)
    with tc.no_grad():
        w.sub_(g, alpha=0.01)
        w.add_(g, alpha=0.5)
    np.testing.assert_allclose(to_numpy(w), w0 - 0.01 * g0 + 0.5 * g0, rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_array_equal(to_numpy(g), g0)  # the gradient is left alone
    assert w._version == 2


# -- in-place code that PyTorch runs, with its gradients -----------------------------------------
C = (1.0, 10.0, 100.0, 1000.0)


def _c(device, values=C):
    return tc.tensor(list(values), dtype=tc.float64, device=device)


def test_setitem_from_a_slice_of_itself(device):
    x = _x(device)
    z = x.clone()
    z[1:3] = z[1:3] + 1.0  # Add saves nothing: no version to check
    z[[0, 3]] = z[[3, 0]] - 0.5  # an advanced read of itself, then written over
    np.testing.assert_array_equal(to_numpy(z), [3.5, 3.0, 4.0, 0.5])
    (z * _c(device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [1000.0, 10.0, 100.0, 1.0])


def test_index_result_survives_a_later_inplace_change(device):
    """GetItem saves no tensor, so changing the base afterwards is fine (as in PyTorch)."""
    x = _x(device)
    z = x.clone()
    y = z[tc.tensor([0, 0, 2], device=device)]
    v = z[1:3]
    z.mul_(2.0)
    ((y + v[0]) * tc.tensor([1.0, 2.0, 4.0], dtype=tc.float64, device=device)).sum().backward()
    # y reads x[0] twice and x[2]; v[0] was taken before mul_, so it reads 2 * x[1]
    np.testing.assert_array_equal(to_numpy(x.grad), [3.0, 14.0, 4.0, 0.0])


def test_views_of_views_and_stale_views(device):
    x = _x(device)
    z = x.clone()
    v = z.view(2, 2)[1]  # z[2:4]
    v.add_(1.0)
    v[0:1].mul_(3.0)  # a view of a view
    w = z[0:2]
    z.add_(1.0)
    w.mul_(2.0)  # w went stale when z changed: it takes z's new history first
    np.testing.assert_array_equal(to_numpy(z), [4.0, 6.0, 13.0, 6.0])
    (z * _c(device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [2.0, 20.0, 300.0, 1000.0])


def test_inplace_op_keeps_self_only_when_its_backward_reads_it(device):
    """mul_ by a tensor that needs a gradient reads self's old value in backward: it is kept
    (PyTorch saves self.clone()), so later changes to self do not alter it."""
    x = _x(device)
    w = tc.tensor([2.0, -1.0, 0.5, 4.0], dtype=tc.float64, device=device, requires_grad=True)
    z = x.clone()
    z.mul_(w)
    z.add_(1.0)
    z.sub_(tc.ones(4, dtype=tc.float64, device=device))
    (z * _c(device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [2.0, -10.0, 50.0, 4000.0])
    np.testing.assert_array_equal(to_numpy(w.grad), [1.0, 20.0, 300.0, 4000.0])
    z = x.detach().clone()
    y = z * w  # saves z: changing z afterwards must be refused at backward
    z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("op", [
    lambda z, d: z[0:2].fill_(1.0),
    lambda z, d: z.__setitem__(slice(0, 2), 1.0),
    lambda z, d: z.__setitem__([0, 1], 1.0),
    lambda z, d: z.masked_fill_(tc.tensor([True, True, False, False], device=d), 1.0),
    lambda z, d: z[0:2].copy_(tc.ones(2, dtype=tc.float64, device=d)),
])
def test_overwritten_values_get_exactly_zero_gradient(device, op):
    """An infinite upstream gradient on an overwritten element gives 0 there, not 0 * inf."""
    x = _x(device)
    z = x.clone()
    op(z, device)
    (z * _c(device, (np.inf, np.inf, 1.0, 2.0))).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 0.0, 1.0, 2.0])


def test_fill_and_copy_over_infinities(device):
    x = _x(device)
    z = x.clone()
    z[0] = float("inf")
    z[1] = float("nan")
    z.fill_(2.0)
    np.testing.assert_array_equal(to_numpy(z), [2.0] * 4)
    z[0] = -float("inf")
    z.copy_(_c(device))
    np.testing.assert_array_equal(to_numpy(z), C)
    z.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0] * 4)


def test_tensor_values_of_fill_masked_fill_copy_get_gradients(device):
    x = _x(device)
    v = tc.tensor(1.5, dtype=tc.float64, device=device, requires_grad=True)
    s = tc.tensor([0.25, 0.5], dtype=tc.float64, device=device, requires_grad=True)
    z = x.clone()
    z[2:].fill_(v)
    z.masked_fill_(tc.tensor([False, False, False, True], device=device), v * 2.0)
    z.view(2, 2).copy_(s)  # broadcast over the rows: its gradient sums them
    np.testing.assert_array_equal(to_numpy(z), [0.25, 0.5, 0.25, 0.5])
    (z * _c(device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0] * 4)
    np.testing.assert_array_equal(to_numpy(s.grad), [101.0, 1010.0])
    assert float(to_numpy(v.grad)) == 0.0  # every value it wrote was overwritten
    u = tc.tensor(1.5, dtype=tc.float64, device=device, requires_grad=True)
    z = x.clone()
    z.masked_fill_(tc.tensor([True, False, True, False], device=device), u)
    z[3:].fill_(u * 3.0)
    (z * _c(device)).sum().backward()
    assert float(to_numpy(u.grad)) == 1.0 + 100.0 + 3 * 1000.0


def test_increment_through_integer_and_list_indices(device):
    x = _x(device)
    w = tc.tensor([0.5, 0.25], dtype=tc.float64, device=device, requires_grad=True)
    z = x.clone()
    z[0] += 1.0  # z[0] is a 0-d view, as in PyTorch
    z[1] *= 3.0
    z[[2, 3]] += w
    np.testing.assert_array_equal(to_numpy(z), [2.0, 6.0, 3.5, 4.25])
    (z * _c(device)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [1.0, 30.0, 100.0, 1000.0])
    np.testing.assert_array_equal(to_numpy(w.grad), [100.0, 1000.0])


def test_clamp_inplace_after_uses(device):
    x = tc.tensor([-2.0, -0.25, 0.25, 2.0], dtype=tc.float64, device=device, requires_grad=True)
    z = x.clone()
    y = z.tanh()  # saves its output, not z: z may change
    z.clamp_(-0.5, 0.5)
    z.add_(1.0)
    (y + z * _c(device)).sum().backward()
    t = np.tanh([-2.0, -0.25, 0.25, 2.0])
    np.testing.assert_allclose(to_numpy(x.grad), 1 - t ** 2 + [0.0, 10.0, 100.0, 0.0],
                               rtol=1e-12)


def test_inplace_gradcheck(device):
    def f(t):
        z = t * 1.0
        z[1:3] = (z[1:3] + 0.5) ** 2  # Add saves nothing, Pow saves its own input
        z.clamp_(-1.5, 1.5)
        z.masked_fill_(z > 1.4, 0.0)
        z.view(2, 2)[:, 1].mul_(t[:2])
        return z

    x = tc.tensor([0.3, -1.1, 0.7, 1.3], dtype=tc.float64, device=device, requires_grad=True)
    assert tc.autograd.gradcheck(f, (x,))
    assert tc.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize("op, error", [
    (lambda d: tc.zeros(3, dtype=tc.bool, device=d).add_(1), RuntimeError),
    (lambda d: tc.zeros(3, dtype=tc.int64, device=d).add_(1.5), RuntimeError),
    (lambda d: tc.zeros(3, dtype=tc.int64, device=d).div_(2), RuntimeError),
    (lambda d: tc.zeros(3, dtype=tc.int64, device=d).clamp_(0.5), RuntimeError),
    (lambda d: tc.zeros(3, dtype=tc.int32, device=d).fill_(2**40), RuntimeError),
    (lambda d: tc.zeros(3, device=d).fill_(tc.ones(1, device=d)), RuntimeError),
    (lambda d: tc.zeros(3, device=d).masked_fill_(tc.tensor([1, 0, 0], device=d), 5.0),
     RuntimeError),
    (lambda d: tc.zeros(3, device=d).masked_fill_(tc.tensor([[True] * 3], device=d), 5.0),
     RuntimeError),
    (lambda d: tc.zeros(3, device=d).masked_fill_(tc.tensor([True] * 3, device=d),
                                                   tc.ones(1, device=d)), RuntimeError),
    (lambda d: tc.zeros(2, device=d).copy_(tc.ones(3, device=d)), RuntimeError),
    (lambda d: tc.zeros(2, device=d).copy_(tc.ones(2, 2, device=d)), RuntimeError),
    (lambda d: tc.zeros(2, device=d).copy_([1.0, 2.0]), TypeError),
])
def test_inplace_refusals_as_pytorch(device, op, error):
    with pytest.raises(error):
        op(device)


def test_inplace_casts_as_pytorch(device):
    z = tc.zeros(3, dtype=tc.int64, device=device)
    z.fill_(-2.7)
    np.testing.assert_array_equal(to_numpy(z), [-2, -2, -2])
    z.masked_fill_(tc.tensor([True, False, False], device=device), 2.7)
    np.testing.assert_array_equal(to_numpy(z), [2, -2, -2])
    z.copy_(tc.tensor([1.9, -1.9, 0.5], device=device))
    np.testing.assert_array_equal(to_numpy(z), [1, -1, 0])
    b = tc.zeros(2, dtype=tc.bool, device=device)
    b.add_(True)
    assert to_numpy(b).tolist() == [True, True]
    f = tc.zeros(2, device=device)
    f.add_(tc.tensor(np.array([0.5, 0.25]), device=device))  # float64 into float32: cast
    assert f.dtype == tc.float32
    np.testing.assert_array_equal(to_numpy(f), [0.5, 0.25])
