"""Fast launches of the compiled Numba-CUDA kernels: the parameters packed by hand.

A launch through Numba's dispatcher (``kernel[grid, block, stream](*args)``) spends far more
host time than a CuPy launch (figures in docs/benchmarks.md): it types every argument and
wraps every CuPy array as a Numba device array. Our kernels are compiled for ONE explicit
signature each, so none of that needs doing per launch.
``FastKernel`` keeps the CUfunction Numba loaded and the layout of its parameters, packs the
values with ``struct`` into a buffer of its own, and calls the driver's ``cuLaunchKernel``
through ``ctypes`` with pointers into that buffer.

Numba's kernel ABI (``numba.cuda.dispatcher._Kernel._prepare_args``): an array is passed as
``meminfo, parent`` (null pointers), ``nitems, itemsize`` (intp), ``data`` (a pointer), then
``shape[ndim]`` and ``strides[ndim]`` (intp, strides in bytes); an integer as its own width,
a float as float/double, a boolean as one byte. ``tests/test_cuda_launch.py`` checks this
layout against the ``.param`` list of every kernel's PTX.

>>> from types import SimpleNamespace
>>> from numba import types
>>> parameter_format([types.float32[:, ::1], types.int64, types.boolean])
'@QQqqQqqqqqB'
>>> x = SimpleNamespace(data=SimpleNamespace(ptr=7), size=6, itemsize=4, shape=(2, 3),
...                     strides=(12, 4))   # what is read of a CuPy array
>>> flatten([types.float32[:, ::1], types.boolean], [x, True])
[0, 0, 6, 4, 7, 2, 3, 12, 4, True]
"""

from __future__ import annotations

import ctypes
import struct
import threading
from collections.abc import Sequence

from numba import types


class LaunchError(RuntimeError):
    """``cuLaunchKernel`` returned an error."""


def _integer_code(t) -> str:
    code = {8: "b", 16: "h", 32: "i", 64: "q"}[t.bitwidth]
    return code if t.signed else code.upper()


def parameter_format(argument_types: Sequence) -> str:
    """The ``struct`` format (native alignment, as the driver lays parameters out) of a
    kernel's parameters, from its Numba argument types."""
    codes = []
    for t in argument_types:
        if isinstance(t, types.Array):
            codes.append("QQqqQ" + "q" * (2 * t.ndim))
        elif isinstance(t, types.Boolean):
            codes.append("B")
        elif isinstance(t, types.Integer):
            codes.append(_integer_code(t))
        elif t == types.float32:
            codes.append("f")
        elif t == types.float64:
            codes.append("d")
        else:
            raise TypeError(f"no fast launch for a parameter of type {t}")
    return "@" + "".join(codes)


def parameter_offsets(fmt: str) -> list[int]:
    """The byte offset of each value of ``fmt`` (``@``-aligned) in the packed buffer."""
    offsets = []
    for i, code in enumerate(fmt[1:]):
        prefix = fmt[:i + 2]  # "@" and the codes up to and including this one
        offsets.append(struct.calcsize(prefix) - struct.calcsize("@" + code))
    return offsets


def flatten(argument_types: Sequence, values: Sequence) -> list:
    """The values of the kernel's parameters, in order (see the module docstring)."""
    return _flatten(array_flags(argument_types), values)


def array_flags(argument_types: Sequence) -> tuple[bool, ...]:
    """Which parameters are arrays (worked out once per kernel, not per launch)."""
    return tuple(isinstance(t, types.Array) for t in argument_types)


def _flatten(is_array: tuple[bool, ...], values: Sequence) -> list:
    out = []
    for array, v in zip(is_array, values):
        if array:
            out += [0, 0, v.size, v.itemsize, v.data.ptr, *v.shape, *v.strides]
        else:
            out.append(v)
    return out


def handle_address(handle) -> int:
    """A driver handle (Numba's ctypes ``c_void_p`` or a ``cuda.bindings`` object) as an int."""
    if handle is None or handle == 0:
        return 0
    if isinstance(handle, ctypes.c_void_p):
        return handle.value or 0
    return int(handle)


_driver: dict[str, object] = {}


def cu_launch_kernel(library: str = "libcuda.so.1"):
    """``cuLaunchKernel`` of the driver library, with its argument types."""
    if library not in _driver:
        launch = ctypes.CDLL(library).cuLaunchKernel
        launch.argtypes = [ctypes.c_void_p] + [ctypes.c_uint] * 7 + [ctypes.c_void_p] * 3
        launch.restype = ctypes.c_int
        _driver[library] = launch
    return _driver[library]


class FastKernel:
    """One compiled kernel variant on one device, launched without Numba's dispatcher."""

    def __init__(self, function: int, argument_types: Sequence, launch=None) -> None:
        self.function = function
        self.argument_types = tuple(argument_types)
        self.format = parameter_format(self.argument_types)
        self._struct, self._is_array = struct.Struct(self.format), array_flags(argument_types)
        offsets = parameter_offsets(self.format)
        self._buffer = ctypes.create_string_buffer(max(1, self._struct.size))
        base = ctypes.addressof(self._buffer)
        self._parameters = (ctypes.c_void_p * len(offsets))(*(base + o for o in offsets))
        self._launch = launch if launch is not None else cu_launch_kernel()
        self._lock = threading.Lock()  # one buffer: one launch at a time

    @classmethod
    def from_dispatcher(cls, dispatcher) -> FastKernel:
        """The kernel a ``cuda.jit(signature)`` dispatcher compiled, loaded on the current
        device (Numba loads it there on first use)."""
        (kernel,) = dispatcher.overloads.values()  # one explicit signature
        function = kernel._codelibrary.get_cufunc().handle
        return cls(handle_address(function), kernel.argument_types)

    def __call__(self, grid, block, stream: int, *args) -> None:
        """Launch on ``grid`` x ``block`` (tuples of 1-3 ints) on the CUstream ``stream``."""
        gx, gy, gz = (*grid, 1, 1)[:3]
        bx, by, bz = (*block, 1, 1)[:3]
        values = _flatten(self._is_array, args)
        with self._lock:
            self._struct.pack_into(self._buffer, 0, *values)
            status = self._launch(self.function, gx, gy, gz, bx, by, bz, 0, stream,
                                  self._parameters, None)
        if status != 0:
            raise LaunchError(f"cuLaunchKernel failed with CUresult {status}")
