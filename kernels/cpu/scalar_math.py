"""Scalar math of the CPU kernels: the activation table's scalar helpers
(``tensorcore.kernels.activations``: ``exp_nonpos``, ``tanh``, ``norm_cdf``, ``x_norm_pdf``,
``typed``) given Numba implementations for the CPU target, so that the table's plain Python
scalar formulas compile inside the ``@njit`` kernels of :mod:`.fused`.

float64 uses libm (math.exp / math.tanh / math.erfc). Those calls are not vectorised, and
glibc's float32 tanhf / erff are slow, so float32 uses branch-free implementations LLVM can
vectorise (AVX2); the timings behind this choice are in docs/benchmarks.md. Accuracy vs
float64 references on dense grids over [-12, 12] (tests/test_cpu_kernels.py checks slightly
looser bounds):

* exp (x <= 0): Cephes expf polynomial, <= 1 ulp;
* tanh: Cephes tanhf: odd polynomial for |x| < 0.625, else (1 - e) / (1 + e) with
  e = exp(-2|x|), <= 1.5 ulp;
* sigmoid: r = 1 / (1 + exp(-|x|)); r or e * r, <= 2.7 ulp;
* gelu: x * Phi(x), Phi(x) = 0.5 * erfc(-x / sqrt 2) via the Numerical Recipes erfc
  (Chebyshev fit, relative error < 1.2e-7) with x**2 split exactly (Dekker) so its exp loses
  nothing: relative error <= 4.8e-7 (~7 ulp) everywhere, including the negative tail where
  the textbook 0.5 * (1 + erf(x / sqrt 2)) (torch's formula) has no correct digits left;
  gelu' absolute error <= 2.5e-7.

Results that would be subnormal are flushed to 0. Every function here is inlined at the Numba
IR level (``inline="always"``) so LLVM sees one loop body it can vectorise;
``fastmath=False`` keeps the Dekker split exact (no FMA contraction).

:func:`jitable` makes a table formula (and the plain functions it calls) callable from
``@njit`` code.
"""

from __future__ import annotations

import math
import types as pytypes

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload, register_jitable

from .. import activations as act

__all__ = ["jitable"]

_SQRT1_2 = act.SQRT1_2
_INV_SQRT_2PI = act.INV_SQRT_2PI


_f32 = np.float32
_INLINE = {"fastmath": False, "error_model": "numpy"}


@intrinsic
def _pow2_f32(typingctx, t):
    """2.0 ** t for an integral float32 t in [-126, 127], by building the exponent bits."""
    if t != types.float32:
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        n = builder.fptosi(args[0], i32)
        n = builder.add(n, ir.Constant(i32, 127))
        n = builder.shl(n, ir.Constant(i32, 23))
        return builder.bitcast(n, ir.FloatType())

    return types.float32(types.float32), codegen


@njit(inline="always", **_INLINE)
def _exp_sum32(ahi, alo):
    """float32 exp(ahi + alo) for ahi + alo <= ~0 (Cephes expf). The argument comes in two
    parts so that an argument computed as an unevaluated sum loses no accuracy; the exact
    range reduction ahi - t * C1 happens on ahi alone. Results below FLT_MIN flush to 0; NaN
    propagates."""
    lo = _f32(-87.33654)  # log(FLT_MIN): keeps 2**t a normal number
    a = ahi + alo
    t = np.floor((lo if a < lo else a) * _f32(1.44269504088896341) + _f32(0.5))
    r = ahi - t * _f32(0.693359375)
    r = r - t * _f32(-2.12194440e-4) + alo
    y = _f32(1.9875691500e-4)
    y = y * r + _f32(1.3981999507e-3)
    y = y * r + _f32(8.3334519073e-3)
    y = y * r + _f32(4.1665795894e-2)
    y = y * r + _f32(1.6666665459e-1)
    y = y * r + _f32(5.0000001201e-1)
    y = y * (r * r) + r + _f32(1.0)
    t = t if t >= _f32(-126.0) else _f32(-126.0)  # also maps NaN to a safe exponent
    y = y * _pow2_f32(t)
    return _f32(0.0) if a < lo else y


@njit(inline="always", **_INLINE)
def _two_square32(a):
    """(hi, lo) with hi + lo == a * a exactly (Dekker; needs |a| < ~1e15 and no FMA
    contraction, which fastmath=False guarantees)."""
    hi = a * a
    c = _f32(4097.0) * a
    ah = c - (c - a)
    al = a - ah
    lo = ((ah * ah - hi) + _f32(2.0) * ah * al) + al * al
    return hi, lo


