"""Numba scalar helpers that the fused kernels of ``fuse.py`` call: NumPy's semantics for
the ops that need a branch. A call is straight-line code for Numba's type inference (a
branch in the kernel's own body makes a large kernel much slower to compile); LLVM inlines
them. Module-level functions, so that Numba's disk cache finds them again by name."""

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
