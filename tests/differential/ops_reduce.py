"""Op tables: reductions with every dim form, and the losses (cross_entropy, nll_loss,
mse_loss)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .harness import Arr, Case, DType, Op, same, show
from .ops_elementwise import function, functional, kw, method
from .strategies import (
    FLOATS,
    SEEDS,
    WEIGHTED_DTYPES,
    arrays,
    binary_case,
    broadcast_shapes,
    dim_and_keepdim,
    floats_arrays,
    shapes,
)


@st.composite
def reduce_case(draw, required=False, dtypes=WEIGHTED_DTYPES, extra=None):
    """A tensor, a dim in any form passed in any way (or none), keepdim in any way."""
    x = draw(arrays(shapes(), dtypes=dtypes))
    args, kwargs = draw(dim_and_keepdim(x.value.ndim, required=required))
    if extra is not None:
        kwargs.update(draw(extra))
    return Case((x, *args), kwargs, seed=draw(SEEDS))


sum_dtype = kw(dtype=st.sampled_from((DType("float64"), DType("float32"), DType("int64"))))
correction = kw(correction=st.sampled_from((0, 1, 2)), unbiased=st.booleans())
BOOLISH = ("bool", "bool", "bool", "float32", "int64")

# name, dim required, dtypes, extra keywords
REDUCTIONS = (
    ("sum", False, WEIGHTED_DTYPES, sum_dtype),
    ("mean", False, WEIGHTED_DTYPES, sum_dtype),
    ("prod", False, WEIGHTED_DTYPES, None),
    ("max", False, WEIGHTED_DTYPES, None),
    ("min", False, WEIGHTED_DTYPES, None),
    ("amax", False, WEIGHTED_DTYPES, None),
    ("amin", False, WEIGHTED_DTYPES, None),
    ("argmax", False, WEIGHTED_DTYPES, None),
    ("argmin", False, WEIGHTED_DTYPES, None),
    ("var", False, WEIGHTED_DTYPES, correction),
    ("std", False, WEIGHTED_DTYPES, correction),
    ("logsumexp", True, WEIGHTED_DTYPES, None),
    ("all", False, BOOLISH, None),
    ("any", False, BOOLISH, None),
)


# -- losses -------------------------------------------------------------------------------

@st.composite
def class_loss_case(draw, smoothing=True):
    """Class-index targets (ignored and out-of-range entries sometimes) or, for
    cross_entropy, class probabilities; inputs (C,), (N, C) or (N, C, d...); the options."""
    layout = draw(st.sampled_from(("NC", "NC", "NC", "C", "NCd") + (("probs",) * smoothing)))
    n, c = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    extra = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    shape = {"C": (c,), "NCd": (n, c) + extra}.get(layout, (n, c))
    x = draw(floats_arrays(shape))
    rng = np.random.default_rng(draw(SEEDS))
    ignore = draw(st.sampled_from((None, None, -100, 0, 1, -1)))
    if layout == "probs":
        p = rng.random(shape)
        target = Arr((p / np.maximum(p.sum(axis=1, keepdims=True), 1e-9)).astype(
            x.value.dtype), draw(st.integers(0, 3)) == 0)
    else:
        tshape = shape[:1] + shape[2:] if layout != "C" else ()
        t = rng.integers(0, c, tshape)
        if ignore is not None:
            t = np.where(rng.random(tshape) < 0.25, ignore, t)
        if draw(st.integers(0, 7)) == 0:  # an out-of-range class
            t = np.where(rng.random(tshape) < 0.3, draw(st.sampled_from((c, -1, -2))), t)
        if draw(st.integers(0, 11)) == 0:  # a target of the wrong shape
            t = rng.integers(0, c, draw(shapes(max_rank=2)))
        tdtype = draw(st.sampled_from(("int64",) * 8 + ("int32", "float32")))
        target = Arr(np.asarray(t).astype(tdtype))
    kwargs = {}
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    if draw(st.booleans()):
        kwargs["reduction"] = draw(st.sampled_from(("mean", "sum", "none", "none", "avg")))
    if draw(st.integers(0, 3)) == 0:
        w = np.random.default_rng(draw(SEEDS)).uniform(0.25, 2.0, draw(st.sampled_from(
            ((c,), (c,), (c,), (c + 1,))))).astype(x.value.dtype)
        kwargs["weight"] = Arr(w, draw(st.integers(0, 7)) == 0)
    if smoothing and draw(st.integers(0, 2)) == 0:
        kwargs["label_smoothing"] = draw(st.sampled_from((0.0, 0.1, 0.5, 1.0, -0.1)))
    return Case((x, target), kwargs, seed=draw(SEEDS))


@st.composite
def mse_case(draw):
    if draw(st.integers(0, 4)) == 0:
        sa, sb = draw(broadcast_shapes())
    else:
        sa = sb = draw(shapes())
    a = draw(floats_arrays(sa))
    b = draw(arrays(sb, dtypes=FLOATS + (a.value.dtype.name,) * 4 + ("int64",)))
    kwargs = {"reduction": draw(st.sampled_from(("mean", "sum", "none")))} if draw(
        st.booleans()) else {}
    return Case((a, b), kwargs, seed=draw(SEEDS))


def _sum_dim_empty(x, empty):
    return x.sum(dim=empty), x.mean(dim=empty)


OPS = [
    *[Op(f"x.{name}", **method(name), args=reduce_case(required, dtypes, extra))
      for name, required, dtypes, extra in REDUCTIONS],
    *[Op(f"tc.{name}", **function(name), args=reduce_case(required, dtypes, extra))
      for name, required, dtypes, extra in REDUCTIONS if name in ("sum", "max", "argmax")],
    *[Op(f"x.{name}(y)", **method(name), args=binary_case(scalar_kinds="", first_scalar=False),
         render=lambda c, n=name: f"{show(c.args[0])}.{n}({show(c.args[1])})")
      for name in ("max", "min")],
    Op("x.sum(dim=()), x.mean(dim=())", **same(_sum_dim_empty), args=st.builds(
        lambda x, e, s: Case((x, e), seed=s), floats_arrays(shapes()),
        st.sampled_from(((), [])), SEEDS),
       render=lambda c: f"x = {show(c.args[0])}; x.sum(dim={show(c.args[1])}), "
                        f"x.mean(dim={show(c.args[1])})"),
    Op("F.cross_entropy", **functional("cross_entropy"), args=class_loss_case(), weight=2),
    Op("F.nll_loss", **functional("nll_loss"), args=class_loss_case(smoothing=False), weight=2),
    Op("F.mse_loss", **functional("mse_loss"), args=mse_case()),
]
