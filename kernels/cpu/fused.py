"""Fused CPU epilogues for ``linear``: bias add + activation, and their backward.

Pure array functions: NumPy arrays in, NumPy arrays out. Nothing here imports from
``tensorcore`` outside ``tensorcore.kernels``.

Forward (the GEMM ``z = x @ w.T`` is done by the caller)::

    out, pre = bias_act_forward(z, b, activation)       # out = act(z + b)

Backward::

    grad_z, grad_b = act_backward(grad_out, out, pre, activation, need_bias_grad)

``activation`` is one of :data:`ACTIVATIONS`: ``"relu"``, ``"gelu"`` (exact erf GELU, as the
default of ``torch.nn.functional.gelu``), ``"sigmoid"``, ``"tanh"`` or ``None`` (identity).

Aliasing (what the caller must know):

* ``bias_act_forward`` takes ownership of ``z`` and overwrites it. For relu, sigmoid, tanh and
  None, ``out is z`` and ``pre is None``. For gelu, ``z`` is overwritten with ``z + b`` and
  returned as ``pre`` (``pre is z``), and ``out`` is a fresh array.
* ``act_backward`` never writes to ``grad_out``, ``out`` or ``pre``. ``grad_z`` is a fresh array,
  except for activation None, where ``grad_z is grad_out``. ``grad_b`` is always fresh.

Float32 and float64 run Numba kernels (compiled lazily on first use and cached on disk;
importing this module compiles nothing; :func:`warmup` compiles everything up front: ~10 s
cold, ~0.3 s from the cache). Float16 falls back to NumPy, computing in float32 and rounding
the results back to float16. Float32 transcendentals use vectorisable approximations accurate
to a few ulp (see "Scalar math" below); float64 uses libm.

Importing this module sets ``GOMP_SPINCOUNT=0`` unless already set (see the comment below:
spinning OpenMP workers otherwise slow the caller's next BLAS call down badly). Small arrays
run serial kernels; see ``FWD_PARALLEL_MIN`` / ``BWD_PARALLEL_MIN``.
"""

from __future__ import annotations

import math
import os

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.extending import intrinsic

__all__ = ["ACTIVATIONS", "act_backward", "bias_act_forward", "warmup"]

# Numba's default threading layer here is GNU OpenMP, whose idle workers busy-wait (pause
# loop, no yield) for ~GOMP_SPINCOUNT=300000 iterations (~10 ms on Xeons) after every parallel
# region. Right after an epilogue the caller runs a BLAS GEMM whose own worker threads then
# fight the spinning OpenMP thread for the cores: measured on the 2-core dev box, an MLP
# train step (batch 256, 512-2048-2048-10, float32) took 58 ms with the default spin vs 31.5
# ms with GOMP_SPINCOUNT=0 (NumPy reference: 32.5 ms). libgomp reads this when it is loaded,
# i.e. at Numba's first parallel launch, so setting it here (before any kernel runs) works;
# setdefault leaves a user's own setting alone. Affects only libgomp, not Intel OpenMP/BLAS.
os.environ.setdefault("GOMP_SPINCOUNT", "0")

ACTIVATIONS = ("relu", "gelu", "sigmoid", "tanh", None)

# Activation codes passed to the kernels (one compiled kernel covers every activation; the
# branch on the code is taken once per row, outside the vectorised inner loops).
_NONE, _RELU, _GELU, _SIGMOID, _TANH = 0, 1, 2, 3, 4
_CODES = {None: _NONE, "relu": _RELU, "gelu": _GELU, "sigmoid": _SIGMOID, "tanh": _TANH}
CODES = _CODES  # activation name -> the kernels' code (for the ``*_checked`` entry points)

