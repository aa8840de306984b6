"""Fused CPU epilogues for ``linear``: bias add + activation, and their backward.

Pure array functions: NumPy arrays in, NumPy arrays out. Nothing here imports from
``tensorcore`` outside ``tensorcore.kernels``.

Forward (the GEMM ``z = x @ w.T`` is done by the caller)::

    out, pre = bias_act_forward(z, b, activation)       # out = act(z + b)

Backward::

    grad_z, grad_b = act_backward(grad_out, out, pre, activation, need_bias_grad)

``activation`` is a name of the activation table (:mod:`tensorcore.kernels.activations`:
None, ``"relu"``, ``"gelu"`` (exact erf GELU, as the default of
``torch.nn.functional.gelu``), ``"sigmoid"``, ``"tanh"``, ``"silu"``, and any registered
later). The kernels are built from the table's scalar formulas: one compiled set per
activation (:func:`kernels_for`), made on first use.

Aliasing (what the caller must know):

* ``bias_act_forward`` takes ownership of ``z`` and overwrites it. For an activation whose
  gradient reads the output (relu, sigmoid, tanh) and None, ``out is z`` and ``pre is None``.
  For one that reads the pre-activation (gelu, silu), ``z`` is overwritten with ``z + b`` and
  returned as ``pre`` (``pre is z``), and ``out`` is a fresh array.
* ``act_backward`` never writes to ``grad_out``, ``out`` or ``pre``. ``grad_z`` is a fresh array,
  except for activation None, where ``grad_z is grad_out``. ``grad_b`` is always fresh.

Float32 and float64 run Numba kernels (compiled lazily on first use and cached on disk;
importing this module compiles nothing; :func:`warmup` compiles everything up front). Float16
falls back to the table's array formulas, computing in float32 and rounding the results back
to float16. Float32 transcendentals use vectorisable approximations accurate to a few ulp
(:mod:`.scalar_math`); float64 uses libm.

Importing this module sets ``GOMP_SPINCOUNT=0`` unless already set (see the comment below:
spinning OpenMP workers otherwise slow the caller's next BLAS call down). Small arrays run
serial kernels; see ``FWD_PARALLEL_MIN`` / ``BWD_PARALLEL_MIN``.
"""

from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

import numpy as np
from numba import get_num_threads, njit, prange

from .. import activations
from .scalar_math import jitable

__all__ = ["act_backward", "bias_act_forward", "kernels_for", "warmup"]

# Numba's default threading layer here is GNU OpenMP, whose idle workers busy-wait (pause
# loop, no yield) for GOMP_SPINCOUNT iterations after every parallel region. Right after an
# epilogue the caller runs a BLAS GEMM whose own worker threads then fight the spinning
# OpenMP thread for the cores, which slows a whole MLP train step down (measured:
# docs/benchmarks.md). libgomp reads this when it is loaded, i.e. at Numba's first parallel
# launch, so setting it here (before any kernel runs) works; setdefault leaves a user's own
# setting alone. Affects only libgomp, not Intel OpenMP/BLAS.
os.environ.setdefault("GOMP_SPINCOUNT", "0")

# Below this many elements (M * N) the serial kernels are used. Waking the (sleeping, see
# GOMP_SPINCOUNT above) worker thread of a parallel kernel has a fixed cost, and the
# memory-bound epilogues (relu, None, the relu/sigmoid/tanh backward) gain little from a
# second core: the data was just written by this thread or by the BLAS threads. So the
# memory-bound cases go parallel only from 4M / 2M elements, the transcendental ones much
# earlier; serial is also the robust choice when other processes share the cores. The
# measurements behind these numbers are in docs/benchmarks.md. Keyed by activation name; an
# activation not listed takes DEFAULT_PARALLEL_MIN. Mutable on purpose: benchmarks may tune
# them for another machine.
FWD_PARALLEL_MIN = {
    None: 1 << 22,
    "relu": 1 << 22,
    "gelu": 1 << 17,
    "sigmoid": 1 << 18,
    "tanh": 1 << 18,
    "silu": 1 << 18,
}
BWD_PARALLEL_MIN = {
    None: 1 << 21,
    "relu": 1 << 21,
    "gelu": 1 << 17,
    "sigmoid": 1 << 21,
    "tanh": 1 << 21,
    "silu": 1 << 18,
}
DEFAULT_PARALLEL_MIN = 1 << 18

_NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_HALF = np.dtype(np.float16)
_JIT = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True}


# --------------------------------------------------------------------------------------------
# Numba kernels, one set per activation, built from its table entry. Row helpers do the work
# on rows [r0, r1); the serial path calls them from Python over all rows, the parallel
# drivers split the rows into one chunk per thread. The activation's scalar functions are
# closure constants, inlined into the loops (LLVM vectorises them). The closures are cached
# on disk by Numba, keyed on their closure values: the scalar functions (pickled by name) and
# a digest of their code, so that editing a formula recompiles its kernels.
# --------------------------------------------------------------------------------------------


class Kernels(NamedTuple):
    """The compiled kernels of one activation."""

    name: str | None
    keep_pre: bool  # the gradient reads the pre-activation: the forward keeps z + b
    fwd_rows: object
    fwd_par: object
    bwd_rows: object
    bwd_par: object


def _digest(*functions) -> int:
    """A digest of the code of ``functions`` and of the plain functions they call."""
    h, seen, todo = hashlib.sha256(), set(), list(functions)
    while todo:
        fn = todo.pop()
        if fn in seen or not hasattr(fn, "__code__"):
            continue
        seen.add(fn)
        code = fn.__code__
        h.update(code.co_code + repr((code.co_consts, code.co_names)).encode())
        todo.extend(fn.__globals__.get(name) for name in code.co_names)
    return int.from_bytes(h.digest()[:7], "little")


def _build(entry: activations.Activation) -> Kernels:
    f, grad = entry.scalar, entry.scalar_grad
    jitable(f)
    jitable(grad)
    keep_pre = entry.reads == "pre"
    identity = entry.name is None
    digest = _digest(f, grad)

    def fwd_rows(z, b, out, r0, r1):
        """Rows r0..r1: keep_pre: z[i] <- z[i] + b, out[i] <- f(z[i]); else
        z[i] <- f(z[i] + b) in place (out is unused). Reading and writing the same z[i, j]
        lets LLVM vectorise without the runtime overlap check an aliased `out` would fail."""
        _ = digest
        n = z.shape[1]
        for i in range(r0, r1):
            zi = z[i]
            if keep_pre:
                oi = out[i]
                for j in range(n):
                    v = zi[j] + b[j]
                    zi[j] = v
                    oi[j] = f(v)
            else:
                for j in range(n):
                    zi[j] = f(zi[j] + b[j])

    def fwd_par(z, b, out, nchunks):
        _ = digest
        m = z.shape[0]
        step = (m + nchunks - 1) // nchunks
        for c in prange(nchunks):
            r0 = c * step
            fwd_rows(z, b, out, r0, min(m, r0 + step))

    def bwd_rows(g, s, gz, acc, r0, r1, need_gb):
        """gz[i] <- grad(g[i], s[i]) for rows r0..r1 and, if need_gb, acc += gz[i] in the
        same loop (acc is this chunk's own partial-sum row). s is the saved forward array
        (the output or the pre-activation, as the table says). For the identity gz is g and
        only the column sum runs."""
        _ = digest
        n = g.shape[1]
        for i in range(r0, r1):
            gi = g[i]
            if identity:
                if need_gb:
                    for j in range(n):
                        acc[j] += gi[j]
                continue
            gzi = gz[i]
            si = s[i]
            if need_gb:
                for j in range(n):
                    v = grad(gi[j], si[j])
                    gzi[j] = v
                    acc[j] += v
            else:
                for j in range(n):
                    gzi[j] = grad(gi[j], si[j])

    def bwd_par(g, s, gz, acc, need_gb):
        _ = digest
        m = g.shape[0]
        nchunks = acc.shape[0]
        step = (m + nchunks - 1) // nchunks
        for c in prange(nchunks):
            r0 = c * step
            bwd_rows(g, s, gz, acc[c], r0, min(m, r0 + step), need_gb)

    jitable(fwd_rows)
    jitable(bwd_rows)
    # Numba's disk cache pickles the scalar functions by module and name: only the table's
    # own entries can be found again by a later process (an activation registered from a
    # notebook cell or an exec'd string cannot), so only those are cached
    jit = dict(_JIT, cache=_importable(f) and _importable(grad))
    return Kernels(entry.name, keep_pre, njit(**jit)(fwd_rows),
                   njit(parallel=True, **jit)(fwd_par), njit(**jit)(bwd_rows),
                   njit(parallel=True, **jit)(bwd_par))


