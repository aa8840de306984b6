"""The in-place updates of the optimizers for the CPU (Numba): one pass, no temporary.

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

import numpy as np
from numba import njit

__all__ = ["adam", "axpy"]


@njit(cache=True, nogil=True)
def axpy(x, alpha, y):  # pragma: no cover - compiled
    """``x += alpha * y`` in place. The caller has checked the arrays (one float dtype and
    shape, C-contiguous, not overlapping: ``backends.contract.one_pass_update_fits``) and
    passes ``alpha`` as a scalar of x's dtype (``x.dtype.type(alpha)``: NumPy rounds a
    Python float next to a float32 array to float32 first)."""
    xf, yf = x.ravel(), y.ravel()  # views: both are C-contiguous
    for i in range(xf.size):
        xf[i] += alpha * yf[i]



@njit(cache=True, nogil=True, error_model="numpy")  # IEEE division (NumPy's): vectorizes
def adam(x, g, m, v, b1, omb1, b2, omb2, bias_root, eps, neg_step):  # pragma: no cover
    """One Adam step in place, the operations of ``Backend.adam_update_`` in its order, each
    rounded to the arrays' dtype as NumPy rounds it (so the result is NumPy's bit for bit):
    ``m = m*b1 + omb1*g``, ``v = v*b2 + omb2*(g*g)``, ``x += neg_step * m/(sqrt(v)/bias_root
    + eps)``. The caller checked the arrays (one float dtype and shape, C-contiguous, apart)
    and passes the numbers as scalars of that dtype."""
    xf, gf, mf, vf = x.ravel(), g.ravel(), m.ravel(), v.ravel()
    for i in range(xf.size):
        gi = gf[i]
        mi = mf[i] * b1
        mi = mi + omb1 * gi
        mf[i] = mi
        vi = vf[i] * b2
        vi = vi + omb2 * (gi * gi)
        vf[i] = vi
        d = np.sqrt(vi) / bias_root
        d = d + eps
        xf[i] = xf[i] + neg_step * (mi / d)