# Below this many elements (M * N) the serial kernels are used. Waking the (sleeping, see
# GOMP_SPINCOUNT above) worker thread of a parallel kernel costs ~70 us on the 2-core dev VM,
# and the memory-bound epilogues (relu, None, the relu/sigmoid/tanh backward) gain little from
# a second core: the data was just written by this thread or by the BLAS threads. Measured
# there (float32, NUMBA_NUM_THREADS=2, GOMP_SPINCOUNT=0, quiet machine; median us, kernel
# only, serial / parallel):
#   elements            262144      524288      1048576     2097152     8388608
#   fwd relu           22 /   83    46 /   86   142 /  171   300 /  294  1254 /  716
#   fwd tanh          256 /  199   525 /  342  1042 /  640  2115 / 1113
#   fwd gelu          666 /  368  1462 /  750  3082 / 1393  6250 / 2721
#   bwd relu + gb     100 /  148   265 /  184   453 /  395   925 /  666  6981 / 3560
#   bwd gelu + gb     671 /  432  1397 /  793  2782 / 1568  5704 / 2980
#   (131072 elements: fwd gelu 269 / 206, fwd tanh 128 / 139, bwd gelu 355 / 249;
#    65536 elements: fwd gelu 151 / 140, bwd gelu 172 / 157)
# At 2097152 elements through the public API with z freshly written by this thread: fwd relu
# 285 / 377, bwd relu + gb 960 / 900, fwd gelu 3847 / 2221, fwd tanh 2069 / 1320 (best of 15).
# In a whole MLP step (batch 1024, 784-2048-2048-10) serial vs parallel relu epilogues were
# within noise (+-1%), so the memory-bound cases go parallel only from 4M / 2M elements, where
# it clearly pays; serial is also the robust choice when other processes share the cores.
# Mutable on purpose: benchmarks may tune them for another machine.
FWD_PARALLEL_MIN = {
    _NONE: 1 << 22,
    _RELU: 1 << 22,
    _GELU: 1 << 17,
    _SIGMOID: 1 << 18,
    _TANH: 1 << 18,
}
BWD_PARALLEL_MIN = {
    _NONE: 1 << 21,
    _RELU: 1 << 21,
    _GELU: 1 << 17,
    _SIGMOID: 1 << 21,
    _TANH: 1 << 21,
}

_NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_HALF = np.dtype(np.float16)

_SQRT1_2 = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 * pi)


# --------------------------------------------------------------------------------------------
# Scalar math used inside the kernels.
#
# float64 uses libm (math.exp / math.tanh / math.erfc). Those calls are not vectorised, and
# glibc's float32 tanhf / erff are slow (~17 ns / element here), so float32 uses branch-free
# implementations LLVM can vectorise (AVX2). Accuracy vs float64 references on dense grids over
# [-12, 12] (tests/test_cpu_kernels.py checks slightly looser bounds):
#   exp (x <= 0)  Cephes expf polynomial                                        <= 1 ulp
#   tanh          Cephes tanhf: odd polynomial for |x| < 0.625, else
#                 (1 - e) / (1 + e) with e = exp(-2|x|)                          <= 1.5 ulp
#   sigmoid       r = 1 / (1 + exp(-|x|)); r or e * r                            <= 2.7 ulp
#   gelu          x * Phi(x), Phi(x) = 0.5 * erfc(-x / sqrt 2) via the Numerical Recipes erfc
#                 (Chebyshev fit, relative error < 1.2e-7) with x**2 split exactly (Dekker)
#                 so its exp loses nothing: relative error <= 4.8e-7 (~7 ulp) everywhere,
#                 including the negative tail where the textbook 0.5 * (1 + erf(x / sqrt 2))
#                 (torch's formula) has no correct digits left; gelu' absolute error <= 2.5e-7.
# Results that would be subnormal are flushed to 0.
# Every kernel uses error_model="numpy": with the default ("python") every float division
# gets a ZeroDivisionError check, which blocks vectorisation.
# --------------------------------------------------------------------------------------------

_f32 = np.float32
_JIT = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True}
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


# The element functions below dispatch on the scalar type with isinstance(), which Numba
# resolves at compile time (the other branch is pruned). They are inlined at the Numba IR level
# (inline="always") so LLVM sees one loop body it can vectorise.


@njit(inline="always", **_INLINE)
def _exp_nonpos(x):
    """exp(x) for x <= 0."""
    if isinstance(x, np.float32):
        return _exp_sum32(x, _f32(0.0))
    else:
        return math.exp(x)


@njit(inline="always", **_INLINE)
def _tanh(x):
    if isinstance(x, np.float32):
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
    else:
        return math.tanh(x)


@njit(inline="always", **_INLINE)
def _norm_cdf(x):
    """Phi(x), the standard normal CDF."""
    if isinstance(x, np.float32):
        h, _, _ = _half_erfc_scaled32(abs(x))
        return _f32(1.0) - h if x >= _f32(0.0) else h
    else:
        return 0.5 * math.erfc(-x * _SQRT1_2)


@njit(inline="always", **_INLINE)
def _gelu_grad(x):
    """d/dx x * Phi(x) = Phi(x) + x * phi(x)."""
    if isinstance(x, np.float32):
        h, hi, lo = _half_erfc_scaled32(abs(x))
        cdf = _f32(1.0) - h if x >= _f32(0.0) else h
        pdf = _exp_sum32(_f32(-0.5) * hi, _f32(-0.5) * lo) * _f32(_INV_SQRT_2PI)
        return cdf + x * pdf
    else:
        return 0.5 * math.erfc(-x * _SQRT1_2) + x * math.exp(-0.5 * x * x) * _INV_SQRT_2PI


