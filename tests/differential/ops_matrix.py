"""Op tables: diag / triu / tril / trace / outer / count_nonzero, the vector norms
(``linalg.vector_norm``, ``linalg.norm``, ``norm``, ``dist``) and the closeness tests
(``isclose``, ``allclose``, ``equal``, ``isnan``, ``isinf``, ``isfinite``)."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

import tensorcore as tc

from .harness import Case, Op, same
from .ops_elementwise import function, method
from .strategies import (
    ALL_DTYPES,
    SEEDS,
    WEIGHTED_DTYPES,
    arrays,
    broadcast_shapes,
    dim_and_keepdim,
    dims,
    shapes,
)

OFFSETS = st.sampled_from((0, 0, 1, -1, 2, -3))
ORDS = st.sampled_from((2, 2, 1, 3, 0.5, 0, math.inf, -math.inf, -1))


@st.composite
def offset_case(draw, ranks=(1, 2, 2), dtypes=WEIGHTED_DTYPES):
    """A tensor of rank drawn from ``ranks`` (another rank one time in ten) and, half of the
    time, a diagonal offset, positional or by keyword."""
    rank = draw(st.sampled_from(ranks)) if draw(st.integers(0, 9)) else draw(st.integers(0, 3))
    x = draw(arrays(shapes(rank, rank), dtypes=dtypes))
    how = draw(st.sampled_from(("omit", "pos", "kw")))
    if how == "omit":
        return Case((x,), seed=draw(SEEDS))
    k = draw(OFFSETS)
    return Case((x, k) if how == "pos" else (x,), {"diagonal": k} if how == "kw" else {},
                seed=draw(SEEDS))


@st.composite
def outer_case(draw):
    ra = 1 if draw(st.integers(0, 9)) else draw(st.integers(0, 2))
    a = draw(arrays(shapes(ra, ra)))
    b = draw(arrays(shapes(1, 1), dtypes=(a.value.dtype.name,) * 3 + WEIGHTED_DTYPES))
    return Case((a, b), seed=draw(SEEDS))


@st.composite
def norm_case(draw, ord_name="ord", dtypes=("float32", "float32", "float64", "int64")):
    """A tensor, an order (by position or keyword, or left out), a dim in any form and
    keepdim (``dim=`` / ``keepdim=`` only: PyTorch's norms take no NumPy spellings)."""
    x = draw(arrays(shapes(), dtypes=dtypes))
    args, kwargs = [], {}
    how = draw(st.sampled_from(("omit", "pos", "kw")))
    if how != "omit":
        order = draw(ORDS)
        if how == "pos":
            args.append(order)
        else:
            kwargs[ord_name] = order
    if draw(st.booleans()):
        d = draw(dims(x.value.ndim))
        if how == "pos" and draw(st.booleans()):
            args.append(d)
        else:
            kwargs["dim"] = d
    if draw(st.booleans()):
        kwargs["keepdim"] = draw(st.booleans())
    return Case((x, *args), kwargs, seed=draw(SEEDS))


@st.composite
def close_case(draw):
    sa, sb = draw(broadcast_shapes())
    a = draw(arrays(sa, dtypes=ALL_DTYPES))
    b = draw(arrays(sb, dtypes=(a.value.dtype.name,) * 4 + ALL_DTYPES))
    kwargs = {}
    for name, choices in (("rtol", (1e-5, 1e-3, 0.0)), ("atol", (1e-8, 1e-2, 0.0)),
                          ("equal_nan", (False, True))):
        if draw(st.booleans()):
            kwargs[name] = draw(st.sampled_from(choices))
    return Case((a, b), kwargs, seed=draw(SEEDS))


@st.composite
def count_case(draw):
    x = draw(arrays(shapes(), dtypes=WEIGHTED_DTYPES))
    args, kwargs = draw(dim_and_keepdim(x.value.ndim, none=False, keepdim=False))
    kwargs.pop("axis", None)
    return Case((x, *args), kwargs, seed=draw(SEEDS))


def both(tc_fn, torch_fn) -> dict:
    return {"tc": tc_fn, "torch": torch_fn}


OPS = [
    Op("tc.diag", **function("diag"), args=offset_case()),
    *[Op(f"x.{name}", **method(name), args=offset_case(ranks=(2, 2, 3)))
      for name in ("triu", "tril")],
    Op("tc.trace", **function("trace"), args=offset_case(ranks=(2,)).map(
        lambda c: Case(c.args[:1], seed=c.seed))),
    Op("tc.outer", **function("outer"), args=outer_case()),
    Op("x.count_nonzero", **method("count_nonzero"), args=count_case()),
    Op("linalg.vector_norm", **both(tc.linalg.vector_norm, torch.linalg.vector_norm),
       args=norm_case(), weight=2),
    Op("linalg.norm", **both(tc.linalg.norm, torch.linalg.norm), args=norm_case()),
    Op("x.norm", **same(lambda x, *a, **k: x.norm(*a, **k)), args=norm_case("p")),
    Op("tc.dist", **function("dist"), args=close_case().map(
        lambda c: Case(c.args, seed=c.seed))),
    *[Op(f"tc.{name}", **function(name), args=close_case())
      for name in ("isclose", "allclose")],
    Op("tc.equal", **function("equal"), args=close_case().map(
        lambda c: Case(c.args, seed=c.seed))),
    *[Op(f"x.{name}", **method(name), args=st.builds(
        lambda x, s: Case((x,), seed=s), arrays(shapes(), dtypes=ALL_DTYPES), SEEDS))
      for name in ("isnan", "isinf", "isfinite")],
]
