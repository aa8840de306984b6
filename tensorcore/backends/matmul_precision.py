"""How precisely float32 matrix products are computed: ``set_float32_matmul_precision``, as
``torch.set_float32_matmul_precision``.

``"highest"`` (the default) computes float32 products in float32. ``"high"`` and ``"medium"``
let cuBLAS round the inputs of float32 GEMMs on ``cuda`` to TensorFloat-32 (a 10-bit
mantissa: about 3 decimal digits; accumulation stays float32) and use the tensor cores, on
GPUs of compute capability 8.0 and above, as PyTorch does on CUDA. It reaches every cuBLAS
call tensorcore makes: CuPy's ``@`` on 2-D arrays, tensorcore's own cuBLAS handle and the
cuBLASLt layer forward. It does not change the CPU, float64, batched (3-D and more) products,
or the Numba GEMM of the ``numba`` path. A CUDA graph keeps the setting it was captured with.

>>> import tensorcore as tc
>>> tc.get_float32_matmul_precision()
'highest'
>>> tc.set_float32_matmul_precision("high")
>>> tc.get_float32_matmul_precision()
'high'
>>> tc.set_float32_matmul_precision("highest")
"""

from __future__ import annotations

import contextlib

PRECISIONS = ("highest", "high", "medium")

_current = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """``"highest"`` (float32 throughout), or ``"high"`` / ``"medium"`` (TF32 GEMMs on GPUs
    that have them). ValueError for any other string (PyTorch only warns)."""
    global _current
    if not isinstance(precision, str):
        raise TypeError(f"set_float32_matmul_precision expects a str, but got "
                        f"{type(precision).__name__}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown float32 matmul precision {precision!r}; expected one of "
                         f"{', '.join(PRECISIONS)}")
    _current = precision


def get_float32_matmul_precision() -> str:
    """The precision set by ``set_float32_matmul_precision`` (``"highest"`` unless set)."""
    return _current


def tf32_allowed() -> bool:
    """Whether float32 GEMMs may round their inputs to TF32 (any precision below highest)."""
    return _current != "highest"


@contextlib.contextmanager
def using(precision: str):
    """Context manager: ``precision`` inside (the backends' one-off checks of a GPU path
    compare against float32 values, so they run at ``"highest"``)."""
    before = _current
    set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        set_float32_matmul_precision(before)
