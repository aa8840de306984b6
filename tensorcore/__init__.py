"""tensorcore: a multi-backend array and reverse-mode autodiff engine.

>>> import tensorcore as tc
>>> w = tc.randn(3, requires_grad=True)
>>> loss = (w * w).sum()
>>> loss.backward()
>>> (w.grad - 2 * w).abs().max().item() < 1e-6
True
"""

from __future__ import annotations

import re as _re
import sys as _sys
import warnings as _warnings

from . import _dtype, autograd, backends, compiler, cuda, linalg, nn, ops, optim, utils  # noqa: E402
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
from .compiler import compile  # noqa: A004
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
    logspace,
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
from .random import (  # noqa: E402
    bernoulli,
    multinomial,
    normal,
    poisson,
    rand_like,
    randint_like,
    randn_like,
)
from .serialization import load, save
from .tensor import Tensor

__version__ = "0.1.0"


# -- NumPy's floating-point warnings ---------------------------------------------------------------
# PyTorch computes log(0) = -inf, 1e308 * 10 = inf and 0 / 0 = nan without a word; NumPy warns
# (RuntimeWarning) for each. One warnings filter, installed here, drops those warnings when
# tensorcore's own code computed them; nothing runs per op, the user's np.seterr state is
# untouched, and a user's own NumPy calls still warn. NumPy attributes a ufunc's warning to
# the Python frame that called it (a tensorcore module), or to a frame inside NumPy where
# tensorcore called a NumPy function written in Python (ndarray.sum, np.mean): the filter's
# module test then looks past NumPy's frames to the caller.
_NUMPY_FP_WARNING = _re.compile(
    r"(divide by zero|overflow|underflow|invalid value) encountered in |mean of empty slice"
    r"|degrees of freedom <= 0 for slice|all-nan (slice|axis) encountered", _re.I)


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class _ComputedByTensorcore:
    """The module test of the filter: warnings's C code calls ``.match(module)`` (as it
    would a compiled regex) only for a warning whose text has already matched, while the
    frames that raised it are still on the stack."""

    pattern = "tensorcore (or NumPy called by tensorcore)"  # what a regex would show

    def match(self, module: str) -> bool:
        if _in_package(module, "tensorcore"):
            return True
        if not _in_package(module, "numpy"):
            return False
        frame = _sys._getframe(1)
        while frame is not None and _in_package(frame.f_globals.get("__name__", ""), "numpy"):
            frame = frame.f_back
        return frame is not None and _in_package(frame.f_globals.get("__name__", ""),
                                                 "tensorcore")

    def __repr__(self) -> str:
        return f"<{self.pattern}>"


def _silence_numpy_fp_warnings() -> None:
    # filterwarnings validates and files the entry (and resets the warning registries);
    # its module regex is then swapped for the stack-aware test above
    _warnings.filterwarnings("ignore", message=_NUMPY_FP_WARNING.pattern,
                             category=RuntimeWarning, module="tensorcore")
    action, message, category, _, lineno = _warnings.filters[0]
    _warnings.filters[0] = (action, message, category, _ComputedByTensorcore(), lineno)


_silence_numpy_fp_warnings()
del _dtype
