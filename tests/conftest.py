"""One suite for every backend: the ``device`` fixture runs a test on each available one.

``device`` yields a device string ("cpu" or "cuda") with the matching backend implementation
selected (numpy, numba, and cupy where a GPU is present). GPU-only tests use
``@pytest.mark.gpu`` and skip cleanly without one. Without a GPU the suite also runs on a
NumPy stand-in registered as ``cuda`` (``standin_cuda.py``): the CuPy backend's logic and a
GPU's device semantics (``TENSORCORE_TEST_STANDIN_CUDA=0`` leaves it out).
"""

from __future__ import annotations

import os

import pytest

import tensorcore as tc

CPU_BACKENDS = tc.backends.available_backends("cpu")
CASES = [("cpu", name) for name in CPU_BACKENDS]
if tc.cuda.is_available():
    CASES += [("cuda", name) for name in tc.backends.available_backends("cuda")]
elif os.environ.get("TENSORCORE_TEST_STANDIN_CUDA", "1") != "0":
    from standin_cuda import StandInCupy

    tc.backends.register_backend("cuda", "standin", StandInCupy)
    tc.backends.set_backend("standin", "cuda")
    CASES += [("cuda", "standin")]


@pytest.fixture(params=CASES, ids=[f"{d}-{n}" for d, n in CASES])
def device(request):
    dev, name = request.param
    with tc.backends.use_backend(name, dev):
        yield dev


@pytest.fixture(autouse=True)
def tensorcore_warning_filter():
    """The filter ``import tensorcore`` installs (NumPy's floating-point warnings from
    tensorcore's own code are not shown), in force in each test as in a user's program:
    pytest replaces the warning filters around every test."""
    tc._silence_numpy_fp_warnings()


@pytest.fixture
def real_cuda_backend(monkeypatch):
    """``cuda`` served by its real backend (CuPy) for the test, even while the stand-in is
    registered: for the checks of what happens without a usable GPU."""
    monkeypatch.setitem(tc.backends._chosen, "cuda", "cupy")


def pytest_collection_modifyitems(config, items):
    if tc.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none usable here)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
