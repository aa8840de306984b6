"""Op tables: matmul, the shape ops (reshape, view, permute, transpose, squeeze, unsqueeze,
flatten, expand, T, mT, size) and cat / stack / split / chunk."""

from __future__ import annotations

import operator

from hypothesis import strategies as st

from .harness import Case, Op, same, show
from .ops_elementwise import function, method
from .strategies import (
    SEEDS,
    SIDES,
    WEIGHTED_DTYPES,
    arrays,
    dims,
    one_dim,
    shapes,
)


@st.composite
def matmul_case(draw):
    """Ranks 0 to 4 (1 to 3 mostly), batch dims that broadcast, the inner sizes equal but
    one time in ten; the same dtype mostly (bool and int included)."""
    ranks = st.sampled_from((1, 2, 2, 3, 3, 4, 0))
    ra, rb = draw(ranks), draw(ranks)
    n, k, m = draw(SIDES), draw(SIDES), draw(SIDES)
    k2 = draw(SIDES) if draw(st.integers(0, 9)) == 0 else k
    batch = draw(shapes(max_rank=2))

    def batch_of(rank):
        b = batch[len(batch) - min(len(batch), rank - 2):] if rank > 2 else ()
        b = tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in b)
        return (1,) * max(0, rank - 2 - len(b)) + b

    sa = () if ra == 0 else (k,) if ra == 1 else batch_of(ra) + (n, k)
    sb = () if rb == 0 else (k2,) if rb == 1 else batch_of(rb) + (k2, m)
    a = draw(arrays(sa))
    dtypes = (a.value.dtype.name,) if draw(st.integers(0, 4)) else WEIGHTED_DTYPES
    b = draw(arrays(sb, dtypes=dtypes))
    return Case((a, b), seed=draw(SEEDS))


@st.composite
def factor_shape(draw, numel: int):
    """A shape of ``numel`` elements (one side -1 sometimes), or one time in eight any shape."""
    if draw(st.integers(0, 7)) == 0:
        return list(draw(shapes()))
    out, rest = [], numel
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0] if rest else [0, 1, 2]
        d = draw(st.sampled_from(divisors))
        out.append(d)
        rest = rest // d if d else rest
    out.append(rest if numel else draw(st.sampled_from((0, 1, 3))))
    out = draw(st.permutations(out))
    if draw(st.integers(0, 2)) == 0:
        out[draw(st.integers(0, len(out) - 1))] = -1
    return out


@st.composite
def sizes_case(draw, sizes_of, tensor_shapes=None):
    """A tensor and a list of sizes passed as varargs, a tuple or a list."""
    x = draw(arrays(tensor_shapes if tensor_shapes is not None else shapes()))
    sizes = draw(sizes_of(x.value))
    form = draw(st.sampled_from(("varargs", "tuple", "list")))
    args = tuple(sizes) if form == "varargs" else (tuple(sizes) if form == "tuple" else sizes,)
    return Case((x, *args), seed=draw(SEEDS))


def reshape_sizes(v):
    return factor_shape(v.size)


@st.composite
def permute_sizes(draw, v):
    """A permutation of the dims, negative sides sometimes; wrong one time in eight."""
    perm = draw(st.permutations(range(v.ndim)))
    perm = [p - v.ndim if draw(st.booleans()) else p for p in perm]
    if draw(st.integers(0, 7)) == 0:
        perm = draw(st.lists(one_dim(v.ndim), max_size=v.ndim + 1))
    return perm


@st.composite
def expand_sizes(draw, v):
    sizes = [draw(st.sampled_from((-1, s, s))) if s != 1 else draw(st.sampled_from((-1, 1, 3, 0)))
             for s in v.shape]
    lead = draw(st.lists(st.sampled_from((1, 2, 0, -1)), max_size=2))
    return lead + sizes


@st.composite
def dim_pair(draw, names=None):
    x = draw(arrays(shapes()))
    d0, d1 = draw(one_dim(x.value.ndim)), draw(one_dim(x.value.ndim))
    if names and draw(st.booleans()):
        return Case((x,), {names[0]: d0, names[1]: d1}, seed=draw(SEEDS))
    return Case((x, d0, d1), seed=draw(SEEDS))


@st.composite
def one_dim_case(draw, extra_rank=0, form="int", optional=False, name="dim"):
    """A tensor and one dim (the range widened by ``extra_rank`` for unsqueeze), passed
    positionally or by keyword, or left out when ``optional``."""
    x = draw(arrays(shapes()))
    how = draw(st.sampled_from(("pos", "kw") + (("omit",) if optional else ())))
    if how == "omit":
        return Case((x,), seed=draw(SEEDS))
    d = draw(dims(x.value.ndim + extra_rank, multi=form == "multi", none=False))
    if how == "pos":
        return Case((x, d), seed=draw(SEEDS))
    return Case((x,), {name: d}, seed=draw(SEEDS))


