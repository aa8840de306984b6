"""The docstring examples of the CUDA kernel modules run (under the simulator)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cuda_common", "cuda_linear_act", "cuda_linear_backward", "cuda_act_backward",
           "cuda_softmax_ce", "cuda_fused"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"tensorcore.kernels.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
