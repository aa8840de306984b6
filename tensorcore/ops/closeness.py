"""Tests of values, none with a gradient: ``isclose`` / ``allclose`` / ``equal`` between two
tensors, and ``isnan`` / ``isinf`` / ``isfinite`` of one, with PyTorch's signatures and
defaults (``rtol=1e-05``, ``atol=1e-08``, ``equal_nan=False``).

As in PyTorch, ``isclose`` and ``allclose`` take two tensors of one dtype (a RuntimeError
names both otherwise) whose shapes broadcast; ``allclose`` and ``equal`` answer a Python
bool, the others a bool tensor.
"""

from __future__ import annotations

from ..tensor import Tensor
from ._util import tensors_only

TENSOR_METHODS = ["isclose", "allclose", "equal", "isnan", "isinf", "isfinite"]
__all__ = list(TENSOR_METHODS)


def _bool_tensor(like: Tensor, out) -> Tensor:
    if type(out) is not like._backend.array_type:  # 0-d operands give a NumPy scalar
        out = like._backend.asarray(out)
    return Tensor._make(out, like._backend)


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` as a bool tensor; NaNs are
    equal to each other only with ``equal_nan``, infinities of one sign are close."""
    tensors_only("isclose", input, other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"isclose: {input.dtype.name} did not match {other.dtype.name} "
                           f"(both tensors must have one dtype)")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be non-negative, got rtol={rtol}, "
                           f"atol={atol}")
    if input.device != other.device:
        raise RuntimeError(f"isclose: expected both tensors on one device, got "
                           f"{input.device} and {other.device}")
    xp = input._backend.xp
    try:
        out = xp.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError as e:
        raise RuntimeError(f"isclose: the shapes {list(input.shape)} and {list(other.shape)} "
                           f"cannot be broadcast together ({e})") from None
    return _bool_tensor(input, out)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every element of ``input`` is close to ``other``'s (``isclose``), as a bool."""
    # a host read through the tensor, so that tc.compile sees it (and runs the step eagerly)
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def equal(input, other) -> bool:
    """Whether the two tensors have one shape and equal elements (NaN equals nothing)."""
    tensors_only("equal", input, other)
    if input.device != other.device:
        raise RuntimeError(f"equal: expected both tensors on one device, got {input.device} "
                           f"and {other.device}")
    if input.shape != other.shape:
        return False
    return bool((input == other).all())


def isnan(input) -> Tensor:
    """Where ``input`` is NaN, as a bool tensor (all False for integers and bools)."""
    return _bool_tensor(input, input._backend.xp.isnan(input._data)
                        if input._data.dtype.kind == "f"
                        else input._backend.xp.zeros(input.shape, dtype=bool))


def isinf(input) -> Tensor:
    """Where ``input`` is +inf or -inf, as a bool tensor."""
    return _bool_tensor(input, input._backend.xp.isinf(input._data)
                        if input._data.dtype.kind == "f"
                        else input._backend.xp.zeros(input.shape, dtype=bool))


def isfinite(input) -> Tensor:
    """Where ``input`` is neither NaN nor infinite, as a bool tensor."""
    return _bool_tensor(input, input._backend.xp.isfinite(input._data)
                        if input._data.dtype.kind == "f"
                        else input._backend.xp.ones(input.shape, dtype=bool))
