"""Op tables: nonzero / argwhere, unique and diff."""

from __future__ import annotations

from hypothesis import strategies as st

from .harness import Case, Op
from .ops_elementwise import function, method
from .strategies import SEEDS, arrays, one_dim, shapes


@st.composite
def nonzero_case(draw):
    x = draw(arrays(shapes(0, 3)))
    kw = {} if draw(st.booleans()) else {"as_tuple": draw(st.booleans())}
    return Case((x,), kw, seed=draw(SEEDS))


@st.composite
def argwhere_case(draw):
    return Case((draw(arrays(shapes(0, 3))),), seed=draw(SEEDS))


@st.composite
def unique_case(draw):
    x = draw(arrays(shapes(0, 3), grad=False))
    kw = {k: draw(st.booleans()) for k in ("return_inverse", "return_counts")
          if draw(st.booleans())}
    if draw(st.integers(0, 2)) == 0 and x.value.ndim:
        kw["dim"] = draw(one_dim(x.value.ndim))
    return Case((x,), kw, seed=draw(SEEDS))


@st.composite
def diff_case(draw):
    x = draw(arrays(shapes(0, 3)))
    kw = {}
    if draw(st.booleans()):
        kw["n"] = draw(st.sampled_from((0, 1, 2, 3, 5)))
    nd = x.value.ndim
    d = draw(one_dim(nd)) if draw(st.booleans()) else -1
    if d != -1:
        kw["dim"] = d
    if nd and -nd <= d < nd:
        for name in ("prepend", "append"):
            if draw(st.integers(0, 3)) == 0:
                shape = list(x.value.shape)
                shape[d] = draw(st.integers(0, 2))
                kw[name] = draw(arrays(tuple(shape), dtypes=(x.value.dtype.name,)))
    return Case((x,), kw, seed=draw(SEEDS))


OPS: list = [
    Op("tc.nonzero", **function("nonzero"), args=nonzero_case()),
    Op("x.nonzero", **method("nonzero"), args=nonzero_case()),
    Op("tc.argwhere", **function("argwhere"), args=argwhere_case()),
    Op("tc.unique", **function("unique"), args=unique_case()),
    Op("x.unique", **method("unique"), args=unique_case()),
    Op("tc.diff", **function("diff"), args=diff_case()),
    Op("x.diff", **method("diff"), args=diff_case()),
]
