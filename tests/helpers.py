"""Helpers shared by the tests (``tests/`` is on ``sys.path``: ``from helpers import to_numpy``).

>>> import tensorcore as tc
>>> to_numpy(tc.tensor([1.0, 2.0], requires_grad=True) * 2)
array([2., 4.], dtype=float32)
>>> to_numpy([1, 2]), to_numpy(3.5)
(array([1, 2]), array(3.5))
"""

from __future__ import annotations

import numpy as np

import tensorcore as tc


def to_numpy(x) -> np.ndarray:
    """The values of ``x`` as a NumPy array on the host, whatever the device.

    A tensor is detached and copied to the CPU (``x.detach().cpu().numpy()``, as a copy, so
    later in-place ops on ``x`` do not change it); arrays, scalars and lists pass through
    ``np.asarray``. Use it wherever a test reads a tensor's values, so that the test also runs on
    ``cuda``, where ``.numpy()`` and ``np.asarray(t)`` refuse device memory as in PyTorch."""
    if isinstance(x, tc.Tensor):
        return x.detach().cpu().numpy().copy()
    return np.asarray(x)


def leaf(values, device, dtype=tc.float64):
    """A leaf tensor that requires grad (float64 unless given)."""
    return tc.tensor(values, dtype=dtype, device=device, requires_grad=True)


def grads(fn, *columns, device):
    """Values and gradients (of ``fn(...).sum()``) at float64 leaves holding ``columns``."""
    xs = [leaf(c, device) for c in columns]
    out = fn(*xs)
    out.sum().backward()
    return to_numpy(out), [to_numpy(x.grad) for x in xs]


def grad_of(fn, values, device):
    """(output, gradient of ``output.sum()``) of a one-input ``fn`` at float64 ``values``
    (the first output where ``fn`` returns several, as ``max(dim)``)."""
    x = leaf(np.asarray(values, dtype=np.float64), device)
    out = fn(x)
    out = out[0] if isinstance(out, tuple) else out
    out.sum().backward()
    return to_numpy(out), to_numpy(x.grad)


def same(got, expected):
    """Equal as float64 arrays, NaN where NaN (no tolerance)."""
    np.testing.assert_array_equal(np.asarray(got, dtype=np.float64),
                                  np.asarray(expected, dtype=np.float64))


def forget_cuda_backends() -> None:
    """Drop the cached ``cuda`` backend instances, so that the next use builds the backend a
    test registered (a stand-in, a fake) instead of one cached earlier (a real GPU's)."""
    from tensorcore import backends

    for key in [k for k in backends._instances if k[0].type == "cuda"]:
        del backends._instances[key]


def serve_cuda_with(monkeypatch, backend_class, name: str = "cupy") -> None:
    """Make ``backend_class`` the ``cuda`` backend for one test (undone by ``monkeypatch``);
    backends cached before (a real GPU's) are forgotten, so the next use builds this one."""
    from tensorcore import backends

    monkeypatch.setitem(backends._IMPLEMENTATIONS, "cuda", {name: backend_class})
    monkeypatch.setitem(backends._chosen, "cuda", name)
    forget_cuda_backends()


def build_stub_library(directory, source: str, name: str) -> str:
    """``tests/data/<source>`` built as the shared library ``directory/<name>``; skips the
    test where no C compiler is."""
    import os
    import shutil
    import subprocess

    import pytest

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip(f"no C compiler to build {source}")
    path = os.path.join(str(directory), name)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", path,
                    os.path.join(os.path.dirname(__file__), "data", source)], check=True)
    return path


def import_benchmark_script(name: str, monkeypatch):
    """Import ``benchmarks/<name>.py`` as a module (without running its main), with the
    one-thread settings such scripts make before importing NumPy undone after the test."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    spec.loader.exec_module(module)
    return module
