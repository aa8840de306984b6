"""The plain NumPy backend for ``cpu``: the contract's reference implementation as is.

>>> from tensorcore.backends.numpy_backend import NumpyBackend
>>> NumpyBackend("cpu").name
'numpy'
"""

from __future__ import annotations

from .contract import Backend


class NumpyBackend(Backend):
    """Every op through NumPy; the kernels are the contract's ``xp`` reference versions."""

    name = "numpy"
    device_type = "cpu"
