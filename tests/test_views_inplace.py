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
