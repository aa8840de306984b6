"""``var_mean`` / ``std_mean`` / ``quantile`` / ``nanquantile`` / ``diagonal`` /
``diag_embed`` / ``mode`` / ``trapezoid`` / ``trapz``: values against NumPy,
gradients against finite differences in float64 (twice), PyTorch's gradients at ties and
PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
NAN = float("nan")


def ints(array, device, dtype=tc.int64):
    return tc.tensor(np.asarray(array), dtype=dtype, device=device)


def leaf(array, device, grad=True):
    return tc.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=grad)


# -- var_mean / std_mean -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_var_mean_values_forms_and_gradients(device, name):
    x = RNG.normal(size=(3, 4))
    np_op = np.var if name == "var_mean" else np.std
    fn = getattr(tc, name)
    v, m = fn(leaf(x, device, False))
    np.testing.assert_allclose(to_numpy(v), np_op(x, ddof=1))
    np.testing.assert_allclose(to_numpy(m), x.mean())
    v, m = fn(leaf(x, device, False), 1, keepdim=True, correction=0)
    assert v.shape == m.shape == (3, 1)
    np.testing.assert_allclose(to_numpy(v), np_op(x, axis=1, keepdims=True))
    np.testing.assert_allclose(to_numpy(m), x.mean(axis=1, keepdims=True))
    v, _ = fn(leaf(x, device, False), False)  # the var(unbiased) form
    np.testing.assert_allclose(to_numpy(v), np_op(x))
    v, _ = fn(leaf(x, device, False), (0,), True, True)  # (dim, unbiased, keepdim)
    np.testing.assert_allclose(to_numpy(v), np_op(x, axis=0, ddof=1, keepdims=True))
    assert gradcheck(lambda t: sum(fn(t, 0)), (leaf(x, device),))
    assert gradgradcheck(lambda t: fn(t, dim=1, correction=2)[0], (leaf(x, device),))


def test_var_mean_errors():
    with pytest.raises(RuntimeError, match="var_mean only support floating point"):
        tc.var_mean(tc.tensor([1, 2]))
    with pytest.raises(TypeError, match="either unbiased or correction"):
        tc.std_mean(tc.tensor([1.0, 2.0]), 0, True, correction=1)
    with pytest.raises(TypeError):
        tc.std_mean(tc.tensor([1, 2]), 0, True, correction=1)  # arguments before the dtype


# -- quantile / nanquantile ----------------------------------------------------------------
MODES = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("mode", MODES)
def test_quantile_matches_numpy(device, mode):
    x = RNG.normal(size=(3, 5))
    q = np.array([0.0, 0.1, 0.5, 0.62, 1.0])
    got = tc.quantile(leaf(x, device, False), leaf(q, device, False), 1, interpolation=mode)
    np.testing.assert_allclose(to_numpy(got), np.quantile(x, q, axis=1, method=mode))
    got = tc.quantile(leaf(x, device, False), 0.3, interpolation=mode)
    np.testing.assert_allclose(to_numpy(got), np.quantile(x, 0.3, method=mode))
    got = leaf(x, device, False).quantile(0.3, dim=0, keepdim=True, interpolation=mode)
    assert got.shape == (1, 5)
    np.testing.assert_allclose(to_numpy(got), np.quantile(x, 0.3, 0, method=mode,
                                                          keepdims=True))


def test_quantile_shapes(device):
    x = leaf(RNG.normal(size=(2, 3, 4)), device, False)
    q = leaf([0.2, 0.8], device, False)
    assert tc.quantile(x, q).shape == (2,)
    assert tc.quantile(x, q, keepdim=True).shape == (2, 1, 1, 1)
    assert tc.quantile(x, q, 1, True).shape == (2, 2, 1, 4)
    assert tc.quantile(x, leaf(0.5, device, False), -1).shape == (2, 3)
    assert tc.quantile(leaf(3.0, device, False), 0.5, 0, True).shape == ()


def test_quantile_nan_rows(device):
    x = leaf([[1.0, NAN, 3.0, 2.0], [4.0, 0.0, 2.0, 1.0], [NAN, NAN, NAN, NAN]], device, False)
    q = to_numpy(tc.quantile(x, 0.5, 1))
    assert np.isnan(q[0]) and q[1] == 1.5 and np.isnan(q[2])
    n = to_numpy(tc.nanquantile(x, 0.5, 1))
    assert n[0] == 2.0 and n[1] == 1.5 and np.isnan(n[2])
    np.testing.assert_allclose(to_numpy(x.nanquantile(0.25)), np.nanquantile(to_numpy(x), 0.25))


@pytest.mark.parametrize("mode", MODES)
def test_quantile_gradients(device, mode):
    x = RNG.normal(size=(3, 4))
    q = leaf([0.1, 0.5, 0.9], device, False)
    assert gradcheck(lambda t: tc.quantile(t, q, 1, interpolation=mode), (leaf(x, device),))
    assert gradgradcheck(lambda t: tc.nanquantile(t, 0.3, interpolation=mode) ** 2,
                         (leaf(x, device),))


def test_quantile_gradient_goes_to_the_two_neighbours_by_weight(device):
    x = leaf([3.0, 0.0, 2.0, 1.0], device)
    tc.quantile(x, 0.25).backward()  # rank 0.75: between 0.0 (weight 0.25) and 1.0 (0.75)
    assert x.grad.tolist() == [0.0, 0.25, 0.0, 0.75]
    x = leaf([1.0, 1.0, 0.0], device)
    tc.quantile(x, 0.75).backward()  # ties: the stable sort's order, as PyTorch
    assert x.grad.tolist() == [0.5, 0.5, 0.0]


def test_quantile_is_differentiable_in_q_as_pytorch(device):
    q = leaf([0.25, 0.9], device)
    tc.quantile(leaf([3.0, 0.0, 2.0, 1.0], device, False), q).sum().backward()
    assert q.grad.tolist() == [3.0, 3.0]  # d(rank)/dq = n - 1 times the neighbours' gap
    q = leaf([0.25, 0.9], device)
    tc.nanquantile(leaf([NAN, 1.0, 2.0], device, False), q).sum().backward()
    assert q.grad.tolist() == [1.0, 1.0]
    x = leaf(RNG.normal(size=(2, 5)), device)
    assert gradcheck(lambda t, p: tc.quantile(t, p, 1), (x, leaf([0.3, 0.71], device)))


def test_quantile_errors():
    x = tc.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"q must be in the range \[0, 1\] but got 1.5"):
        tc.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match=r"q values must be in the range \[0, 1\]"):
        tc.quantile(x, tc.tensor([0.5, -0.1]))
    with pytest.raises(RuntimeError, match="input tensor must be non-empty"):
        tc.quantile(tc.zeros(2, 0), 0.5, 0)
    with pytest.raises(RuntimeError, match="q must be a scalar or 1D tensor"):
        tc.quantile(x, tc.tensor([[0.5]]))
    with pytest.raises(RuntimeError, match="must be either float or double dtype"):
        tc.nanquantile(tc.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="q tensor must be same dtype as the input"):
        tc.quantile(x, tc.tensor([0.5], dtype=tc.float64))
    with pytest.raises(RuntimeError, match="interpolation must be one of linear"):
        tc.quantile(x, 0.5, interpolation="cubic")
    with pytest.raises(IndexError):
        tc.quantile(x, 0.5, 1)
    with pytest.raises(TypeError, match="must be Tensor or float"):
        tc.quantile(x, "0.5")


# -- diagonal / diag_embed -------------------------------------------------------------------
@pytest.mark.parametrize(("shape", "offset", "dim1", "dim2"), [
    ((3, 4), 0, 0, 1), ((3, 4), 1, 0, 1), ((3, 4), -2, 1, 0), ((2, 3, 4), 1, -1, 0),
    ((2, 3, 4), 5, 0, 2)])
def test_diagonal_values_and_gradients(device, shape, offset, dim1, dim2):
    x = RNG.normal(size=shape)
    got = tc.diagonal(leaf(x, device, False), offset, dim1, dim2)
    np.testing.assert_array_equal(to_numpy(got), np.diagonal(x, offset, dim1, dim2))
    assert gradcheck(lambda t: t.diagonal(offset, dim1, dim2), (leaf(x, device),))
    assert gradgradcheck(lambda t: t.diagonal(offset, dim1, dim2) ** 2, (leaf(x, device),))


def test_diagonal_is_a_view(device):
    x = tc.arange(9.0, device=device).reshape(3, 3)
    d = x.diagonal(1)
    d[0] = 100.0
    d.mul_(2.0)
    assert x.tolist() == [[0.0, 200.0, 2.0], [3.0, 4.0, 10.0], [6.0, 7.0, 8.0]]
    x.add_(1.0)
    assert d.tolist() == [201.0, 11.0]
    a = leaf(np.ones((3, 3)), device)
    b = a * 2.0
    b.diagonal().mul_(5.0)  # the write reaches b, and b's gradient
    assert b.tolist() == [[10.0, 2.0, 2.0], [2.0, 10.0, 2.0], [2.0, 2.0, 10.0]]
    b.sum().backward()
    assert a.grad.tolist() == [[10.0, 2.0, 2.0], [2.0, 10.0, 2.0], [2.0, 2.0, 10.0]]


@pytest.mark.parametrize(("shape", "offset", "dim1", "dim2"), [
    ((3,), 0, -2, -1), ((3,), 1, 0, 1), ((2, 3), -1, 0, 2), ((2, 3), 2, 2, 1)])
def test_diag_embed_values_and_gradients(device, shape, offset, dim1, dim2):
    x = RNG.normal(size=shape)
    got = tc.diag_embed(leaf(x, device, False), offset, dim1, dim2)
    assert np.array_equal(np.diagonal(to_numpy(got), offset, dim1, dim2), x)
    assert to_numpy(got).sum() == pytest.approx(x.sum())
    assert gradcheck(lambda t: t.diag_embed(offset, dim1, dim2), (leaf(x, device),))
    assert gradgradcheck(lambda t: tc.diag_embed(t ** 2, offset, dim1, dim2),
                         (leaf(x, device),))


def test_diagonal_errors():
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical 1, -1"):
        tc.diagonal(tc.zeros(3, 3), 0, 1, -1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tc.zeros(3).diagonal()
    with pytest.raises(IndexError, match="Dimension out of range"):
        tc.diag_embed(tc.zeros(3), 0, 0, 2)
    with pytest.raises(TypeError, match="'offset' must be int"):
        tc.diagonal(tc.zeros(3, 3), 0.5)


# -- mode ------------------------------------------------------------------------------------
def test_mode_values_indices_and_gradient(device):
    x = leaf([[1.0, 2.0, 2.0, 1.0, 3.0], [3.0, 1.0, 1.0, 3.0, 0.0]], device)
    values, indices = tc.mode(x)  # the smallest of the most frequent, at its last index
    assert values.tolist() == [1.0, 1.0] and indices.tolist() == [3, 2]
    assert indices.dtype == tc.int64 and type(values).__name__ == "Tensor"
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]
    result = x.detach().mode(0, keepdim=True)
    assert result.values.shape == (1, 5) and result.indices.tolist() == [[0, 1, 1, 0, 1]]
    assert tc.mode(ints([True, False, True], device, tc.bool)).indices.item() == 2
    assert tc.mode(leaf(5.0, device, False)).indices.item() == 0
    assert tc.mode(tc.zeros(3, 0, device=device), 0).values.shape == (0,)
    assert gradcheck(lambda t: tc.mode(t, 1).values, (leaf(RNG.normal(size=(2, 3)), device),))


def test_mode_with_nan_as_pytorch(device):
    x = leaf([[NAN, 1.0, NAN, 1.0], [2.0, NAN, 2.0, 1.0]], device, False)
    values, indices = tc.mode(x, 1)  # PyTorch's CPU insertion sort: NaN stays in place
    assert indices.tolist() == [0, 3] and np.isnan(to_numpy(values)[0])
    assert to_numpy(values)[1] == 1.0  # [1, 2, nan, 2] after that sort: no run longer than 1


def test_mode_errors():
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        tc.mode(tc.zeros(0, 3), 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tc.mode(tc.zeros(3), 1)


# -- trapezoid / trapz --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["trapezoid", "trapz"])
def test_trapezoid_values_and_gradients(device, name):
    fn = getattr(tc, name)
    y, x = RNG.normal(size=(3, 4)), np.sort(RNG.normal(size=4))
    np.testing.assert_allclose(to_numpy(fn(leaf(y, device, False))), np.trapezoid(y))
    np.testing.assert_allclose(to_numpy(fn(leaf(y, device, False), dx=0.5, dim=0)),
                               np.trapezoid(y, dx=0.5, axis=0))
    np.testing.assert_allclose(to_numpy(fn(leaf(y, device, False), leaf(x, device, False))),
                               np.trapezoid(y, x))
    xs = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(
        to_numpy(fn(leaf(y, device, False), leaf(xs, device, False), dim=0)),
        np.trapezoid(y, xs, axis=0))
    assert fn(ints([1, 2, 4], device)).dtype == tc.float32
    empty = fn(ints(np.zeros((2, 0), np.int32), device, tc.int32))
    assert empty.dtype == tc.int32 and empty.tolist() == [0, 0]
    assert gradcheck(lambda t, u: fn(t, u, dim=0), (leaf(y, device), leaf(xs, device)))
    assert gradgradcheck(lambda t: fn(t ** 2, dx=2.0), (leaf(y, device),))


def test_trapezoid_errors():
    y = tc.tensor([[1.0, 2.0, 4.0]])
    with pytest.raises(RuntimeError, match="one `x` value for each sample point"):
        tc.trapezoid(y, tc.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="bool input for `y`"):
        tc.trapezoid(tc.tensor([True, False]))
    with pytest.raises(RuntimeError, match="only support dx as a real number"):
        tc.trapezoid(y, dx=True)
    assert tc.trapz(y, dx=True).tolist() == [4.5]  # trapz's dx is a float
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        tc.trapezoid(y, tc.tensor([0.0, 1.0, 2.0]), dx=1)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        tc.trapz(y, 2.0)
    with pytest.raises(IndexError, match="Dimension specified as -1 but tensor has no dim"):
        tc.trapezoid(tc.tensor(3.0))


def test_stats_in_a_compiled_step_matches_eager():
    def step(x):
        v, m = tc.var_mean(x, 1)
        return (v + m + tc.quantile(x, 0.3, 1) + tc.std_mean(x)[0] + x[:, :3].diagonal()).sum() \
            + tc.diag_embed(x).sum() + tc.trapezoid(x, x[0]).sum()

    compiled = tc.compile(step)
    for seed in range(3):
        x = tc.tensor(np.random.default_rng(seed).normal(size=(3, 4)))
        assert compiled(x).item() == step(x).item()
