"""Backends found by name, and the default device.

A device type (``cpu``, ``cuda``) can be served by several implementations; the registry
maps ``(device, implementation)`` to one backend object. ``TENSORCORE_DEVICE`` sets the
default device and ``TENSORCORE_BACKEND`` the implementation (``numba``, ``numpy``, or
``cpu=numpy,cuda=cupy``); Python has ``set_default_device``, ``set_backend`` (both for the
whole process) and ``use_backend`` (for the calling thread, inside its block). On ``cuda``,
``TENSORCORE_KERNELS`` / ``set_kernels`` / ``use_kernels`` choose the GPU kernel path (see
``tensorcore.backends.kernel_paths``). Registering the CuPy backend imports nothing: CuPy
is imported when a ``cuda`` tensor is first made.

>>> import tensorcore as tc
>>> with tc.backends.use_backend("numpy"):
...     tc.zeros(2).backend_name
'numpy'
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading

from .._device import device
from .contract import Backend
from .kernel_paths import get_kernels, set_kernels, use_kernels

# device type -> implementation name -> "module:Class" (imported on first use)
_IMPLEMENTATIONS: dict[str, dict[str, str]] = {
    "cpu": {
        "numba": "tensorcore.backends.numba_backend:NumbaBackend",
        "numpy": "tensorcore.backends.numpy_backend:NumpyBackend",
    },
    "cuda": {
        "cupy": "tensorcore.backends.cupy_backend:CupyBackend",
    },
}
# the process-wide choice per device type (set_backend, TENSORCORE_BACKEND): what every
# thread uses outside a use_backend block
_chosen: dict[str, str] = {"cpu": "numba", "cuda": "cupy"}


class _Overrides(dict):
    """The choices of the use_backend blocks a thread is inside (innermost wins); a device
    type no block names falls through to the process-wide ``_chosen``."""

    def __missing__(self, device_type: str) -> str:
        return _chosen[device_type]


class _ThreadChoice(threading.local):
    """Per thread, like grad mode: a ``use_backend`` block in one thread leaves the tensors
    other threads create alone. ``chosen`` is the mapping ``get_backend`` reads: the
    process-wide dict itself (the class attribute, each new thread's start) or, inside
    use_backend blocks, an ``_Overrides`` of this thread."""

    chosen: dict[str, str] = _chosen


_thread = _ThreadChoice()
# use_backend blocks open in any thread; while there are none, every thread's choice is
# _chosen, which get_backend then reads without the (slower) thread-local lookup
_open_blocks = 0
_open_blocks_lock = threading.Lock()
_instances: dict[tuple[device, str], Backend] = {}
_seed: int | None = None


def register_backend(device_type: str, name: str, target: str | type) -> None:
    """Make ``target`` (a Backend subclass or its ``"module:Class"`` path) serve ``device_type``."""
    _IMPLEMENTATIONS.setdefault(device_type, {})[name] = target


def available_backends(device_type: str = "cpu") -> list[str]:
    """Names of the implementations registered for a device type."""
    return list(_IMPLEMENTATIONS.get(device_type, {}))


def _parse_choice(spec: str) -> None:
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, name = part.rpartition("=")
        kinds = [kind] if kind else [k for k, impls in _IMPLEMENTATIONS.items() if part in impls]
        if not kinds:
            known = "; ".join(f"{k}: {', '.join(impls)}" for k, impls in _IMPLEMENTATIONS.items())
            raise ValueError(f"TENSORCORE_BACKEND: no device type has a backend named {part!r} "
                             f"(known: {known})")
        for k in kinds:
            set_backend(name, k)


def _check_choice(name: str, device_type: str) -> None:
    impls = _IMPLEMENTATIONS.get(device_type)
    if impls is None:
        raise ValueError(f"unknown device type {device_type!r}")
    if impls and name not in impls:
        raise ValueError(f"no backend {name!r} for {device_type}; available: {sorted(impls)}")


def set_backend(name: str, device_type: str = "cpu") -> None:
    """Choose which implementation serves ``device_type`` for tensors created from now on,
    in every thread (the process-wide default). Inside a ``use_backend`` block for the same
    device type it also replaces that block's choice, until the block ends."""
    _check_choice(name, device_type)
    _chosen[device_type] = name
    if device_type in _thread.chosen:  # an _Overrides naming it (or _chosen itself)
        _thread.chosen[device_type] = name


def get_backend_name(device_type: str = "cpu") -> str:
    """The implementation serving ``device_type`` for tensors this thread creates now."""
    return _thread.chosen[device_type]


@contextlib.contextmanager
def use_backend(name: str, device_type: str = "cpu"):
    """Context manager: tensors created inside, in this thread, use backend ``name`` for
    ``device_type``; other threads keep theirs (as ``no_grad`` is per thread)."""
    global _open_blocks
    _check_choice(name, device_type)
    before = _thread.chosen
    inner = _Overrides(before) if isinstance(before, _Overrides) else _Overrides()
    inner[device_type] = name
    with _open_blocks_lock:
        _open_blocks += 1  # before this thread's choice changes: get_backend must look
    _thread.chosen = inner
    try:
        yield
    finally:
        _thread.chosen = before
        with _open_blocks_lock:
            _open_blocks -= 1


_default_device = device("cpu")


def set_default_device(dev) -> None:
    """The device that creation functions use when none is given."""
    global _default_device
    dev = device(dev)
    get_backend(dev)  # fail now, with the reason, if the device is unusable
    _default_device = dev


def get_default_device() -> device:
    return _default_device


def get_backend(dev=None, name: str | None = None) -> Backend:
    """The backend object serving ``dev`` (default device if None)."""
    dev = _default_device if dev is None else device(dev)
    name = name or (_thread.chosen if _open_blocks else _chosen)[dev.type]
    key = (dev, name)
    backend = _instances.get(key)
    if backend is None:
        backend = _instances[key] = _create(dev, name)
    return backend


def _create(dev: device, name: str) -> Backend:
    target = _IMPLEMENTATIONS[dev.type].get(name)
    if target is None:
        if dev.type == "cuda":
            reason = cuda_unavailable_reason() or f"no backend named {name!r} is registered"
            raise RuntimeError(f"cannot use device {dev}: {reason}")
        raise RuntimeError(f"no backend named {name!r} for device {dev}")
    if isinstance(target, str):
        module, _, cls = target.partition(":")
        target = getattr(importlib.import_module(module), cls)
    backend = target(dev)
    if _seed is not None:
        backend.seed(_seed)
    return backend


def cuda_unavailable_reason() -> str | None:
    """Why the CuPy backend cannot serve ``cuda`` here, in words; None when it can."""
    if os.environ.get("TENSORCORE_DEVICE", "").strip().lower() == "cpu":
        return ("no GPU backend is usable: TENSORCORE_DEVICE=cpu forces the CPU "
                "(unset it to use a GPU)")
    try:
        import cupy
    except ImportError:
        return ("no GPU backend is usable: CuPy is not installed (pip install "
                "'tensorcore[cuda]' for CUDA 13, 'tensorcore[cuda12]' for CUDA 12)")
    except Exception as e:  # a broken install (CUDA libraries): say so, never raise here
        return f"no GPU backend is usable: importing CuPy failed ({type(e).__name__}: {e})"
    try:
        available = cupy.is_available()
    except Exception as e:  # pragma: no cover - a broken driver raises instead
        available, detail = False, f" ({type(e).__name__}: {e})"
    else:
        detail = ""
    if not available:
        return ("no GPU backend is usable: CuPy is installed but found no usable CUDA GPU "
                f"(cupy.is_available() is False){detail}")
    return None


def manual_seed(seed: int) -> None:
    """Seed the random generators of every backend (now and created later). As in PyTorch,
    any integer from -2**63 to 2**64 - 1; a negative seed counts as ``seed + 2**64``."""
    global _seed
    seed = int(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"manual_seed: seed must be an integer from -2**63 to 2**64 - 1, "
                         f"got {seed}")
    _seed = seed % 2**64
    for backend in _instances.values():
        backend.seed(_seed)


def _read_environment() -> None:
    global _default_device
    spec = os.environ.get("TENSORCORE_BACKEND")
    if spec:
        _parse_choice(spec)
    dev = os.environ.get("TENSORCORE_DEVICE")
    if dev:
        _default_device = device(dev)


_read_environment()
