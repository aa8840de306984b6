"""Op tables: sorting (``sort``, ``argsort``, ``topk``, ``kthvalue``, ``median``), running
totals (``cumsum``, ``cumprod``) and gathering / scattering (``gather``, ``scatter``,
``scatter_add`` and their in-place forms, ``index_select``, ``masked_select``, ``take``,
``take_along_dim``).

Which of several equal elements ``topk``, ``kthvalue`` and ``median`` pick is unspecified in
PyTorch, so their rows draw distinct values; the ``ties`` rows draw any values and compare
the values and what the indices point at, without gradients."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .harness import Arr, Case, DType, Op, same
from .ops_elementwise import function, method
from .strategies import (
    ALL_DTYPES,
    SEEDS,
    WEIGHTED_DTYPES,
    arrays,
    broadcast_shapes,
    one_dim,
    scalars,
    shapes,
)


def rare(draw, n: int) -> bool:
    """True one time in ``n`` (not at the value hypothesis starts from: the common branch
    is its first choice)."""
    return draw(st.integers(0, n - 1)) == n // 2


def _flag(draw, kwargs: dict, name: str) -> None:
    if draw(st.booleans()):
        kwargs[name] = draw(st.booleans())


@st.composite
def sort_case(draw, dtypes=WEIGHTED_DTYPES):
    x = draw(arrays(shapes(), dtypes=dtypes))
    args, kwargs = [], {}
    how = draw(st.sampled_from(("omit", "pos", "kw")))
    if how != "omit":
        d = draw(one_dim(x.value.ndim))
        (args.append(d) if how == "pos" else kwargs.__setitem__(
            draw(st.sampled_from(("dim", "dim", "axis"))), d))
    _flag(draw, kwargs, "descending")
    _flag(draw, kwargs, "stable")
    return Case((x, *args), kwargs, seed=draw(SEEDS))


@st.composite
def distinct(draw, dtypes=("float32", "float32", "float64", "int64", "int32")):
    """An Arr of distinct values (floats: at most one NaN or inf among them)."""
    shape = draw(shapes())
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(SEEDS))
    n = int(np.prod(shape))
    v = (rng.permutation(n) - n // 2).astype(dtype)
    if dtype.startswith("float"):
        v = v * 0.5
        if n and rare(draw, 4):
            v[rng.integers(0, n)] = draw(st.sampled_from((np.nan, np.inf, -np.inf)))
    return Arr(v.reshape(shape), dtype.startswith("float") and not rare(draw, 4))


@st.composite
def topk_case(draw, values=None):
    x = draw(values if values is not None else distinct())
    nd = x.value.ndim
    d = draw(one_dim(nd))
    n = x.value.shape[d] if nd and -nd <= d < nd else 1
    k = draw(st.integers(0, n)) if not rare(draw, 10) else draw(st.sampled_from((-1, n + 1)))
    args, kwargs = [k], {}
    if draw(st.booleans()):
        (args.append(d) if draw(st.booleans()) else kwargs.__setitem__("dim", d))
    _flag(draw, kwargs, "largest")
    if rare(draw, 4):
        kwargs["sorted"] = True
    return Case((x, *args), kwargs, seed=draw(SEEDS))


@st.composite
def kth_case(draw, values=None):
    x = draw(values if values is not None else distinct())
    nd = x.value.ndim
    d = draw(one_dim(nd))
    n = x.value.shape[d] if nd and -nd <= d < nd else 1
    k = draw(st.integers(1, max(n, 1))) if not rare(draw, 10) else draw(
        st.sampled_from((0, n + 1)))
    args, kwargs = [k], {}
    if draw(st.booleans()):
        (args.append(d) if draw(st.booleans()) else kwargs.__setitem__("dim", d))
    _flag(draw, kwargs, "keepdim")
    return Case((x, *args), kwargs, seed=draw(SEEDS))


@st.composite
def median_case(draw, values=None):
    x = draw(values if values is not None else distinct())
    if rare(draw, 3):
        return Case((x,), seed=draw(SEEDS))
    d = draw(one_dim(x.value.ndim))
    args, kwargs = ([d], {}) if draw(st.booleans()) else ([], {"dim": d})
    _flag(draw, kwargs, draw(st.sampled_from(("keepdim", "keepdims"))))
    return Case((x, *args), kwargs, seed=draw(SEEDS))


def _no_grad(case: Case) -> Case:
    x = case.args[0]
    return Case((Arr(x.value, False), *case.args[1:]), case.kwargs, seed=case.seed)


def _pointed(fn_name):
    """``op(x, ...)`` as its values and ``x`` gathered at its indices along its dim (the same
    whichever of equal elements the indices name)."""
    def call(x, *args, **kwargs):
        values, indices = getattr(x, fn_name)(*args, **kwargs)
        if x.ndim == 0:
            return values, x
        dim = kwargs.get("dim", args[1] if len(args) > 1 else -1)
        if fn_name == "median" and not args and "dim" not in kwargs:
            return values
        keep = indices if indices.ndim == x.ndim else indices.unsqueeze(dim)
        return values, x.gather(dim, keep)
    return call


def _median_pointed(x, *args, **kwargs):
    if not args and "dim" not in kwargs:
        return x.median()
    dim = args[0] if args else kwargs["dim"]
    values, indices = x.median(*args, **kwargs)
    if x.ndim == 0:
        return values, x
    keep = indices if indices.ndim == x.ndim else indices.unsqueeze(dim)
    return values, x.gather(dim, keep)


@st.composite
def running_case(draw):
    x = draw(arrays(shapes(), dtypes=WEIGHTED_DTYPES))
    d = None if rare(draw, 20) else draw(one_dim(x.value.ndim))
    how = draw(st.sampled_from(("pos", "dim", "axis")))
    args, kwargs = ([d], {}) if how == "pos" else ([], {how: d})
    if rare(draw, 4):
        kwargs["dtype"] = DType(draw(st.sampled_from(("float32", "float64", "int64", "int32"))))
    return Case((x, *args), kwargs, seed=draw(SEEDS))


# -- gather / scatter ------------------------------------------------------------------------
def _index_values(draw, shape, size):
    """int64 (sometimes int32) indices in [0, size), sometimes one out of range."""
    rng = np.random.default_rng(draw(SEEDS))
    idx = rng.integers(0, size, shape) if size else np.zeros(shape, np.int64)
    if idx.size and rare(draw, 12):
        idx.flat[rng.integers(0, idx.size)] = draw(st.sampled_from((-1, size, size + 3)))
    dtype = "int64" if not rare(draw, 12) else "int32"
    return Arr(np.asarray(idx, dtype=dtype))


def _index_shape(draw, shape, d):
    """A shape for an index into ``shape`` along ``d``: of the same rank, no larger apart
    from ``d`` (mostly), sometimes of another rank."""
    if rare(draw, 12):
        return draw(shapes(max_rank=3))
    sides = [draw(st.integers(0, n)) if i != d else draw(st.integers(0, 3))
             for i, n in enumerate(shape)]
    if shape and rare(draw, 12):
        i = draw(st.integers(0, len(shape) - 1))
        sides[i] += 1
    return tuple(sides)


@st.composite
def gather_case(draw):
    x = draw(arrays(shapes(), dtypes=ALL_DTYPES))
    shape = x.value.shape
    d = draw(one_dim(len(shape)))
    dd = d % max(len(shape), 1) if -max(len(shape), 1) <= d < max(len(shape), 1) else 0
    ishape = _index_shape(draw, shape, dd)
    size = shape[dd] if shape else 1
    return Case((x, d, _index_values(draw, ishape, size)), seed=draw(SEEDS))


@st.composite
def scatter_case(draw, value=False):
    x = draw(arrays(shapes(), dtypes=WEIGHTED_DTYPES))
    shape = x.value.shape
    d = draw(one_dim(len(shape)))
    dd = d % max(len(shape), 1) if -max(len(shape), 1) <= d < max(len(shape), 1) else 0
    ishape = _index_shape(draw, shape, dd)
    size = shape[dd] if shape else 1
    index = _index_values(draw, ishape, size)
    if value:
        v = draw(scalars("if"))
        if draw(st.booleans()):
            return Case((x, d, index), {"value": v}, seed=draw(SEEDS))
        return Case((x, d, index, v), seed=draw(SEEDS))
    dtype = x.value.dtype.name if not rare(draw, 10) else draw(st.sampled_from(ALL_DTYPES))
    grow = rare(draw, 4)
    sshape = tuple(n + (1 if grow else 0) for n in ishape)
    src = draw(arrays(sshape, dtypes=(dtype,), grad=False if grow else None))
    return Case((x, d, index, src), seed=draw(SEEDS))


def _inplace(name):
    """``x.clone().<name>(...)``: the in-place op on a non-leaf, its gradient through both."""
    def call(x, *args, **kwargs):
        return getattr(x.clone(), name)(*args, **kwargs)
    return call


@st.composite
def index_select_case(draw):
    x = draw(arrays(shapes(), dtypes=ALL_DTYPES))
    shape = x.value.shape
    d = draw(one_dim(len(shape)))
    nd = max(len(shape), 1)
    size = shape[d % nd] if shape and -nd <= d < nd else 1
    rank = 1 if not rare(draw, 10) else draw(st.sampled_from((0, 2)))
    ishape = draw(shapes(rank, rank))
    return Case((x, d, _index_values(draw, ishape, size)), seed=draw(SEEDS))


@st.composite
def masked_select_case(draw):
    sa, sb = draw(broadcast_shapes())
    x = draw(arrays(sa, dtypes=ALL_DTYPES))
    rng = np.random.default_rng(draw(SEEDS))
    mask = Arr(np.asarray(rng.random(sb) < 0.5)) if not rare(draw, 12) else Arr(
        rng.integers(0, 2, sb).astype(np.int64))
    return Case((x, mask), seed=draw(SEEDS))


@st.composite
def take_case(draw):
    x = draw(arrays(shapes(), dtypes=ALL_DTYPES))
    n = x.value.size
    ishape = draw(shapes(max_rank=2))
    rng = np.random.default_rng(draw(SEEDS))
    idx = rng.integers(-n, n, ishape) if n else np.zeros(ishape, np.int64)
    if idx.size and rare(draw, 12):
        idx.flat[0] = draw(st.sampled_from((n, -n - 1)))
    dtype = "int64" if not rare(draw, 12) else "int32"
    return Case((x, Arr(idx.astype(dtype))), seed=draw(SEEDS))


@st.composite
def take_along_case(draw):
    x = draw(arrays(shapes(), dtypes=ALL_DTYPES))
    shape = x.value.shape
    if rare(draw, 4):
        ishape = draw(shapes(max_rank=2))
        return Case((x, _index_values(draw, ishape, max(x.value.size, 1))), seed=draw(SEEDS))
    d = draw(one_dim(len(shape)))
    nd = max(len(shape), 1)
    dd = d % nd if -nd <= d < nd else 0
    ishape = tuple(draw(st.sampled_from((n, 1, 1, n + 1))) if i != dd else
                   draw(st.integers(0, 3)) for i, n in enumerate(shape))
    if rare(draw, 12):
        ishape = draw(shapes(max_rank=3))
    size = shape[dd] if shape else 1
    rng = np.random.default_rng(draw(SEEDS))  # in [-size, size): PyTorch checks no range
    index = Arr(rng.integers(-size, size, ishape) if size else np.zeros(ishape, np.int64))
    if draw(st.booleans()):
        return Case((x, index, d), seed=draw(SEEDS))
    return Case((x, index), {"dim": d}, seed=draw(SEEDS))


OPS = [
    Op("tc.sort", **function("sort"), args=sort_case(), weight=2),
    Op("x.sort", **method("sort"), args=sort_case()),
    Op("tc.argsort", **function("argsort"), args=sort_case(dtypes=ALL_DTYPES)),
    Op("tc.topk", **function("topk"), args=topk_case(), weight=2),
    Op("x.topk ties", **same(_pointed("topk")),
       args=topk_case(arrays(shapes(), dtypes=WEIGHTED_DTYPES)).map(_no_grad)),
    Op("tc.kthvalue", **function("kthvalue"), args=kth_case()),
    Op("x.kthvalue ties", **same(_pointed("kthvalue")),
       args=kth_case(arrays(shapes(), dtypes=WEIGHTED_DTYPES)).map(_no_grad)),
    Op("tc.median", **function("median"), args=median_case()),
    Op("x.median ties", **same(_median_pointed),
       args=median_case(arrays(shapes(), dtypes=WEIGHTED_DTYPES)).map(_no_grad)),
    Op("tc.cumsum", **function("cumsum"), args=running_case(), weight=2),
    Op("x.cumprod", **method("cumprod"), args=running_case(), weight=2),
    Op("tc.gather", **function("gather"), args=gather_case(), weight=2),
    Op("x.gather", **method("gather"), args=gather_case()),
    Op("tc.scatter", **function("scatter"), args=scatter_case(), weight=2),
    Op("tc.scatter value", **function("scatter"), args=scatter_case(value=True)),
    Op("tc.scatter_add", **function("scatter_add"), args=scatter_case(), weight=2),
    Op("x.scatter_", **same(_inplace("scatter_")), args=scatter_case()),
    Op("x.scatter_add_", **same(_inplace("scatter_add_")), args=scatter_case()),
    Op("tc.index_select", **function("index_select"), args=index_select_case(), weight=2),
    Op("tc.masked_select", **function("masked_select"), args=masked_select_case(), weight=2),
    Op("tc.take", **function("take"), args=take_case()),
    Op("tc.take_along_dim", **function("take_along_dim"), args=take_along_case()),
]
