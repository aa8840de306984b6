"""The activation table: every activation of ``F.linear_act`` declared once.

An entry (:class:`Activation`) holds the activation's name, which saved array its gradient
reads (the output ``"out"`` or the pre-activation ``"pre"``), and its formulas in the form
each kernel technology needs:

* ``tensor``: Tensor ops (differentiable), for the unfused path and ``create_graph``;
* ``array`` / ``array_grad``: array formulas over a NumPy-like ``xp``, for the reference
  backend (``tensorcore.backends.contract``);
* ``scalar`` / ``scalar_grad``: plain Python scalar functions, for the Numba kernels: the CPU
  ``@njit`` kernels (``kernels/cpu/fused.py``) call them, the Numba-CUDA kernels
  (``kernels/numba_cuda/``) have them inlined into their source. They may use ``math``,
  ``abs``, the scalar helpers below and constants written ``typed(v, 0.5)`` (a constant of
  ``v``'s dtype: a bare ``0.5`` would compute float32 in float64);
* ``c_forward`` / ``c_grad``: CUDA C statements for the CuPy RawKernels
  (``kernels/cupy/fused.py``): ``y`` from ``v``; ``gz`` from ``g``, the output ``y`` and the
  pre-activation ``p``; ``T`` is the scalar type;
* ``cublaslt``: the cuBLASLt epilogue that fuses it with the GEMM, where one exists.

The scalar gradient returns ``g * act'(s)`` rather than ``act'(s)``, so that relu can select
(``g if s > 0 else 0``: an inf gradient where relu is flat gives 0, not NaN).

Adding an activation is one :func:`register` call (``docs/backends.md``). This module imports
neither Numba nor CuPy: ops and backends read it cheaply.

>>> TABLE["gelu"].reads, TABLE["relu"].reads, TABLE[None].reads
('pre', 'out', None)
>>> names()[:6]
(None, 'relu', 'gelu', 'sigmoid', 'tanh', 'silu')
>>> names()[6:9]  # then PyTorch's other activations (kernels/activations_extra.py)
('softplus', 'mish', 'hardtanh')
>>> import numpy as np
>>> TABLE["silu"].array(np, np.array([0.0, 1.0])).round(4).tolist()
[0.0, 0.7311]
>>> round(TABLE["silu"].scalar(1.0), 4), round(TABLE["silu"].scalar_grad(1.0, 0.0), 4)
(0.7311, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["TABLE", "Activation", "get", "names", "reads_output", "register", "unregister"]

SQRT1_2 = 0.7071067811865476  # 1 / sqrt(2)
INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 * pi)


@dataclass(frozen=True, eq=False)
class Activation:
    """One activation in every form the kernels need (see the module docstring)."""

    name: str | None
    reads: str | None  # "out" or "pre": what the gradient reads; None for the identity
    tensor: Callable
    array: Callable
    array_grad: Callable
    scalar: Callable
    scalar_grad: Callable
    c_forward: str
    c_grad: str
    cublaslt: str | None = None


TABLE: dict[str | None, Activation] = {}
# the cuBLASLt epilogues the GPU backend's one-call forward runs (kernels/blas/cublaslt.py):
# none, the bias alone, the bias then ReLU
CUBLASLT_EPILOGUES = (None, "BIAS", "RELU_BIAS")


def register(entry: Activation) -> Activation:
    """Add ``entry`` to the table (its name must be new); kernels are built for it on first
    use."""
    if entry.name in TABLE:
        raise ValueError(f"activation {entry.name!r} is already registered")
    if entry.reads not in ("out", "pre") and entry.name is not None:
        raise ValueError(f"activation {entry.name!r}: reads must be 'out' or 'pre'")
    if entry.cublaslt not in CUBLASLT_EPILOGUES:
        raise ValueError(f"activation {entry.name!r}: cublaslt must be one of "
                         f"{CUBLASLT_EPILOGUES} (the epilogues the cuBLASLt forward runs), "
                         f"got {entry.cublaslt!r}")
    TABLE[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove an activation added by :func:`register`."""
    del TABLE[name]


def names() -> tuple:
    """Every activation name, None (the identity) first."""
    return tuple(TABLE)


def get(activation) -> Activation:
    """The entry of ``activation``; ValueError naming the known ones otherwise."""
    try:
        return TABLE[activation]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {activation!r}; expected one of "
                         f"{names()}") from None


def reads_output(activation) -> bool:
    """Whether the gradient of ``activation`` reads the forward's output."""
    return TABLE[activation].reads == "out"


# -- scalar helpers of the Numba formulas (the CPU kernels give float32 faster versions of
#    exp_nonpos, tanh, norm_cdf and x_norm_pdf; the CUDA kernels inline these) -------------
def typed(x, c):
    """The constant ``c`` in the scalar type of ``x``."""
    return type(x)(c)


def exp_nonpos(x):
    """exp(x) for x <= 0."""
    return math.exp(x)


def tanh(x):
    return math.tanh(x)


def norm_cdf(x):
    """Phi(x), the standard normal CDF (erfc keeps the negative tail accurate)."""
    return typed(x, 0.5) * math.erfc(-x * typed(x, SQRT1_2))


def x_norm_pdf(x):
    """x * phi(x), phi the standard normal density."""
    return x * math.exp(-typed(x, 0.5) * x * x) * typed(x, INV_SQRT_2PI)


def logistic(x):
    """sigmoid(x) without overflow: exp of a non-positive number only."""
    e = exp_nonpos(-abs(x))
    r = typed(x, 1.0) / (typed(x, 1.0) + e)
    return r if x >= typed(x, 0.0) else e * r


# -- array helpers of the reference formulas --------------------------------------------------
try:  # SciPy is optional: its expit is one accurate pass
    from scipy.special import expit as _expit
