"""PyTorch's other activations (in the activation table, their ``F.*`` functions and
modules), ``F.normalize`` / ``cosine_similarity`` / ``pairwise_distance`` / ``pad`` /
``embedding`` / ``kl_div`` / ``prelu``, and the modules ``Embedding``, ``Unflatten``,
``PReLU``, ``KLDivLoss``, ``SmoothL1Loss``, ``ParameterList``, ``ParameterDict``: values and
gradients against PyTorch (modules given the same weights), gradients against finite
differences in float64 (twice), and PyTorch's errors. The elementwise comparison over
hostile inputs is the differential test's (tests/differential/ops_nn.py)."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as thF
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.autograd import gradcheck, gradgradcheck
from tensorcore.kernels import activations

NEW = ("softplus", "mish", "hardtanh", "relu6", "hardsigmoid", "hardswish", "logsigmoid",
       "softsign", "tanhshrink")
# away from the kinks (-3, -1, 0, 1, 3, 6) so that finite differences hold
SMOOTH = np.array([-25.0, -4.2, -2.6, -1.7, -0.8, -0.3, 0.4, 0.9, 1.6, 2.4, 4.5, 7.1, 25.0])
KINKS = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 20.0, -20.0])


def leaf(array, device, grad=True, dtype=tc.float64):
    return tc.tensor(np.asarray(array), dtype=dtype, device=device, requires_grad=grad)


def th(array, grad=True):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


def _torch_value_and_grad(name, x):
    t = th(x)
    y = getattr(thF, name)(t)
    y.backward(torch.cos(torch.arange(len(x), dtype=torch.float64)))
    return y.detach().numpy(), t.grad.numpy()


# -- the activation table ----------------------------------------------------------------------

@pytest.mark.parametrize("name", NEW)
def test_table_forms_agree_with_pytorch(name):
    """Every form of the table entry (array, scalar, their gradients) gives PyTorch's values,
    also at the kinks."""
    e = activations.TABLE[name]
    x = np.concatenate([SMOOTH, KINKS])
    g = np.cos(np.arange(len(x), dtype=np.float64))
    want, want_grad = _torch_value_and_grad(name, x)
    np.testing.assert_allclose(e.array(np, x.copy()), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([e.scalar(float(v)) for v in x], want, rtol=1e-12, atol=1e-15)
    saved = want if e.reads == "out" else x
    np.testing.assert_allclose(e.array_grad(np, g, saved), want_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([e.scalar_grad(float(a), float(s)) for a, s in zip(g, saved)],
                               want_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NEW)
def test_functional_and_module_match_pytorch(device, name):
    x = np.concatenate([SMOOTH, KINKS])
    want, want_grad = _torch_value_and_grad(name, x)
    t = leaf(x, device)
    y = getattr(F, name)(t)
    y.backward(tc.tensor(np.cos(np.arange(len(x))), device=device))
    np.testing.assert_allclose(to_numpy(y), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(to_numpy(t.grad), want_grad, rtol=1e-12, atol=1e-15)
    # the table's tensor form is the functional
    np.testing.assert_allclose(to_numpy(activations.TABLE[name].tensor(leaf(x, device))),
                               want, rtol=1e-12, atol=1e-15)
    module = {"softplus": "Softplus", "mish": "Mish", "hardtanh": "Hardtanh",
              "relu6": "ReLU6", "hardsigmoid": "Hardsigmoid", "hardswish": "Hardswish",
              "logsigmoid": "LogSigmoid", "softsign": "Softsign",
              "tanhshrink": "Tanhshrink"}[name]
    ours, theirs = getattr(nn, module)(), getattr(torch.nn, module)()
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(to_numpy(ours(leaf(x, device))), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NEW)
def test_functional_gradcheck_twice(device, name):
    x = leaf(SMOOTH.reshape(1, -1), device)
    fn = getattr(F, name)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("name", NEW)
def test_linear_act_runs_the_new_activations(device, name):
    """The fused layer (reference formulas, the Numba CPU kernels, the stand-in GPU) agrees
    with the unfused functional, values and gradients."""
    rng = np.random.default_rng(1)
    x, w, b, g = (rng.standard_normal(s) * 2 for s in ((6, 5), (4, 5), (4,), (6, 4)))
    xs, ws, bs = (leaf(a, device) for a in (x, w, b))
    y = F.linear_act(xs, ws, bs, name)
    y.backward(leaf(g, device, grad=False))
    xu, wu, bu = (leaf(a, device) for a in (x, w, b))
    yu = getattr(F, name)(F.linear(xu, wu, bu))
    yu.backward(leaf(g, device, grad=False))
    np.testing.assert_allclose(to_numpy(y), to_numpy(yu), rtol=1e-12, atol=1e-14)
    for got, want in ((xs.grad, xu.grad), (ws.grad, wu.grad), (bs.grad, bu.grad)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_kernels_run_the_new_activations(dtype):
    fused = pytest.importorskip("tensorcore.kernels.cpu.fused")
    rng = np.random.default_rng(2)
    z, b, g = (rng.standard_normal(s).astype(dtype) * 3 for s in ((9, 5), (5,), (9, 5)))
    for name in NEW:
        e = activations.TABLE[name]
        out, pre = fused.bias_act_forward(z.copy(), b, name)
        want = e.array(np, (z + b).astype(np.float64))
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol, err_msg=name)
        gz, _ = fused.act_backward(g, out, pre, name, True)
        saved = out if e.reads == "out" else pre
        np.testing.assert_allclose(gz, e.array_grad(np, g.astype(np.float64),
                                                    saved.astype(np.float64)),
                                   rtol=tol, atol=tol, err_msg=name)


def test_c_snippets_of_the_new_activations(tmp_path):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    funcs = []
    for name in NEW:
        e = activations.TABLE[name]
        assert e.c_forward.startswith("y = ") and e.c_grad.startswith("gz = ")
        funcs.append(f"""
