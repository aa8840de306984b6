"""float64 NumPy references for the kernel tests."""

from __future__ import annotations

import math

import numpy as np

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def make(shape, dtype, seed=0, scale=1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def act(z, activation):
    z = np.asarray(z, np.float64)
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "gelu":
        return z * 0.5 * _erfc(-z / math.sqrt(2.0))
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    return z


def act_grad(g, out, pre, activation):
    """grad_out * act'(.) from what the forward saved (out, or pre for gelu)."""
    g = np.asarray(g, np.float64)
    if activation == "relu":
        return g * (out > 0)
    if activation == "gelu":
        x = np.asarray(pre, np.float64)
        cdf = 0.5 * _erfc(-x / math.sqrt(2.0))
        return g * (cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))
    o = np.asarray(out, np.float64)
    if activation == "sigmoid":
        return g * o * (1.0 - o)
    if activation == "tanh":
        return g * (1.0 - o * o)
    return g


def softmax_ce(z, target):
    """(losses, probs) of logits z (float64 math)."""
    z = np.asarray(z, np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    return lse - shifted[np.arange(len(target)), target], np.exp(shifted - lse[:, None])
