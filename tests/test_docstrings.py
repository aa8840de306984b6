"""Every docstring example in the package runs (the style guide asks for runnable ones)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tensorcore

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(tensorcore.__path__, "tensorcore.")
    if not name.endswith("__main__"))


@pytest.mark.parametrize("name", ["tensorcore", *MODULES])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    with tensorcore.backends.use_backend(tensorcore.backends.get_backend_name("cpu")):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
