"""More entries of the activation table (:mod:`tensorcore.kernels.activations`): softplus
(``beta=1, threshold=20``), mish, hardtanh (``[-1, 1]``), relu6, hardsigmoid, hardswish,
logsigmoid, softsign and tanhshrink, each with PyTorch's default arguments and PyTorch's
gradient at the kinks and at NaN (hardtanh's and relu6's is 0 at their bounds and at NaN,
hardswish's 0 at -3 and 1 at 3, as ``hardswish_backward``).

The ``tensor`` form of each is the ``tensorcore.nn.functional`` function of the same name
(imported when called: this module stays free of the ops): that function is the one rule
PyTorch's arguments (``beta``, ``min_val``, ...) generalise.

>>> import numpy as np
>>> from tensorcore.kernels.activations import TABLE
>>> TABLE["hardswish"].array(np, np.array([-4.0, 0.0, 1.0, 4.0])).tolist()
[-0.0, 0.0, 0.6666666666666666, 4.0]
>>> TABLE["relu6"].scalar_grad(1.0, 6.0), TABLE["relu6"].scalar_grad(1.0, 5.5)
(0.0, 1.0)
"""

from __future__ import annotations

import math

from .activations import Activation, exp_nonpos, logistic, register, sigmoid, tanh, typed

__all__ = ["EXTRA", "ONE_SIXTH", "hardtanh_array", "hardtanh_grad_array"]

ONE_SIXTH = 0.1666666716337204  # PyTorch's hardsigmoid gradient: 1.0f / 6.0f (a float32)


def _nn_functional():
    """``tensorcore.nn.functional``, imported on call (it imports this table)."""
    from ..nn import functional

    return functional


# -- array forms (NumPy-like ``xp``) -----------------------------------------------------------
def _log1p_exp_array(xp, z):
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))


