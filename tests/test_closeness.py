"""``isclose`` / ``allclose`` / ``equal`` / ``isnan`` / ``isinf`` / ``isfinite`` against NumPy,
with PyTorch's defaults, signatures and errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc

NAN, INF = float("nan"), float("inf")
A = [1.0, 1.0, 100.0, NAN, INF, -INF, 0.0]
B = [1.0 + 5e-6, 1.0 + 5e-5, 100.0 + 5e-4, NAN, INF, INF, 1e-9]


@pytest.mark.parametrize("dtype", [tc.float32, tc.float64])
@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_matches_numpy(device, dtype, equal_nan):
    a, b = (tc.tensor(v, dtype=dtype, device=device) for v in (A, B))
    want = np.isclose(np.array(A, dtype=dtype.name), np.array(B, dtype=dtype.name),
                      rtol=1e-05, atol=1e-08, equal_nan=equal_nan)
    got = tc.isclose(a, b, equal_nan=equal_nan)
    assert got.dtype == tc.bool
    np.testing.assert_array_equal(to_numpy(got), want)
    np.testing.assert_array_equal(to_numpy(a.isclose(b, rtol=1e-3, atol=0.0)),
                                  np.isclose(np.array(A), np.array(B), rtol=1e-3, atol=0.0))


def test_isclose_broadcasts(device):
    a = tc.tensor([[1.0], [2.0]], device=device)
    b = tc.tensor([1.0, 2.0, 2.0 + 1e-9], device=device)
    np.testing.assert_array_equal(to_numpy(tc.isclose(a, b)),
                                  [[True, False, False], [False, True, True]])


def test_allclose_is_a_python_bool(device):
    a = tc.tensor([1.0, 2.0, 3.0], device=device)
    assert tc.allclose(a, a + 1e-7) is True
    assert tc.allclose(a, a + 1e-3) is False
    assert a.allclose(a + 1e-3, atol=1e-2) is True
    nan = tc.tensor([NAN], device=device)
    assert tc.allclose(nan, nan) is False
    assert tc.allclose(nan, nan, equal_nan=True) is True


def test_equal(device):
    a = tc.tensor([[1, 2], [3, 4]], device=device)
    assert tc.equal(a, a.clone()) is True
    assert a.equal(tc.tensor([[1, 2], [3, 5]], device=device)) is False
    assert tc.equal(a, tc.tensor([1, 2, 3, 4], device=device)) is False  # shapes differ
    assert tc.equal(tc.tensor([NAN], device=device), tc.tensor([NAN], device=device)) is False


@pytest.mark.parametrize("dtype", [tc.float32, tc.float64, tc.int64, tc.bool])
def test_isnan_isinf_isfinite(device, dtype):
    values = [1.0, NAN, INF, -INF, 0.0] if dtype.is_floating_point else [1, 0, 1, 0, 1]
    t = tc.tensor(values, dtype=dtype, device=device)
    x = np.array(values, dtype=dtype.name if dtype != tc.bool else bool)
    for ours, theirs in ((tc.isnan, np.isnan), (tc.isinf, np.isinf),
                         (tc.isfinite, np.isfinite)):
        got = ours(t)
        assert got.dtype == tc.bool and got.shape == t.shape
        np.testing.assert_array_equal(to_numpy(got), theirs(x.astype(np.float64)))
    np.testing.assert_array_equal(to_numpy(t.isfinite()), np.isfinite(x.astype(np.float64)))


def test_bad_input_is_named(device):
    a = tc.tensor([1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="float32 did not match float64"):
        tc.isclose(a, a.double())
    with pytest.raises(TypeError, match="other"):
        tc.allclose(a, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        tc.isclose(a, tc.tensor([1.0, 2.0, 3.0], device=device))
    with pytest.raises(RuntimeError, match="non-negative"):
        tc.isclose(a, a, rtol=-1.0)


def test_allclose_inside_compile_runs_eagerly():
    """A host read: the compiled function is not replayed with a stale answer."""
    @tc.compile
    def f(x):
        return x * 2 if tc.allclose(x, tc.ones_like(x)) else x

    with pytest.warns(tc.compiler.CompileWarning, match="allclose"):
        assert to_numpy(f(tc.ones(2))).tolist() == [2.0, 2.0]
    assert to_numpy(f(tc.zeros(2))).tolist() == [0.0, 0.0]
