"""The plain NumPy backend for ``cpu``: the contract's reference implementation as is.

>>> from tensorcore.backends.numpy_backend import NumpyBackend
>>> NumpyBackend("cpu").name
'numpy'
"""

from __future__ import annotations

import numpy as np

from .contract import Backend


class NumpyBackend(Backend):
    """Every op through NumPy; the kernels are the contract's ``xp`` reference versions."""

    name = "numpy"
    device_type = "cpu"

    def matmul(self, a, b):
        # np.dot skips the matmul ufunc's dispatch, about 0.4 us a call: it counts at the
        # small shapes of a training step (2-D only; the two agree there)
        return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b

    def linear_act(self, x, w, b, activation):
        return self.bias_act(np.dot(x, w.T), b, activation)  # the contract's, one call less