# --------------------------------------------------------------------------------------------
# Numba kernels. Row helpers do the work on rows [r0, r1); the serial path calls them from
# Python over all rows, the parallel drivers split the rows into one chunk per thread.
# Constants are built with ``x.dtype.type(...)`` so float32 math stays in float32 (a bare float
# literal would promote the whole expression to float64). The branch on the activation code
# is taken once per row, outside the vectorised inner loops.
# --------------------------------------------------------------------------------------------


@njit(**_JIT)
def _fwd_rows(z, b, out, r0, r1, act):
    """Rows r0..r1: gelu: z[i] <- z[i] + b, out[i] <- gelu(z[i]); other activations:
    z[i] <- act(z[i] + b) in place (out is unused). Reading and writing the same z[i, j] lets
    LLVM vectorise without the runtime overlap check that an aliased `out` would fail."""
    n = z.shape[1]
    zero = z.dtype.type(0)
    one = z.dtype.type(1)
    for i in range(r0, r1):
        zi = z[i]
        if act == _RELU:
            for j in range(n):
                v = zi[j] + b[j]
                zi[j] = zero if v < zero else v  # NaN propagates, like np.maximum
        elif act == _GELU:
            oi = out[i]
            for j in range(n):
                v = zi[j] + b[j]
                zi[j] = v
                oi[j] = v * _norm_cdf(v)
        elif act == _SIGMOID:
            for j in range(n):
                v = zi[j] + b[j]
                e = _exp_nonpos(-abs(v))  # never overflows
                r = one / (one + e)
                zi[j] = r if v >= zero else e * r
        elif act == _TANH:
            for j in range(n):
                zi[j] = _tanh(zi[j] + b[j])
        else:
            for j in range(n):
                zi[j] = zi[j] + b[j]


@njit(parallel=True, **_JIT)
def _fwd_par(z, b, out, act, nchunks):
    m = z.shape[0]
    step = (m + nchunks - 1) // nchunks
    for c in prange(nchunks):
        r0 = c * step
        _fwd_rows(z, b, out, r0, min(m, r0 + step), act)


@njit(**_JIT)
def _bwd_rows(g, s, gz, acc, r0, r1, act, need_gb):
    """gz[i] <- g[i] * act'(.) for rows r0..r1 and, if need_gb, acc += gz[i] in the same loop
    (acc is this chunk's own partial-sum row). s is the saved forward array: the output for
    relu / sigmoid / tanh, the pre-activation for gelu. For act None gz is g and only the
    column sum runs."""
    n = g.shape[1]
    zero = g.dtype.type(0)
    one = g.dtype.type(1)
    for i in range(r0, r1):
        gi = g[i]
        gzi = gz[i]
        si = s[i]
        if act == _RELU:
            if need_gb:
                for j in range(n):
                    v = gi[j] if si[j] > zero else zero
                    gzi[j] = v
                    acc[j] += v
            else:
                for j in range(n):
                    gzi[j] = gi[j] if si[j] > zero else zero
        elif act == _GELU:
            if need_gb:
                for j in range(n):
                    v = gi[j] * _gelu_grad(si[j])
                    gzi[j] = v
                    acc[j] += v
            else:
                for j in range(n):
                    gzi[j] = gi[j] * _gelu_grad(si[j])
        elif act == _SIGMOID:
            if need_gb:
                for j in range(n):
                    v = gi[j] * (si[j] * (one - si[j]))
                    gzi[j] = v
                    acc[j] += v
            else:
                for j in range(n):
                    gzi[j] = gi[j] * (si[j] * (one - si[j]))
        elif act == _TANH:
            if need_gb:
                for j in range(n):
                    v = gi[j] * (one - si[j] * si[j])
                    gzi[j] = v
                    acc[j] += v
            else:
                for j in range(n):
                    gzi[j] = gi[j] * (one - si[j] * si[j])
        elif need_gb:
            for j in range(n):
                acc[j] += gi[j]


@njit(parallel=True, **_JIT)
def _bwd_par(g, s, gz, acc, act, need_gb):
    m = g.shape[0]
    nchunks = acc.shape[0]
    step = (m + nchunks - 1) // nchunks
    for c in prange(nchunks):
        r0 = c * step
        _bwd_rows(g, s, gz, acc[c], r0, min(m, r0 + step), act, need_gb)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _code(activation):
    try:
        return _CODES[activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {ACTIVATIONS}"
        ) from None


