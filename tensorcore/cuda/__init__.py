"""``tensorcore.cuda``: is a GPU usable here, which one, its memory, and CUDA graphs.

As ``torch.cuda``: ``is_available()``, ``device_count()``, ``current_device()``,
``set_device(i)``, ``get_device_name(i)``, ``synchronize()``, ``memory_allocated()``,
``memory_reserved()`` and ``empty_cache()`` (the last three report on and free CuPy's
memory pool). ``tensorcore.cuda.graphs`` captures a fixed-shape step as a CUDA graph.
Functions that need a GPU raise RuntimeError saying why none is usable.

>>> import tensorcore as tc
>>> isinstance(tc.cuda.is_available(), bool)
True
>>> tc.cuda.device_count() >= 0
True
"""

from __future__ import annotations

from ..backends import cuda_unavailable_reason, get_backend
from . import graphs


def is_available() -> bool:
    """True when the CuPy backend can serve ``cuda`` (CuPy installed and a GPU present)."""
    return cuda_unavailable_reason() is None


def _cupy():
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    import cupy

    return cupy


def device_count() -> int:
    """The number of GPUs CuPy sees (0 when none is usable)."""
    if not is_available():
        return 0
    return int(_cupy().cuda.runtime.getDeviceCount())


def current_device() -> int:
    """The index of the GPU that ops run on."""
    return int(_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make GPU ``device`` (an int, ``"cuda:1"`` or a ``tc.device``) the current one."""
    from .._device import device as Device

    index = device if isinstance(device, int) else (Device(device).index or 0)
    _cupy().cuda.Device(index).use()


def get_device_name(device: int | None = None) -> str:
    """The GPU's name, as ``torch.cuda.get_device_name``."""
    cupy = _cupy()
    index = cupy.cuda.runtime.getDevice() if device is None else int(device)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait for all queued work on a GPU (the current one by default)."""
    _cupy()
    get_backend(device or f"cuda:{current_device()}").synchronize()


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live arrays (CuPy's default memory pool)."""
    return int(_cupy().get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes CuPy's memory pool holds from the driver (live plus cached blocks)."""
    return int(_cupy().get_default_memory_pool().total_bytes())


def empty_cache() -> None:
    """Give the cached, unused blocks of CuPy's memory pools back to the driver (a no-op
    without a GPU, as in PyTorch)."""
    if not is_available():
        return
    cupy = _cupy()
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()
