"""The made-up activation that the activation-table tests add through the table alone
("cube": ``v ** 3``), and the fixtures that register it for one test; shared by
``tests/test_activation_table.py`` and ``tests_cudasim/test_activation_table.py`` (which runs
in a process of its own)."""

from __future__ import annotations

import pytest

from tensorcore.kernels import activations
from tensorcore.kernels.activations import Activation, typed


def _cube(v):
    return v * v * v


def _cube_grad(g, s):
    return g * (typed(s, 3.0) * s * s)


CUBE = Activation(
    "cube", "pre", lambda t: t * t * t, lambda xp, z: z * z * z,
    lambda xp, g, pre: g * (3 * pre * pre), _cube, _cube_grad,
    "y = v * v * v;", "gz = g * ((T)3 * p * p);")


@pytest.fixture
def cube():
    """Registers the made-up activation for one test, and removes it after."""
    activations.register(CUBE)
    yield "cube"
    activations.unregister("cube")


@pytest.fixture(params=["cube", "silu"])
def activation(request):
    """The made-up activation (registered for the test) or SiLU, the real one."""
    if request.param == "cube":
        activations.register(CUBE)
        yield "cube"
        activations.unregister("cube")
    else:
        yield request.param
