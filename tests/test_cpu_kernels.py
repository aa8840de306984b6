"""Tests for tensorcore.kernels.cpu.fused against plain NumPy (float64) references."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tensorcore.kernels.cpu import fused as cf

try:  # scipy is a test-only convenience, not a dependency
    from scipy.special import erfc
except ImportError:  # pragma: no cover
    erfc = np.vectorize(math.erfc, otypes=[np.float64])

ACTS = ["relu", "gelu", "sigmoid", "tanh", None]
DTYPES = [np.float32, np.float64]
# (520, 512) has 266240 elements: above the gelu / tanh / sigmoid forward and the gelu
# backward parallel thresholds (the fixture below also forces the parallel path everywhere).
SHAPES = [(1, 1), (7, 13), (33, 65), (520, 512)]

# Elementwise tolerances of the kernels vs float64 references evaluated at the same
# (rounded) pre-activation. float32 uses vectorised approximations (a few ulp).
TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-13, atol=1e-15)}


# ------------------------------------------------------------------------------------------
# float64 references
# ------------------------------------------------------------------------------------------


def ref_cdf(x):
    return 0.5 * erfc(-x / np.sqrt(2.0))


def ref_act(x, act):
    x = x.astype(np.float64)
    if act == "relu":
        return np.maximum(x, 0.0)
    if act == "gelu":
        return x * ref_cdf(x)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if act == "tanh":
        return np.tanh(x)
    return x


def ref_grad(g, out, pre, act):
    """grad_out * act'(.), written in terms of what the forward saved (like the kernels)."""
    g = g.astype(np.float64)
    if act == "relu":
        return g * (out > 0)
    if act == "gelu":
        x = pre.astype(np.float64)
        return g * (ref_cdf(x) + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi))
    o = None if out is None else out.astype(np.float64)
    if act == "sigmoid":
        return g * o * (1.0 - o)
    if act == "tanh":
        return g * (1.0 - o * o)
    return g


def colsum_tol(gz_ref, dtype):
    """Error bound for a column sum of M terms accumulated in `dtype` (naive summation bound
    (M - 1) * eps * sum |x|, plus the elementwise error of the summands)."""
    m = gz_ref.shape[0]
    absum = np.abs(gz_ref).sum(axis=0)
    eps = np.finfo(dtype).eps
    return (m * eps + TOL[dtype]["rtol"]) * absum + m * TOL[dtype]["atol"]


