"""Op tables: ``var_mean`` / ``std_mean`` (every dim form, ``unbiased`` or ``correction``)
and ``quantile`` / ``nanquantile`` (a float or 1-D tensor ``q``, every interpolation)."""

from __future__ import annotations

from hypothesis import strategies as st

from .harness import Arr, Case, Op
from .ops_elementwise import function, method
from .ops_reduce import correction, reduce_case
from .strategies import SEEDS, WEIGHTED_DTYPES, arrays, one_dim, shapes

MODES = ("linear", "linear", "lower", "higher", "midpoint", "nearest", "cubic")
Q_FLOATS = (0.0, 0.5, 1.0, 0.25, 0.9, 0.333, -0.1, 1.5)


@st.composite
def quantile_case(draw):
    """A tensor (float mostly), ``q`` (a float, a 0-d or 1-D tensor, seldom out of range or
    of another dtype), maybe a dim and keepdim, maybe an interpolation."""
    x = draw(arrays(shapes(), dtypes=("float32", "float32", "float64", "float64", "int64")))
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
        import numpy as np
        q = Arr(np.asarray(vals[:n[0]] if n else vals[0], dtype=dt).reshape(n), False)
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


OPS = [
    *[Op(f"tc.{name}", **function(name),
         args=reduce_case(dtypes=WEIGHTED_DTYPES, extra=correction), weight=2)
      for name in ("var_mean", "std_mean")],
    *[Op(f"{form}.{name}", **(function(name) if form == "tc" else method(name)),
         args=quantile_case(), weight=2)
      for name in ("quantile", "nanquantile") for form in ("tc", "x")],
]
