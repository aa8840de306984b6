"""Matrix-shaped helpers with PyTorch's semantics: ``diag``, ``triu`` / ``tril``, ``trace``,
``outer`` and ``count_nonzero``. Each returns a new tensor (none is a view), and all but
``count_nonzero`` carry gradients, twice differentiable: each backward is written with these
same ops.

>>> import tensorcore as tc
>>> tc.diag(tc.tensor([1.0, 2.0])).tolist()
[[1.0, 0.0], [0.0, 2.0]]
>>> tc.tensor([[1, 2], [3, 4]]).triu().tolist(), tc.outer(tc.arange(2), tc.arange(3)).tolist()
([[1, 2], [0, 4]], [[0, 0, 0], [0, 1, 2]])
"""

from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from ._dims import dim_list
from ._util import tensors_only

TENSOR_METHODS = ["diag", "triu", "tril", "trace", "outer", "ger", "count_nonzero"]
__all__ = list(TENSOR_METHODS)


def _diagonal_index(shape, k: int, xp):
    """Row and column indices of diagonal ``k`` of a matrix of ``shape``."""
    rows, cols = shape
    n = max(0, min(rows, cols - k) if k >= 0 else min(rows + k, cols))
    i = xp.arange(n)
    return (i, i + k) if k >= 0 else (i - k, i)


class Diag(Function):
    """``diag``: a 1-D input becomes the square matrix with it on diagonal ``k``; a 2-D input
    gives its diagonal ``k`` as a 1-D tensor. Each direction's backward is the other."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, k):
        x, xp = a._data, a._backend.xp
        ctx.k, ctx.shape = k, x.shape
        if x.ndim == 1:
            m = x.shape[0] + abs(k)
            out = xp.zeros((m, m), dtype=x.dtype)
            out[_diagonal_index((m, m), k, xp)] = x
            return out
        return xp.ascontiguousarray(x[_diagonal_index(x.shape, k, xp)])

    @staticmethod
    def backward(ctx, g):
        if len(ctx.shape) == 1:
            return diag(g, ctx.k), None
        return DiagInto.apply(g, ctx.shape, ctx.k), None


class DiagInto(Function):
    """A 1-D tensor placed on diagonal ``k`` of a zero matrix of ``shape`` (the gradient of
    ``diag`` of a matrix, which need not be square)."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, shape, k):
        x, xp = a._data, a._backend.xp
        ctx.k = k
        out = xp.zeros(shape, dtype=x.dtype)
        out[_diagonal_index(shape, k, xp)] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return diag(g, ctx.k), None, None


def diag(input, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as a square matrix with it on ``diagonal`` (0 the main one, > 0 above,
    < 0 below), or the ``diagonal`` of a 2-D tensor as a 1-D one."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diag(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    if not isinstance(diagonal, int) or isinstance(diagonal, bool):
        raise TypeError(f"diag(): argument 'diagonal' must be int, not "
                        f"{type(diagonal).__name__}")
    return Diag.apply(input, diagonal)


class _Triangle(Function):
    """``triu`` / ``tril`` of the last two dimensions; the backward is the same triangle of
    the gradient."""

    @staticmethod
    def backward(ctx, g):
        return (triu if ctx.upper else tril)(g, ctx.k), None


class Triu(_Triangle):
    @staticmethod
    def forward(ctx, a, k):
        ctx.k, ctx.upper = k, True
        return a._backend.xp.triu(a._data, k)


class Tril(_Triangle):
    @staticmethod
    def forward(ctx, a, k):
        ctx.k, ctx.upper = k, False
        return a._backend.xp.tril(a._data, k)


def _triangle(name: str, node, input, diagonal):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    if not isinstance(diagonal, int) or isinstance(diagonal, bool):
        raise TypeError(f"{name}(): argument 'diagonal' must be int, not "
                        f"{type(diagonal).__name__}")
    return node.apply(input, diagonal)


def triu(input, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (from ``diagonal`` up), zeros below."""
    return _triangle("triu", Triu, input, diagonal)


def tril(input, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (to ``diagonal`` down), zeros above."""
    return _triangle("tril", Tril, input, diagonal)


def trace(input) -> Tensor:
    """The sum of a 2-D tensor's main diagonal (integers sum to int64, as ``sum``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"trace(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return diag(input).sum()


def outer(input, vec2) -> Tensor:
    """The outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    tensors_only("outer", input, vec2, second="vec2")
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer  # PyTorch's older name


def count_nonzero(input, dim=None) -> Tensor:
    """How many elements are not zero, over ``dim`` (an int or a tuple; all when None), as
    an int64 tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"count_nonzero(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    # None, () and a 0-d tensor's dims: every dimension; each dim checked, none repeated
    dims = dim_list(dim, input.ndim, "count_nonzero")
    return input.ne(0).sum() if dims is None else input.ne(0).sum(dims)
