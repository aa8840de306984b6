"""Fast launches of the Numba-CUDA kernels (``tensorcore.kernels.numba_cuda.launch``) without a GPU:
the parameter layout against every kernel's PTX, the packing through the pointers handed to
``cuLaunchKernel`` (a recording stand-in of the driver call), and ``cuda_common.launch``'s
routing between the fast launch and Numba's dispatcher."""

from __future__ import annotations

import ctypes
import re
import struct
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import build_stub_library
from numba import types

from tensorcore.kernels.numba_cuda import common as cc
from tensorcore.kernels.numba_cuda import launch as cuda_launch
from tensorcore.kernels.numba_cuda.launch import FastKernel, LaunchError

PTX_BYTES = {"8": 1, "16": 2, "32": 4, "64": 8}


def _ptx_parameters(ptx: str) -> list[str]:
    """The ``.param`` types of the (single) kernel entry in ``ptx``, in order."""
    entry = re.search(r"\.entry\s+\S+\s*\((.*?)\)", ptx, re.S)
    return re.findall(r"\.param\s+\.(\w+)\s", entry.group(1))


def _global_pointer_parameters(ptx: str) -> set[int]:
    """Indices of the parameters the kernel turns into global-memory pointers."""
    loaded = dict(re.findall(r"ld\.param\.u64\s+(%rd\d+),\s*\[\S+_param_(\d+)\]", ptx))
    converted = re.findall(r"cvta\.to\.global\.u64\s+%rd\d+,\s*(%rd\d+);", ptx)
    return {int(loaded[r]) for r in converted if r in loaded}


def _nvvm_or_skip():
    import numba

    if numba.config.ENABLE_CUDASIM:
        pytest.skip("the CUDA simulator is on: no compiler")
    from numba.cuda.cudadrv import nvvm

    try:
        nvvm.NVVM()
    except Exception as exc:  # no usable NVVM library here
        pytest.skip(f"NVVM is not available: {exc}")


@pytest.mark.slow
def test_the_packed_layout_is_every_kernels_parameter_list():
    """Per kernel variant: as many values as ``.param`` entries, each of the PTX width (and
    float where the PTX says float), and the parameters the kernel dereferences as global
    pointers sit where the layout puts the arrays' data pointers."""
    _nvvm_or_skip()
    from numba import cuda

    from tensorcore.kernels.numba_cuda.fused import kernel_specs

    seen = set()
    for name, key, python_kernel, signature in kernel_specs():
        ptx, _ = cuda.compile_ptx(python_kernel, signature, cc=(9, 0))
        params = _ptx_parameters(ptx)
        fmt = cuda_launch.parameter_format(signature.args)
        codes = fmt[1:]
        assert len(codes) == len(params), f"{name}{key}: {fmt} against {params}"
        for code, ptx_type in zip(codes, params):
            assert struct.calcsize("@" + code) == PTX_BYTES[ptx_type[1:]], (name, key)
            assert (code in "fd") == ptx_type.startswith("f"), (name, key, code, ptx_type)
        data_positions, at = set(), 0
        for t in signature.args:
            if isinstance(t, types.Array):
                data_positions.add(at + 4)  # meminfo, parent, nitems, itemsize, data, ...
                at += 5 + 2 * t.ndim
            else:
                at += 1
        pointers = _global_pointer_parameters(ptx)
        assert pointers and pointers <= data_positions, (name, key, pointers, data_positions)
        seen.add(name)
    assert seen == {"gemm_act", "linear_backward", "act_backward", "column_sum",
                    "softmax_ce_forward", "softmax_ce_backward"}


