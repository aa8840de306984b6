"""The layer classes of ``tensorcore.nn`` (all re-exported there).

>>> from tensorcore.nn import modules
>>> modules.Sequential(modules.Linear(2, 2), modules.Tanh())
Sequential(
  (0): Linear(in_features=2, out_features=2, bias=True)
  (1): Tanh()
)
"""

from .activation import (
    ELU,
    GELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
)
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .extras import (
    Embedding,
    KLDivLoss,
    ParameterDict,
    ParameterList,
    PReLU,
    SmoothL1Loss,
    Unflatten,
)
from .linear import Flatten, Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import Module
from .normalization import BatchNorm1d, LayerNorm

__all__ = ["Module", "Linear", "Identity", "Flatten", "Sequential", "ModuleList", "ModuleDict",
           "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "Dropout", "BatchNorm1d", "LayerNorm", "MSELoss", "L1Loss", "HuberLoss",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "Softplus", "Mish", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "LogSigmoid",
           "Softsign", "Tanhshrink", "PReLU", "Embedding", "Unflatten", "KLDivLoss",
           "SmoothL1Loss", "ParameterList", "ParameterDict"]