def make(shape, dtype, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


@pytest.fixture(params=[False, True], ids=["auto", "forced-parallel"])
def parallel_mode(request, monkeypatch):
    """'auto' uses the module's thresholds; 'forced-parallel' sends every size (including
    (1, 1) and ragged row chunks) through the prange kernels."""
    if request.param:
        for table in (cf.FWD_PARALLEL_MIN, cf.BWD_PARALLEL_MIN):
            for key in table:
                monkeypatch.setitem(table, key, 0)
    return request.param


# ------------------------------------------------------------------------------------------
# Forward / backward against NumPy
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_forward_backward_match_numpy(act, dtype, shape, with_bias, parallel_mode):
    m, n = shape
    z0 = make(shape, dtype, seed=1)
    b = make((n,), dtype, seed=2, scale=1.0) if with_bias else None
    g = make(shape, dtype, seed=3, scale=1.0)
    # the kernels add z + b in the input dtype: evaluate the reference at that rounded sum
    x = z0 + b if with_bias else z0.copy()

    z = z0.copy()
    out, pre = cf.bias_act_forward(z, b, act)
    assert out.shape == shape and out.dtype == dtype and out.flags.c_contiguous
    np.testing.assert_allclose(out, ref_act(x, act), **TOL[dtype])
    if act == "gelu":
        assert pre is z
        np.testing.assert_array_equal(pre, x)
        assert out is not z
    else:
        assert pre is None
        assert out is z

    g_before = g.copy()
    out_before = out.copy()
    pre_before = None if pre is None else pre.copy()
    for need_gb in (True, False):
        gz, gb = cf.act_backward(g, out, pre, act, need_gb)
        np.testing.assert_array_equal(g, g_before)  # grad_out is never modified
        np.testing.assert_array_equal(out, out_before)
        if pre is not None:
            np.testing.assert_array_equal(pre, pre_before)
        gz_ref = ref_grad(g, out, pre, act)
        assert gz.shape == shape and gz.dtype == dtype
        np.testing.assert_allclose(gz, gz_ref, **TOL[dtype])
        if act is None:
            assert gz is g
        else:
            assert not np.shares_memory(gz, g)
        if need_gb:
            assert gb.shape == (n,) and gb.dtype == dtype
            assert np.all(np.abs(gb - gz_ref.sum(axis=0)) <= colsum_tol(gz_ref, dtype))
            # and against the plain NumPy column sum of the kernel's own grad_z
            np.testing.assert_allclose(
                gb, gz.astype(np.float64).sum(axis=0), rtol=0, atol=colsum_tol(gz_ref, dtype).max()
            )
        else:
            assert gb is None


def test_mlp_layer_relu_matches_numpy_formulation():
    """The exact NumPy code the fused kernels replace (float32, one layer)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32)).astype(np.float32)
    w = rng.standard_normal((48, 32)).astype(np.float32)
    b = rng.standard_normal(48).astype(np.float32)
    g = rng.standard_normal((64, 48)).astype(np.float32)

    ref_out = np.maximum(x @ w.T + b, 0)
    ref_gz = g * (ref_out > 0)
    out, _ = cf.bias_act_forward(x @ w.T, b, "relu")
    np.testing.assert_array_equal(out, ref_out)  # relu: bit-identical
    gz, gb = cf.act_backward(g, out, None, "relu", True)
    np.testing.assert_array_equal(gz, ref_gz)
    np.testing.assert_allclose(gb, ref_gz.sum(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (0, 0)])
def test_empty(act, shape):
    m, n = shape
    z = np.zeros(shape, np.float32)
    out, pre = cf.bias_act_forward(z, np.zeros(n, np.float32), act)
    assert out.shape == shape
    gz, gb = cf.act_backward(np.zeros(shape, np.float32), out, pre, act, True)
    assert gz.shape == shape
    assert gb.shape == (n,) and gb.dtype == np.float32 and not gb.any()


def test_identity_without_bias_is_a_no_op():
    z = make((5, 6), np.float64)
    z0 = z.copy()
    out, pre = cf.bias_act_forward(z, None, None)
    assert out is z and pre is None
    np.testing.assert_array_equal(out, z0)
    g = make((5, 6), np.float64, seed=4)
    gz, gb = cf.act_backward(g, None, None, None, False)
    assert gz is g and gb is None


def test_bias_of_another_dtype_or_strided_is_converted():
    z0 = make((6, 5), np.float32)
    b64 = make((10,), np.float64, seed=7)[::2]  # float64 and strided
    z = z0.copy()
    out, _ = cf.bias_act_forward(z, b64, "tanh")
    assert out is z and out.dtype == np.float32
    x = z0 + b64.astype(np.float32)
    np.testing.assert_allclose(out, ref_act(x, "tanh"), **TOL[np.float32])


@pytest.mark.parametrize("act", ["relu", "gelu", "tanh"])
def test_backward_mixed_dtypes_promote_like_numpy(act):
    z = make((7, 9), np.float32)
    out, pre = cf.bias_act_forward(z, None, act)
    g = make((7, 9), np.float64, seed=8, scale=1.0)
    g0 = g.copy()
    gz, gb = cf.act_backward(g, out, pre, act, True)
    np.testing.assert_array_equal(g, g0)
    assert gz.dtype == np.float64 and gb.dtype == np.float64
    gz_ref = ref_grad(g, out, pre, act)
    np.testing.assert_allclose(gz, gz_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb, gz_ref.sum(0), rtol=1e-12, atol=1e-13)
    # the other way round: float32 grad_out, float64 saved array
    gz2, _ = cf.act_backward(
        g.astype(np.float32),
        *((out.astype(np.float64), None) if pre is None else (None, pre.astype(np.float64))),
        act,
        False,
    )
    assert gz2.dtype == np.float64


def test_backward_accepts_read_only_inputs():
    out, _ = cf.bias_act_forward(make((5, 8), np.float64), None, "relu")
    g = make((5, 8), np.float64, seed=9)
    for a in (out, g):
        a.flags.writeable = False
    gz, gb = cf.act_backward(g, out, None, "relu", True)
    np.testing.assert_array_equal(gz, g * (out > 0))
    np.testing.assert_allclose(gb, (g * (out > 0)).sum(0), rtol=1e-14, atol=1e-15)


def test_gelu_backward_needs_only_pre():
    z = make((3, 4), np.float32)
    out, pre = cf.bias_act_forward(z, None, "gelu")
    g = make((3, 4), np.float32, seed=5)
    gz1, _ = cf.act_backward(g, out, pre, "gelu", False)
    gz2, _ = cf.act_backward(g, None, pre, "gelu", False)
    np.testing.assert_array_equal(gz1, gz2)


# ------------------------------------------------------------------------------------------
# float32 math accuracy (dense grids) and special values
# ------------------------------------------------------------------------------------------


def _ulp_error(got, ref):
    spacing = np.spacing(np.abs(ref.astype(np.float32))).astype(np.float64)
    return np.abs(got.astype(np.float64) - ref) / spacing


@pytest.fixture(scope="module")
def grid32():
    x = np.concatenate(
        [
            np.linspace(-12.0, 12.0, 400_001),
            np.logspace(-30, 1.1, 20_000),
            -np.logspace(-30, 1.1, 20_000),
        ]
    ).astype(np.float32)
    return x[None, :]


@pytest.mark.parametrize(
    "act, max_ulp",
    [("relu", 0.0), ("sigmoid", 3.0), ("tanh", 2.0), ("gelu", 8.0)],
)
def test_float32_accuracy_in_ulp(grid32, act, max_ulp):
    out, _ = cf.bias_act_forward(grid32.copy(), None, act)
    ref = ref_act(grid32, act)
    normal = np.abs(ref) >= np.finfo(np.float32).tiny
    err = _ulp_error(out[normal], ref[normal])
    assert err.max() <= max_ulp, (act, err.max(), grid32[normal][err.argmax()])
    assert np.all(np.abs(out[~normal]) <= np.finfo(np.float32).tiny)  # flushed underflow


def test_float32_gelu_keeps_relative_accuracy_in_the_negative_tail():
    x = -np.linspace(3.0, 12.0, 10_001, dtype=np.float32)[None, :]
    out, _ = cf.bias_act_forward(x.copy(), None, "gelu")
    ref = ref_act(x, "gelu")
    np.testing.assert_allclose(out, ref, rtol=2e-6, atol=0)


def test_float32_gelu_grad_accuracy(grid32):
    g = np.ones_like(grid32)
    gz, _ = cf.act_backward(g, None, grid32, "gelu", False)
    ref = ref_grad(g, None, grid32, "gelu")
    np.testing.assert_allclose(gz, ref, rtol=1e-6, atol=4e-7)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_special_values(dtype):
    inf, nan = np.inf, np.nan
    z = np.array([[nan, inf, -inf, 0.0, -0.0, 1e30, -1e30]], dtype)
    expect = {
        "relu": [nan, inf, 0, 0, 0, 1e30, 0],
        "sigmoid": [nan, 1, 0, 0.5, 0.5, 1, 0],
        "tanh": [nan, 1, -1, 0, 0, 1, -1],
        "gelu": [nan, inf, nan, 0, 0, 1e30, 0],  # -inf * Phi(-inf) = -inf * 0
        None: [nan, inf, -inf, 0, 0, 1e30, -1e30],
    }
    for act, want in expect.items():
        out, _ = cf.bias_act_forward(z.copy(), None, act)
        np.testing.assert_array_equal(out[0], np.array(want, dtype), err_msg=str(act))


# ------------------------------------------------------------------------------------------
# float16 fallback
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ACTS, ids=str)
def test_float16_fallback(act):
    shape = (9, 17)
    z0 = make(shape, np.float16)
    b = make((17,), np.float16, seed=2, scale=1.0)
    g = make(shape, np.float16, seed=3, scale=1.0)
    x = (z0.astype(np.float32) + b.astype(np.float32)).astype(np.float64)
    z = z0.copy()
    out, pre = cf.bias_act_forward(z, b, act)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, ref_act(x, act), rtol=2e-3, atol=2e-3)
    if act == "gelu":
        assert pre is z and pre.dtype == np.float16
    else:
        assert out is z and pre is None
    g0 = g.copy()
    gz, gb = cf.act_backward(g, out, pre, act, True)
    np.testing.assert_array_equal(g, g0)
    assert gz.dtype == np.float16 and gb.dtype == np.float16 and gb.shape == (17,)
    gz_ref = ref_grad(g, out, pre, act)
    np.testing.assert_allclose(gz, gz_ref, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(gb, gz_ref.sum(0), rtol=5e-3, atol=5e-3)


# ------------------------------------------------------------------------------------------
# Bad inputs
# ------------------------------------------------------------------------------------------


def test_bad_forward_inputs():
    z = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(5,\).*shape \(4, 5\)"):
        cf.bias_act_forward(z, np.zeros(3, np.float32), "relu")
    with pytest.raises(ValueError, match=r"b \(shape \(5,\), dtype complex64\): dtype must be"):
        cf.bias_act_forward(z, np.zeros(5, np.complex64), "relu")
    with pytest.raises(ValueError, match=r"shape \(20,\).*2-D"):
        cf.bias_act_forward(np.zeros(20, np.float32), None, "relu")
    with pytest.raises(ValueError, match=r"shape \(4, 3\).*C-contiguous"):
        cf.bias_act_forward(np.zeros((4, 6), np.float32)[:, ::2], None, "relu")
    with pytest.raises(ValueError, match=r"shape \(4, 5\).*C-contiguous"):
        cf.bias_act_forward(np.zeros((5, 4), np.float32).T, None, "relu")
    with pytest.raises(ValueError, match=r"int64.*float16, float32 or float64"):
        cf.bias_act_forward(np.zeros((4, 5), np.int64), None, "relu")
    with pytest.raises(ValueError, match=r"unknown activation 'swish'"):
        cf.bias_act_forward(z, None, "swish")
    ro = np.zeros((4, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"writeable"):
        cf.bias_act_forward(ro, None, "relu")
    with pytest.raises(ValueError, match=r"numpy.ndarray"):
        cf.bias_act_forward([[1.0]], None, "relu")


def test_bad_backward_inputs():
    g = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"out \(shape \(5, 4\).*shape must be \(4, 5\)"):
        cf.act_backward(g, np.zeros((5, 4), np.float32), None, "relu", True)
    with pytest.raises(ValueError, match=r"out \(shape \(4, 5\), dtype int32\).*float16"):
        cf.act_backward(g, np.zeros((4, 5), np.int32), None, "tanh", True)
    with pytest.raises(ValueError, match=r"needs `pre`"):
        cf.act_backward(g, g, None, "gelu", True)
    with pytest.raises(ValueError, match=r"pre \(shape \(4, 6\).*\(4, 5\)"):
        cf.act_backward(g, g, np.zeros((4, 6), np.float32), "gelu", True)
    with pytest.raises(ValueError, match=r"needs `out`"):
        cf.act_backward(g, None, None, "sigmoid", False)
    with pytest.raises(ValueError, match=r"grad_out \(shape \(4, 3\).*C-contiguous"):
        cf.act_backward(np.zeros((4, 6), np.float32)[:, ::2], None, None, None, True)
    with pytest.raises(ValueError, match=r"unknown activation"):
        cf.act_backward(g, g, None, "isru", True)


# ------------------------------------------------------------------------------------------
# Misc
# ------------------------------------------------------------------------------------------


def test_import_compiles_nothing_and_warmup_compiles_everything():
    code = (
        "import tensorcore.kernels.cpu.fused as k\n"
        "from tensorcore.kernels import activations\n"
        "assert not k._BUILT, 'compiled at import'\n"
        "k.warmup()\n"
        "kernels = [d for a in activations.names() for d in k.kernels_for(a)[2:]]\n"
        "assert all(len(d.overloads) == 2 for d in kernels), [len(d.overloads) for d in kernels]\n"
    )
    # 15 activations (PyTorch's others joined the table): a cold cache compiles 120 kernels
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)


def test_activations_constant():
    # the kernels take every name of the activation table (which gained silu, then PyTorch's
    # other activations: kernels/activations_extra.py)
    from tensorcore.kernels import activations

    assert activations.names() == (None, "relu", "gelu", "sigmoid", "tanh", "silu",
                                   "softplus", "mish", "hardtanh", "relu6", "hardsigmoid",
                                   "hardswish", "logsigmoid", "softsign", "tanhshrink")