@njit(inline="always", **_INLINE)
def _half_erfc_scaled32(ax):
    """For ax = |x| (float32, NaN allowed) return (h, hi, lo) where h = 0.5 * erfc(ax / sqrt 2)
    = Phi(-ax) and hi + lo = ax * ax."""
    ax = _f32(14.0) if ax > _f32(14.0) else ax  # Phi(-14) underflows float32 anyway
    hi, lo = _two_square32(ax)
    u = ax * _f32(_SQRT1_2)
    t = _f32(1.0) / (_f32(1.0) + _f32(0.5) * u)
    # Numerical Recipes erfcc: erfc(u) = t * exp(-u*u + p(t)), fractional error < 1.2e-7
    p = _f32(0.17087277)
    p = p * t + _f32(-0.82215223)
    p = p * t + _f32(1.48851587)
    p = p * t + _f32(-1.13520398)
    p = p * t + _f32(0.27886807)
    p = p * t + _f32(-0.18628806)
    p = p * t + _f32(0.09678418)
    p = p * t + _f32(0.37409196)
    p = p * t + _f32(1.00002368)
    p = p * t + _f32(-1.26551223)
    # -u*u = -(hi + lo) / 2 exactly
    h = _f32(0.5) * t * _exp_sum32(_f32(-0.5) * hi, p - _f32(0.5) * lo)
    return h, hi, lo


# -- the table's helpers on the CPU target: float32 above, float64 through libm ---------------
@overload(act.typed, inline="always")
def _typed(x, c):
    scalar = x

    def impl(x, c):
        return scalar(c)

    return impl


@overload(act.exp_nonpos, inline="always")
def _exp_nonpos(x):
    if x == types.float32:
        return lambda x: _exp_sum32(x, _f32(0.0))
    return lambda x: math.exp(x)


@overload(act.tanh, inline="always")
def _tanh(x):
    if x != types.float32:
        return lambda x: math.tanh(x)

    def tanh32(x):
        ax = abs(x)
        e = _exp_sum32(_f32(-2.0) * ax, _f32(0.0))
        big = (_f32(1.0) - e) / (_f32(1.0) + e)
        big = -big if x < _f32(0.0) else big
        z = x * x
        p = _f32(-5.70498872745e-3)
        p = p * z + _f32(2.06390887954e-2)
        p = p * z + _f32(-5.37397155531e-2)
        p = p * z + _f32(1.33314422036e-1)
        p = p * z + _f32(-3.33332819422e-1)
        small = p * z * x + x
        return small if ax < _f32(0.625) else big

    return tanh32


@overload(act.norm_cdf, inline="always")
def _norm_cdf(x):
    if x != types.float32:
        return lambda x: 0.5 * math.erfc(-x * _SQRT1_2)

    def norm_cdf32(x):
        h, _, _ = _half_erfc_scaled32(abs(x))
        return _f32(1.0) - h if x >= _f32(0.0) else h

    return norm_cdf32


@overload(act.x_norm_pdf, inline="always")
def _x_norm_pdf(x):
    if x != types.float32:
        return lambda x: x * math.exp(-0.5 * x * x) * _INV_SQRT_2PI

    def x_norm_pdf32(x):
        ax = abs(x)
        ax = _f32(14.0) if ax > _f32(14.0) else ax  # as in _half_erfc_scaled32
        hi, lo = _two_square32(ax)
        return x * (_exp_sum32(_f32(-0.5) * hi, _f32(-0.5) * lo) * _f32(_INV_SQRT_2PI))

    return x_norm_pdf32


_OVERLOADED = {act.typed, act.exp_nonpos, act.tanh, act.norm_cdf, act.x_norm_pdf}
_JITABLE: set = set()


def jitable(fn) -> None:
    """Make the plain Python function ``fn`` (a table formula) callable from ``@njit`` code,
    with the plain functions it calls by name (once each)."""
    if fn in _OVERLOADED or fn in _JITABLE:
        return
    _JITABLE.add(fn)
    for name in fn.__code__.co_names:
        used = fn.__globals__.get(name)
        if isinstance(used, pytypes.FunctionType) and used is not fn:
            jitable(used)
    register_jitable(fn)
