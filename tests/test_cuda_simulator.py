"""Runs the Numba-CUDA kernel tests (``tests_cudasim/``) under Numba's CUDA simulator.

The simulator must be switched on (``NUMBA_ENABLE_CUDASIM=1``) before numba is imported, and
this process has imported numba already, so the simulator suite runs in a pytest process of
its own; its output is shown when it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_cuda_kernels_pass_under_the_simulator():
    if not (ROOT / "tests_cudasim").is_dir():
        pytest.skip("tests_cudasim/ is not here (not a source checkout)")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests_cudasim"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0 and " passed" in summary and "skipped" not in summary, (
        f"the simulator suite failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
