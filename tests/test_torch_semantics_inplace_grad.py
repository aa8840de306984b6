"""In-place ops on expanded tensors, on leaves, and the gradients after them, as in PyTorch
2.13 (issue 15; the rules for dtypes, numbers and shapes: test_torch_semantics_inplace.py).

- An op that computes elementwise into self refuses an expanded self (elements sharing one
  memory location) with PyTorch's RuntimeError, not NumPy's read-only ValueError; ``fill_``,
  ``zero_``, ``masked_fill_``, ``index_put_`` and advanced-index assignment write one value
  per location and run (the last two warn, as PyTorch); a view of an expanded tensor whose
  elements do not share memory (a row) is written through to the base.
- A leaf that requires grad refuses every in-place op, except under ``no_grad``.
- Gradients after each in-place op are the out-of-place op's: written out, and against finite
  differences in float64 (gradcheck).
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def same(got, expected):
    np.testing.assert_array_equal(to_numpy(got), np.asarray(expected))


# -- expanded tensors -----------------------------------------------------------------------------
ELEMENTWISE = [
    lambda y: y.add_(2), lambda y: y.sub_(1, alpha=2), lambda y: y.mul_(2),
    lambda y: y.div_(2), lambda y: y.div_(2, rounding_mode="floor"), lambda y: y.pow_(2),
    lambda y: y.clamp_(0, 0.5), lambda y: y.floor_divide_(2), lambda y: y.remainder_(2),
    lambda y: y.fmod_(2), lambda y: y.add_(0), lambda y: operator.iadd(y, 1),
    lambda y: operator.imul(y, 1.0), lambda y: y.copy_(tc.zeros(3, 3, device=y.device)),
    lambda y: y.add_(tc.ones(3, device=y.device), alpha=0.5),
    lambda y: y.add_(tc.ones(4, device=y.device)),  # the layout is checked first
]


@pytest.mark.parametrize("op", ELEMENTWISE)
def test_elementwise_inplace_on_an_expanded_tensor_raises(device, op):
    x = tc.ones(1, 3, device=device)
    with pytest.raises(RuntimeError, match=OVERLAP):
        op(x.expand(3, 3))
    same(x, [[1.0, 1.0, 1.0]])


def test_expanded_integer_tensor_refuses_bitwise_and_float_results_alike(device):
    x = tc.ones(1, 3, dtype=tc.int64, device=device)
    for op in (lambda y: operator.iand(y, 1), lambda y: y.add_(1.5),
               lambda y: y.bitwise_xor_(3)):
        with pytest.raises(RuntimeError, match=OVERLAP):
            op(x.expand(3, 3))
    same(x, [[1, 1, 1]])


def test_fill_and_zero_write_an_expanded_tensor(device):
    x = tc.ones(1, 3, device=device)
    x.expand(3, 3).fill_(2.0)
    same(x, [[2.0, 2.0, 2.0]])
    x.expand(3, 3).zero_()
    same(x, [[0.0, 0.0, 0.0]])


def test_masked_fill_of_an_expanded_tensor_writes_where_any_alias_is_masked(device):
    x = tc.ones(3, 1, device=device)
    mask = tc.tensor([[True, False, False], [False] * 3, [False] * 3], device=device)
    with pytest.warns(UserWarning, match="masked_fill_ on expanded tensors is deprecated"):
        x.expand(3, 3).masked_fill_(mask, 7.0)
    same(x, [[7.0], [1.0], [1.0]])  # row 0's location was masked once: it takes the value


def test_views_of_an_expanded_tensor_that_share_no_memory_are_written(device):
    x = tc.ones(1, 3, device=device)
    y = x.expand(3, 3)
    y[0] += 1
    same(x, [[2.0, 2.0, 2.0]])
    y[1].mul_(3)
    same(x, [[6.0, 6.0, 6.0]])
    y[0] = 5.0
    same(x, [[5.0, 5.0, 5.0]])
    y[0, 0] = 3.0
    same(x, [[3.0, 5.0, 5.0]])
    z = tc.ones((), device=device)
    z.expand(1).add_(1)  # a size-1 dimension of stride 0 shares nothing
    same(z, 2.0)
    z.expand(0).add_(1)  # nothing to write
    same(z, 2.0)


def test_setitem_into_expanded_tensor_follows_copy_and_index_put_rules(device):
    x = tc.ones(1, 3, device=device)
    y = x.expand(3, 3)
    with pytest.raises(RuntimeError, match=OVERLAP):
        y[:] = 5.0  # a basic index is a view, then copy_: its elements share memory
    with pytest.raises(RuntimeError, match=OVERLAP):
        y[:, 0].add_(1)
    with pytest.raises(RuntimeError, match=OVERLAP):
        y[:, 0] += 1
    same(x, [[1.0, 1.0, 1.0]])
    with pytest.warns(UserWarning, match="index_put_ on expanded tensors is deprecated"):
        y[[0, 1]] = 3.0  # an advanced index is index_put_: one value per location
    same(x, [[3.0, 3.0, 3.0]])
    with pytest.warns(UserWarning, match="index_put_ on expanded tensors"):
        y[tc.ones(3, 3, dtype=tc.bool, device=device)] = 4.0
    same(x, [[4.0, 4.0, 4.0]])
    w = tc.ones(1, 3, device=device)
    with pytest.warns(UserWarning, match="index_put_ on expanded tensors"):
        w.expand(3, 3).index_put_((tc.tensor([0, 1], device=device),),
                                  tc.tensor([1.0, 2.0, 3.0], device=device), accumulate=True)
    same(w, [[3.0, 5.0, 7.0]])  # both rows add into the one memory row


def test_expanded_view_in_a_graph(device):
    x = tc.ones(1, 3, dtype=tc.float64, device=device, requires_grad=True)
    y = x * 2
    y.expand(3, 3)[0].mul_(3)  # a row of an expanded view: fine, and differentiable
    y.sum().backward()
    same(y, [[6.0, 6.0, 6.0]])
    same(x.grad, [[6.0, 6.0, 6.0]])
    y = x * 2
    with pytest.raises(RuntimeError, match=OVERLAP):
        y.expand(3, 3).mul_(3)
    y.expand(3, 3).fill_(5.0)  # runs forward; its gradient is undefined: backward raises
    same(y, [[5.0, 5.0, 5.0]])
    with pytest.raises(RuntimeError, match=OVERLAP):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        x.expand(3, 3).mul_(2)  # the leaf check comes first, as in PyTorch


# -- leaves ----------------------------------------------------------------------------------------
ON_LEAF = [
    lambda x: x.add_(1), lambda x: operator.iadd(x, 1), lambda x: x.sub_(1, alpha=2),
    lambda x: x.mul_(2), lambda x: x.div_(2), lambda x: x.div_(2, rounding_mode="floor"),
    lambda x: x.pow_(2), lambda x: operator.ipow(x, 2), lambda x: x.clamp_(0, 1),
    lambda x: x.floor_divide_(2), lambda x: operator.imod(x, 2), lambda x: x.fmod_(2),
    lambda x: x.fill_(2), lambda x: x.zero_(), lambda x: x.copy_(tc.zeros(3, device=x.device)),
    lambda x: x.masked_fill_(tc.tensor([True, False, True], device=x.device), 2.0),
    lambda x: x.add_(tc.ones(4, device=x.device)),  # the leaf check comes first
    lambda x: operator.iand(x, 1),
]


@pytest.mark.parametrize("op", ON_LEAF)
def test_inplace_on_a_leaf_requiring_grad_raises_and_runs_under_no_grad(device, op):
    x = tc.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        op(x)
    same(x, [1.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        op(x[:3])


def test_updates_under_no_grad_change_a_leaf_and_keep_it_a_leaf(device):
    x = tc.ones(3, device=device, requires_grad=True)
    with tc.no_grad():
        x.mul_(2)
        x += 1
        x.clamp_(0, 2.5)
        x.div_(2, rounding_mode="floor")
        x.pow_(2)
        x **= 1
        x.sub_(tc.ones(3, device=device), alpha=2)
        x.add_(tc.tensor([1.0, 2.0, 3.0], device=device), alpha=0.5)
        x[0] = 5.0
        x[1:].mul_(2)
    same(x, [5.0, 0.0, 1.0])
    assert x.requires_grad and x.grad_fn is None
    (x * x).sum().backward()
    same(x.grad, [10.0, 0.0, 2.0])


def test_no_grad_and_graph_paths_write_the_same_values(device):
    """The update lane (no graph) and the recorded path agree, op by op."""
    ops = [lambda t, o: t.add_(o, alpha=-0.25), lambda t, o: t.sub_(o), lambda t, o: t.mul_(o),
           lambda t, o: t.div_(o), lambda t, o: t.add_(0.5), lambda t, o: t.mul_(3),
           lambda t, o: t.div_(1.5), lambda t, o: t.add_(o[0])]
    base = [0.5, -1.25, 2.0]
    for op in ops:
        plain = tc.tensor(base, device=device)
        with tc.no_grad():
            op(plain, tc.tensor([2.0, 4.0, 0.5], device=device))
        leaf = tc.tensor(base, device=device, requires_grad=True)
        graph = leaf * 1
        op(graph, tc.tensor([2.0, 4.0, 0.5], device=device))
        same(plain, to_numpy(graph))
        assert graph.grad_fn is not None


# -- gradients -------------------------------------------------------------------------------------
X = [[0.7, 1.3, 1.9], [1.1, 0.6, 1.6]]
Y = [[1.2, 0.8, 1.7], [0.9, 1.4, 0.55]]
B = [1.15, 0.62, 1.45]  # no quotient X / B near an integer (remainder, fmod)
W = np.arange(6.0).reshape(2, 3)  # weights, so that each gradient entry differs

GRADS = {
    # name: (in-place op on z = x * 1 with y and b, (dx, dy, db) written out for sum(W * z))
    "add_ alpha": (lambda z, y, b: z.add_(y, alpha=2.5), (W, 2.5 * W, None)),
    "add_ broadcast": (lambda z, y, b: z.add_(b), (W, None, W.sum(0))),
    "sub_ alpha": (lambda z, y, b: z.sub_(b, alpha=-1.5), (W, None, 1.5 * W.sum(0))),
    "mul_ number": (lambda z, y, b: z.mul_(3), (3 * W, None, None)),
    "div_ number": (lambda z, y, b: z.div_(4), (W / 4, None, None)),
    "div_ floor": (lambda z, y, b: z.div_(b, rounding_mode="floor"),
                   (0 * W, None, np.zeros(3))),
    "pow_ 3": (lambda z, y, b: z.pow_(3), (3 * np.square(X) * W, None, None)),
    "clamp_": (lambda z, y, b: z.clamp_(0.8, 1.5),
               (W * ((np.array(X) >= 0.8) & (np.array(X) <= 1.5)), None, None)),
    "remainder_": (lambda z, y, b: z.remainder_(b),
                   (W, None, -(W * np.floor(np.array(X) / B)).sum(0))),
    "fill_ number": (lambda z, y, b: z.fill_(2.0), (0 * W, None, None)),
    "fill_ tensor": (lambda z, y, b: z.fill_(b[1]), (0 * W, None, [0, W.sum(), 0])),
    "copy_": (lambda z, y, b: z.copy_(b), (0 * W, None, W.sum(0))),
    "masked_fill_": (lambda z, y, b: z.masked_fill_(y > 1.0, b[0]),
                     (W * (np.array(Y) <= 1.0), None, [(W * (np.array(Y) > 1.0)).sum(), 0, 0])),
}


@pytest.mark.parametrize("name", list(GRADS))
def test_gradient_after_inplace_op_written_out(device, name):
    op, expected = GRADS[name]
    x, y, b = (tc.tensor(v, dtype=tc.float64, device=device, requires_grad=True)
               for v in (X, Y, B))
    z = x * 1
    assert op(z, y, b) is z
    (z * tc.tensor(W, device=device)).sum().backward()
    for t, e in zip((x, y, b), expected):
        if e is None:
            assert t.grad is None
        else:
            np.testing.assert_allclose(to_numpy(t.grad), e, rtol=1e-12, atol=1e-12)


CHECKED = {
    # name: f(x, y, b) built with in-place ops (checked against finite differences)
    "mul_ tensor": lambda x, y, b: (x * 1).mul_(y),
    "div_ tensor": lambda x, y, b: (x * 1).div_(b),
    "pow_ tensor": lambda x, y, b: (x * 1).pow_(y),
    "ipow broadcast": lambda x, y, b: operator.ipow(x * 1, b),
    "fmod_ tensor": lambda x, y, b: (x * 1).fmod_(b * 0.5),
    "clamp_ tensors": lambda x, y, b: (x * 1).clamp_(b, y + 0.3),
    "iadd isub imul itruediv": lambda x, y, b: operator.itruediv(
        operator.imul(operator.isub(operator.iadd(x * 1, y), b), y), b),
    "chain": lambda x, y, b: (x * 1).mul_(y).add_(b, alpha=0.5).div_(2).pow_(2).clamp_(0, 3),
    "view row": lambda x, y, b: _row_mul(x, b),
    "row of expanded view": lambda x, y, b: _expanded_row_mul(x, b),
    "view column alpha": lambda x, y, b: _column_add(x, y),
}


def _row_mul(x, b):
    z = x * 1
    z[0].mul_(b)
    return z


def _expanded_row_mul(x, b):
    z = x[0:1] * 1
    z.expand(2, 3)[1].mul_(b)
    return z


def _column_add(x, y):
    z = x * 1
    z[:, 1].add_(y[:, 0], alpha=3.0)
    return z


@pytest.mark.parametrize("name", list(CHECKED))
def test_gradient_after_inplace_op_matches_finite_differences(device, name):
    inputs = tuple(tc.tensor(v, dtype=tc.float64, device=device, requires_grad=True)
                   for v in (X, Y, B))
    assert gradcheck(CHECKED[name], inputs)
    if name in ("chain", "view row", "ipow broadcast"):
        assert gradgradcheck(CHECKED[name], inputs)


def test_a_saved_operand_changed_in_place_still_raises(device):
    x = tc.tensor(X, dtype=tc.float64, device=device, requires_grad=True)
    z = x * 1
    z.mul_(z)  # mul saves both operands: the write changes them
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    z = x * 1
    z.pow_(2)  # pow_ keeps the value it read for backward: no error
    z.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), 2 * np.array(X), rtol=1e-12)
