"""One suite for every backend: the ``device`` fixture runs a test on each available one.

``device`` yields a device string ("cpu" or "cuda") with the matching backend implementation
selected (numpy, numba, and cupy where a GPU is present). GPU-only tests use
``@pytest.mark.gpu`` and skip cleanly without one.
"""

from __future__ import annotations

import pytest

import tensorcore as tc

CPU_BACKENDS = tc.backends.available_backends("cpu")
CASES = [("cpu", name) for name in CPU_BACKENDS]
if tc.cuda.is_available():
    CASES += [("cuda", name) for name in tc.backends.available_backends("cuda")]


@pytest.fixture(params=CASES, ids=[f"{d}-{n}" for d, n in CASES])
def device(request):
    dev, name = request.param
    with tc.backends.use_backend(name, dev):
        yield dev


def pytest_collection_modifyitems(config, items):
    if tc.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none usable here)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