except ImportError:  # pragma: no cover
    _expit = None


def is_numpy(xp) -> bool:
    """Whether the array namespace ``xp`` is NumPy, or stands for it (``tc.compile``'s
    recording namespace does while it traces): code asks this, never ``xp is np``, so that
    a traced step takes the path eager code takes."""
    return getattr(xp, "__name__", None) == "numpy"


def sigmoid(xp, z):
    """sigmoid elementwise: SciPy's expit on NumPy where installed, else a stable formula."""
    if is_numpy(xp) and _expit is not None:
        return _expit(z)
    return _sigmoid_stable(xp, z)


def _sigmoid_stable(xp, z):
    # numerically stable: exp of a non-positive number only
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def erf(xp, x):
    """erf elementwise: SciPy's where it is installed (optional), else exact ``math.erf``
    for float64 on NumPy, else a float32-accurate series."""
    if is_numpy(xp):
        try:
            from scipy.special import erf as scipy_erf
        except ImportError:  # pragma: no cover - scipy is optional
            if x.dtype == np.float64:
                return _erf_exact(x)
        else:
            return scipy_erf(x)
    if getattr(xp, "__name__", "") == "cupy":  # pragma: no cover - needs a GPU
        from cupyx.scipy.special import erf as cupy_erf  # exact in float32 and float64

        return cupy_erf(x)
    return _erf_series(xp, x)


_erf_exact = np.vectorize(math.erf, otypes=[np.float64])


def _erf_series(xp, x):
    """Abramowitz-Stegun 7.1.26 refined: max error 1.2e-7 (float32 accuracy)."""
    t = 1.0 / (1.0 + 0.5 * xp.abs(x))
    y = 1 - t * xp.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return xp.where(x >= 0, y, -y).astype(x.dtype, copy=False)


# -- the activations ---------------------------------------------------------------------------
def _identity(v):
    return v


def _identity_grad(g, s):
    return g


def _relu(v):
    return typed(v, 0.0) if v < typed(v, 0.0) else v  # NaN propagates, like np.maximum


def _relu_grad(g, s):
    return g if s > typed(s, 0.0) else typed(g, 0.0)


def _gelu(v):
    return v * norm_cdf(v)


def _gelu_grad(g, s):  # d/dz z * Phi(z) = Phi(z) + z * phi(z)
    return g * (norm_cdf(s) + x_norm_pdf(s))


def _sigmoid_grad(g, s):
    return g * (s * (typed(s, 1.0) - s))


def _tanh_grad(g, s):
    return g * (typed(s, 1.0) - s * s)


def _silu(v):
    return v * logistic(v)


def _silu_grad(g, s):  # d/dz z * sigmoid(z) = sigmoid(z) * (1 + z * (1 - sigmoid(z)))
    r = logistic(s)
    return g * (r * (typed(s, 1.0) + s * (typed(s, 1.0) - r)))


def _gelu_array_grad(xp, g, pre):
    cdf = 0.5 * (1.0 + erf(xp, pre * SQRT1_2))
    pdf = xp.exp(-0.5 * pre * pre) * INV_SQRT_2PI
    return g * (cdf + pre * pdf)


def _silu_array_grad(xp, g, pre):
    s = sigmoid(xp, pre)
    return g * (s * (1 + pre * (1 - s)))


_C_SIGMOID = "v >= (T)0 ? (T)1 / ((T)1 + exp(-v)) : exp(v) / ((T)1 + exp(v))"

for _entry in (
    Activation(None, None, lambda t: t, lambda xp, z: z, lambda xp, g, s: g,
               _identity, _identity_grad, "y = v;", "gz = g;", cublaslt="BIAS"),
    Activation("relu", "out", lambda t: t.relu(),
               lambda xp, z: xp.maximum(z, 0, out=z),
               # a select: an inf gradient where out is 0 gives 0
               lambda xp, g, out: xp.where(out > 0, g, 0),
               _relu, _relu_grad,
               "y = v < (T)0 ? (T)0 : v;", "gz = y > (T)0 ? g : (T)0;",  # NaN stays NaN
               cublaslt="RELU_BIAS"),
    Activation("gelu", "pre", lambda t: 0.5 * t * (1 + (t * SQRT1_2).erf()),
               lambda xp, z: 0.5 * z * (1.0 + erf(xp, z * SQRT1_2)), _gelu_array_grad,
               _gelu, _gelu_grad,
               "y = (T)0.5 * v * ((T)1 + erf(v * (T)0.7071067811865476));",
               "gz = g * ((T)0.5 * ((T)1 + erf(p * (T)0.7071067811865476))"
               " + p * exp((T)-0.5 * p * p) * (T)0.3989422804014327);"),
    Activation("sigmoid", "out", lambda t: t.sigmoid(), sigmoid,
               lambda xp, g, out: g * out * (1 - out), logistic, _sigmoid_grad,
               f"y = {_C_SIGMOID};", "gz = g * y * ((T)1 - y);"),
    Activation("tanh", "out", lambda t: t.tanh(), lambda xp, z: xp.tanh(z, out=z),
               lambda xp, g, out: g * (1 - out * out), tanh, _tanh_grad,
               "y = tanh(v);", "gz = g * ((T)1 - y * y);"),
    Activation("silu", "pre", lambda t: t * t.sigmoid(), lambda xp, z: z * sigmoid(xp, z),
               _silu_array_grad, _silu, _silu_grad,
               f"y = v * ({_C_SIGMOID});",
               "gz = g * (({0}) * ((T)1 + p * ((T)1 - ({0}))));".format(
                   _C_SIGMOID.replace("v", "p"))),
):
    register(_entry)
del _entry

from . import activations_extra  # noqa: E402, F401 - registers PyTorch's other activations
