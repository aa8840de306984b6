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


def _device_index(device, current: int) -> int:
    """The GPU index that ``device`` names, as ``torch.cuda`` functions read their argument:
    an int, ``"cuda"`` / ``"cuda:1"``, a ``tc.device``, or None for ``current``."""
    from .._device import device as Device

    if device is None:
        return current
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    dev = Device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return current if dev.index is None else dev.index


def set_device(device) -> None:
    """Make GPU ``device`` (an int, ``"cuda:1"`` or a ``tc.device``) the current one."""
    _cupy().cuda.Device(_index(device)).use()


def _index(device) -> int:
    return _device_index(device, _cupy().cuda.runtime.getDevice())


def get_device_name(device=None) -> str:
    """The GPU's name, as ``torch.cuda.get_device_name``."""
    name = _cupy().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait for all queued work on a GPU (the current one by default)."""
    get_backend(f"cuda:{_index(device)}").synchronize()


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live arrays on a GPU (the current one by default), from
    CuPy's default memory pool."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):  # the pool reports on the current device
        return int(cupy.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes CuPy's memory pool holds from the driver on a GPU (live plus cached blocks)."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return int(cupy.get_default_memory_pool().total_bytes())


def empty_cache() -> None:
    """Give the cached, unused blocks of CuPy's memory pools back to the driver (a no-op
    without a GPU, as in PyTorch)."""
    if not is_available():
        return
    cupy = _cupy()
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()
