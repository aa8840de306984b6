"""pytest-benchmark suites: run with ``python -m pytest benchmarks/ --benchmark-only``.

Not part of the normal test run (``pytest`` / ``pytest tests`` collect ``tests/`` only).
BLAS / OpenMP use 2 threads unless OMP_NUM_THREADS / OPENBLAS_NUM_THREADS are already set;
this must happen before NumPy is imported, hence here, at the top of the conftest.
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
if "numpy" in sys.modules:  # pragma: no cover - a plugin imported NumPy first
    sys.stderr.write("benchmarks/conftest.py: NumPy was imported before the BLAS thread count "
                     "could be set; limiting it with threadpoolctl where available\n")
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]))
    except ImportError:
        pass

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
import workloads  # noqa: E402


@pytest.fixture(scope="session")
def torch_or_skip():
    torch = workloads.get_torch()
    if torch is None:
        pytest.skip("PyTorch is not importable here (optional, for comparison only)")
    return torch