@st.composite
def flatten_case(draw):
    x = draw(arrays(shapes()))
    ds = [draw(one_dim(x.value.ndim)) for _ in range(draw(st.integers(0, 2)))]
    if draw(st.booleans()):
        return Case((x, *ds), seed=draw(SEEDS))
    return Case((x,), dict(zip(("start_dim", "end_dim"), ds)), seed=draw(SEEDS))


# -- cat, stack, split, chunk -------------------------------------------------------------

@st.composite
def join_case(draw, stack=False):
    """A list (or tuple) of 0 to 3 tensors matching except along the dim (cat) or in all
    (stack), one not matching sometimes, dtypes mixed sometimes, a legacy empty 1-D tensor
    sometimes; the dim positional, as dim= or as axis=."""
    base = draw(shapes(min_rank=0 if stack else 1))
    rank = len(base) + (1 if stack else 0)
    d = draw(one_dim(rank))
    mixed = draw(st.integers(0, 3)) == 0
    dtype = draw(st.sampled_from(WEIGHTED_DTYPES))
    tensors = []
    for _ in range(draw(st.sampled_from((1, 2, 2, 3, 3, 0)))):
        s = list(base)
        if not stack and -len(s) <= d < len(s):
            s[d] = draw(SIDES)
        if draw(st.integers(0, 11)) == 0:
            s = list(draw(shapes()))
        if not stack and draw(st.integers(0, 11)) == 0:
            s = [0]  # the legacy empty tensor, which cat skips
        tensors.append(draw(arrays(tuple(s), dtypes=WEIGHTED_DTYPES if mixed else (dtype,))))
    seq = tensors if draw(st.booleans()) else tuple(tensors)
    how = draw(st.sampled_from(("pos", "dim", "axis", "omit")))
    if how == "omit":
        return Case((seq,), seed=draw(SEEDS))
    return Case((seq, d) if how == "pos" else (seq,), {} if how == "pos" else {how: d},
                seed=draw(SEEDS))


@st.composite
def split_case(draw, chunk=False):
    x = draw(arrays(shapes()))
    d = draw(one_dim(x.value.ndim))
    size = x.value.shape[d] if -x.value.ndim <= d < x.value.ndim else 2
    if chunk or draw(st.booleans()):
        n = draw(st.integers(0, 4) if draw(st.integers(0, 5)) else st.integers(-1, 0))
        arg = max(n, 1) if draw(st.integers(0, 7)) else n
    else:
        parts = draw(st.lists(st.integers(0, size), max_size=4))
        if draw(st.integers(0, 3)) and parts:
            parts[-1] = max(0, size - sum(parts[:-1]))
        arg = parts if draw(st.booleans()) else tuple(parts)
    how = draw(st.sampled_from(("pos", "kw", "omit")))
    if how == "omit":
        return Case((x, arg), seed=draw(SEEDS))
    return Case((x, arg, d) if how == "pos" else (x, arg), {} if how == "pos" else {"dim": d},
                seed=draw(SEEDS))


OPS = [
    Op("a @ b", **same(operator.matmul), args=matmul_case(), weight=2,
       render=lambda c: f"{show(c.args[0])} @ {show(c.args[1])}"),
    Op("tc.matmul", **function("matmul"), args=matmul_case()),
    Op("x.reshape", **method("reshape"), args=sizes_case(reshape_sizes), weight=2),
    Op("x.view", **method("view"), args=sizes_case(reshape_sizes)),
    Op("x.mT.view", **same(lambda x, *s: x.mT.view(*s)),
       args=sizes_case(reshape_sizes, shapes(min_rank=2, max_rank=3))),
    Op("tc.reshape", **function("reshape"), args=st.builds(
        lambda c: Case((c.args[0], tuple(c.args[1:])), seed=c.seed),
        sizes_case(reshape_sizes))),
    Op("x.permute", **method("permute"), args=sizes_case(permute_sizes)),
    Op("x.transpose", **method("transpose"), args=dim_pair(("dim0", "dim1"))),
    Op("x.swapaxes", **method("swapaxes"), args=dim_pair(("axis0", "axis1"))),
    Op("x.squeeze", **method("squeeze"), args=one_dim_case(form="multi", optional=True)),
    Op("x.unsqueeze", **method("unsqueeze"), args=one_dim_case(extra_rank=1)),
    Op("x.flatten", **method("flatten"), args=flatten_case()),
    Op("x.expand", **method("expand"), args=sizes_case(expand_sizes)),
    Op("x.T", **same(lambda x: x.T), args=one_dim_case(optional=True).map(
        lambda c: Case(c.args[:1], seed=c.seed))),
    Op("x.mT", **same(lambda x: x.mT), args=one_dim_case(optional=True).map(
        lambda c: Case(c.args[:1], seed=c.seed))),
    Op("x.size", **method("size"), args=one_dim_case(optional=True)),
    Op("tc.cat", **function("cat"), args=join_case(), weight=2),
    Op("tc.stack", **function("stack"), args=join_case(stack=True)),
    Op("x.split", **method("split"), args=split_case()),
    Op("x.chunk", **method("chunk"), args=split_case(chunk=True)),
]
