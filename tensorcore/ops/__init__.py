"""The built-in ops, one module per family; each lists the Tensor methods it provides."""

from . import arith, index, linalg, reduce, shape, unary
from ._util import as_tensor_like
from .arith import *  # noqa: F403
from .index import getitem, setitem
from .index import *  # noqa: F403
from .linalg import cross_entropy, linear, linear_act, matmul, unfused_linear_act
from .reduce import *  # noqa: F403
from .reduce import sum_to
from .shape import *  # noqa: F403
from .shape import cat, clone, concat, concatenate, contiguous, stack, to_device, to_dtype
from .unary import *  # noqa: F403

METHOD_MODULES = (arith, unary, reduce, shape, index, linalg)

__all__ = sorted({n for m in METHOD_MODULES for n in m.TENSOR_METHODS}
                 | {"as_tensor_like", "getitem", "setitem", "sum_to", "cat", "stack", "concat",
                    "concatenate", "contiguous", "to_device", "to_dtype", "linear", "linear_act",
                    "cross_entropy", "unfused_linear_act", "rsub", "rdiv", "rpow", "clone"})
