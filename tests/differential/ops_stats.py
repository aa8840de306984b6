"""Op tables: ``var_mean`` / ``std_mean`` (every dim form, ``unbiased`` or ``correction``)
``quantile`` / ``nanquantile`` (a float or 1-D tensor ``q``, every interpolation),
``mode``, ``diagonal`` and ``diag_embed`` (every offset / dims form), ``trapezoid`` and
``trapz`` (``x`` of several shapes, or ``dx``)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .harness import Arr, Case, Op
from .ops_elementwise import function, method
from .ops_order import _no_grad, distinct
from .ops_reduce import correction, reduce_case
from .strategies import SEEDS, WEIGHTED_DTYPES, arrays, one_dim, shapes

MODES = ("linear", "linear", "lower", "higher", "midpoint", "nearest", "cubic")
Q_FLOATS = (0.0, 0.5, 1.0, 0.25, 0.9, 0.333, -0.1, 1.5)


@st.composite
def quantile_case(draw, xs=None):
    """A tensor (float mostly; ``xs`` if given), ``q`` (a float, a 0-d or 1-D tensor, seldom
    out of range or of another dtype), maybe a dim and keepdim, maybe an interpolation."""
    x = draw(xs if xs is not None else arrays(
        shapes(), dtypes=("float32", "float32", "float64", "float64", "int64")))
    kind = draw(st.sampled_from(("float", "float", "tensor", "tensor0")))
    if kind == "float":
        q = draw(st.sampled_from(Q_FLOATS))
    else:
        dt = x.value.dtype if draw(st.integers(0, 9)) else draw(
            st.sampled_from(("float32", "float64")))
        n = () if kind == "tensor0" else (draw(st.integers(0, 3)),)
        hi = 1.0 if draw(st.integers(0, 9)) else 1.2
        vals = draw(st.lists(st.sampled_from((0.0, 1.0, 0.5, 0.1, 0.77, hi)),
                             min_size=max(n, default=1), max_size=max(n, default=1)))
        q = Arr(np.asarray(vals[:n[0]] if n else vals[0], dtype=dt).reshape(n),
                draw(st.booleans()))
    args, kwargs = [q], {}
    how = draw(st.sampled_from(("omit", "pos", "kw", "none")))
    if how == "pos":
        args.append(draw(one_dim(x.value.ndim)))
    elif how == "kw":
        kwargs["dim"] = draw(one_dim(x.value.ndim))
    elif how == "none":
        kwargs["dim"] = None
    if draw(st.booleans()):
        kwargs["keepdim"] = draw(st.booleans())
    if draw(st.booleans()):
        kwargs["interpolation"] = draw(st.sampled_from(MODES))
    return Case((x, *args), kwargs, seed=draw(SEEDS))


@st.composite
def diagonal_case(draw, extra=0):
    """A tensor of rank 2 or 3 mostly, an offset and two dims (of a result of ``extra`` more
    dims), each left out, positional or by keyword (in order)."""
    rank = draw(st.sampled_from((2, 2, 3, 1, 4, 0) if not extra else (1, 1, 2, 3, 0)))
    x = draw(arrays(shapes(rank, rank), dtypes=WEIGHTED_DTYPES))
    n = rank + extra
    values = (draw(st.sampled_from((0, 1, -1, 2, -3, 5))), draw(one_dim(n)), draw(one_dim(n)))
    how = draw(st.sampled_from(("pos", "kw")))
    k = draw(st.integers(0, 3))
    if how == "pos":
        return Case((x, *values[:k]), seed=draw(SEEDS))
    names = ("offset", "dim1", "dim2")
    kwargs = {names[i]: values[i] for i in range(3) if draw(st.booleans())}
    return Case((x,), kwargs, seed=draw(SEEDS))


@st.composite
def mode_case(draw):
    """A tensor (ties often: the "halves" and small-int profiles), a dim and keepdim, each
    left out, positional or by keyword."""
    x = draw(arrays(shapes(), dtypes=WEIGHTED_DTYPES))
    args, kwargs = [], {}
    for name, value in (("dim", draw(one_dim(x.value.ndim))), ("keepdim", draw(st.booleans()))):
        how = draw(st.sampled_from(("omit", "pos", "kw")))
        if how == "pos" and len(args) == len(kwargs) == 0 or how == "pos" and args:
            args.append(value)
        elif how != "omit":
            kwargs[name] = value
    return Case((x, *args), kwargs, seed=draw(SEEDS))


@st.composite
def trapezoid_case(draw):
    """``y``; sample points ``x`` (1-D along dim, y's shape, or fewer dims; seldom of a wrong
    length) or a ``dx`` (int, float, inf, bool) or neither; maybe a dim."""
    y = draw(arrays(shapes(), dtypes=WEIGHTED_DTYPES))
    ndim = y.value.ndim
    dim = draw(one_dim(ndim))
    args, kwargs = [], {}
    if draw(st.booleans()):
        kwargs["dim"] = dim
    how = draw(st.sampled_from(("x", "x", "dx", "none")))
    d = dim if -max(ndim, 1) <= dim < max(ndim, 1) and ndim else -1
    if how == "x":
        form = draw(st.sampled_from(("1d", "same", "trailing")))
        if form == "1d" or not ndim:
            n = y.value.shape[d] if ndim else 1
            n = n if draw(st.integers(0, 9)) else n + 1
            shape = (n,)
        elif form == "same":
            shape = y.value.shape
        else:
            shape = y.value.shape[draw(st.integers(0, ndim)):]
        args.append(draw(arrays(shape, dtypes=("float32", "float32", "float64", "int64"))))
    elif how == "dx":
        kwargs["dx"] = draw(st.sampled_from((2, 0.5, -1.5, float("inf"), True, 1)))
    return Case((y, *args), kwargs, seed=draw(SEEDS))


OPS = [
    *[Op(f"tc.{name}", **function(name),
         args=reduce_case(dtypes=WEIGHTED_DTYPES, extra=correction), weight=2)
      for name in ("var_mean", "std_mean")],
    # which of equal elements a sort puts first (so gets the gradient) is unspecified in
    # PyTorch beyond 16 elements: these rows draw distinct values, the "ties" rows any
    # values without gradients (as ops_order's rows)
    *[Op(f"{form}.{name}", **(function(name) if form == "tc" else method(name)),
         args=quantile_case(distinct(("float32", "float32", "float64", "int64"))), weight=2)
      for name in ("quantile", "nanquantile") for form in ("tc", "x")],
    *[Op(f"x.{name} ties", **method(name), args=quantile_case().map(_no_grad))
      for name in ("quantile", "nanquantile")],
    Op("tc.diagonal", **function("diagonal"), args=diagonal_case()),
    Op("x.diagonal", **method("diagonal"), args=diagonal_case()),
    Op("tc.mode", **function("mode"), args=mode_case()),
    Op("x.mode", **method("mode"), args=mode_case()),
    Op("tc.trapezoid", **function("trapezoid"), args=trapezoid_case(), weight=2),
    Op("tc.trapz", **function("trapz"), args=trapezoid_case()),
    Op("tc.diag_embed", **function("diag_embed"), args=diagonal_case(1)),
    Op("x.diag_embed", **method("diag_embed"), args=diagonal_case(1)),
]
