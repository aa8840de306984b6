"""Op tables: ``t``, ``flip`` / ``fliplr`` / ``flipud``, ``roll``, ``rot90``, ``movedim`` /
``moveaxis``, ``unbind``, ``tile``, ``repeat_interleave``, the stacks (``hstack``,
``vstack``, ``dstack``, ``column_stack``, ``atleast_*d``), ``meshgrid``, the sizes
(``numel``, ``nelement``, ``ndimension``) and the ``new_*`` / ``new_tensor`` / ``type_as``
methods."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .harness import Arr, Case, DType, Op, same
from .ops_elementwise import function, method
from .strategies import (
    ALL_DTYPES,
    SEEDS,
    SIDES,
    WEIGHTED_DTYPES,
    arrays,
    one_dim,
    scalars,
    shapes,
    values,
)


def _seq(draw, items):
    """A list or a tuple of ``items``."""
    return list(items) if draw(st.booleans()) else tuple(items)


@st.composite
def tensor_case(draw, min_rank=0, max_rank=4):
    """A tensor alone (ranks outside what an op takes included)."""
    return Case((draw(arrays(shapes(min_rank, max_rank))),), seed=draw(SEEDS))


@st.composite
def dims_list(draw, ndim, max_size=None):
    """Distinct dims in range mostly; a repeat or one out of range sometimes."""
    n = max(ndim, 1)
    k = draw(st.integers(0, min(n, max_size if max_size is not None else n)))
    out = [d - n if draw(st.booleans()) else d for d in draw(st.permutations(range(n)))[:k]]
    if draw(st.integers(0, 7)) == 0:
        out.append(draw(one_dim(ndim)))
    return out


@st.composite
def flip_case(draw, method_form=False):
    x = draw(arrays(shapes()))
    ds = draw(dims_list(x.value.ndim))
    how = draw(st.sampled_from(("seq", "kw") + (("varargs",) if method_form else ())))
    if how == "varargs" and ds:
        return Case((x, *ds), seed=draw(SEEDS))
    if how == "kw":
        return Case((x,), {"dims": _seq(draw, ds)}, seed=draw(SEEDS))
    return Case((x, _seq(draw, ds)), seed=draw(SEEDS))


SHIFTS = st.sampled_from((0, 1, -1, 2, 3, -5, 7, 2**40))


@st.composite
def roll_case(draw):
    x = draw(arrays(shapes()))
    form = draw(st.sampled_from(("int", "int", "seq", "none", "none_seq")))
    if form == "none":
        return Case((x, draw(SHIFTS)), seed=draw(SEEDS))
    if form == "none_seq":
        shifts = draw(st.lists(SHIFTS, min_size=draw(st.sampled_from((1, 1, 1, 0))),
                               max_size=2))
        return Case((x, _seq(draw, shifts)), seed=draw(SEEDS))
    if form == "int":
        d = draw(one_dim(x.value.ndim))
        return Case((x, draw(SHIFTS), d), seed=draw(SEEDS))
    ds = draw(dims_list(x.value.ndim, max_size=3))
    k = len(ds) if draw(st.integers(0, 5)) else draw(st.integers(0, 3))
    shifts = draw(st.lists(SHIFTS, min_size=k, max_size=k))
    if draw(st.booleans()):
        return Case((x,), {"shifts": _seq(draw, shifts), "dims": _seq(draw, ds)},
                    seed=draw(SEEDS))
    return Case((x, _seq(draw, shifts), _seq(draw, ds)), seed=draw(SEEDS))


@st.composite
def rot90_case(draw):
    x = draw(arrays(shapes(1 if draw(st.integers(0, 9)) == 0 else 2, 4)))
    n = max(x.value.ndim, 1)
    args, kwargs = [x], {}
    k = draw(st.sampled_from((1, 1, 2, 3, 0, -1, -6, 5)))
    if draw(st.integers(0, 3)):
        if draw(st.booleans()):
            args.append(k)
        else:
            kwargs["k"] = k
    if draw(st.integers(0, 2)):
        size = 2 if draw(st.integers(0, 9)) else draw(st.integers(0, 3))
        ds = draw(st.lists(st.integers(-n - 1, n), min_size=size, max_size=size)
                  if draw(st.integers(0, 3)) == 0 else
                  st.permutations(list(range(n))).map(lambda p: p[:size]))
        kwargs["dims"] = _seq(draw, ds)
    return Case(tuple(args), kwargs, seed=draw(SEEDS))


@st.composite
def movedim_case(draw):
    x = draw(arrays(shapes()))
    n = x.value.ndim
    if draw(st.booleans()):
        s, d = draw(one_dim(n)), draw(one_dim(n))
    else:
        k = draw(st.integers(0, max(n, 1)))
        s = list(draw(st.permutations(range(max(n, 1)))))[:k]
        d = list(draw(st.permutations(range(max(n, 1)))))[:k]
        s = [v - n if n and draw(st.booleans()) else v for v in s]
        if draw(st.integers(0, 5)) == 0:
            d = draw(dims_list(n))
        s, d = _seq(draw, s), _seq(draw, d)
    if draw(st.booleans()):
        return Case((x,), {"source": s, "destination": d}, seed=draw(SEEDS))
    return Case((x, s, d), seed=draw(SEEDS))


@st.composite
def unbind_case(draw):
    x = draw(arrays(shapes()))
    how = draw(st.sampled_from(("omit", "pos", "kw")))
    if how == "omit":
        return Case((x,), seed=draw(SEEDS))
    d = draw(one_dim(x.value.ndim))
    return Case((x, d) if how == "pos" else (x,), {} if how == "pos" else {"dim": d},
                seed=draw(SEEDS))


@st.composite
def tile_case(draw, method_form=False):
    x = draw(arrays(shapes(max_rank=3)))
    k = draw(st.integers(0, x.value.ndim + 1))
    reps = draw(st.lists(st.sampled_from((1, 2, 3, 0, 1, -1)), min_size=k, max_size=k))
    how = draw(st.sampled_from(("seq", "kw") + (("varargs",) if method_form else ())))
    if how == "varargs" and reps:
        return Case((x, *reps), seed=draw(SEEDS))
    if how == "kw":
        return Case((x,), {"dims": _seq(draw, reps)}, seed=draw(SEEDS))
    return Case((x, _seq(draw, reps)), seed=draw(SEEDS))


@st.composite
def repeats_tensor(draw, n):
    """Counts: one per slice mostly, sometimes one for all (0-d or (1,)), sometimes the
    wrong length, rank or dtype, or a negative count."""
    form = draw(st.sampled_from(("per", "per", "per", "per", "0d", "one", "bad")))
    rng = np.random.default_rng(draw(SEEDS))
    dtype = draw(st.sampled_from(("int64", "int64", "int32")))
    shape = {"per": (n,), "0d": (), "one": (1,)}.get(form)
    if form == "bad":
        shape = draw(shapes(0, 2))
        dtype = draw(st.sampled_from(ALL_DTYPES))
    v = values(rng, shape, dtype, "nonnegative" if dtype[0] == "i" else "normal")
    v = np.asarray(np.minimum(v, 3) if dtype[0] == "i" else v, dtype=dtype)
    if dtype[0] == "i" and v.size and draw(st.integers(0, 11)) == 0:
        v.flat[0] = -1
    return Arr(v)


def _no_negative(reps) -> bool:
    """Whether ``output_size`` may come with ``reps``: PyTorch 2.13 aborts the process on
    negative counts with an ``output_size`` (it checks neither, and writes out of bounds)."""
    return not isinstance(reps, Arr) or reps.value.dtype.kind not in "iu" or not (
        reps.value < 0).any()


@st.composite
def repeat_interleave_case(draw):
    x = draw(arrays(shapes(max_rank=3)))
    d = draw(one_dim(x.value.ndim)) if draw(st.booleans()) else None
    n = x.value.size if d is None else (
        x.value.shape[d] if -x.value.ndim <= d < x.value.ndim else 2)
    if draw(st.booleans()):
        reps = draw(st.sampled_from((0, 1, 2, 3, 2, 1, 3, -1)))
    else:
        reps = draw(repeats_tensor(n))
    kwargs = {}
    if d is not None:
        kwargs["dim"] = d
    if draw(st.integers(0, 5)) == 0 and _no_negative(reps):
        kwargs["output_size"] = draw(st.integers(0, 8))
    if d is not None and "output_size" not in kwargs and draw(st.booleans()):
        return Case((x, reps, kwargs.pop("dim")), kwargs, seed=draw(SEEDS))
    return Case((x, reps), kwargs, seed=draw(SEEDS))


@st.composite
def counts_case(draw):
    """``repeat_interleave(counts)``: the index form."""
    x = draw(repeats_tensor(draw(SIDES)))
    kwargs = {"output_size": draw(st.integers(0, 6))} if draw(
        st.integers(0, 5)) == 0 and _no_negative(x) else {}
    return Case((x,), kwargs, seed=draw(SEEDS))


@st.composite
def stack_case(draw, max_rank=3):
    """A list or tuple of 1 to 3 tensors of one base shape (one of another shape
    sometimes, mixed dtypes sometimes); an empty list rarely."""
    base = draw(shapes(0, max_rank))
    mixed = draw(st.integers(0, 3)) == 0
    dtype = draw(st.sampled_from(WEIGHTED_DTYPES))
    count = draw(st.sampled_from((1, 2, 2, 3, 3, 0)))
    tensors = []
    for _ in range(count):
        s = base
        if draw(st.integers(0, 5)) == 0:
            s = tuple(draw(SIDES) if draw(st.booleans()) else v for v in base)
        if draw(st.integers(0, 11)) == 0:
            s = draw(shapes(0, max_rank))
        tensors.append(draw(arrays(s, dtypes=WEIGHTED_DTYPES if mixed else (dtype,))))
    return Case((_seq(draw, tensors),), seed=draw(SEEDS))


@st.composite
def atleast_case(draw):
    tensors = draw(stack_case()).args[0]
    form = draw(st.sampled_from(("one", "varargs", "seq")))
    if form == "one" and tensors:
        return Case((tensors[0],), seed=draw(SEEDS))
    if form == "varargs":
        return Case(tuple(tensors), seed=draw(SEEDS))
    return Case((tensors,), seed=draw(SEEDS))


@st.composite
def meshgrid_case(draw):
    """0 to 3 tensors, 0-d or 1-D mostly, one dtype mostly; varargs or one sequence;
    ``indexing`` "ij" / "xy" (a bad one rarely)."""
    dtype = draw(st.sampled_from(WEIGHTED_DTYPES))
    tensors = []
    for _ in range(draw(st.sampled_from((1, 2, 2, 3, 3, 0)))):
        shape = draw(shapes(0, 1) if draw(st.integers(0, 19)) else shapes(0, 2))
        dt = dtype if draw(st.integers(0, 19)) else draw(st.sampled_from(WEIGHTED_DTYPES))
        tensors.append(draw(arrays(shape, dtypes=(dt,))))
    indexing = draw(st.sampled_from(("ij", "xy", "ij", "xy", "ij", "xy", "IJ")))
    args = (_seq(draw, tensors),) if draw(st.booleans()) else tuple(tensors)
    return Case(args, {"indexing": indexing}, seed=draw(SEEDS))


SIZES = st.lists(st.sampled_from((0, 1, 2, 3, 3, 2, 1, 3, 2, -1)), max_size=3)


@st.composite
def new_case(draw, full=False):
    """``x.new_*(size, ...)``: the size as varargs (not for new_full), a sequence or
    ``size=``; ``dtype=`` and ``requires_grad=`` sometimes."""
    x = draw(arrays(shapes(max_rank=2)))
    size = draw(SIZES)
    kwargs = {}
    if full:
        args = (x, _seq(draw, size), draw(scalars()))
    else:
        how = draw(st.sampled_from(("varargs", "seq", "kw")))
        if how == "varargs" and not size and draw(st.integers(0, 3)):
            how = "seq"  # x.new_zeros() is PyTorch's TypeError: sometimes only
        args = (x, *size) if how == "varargs" else (x, _seq(draw, size)) if how == "seq" else (x,)
        if how == "kw":
            kwargs["size"] = _seq(draw, size)
    if draw(st.integers(0, 2)) == 0:
        kwargs["dtype"] = DType(draw(st.sampled_from(ALL_DTYPES)))
    if draw(st.integers(0, 3)) == 0:
        kwargs["requires_grad"] = draw(st.booleans())
    return Case(args, kwargs, seed=draw(SEEDS))


@st.composite
def new_tensor_case(draw):
    x = draw(arrays(shapes(max_rank=2)))
    shape = draw(shapes(max_rank=2))
    dt = draw(st.sampled_from(("float32", "int64", "bool", "float64")))
    data = values(np.random.default_rng(draw(SEEDS)), shape, dt,
                  "halves" if dt[0] == "f" else "small").tolist()
    kwargs = {"dtype": DType(draw(st.sampled_from(ALL_DTYPES)))} if draw(
        st.integers(0, 3)) == 0 else {}
    return Case((x, data), kwargs, seed=draw(SEEDS))


@st.composite
def type_as_case(draw):
    x = draw(arrays(shapes(max_rank=3)))
    other = draw(arrays(shapes(max_rank=1), dtypes=ALL_DTYPES))
    return Case((x, other), seed=draw(SEEDS))


def _described(t) -> tuple:
    """What ``new_empty`` promises: shape, dtype and requires_grad (not its values)."""
    return tuple(t.shape), str(t.dtype).split(".")[-1], t.requires_grad


OPS = [
    Op("x.t", **method("t"), args=tensor_case()),
    Op("tc.t", **function("t"), args=tensor_case()),
    Op("x.flip", **method("flip"), args=flip_case(method_form=True)),
    Op("tc.flip", **function("flip"), args=flip_case()),
    *[Op(f"tc.{name}", **function(name), args=tensor_case()) for name in ("fliplr", "flipud")],
    Op("tc.roll", **function("roll"), args=roll_case(), weight=2),
    Op("x.roll", **method("roll"), args=roll_case()),
    Op("tc.rot90", **function("rot90"), args=rot90_case(), weight=2),
    Op("tc.movedim", **function("movedim"), args=movedim_case(), weight=2),
    Op("x.moveaxis", **method("moveaxis"), args=movedim_case()),
    Op("x.unbind", **method("unbind"), args=unbind_case()),
    Op("tc.unbind", **function("unbind"), args=unbind_case()),
    Op("x.tile", **method("tile"), args=tile_case(method_form=True)),
    Op("tc.tile", **function("tile"), args=tile_case()),
    Op("tc.repeat_interleave", **function("repeat_interleave"), args=repeat_interleave_case(),
       weight=2),
    Op("x.repeat_interleave", **method("repeat_interleave"), args=repeat_interleave_case()),
    Op("tc.repeat_interleave(counts)", **function("repeat_interleave"), args=counts_case()),
    *[Op(f"tc.{name}", **function(name), args=stack_case())
      for name in ("hstack", "vstack", "dstack", "column_stack")],
    *[Op(f"tc.{name}", **function(name), args=atleast_case())
      for name in ("atleast_1d", "atleast_2d", "atleast_3d")],
    Op("tc.meshgrid", **function("meshgrid"), args=meshgrid_case(), weight=2),
    Op("tc.numel", **function("numel"), args=tensor_case()),
    *[Op(f"x.{name}", **method(name), args=tensor_case()) for name in ("nelement", "ndimension")],
    *[Op(f"x.{name}", **method(name), args=new_case()) for name in ("new_zeros", "new_ones")],
    Op("x.new_empty", **same(lambda x, *a, **k: _described(x.new_empty(*a, **k))),
       args=new_case()),
    Op("x.new_full", **method("new_full"), args=new_case(full=True)),
    Op("x.new_tensor", **method("new_tensor"), args=new_tensor_case()),
    Op("x.type_as", **method("type_as"), args=type_as_case()),
]
