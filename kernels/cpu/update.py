"""The in-place update ``x += alpha * y`` for the CPU (Numba): one pass, no temporary.

NumPy needs two passes and a temporary the size of ``y`` (``x += alpha * y``); this loop
reads ``x`` and ``y`` once and writes ``x`` once. It is what every optimizer step and
``Tensor.add_(y, alpha=...)`` run on the ``numba`` backend. Without fastmath the multiply and
the add round separately, so results equal NumPy's bit for bit.

>>> import numpy as np
>>> x = np.ones((2, 3), np.float32)
>>> axpy(x, np.float32(0.5), np.full((2, 3), 4.0, np.float32))
>>> x.tolist()
[[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]
"""

from __future__ import annotations

from numba import njit

__all__ = ["axpy"]


@njit(cache=True, nogil=True)
def axpy(x, alpha, y):  # pragma: no cover - compiled
    """``x += alpha * y`` in place. The caller has checked the arrays (one float dtype and
    shape, C-contiguous, not overlapping: ``backends.contract.one_pass_update_fits``) and
    passes ``alpha`` as a scalar of x's dtype (``x.dtype.type(alpha)``: NumPy rounds a
    Python float next to a float32 array to float32 first)."""
    xf, yf = x.ravel(), y.ravel()  # views: both are C-contiguous
    for i in range(xf.size):
        xf[i] += alpha * yf[i]