def softplus_array(xp, z, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta z)) / beta``, ``z`` where ``beta z > threshold``."""
    s = z * beta
    return xp.where(s > threshold, z, _log1p_exp_array(xp, s) / beta).astype(z.dtype, copy=False)


def hardtanh_array(xp, z, lo=-1.0, hi=1.0):
    """``z`` clamped to ``[lo, hi]`` (NaN stays NaN)."""
    return xp.where(z < lo, lo, xp.where(z > hi, hi, z)).astype(z.dtype, copy=False)


def hardtanh_grad_array(xp, g, s, lo=-1.0, hi=1.0):
    """``g`` strictly inside ``(lo, hi)``, 0 elsewhere (and at NaN), as PyTorch."""
    return xp.where((s > lo) & (s < hi), g, 0).astype(g.dtype, copy=False)


def _hardsigmoid_array(xp, z):
    return (hardtanh_array(xp, z + 3, 0.0, 6.0) / 6).astype(z.dtype, copy=False)


def _hardswish_array(xp, z):
    return z * _hardsigmoid_array(xp, z)


def _hardswish_grad_array(xp, g, pre):
    return xp.where(pre <= -3, 0, xp.where(pre >= 3, g, g * (pre / 3 + 0.5))).astype(
        g.dtype, copy=False)


def _mish_array(xp, z):
    return z * xp.tanh(_log1p_exp_array(xp, z))


def _mish_grad_array(xp, g, pre):
    t = xp.tanh(_log1p_exp_array(xp, pre))
    return g * (t + pre * sigmoid(xp, pre) * (1 - t * t))


# -- scalar forms (Numba) ------------------------------------------------------------------------
def log1p_exp(v):
    """``log(1 + exp(v))`` without overflow."""
    return (v if v > typed(v, 0.0) else typed(v, 0.0)) + math.log1p(exp_nonpos(-abs(v)))


def clamp(v, lo, hi):
    """``v`` clamped to ``[lo, hi]``; NaN stays NaN."""
    return lo if v < lo else (hi if v > hi else v)


def _softplus(v):
    return v if v > typed(v, 20.0) else log1p_exp(v)


def _softplus_grad(g, s):
    return g if s > typed(s, 20.0) else g * logistic(s)


def _mish(v):
    return v * tanh(log1p_exp(v))


def _mish_grad(g, s):
    t = tanh(log1p_exp(s))
    return g * (t + s * logistic(s) * (typed(s, 1.0) - t * t))


def _hardtanh(v):
    return clamp(v, typed(v, -1.0), typed(v, 1.0))


def _hardtanh_grad(g, s):  # s: the output
    return g if typed(s, -1.0) < s < typed(s, 1.0) else typed(g, 0.0)


def _relu6(v):
    return clamp(v, typed(v, 0.0), typed(v, 6.0))


def _relu6_grad(g, s):  # s: the output
    return g if typed(s, 0.0) < s < typed(s, 6.0) else typed(g, 0.0)


def _hardsigmoid(v):
    return clamp(v + typed(v, 3.0), typed(v, 0.0), typed(v, 6.0)) / typed(v, 6.0)


def _hardsigmoid_grad(g, s):
    if typed(s, -3.0) < s < typed(s, 3.0):
        return g * typed(g, 0.1666666716337204)
    return typed(g, 0.0)


def _hardswish(v):
    return v * _hardsigmoid(v)


def _hardswish_grad(g, s):
    if s <= typed(s, -3.0):
        return typed(g, 0.0)
    if s >= typed(s, 3.0):
        return g
    return g * (s / typed(s, 3.0) + typed(s, 0.5))


def _logsigmoid(v):
    return (v if v < typed(v, 0.0) else typed(v, 0.0)) - math.log1p(exp_nonpos(-abs(v)))


def _logsigmoid_grad(g, s):
    return g * logistic(-s)


def _softsign(v):
    return v / (typed(v, 1.0) + abs(v))


def _softsign_grad(g, s):
    d = typed(s, 1.0) + abs(s)
    return g / (d * d)


def _tanhshrink(v):
    return v - tanh(v)


def _tanhshrink_grad(g, s):
    t = tanh(s)
    return g * (t * t)


# -- CUDA C snippets -----------------------------------------------------------------------------
def _c_log1p_exp(x: str) -> str:
    return f"(({x} > (T)0 ? {x} : (T)0) + log1p(exp(-fabs({x}))))"


def _c_sigmoid(x: str) -> str:
    return f"({x} >= (T)0 ? (T)1 / ((T)1 + exp(-{x})) : exp({x}) / ((T)1 + exp({x})))"


def _c_clamp(x: str, lo: str, hi: str) -> str:
    return f"({x} < (T){lo} ? (T){lo} : ({x} > (T){hi} ? (T){hi} : {x}))"


_C_MISH_T = f"tanh({_c_log1p_exp('p')})"

EXTRA = (
    Activation("softplus", "pre", lambda t: _nn_functional().softplus(t), softplus_array,
               lambda xp, g, pre: xp.where(pre > 20, g, g * sigmoid(xp, pre)),
               _softplus, _softplus_grad,
               f"y = v > (T)20 ? v : {_c_log1p_exp('v')};",
               f"gz = p > (T)20 ? g : g * {_c_sigmoid('p')};"),
    Activation("mish", "pre", lambda t: _nn_functional().mish(t), _mish_array, _mish_grad_array,
               _mish, _mish_grad,
               f"y = v * tanh({_c_log1p_exp('v')});",
               f"gz = g * ({_C_MISH_T} + p * {_c_sigmoid('p')}"
               f" * ((T)1 - {_C_MISH_T} * {_C_MISH_T}));"),
    Activation("hardtanh", "out", lambda t: _nn_functional().hardtanh(t), hardtanh_array,
               hardtanh_grad_array,
               _hardtanh, _hardtanh_grad,
               f"y = {_c_clamp('v', '-1', '1')};",
               "gz = (y > (T)-1 && y < (T)1) ? g : (T)0;"),
    Activation("relu6", "out", lambda t: _nn_functional().relu6(t),
               lambda xp, z: hardtanh_array(xp, z, 0.0, 6.0),
               lambda xp, g, out: hardtanh_grad_array(xp, g, out, 0.0, 6.0),
               _relu6, _relu6_grad,
               f"y = {_c_clamp('v', '0', '6')};",
               "gz = (y > (T)0 && y < (T)6) ? g : (T)0;"),
    Activation("hardsigmoid", "pre", lambda t: _nn_functional().hardsigmoid(t), _hardsigmoid_array,
               lambda xp, g, pre: xp.where((pre > -3) & (pre < 3), g * ONE_SIXTH, 0).astype(
                   g.dtype, copy=False),
               _hardsigmoid, _hardsigmoid_grad,
               f"y = {_c_clamp('(v + (T)3)', '0', '6')} / (T)6;",
               "gz = (p > (T)-3 && p < (T)3) ? g * (T)0.1666666716337204 : (T)0;"),
    Activation("hardswish", "pre", lambda t: _nn_functional().hardswish(t), _hardswish_array,
               _hardswish_grad_array, _hardswish, _hardswish_grad,
               f"y = v * {_c_clamp('(v + (T)3)', '0', '6')} / (T)6;",
               "gz = p <= (T)-3 ? (T)0 : (p >= (T)3 ? g : g * (p / (T)3 + (T)0.5));"),
    Activation("logsigmoid", "pre", lambda t: _nn_functional().logsigmoid(t),
               lambda xp, z: xp.minimum(z, 0) - xp.log1p(xp.exp(-xp.abs(z))),
               lambda xp, g, pre: g * sigmoid(xp, -pre),
               _logsigmoid, _logsigmoid_grad,
               "y = (v < (T)0 ? v : (T)0) - log1p(exp(-fabs(v)));",
               f"gz = g * {_c_sigmoid('(-p)')};"),
    Activation("softsign", "pre", lambda t: _nn_functional().softsign(t),
               lambda xp, z: z / (1 + xp.abs(z)),
               lambda xp, g, pre: g / ((1 + xp.abs(pre)) * (1 + xp.abs(pre))),
               _softsign, _softsign_grad,
               "y = v / ((T)1 + fabs(v));",
               "gz = g / (((T)1 + fabs(p)) * ((T)1 + fabs(p)));"),
    Activation("tanhshrink", "pre", lambda t: _nn_functional().tanhshrink(t),
               lambda xp, z: z - xp.tanh(z),
               lambda xp, g, pre: g * xp.tanh(pre) * xp.tanh(pre),
               _tanhshrink, _tanhshrink_grad,
               "y = v - tanh(v);", "gz = g * (tanh(p) * tanh(p));"),
)

for _entry in EXTRA:
    register(_entry)
del _entry
