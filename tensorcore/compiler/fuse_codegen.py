"""Numba scalar helpers that the fused kernels of ``fuse.py`` call: NumPy's semantics for
the ops that need a branch. A call is straight-line code for Numba's type inference (a
branch in the kernel's own body makes a large kernel much slower to compile); LLVM inlines
them. Module-level functions, so that Numba's disk cache finds them again by name."""

import numpy as np
from numba import njit

_JIT = {"cache": True, "error_model": "numpy", "fastmath": False, "nogil": True}


@njit(**_JIT)
def maximum(a, b):
    """np.maximum of two numbers: a NaN operand is the result (the first when both are)."""
    if a != a:
        return a
    return a if a >= b else b


@njit(**_JIT)
def minimum(a, b):
    """np.minimum of two numbers: a NaN operand is the result (the first when both are)."""
    if a != a:
        return a
    return a if a <= b else b


@njit(**_JIT)
def where(cond, x, y):
    """np.where on numbers: ``x`` where ``cond`` is true (nonzero, NaN included)."""
    return x if cond else y


@njit(**_JIT)
def expit(x, one):
    """SciPy's expit (the logistic sigmoid) of a number, ``one`` of its type: the stable
    form, ``exp`` of a non-positive number only."""
    if x >= 0:
        return one / (one + np.exp(-x))
    e = np.exp(x)
    return e / (one + e)
