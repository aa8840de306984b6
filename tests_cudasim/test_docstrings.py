"""The docstring examples of the CUDA kernel modules run (under the simulator)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["common", "inline", "linear_act", "linear_backward", "act_backward", "softmax_ce",
           "fused"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"tensorcore.kernels.numba_cuda.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
