"""Backends found by name, and the default device.

A device type (``cpu``, ``cuda``) can be served by several implementations; the registry
maps ``(device, implementation)`` to one backend object. ``TENSORCORE_DEVICE`` sets the
default device and ``TENSORCORE_BACKEND`` the implementation (``numba``, ``numpy``, or
``cpu=numpy,cuda=cupy``); Python has ``set_default_device``, ``set_backend`` (both for the
whole process) and ``use_backend`` (for the calling thread, inside its block). On ``cuda``,
``TENSORCORE_KERNELS`` / ``set_kernels`` / ``use_kernels`` (the same way: process, process,
thread) choose the GPU kernel path (see ``tensorcore.backends.kernel_paths``). A bad value
in one of these variables stops ``import tensorcore`` with one line naming it. Registering
the CuPy backend imports nothing: CuPy is imported when a ``cuda`` tensor is first made.

>>> import tensorcore as tc
>>> with tc.backends.use_backend("numpy"):
...     tc.zeros(2).backend_name
'numpy'
"""

from __future__ import annotations

import importlib
import os

from .._device import device
from ._environment import InvalidEnvironmentVariable, parse_variable, report_uncaught_briefly
from ._per_thread import PerThreadChoice
from .contract import Backend
from .kernel_paths import KERNEL_PATHS, get_kernels, set_kernels, use_kernels

# device type -> implementation name -> "module:Class" (imported on first use)
_IMPLEMENTATIONS: dict[str, dict[str, str]] = {
    "cpu": {
        "numba": "tensorcore.backends.numba_backend:NumbaBackend",
        "numpy": "tensorcore.backends.numpy_backend:NumpyBackend",
    },
    "cuda": {
        "cupy": "tensorcore.backends.cuda:CupyBackend",
    },
}
# the process-wide choice per device type (set_backend, TENSORCORE_BACKEND): what every
# thread uses outside a use_backend block
_chosen: dict[str, str] = {"cpu": "numba", "cuda": "cupy"}


# per thread inside use_backend blocks (as grad mode: a block in one thread leaves the
# tensors other threads create alone), else _chosen
_choice = PerThreadChoice(_chosen)
_instances: dict[tuple[device, str], Backend] = {}
_seed: int | None = None


def register_backend(device_type: str, name: str, target: str | type) -> None:
    """Make ``target`` (a Backend subclass or its ``"module:Class"`` path) serve ``device_type``."""
    _IMPLEMENTATIONS.setdefault(device_type, {})[name] = target


def available_backends(device_type: str = "cpu") -> list[str]:
    """Names of the implementations registered for a device type."""
    return list(_IMPLEMENTATIONS.get(device_type, {}))


def _backend_pairs(spec: str) -> list[tuple[str, str]]:
    """``TENSORCORE_BACKEND`` as (device type, backend) pairs: a backend name (for the device
    types that have it) or ``device=name`` parts separated by commas."""
    pairs = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, equals, name = (p.strip() for p in part.partition("="))
        if not equals:  # a name alone: for each device type that has a backend of that name
            name = kind
            kinds = [k for k, impls in _IMPLEMENTATIONS.items() if name in impls]
            if not kinds:
                raise ValueError(f"no device type has a backend named {name!r}")
        elif kind not in _IMPLEMENTATIONS:
            raise ValueError(f"no device type {kind!r}")
        elif name not in _IMPLEMENTATIONS[kind]:
            raise ValueError(f"no backend {name!r} for {kind}")
        else:
            kinds = [kind]
        pairs += [(k, name) for k in kinds]
    return pairs


def _device_named(spec: str) -> device:
    try:
        return device(spec)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError("") from None  # the variable and what it may be say enough


def _kernel_path(spec: str) -> str:
    if spec not in KERNEL_PATHS:
        raise ValueError("")
    return spec


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
    _choice.set_default(device_type, name)


def get_backend_name(device_type: str = "cpu") -> str:
    """The implementation serving ``device_type`` for tensors this thread creates now."""
    return _choice.get(device_type)


def use_backend(name: str, device_type: str = "cpu"):
    """Context manager: tensors created inside, in this thread, use backend ``name`` for
    ``device_type``; other threads keep theirs (as ``no_grad`` is per thread)."""
    _check_choice(name, device_type)
    return _choice.using(device_type, name)


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
    name = name or (_choice.thread.chosen if _choice.open_blocks else _chosen)[dev.type]
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


def seed_value(seed: int) -> int:
    """A seed as PyTorch takes it, any integer from ``-2**63`` to ``2**64 - 1``, as the unsigned
    64-bit value it stands for (a negative seed counts as ``seed + 2**64``); a ValueError
    naming the range outside it. Shared by ``manual_seed`` and ``Generator.manual_seed``."""
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"manual_seed: seed must be an integer from -2**63 to 2**64 - 1, "
                         f"got {seed}")
    return seed % 2**64


def manual_seed(seed: int) -> None:
    """Seed the random generators of every backend (now and created later). As in PyTorch,
    any integer from ``-2**63`` to ``2**64 - 1``; a negative seed counts as ``seed + 2**64``."""
    global _seed
    _seed = seed_value(int(seed))
    for backend in _instances.values():
        backend.seed(_seed)


def _read_environment() -> None:
    """Apply ``TENSORCORE_BACKEND``, ``TENSORCORE_DEVICE`` and ``TENSORCORE_KERNELS``, all
    checked before any is applied: a bad one stops ``import tensorcore`` with one
    ``InvalidEnvironmentVariable`` (a ValueError) naming it, its value and what it may be."""
    global _default_device
    names = "; ".join(f"{k}: {', '.join(impls)}" for k, impls in _IMPLEMENTATIONS.items())
    try:
        pairs = parse_variable(
            "TENSORCORE_BACKEND", _backend_pairs,
            f"a backend name ({names}) or device=name pairs separated by commas, e.g. "
            f"cpu=numpy,cuda=cupy")
        dev = parse_variable("TENSORCORE_DEVICE", _device_named, "cpu, cuda or cuda:N")
        kernels = parse_variable("TENSORCORE_KERNELS", _kernel_path,
                                 f"one of {', '.join(KERNEL_PATHS)}")
    except InvalidEnvironmentVariable:
        report_uncaught_briefly()
        raise
    for kind, name in pairs or ():
        set_backend(name, kind)
    if dev is not None:
        _default_device = dev
    if kernels is not None:
        set_kernels(kernels)


_read_environment()
