"""``tensorcore.cuda``: is a GPU backend usable here?

>>> import tensorcore as tc
>>> isinstance(tc.cuda.is_available(), bool)
True
"""

from __future__ import annotations

from ..backends import _IMPLEMENTATIONS, cuda_unavailable_reason, get_backend


def is_available() -> bool:
    """True when a GPU backend can serve ``cuda`` (CuPy installed and a GPU present)."""
    if not _IMPLEMENTATIONS.get("cuda"):
        return False
    return "no GPU backend is usable" not in cuda_unavailable_reason()


def device_count() -> int:
    if not is_available():
        return 0
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


def synchronize(device=None) -> None:
    get_backend(device or "cuda").synchronize()
