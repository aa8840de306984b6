"""Fused softmax cross-entropy for the CPU (Numba): one pass per row instead of NumPy's
nine array passes, which dominate at the small batch sizes of a training step.

``softmax_ce_forward(z, target)`` returns ``(losses, probs)`` for (N, C) float32/float64
logits and int class indices (IndexError for one outside [0, C));
``softmax_ce_backward(probs, target, scale)`` returns ``(probs - onehot(target)) * scale``
as a new array, ``scale`` a scalar or an (N,) array.
Callers check shapes first (tensorcore's ``cross_entropy`` does); the backward trusts the
targets the forward checked.

>>> import numpy as np
>>> losses, probs = softmax_ce_forward(np.array([[0.0, 0.0]]), np.array([1]))
>>> round(float(losses[0]), 4), probs.tolist()
(0.6931, [[0.5, 0.5]])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _forward_rows(z, target, losses, probs):  # pragma: no cover - compiled
    """Fills losses and probs; returns the first row whose target is outside [0, n), or -1."""
    m, n = z.shape
    for i in range(m):
        if target[i] < 0 or target[i] >= n:
            return i
        top = z[i, 0]
        for j in range(1, n):
            if z[i, j] > top:
                top = z[i, j]
        total = 0.0
        for j in range(n):
            e = math.exp(z[i, j] - top)
            probs[i, j] = e
            total += e
        inv = 1.0 / total
        for j in range(n):
            probs[i, j] *= inv
        losses[i] = math.log(total) + top - z[i, target[i]]
    return -1


@njit(cache=True, nogil=True)
def _backward_rows(probs, target, scale, grad):  # pragma: no cover - compiled
    m, n = probs.shape
    for i in range(m):
        s = scale[i] if scale.size > 1 else scale[0]
        for j in range(n):
            grad[i, j] = probs[i, j] * s
        grad[i, target[i]] -= s


def softmax_ce_forward(z: np.ndarray, target: np.ndarray):
    """Per-row ``logsumexp(z) - z[target]`` and the row softmax of (N, C) logits."""
    z = np.ascontiguousarray(z)
    losses = np.empty(z.shape[0], z.dtype)
    probs = np.empty(z.shape, z.dtype)
    bad = _forward_rows(z, target, losses, probs)
    if bad >= 0:
        raise IndexError(f"Target {target[bad]} is out of bounds for {z.shape[1]} classes.")
    return losses, probs


def softmax_ce_backward(probs: np.ndarray, target: np.ndarray, scale) -> np.ndarray:
    """``(probs - onehot(target)) * scale`` as a new array (``probs`` is left alone)."""
    s = np.asarray(scale, dtype=probs.dtype).reshape(-1)
    grad = np.empty(probs.shape, probs.dtype)
    _backward_rows(probs, target, s, grad)
    return grad
