"""tensorcore: a multi-backend array and reverse-mode autodiff engine.

>>> import tensorcore as tc
>>> w = tc.randn(3, requires_grad=True)
>>> loss = (w * w).sum()
>>> loss.backward()
>>> (w.grad - 2 * w).abs().max().item() < 1e-6
True
"""

from __future__ import annotations

from . import _dtype, autograd, backends, cuda, nn, ops, optim, utils  # noqa: E402
from ._device import device
from ._dtype import bool_ as bool
from ._dtype import (
                     double,
                     dtype,
                     float16,
                     float32,
                     float64,
                     get_default_dtype,
                     half,
                     int32,
                     int64,
                     long,
                     set_default_dtype,
)
from ._dtype import float_ as float  # noqa: F401
from ._dtype import int_ as int  # noqa: F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .backends import get_default_device, manual_seed, set_default_device  # noqa: E402
from .backends.matmul_precision import (  # noqa: E402
    get_float32_matmul_precision,
    set_float32_matmul_precision,
)
from .creation import (
    Generator,
                     arange,
                     as_tensor,
                     empty,
                     empty_like,
                     eye,
                     from_dlpack,
                     from_numpy,
                     full,
                     full_like,
                     linspace,
                     ones,
                     ones_like,
                     rand,
                     randint,
                     randn,
                     randperm,
                     tensor,
                     zeros,
                     zeros_like,
)
from .ops import *  # noqa: F403
from .ops import cat, clone, concat, matmul, stack  # noqa: F401
from .ops.reduce import max, min, sum  # noqa: F401,A004
from .serialization import load, save
from .tensor import Tensor

__version__ = "0.1.0"
del _dtype
