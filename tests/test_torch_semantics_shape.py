"""Shape ops read their arguments as PyTorch 2.13 does (issue 15, items 2, 3, 4, 6).

- NumPy's ``axis`` where PyTorch takes it (cat, stack, squeeze, unsqueeze, chunk, narrow),
  ``swapaxes(axis0, axis1)``, and PyTorch's keyword names (``shape=``, ``size=``, ``dims=``,
  ``repeats=``, ``split_size=``).
- ``cat`` / ``stack`` promote with PyTorch's rule (as ``+`` does); gradients come back in each
  input's own dtype. ``cat`` skips legacy empty 1-D tensors and refuses 0-d ones.
- What PyTorch refuses raises the same error class: duplicate permute dims, two -1 in a
  shape, flatten's start after end, narrow/split/repeat/expand out of range.
Every test runs on each backend through the ``device`` fixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck


def _x(device, shape=(3, 4), dtype=tc.float32):
    xv = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) - 2.5
    return tc.tensor(xv, dtype=dtype, device=device), xv


# -- item 3: NumPy's names and PyTorch's keyword names ----------------------------------------
SAME = {
    "cat": (lambda x: tc.cat([x, x], axis=1), np.concatenate, lambda v: ([v, v],), {"axis": 1}),
    "concat": (lambda x: tc.concat([x, x], axis=0), np.concatenate, lambda v: ([v, v],), {}),
    "concatenate": (lambda x: tc.concatenate((x, x), axis=-1), np.concatenate,
                    lambda v: ([v, v],), {"axis": -1}),
    "stack": (lambda x: tc.stack([x, x], axis=2), np.stack, lambda v: ([v, v],), {"axis": 2}),
    "squeeze": (lambda x: x.reshape(1, 3, 1, 4).squeeze(axis=(0, 2)), lambda v: v,
                lambda v: (v,), {}),
    "tc.squeeze": (lambda x: tc.squeeze(x.reshape(1, 12), axis=0), np.ravel, lambda v: (v,), {}),
    "unsqueeze": (lambda x: x.unsqueeze(axis=1), np.expand_dims, lambda v: (v, 1), {}),
    "tc.unsqueeze": (lambda x: tc.unsqueeze(x, axis=-1), np.expand_dims, lambda v: (v, -1), {}),
    "swapaxes": (lambda x: x.swapaxes(axis0=0, axis1=1), np.swapaxes, lambda v: (v, 0, 1), {}),
    "tc.swapaxes": (lambda x: tc.swapaxes(x, axis0=1, axis1=0), np.swapaxes,
                    lambda v: (v, 0, 1), {}),
    "swapdims": (lambda x: x.swapdims(0, 1), np.swapaxes, lambda v: (v, 0, 1), {}),
    "narrow": (lambda x: x.narrow(axis=1, start=1, length=2), lambda v: v[:, 1:3],
               lambda v: (v,), {}),
    "reshape": (lambda x: x.reshape(shape=(4, 3)), np.reshape, lambda v: (v, (4, 3)), {}),
    "tc.reshape": (lambda x: tc.reshape(x, shape=[2, -1]), np.reshape, lambda v: (v, (2, 6)),
                   {}),
    "view": (lambda x: x.view(size=(2, 6)), np.reshape, lambda v: (v, (2, 6)), {}),
    "expand": (lambda x: x.expand(size=(2, 3, 4)), np.broadcast_to,
               lambda v: (v, (2, 3, 4)), {}),
    "broadcast_to": (lambda x: x.broadcast_to(size=(2, 3, 4)), np.broadcast_to,
                     lambda v: (v, (2, 3, 4)), {}),
    "permute": (lambda x: x.permute(dims=(1, 0)), np.transpose, lambda v: (v,), {}),
    "repeat": (lambda x: x.repeat(repeats=(2, 1, 3)), np.tile, lambda v: (v, (2, 1, 3)), {}),
    "sum_to_size": (lambda x: x.sum_to_size(1, 4), lambda v: v.sum(0, keepdims=True),
                    lambda v: (v,), {}),
    "sum_to_size-kw": (lambda x: x.sum_to_size(size=(3, 1)), lambda v: v.sum(1, keepdims=True),
                       lambda v: (v,), {}),
}


@pytest.mark.parametrize("name", list(SAME))
def test_numpy_and_keyword_names_are_accepted(device, name):
    fn, np_fn, np_args, np_kw = SAME[name]
    x, xv = _x(device)
    out = fn(x)
    expected = np_fn(*np_args(xv), **np_kw)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(to_numpy(out), expected.astype(np.float32))


def test_chunk_and_split_keywords(device):
    x, xv = _x(device)
    assert [c.shape for c in x.chunk(2, axis=1)] == [(3, 2), (3, 2)]
    assert [c.shape for c in tc.chunk(x, chunks=3, axis=0)] == [(1, 4)] * 3
    assert [c.shape for c in x.split(split_size=2)] == [(2, 4), (1, 4)]
    assert [c.shape for c in tc.split(x, split_size_or_sections=[1, 3], dim=1)] == [(3, 1),
                                                                                     (3, 3)]


@pytest.mark.parametrize("call", [
    lambda x: tc.cat([x, x], 0, axis=0),
    lambda x: tc.cat([x, x], dim=0, axis=0),
    lambda x: tc.stack([x], dim=0, axis=0),
    lambda x: x.squeeze(0, axis=0),
    lambda x: x.split(2, axis=0),  # PyTorch's split takes no axis
    lambda x: x.flatten(axis=0),
    lambda x: x.transpose(axis0=0, axis1=1),  # transpose takes dim0/dim1 only
    lambda x: x.reshape(3, 4, shape=(4, 3)),
    lambda x: x.reshape(2.0, 6),
    lambda x: x.reshape([2], 6),
    lambda x: x.repeat(),
    lambda x: x.permute(),
    lambda x: x.unsqueeze((0,)),
    lambda x: tc.cat(x),  # a Tensor is not a sequence of tensors
    lambda x: tc.stack(x),
    lambda x: tc.cat([x, to_numpy(x)]),
], ids=range(16))
def test_arguments_pytorch_refuses_raise_type_error(device, call):
    x, _ = _x(device)
    with pytest.raises(TypeError):
        call(x)


# -- item 6: shapes and dims PyTorch refuses ------------------------------------------------------
@pytest.mark.parametrize("call,error,match", [
    (lambda x: x.permute(0, 0), RuntimeError, "duplicate dims"),
    (lambda x: x.permute(1, -1), RuntimeError, "duplicate dims"),
    (lambda x: x.permute(0), RuntimeError, "number of dimensions"),
    (lambda x: x.permute(0, 1, 2), RuntimeError, "number of dimensions"),
    (lambda x: x.permute(2, 0), IndexError, "out of range"),
    (lambda x: x.reshape(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda x: x.view(-1, 2, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda x: x.reshape(-2, 6), RuntimeError, "invalid shape dimension -2"),
    (lambda x: x.reshape(5, -1), RuntimeError, "invalid for input of size 12"),
    (lambda x: x.flatten(1, 0), RuntimeError, "start_dim cannot come after end_dim"),
    (lambda x: x.flatten(0, 2), IndexError, "out of range"),
    (lambda x: x.transpose(0, 2), IndexError, "out of range"),
    (lambda x: x.squeeze((0, 0)), RuntimeError, "appears multiple times"),
    (lambda x: x.squeeze(2), IndexError, "out of range"),
    (lambda x: x.unsqueeze(3), IndexError, "out of range"),
    (lambda x: x.unsqueeze(-4), IndexError, "out of range"),
    (lambda x: x.narrow(0, 2, 2), RuntimeError, "exceeds dimension size"),
    (lambda x: x.narrow(0, -4, 1), IndexError, "start out of range"),
    (lambda x: x.narrow(0, 4, 0), IndexError, "start out of range"),
    (lambda x: x.narrow(0, 0, -1), RuntimeError, "non-negative"),
    (lambda x: x.split(0), RuntimeError, "split_size can only be 0"),
    (lambda x: x.split(-1), RuntimeError, "non-negative"),
    (lambda x: x.split([4, -1]), RuntimeError, "non-negative"),
    (lambda x: x.split([1, 1]), RuntimeError, "sum exactly to 3"),
    (lambda x: x.chunk(0), RuntimeError, "greater than 0"),
    (lambda x: x.chunk(2, 2), IndexError, "out of range"),
    (lambda x: x.repeat(2), RuntimeError, "can not be smaller"),
    (lambda x: x.repeat(-1, 2), RuntimeError, "negative dimension"),
    (lambda x: x.expand(-1, 3, 4), RuntimeError, "leading, non-existing dimension"),
    (lambda x: x.expand(3, -2), RuntimeError, "must match the existing size"),
    (lambda x: x.expand(0, 4), RuntimeError, "must match the existing size"),
    (lambda x: x.sum_to_size(2, 4), RuntimeError, "is not expandable"),
    (lambda x: tc.stack([x, x], 3), IndexError, "out of range"),
    (lambda x: tc.stack([x, x], -4), IndexError, "out of range"),
    (lambda x: tc.stack([x, x[:2]]), RuntimeError, "equal size"),
    (lambda x: tc.stack([]), RuntimeError, "non-empty"),
    (lambda x: tc.cat([]), ValueError, "non-empty"),
    (lambda x: tc.cat([x, x], 2), IndexError, "out of range"),
    (lambda x: tc.cat([x, x[0]]), RuntimeError, "same number of dimensions"),
    (lambda x: tc.cat([x, x[:, :2]]), RuntimeError, "Sizes of tensors must match"),
    (lambda x: tc.cat([x.sum(), x.sum()]), RuntimeError, "zero-dimensional tensor"),
    (lambda x: tc.cat([tc.ones(0, device=x.device), x.sum()]), RuntimeError,
     "zero-dimensional tensor \\(at position 1\\)"),
], ids=range(42))
def test_what_pytorch_refuses_raises_the_same_class(device, call, error, match):
    x, _ = _x(device)
    with pytest.raises(error, match=match):
        call(x)


def test_edge_shapes_pytorch_accepts(device):
    x, xv = _x(device)
    s = tc.tensor(2.0, device=device)
    assert s.permute(()).shape == () and s.T.shape == () and s.transpose(0, -1).shape == ()
    assert s.squeeze(0).shape == () and s.squeeze(()).shape == ()
    assert s.flatten(0, -1).shape == (1,) and x.transpose(1, 1).shape == (3, 4)
    assert tc.ones(3, device=device).transpose(0, -1).shape == (3,)
    np.testing.assert_array_equal(to_numpy(x.narrow(0, -1, 1)), xv[-1:].astype(np.float32))
    assert x.narrow(0, 3, 0).shape == (0, 4)
    assert x.split([3, 0])[1].shape == (0, 4)
    empty = tc.zeros(0, 3, device=device)
    assert [p.shape for p in empty.split(0)] == [(0, 3)]
    assert [p.shape for p in empty.chunk(2)] == [(0, 3), (0, 3)]  # as PyTorch: `chunks` pieces
    assert [p.shape for p in tc.zeros(5, 3, device=device).chunk(4)] == [(2, 3), (2, 3), (1, 3)]
    assert x.repeat(0, 2).shape == (0, 8) and s.repeat(2, 3).shape == (2, 3)
    assert tc.ones(1, 4, device=device).expand(0, 4).shape == (0, 4)
    assert x.expand(2, -1, -1).shape == (2, 3, 4)
    assert tc.stack([s, s], -1).shape == (2,)


def test_repeat_values_and_gradient(device):
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tc.float64, device=device, requires_grad=True)
    out = x.repeat(2, 1, 3)
    np.testing.assert_array_equal(to_numpy(out), np.tile(to_numpy(x), (2, 1, 3)))
    out.backward(tc.tensor(np.arange(24.0).reshape(2, 2, 6), device=device))
    tiles = np.arange(24.0).reshape(2, 2, 3, 2)  # (repeat 0, row, repeat 2, col)
    np.testing.assert_array_equal(to_numpy(x.grad), tiles.sum(axis=(0, 2)))
    assert gradcheck(lambda t: t.repeat(3, 2), (x,))


# -- item 4: cat / stack promote as PyTorch -----------------------------------------------------
PROMOTE = [
    (tc.float32, tc.int64, tc.float32),
    (tc.int32, tc.float32, tc.float32),
    (tc.int32, tc.bool, tc.int32),
    (tc.bool, tc.int64, tc.int64),
    (tc.int32, tc.int64, tc.int64),
    (tc.float16, tc.int64, tc.float16),
    (tc.float16, tc.float32, tc.float32),
    (tc.float64, tc.float32, tc.float64),
    (tc.bool, tc.bool, tc.bool),
]


@pytest.mark.parametrize("a,b,expected", PROMOTE, ids=str)
@pytest.mark.parametrize("op", ["cat", "stack"])
def test_cat_stack_promote_as_pytorch(device, op, a, b, expected):
    x = tc.tensor([[1, 0], [2, 3]], dtype=a, device=device)
    y = tc.tensor([[4, 5], [0, 1]], dtype=b, device=device)
    out = (tc.cat if op == "cat" else tc.stack)([x, y, x])
    assert out.dtype == expected
    np_fn = np.concatenate if op == "cat" else np.stack
    parts = [to_numpy(x), to_numpy(y), to_numpy(x)]  # each in its own dtype (bool: 0/1)
    np.testing.assert_array_equal(to_numpy(out), np_fn(parts).astype(expected.np))
    assert to_numpy(out).dtype == expected.np


def test_cat_gradients_come_back_in_each_inputs_dtype(device):
    a = tc.tensor([[1.0, 2.0]], dtype=tc.float16, device=device, requires_grad=True)
    b = tc.tensor([[3.0, 4.0], [5.0, 6.0]], dtype=tc.float32, device=device, requires_grad=True)
    i = tc.tensor([[7, 8]], dtype=tc.int64, device=device)
    out = tc.cat([a, i, b])
    assert out.dtype == tc.float32
    (out * tc.tensor([[1.0], [2.0], [3.0], [4.0]], device=device)).sum().backward()
    assert a.grad.dtype == tc.float16 and b.grad.dtype == tc.float32
    np.testing.assert_array_equal(to_numpy(a.grad), [[1, 1]])
    np.testing.assert_array_equal(to_numpy(b.grad), [[3, 3], [4, 4]])
    c = tc.tensor([1.0, 2.0], dtype=tc.float64, device=device, requires_grad=True)
    s = tc.stack([c, tc.tensor([3.0, 4.0], dtype=tc.float16, device=device)], 1)
    assert s.dtype == tc.float64
    (s * tc.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=tc.float64, device=device)).sum().backward()
    assert c.grad.dtype == tc.float64 and c.grad.tolist() == [1.0, 2.0]


# -- item 2: cat with legacy empty 1-D tensors ---------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_skips_legacy_empty_1d_tensors(device, dim):
    x, xv = _x(device, (2, 3))
    e = tc.ones(0, device=device, requires_grad=True)
    xl = tc.tensor(xv, device=device, requires_grad=True)
    out = tc.cat([e, xl, e, xl], dim=dim)
    np.testing.assert_array_equal(to_numpy(out), np.concatenate([xv, xv], axis=dim))
    out.sum().backward()
    assert e.grad is not None and e.grad.shape == (0,)  # an empty gradient, as in PyTorch
    np.testing.assert_array_equal(to_numpy(xl.grad), np.full((2, 3), 2.0))


def test_cat_of_legacy_empties_only_and_their_promotion(device):
    e32 = tc.ones(0, device=device)
    e64 = tc.ones(0, dtype=tc.float64, device=device)
    assert tc.cat([e32, e64], dim=1).shape == (0,)  # no dim to check, as in PyTorch
    assert tc.cat([e32, e64]).dtype == tc.float64
    i = tc.tensor([[1, 2]], dtype=tc.int32, device=device)
    assert tc.cat([e64, i]).dtype == tc.float64  # the skipped tensor still promotes
    assert tc.cat([tc.ones(0, device=device), tc.ones(0, 3, device=device)]).shape == (0, 3)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        tc.cat([tc.ones(0, 0, device=device), i])  # only (0,) is the legacy form
