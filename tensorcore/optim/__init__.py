"""Optimizers (``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``NAdam``, ``RAdam``,
``Adamax``, ``Adadelta``) and learning-rate schedulers (``tensorcore.optim.lr_scheduler``),
with PyTorch's API.

>>> import tensorcore as tc
>>> w = tc.tensor([3.0], requires_grad=True)
>>> opt = tc.optim.Adam([w], lr=0.1)
>>> for _ in range(200):
...     opt.zero_grad()
...     ((w - 1) ** 2).sum().backward()
...     opt.step()
>>> abs(w.item() - 1) < 1e-2
True
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adamax, NAdam, RAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "SGD", "lr_scheduler"]