def _describe(name, a):
    return f"{name} (shape {a.shape}, dtype {a.dtype})"


def _check_matrix(name, a, shape=None, writeable=False):
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.ndim != 2:
        raise ValueError(f"{_describe(name, a)} must be 2-D (M, N)")
    if a.dtype not in _NUMBA_DTYPES and a.dtype != _HALF:
        raise ValueError(f"{_describe(name, a)}: dtype must be float16, float32 or float64")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{_describe(name, a)}: shape must be {shape}, like grad_out")
    if not a.flags.c_contiguous:
        raise ValueError(f"{_describe(name, a)} must be C-contiguous")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{_describe(name, a)} must be writeable (it is overwritten in place)")


def _check_bias(b, z):
    """Validate b against z; return it as a contiguous array of z's dtype (b is tiny, so a
    cast or copy is cheap; like NumPy's ``z += b``, a float64 b is rounded to z's dtype)."""
    if not isinstance(b, np.ndarray):
        raise ValueError(f"b must be a numpy.ndarray or None, got {type(b).__name__}")
    n = z.shape[1]
    if b.shape != (n,):
        raise ValueError(f"{_describe('b', b)}: shape must be ({n},) for {_describe('z', z)}")
    if b.dtype.kind not in "fiu":
        raise ValueError(f"{_describe('b', b)}: dtype must be numeric, like {_describe('z', z)}")
    return np.ascontiguousarray(b, dtype=z.dtype)


def _nchunks(m):
    return max(1, min(get_num_threads(), m))


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def bias_act_forward(z, b, activation):
    """Fused ``out = act(z + b)``.

    ``z`` is the (M, N) C-contiguous GEMM result ``x @ w.T`` (float16/32/64, writeable; this
    function owns it and overwrites it), ``b`` is an (N,) array or None (another numeric dtype
    or a strided b is converted to a contiguous array of z's dtype first, like ``z += b``).

    Returns ``(out, pre)``. For relu, sigmoid, tanh and None, ``out is z`` (computed in place)
    and ``pre is None``. For gelu, ``pre is z`` holding ``z + b`` (needed by the backward) and
    ``out`` is a fresh array. Raises ValueError for bad shapes, dtypes or layouts.
    """
    act = _code(activation)
    _check_matrix("z", z, writeable=True)
    if b is not None:
        b = _check_bias(b, z)
    if z.dtype == _HALF:
        return _forward_numpy(z, b, act)
    return bias_act_checked(z, b, act)


def bias_act_checked(z, b, act: int):
    """``bias_act_forward`` after its checks: z a writeable C-contiguous float32/64 (M, N),
    b None or a contiguous (N,) of z's dtype, ``act`` an activation code (``CODES``). For
    callers that have checked these already (the numba backend)."""
    m, n = z.shape
    if act == _NONE and b is None:
        return z, None
    out = np.empty_like(z) if act == _GELU else z
    if z.size:
        bb = np.zeros(n, z.dtype) if b is None else b
        if z.size < FWD_PARALLEL_MIN[act]:
            _fwd_rows(z, bb, out, 0, m, act)  # serial: the row helper over all rows
        else:
            _fwd_par(z, bb, out, act, _nchunks(m))
    return out, (z if act == _GELU else None)


def act_backward(grad_out, out, pre, activation, need_bias_grad):
    """Fused backward of :func:`bias_act_forward`.

    Returns ``(grad_z, grad_b)`` with ``grad_z = grad_out * act'(.)`` (shape (M, N)) and
    ``grad_b = grad_z.sum(axis=0)`` (shape (N,), in the input dtype; accumulated in float32 for
    float16/float32 and float64 for float64), or None when ``need_bias_grad`` is false. Both
    are computed in one pass over the data.

    ``out`` is the forward output (used by relu, sigmoid, tanh; may be None for gelu and None),
    ``pre`` the pre-activation returned by the forward (required for gelu, ignored otherwise).
    All arrays are 2-D, C-contiguous, of shape (M, N) and float16/32/64. If ``out`` / ``pre``
    has another dtype than ``grad_out``, both are converted to the promoted dtype first (a
    copy, like NumPy's promotion) and the results have that dtype. Raises ValueError for bad
    shapes, dtypes or layouts.

    Nothing passed in is modified. ``grad_z`` is fresh, except for activation None where
    ``grad_z is grad_out``.
    """
    act = _code(activation)
    _check_matrix("grad_out", grad_out)
    shape = grad_out.shape
    if act in (_RELU, _SIGMOID, _TANH):
        if out is None:
            raise ValueError(f"activation {activation!r} needs `out` (the forward output)")
        _check_matrix("out", out, shape)
    if act == _GELU:
        if pre is None:
            raise ValueError("activation 'gelu' needs `pre` (the pre-activation from the forward)")
        _check_matrix("pre", pre, shape)
    saved = pre if act == _GELU else out if act != _NONE else None
    dtype = grad_out.dtype
    if saved is not None and saved.dtype != dtype:
        # mixed precision: compute in the promoted dtype, like NumPy would (costs a copy)
        dtype = np.promote_types(dtype, saved.dtype)
        grad_out = grad_out.astype(dtype, copy=False)
        saved = saved.astype(dtype, copy=False)
        out, pre = (saved, None) if act != _GELU else (None, saved)

    if dtype == _HALF:
        return _backward_numpy(grad_out, out, pre, act, need_bias_grad)
    return act_backward_checked(grad_out, saved, act, need_bias_grad)