def _importable(fn) -> bool:
    """Whether ``fn`` is a module-level function of tensorcore's kernels (found by name)."""
    return fn.__module__.startswith("tensorcore.kernels.") and "<locals>" not in fn.__qualname__


_BUILT: dict[activations.Activation, Kernels] = {}


def kernels_for(activation) -> Kernels:
    """The kernels of ``activation`` (built on first use; ValueError for an unknown name)."""
    try:
        entry = activations.TABLE[activation]
    except (KeyError, TypeError):
        entry = activations.get(activation)  # raises the ValueError naming the known ones
    built = _BUILT.get(entry)
    if built is None:
        built = _BUILT[entry] = _build(entry)
    return built


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


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

    Returns ``(out, pre)``. Where the gradient reads the output (relu, sigmoid, tanh) and for
    None, ``out is z`` (computed in place) and ``pre is None``. Where it reads the
    pre-activation (gelu, silu), ``pre is z`` holding ``z + b`` and ``out`` is a fresh array.
    Raises ValueError for an unknown activation or bad shapes, dtypes or layouts.
    """
    kernels = kernels_for(activation)
    _check_matrix("z", z, writeable=True)
    if b is not None:
        b = _check_bias(b, z)
    if z.dtype == _HALF:
        return _forward_numpy(z, b, activation)
    return bias_act_checked(z, b, kernels)


def bias_act_checked(z, b, kernels: Kernels):
    """``bias_act_forward`` after its checks: z a writeable C-contiguous float32/64 (M, N),
    b None or a contiguous (N,) of z's dtype, ``kernels`` from :func:`kernels_for`. For
    callers that have checked these already (the numba backend)."""
    m, n = z.shape
    if kernels.name is None and b is None:
        return z, None
    out = np.empty_like(z) if kernels.keep_pre else z
    if z.size:
        bb = np.zeros(n, z.dtype) if b is None else b
        if z.size < FWD_PARALLEL_MIN.get(kernels.name, DEFAULT_PARALLEL_MIN):
            kernels.fwd_rows(z, bb, out, 0, m)  # serial: the row helper over all rows
        else:
            kernels.fwd_par(z, bb, out, _nchunks(m))
    return out, (z if kernels.keep_pre else None)


def act_backward(grad_out, out, pre, activation, need_bias_grad):
    """Fused backward of :func:`bias_act_forward`.

    Returns ``(grad_z, grad_b)`` with ``grad_z = grad_out * act'(.)`` (shape (M, N)) and
    ``grad_b = grad_z.sum(axis=0)`` (shape (N,), in the input dtype; accumulated in float32 for
    float16/float32 and float64 for float64), or None when ``need_bias_grad`` is false. Both
    are computed in one pass over the data.

    ``out`` is the forward output (read by relu, sigmoid, tanh; may be None otherwise),
    ``pre`` the pre-activation returned by the forward (required for gelu and silu, ignored
    otherwise). All arrays are 2-D, C-contiguous, of shape (M, N) and float16/32/64. If the
    saved array has another dtype than ``grad_out``, both are converted to the promoted dtype
    first (a copy, like NumPy's promotion) and the results have that dtype. Raises ValueError
    for bad shapes, dtypes or layouts.

    Nothing passed in is modified. ``grad_z`` is fresh, except for activation None where
    ``grad_z is grad_out``.
    """
    kernels = kernels_for(activation)
    _check_matrix("grad_out", grad_out)
    shape = grad_out.shape
    saved = None
    if kernels.name is not None and not kernels.keep_pre:
        if out is None:
            raise ValueError(f"activation {activation!r} needs `out` (the forward output)")
        _check_matrix("out", out, shape)
        saved = out
    if kernels.keep_pre:
        if pre is None:
            raise ValueError(f"activation {activation!r} needs `pre` (the pre-activation "
                             f"from the forward)")
        _check_matrix("pre", pre, shape)
        saved = pre
    dtype = grad_out.dtype
    if saved is not None and saved.dtype != dtype:
        # mixed precision: compute in the promoted dtype, like NumPy would (costs a copy)
        dtype = np.promote_types(dtype, saved.dtype)
        grad_out = grad_out.astype(dtype, copy=False)
        saved = saved.astype(dtype, copy=False)

    if dtype == _HALF:
        return _backward_numpy(grad_out, saved, activation, need_bias_grad)
    return act_backward_checked(grad_out, saved, kernels, need_bias_grad)


def act_backward_checked(grad_out, saved, kernels: Kernels, need_bias_grad: bool):
    """``act_backward`` after its checks: grad_out and ``saved`` (what the table says the
    gradient reads: the forward output or the pre-activation; None for None) C-contiguous
    float32/64 (M, N) arrays of one dtype. For callers that have checked these already."""
    m, n = grad_out.shape
    dtype = grad_out.dtype
    identity = kernels.name is None
    if identity and not need_bias_grad:
        return grad_out, None
    parallel = grad_out.size >= BWD_PARALLEL_MIN.get(kernels.name, DEFAULT_PARALLEL_MIN)
    nchunks = _nchunks(m) if parallel else 1
    acc = np.zeros((nchunks, n if need_bias_grad else 0), dtype)
    if identity:  # only the column sum runs; (M, 0) stands in for gz and s
        gz = s = np.empty((m, 0), dtype)
    else:
        gz, s = np.empty(grad_out.shape, dtype), saved
    if grad_out.size:
        if parallel:
            kernels.bwd_par(grad_out, s, gz, acc, bool(need_bias_grad))
        else:  # serial: the row helper over all rows
            kernels.bwd_rows(grad_out, s, gz, acc[0], 0, m, bool(need_bias_grad))
    if identity:
        gz = grad_out
    if not need_bias_grad:
        return gz, None
    grad_b = acc[0] if nchunks == 1 else acc.sum(axis=0)
    return gz, grad_b


# --------------------------------------------------------------------------------------------
# float16 fallback (the table's array formulas, computing in float32)
# --------------------------------------------------------------------------------------------


def _forward_numpy(z, b, activation):
    entry = activations.get(activation)
    x = z.astype(np.float32)
    if b is not None:
        x += b.astype(np.float32)
    if entry.reads == "pre":
        y = entry.array(np, x.copy())
        z[...] = x
        return y.astype(np.float16), z
    z[...] = entry.array(np, x)
    return z, None


def _backward_numpy(grad_out, saved, activation, need_bias_grad):
    entry = activations.get(activation)
    g = grad_out.astype(np.float32)
    if activation is not None:
        g = entry.array_grad(np, g, saved.astype(np.float32))
    grad_b = g.sum(axis=0).astype(np.float16) if need_bias_grad else None
    gz = grad_out if activation is None else g.astype(np.float16)
    return gz, grad_b


# --------------------------------------------------------------------------------------------


def warmup(names=None):
    """Compile (or load from the on-disk cache) the kernels of every activation of the table
    (or of ``names``) for float32 and float64."""
    for name in activations.names() if names is None else names:
        k = kernels_for(name)
        for dtype in _NUMBA_DTYPES:
            z = np.zeros((2, 3), dtype)
            b = np.zeros(3, dtype)
            acc = np.zeros((2, 3), dtype)
            k.fwd_rows(z, b, z.copy(), 0, 2)
            k.fwd_par(z, b, z.copy(), 2)
            k.bwd_rows(z, z, z.copy(), acc[0], 0, 2, True)
            k.bwd_par(z, z, z.copy(), acc, True)