class RecordingDriver:
    """Stands in for ``cuLaunchKernel``: decodes every parameter through the pointer array
    it is given, with the struct code the layout assigns to it."""

    def __init__(self, fmt: str, status: int = 0) -> None:
        self.codes, self.status, self.launches = fmt[1:], status, []

    def __call__(self, function, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        values = [struct.unpack("@" + code, ctypes.string_at(params[i], struct.calcsize(
            "@" + code)))[0] for i, code in enumerate(self.codes)]
        self.launches.append(((function, gx, gy, gz, bx, by, bz, shared, stream, extra),
                              values))
        return self.status


class DeviceArray:
    """A CuPy-like array over NumPy memory: ``data.ptr`` and ``data.device_id`` (CuPy's
    MemoryPointer), ``device.id``, shape and strides."""

    def __init__(self, a: np.ndarray, device: int = 0) -> None:
        self.a = a
        self.data = SimpleNamespace(ptr=a.ctypes.data, device_id=device)
        self.device = SimpleNamespace(id=device)
        self.shape, self.strides, self.size, self.itemsize = a.shape, a.strides, a.size, \
            a.itemsize


ARGS = [types.float32[:, ::1], types.int64[::1], types.float32, types.int64, types.boolean,
        types.float64[:, ::1]]


def _example():
    x = DeviceArray(np.zeros((3, 5), np.float32))
    t = DeviceArray(np.zeros(3, np.int64))
    y = DeviceArray(np.zeros((2, 7), np.float64))
    return [x, t, 0.5, -3, True, y]


def test_each_value_is_packed_where_its_parameter_pointer_points():
    fmt = cuda_launch.parameter_format(ARGS)
    driver = RecordingDriver(fmt)
    kernel = FastKernel(0xF00, ARGS, launch=driver)
    x, t, scale, step, flag, y = _example()
    kernel((4, 2), (32, 8), 0xABC, x, t, scale, step, flag, y)
    (call, values), = driver.launches
    assert call == (0xF00, 4, 2, 1, 32, 8, 1, 0, 0xABC, None)
    assert values == [0, 0, 15, 4, x.data.ptr, 3, 5, 20, 4,
                      0, 0, 3, 8, t.data.ptr, 3, 8,
                      0.5, -3, 1,
                      0, 0, 14, 8, y.data.ptr, 2, 7, 56, 8]
    kernel((1,), (64,), 0, x, t, 0.25, 9, False, y)  # the buffer is rewritten, not appended
    assert driver.launches[1][0][1:7] == (1, 1, 1, 64, 1, 1)
    assert driver.launches[1][1][16:19] == [0.25, 9, 0]


def test_the_ctypes_launch_reaches_a_c_driver_intact(tmp_path):
    """``cuLaunchKernel``'s 11 arguments, through the argument types ``cu_launch_kernel``
    declares, into a C function of the driver's signature (``data/stub_cuda.c``); the
    parameter pointers it receives point at the packed values."""
    library = build_stub_library(tmp_path, "stub_cuda.c", "libcuda_stub.so")
    launch = cuda_launch.cu_launch_kernel(library)
    stub = ctypes.CDLL(library)
    for name in ("stub_function", "stub_stream", "stub_params", "stub_extra"):
        getattr(stub, name).restype = ctypes.c_void_p
    kernel = FastKernel(0xF00D, ARGS, launch=launch)
    x, t, scale, step, flag, y = _example()
    kernel((3, 2), (32, 8, 2), 0x5A, x, t, scale, step, flag, y)
    assert stub.stub_launches() == 1 and stub.stub_function() == 0xF00D
    assert [stub.stub_dim(i) for i in range(6)] == [3, 2, 1, 32, 8, 2]
    assert stub.stub_stream() == 0x5A and stub.stub_extra() is None
    params = ctypes.cast(stub.stub_params(), ctypes.POINTER(ctypes.c_void_p))
    codes = kernel.format[1:]
    got = [struct.unpack("@" + c, ctypes.string_at(params[i], struct.calcsize("@" + c)))[0]
           for i, c in enumerate(codes)]
    assert got == cuda_launch.flatten(ARGS, [x, t, scale, step, True, y])
    with pytest.raises(LaunchError, match="CUresult 400"):
        FastKernel(0, ARGS, launch=launch)((1,), (1,), 0, x, t, scale, step, flag, y)


def test_a_failed_launch_raises_naming_the_driver_status():
    fmt = cuda_launch.parameter_format(ARGS)
    kernel = FastKernel(1, ARGS, launch=RecordingDriver(fmt, status=701))
    with pytest.raises(LaunchError, match="cuLaunchKernel failed with CUresult 701"):
        kernel((1,), (1,), 0, *_example())


def test_parameters_without_a_fast_layout_are_refused():
    with pytest.raises(TypeError, match="no fast launch for a parameter of type complex64"):
        cuda_launch.parameter_format([types.complex64])


def test_driver_handles_become_addresses():
    assert cuda_launch.handle_address(0) == 0 and cuda_launch.handle_address(None) == 0
    assert cuda_launch.handle_address(ctypes.c_void_p(1234)) == 1234
    assert cuda_launch.handle_address(ctypes.c_void_p(None)) == 0

    class BindingHandle:  # cuda.bindings handles convert with int()
        def __int__(self):
            return 99
    assert cuda_launch.handle_address(BindingHandle()) == 99


class FakeDispatcher:
    """A compiled ``cuda.jit(signature)`` kernel as ``FastKernel.from_dispatcher`` reads it,
    recording launches made through Numba's own ``kernel[grid, block, stream](*args)``."""

    def __init__(self) -> None:
        function = SimpleNamespace(handle=ctypes.c_void_p(0x5EED))
        compiled = SimpleNamespace(argument_types=tuple(ARGS), _codelibrary=SimpleNamespace(
            get_cufunc=lambda: function))
        self.overloads = {tuple(ARGS): compiled}
        self.numba_launches = []

    def __getitem__(self, config):
        return lambda *args: self.numba_launches.append((config, args))


def test_launch_takes_the_fast_path_for_device_arrays_only(monkeypatch):
    driver = RecordingDriver(cuda_launch.parameter_format(ARGS))
    monkeypatch.setattr(cuda_launch, "cu_launch_kernel", lambda: driver)
    monkeypatch.setattr(cc, "_FAST", {})
    monkeypatch.setattr(cc, "FAST_LAUNCH", True)
    kernel = FakeDispatcher()
    stream = SimpleNamespace(handle=ctypes.c_void_p(0x57))
    cc.launch(kernel, (2,), (32,), stream, *_example())
    cc.launch(kernel, (2,), (32,), 0, *_example())
    assert [call[0] for call, _ in driver.launches] == [0x5EED, 0x5EED]
    assert [call[8] for call, _ in driver.launches] == [0x57, 0]
    assert len(cc._FAST) == 1  # one FastKernel per kernel and device, made once
    on_device_1 = _example()
    on_device_1[0] = DeviceArray(np.zeros((3, 5), np.float32), device=1)
    cc.launch(kernel, (2,), (32,), 0, *on_device_1)
    assert len(cc._FAST) == 2 and not kernel.numba_launches
    host = [np.zeros((3, 5), np.float32), np.zeros(3, np.int64), 0.5, -3, True,
            np.zeros((2, 7))]  # NumPy arrays (the simulator): Numba's dispatcher
    cc.launch(kernel, (2,), (32,), 0, *host)
    monkeypatch.setattr(cc, "FAST_LAUNCH", False)
    cc.launch(kernel, (2,), (32,), 0, *_example())
    assert len(kernel.numba_launches) == 2 and len(driver.launches) == 3


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(cuda_launch, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
