"""The kernel-path policy of the CUDA backend, and the one table it dispatches by.

``kernel_path`` picks the path (``numba``, ``cupy``, ``unfused``) an entry point takes, from
``tensorcore.backends.kernel_paths`` (the switch and ``auto``'s thresholds), the dtype, graph
mode and what the backend can run (``fused_paths``). ``KERNEL_TABLE`` maps each
``(entry, path)`` to the function that runs it; every function takes the backend first:

* ``unfused``: the contract's reference ``xp`` code;
* ``cupy``: cuBLAS (CuPy's ``@``, or the backend's own handle in a graph) plus ONE CuPy
  epilogue kernel (``tensorcore.kernels.cupy.fused``), or one cuBLASLt call
  (``cublaslt_forward``) where switched on and it fits;
* ``numba``: the single-launch Numba-CUDA kernels of ``tensorcore.kernels.numba_cuda.fused``
  on CuPy's current stream;
* ``("matmul", "cublas")`` / ``("matmul", "numba")``: the 2-D GEMMs a CUDA graph can record.

A backend class holds its table as ``kernel_table``; a subclass (the test stand-in) builds its
own from its parent's, e.g. ``{**CupyBackend.kernel_table, ("matmul", "numba"): f}``.

>>> sorted({path for _, path in KERNEL_TABLE})
['cublas', 'cupy', 'numba', 'unfused']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tensorcore.kernels.activations import TABLE
from tensorcore.kernels.blas import cublas
from tensorcore.kernels.cupy import fused as cupy_fused

from .. import kernel_paths
from ..contract import FLOAT_DTYPES as _FUSED_DTYPES
from ..contract import Backend, softmax_ce_reference
from . import cublaslt_forward, probes

if TYPE_CHECKING:
    from .backend import CupyBackend


def kernel_path(backend: CupyBackend, op: str, work: int, dtype) -> str:
    """The path ``op`` takes for this much work (see ``kernel_paths``); ``unfused``
    where no fused kernel serves the dtype or this backend cannot run the path."""
    path = kernel_paths.resolve(op, work)
    if path == "unfused" or np.dtype(dtype) not in _FUSED_DTYPES:
        return "unfused"
    if op == "linear_act" and backend.capturing():
        if backend.graph_gemm() != "cublas":
            path = "numba" if path == "cupy" else path  # the one-launch layer, rather
            # than cupy's epilogue after our Numba GEMM
        elif path == "numba" and kernel_paths.get_kernels() == "auto":
            path = "cupy"  # no launch costs in a graph: cuBLAS won at every size
    if path not in backend.fused_paths:
        return "unfused"
    if path == "numba" and kernel_paths.get_kernels() == "auto" and \
            not probes.numba_ready(backend):
        return "cupy" if "cupy" in backend.fused_paths else "unfused"
    return path


# -- "unfused": the contract's reference code ----------------------------------------------------
def linear_act_unfused(backend: CupyBackend, x, w, b, activation):
    return Backend.bias_act(backend, backend.matmul(x, w.T), b, activation)


def act_backward_unfused(backend: CupyBackend, grad_out, out, pre, activation, need_bias_grad):
    return Backend.act_backward(backend, grad_out, out, pre, activation, need_bias_grad)


def softmax_ce_unfused(backend: CupyBackend, z, target):
    if not backend.capturing():  # softmax_cross_entropy checked the targets' range
        return softmax_ce_reference(backend.xp, z, target)
    return softmax_ce_unchecked(backend.xp, z, target)  # unchecked while capturing a graph


def softmax_ce_backward_unfused(backend: CupyBackend, probs, target, scale):
    if backend.capturing():  # never index outside the row (the loss is NaN already)
        target = target * _valid_targets(target, probs.shape[1])
    return Backend.softmax_cross_entropy_backward(backend, probs, target, scale)


# -- "cupy": cuBLAS + one CuPy kernel (or one cuBLASLt call, where switched on and it fits) ----
def linear_act_cupy(backend: CupyBackend, x, w, b, activation):
    if cublaslt_forward.takes(backend, x, w, activation):
        relu = TABLE[activation].cublaslt == "RELU_BIAS"  # else "BIAS": no activation
        return cublaslt_forward.linear(backend, x, w, b, relu), None
    return cupy_fused.bias_act_forward(backend.matmul(x, w.T), contiguous(backend.xp, b),
                                       activation)


def act_backward_cupy(backend: CupyBackend, grad_out, out, pre, activation, need_bias_grad):
    xp = backend.xp
    return cupy_fused.act_backward(
        xp.ascontiguousarray(grad_out), xp.ascontiguousarray(out),
        contiguous(xp, pre), activation, need_bias_grad)


def softmax_ce_cupy(backend: CupyBackend, z, target):
    return cupy_fused.softmax_ce_forward(backend.xp.ascontiguousarray(z), target)


def softmax_ce_backward_cupy(backend: CupyBackend, probs, target, scale):
    return cupy_fused.softmax_ce_backward(
        backend.xp.ascontiguousarray(probs), target, scale)


# -- "numba": the single-launch Numba-CUDA kernels, on CuPy's current stream --------------------
def linear_act_numba(backend: CupyBackend, x, w, b, activation):
    xp = backend.xp
    x, w, b = xp.ascontiguousarray(x), xp.ascontiguousarray(w), contiguous(xp, b)
    out = xp.empty((x.shape[0], w.shape[0]), dtype=x.dtype)
    # kept for the backward where the activation's gradient reads the pre-activation
    pre = xp.empty_like(out) if TABLE[activation].reads == "pre" else None
    backend._numba().linear_act_forward(x, w, b, activation, out, pre=pre,
                                        stream=backend._numba_stream())
    return out, pre


def act_backward_numba(backend: CupyBackend, grad_out, out, pre, activation, need_bias_grad):
    xp = backend.xp
    grad_out, out = xp.ascontiguousarray(grad_out), xp.ascontiguousarray(out)
    grad_z = xp.empty_like(grad_out)
    grad_b = xp.empty(grad_out.shape[1], dtype=grad_out.dtype) if need_bias_grad else None
    backend._numba().act_backward(grad_out, out, contiguous(xp, pre), activation, grad_z,
                                  grad_b, stream=backend._numba_stream())
    return grad_z, grad_b


def linear_backward_numba(backend: CupyBackend, grad_out, out, pre, x, w, activation, needs):
    xp = backend.xp
    grad_out, x, w = (xp.ascontiguousarray(a) for a in (grad_out, x, w))
    (m, n), k = grad_out.shape, x.shape[1]
    grads = [xp.empty(shape, dtype=grad_out.dtype) if need else None
             for need, shape in zip(needs, ((m, k), (n, k), (n,)))]
    backend._numba().linear_backward(grad_out, contiguous(xp, out), contiguous(xp, pre), x,
                                     w, activation, *grads, stream=backend._numba_stream())
    return tuple(grads)


def softmax_ce_numba(backend: CupyBackend, z, target):
    xp = backend.xp
    z = xp.ascontiguousarray(z)
    losses = xp.empty(z.shape[0], dtype=z.dtype)
    probs = xp.empty_like(z)
    backend._numba().softmax_ce_forward(z, xp.ascontiguousarray(target), losses, probs,
                                        stream=backend._numba_stream())
    return losses, probs


def softmax_ce_backward_numba(backend: CupyBackend, probs, target, scale):
    xp = backend.xp
    probs = xp.ascontiguousarray(probs)
    s = xp.asarray(scale, dtype=probs.dtype).reshape(-1)  # 1 or N values, on the device
    grad = xp.empty_like(probs)
    backend._numba().softmax_ce_backward(probs, xp.ascontiguousarray(target), s, grad,
                                         stream=backend._numba_stream())
    return grad


# -- the GEMMs a CUDA graph records (CupyBackend.matmul) ----------------------------------------
def matmul_cublas(backend: CupyBackend, a, b):
    xp = backend.xp
    (m, k), n = a.shape, b.shape[1]
    if 0 in (m, n, k):
        return xp.zeros((m, n), dtype=a.dtype)
    a = a if cublas.readable(a) else xp.ascontiguousarray(a)
    b = b if cublas.readable(b) else xp.ascontiguousarray(b)
    out = xp.empty((m, n), dtype=a.dtype)
    runtime = backend.runtime
    runtime.cublas().matmul(a, b, out, runtime.pointer, runtime.stream_ptr(),
                            tf32=backend.allows_tf32())  # float32 only, by Cublas
    return out


def matmul_numba(backend: CupyBackend, a, b):
    xp = backend.xp
    out = xp.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    backend._numba().linear_act_forward(xp.ascontiguousarray(a), xp.ascontiguousarray(b.T),
                                        None, None, out, stream=backend._numba_stream())
    return out


# (entry, path) -> the function that runs it, called as f(backend, *args) by CupyBackend._run
KERNEL_TABLE = {
    ("linear_act", "unfused"): linear_act_unfused,
    ("linear_act", "cupy"): linear_act_cupy,
    ("linear_act", "numba"): linear_act_numba,
    ("act_backward", "unfused"): act_backward_unfused,
    ("act_backward", "cupy"): act_backward_cupy,
    ("act_backward", "numba"): act_backward_numba,
    ("linear_backward", "numba"): linear_backward_numba,
    ("softmax_ce", "unfused"): softmax_ce_unfused,
    ("softmax_ce", "cupy"): softmax_ce_cupy,
    ("softmax_ce", "numba"): softmax_ce_numba,
    ("softmax_ce_backward", "unfused"): softmax_ce_backward_unfused,
    ("softmax_ce_backward", "cupy"): softmax_ce_backward_cupy,
    ("softmax_ce_backward", "numba"): softmax_ce_backward_numba,
    ("matmul", "cublas"): matmul_cublas,
    ("matmul", "numba"): matmul_numba,
}


def _valid_targets(target, n_classes: int):
    """Where the class indices lie in [0, C), on the device (no host read)."""
    return (target >= 0) & (target < n_classes)


def softmax_ce_unchecked(xp, z, target):
    """``softmax_ce_reference`` for targets whose range nobody checked, as the fused kernels
    compute it: a target outside [0, C) reads nothing and gives a NaN loss."""
    valid = _valid_targets(target, z.shape[1])
    losses, probs = softmax_ce_reference(xp, z, target * valid)
    return xp.where(valid, losses, z.dtype.type(np.nan)), probs


def contiguous(xp, a):
    """``a`` C-contiguous (a copy where it is not), None for None."""
    return None if a is None else xp.ascontiguousarray(a)
