"""The Numba-CUDA kernels follow the activation table (``tensorcore.kernels.activations``):
SiLU, and a made-up activation registered through the table alone, run through the layer's
forward, the act backward and the one-launch layer backward."""
# ruff: noqa: F811 (pytest fixtures imported from made_up_activation, used as arguments)

from __future__ import annotations

import numpy as np
import pytest
from conftest import DTYPES, TOL
from made_up_activation import CUBE, activation  # noqa: F401 (a fixture)
from reference import make

from tensorcore.kernels import activations
from tensorcore.kernels.activations import Activation
from tensorcore.kernels.numba_cuda import common as cuda_common
from tensorcore.kernels.numba_cuda.fused import (
    act_backward,
    linear_act_forward,
    linear_backward,
)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


REFERENCE = {  # float64 (forward, derivative)
    "cube": (lambda z: z ** 3, lambda z: 3 * z * z),
    "silu": (lambda z: z * _sigmoid(z), lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z)))),
}


def _inputs(m, n, k, dtype):
    x, w, b = make((m, k), dtype, 0), make((n, k), dtype, 1, scale=0.5), make(n, dtype, 2)
    return x, w, b, make((m, n), dtype, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_and_both_backwards(activation, dtype):
    m, n, k = 9, 7, 5
    fwd, slope = REFERENCE[activation]
    x, w, b, g = _inputs(m, n, k, dtype)
    out, pre = np.full((m, n), np.nan, dtype), np.full((m, n), np.nan, dtype)
    linear_act_forward(x, w, b, activation, out, pre)
    z = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(pre, z, **TOL[dtype])
    np.testing.assert_allclose(out, fwd(z), **TOL[dtype])

    gz = g * slope(pre.astype(np.float64))  # the derivative at the saved pre-activation
    grad_z, grad_b = np.full((m, n), np.nan, dtype), np.full(n, np.nan, dtype)
    act_backward(g, out, pre, activation, grad_z, grad_b)
    np.testing.assert_allclose(grad_z, gz, **TOL[dtype])
    np.testing.assert_allclose(grad_b, gz.sum(axis=0), **TOL[dtype])

    gx, gw = np.full((m, k), np.nan, dtype), np.full((n, k), np.nan, dtype)
    gb = np.full(n, np.nan, dtype)
    linear_backward(g, out, pre, x, w, activation, gx, gw, gb)
    np.testing.assert_allclose(gx, gz @ w.astype(np.float64), **TOL[dtype])
    np.testing.assert_allclose(gw, gz.T @ x.astype(np.float64), **TOL[dtype])
    np.testing.assert_allclose(gb, gz.sum(axis=0), **TOL[dtype])


def test_the_pre_activation_is_required(activation):
    """Both read the pre-activation (the table says so): the kernels ask for it."""
    x, w, b, g = _inputs(3, 2, 4, np.float32)
    out = np.empty((3, 2), np.float32)
    with pytest.raises(ValueError, match="needs `pre`"):
        linear_act_forward(x, w, b, activation, out)
    with pytest.raises(ValueError, match="needs `pre`"):
        act_backward(g, out, None, activation, np.empty_like(g))


def test_every_table_entry_is_a_variant(activation):
    entries = {key[1] for key in cuda_common.activation_variants()}
    assert entries == set(activations.TABLE.values())


def test_a_name_registered_again_gets_kernels_of_its_own():
    """The compiled kernels belong to the table entry, not to its name."""
    x, w, _, _ = _inputs(2, 3, 4, np.float64)
    out, pre = np.empty((2, 3)), np.empty((2, 3))
    z = x @ w.T
    for entry, expect in ((CUBE, z ** 3), (Activation(
            "cube", "pre", None, None, None, lambda v: v * v, None, "", ""), z * z)):
        activations.register(entry)
        try:
            linear_act_forward(x, w, None, "cube", out, pre)
        finally:
            activations.unregister("cube")
        np.testing.assert_allclose(out, expect, rtol=1e-12)
