"""The elementary functions (``tan`` ... ``rad2deg``, ``logaddexp``, ``hypot``, ``atan2``,
``lerp``, ``nan_to_num``, ``nansum``, ``nanmean``) and the products (``einsum``,
``tensordot``, ``inner``, ``addmm``, ``cross`` / ``linalg.cross``, ``kron``, ``cdist``):
values against NumPy, gradients against finite differences in float64 (twice), PyTorch's
gradients at the edge points, and PyTorch's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
NAN, INF = float("nan"), float("inf")


def leaf(array, device, grad=True):
    return tc.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=grad)


UNARY = [("tan", np.tan, 0.9), ("sinh", np.sinh, 2), ("cosh", np.cosh, 2),
         ("asin", np.arcsin, 0.9), ("acos", np.arccos, 0.9), ("atan", np.arctan, 3),
         ("arcsin", np.arcsin, 0.9), ("arccos", np.arccos, 0.9), ("arctan", np.arctan, 3),
         ("log2", np.log2, None), ("log10", np.log10, None), ("expm1", np.expm1, 2),
         ("exp2", np.exp2, 2), ("deg2rad", np.deg2rad, 100), ("rad2deg", np.rad2deg, 3)]


@pytest.mark.parametrize("name, ref, scale", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values_and_gradients(device, name, ref, scale):
    x = RNG.uniform(0.1, 3, size=(2, 3)) if scale is None else RNG.uniform(-1, 1, (2, 3)) * scale
    np.testing.assert_allclose(to_numpy(getattr(tc, name)(leaf(x, device, False))), ref(x),
                               rtol=1e-12)
    np.testing.assert_allclose(to_numpy(getattr(leaf(x, device, False), name)()), ref(x),
                               rtol=1e-12)
    assert gradcheck(getattr(tc, name), (leaf(x, device),))
    assert gradgradcheck(getattr(tc, name), (leaf(x, device),))
    ints = tc.tensor([1, 0], device=device)  # integers and bools: the default float dtype
    assert getattr(tc, name)(ints).dtype == tc.float32
    assert getattr(tc, name)(ints > 0).dtype == tc.float32


def test_unary_edge_gradients(device):
    x = leaf([0.0, 1.0, -1.0], device)
    (g,) = tc.autograd.grad(tc.log2(x).sum(), x)
    np.testing.assert_array_equal(to_numpy(g)[:1], [INF])  # 1 / (0 * ln 2), as PyTorch
    (g,) = tc.autograd.grad(tc.asin(x).sum(), x)
    np.testing.assert_allclose(to_numpy(g), [1.0, INF, INF])
    with pytest.raises(TypeError, match="tan\\(\\): argument 'input'"):
        tc.tan([1.0])


@pytest.mark.parametrize("name, ref", [("logaddexp", np.logaddexp), ("hypot", np.hypot),
                                       ("atan2", np.arctan2), ("arctan2", np.arctan2)])
def test_binary_values_and_gradients(device, name, ref):
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3,))
    out = getattr(tc, name)(leaf(a, device, False), leaf(b, device, False))
    np.testing.assert_allclose(to_numpy(out), ref(a, b), rtol=1e-12)
    assert gradcheck(getattr(tc, name), (leaf(a, device), leaf(b, device)))
    assert gradgradcheck(getattr(tc, name), (leaf(a, device), leaf(b, device)))


def test_binary_edges_and_errors(device):
    a, b = leaf([0.0, -INF], device), leaf([0.0, -INF], device)
    ga, gb = tc.autograd.grad(tc.atan2(a, b).sum(), (a, b))
    np.testing.assert_array_equal(to_numpy(ga)[:1], [0.0])  # PyTorch: 0 at the origin
    out = tc.logaddexp(a, b)
    assert to_numpy(out)[1] == -INF
    assert tc.atan2(tc.tensor([1], device=device), tc.tensor([1], device=device)).dtype \
        == tc.float32
    with pytest.raises(NotImplementedError, match="logaddexp_cpu.*Long"):
        tc.logaddexp(tc.tensor([1], device=device), tc.tensor([1], device=device))
    with pytest.raises(NotImplementedError, match="hypot_cpu.*Long"):
        tc.hypot(tc.tensor([1], device=device), tc.tensor([1], device=device))
    with pytest.raises(TypeError, match="'other' \\(position 2\\) must be Tensor"):
        tc.logaddexp(tc.zeros(2, device=device), 1.0)


def test_lerp(device):
    a, b, w = RNG.normal(size=3), RNG.normal(size=(2, 3)), RNG.uniform(-1, 2, size=3)
    ref = a + w * (b - a)
    out = tc.lerp(leaf(a, device, False), leaf(b, device, False), leaf(w, device, False))
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-12)
    end = leaf(b, device, False)
    assert to_numpy(leaf(a, device, False).lerp(end, 1.0)).tolist() == b.tolist()  # exact
    assert gradcheck(tc.lerp, (leaf(a, device), leaf(b, device), leaf(w, device)))
    assert gradgradcheck(tc.lerp, (leaf(a, device), leaf(b, device), leaf(w, device)))
    assert gradcheck(lambda s, e: tc.lerp(s, e, 0.3), (leaf(a, device), leaf(b, device)))
    with pytest.raises(RuntimeError, match="expected dtype float for `end`"):
        tc.lerp(tc.zeros(2, device=device), tc.zeros(2, dtype=tc.int64, device=device), 0.5)
    with pytest.raises(NotImplementedError, match="lerp_kernel_scalar.*Long"):
        x = tc.zeros(2, dtype=tc.int64, device=device)
        tc.lerp(x, x, 0.5)


def test_nan_to_num(device):
    x = leaf([NAN, INF, -INF, 1.5], device)
    out = tc.nan_to_num(x)
    np.testing.assert_array_equal(to_numpy(out), np.nan_to_num(to_numpy(x.detach())))
    out = x.nan_to_num(nan=2.0, posinf=3.0, neginf=-4.0)
    assert to_numpy(out).tolist() == [2.0, 3.0, -4.0, 1.5]
    (g,) = tc.autograd.grad(out.sum(), x)
    assert to_numpy(g).tolist() == [0.0, 0.0, 0.0, 1.0]  # PyTorch: grad * isfinite(x)
    ints = tc.tensor([1, 2], device=device)
    assert tc.nan_to_num(ints).dtype == tc.int64


@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), ((0, 2), True),
                                          (-1, True)])
def test_nansum_nanmean(device, dim, keepdim):
    x = RNG.normal(size=(2, 3, 4))
    x[0, 1, 2] = x[1, 2, 3] = NAN
    t = leaf(x, device)
    axis = dim if dim is None or isinstance(dim, tuple) else (dim,)
    np.testing.assert_allclose(to_numpy(tc.nansum(t, dim, keepdim)),
                               np.nansum(x, axis=axis, keepdims=keepdim), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(t.nanmean(dim, keepdim=keepdim)),
                               np.nanmean(x, axis=axis, keepdims=keepdim), rtol=1e-12)
    (g,) = tc.autograd.grad(tc.nansum(t, dim, keepdim).sum(), t)
    assert to_numpy(g)[0, 1, 2] == 0.0 and to_numpy(g)[0, 0, 0] == 1.0
    clean = leaf(RNG.normal(size=(2, 3, 4)), device)
    assert gradcheck(lambda v: tc.nanmean(v, dim, keepdim), (clean,))
    assert gradgradcheck(lambda v: tc.nansum(v, dim, keepdim), (clean,))


def test_nan_reductions_dtypes_and_errors(device):
    ints = tc.tensor([[1, 2], [3, 4]], dtype=tc.int32, device=device)
    assert tc.nansum(ints).dtype == tc.int64 and tc.nansum(ints).item() == 10
    assert tc.nansum(ints, axis=0, dtype=tc.float64).dtype == tc.float64
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating"):
        tc.nanmean(ints)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        tc.nansum(tc.zeros(2, 2, device=device), (0, 0))


EQUATIONS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]),
             ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("...ij->...ji", [(2, 3, 4)]),
             ("...i,...i", [(2, 3), (4, 1, 3)]), ("ij->", [(2, 3)]), ("i,j->j", [(3,), (2,)]),
             ("bij,bjk,bkl->bil", [(2, 2, 3), (2, 3, 2), (2, 2, 2)]), ("iij->ij", [(2, 2, 3)]),
             ("i...i", [(3, 2, 3)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
             ("Ab,bC", [(2, 3), (3, 2)])]


@pytest.mark.parametrize("eq, shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_against_numpy_and_gradients(device, eq, shapes):
    arrays = [RNG.normal(size=s) for s in shapes]
    out = tc.einsum(eq, *[leaf(a, device, False) for a in arrays])
    np.testing.assert_allclose(to_numpy(out), np.einsum(eq, *arrays), rtol=1e-12, atol=1e-12)
    ops = [leaf(a, device) for a in arrays]
    assert gradcheck(lambda *t: tc.einsum(eq, *t), ops)
    assert gradgradcheck(lambda *t: tc.einsum(eq, *t), ops)


def test_einsum_forms_broadcasting_and_diagonal_gradient(device):
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4))
    ref = a @ b
    ta, tb = leaf(a, device, False), leaf(b, device, False)
    np.testing.assert_allclose(to_numpy(tc.einsum("ij,jk->ik", [ta, tb])), ref, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(tc.einsum(ta, [0, 1], tb, [1, 2], [0, 2])), ref,
                               rtol=1e-12)
    one, three = leaf([2.0], device), leaf([1.0, 2.0, 3.0], device)
    assert to_numpy(tc.einsum("i,i->i", one, three)).tolist() == [2.0, 4.0, 6.0]
    assert gradcheck(lambda u, v: tc.einsum("i,i->i", u, v), (one, three))
    m = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    (g,) = tc.autograd.grad(tc.einsum("ii->i", m), m, tc.tensor([INF, 1.0], device=device,
                                                                 dtype=tc.float64))
    assert to_numpy(g).tolist() == [[INF, 0.0], [0.0, 1.0]]  # 0 off the diagonal, not NaN


def test_einsum_dtypes_and_errors(device):
    i32 = tc.ones(3, dtype=tc.int32, device=device)
    assert tc.einsum("i,i->i", i32, i32).dtype == tc.int32
    assert tc.einsum("i->", i32).dtype == tc.int64  # a sum
    f32, f64 = tc.ones(3, device=device), tc.ones(3, dtype=tc.float64, device=device)
    assert tc.einsum("i,i->i", f32, f64).dtype == tc.float64
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        tc.einsum("i,i->", f32, f64)
    with pytest.raises(NotImplementedError, match="bmm.*Bool"):
        tc.einsum("i,i->", f32 > 0, f32 > 0)
    z = tc.zeros(2, 3, device=device)
    for eq, ops, msg in [("i,i->i", [z], "fewer operands"), ("ij", [z, z], "more operands"),
                         ("i", [z], "does not match the number of dimensions"),
                         ("i1", [z], "invalid subscript given at index 1"),
                         ("ij->k", [z], "output subscript k does not appear"),
                         ("ij->ii", [z], "appears more than once"),
                         ("ii", [z], "repeated for operand 0 but the sizes don't match"),
                         ("ij,ij", [z, tc.zeros(2, 2, device=device)],
                          "subscript j has size 2 for operand 1"),
                         ("i.j", [z], "not part of any ellipsis")]:
        with pytest.raises(RuntimeError, match=msg):
            tc.einsum(eq, *ops)
    with pytest.raises(TypeError, match="argument 'equation'"):
        tc.einsum(3, z)


def test_tensordot_inner_addmm(device):
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(3, 4, 5))
    ta, tb = leaf(a, device), leaf(b, device)
    np.testing.assert_allclose(to_numpy(tc.tensordot(ta, tb)), np.tensordot(a, b), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(tc.tensordot(ta, tb, ([1], [0]))),
                               np.tensordot(a, b, ([1], [0])), rtol=1e-12)
    assert gradcheck(lambda x, y: tc.tensordot(x, y, dims=2), (leaf(a[0], device), tb))
    c, d = RNG.normal(size=(2, 4)), RNG.normal(size=(3, 4))
    np.testing.assert_allclose(to_numpy(tc.inner(leaf(c, device), leaf(d, device))),
                               np.inner(c, d), rtol=1e-12)
    inp, m1, m2 = RNG.normal(size=3), RNG.normal(size=(2, 4)), RNG.normal(size=(4, 3))
    out = tc.addmm(leaf(inp, device), leaf(m1, device), leaf(m2, device), beta=0.5, alpha=2)
    np.testing.assert_allclose(to_numpy(out), 0.5 * inp + 2 * m1 @ m2, rtol=1e-12)
    assert gradcheck(lambda x, y, z: tc.addmm(x, y, z, beta=0.5, alpha=2),
                     (leaf(inp, device), leaf(m1, device), leaf(m2, device)))
    nan_in = leaf([NAN, NAN, NAN], device)
    out = tc.addmm(nan_in, leaf(m1, device), leaf(m2, device), beta=0)  # input ignored
    assert not np.isnan(to_numpy(out)).any()
    with pytest.raises(RuntimeError, match="both inputs should have same dtype"):
        tc.tensordot(ta, tb.float())
    with pytest.raises(RuntimeError, match="contracted dimensions need to match"):
        tc.tensordot(ta, tb, ([0], [0]))
    with pytest.raises(RuntimeError, match="inner\\(\\) the last dimension must match"):
        tc.inner(leaf(c, device), leaf(d.T, device))
    with pytest.raises(RuntimeError, match="mat1 must be a matrix"):
        tc.addmm(leaf(inp, device), leaf(inp, device), leaf(m2, device))


def test_cross_kron_cdist(device):
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    np.testing.assert_allclose(to_numpy(tc.linalg.cross(leaf(a, device), leaf(b, device))),
                               np.cross(a, b), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(leaf(a.T, device).cross(leaf(b.T, device))),
                               np.cross(a, b).T, rtol=1e-12)
    assert gradcheck(tc.linalg.cross, (leaf(a, device), leaf(b, device)))
    with pytest.raises(RuntimeError, match="must have length 3"):
        tc.linalg.cross(tc.zeros(2, device=device), tc.zeros(2, device=device))
    c, d = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 1, 2))
    np.testing.assert_allclose(to_numpy(tc.kron(leaf(c, device), leaf(d, device))),
                               np.kron(c, d), rtol=1e-12)
    assert gradcheck(tc.kron, (leaf(c, device), leaf(d, device)))
    x1, x2 = RNG.normal(size=(3, 4)), RNG.normal(size=(5, 4))
    ref = np.sqrt(((x1[:, None] - x2[None]) ** 2).sum(-1))
    np.testing.assert_allclose(to_numpy(tc.cdist(leaf(x1, device), leaf(x2, device))), ref,
                               rtol=1e-12)
    for p in (1.0, 2.0, 3.0, math.inf):
        assert gradcheck(lambda u, v, p=p: tc.cdist(u, v, p), (leaf(x1, device), leaf(x2, device)))
    same = leaf(x1, device)
    (g,) = tc.autograd.grad(tc.cdist(same, leaf(x1, device, False)).sum(), same)
    assert np.isfinite(to_numpy(g)).all()  # zero distances: gradient 0, not NaN
    with pytest.raises(RuntimeError, match="cdist only supports floating-point dtypes"):
        tc.cdist(tc.zeros(2, 2, dtype=tc.int64, device=device),
                 tc.zeros(2, 2, dtype=tc.int64, device=device))
    with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns"):
        tc.cdist(tc.zeros(2, 2, device=device), tc.zeros(2, 3, device=device))


def test_ops_in_a_compiled_step_match_eager():
    def step(x, w):
        return (tc.einsum("ij,jk->ik", x, w).tan() + tc.logaddexp(x[:, :2], x[:, 1:3])
                + tc.nansum(x, 1, keepdim=True)).sum() + tc.addmm(x[:, :2], x, w).expm1().sum()

    compiled = tc.compile(step)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x, w = tc.tensor(rng.normal(size=(3, 4)) * 0.3), tc.tensor(rng.normal(size=(4, 2)) * 0.3)
        assert compiled(x, w).item() == step(x, w).item()


def test_pytorch_edge_rules_of_cdist_nanmean_and_tensordot(device):
    x1, x2 = leaf([[1.0, -1.0]], device), leaf([[0.0, 0.0]], device)
    (g,) = tc.autograd.grad(tc.cdist(x1, x2, math.inf).sum(), x1)
    assert to_numpy(g).tolist() == [[1.0, -1.0]]  # each tie gets the whole gradient
    nan_row = leaf([[NAN, 3.0]], device)
    assert tc.cdist(nan_row, x2, math.inf).item() == 3.0  # PyTorch's running max skips NaN
    only_nan = leaf([NAN], device)
    (g,) = tc.autograd.grad(tc.nanmean(only_nan), only_nan)
    assert np.isnan(to_numpy(g)).all()  # 0 / 0 count: PyTorch's nansum gradient is a product
    a, b = leaf(RNG.normal(size=(2, 1)), device), leaf(RNG.normal(size=(3, 4)), device)
    np.testing.assert_allclose(to_numpy(tc.tensordot(a, b, dims=1)),  # size 1 broadcasts
                               to_numpy(a.detach()) @ to_numpy(b.detach()).sum(0, keepdims=True),
                               rtol=1e-12)