extern "C" void fwd_{name}(const T* V, T* Y, long n) {{
    for (long i = 0; i < n; ++i) {{ const T v = V[i]; T y; {e.c_forward} Y[i] = y; }} }}
extern "C" void bwd_{name}(const T* G, const T* Yv, const T* P, T* GZ, long n) {{
    for (long i = 0; i < n; ++i) {{
        const T g = G[i], y = Yv[i], p = P[i]; (void)y; (void)p; T gz; {e.c_grad}
        GZ[i] = gz; }} }}""")
    src = tmp_path / "snippets.cpp"
    src.write_text("#include <cmath>\nusing namespace std;\ntypedef double T;\n" +
                   "".join(funcs))
    lib = src.with_suffix(".so")
    subprocess.run([cxx, "-O1", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True,
                   capture_output=True, timeout=120)
    so = ctypes.CDLL(str(lib))
    v = np.concatenate([SMOOTH, KINKS])
    g = np.cos(np.arange(len(v), dtype=np.float64))
    for name in NEW:
        want, want_grad = _torch_value_and_grad(name, v)
        y, gz = np.empty_like(v), np.empty_like(v)
        ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (v, y, g, gz)]
        so[f"fwd_{name}"](ptr[0], ptr[1], ctypes.c_long(v.size))
        so[f"bwd_{name}"](ptr[2], ptr[1], ptr[0], ptr[3], ctypes.c_long(v.size))
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(gz, want_grad, rtol=1e-12, atol=1e-15, err_msg=name)


def test_cupy_sources_of_the_new_activations_compile_with_nvrtc():
    from test_cuda_kernels import _compiles, _nvrtc

    from tensorcore.kernels.cupy import fused as cuda_cupy

    nvrtc = _nvrtc()
    for name in NEW:
        for dtype in (np.float32, np.float64):
            for source in (cuda_cupy.forward_source(name, dtype, 1),
                           cuda_cupy.forward_source(name, dtype, 16 // np.dtype(dtype).itemsize),
                           cuda_cupy.backward_source(name, dtype)):
                assert _compiles(nvrtc, source) == "", (name, dtype)


@pytest.mark.slow
def test_numba_cuda_kernels_of_the_new_activations_compile_for_sm90():
    """Inlined formulas (no call left), float32 computing in float32."""
    from test_cuda_ptx import _nvvm_or_skip

    _nvvm_or_skip()
    from numba import cuda

    from tensorcore.kernels.numba_cuda.fused import kernel_specs

    compiled = set()
    for kernel, key, python_kernel, signature in kernel_specs():
        if len(key) < 2 or key[1].name not in NEW or key[0] != np.float32:
            continue
        ptx, _ = cuda.compile_ptx(python_kernel, signature, cc=(9, 0))
        assert "call" not in ptx and ".f64" not in ptx, (kernel, key[1].name)
        compiled.add(key[1].name)
    assert compiled == set(NEW)


def test_activation_arguments_and_errors():
    x = np.array([-2.0, -0.5, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(to_numpy(F.hardtanh(tc.tensor(x), -0.5, 2.0)),
                               thF.hardtanh(th(x, False), -0.5, 2.0).numpy())
    np.testing.assert_allclose(to_numpy(F.softplus(tc.tensor(x), 2.0, 1.0)),
                               thF.softplus(th(x, False), 2.0, 1.0).numpy(), rtol=1e-12)
    assert F.hardtanh(tc.tensor([-4, 0, 7]), -1, 1).tolist() == [-1, 0, 1]
    assert F.relu6(tc.tensor([-4, 2, 7])).tolist() == [0, 2, 6]
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(tc.ones(2), 2.0, 1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(NotImplementedError, match="not implemented for 'int64'"):
        F.mish(tc.tensor([1, 2]))
    t = tc.tensor([-1.0, 4.0])
    assert F.hardswish(t, inplace=True) is t
    assert repr(nn.Hardtanh(-2.0, 2.0, inplace=True)) == repr(torch.nn.Hardtanh(-2.0, 2.0,
                                                                               True))
    assert repr(nn.ReLU6(inplace=True)) == repr(torch.nn.ReLU6(inplace=True))


# -- prelu ----------------------------------------------------------------------------------------

def test_prelu_module_matches_pytorch(device):
    x = np.random.default_rng(3).standard_normal((4, 3, 2))
    ours, theirs = nn.PReLU(3, init=0.1).to(device).double(), torch.nn.PReLU(3, init=0.1)
    theirs.double()
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.1, -0.3, 0.7], dtype=torch.float64))
    ours.weight.data = tc.tensor([0.1, -0.3, 0.7], dtype=tc.float64, device=device)
    xo, xt = leaf(x, device), th(x)
    ours(xo).sum().backward()
    theirs(xt).sum().backward()
    np.testing.assert_allclose(to_numpy(ours.weight.grad), theirs.weight.grad.numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(to_numpy(xo.grad), xt.grad.numpy(), rtol=1e-12)
    assert gradcheck(F.prelu, (leaf(x, device), leaf([0.2, -0.5, 1.5], device)))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel"):
        F.prelu(tc.ones(2, 4), tc.ones(3))


# -- normalize, cosine_similarity, pairwise_distance ---------------------------------------------

@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_matches_pytorch(device, p, dim):
    x = np.random.default_rng(4).standard_normal((3, 4))
    x[0] = 0.0  # a zero row: divided by eps
    got = F.normalize(leaf(x, device, grad=False), p=p, dim=dim)
    np.testing.assert_allclose(to_numpy(got), thF.normalize(th(x, False), p=p, dim=dim),
                               rtol=1e-12)
    y = leaf(np.random.default_rng(5).standard_normal((3, 4)), device)
    assert gradcheck(lambda t: F.normalize(t, p=p, dim=dim), (y,))
    assert gradgradcheck(lambda t: F.normalize(t, p=p, dim=dim), (y,))


def test_cosine_similarity_and_pairwise_distance_match_pytorch(device):
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((1, 3))
    a[2] = 0.0
    for fn, kw in (("cosine_similarity", {}), ("cosine_similarity", {"dim": 0}),
                   ("pairwise_distance", {}), ("pairwise_distance", {"p": 1.0,
                                                                     "keepdim": True})):
        ta, tb = leaf(a, device), leaf(b, device)
        got = getattr(F, fn)(ta, tb, **kw)
        got.sum().backward()
        pa, pb = th(a), th(b)
        want = getattr(thF, fn)(pa, pb, **kw)
        want.sum().backward()
        np.testing.assert_allclose(to_numpy(got), want.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(to_numpy(ta.grad), pa.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(to_numpy(tb.grad), pb.grad.numpy(), rtol=1e-10, atol=1e-12)
    smooth = rng.standard_normal((4, 3))
    assert gradgradcheck(F.cosine_similarity, (leaf(smooth, device), leaf(b, device)))
    assert gradgradcheck(F.pairwise_distance, (leaf(smooth, device), leaf(b, device)))
    assert F.cosine_similarity(tc.tensor([[1, 2]]), tc.tensor([[1.0, 2.0]])).dtype == tc.float32
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
        F.cosine_similarity(tc.tensor([[1, 2]]), tc.tensor([[1, 2]]))
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        F.cosine_similarity(tc.ones(2, 3), tc.ones(4, 3))


# -- pad -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("pad, mode", [((1, 2), "constant"), ((1, -1, 0, 2), "constant"),
                                       ((2, 1), "reflect"), ((1, 2, 2, 0), "replicate"),
                                       ((1, 1, 2, 1), "circular")])
def test_pad_matches_pytorch(device, pad, mode):
    x = np.random.default_rng(7).standard_normal((2, 3, 4))
    kw = {"value": 1.5} if mode == "constant" else {}
    t = leaf(x, device)
    got = F.pad(t, pad, mode=mode, **kw)
    g = np.random.default_rng(8).standard_normal(tuple(got.shape))
    got.backward(leaf(g, device, grad=False))
    p = th(x)
    want = thF.pad(p, pad, mode=mode, **kw)
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(to_numpy(got), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(t.grad), p.grad.numpy(), rtol=1e-12)
    assert gradgradcheck(lambda a: F.pad(a, pad, mode=mode, **kw), (leaf(x, device),))


def test_pad_errors_and_dtypes():
    assert F.pad(tc.tensor([1, 2]), (1, 1), value=3).tolist() == [3, 1, 2, 3]
    assert F.pad(tc.tensor([1, 2]), (1, 0), value=1.5).dtype == tc.int64
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(tc.ones(2, 2), (1,))
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal"):
        F.pad(tc.ones(2), (1, 1, 1, 1))
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        F.pad(tc.ones(2, 2), (1, 1), mode="wrap")
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(tc.ones(1, 2), (2, 2), mode="reflect")


# -- embedding -----------------------------------------------------------------------------------

def test_embedding_module_matches_pytorch(device):
    tc.manual_seed(0)
    ours = nn.Embedding(6, 3, padding_idx=2).to(device).double()
    theirs = torch.nn.Embedding(6, 3, padding_idx=2).double()
    assert repr(ours) == repr(theirs)
    assert to_numpy(ours.weight)[2].tolist() == [0.0, 0.0, 0.0]  # the padding row
    w = np.random.default_rng(9).standard_normal((6, 3))
    ours.weight.data = tc.tensor(w, device=device)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    idx = [[0, 2, 0, 5], [2, 2, 1, 0]]  # repeated rows, and the padding row
    g = np.random.default_rng(10).standard_normal((2, 4, 3))
    out = ours(tc.tensor(idx, device=device))
    out.backward(tc.tensor(g, device=device))
    ref = theirs(torch.tensor(idx))
    ref.backward(torch.tensor(g))
    np.testing.assert_array_equal(to_numpy(out), ref.detach().numpy())
    np.testing.assert_allclose(to_numpy(ours.weight.grad), theirs.weight.grad.numpy(),
                               rtol=1e-12)
    assert to_numpy(ours.weight.grad)[2].tolist() == [0.0, 0.0, 0.0]
    assert gradgradcheck(lambda w: F.embedding(tc.tensor(idx, device=device), w, 2),
                         (leaf(w, device),))


def test_embedding_from_pretrained_and_errors():
    w = tc.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e(tc.tensor([1])).tolist() == [[3.0, 4.0]]
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        F.embedding(tc.tensor([0.0]), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(tc.tensor([2]), w)


# -- losses ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss_matches_pytorch(device, reduction, log_target):
    rng = np.random.default_rng(11)
    inp = np.log(rng.dirichlet(np.ones(4), size=3))
    tgt = rng.dirichlet(np.ones(4), size=3)
    tgt[0, 1] = 0.0  # a zero target probability: its term is 0
    if log_target:
        tgt = np.log(rng.dirichlet(np.ones(4), size=3))
    a, b = leaf(inp, device), leaf(tgt, device)
    if reduction == "mean":
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            got = nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b)
    else:
        got = nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b)
    got.sum().backward()
    pa, pb = th(inp), th(tgt, grad=log_target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own warning for 'mean'
        want = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(pa, pb)
    want.sum().backward()
    np.testing.assert_allclose(to_numpy(got), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(a.grad), pa.grad.numpy(), rtol=1e-12)
    if log_target:
        np.testing.assert_allclose(to_numpy(b.grad), pb.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda x: F.kl_div(x, b.detach(), reduction="sum", log_target=log_target),
                     (leaf(inp, device),))


def test_smooth_l1_loss_module_matches_pytorch(device):
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal(7), rng.standard_normal(7)
    for beta in (1.0, 0.5):
        got = nn.SmoothL1Loss(beta=beta)(leaf(x, device, grad=False), leaf(y, device, False))
        want = torch.nn.SmoothL1Loss(beta=beta)(th(x, False), th(y, False))
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)


# -- Unflatten, ParameterList, ParameterDict ----------------------------------------------------

def test_unflatten_matches_pytorch():
    x = tc.zeros(2, 12, 3)
    for dim, sizes in ((1, (3, 4)), (-2, (2, -1, 3)), (0, [2])):
        assert nn.Unflatten(dim, sizes)(x).shape == tuple(
            torch.nn.Unflatten(dim, sizes)(torch.zeros(2, 12, 3)).shape)
    assert repr(nn.Unflatten(1, (3, 4))) == repr(torch.nn.Unflatten(1, (3, 4)))
    with pytest.raises(RuntimeError, match="don't multiply up to the size of dim"):
        nn.Unflatten(1, (5, 2))(x)
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (12, 3)))
    assert model(x).shape == (2, 12, 3)


def test_parameter_containers_register_their_parameters():
    plist = nn.ParameterList([tc.ones(2), nn.Parameter(tc.zeros(3))])
    plist.append(tc.ones(1))
    assert len(plist) == 3 and all(isinstance(p, nn.Parameter) for p in plist)
    assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2"]
    assert plist[-1].shape == (1,)
    pdict = nn.ParameterDict({"a": tc.ones(2)})
    pdict["b"] = tc.zeros(1)
    assert list(pdict) == ["a", "b"] and "a" in pdict and len(pdict) == 2
    assert isinstance(pdict["b"], nn.Parameter)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([tc.ones(2) for _ in range(2)])
            self.named = nn.ParameterDict({"w": tc.ones(3)})

    assert list(Net().state_dict()) == ["scales.0", "scales.1", "named.w"]
    assert sum(p.numel() for p in Net().parameters()) == 7
    del pdict["a"]
    assert list(pdict.keys()) == ["b"]
    with pytest.raises(KeyError):
        pdict["a"]


# -- tc.compile ------------------------------------------------------------------------------------

def test_new_functions_in_a_compiled_step_match_eager():
    w = tc.tensor(np.random.default_rng(13).standard_normal((5, 3)))

    def step(x, idx):
        e = F.embedding(idx, w)
        h = F.pad(F.mish(x) + F.hardswish(x) + F.softplus(x), (1, 1))
        return (F.normalize(h).sum() + F.cosine_similarity(e, e + 1).sum()
                + F.kl_div(F.log_softmax(x, dim=1), F.softmax(x, dim=1),
                           reduction="batchmean"))

    compiled = tc.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CompileWarning: the step runs compiled
        for seed in range(3):
            x = tc.tensor(np.random.default_rng(seed).normal(size=(4, 3)))
            idx = tc.tensor([[0, 4, 1]])
            assert compiled(x, idx).item() == pytest.approx(step(x, idx).item(), rel=1e-12)
