"""tensorcore.kernels.cpu.update (the fused ``x += alpha * y``) against NumPy, bit for bit,
and the numba backend's ``axpy_`` that routes to it."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.backends.contract import one_pass_update_fits
from tensorcore.backends.numba_backend import NumbaBackend
from tensorcore.kernels.cpu import update as cpu_update


def fits(x, y) -> bool:
    return one_pass_update_fits(np, x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 13), (2, 3, 5), (70001,)])
def test_axpy_equals_numpy_bit_for_bit(dtype, shape):
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    expected = x + y * -0.0123  # NumPy rounds the Python float to x's dtype first
    assert fits(x, y)
    cpu_update.axpy(x, x.dtype.type(-0.0123), y)
    np.testing.assert_array_equal(x, expected)


@pytest.mark.parametrize("make_y", [
    lambda x: x.astype(np.float64),            # another dtype
    lambda x: np.ones((3, 4), np.float32).T,   # another layout
    lambda x: np.ones(12, np.float32),         # another shape
])
def test_fits_refuses_what_the_loop_cannot_take(make_y):
    x = np.ones((4, 3), np.float32)
    assert not fits(x, make_y(x))


def test_overlapping_views_take_numpys_way():
    buf = np.arange(10, dtype=np.float32)
    expected = buf.copy()
    expected[1:] += 2.0 * expected[:-1].copy()
    assert not fits(buf[1:], buf[:-1])
    NumbaBackend("cpu").axpy_(buf[1:], 2.0, buf[:-1])
    np.testing.assert_array_equal(buf, expected)
    x = np.ones(4, np.float32)  # the array itself is fine: each element reads itself first
    assert fits(x, x)
    cpu_update.axpy(x, x.dtype.type(2.0), x)
    assert x.tolist() == [3.0] * 4


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_large_overlapping_update_equals_numpy(backend):
    buf = np.arange(70001, dtype=np.float64)  # above the contract's chunk size
    expected = buf.copy()
    expected[1:] += 2.0 * expected[:-1].copy()
    tc.backends.get_backend("cpu", name=backend).axpy_(buf[1:], 2.0, buf[:-1])
    np.testing.assert_array_equal(buf, expected)


def test_fits_refuses_read_only_and_integer_targets():
    x = np.ones(3, np.float32)
    x.flags.writeable = False
    assert not fits(x, np.ones(3, np.float32))
    assert not fits(np.ones(3, np.int64), np.ones(3, np.int64))


ROWS, COLS = 30, 40  # 1,200 elements: above the size where the kernel takes over


@pytest.mark.parametrize("y,kernel", [
    (np.arange(ROWS * COLS, dtype=np.float32).reshape(ROWS, COLS), True),   # the kernel
    (np.arange(ROWS * COLS, dtype=np.float32).reshape(COLS, ROWS).T, False),  # strided
    (np.arange(COLS, dtype=np.float32), False),                              # broadcast
    (np.arange(12, dtype=np.float32).reshape(3, 4), False),                  # small
], ids=["kernel", "strided", "broadcast", "small"])
def test_backend_axpy_matches_numpy_on_every_route(y, kernel, monkeypatch):
    calls = []
    monkeypatch.setattr(cpu_update, "axpy", lambda *a: (calls.append(1), _axpy(*a)))
    x = np.ones(y.shape if y.ndim == 2 else (ROWS, COLS), np.float32)
    expected = x + y * np.float32(0.5)
    NumbaBackend("cpu").axpy_(x, 0.5, y)
    np.testing.assert_array_equal(x, expected)
    assert bool(calls) is kernel


_axpy = cpu_update.axpy


def test_sgd_update_through_sub_():
    with tc.backends.use_backend("numba"):
        p = tc.ones(2, 3, requires_grad=True)
        g = tc.full((2, 3), 4.0)
        with tc.no_grad():
            p.sub_(g, alpha=0.25)
    assert p.tolist() == [[0.0] * 3] * 2 and p._version_box[0] == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (64, 33), (300, 200)])
def test_adam_kernel_equals_the_reference_bit_for_bit(dtype, shape):
    """The numba backend's one-pass Adam step against the contract's NumPy sequence, over a
    few steps with changing numbers (a bias correction that moves, as Adam's does)."""
    from tensorcore.backends.contract import Backend

    rng = np.random.default_rng(0)
    x0, m0, v0 = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    v0 = np.abs(v0)
    fused = [a.copy() for a in (x0, m0, v0)]
    plain = [a.copy() for a in (x0, m0, v0)]
    numba_backend, reference = NumbaBackend("cpu"), tc.backends.get_backend("cpu", "numpy")
    for t in range(1, 4):
        g = rng.standard_normal(shape).astype(dtype)
        numbers = (0.9, 0.1, 0.999, 1 - 0.999, (1 - 0.999 ** t) ** 0.5, 1e-8,
                   -0.01 / (1 - 0.9 ** t))
        numba_backend.adam_update_(*fused[:1], g, *fused[1:], None, *numbers)
        Backend.adam_update_(reference, *plain[:1], g, *plain[1:], None, *numbers)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fused[0], x0)
