"""Simulator tests of the Numba-CUDA kernels (``tensorcore.kernels.numba_cuda``).

Numba reads ``NUMBA_ENABLE_CUDASIM`` once, when it is first imported, so these tests run in a
process of their own: ``python -m pytest -q tests_cudasim`` (the main suite does exactly that
in ``tests/test_cuda_simulator.py``). This file sets the variable before anything imports
numba, and refuses to run if numba was imported without it (e.g. ``pytest tests
tests_cudasim`` in one process: the main suite imports numba first).
"""

from __future__ import annotations

import os
import sys

if "numba" in sys.modules and not sys.modules["numba"].config.ENABLE_CUDASIM:
    raise RuntimeError(
        "tests_cudasim needs Numba's CUDA simulator, but numba was already imported without "
        "NUMBA_ENABLE_CUDASIM=1; run `python -m pytest -q tests_cudasim` in its own process")
os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
# tests/ for the helper modules shared with the main suite (after this folder: its own
# conftest comes first)
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "tests"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numba import config  # noqa: E402

assert config.ENABLE_CUDASIM, "numba did not pick up NUMBA_ENABLE_CUDASIM=1"

from tensorcore.kernels.numba_cuda import common as cuda_common  # noqa: E402

DTYPES = [np.float32, np.float64]
ACTS = ["relu", "gelu", "sigmoid", "tanh", None]
# Kernel vs float64 reference on the same inputs: float32 accumulates GEMM sums and
# transcendentals in float32.
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture
def small_chunks(monkeypatch):
    """Split the act backward into row chunks of 16, so that M > 16 exercises the second
    stage (per-chunk partial sums, then the column-sum kernel)."""
    monkeypatch.setattr(cuda_common, "BWD_ROWS_PER_CHUNK", 16)
