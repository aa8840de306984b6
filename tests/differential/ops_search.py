"""Op tables: nonzero / argwhere, unique and diff."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

import tensorcore as tc

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


@st.composite
def searchsorted_case(draw):
    rank = draw(st.sampled_from((1, 1, 2)))
    seq = draw(arrays(shapes(rank, rank), dtypes=("float32", "float64", "int64")))
    s = np.sort(seq.value, axis=-1)
    seq = type(seq)(s, False)
    if rank == 1 or draw(st.integers(0, 9)) == 0:
        vshape = draw(shapes(0, 2))
    else:
        vshape = s.shape[:-1] + (draw(st.integers(0, 3)),)
    v = draw(arrays(vshape, dtypes=(s.dtype.name,) * 3 + ("float32", "int64"), grad=False))
    kw = {}
    if draw(st.booleans()):
        kw["right"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        kw["side"] = draw(st.sampled_from(("left", "right")))
    if draw(st.integers(0, 3)) == 0:
        kw["out_int32"] = True
    return Case((seq, v), kw, seed=draw(SEEDS))


@st.composite
def bucketize_case(draw):
    b = draw(arrays(shapes(1, 1), dtypes=("float32", "float64", "int64"), grad=False))
    b = type(b)(np.sort(b.value), False)
    v = draw(arrays(shapes(0, 2), dtypes=(b.value.dtype.name, "float32", "int64"), grad=False))
    kw = {"right": True} if draw(st.booleans()) else {}
    return Case((v, b), kw, seed=draw(SEEDS))


OPS: list = [
    Op("tc.nonzero", **function("nonzero"), args=nonzero_case()),
    Op("x.nonzero", **method("nonzero"), args=nonzero_case()),
    Op("tc.argwhere", **function("argwhere"), args=argwhere_case()),
    Op("tc.unique", **function("unique"), args=unique_case()),
    Op("x.unique", **method("unique"), args=unique_case()),
    Op("tc.unique_consecutive", **function("unique_consecutive"), args=unique_case()),
    Op("x.unique_consecutive", **method("unique_consecutive"), args=unique_case()),
    Op("tc.diff", **function("diff"), args=diff_case()),
    Op("x.diff", **method("diff"), args=diff_case()),
    Op("tc.searchsorted", **function("searchsorted"), args=searchsorted_case()),
    Op("tc.bucketize", **function("bucketize"), args=bucketize_case()),
]


@st.composite
def logspace_case(draw):
    ends = st.sampled_from((0, 1, -2, 2.5, 3, -0.5))
    args = (draw(ends), draw(ends), draw(st.integers(0, 6)))
    kw = {}
    if draw(st.booleans()):
        kw["base"] = draw(st.sampled_from((2, 2.0, 10.0, 0.5, 3)))
    if draw(st.booleans()):
        kw["dtype"] = draw(st.sampled_from(("float32", "float64")))
    return Case(args, kw, seed=draw(SEEDS))


def _logspace(lib):
    def call(*args, dtype=None, **kw):
        return lib.logspace(*args, dtype=None if dtype is None else getattr(lib, dtype), **kw)
    return call


OPS.append(Op("tc.logspace", tc=_logspace(tc), torch=_logspace(torch), args=logspace_case()))
