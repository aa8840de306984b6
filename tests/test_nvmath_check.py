"""``benchmarks/nvmath_graph_check.py``, the prepared check of nvmath-python's cuBLAS binding in
a CUDA graph, runs to its end on a machine without a GPU: one line saying what is missing,
exit status 0, so that a lent GPU's minutes are never lost to a broken script."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tensorcore as tc

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "benchmarks", "nvmath_graph_check.py")


@pytest.mark.skipif(tc.cuda.is_available(), reason="a GPU is here: the check runs for real")
def test_check_says_what_is_missing_without_a_gpu():
    if not os.path.exists(SCRIPT):
        pytest.skip("benchmarks/ is not here (not a source checkout)")
    done = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nvmath check skipped: "), done.stdout
    assert lines[0].split(": ", 1)[1] in ("CuPy is not installed", "no GPU") \
        or lines[0].split(": ", 1)[1].startswith("nvmath-python is not importable")
