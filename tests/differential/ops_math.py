"""Op tables: the elementary functions (``tan`` ... ``rad2deg``, ``logaddexp``, ``hypot``,
``atan2``, ``lerp``, ``nan_to_num``, ``nansum``, ``nanmean``) and the products (``einsum``,
``tensordot``, ``inner``, ``addmm``, ``cross`` / ``linalg.cross``, ``kron``, ``cdist``)."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

import tensorcore as tc

from .harness import Case, DType, Op
from .ops_elementwise import function, kw, method
from .strategies import (
    FLOATS,
    SEEDS,
    WEIGHTED_DTYPES,
    arrays,
    binary_case,
    broadcast_shapes,
    dim_and_keepdim,
    shapes,
    unary_case,
)

UNARY = ("tan", "sinh", "cosh", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "log2",
         "log10", "expm1", "exp2", "deg2rad", "rad2deg")
BINARY = ("logaddexp", "hypot", "atan2", "arctan2")
MATH_DTYPES = ("float32", "float32", "float64", "float64", "int64", "int32", "bool")
SIZES = st.sampled_from((1, 2, 3, 2, 3, 0))


@st.composite
def lerp_case(draw):
    se, sw, ss = draw(broadcast_shapes(n=3))
    start = draw(arrays(ss, dtypes=("float32", "float32", "float64", "int64")))
    same_dt = (start.value.dtype.name,) * 6 + ("float64", "float32")
    end = draw(arrays(se, dtypes=same_dt))
    if draw(st.booleans()):
        weight = draw(st.sampled_from((0.5, 0.25, 0.75, 0.0, 1.0, -1.5, 2, 1e30)))
    else:
        weight = draw(arrays(sw, dtypes=same_dt))
    how = draw(st.sampled_from(("pos", "kw")))
    if how == "kw":
        return Case((start,), {"end": end, "weight": weight}, seed=draw(SEEDS))
    return Case((start, end, weight), seed=draw(SEEDS))


@st.composite
def nan_reduce_case(draw, dtypes=MATH_DTYPES):
    x = draw(arrays(shapes(), dtypes=dtypes))
    args, kwargs = draw(dim_and_keepdim(x.value.ndim))
    if draw(st.integers(0, 4)) == 0:
        kwargs["dtype"] = DType(draw(st.sampled_from(FLOATS)))
    return Case((x, *args), kwargs, seed=draw(SEEDS))


# -- einsum -------------------------------------------------------------------------------

COMMON = ("ij,jk->ik", "ij,jk", "bij,bjk->bik", "ii", "ii->i", "ij->ji", "ij->", "i,i->",
          "i,j->ij", "ij,j->i", "...ij,...jk->...ik", "...ii->...i", "b...,b...->...",
          "i,i,i->", "bn,anm,bm->ba", "ij,ij->ij", "ijk->kji", "i...->...", "Ab,bC",
          "ij,kj->ik", "iij->j", "i,j,k->ijk", "...", "ij->i")


@st.composite
def einsum_case(draw):
    """A common equation or a random one (1 to 3 operands over the subscripts i, j, k, l,
    repeats, ``...`` and size-1 dimensions sometimes; explicit output or implicit), with
    operands whose sizes mostly fit; the operands as one list sometimes."""
    sizes = {c: draw(SIZES) for c in "ijklmnabABC"}
    if draw(st.booleans()):
        eq = draw(st.sampled_from(COMMON))
    else:
        n = draw(st.integers(1, 3))
        terms = []
        for _ in range(n):
            term = draw(st.lists(st.sampled_from("ijkl"), max_size=3))
            if draw(st.integers(0, 5)) == 0:
                term.insert(draw(st.integers(0, len(term))), "...")
            terms.append("".join(term))
        eq = ",".join(terms)
        if draw(st.booleans()):
            present = sorted({c for t in terms for c in t if c != "."})
            outl = draw(st.permutations(present))[:draw(st.integers(0, len(present)))]
            ell = "..." if any("..." in t for t in terms) and draw(st.integers(0, 3)) else ""
            eq += "->" + ell + "".join(outl)
    ell_shape = draw(st.lists(st.sampled_from((1, 2, 3)), max_size=2))
    dtype = draw(st.sampled_from(MATH_DTYPES))
    ops = []
    for term in eq.split("->")[0].split(","):
        shape = []
        for c in term.replace("...", "."):
            if c == ".":
                shape += ell_shape[draw(st.integers(0, len(ell_shape))):]
            else:
                shape.append(1 if draw(st.integers(0, 7)) == 0 else sizes[c])
        if draw(st.integers(0, 19)) == 0:  # a wrong rank or size now and then
            shape = shape[:-1] if shape and draw(st.booleans()) else shape + [2]
        dt = dtype if draw(st.integers(0, 7)) else draw(st.sampled_from(MATH_DTYPES))
        ops.append(draw(arrays(tuple(shape), dtypes=(dt,))))
    if draw(st.integers(0, 4)) == 0:
        return Case((eq, ops), seed=draw(SEEDS))
    return Case((eq, *ops), seed=draw(SEEDS))


@st.composite
def tensordot_case(draw):
    a = draw(arrays(shapes(0, 3), dtypes=MATH_DTYPES))
    nd = a.value.ndim
    k = draw(st.integers(0, nd))
    rest = draw(shapes(0, 2))
    shape = a.value.shape[nd - k:] + rest
    if draw(st.integers(0, 9)) == 0:
        shape = draw(shapes(0, 3))
    dt = a.value.dtype.name if draw(st.integers(0, 7)) else draw(st.sampled_from(MATH_DTYPES))
    b = draw(arrays(tuple(shape), dtypes=(dt,)))
    form = draw(st.sampled_from(("omit", "int", "lists", "lists")))
    if form == "omit":
        return Case((a, b), seed=draw(SEEDS))
    if form == "int":
        return Case((a, b), {"dims": k if draw(st.integers(0, 9)) else -1}, seed=draw(SEEDS))
    da = list(range(nd - k, nd))
    db = list(range(k))
    if draw(st.booleans()):  # negative dims, another order
        da = [d - nd for d in da]
        pairs = draw(st.permutations(list(zip(da, db))))
        da, db = [p[0] for p in pairs], [p[1] for p in pairs]
    return Case((a, b), {"dims": (da, db) if draw(st.booleans()) else [da, db]},
                seed=draw(SEEDS))


@st.composite
def inner_case(draw):
    k = draw(SIZES)
    a_shape = draw(shapes(0, 2)) + (k,) if draw(st.integers(0, 7)) else ()
    b_shape = draw(shapes(0, 2)) + (k if draw(st.integers(0, 9)) else k + 1,)
    dt = draw(st.sampled_from(MATH_DTYPES))
    a = draw(arrays(a_shape, dtypes=(dt,)))
    b = draw(arrays(b_shape, dtypes=(dt,) * 7 + MATH_DTYPES))
    return Case((a, b), seed=draw(SEEDS))


@st.composite
def addmm_case(draw):
    n, m, p = draw(SIZES), draw(SIZES), draw(SIZES)
    dt = draw(st.sampled_from(("float32", "float32", "float64", "int64", "bool")))
    inp_shape = draw(st.sampled_from(((n, p), (p,), (1, p), (n, 1), (), (p + 1,))))
    inp = draw(arrays(inp_shape, dtypes=(dt,) * 7 + ("float64",)))
    m1 = draw(arrays((n, m), dtypes=(dt,)))
    m2 = draw(arrays((m if draw(st.integers(0, 9)) else m + 1, p), dtypes=(dt,)))
    kwargs = draw(kw(beta=st.sampled_from((0.5, 0, 2, 1.0, -1)),
                     alpha=st.sampled_from((2.0, 1, -0.5, 3))))
    if dt != "float32" and dt != "float64":
        kwargs = {k: v for k, v in kwargs.items() if isinstance(v, int)}
    return Case((inp, m1, m2), kwargs, seed=draw(SEEDS))


@st.composite
def cross_case(draw, dim_required=False):
    base = list(draw(shapes(0, 2)))
    d = draw(st.integers(0, len(base)))
    base.insert(d, 3 if draw(st.integers(0, 9)) else 2)
    sa = tuple(1 if s != 3 and draw(st.integers(0, 3)) == 0 else s for s in base)
    sb = tuple(base)
    if draw(st.booleans()):
        sa, sb = sb, sa
    dt = draw(st.sampled_from(("float32", "float32", "float64", "int64")))
    a = draw(arrays(sa, dtypes=(dt,)))
    b = draw(arrays(sb, dtypes=(dt,) * 7 + ("float64",)))
    if dim_required or draw(st.booleans()):
        dim = d if draw(st.booleans()) else d - len(base)
        return Case((a, b), {"dim": dim}, seed=draw(SEEDS))
    return Case((a, b), seed=draw(SEEDS))


@st.composite
def kron_case(draw):
    a = draw(arrays(shapes(0, 3), dtypes=WEIGHTED_DTYPES))
    b = draw(arrays(shapes(0, 3), dtypes=(a.value.dtype.name,) * 3 + WEIGHTED_DTYPES))
    return Case((a, b), seed=draw(SEEDS))


@st.composite
def cdist_case(draw):
    batch = draw(st.sampled_from(((), (), (2,), (1,), (2, 1))))
    m = draw(SIZES)
    dt = draw(st.sampled_from(("float32", "float32", "float64", "int64")))
    x1 = draw(arrays(batch + (draw(SIZES), m), dtypes=(dt,)))
    b2 = batch if draw(st.integers(0, 3)) else draw(st.sampled_from(((), (2,), (3,))))
    x2 = draw(arrays(b2 + (draw(SIZES), m if draw(st.integers(0, 9)) else m + 1),
                     dtypes=(dt,) * 7 + ("float64",)))
    if draw(st.booleans()):
        p = draw(st.sampled_from((2.0, 1.0, 0.0, math.inf, 0.5, 3.0, 2)))
        return Case((x1, x2), {"p": p}, seed=draw(SEEDS))
    return Case((x1, x2), seed=draw(SEEDS))


nan_to_num_kw = kw(nan=st.sampled_from((0.0, 1.5, -2.0, 7)),
                   posinf=st.sampled_from((None, 1e3, 5.0)),
                   neginf=st.sampled_from((None, -1e3, -5.0)))

OPS = [
    *[Op(f"x.{name}", **method(name), args=unary_case(MATH_DTYPES)) for name in UNARY],
    *[Op(f"tc.{name}", **function(name), args=unary_case(MATH_DTYPES), weight=0.3)
      for name in UNARY],
    *[Op(f"tc.{name}", **function(name), args=binary_case(MATH_DTYPES)) for name in BINARY],
    *[Op(f"x.{name}", **method(name), args=binary_case(MATH_DTYPES, first_scalar=False),
         weight=0.5) for name in BINARY],
    Op("tc.lerp", **function("lerp"), args=lerp_case()),
    Op("x.lerp", **method("lerp"), args=lerp_case(), weight=0.5),
    Op("tc.nan_to_num", **function("nan_to_num"), args=unary_case(MATH_DTYPES,
                                                                   kw=nan_to_num_kw)),
    Op("x.nan_to_num", **method("nan_to_num"), args=unary_case(MATH_DTYPES,
                                                                kw=nan_to_num_kw)),
    Op("tc.nansum", **function("nansum"), args=nan_reduce_case()),
    Op("x.nansum", **method("nansum"), args=nan_reduce_case(), weight=0.5),
    Op("tc.nanmean", **function("nanmean"), args=nan_reduce_case(
        ("float32", "float32", "float64", "int64"))),
    Op("x.nanmean", **method("nanmean"), args=nan_reduce_case(
        ("float32", "float32", "float64")), weight=0.5),
    Op("tc.einsum", **function("einsum"), args=einsum_case(), weight=3),
    Op("tc.tensordot", **function("tensordot"), args=tensordot_case()),
    Op("tc.inner", **function("inner"), args=inner_case()),
    Op("x.inner", **method("inner"), args=inner_case(), weight=0.3),
    Op("tc.addmm", **function("addmm"), args=addmm_case()),
    Op("x.addmm", **method("addmm"), args=addmm_case(), weight=0.3),
    Op("tc.cross", **function("cross"), args=cross_case()),
    Op("linalg.cross", tc=tc.linalg.cross, torch=torch.linalg.cross,
       args=cross_case(dim_required=True)),
    Op("tc.kron", **function("kron"), args=kron_case()),
    Op("tc.cdist", **function("cdist"), args=cdist_case()),
]

