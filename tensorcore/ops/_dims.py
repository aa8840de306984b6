"""Dim and size arguments, read as PyTorch reads them, and the shapes of reductions.

One rule for every op that takes dims: NumPy's keyword names (``axis`` for ``dim``,
``keepdims`` for ``keepdim``) are accepted wherever PyTorch accepts them; a dim is an int
(a bool, float or string is a TypeError); a dim out of range is an IndexError; a repeated dim
in a list is a RuntimeError (once every dim is in range); a 0-d tensor has the dims 0 and -1;
in a reduction the empty list ``()`` / ``[]`` means every dim (``all`` / ``any``: none, as in
PyTorch); ``keepdim`` is a bool, and where PyTorch has only ``op()`` and ``op(dim, keepdim)``
it needs a ``dim``.

>>> import tensorcore as tc
>>> x = tc.ones(2, 3)
>>> x.sum(axis=1, keepdims=True).shape, x.mean(dim=()).shape, x.argmax(axis=0).tolist()
((2, 1), (), [0, 0, 0])
"""

from __future__ import annotations

import functools
import inspect
import math
import operator

import numpy as np

from ..tensor import Tensor

# NumPy's name -> PyTorch's name, accepted for any op with the PyTorch parameter
_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def numpy_names(fn):
    """``fn`` that also takes NumPy's ``axis`` / ``keepdims`` for its ``dim`` / ``keepdim``
    parameters (only those it has); giving a name and its alias together is a TypeError."""
    params = inspect.signature(fn).parameters
    aliases = tuple((alias, name) for alias, name in _ALIASES if name in params)
    names = frozenset(alias for alias, _ in aliases)
    if not aliases:
        raise TypeError(f"{fn.__name__} has no parameter with a NumPy alias")

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs and not names.isdisjoint(kwargs):
            for alias, name in aliases:
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}() got both '{name}' and its alias "
                                        f"'{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return call


def as_int(value, what: str, op: str) -> int:
    """``value`` as a Python int (ints, NumPy ints, integer 0-d tensors); else TypeError."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{op}(): argument '{what}' must be int, not {type(value).__name__}")
    return operator.index(value)


def wrap_dim(dim, ndim: int, op: str = "") -> int:
    """One dim as an axis in ``[0, ndim)``; a 0-d tensor takes 0 and -1 (as in PyTorch)."""
    d = dim if type(dim) is int else as_int(dim, "dim", op)
    if 0 <= d < ndim:
        return d
    n = ndim or 1
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d % n


def one_dim(dim, ndim: int, op: str) -> int:
    """The ``dim`` of an op that takes exactly one (argmax, prod, softmax, cat, ...)."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    return wrap_dim(dim, ndim, op)


def dim_list(dim, ndim: int, op: str, empty_is_all: bool = True):
    """A reduction's ``dim`` (None, an int or a sequence of ints) as a tuple of distinct axes,
    or None for every dim: None, a 0-d tensor's dims, and (when ``empty_is_all``) an empty
    sequence, as PyTorch reads them. ``empty_is_all=False``: ``()`` is the empty tuple."""
    if dim is None:
        return None
    if type(dim) is tuple or isinstance(dim, (tuple, list)):
        if not dim:
            return None if empty_is_all else ()
        dims = tuple(wrap_dim(d, ndim, op) for d in dim)  # every dim in range, then no repeat
        if len(set(dims)) != len(dims):
            d = next(d for i, d in enumerate(dims) if d in dims[:i])
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    else:
        dims = (wrap_dim(dim, ndim, op),)
    return dims if ndim else None


class _Unset:
    """The default of an argument whose absence PyTorch tells from ``None`` (``x.sum()`` takes
    no ``keepdim``; ``x.sum(None, keepdim=True)`` does)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not given>"


UNSET = _Unset()


def keepdim_flag(keepdim, op: str) -> bool:
    """``keepdim`` as PyTorch reads it: a bool (anything else is a TypeError); absent: False."""
    if keepdim is False or keepdim is True:
        return keepdim
    if keepdim is UNSET:
        return False
    if isinstance(keepdim, np.bool_):
        return bool(keepdim)
    raise TypeError(f"{op}(): argument 'keepdim' must be bool, not {type(keepdim).__name__}")


def dim_given(dim, keepdim, op: str, none_ok: bool = True):
    """The ``dim`` of a reduction whose ``keepdim`` exists only with a ``dim`` (sum, mean,
    prod, max, min; PyTorch has ``op()`` and ``op(dim, keepdim)``): ``keepdim`` without
    ``dim`` is a TypeError, as is ``dim=None`` where ``none_ok`` is False (prod, max, min take
    an int). Returns None for "every dim" and ``keepdim`` as a bool."""
    if dim is UNSET:
        if keepdim is not UNSET:
            raise TypeError(f'{op}() missing 1 required positional arguments: "dim"')
        return None, False
    if dim is None and not none_ok:
        raise TypeError(f"{op}(): argument 'dim' must be int, not NoneType")
    return dim, keepdim_flag(keepdim, op)


def size_arg(sizes: tuple, keyword, name: str, op: str) -> tuple:
    """The sizes of ``op(*sizes)``, ``op(sizes)`` (a sequence) or ``op(name=sizes)``, as
    ints; none at all (``op()``; ``op(())`` is the empty size) or anything else is a
    TypeError, as in PyTorch."""
    if keyword is not None:
        if sizes:
            raise TypeError(f"{op}() got multiple values for argument '{name}'")
        sizes = (keyword,)
    elif not sizes:
        raise TypeError(f'{op}() missing 1 required positional arguments: "{name}"')
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    for s in sizes:
        if type(s) is not int:
            return tuple(as_int(s, name, op) for s in sizes)
    return sizes


# -- the shapes of a reduction ----------------------------------------------------------------
def accumulate_dtype(x):
    """float16 sums accumulate in float32, as in PyTorch."""
    return np.float32 if x.dtype == np.float16 else None


def kept_shape(shape, dims):
    """``shape`` with the reduced ``dims`` (None: all) set to 1."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def reduced_shape(shape, dims, keepdim):
    """The output shape of a reduction over ``dims`` (None: all)."""
    if keepdim:
        return kept_shape(shape, dims)
    return () if dims is None else tuple(n for i, n in enumerate(shape) if i not in dims)


def expand_back(g, shape, dims, keepdim: bool, xp=None):
    """A reduction's output gradient, broadcast back over the input's shape (a Tensor, or a
    read-only array view for a first-order backward)."""
    if not keepdim:
        g = g.reshape(kept_shape(shape, dims))
    if isinstance(g, Tensor):
        return g.expand(shape)
    if math.prod(shape) > VIEW_ABOVE:
        return xp.broadcast_to(g, shape)
    out = xp.empty(shape, g.dtype)  # small: a filled copy is cheaper than broadcast_to
    out[...] = g
    return out


VIEW_ABOVE = 1 << 16  # elements: larger gradients stay read-only broadcast views
