"""The built-in ops, one module per family; each lists the Tensor methods it provides."""

from ..tensor import Tensor
from . import (
    arith,
    arrange,
    assemble,
    closeness,
    distances,
    elementary,
    index,
    inplace,
    inplace_arith,
    linalg,
    matrix,
    norms,
    operators,
    order,
    products,
    reduce,
    search,
    shape,
    stats,
    unary,
)
from . import gather as _gather  # the module: its function ``gather`` takes the name below
from ._util import as_tensor_like
from .arith import *  # noqa: F403
from .arith import Add, Div, Mul, RSub, Sub, binary
from .arrange import *  # noqa: F403
from .assemble import *  # noqa: F403
from .closeness import *  # noqa: F403
from .distances import *  # noqa: F403
from .elementary import *  # noqa: F403
from .gather import *  # noqa: F403
from .index import *  # noqa: F403
from .inplace import *  # noqa: F403
from .inplace_arith import *  # noqa: F403
from .linalg import *  # noqa: F403
from .matrix import *  # noqa: F403
from .norms import *  # noqa: F403
from .order import *  # noqa: F403
from .products import *  # noqa: F403
from .reduce import *  # noqa: F403
from .search import *  # noqa: F403
from .shape import *  # noqa: F403
from .stats import *  # noqa: F403
from .unary import *  # noqa: F403

METHOD_MODULES = (arith, closeness, unary, reduce, shape, index, inplace, inplace_arith, linalg,
                  matrix, norms, operators, order, _gather, arrange, assemble, elementary,
                  products, distances, search, stats)

for _module in METHOD_MODULES:
    for _name in _module.TENSOR_METHODS:
        setattr(Tensor, _name, getattr(_module, _name))

__all__ = sorted({name for m in METHOD_MODULES for name in m.__all__} | {"as_tensor_like"})
