"""Vector norms with PyTorch's semantics: ``tc.linalg.vector_norm`` (the one node),
``tc.linalg.matrix_norm`` and ``tc.linalg.norm`` (built on it), ``tc.norm`` / ``Tensor.norm``
and ``tc.dist``.

``vector_norm(x, ord, dim, keepdim)`` is ``(sum |x|^ord)^(1/ord)`` over ``dim`` (all elements
when None), with ``ord`` inf / -inf the largest / smallest ``|x|`` and 0 the count of
non-zeros. Its gradient is PyTorch's: zero where the norm is zero (not NaN), shared evenly
between ties of the inf norms, none for ``ord=0``.
The matrix norms from singular values (2, -2, ``'nuc'``) raise NotImplementedError.

>>> import tensorcore as tc
>>> tc.tensor([3.0, -4.0]).norm().item(), tc.linalg.vector_norm(tc.tensor([3.0, -4.0]), 1).item()
(5.0, 7.0)
"""

from __future__ import annotations

import math

from ..autograd.function import Function
from ..tensor import Tensor
from ._dims import wrap_dim
from ._util import normalize_dims

TENSOR_METHODS = ["norm", "dist"]
__all__ = ["norm", "dist"]  # vector_norm, matrix_norm and linalg_norm: tc.linalg's


class LinalgVectorNorm(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a, p, dims, keepdim):
        x, xp = a._data, a._backend.xp
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        ax = xp.abs(x)
        if p == 2:
            out = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        elif p == 1:
            out = ax.sum(axis=dims, keepdims=keepdim)
        elif p == math.inf:
            out = ax.max(axis=dims, keepdims=keepdim)
        elif p == -math.inf:
            out = ax.min(axis=dims, keepdims=keepdim)
        elif p == 0:
            out = (x != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
        else:
            out = (ax ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        ctx.save_for_backward(a)
        return xp.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        p = ctx.p
        if p == 0:  # PyTorch gives no gradient (the input's .grad stays None)
            return None, None, None, None
        n = vector_norm(a, p, ctx.dims, True)  # the norm again, kept for broadcasting
        if not ctx.keepdim and ctx.dims is not None:
            for d in sorted(ctx.dims):
                g = g.unsqueeze(d)
        zero = n == 0
        if p == 1:
            return g * a.sign(), None, None, None
        if p in (math.inf, -math.inf):
            # shared between the ties, and NaNs counted as ties (PyTorch's mask)
            ties = ((a.abs() == n) | a.isnan()).to(a.dtype)
            count = ties.sum(ctx.dims, keepdim=True) if ctx.dims is not None else ties.sum()
            return a.sign() * (g / count * ties), None, None, None
        if p < 1:  # PyTorch's formula: |a|^(p-1) is inf at a = 0, where the gradient is 0
            scaled = (a.sign() * a.abs() ** (p - 1)).masked_fill(a == 0, 0.0)
            return scaled * g * n ** (1 - p), None, None, None
        safe = n.masked_fill(zero, 1.0)
        if p == 2:
            return a * (g / safe).masked_fill(zero, 0.0), None, None, None
        scale = (g / safe ** (p - 1)).masked_fill(zero, 0.0)
        return a.sign() * a.abs() ** (p - 1) * scale, None, None, None


def vector_norm(x, ord=2, dim=None, keepdim: bool = False) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None), a floating tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vector_norm(): argument 'input' must be Tensor, not "
                        f"{type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {x.dtype.name}")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg.vector_norm(): argument 'ord' must be a number, not "
                        f"{type(ord).__name__}")
    dims = _norm_dims(dim, x.ndim)
    reduced = x.shape if dims is None else [x.shape[d] for d in dims]
    if (ord < 0 or ord == math.inf) and 0 in reduced:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty "
                           f"tensor because the operation does not have an identity")
    return LinalgVectorNorm.apply(x, float(ord), dims, keepdim)


def _norm_dims(dim, ndim: int):
    """The reduced axes, or None for every dimension (None, (), a 0-d tensor's dims).
    Checked one after the other, as PyTorch's norms check them: a repeat is reported before
    an out-of-range dim that comes after it."""
    if dim is None:
        return None
    seen: list[int] = []
    for d in (dim,) if isinstance(dim, int) else dim:
        d = wrap_dim(d, ndim, "linalg.vector_norm")
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.append(d)
    return tuple(seen) if seen and ndim else None


def _dim_list(dims) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def matrix_norm(x, ord="fro", dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """The ``ord`` norm of the matrices of ``x`` over the two dimensions ``dim``: ``'fro'``,
    or 1 / -1 (the largest / smallest column sum of ``|x|``) and inf / -inf (row sums).
    The singular-value norms (2, -2, ``'nuc'``) are not implemented here."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.matrix_norm(): argument 'input' must be Tensor, not "
                        f"{type(x).__name__}")
    if x.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dims)}")
    rows, cols = normalize_dims(dims, x.ndim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {cols})")
    if ord == "fro":
        return vector_norm(x, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: the {ord!r} norm (from singular "
                                  f"values) is not implemented in tensorcore")
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor "
                           f"as input. Got {x.dtype.name}")
    summed, kept = (rows, cols) if abs(ord) == 1 else (cols, rows)  # 1: column sums
    sums = x.abs().sum(summed, keepdim=True)
    if ord > 0 and sums.shape[kept] == 0:
        out = sums.sum(kept, keepdim=True)  # zeros: PyTorch's largest of no sums
    else:
        out = sums.amax(kept, keepdim=True) if ord > 0 else sums.amin(kept, keepdim=True)
    return out if keepdim else out.squeeze(max(rows, cols)).squeeze(min(rows, cols))


def linalg_norm(x, ord=None, dim=None, keepdim: bool = False) -> Tensor:
    """``tc.linalg.norm``: a vector norm over one dimension (or of a 1-D ``x``), a matrix
    norm over two (or of a 2-D ``x``); with ``ord`` and ``dim`` None, the 2-norm of ``x``
    flattened."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(x, 2 if ord is None else ord, dims, keepdim)
        if len(dims) == 2:
            return matrix_norm(x, "fro" if ord is None else ord, dims, keepdim)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                           f"Got {_dim_list(dims)}")
    if ord is None:
        return vector_norm(x, 2, None, keepdim)
    ndim = x.ndim if isinstance(x, Tensor) else 0
    if ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {ndim}D.")
    return (vector_norm if ndim == 1 else matrix_norm)(x, ord, keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim: bool = False) -> Tensor:
    """``torch.norm``: ``p`` a number is the vector ``p``-norm of ``input`` over ``dim`` (all
    elements flattened when None); ``'fro'`` (the default) the 2-norm, over at most two
    dimensions; ``'nuc'`` is not implemented."""
    if p == "fro":
        if dim is not None and not isinstance(dim, int) and len(tuple(dim)) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                               f"{' '.join(str(d) for d in dim)}")
        return vector_norm(input, 2, dim, keepdim)
    if isinstance(p, str):
        return matrix_norm(input, p, (-2, -1) if dim is None else dim, keepdim)
    return vector_norm(input, p, dim, keepdim)


def dist(input, other, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast), over all elements."""
    if not isinstance(other, Tensor):
        raise TypeError(f"dist(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    return vector_norm(input - other, p)
