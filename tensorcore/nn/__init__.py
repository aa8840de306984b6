"""Neural-network building blocks: ``Module`` and the layers, ``Parameter``, ``init``,
``utils`` and ``functional``, as ``torch.nn``.

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
>>> sum(p.numel() for p in model.parameters())
21
>>> model(tc.randn(5, 3)).shape
(5, 1)
"""

from . import functional, init, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parameter import Parameter

__all__ = ["functional", "init", "utils", "Parameter", *_modules_all]
