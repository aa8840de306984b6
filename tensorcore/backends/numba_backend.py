"""The NumPy backend with Numba-jitted fused kernels for ``cpu`` (the default on the CPU).

Arrays are NumPy arrays, so tensors of this backend and of ``numpy`` mix freely; only the
kernel entry points differ: the bias + activation epilogue and its backward (activation
gradient fused with the bias-gradient column sum) run as single Numba passes (parallel
above the sizes in ``tensorcore.kernels.cpu.fused``), as do softmax cross-entropy
(``kernels.cpu.softmax_ce``) and the parameter update ``axpy_`` (``kernels.cpu.update``).
The kernel modules import Numba, so the first kernel call imports them
(``_import_cpu_kernels``): ``import tensorcore`` stays free of Numba until a fused kernel runs.

>>> from tensorcore.backends.numba_backend import NumbaBackend
>>> NumbaBackend("cpu").name
'numba'
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tensorcore.kernels import activations

from .contract import FLOAT_DTYPES as _FUSED_DTYPES
from .contract import ClassTargetError, one_pass_update_fits, overlaps
from .numpy_backend import NumpyBackend

# tensorcore.kernels.cpu's modules once imported (None before the first kernel call)
_cpu = SimpleNamespace(fused=None, softmax_ce=None, update=None)


def _import_cpu_kernels() -> SimpleNamespace:
    """Import the CPU kernel modules (with Numba) into ``_cpu``; returns ``_cpu``."""
    from tensorcore.kernels.cpu import fused, softmax_ce, update

    _cpu.fused, _cpu.softmax_ce, _cpu.update = fused, softmax_ce, update
    return _cpu


_ONE_PASS_MIN = 1024  # elements: smaller updates take NumPy's x += alpha * y


class NumbaBackend(NumpyBackend):
    name = "numba"

    def axpy_(self, x, alpha, y) -> None:
        if x.size <= _ONE_PASS_MIN:  # NumPy's two passes beat the kernel's call overhead
            x += alpha * y
        elif isinstance(alpha, float) and one_pass_update_fits(np, x, y):
            update = _cpu.update or _import_cpu_kernels().update
            update.axpy(x, x.dtype.type(alpha), y)  # one pass, no temporary
        else:
            super().axpy_(x, alpha, y)

    def adam_update_(self, x, g, m, v, v_max, beta1, one_minus_beta1, beta2,
                     one_minus_beta2, bias_root, eps, neg_step) -> None:
        if v_max is None and x.dtype in _FUSED_DTYPES and all(
                a.dtype == x.dtype and a.shape == x.shape and a.flags.c_contiguous
                for a in (g, m, v)) and x.flags.c_contiguous and x.flags.writeable and \
                not any(overlaps(np, x, a) for a in (g, m, v)):
            update = _cpu.update or _import_cpu_kernels().update
            t = x.dtype.type  # each number rounded to x's dtype, as NumPy rounds it
            update.adam(x, g, m, v, t(beta1), t(one_minus_beta1), t(beta2),
                        t(one_minus_beta2), t(bias_root), t(eps), t(neg_step))
            return
        super().adam_update_(x, g, m, v, v_max, beta1, one_minus_beta1, beta2,
                             one_minus_beta2, bias_root, eps, neg_step)

    def bias_act(self, z, b, activation):
        if z.dtype in _FUSED_DTYPES and z.ndim == 2 and z.flags.c_contiguous:
            fused = _cpu.fused or _import_cpu_kernels().fused
            if b is None or (b.dtype == z.dtype and b.flags.c_contiguous):
                return fused.bias_act_checked(z, b, fused.kernels_for(activation))
            return fused.bias_act_forward(z, b, activation)
        return super().bias_act(z, b, activation)

    def act_backward(self, grad_out, out, pre, activation, need_bias_grad):
        if activation is None:  # only the column sum: NumPy's is one pass already
            return super().act_backward(grad_out, out, pre, activation, need_bias_grad)
        saved = pre if activations.TABLE[activation].reads == "pre" else out
        if (grad_out.dtype in _FUSED_DTYPES and grad_out.ndim == 2 and saved is not None
                and saved.dtype == grad_out.dtype and saved.shape == grad_out.shape
                and grad_out.flags.c_contiguous and saved.flags.c_contiguous):
            fused = _cpu.fused or _import_cpu_kernels().fused
            return fused.act_backward_checked(grad_out, saved, fused.kernels_for(activation),
                                              need_bias_grad)
        return super().act_backward(grad_out, out, pre, activation, need_bias_grad)

    def softmax_cross_entropy(self, z, target, known_max=None):
        if z.dtype in _FUSED_DTYPES and z.ndim == 2:  # the kernel checks the targets' range
            softmax_ce = _cpu.softmax_ce or _import_cpu_kernels().softmax_ce
            try:
                return softmax_ce.softmax_ce_forward(z, target)
            except IndexError as e:
                raise ClassTargetError(str(e)) from None
        return super().softmax_cross_entropy(z, target)

    def softmax_cross_entropy_backward(self, probs, target, scale):
        if probs.dtype in _FUSED_DTYPES:
            softmax_ce = _cpu.softmax_ce or _import_cpu_kernels().softmax_ce
            return softmax_ce.softmax_ce_backward(probs, target, scale)
        return super().softmax_cross_entropy_backward(probs, target, scale)