def act_backward_checked(grad_out, saved, act: int, need_bias_grad: bool):
    """``act_backward`` after its checks: grad_out and ``saved`` (the forward output for
    relu/sigmoid/tanh, the pre-activation for gelu, None for None) C-contiguous float32/64
    (M, N) arrays of one dtype. For callers that have checked these already."""
    m, n = grad_out.shape
    dtype = grad_out.dtype
    if act == _NONE and not need_bias_grad:
        return grad_out, None
    parallel = grad_out.size >= BWD_PARALLEL_MIN[act]
    nchunks = _nchunks(m) if parallel else 1
    acc = np.zeros((nchunks, n if need_bias_grad else 0), dtype)
    if act == _NONE:  # only the column sum runs; (M, 0) stands in for gz and s
        gz = s = np.empty((m, 0), dtype)
    else:
        gz, s = np.empty(grad_out.shape, dtype), saved
    if grad_out.size:
        if parallel:
            _bwd_par(grad_out, s, gz, acc, act, bool(need_bias_grad))
        else:  # serial: the row helper over all rows
            _bwd_rows(grad_out, s, gz, acc[0], 0, m, act, bool(need_bias_grad))
    if act == _NONE:
        gz = grad_out
    if not need_bias_grad:
        return gz, None
    grad_b = acc[0] if nchunks == 1 else acc.sum(axis=0)
    return gz, grad_b


# --------------------------------------------------------------------------------------------
# float16 fallback (NumPy, computing in float32)
# --------------------------------------------------------------------------------------------


def _act_numpy(x, act):
    if act == _RELU:
        return np.maximum(x, 0)
    if act == _GELU:
        return 0.5 * x * (1.0 + _erf(x * _SQRT1_2))
    if act == _SIGMOID:
        e = np.exp(-np.abs(x))
        r = 1.0 / (1.0 + e)
        return np.where(x >= 0, r, e * r)
    if act == _TANH:
        return np.tanh(x)
    return x


_erf_scalar = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    return _erf_scalar(x).astype(x.dtype, copy=False)


def _forward_numpy(z, b, act):
    x = z.astype(np.float32)
    if b is not None:
        x += b.astype(np.float32)
    y = _act_numpy(x, act)
    if act == _GELU:
        z[...] = x
        return y.astype(np.float16), z
    z[...] = y
    return z, None


def _backward_numpy(grad_out, out, pre, act, need_bias_grad):
    g = grad_out.astype(np.float32)
    if act == _RELU:
        g *= out > 0
    elif act == _GELU:
        x = pre.astype(np.float32)
        g *= 0.5 * (1.0 + _erf(x * _SQRT1_2)) + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    elif act == _SIGMOID:
        o = out.astype(np.float32)
        g *= o * (1.0 - o)
    elif act == _TANH:
        o = out.astype(np.float32)
        g *= 1.0 - o * o
    grad_b = g.sum(axis=0).astype(np.float16) if need_bias_grad else None
    gz = grad_out if act == _NONE else g.astype(np.float16)
    return gz, grad_b


# --------------------------------------------------------------------------------------------


def warmup():
    """Compile (or load from the on-disk cache) every kernel variant for float32 and float64."""
    for dtype in _NUMBA_DTYPES:
        z = np.zeros((2, 3), dtype)
        b = np.zeros(3, dtype)
        acc = np.zeros((2, 3), dtype)
        _fwd_rows(z, b, z, 0, 2, _RELU)
        _fwd_par(z, b, z, _RELU, 2)
        _bwd_rows(z, z, z, acc[0], 0, 2, _RELU, True)
        _bwd_par(z, z, z, acc, _RELU, True)
