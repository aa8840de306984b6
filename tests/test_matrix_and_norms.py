"""``diag`` / ``triu`` / ``tril`` / ``trace`` / ``outer`` / ``count_nonzero`` and the vector
norms (``tc.linalg.vector_norm`` / ``norm``, ``tc.norm``, ``Tensor.norm``, ``tc.dist``):
values against NumPy, gradients against finite differences in float64 (twice), PyTorch's
gradients where the norm is not smooth (at zero, at ties), and PyTorch's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def leaf(array, device, grad=True):
    return tc.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=grad)


@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
def test_diag_of_a_vector_and_of_a_matrix(device, k):
    v = RNG.normal(size=4)
    m = RNG.normal(size=(3, 5))
    np.testing.assert_array_equal(to_numpy(tc.diag(leaf(v, device, False), k)), np.diag(v, k))
    np.testing.assert_array_equal(to_numpy(leaf(m, device, False).diag(k)), np.diag(m, k))
    assert gradcheck(lambda t: tc.diag(t, k), (leaf(v, device),))
    assert gradgradcheck(lambda t: tc.diag(t, k), (leaf(v, device),))
    if np.diag(m, k).size:
        assert gradcheck(lambda t: tc.diag(t, k) * 2.0, (leaf(m, device),))
        assert gradgradcheck(lambda t: tc.diag(t, k), (leaf(m, device),))


@pytest.mark.parametrize("k", [-1, 0, 2])
def test_triu_tril(device, k):
    x = RNG.normal(size=(2, 3, 4))
    for ours, theirs in ((tc.triu, np.triu), (tc.tril, np.tril)):
        np.testing.assert_array_equal(to_numpy(ours(leaf(x, device, False), k)), theirs(x, k))
        assert gradcheck(lambda t, f=ours: f(t, k) ** 2, (leaf(x, device),))
        assert gradgradcheck(lambda t, f=ours: f(t, k) ** 2, (leaf(x, device),))
    ints = tc.tensor([[1, 2], [3, 4]], device=device)
    assert ints.tril().dtype == tc.int64 and ints.tril().tolist() == [[1, 0], [3, 4]]
    inf = tc.tensor([[1.0, math.inf], [math.inf, 1.0]], device=device)
    assert inf.triu().tolist() == [[1.0, math.inf], [0.0, 1.0]]  # zeros, not inf * 0 = nan


def test_trace_and_outer(device):
    m = RNG.normal(size=(3, 4))
    assert tc.trace(leaf(m, device, False)).item() == pytest.approx(np.trace(m))
    assert tc.trace(tc.arange(9, device=device).reshape(3, 3)).dtype == tc.int64
    assert gradcheck(tc.trace, (leaf(m, device),))
    a, b = RNG.normal(size=3), RNG.normal(size=4)
    np.testing.assert_allclose(to_numpy(tc.outer(leaf(a, device, False), leaf(b, device, False))),
                               np.outer(a, b))
    assert gradcheck(tc.outer, (leaf(a, device), leaf(b, device)))
    assert tc.ger is tc.outer


def test_count_nonzero(device):
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    t = tc.tensor(x, device=device)
    assert tc.count_nonzero(t).item() == 3 and tc.count_nonzero(t).dtype == tc.int64
    assert t.count_nonzero(dim=0).tolist() == np.count_nonzero(x, axis=0).tolist()
    assert t.count_nonzero(dim=(0, 1)).item() == 3


ORDS = [2, 1, 3, 0.5, math.inf, -math.inf, 0]


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_vector_norm_values(device, ord, dim, keepdim):
    x = RNG.normal(size=(2, 3, 4))
    want = x.reshape(-1) if dim is None else x
    axis = None if dim is None else dim
    if dim is None:
        expect = np.linalg.norm(want, ord)
    elif isinstance(dim, int):
        expect = np.linalg.norm(x, ord, axis=dim, keepdims=keepdim)
    else:  # two dims: the vector norm over them, as torch.linalg.vector_norm
        moved = np.moveaxis(x, axis, (-2, -1)).reshape(3, -1)
        expect = np.linalg.norm(moved, ord, axis=-1).reshape(1, 3, 1)
    got = tc.linalg.vector_norm(leaf(x, device, False), ord, dim, keepdim)
    np.testing.assert_allclose(to_numpy(got), expect, rtol=1e-12)
    for dtype in (tc.float32, tc.float64):
        assert tc.linalg.vector_norm(tc.ones(3, dtype=dtype, device=device), ord).dtype == dtype


@pytest.mark.parametrize("ord", [2, 1, 3, math.inf, -math.inf])
def test_vector_norm_gradients(device, ord):
    x = RNG.normal(size=(3, 4))  # distinct magnitudes: no ties, every norm smooth here
    assert gradcheck(lambda t: tc.linalg.vector_norm(t, ord, 1), (leaf(x, device),))
    assert gradcheck(lambda t: tc.linalg.vector_norm(t, ord), (leaf(x, device),))
    if ord not in (math.inf, -math.inf):
        assert gradgradcheck(lambda t: tc.linalg.vector_norm(t, ord, 0), (leaf(x, device),))


def test_norm_gradients_where_it_is_not_smooth(device):
    """PyTorch's choices: zero gradient at a zero norm (not NaN); the inf norm's gradient
    shared evenly between ties; none for ord=0."""
    z = leaf([[0.0, 0.0], [3.0, 4.0]], device)
    tc.linalg.vector_norm(z, 2, 1).sum().backward()
    np.testing.assert_allclose(to_numpy(z.grad), [[0.0, 0.0], [0.6, 0.8]])
    t = leaf([1.0, -3.0, 3.0], device)
    tc.linalg.vector_norm(t, math.inf).backward()
    np.testing.assert_allclose(to_numpy(t.grad), [0.0, -0.5, 0.5])
    c = leaf([1.0, 0.0, 2.0], device)
    tc.linalg.vector_norm(c, 0).backward()
    assert c.grad is None  # as PyTorch: the count of non-zeros passes no gradient


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    for ord in (2, 1, 3, math.inf):
        ours, theirs = leaf(x, "cpu"), torch.tensor(x, requires_grad=True)
        tc.linalg.vector_norm(ours, ord, 1).sum().backward()
        torch.linalg.vector_norm(theirs, ord, 1).sum().backward()
        np.testing.assert_allclose(to_numpy(ours.grad), theirs.grad.numpy(), err_msg=str(ord))
    m = np.arange(12.0).reshape(3, 4)
    assert tc.norm(tc.tensor(m)).item() == pytest.approx(torch.norm(torch.tensor(m)).item())
    assert tc.tensor(m).norm(p=1, dim=0).tolist() == torch.tensor(m).norm(p=1, dim=0).tolist()
    assert tc.linalg.norm(tc.tensor(m), "fro").item() == pytest.approx(
        torch.linalg.norm(torch.tensor(m), "fro").item())
    assert tc.dist(tc.tensor(m), tc.zeros(4, dtype=tc.float64), 3).item() == pytest.approx(
        torch.dist(torch.tensor(m), torch.zeros(4, dtype=torch.float64), 3).item())


def test_linalg_norm_and_tensor_norm(device):
    m = RNG.normal(size=(3, 4))
    t = leaf(m, device, False)
    assert tc.linalg.norm(t).item() == pytest.approx(np.linalg.norm(m))
    assert tc.linalg.norm(t, "fro").item() == pytest.approx(np.linalg.norm(m, "fro"))
    np.testing.assert_allclose(to_numpy(tc.linalg.norm(t, 1, dim=1)),
                               np.linalg.norm(m, 1, axis=1))
    assert t.norm().item() == pytest.approx(np.linalg.norm(m))
    assert tc.norm(t, 3).item() == pytest.approx(np.sum(np.abs(m) ** 3) ** (1 / 3))
    assert t.dist(tc.zeros_like(t)).item() == pytest.approx(np.linalg.norm(m))


@pytest.mark.parametrize("ord", [1, -1, math.inf, -math.inf, "fro"])
def test_matrix_norms(device, ord):
    x = RNG.normal(size=(2, 3, 4))
    got = tc.linalg.matrix_norm(leaf(x, device, False), ord)
    np.testing.assert_allclose(to_numpy(got), [np.linalg.norm(m, ord) for m in x])
    kept = tc.linalg.norm(leaf(x, device, False), ord, dim=(2, 0), keepdim=True)
    want = [np.linalg.norm(x[:, j, :].T, ord) for j in range(3)]
    np.testing.assert_allclose(to_numpy(kept), np.reshape(want, (1, 3, 1)))
    assert gradcheck(lambda t: tc.linalg.matrix_norm(t, ord), (leaf(x, device),))
    empty = tc.zeros(0, 3, device=device)
    if ord in (1, math.inf, "fro"):  # PyTorch: the largest of no sums is 0
        assert tc.linalg.matrix_norm(empty, ord).item() == 0.0


def test_bad_input_is_named(device):
    with pytest.raises(RuntimeError, match="Supports 1D or 2D"):
        tc.diag(tc.zeros(2, 2, 2, device=device))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        tc.triu(tc.zeros(3, device=device))
    with pytest.raises(RuntimeError, match="expected a matrix"):
        tc.trace(tc.zeros(3, device=device))
    with pytest.raises(RuntimeError, match="Expected 1-D argument vec2"):
        tc.outer(tc.zeros(3, device=device), tc.zeros(2, 2, device=device))
    with pytest.raises(TypeError, match="'vec2'"):
        tc.outer(tc.zeros(3, device=device), [1.0])
    with pytest.raises(RuntimeError, match="floating point"):
        tc.linalg.vector_norm(tc.tensor([1, 2], device=device))
    with pytest.raises(RuntimeError, match="identity"):
        tc.linalg.vector_norm(tc.zeros(0, device=device), math.inf)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tc.zeros(2, 3, device=device).norm(dim=2)
    with pytest.raises(NotImplementedError, match="singular values"):
        tc.linalg.norm(tc.zeros(2, 3, device=device), 2)
    with pytest.raises(NotImplementedError, match="'nuc' norm"):
        tc.zeros(2, 3, device=device).norm("nuc")
    with pytest.raises(RuntimeError, match="must be 1D or 2D"):
        tc.linalg.norm(tc.zeros(2, 2, 2, device=device), 1)
    with pytest.raises(RuntimeError, match="dims must be different"):
        tc.linalg.matrix_norm(tc.zeros(2, 2, device=device), 1, dim=(0, -2))
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        tc.linalg.vector_norm(tc.zeros(2, 2, device=device), dim=(1, -1))


def test_norm_in_a_compiled_step_matches_eager():
    def step(x):
        return (tc.linalg.vector_norm(x, 2, 1) + tc.diag(x[:, :2]).sum() + x.triu().sum()).sum()

    compiled = tc.compile(step)
    for seed in range(3):
        x = tc.tensor(np.random.default_rng(seed).normal(size=(3, 4)))
        assert compiled(x).item() == step(x).item()
