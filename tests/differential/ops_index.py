"""Op tables: indexing (basic, advanced, mixed, boolean masks, None, Ellipsis), setitem,
in-place programs followed by backward, and assigning ``.grad``."""

from __future__ import annotations

import functools

import numpy as np
import torch.nn.functional as thF
from hypothesis import strategies as st

import tensorcore.nn.functional as tcF

from .harness import Arr, Case, Op, show, show_index
from .strategies import (
    ALL_DTYPES,
    SEEDS,
    WEIGHTED_DTYPES,
    arrays,
    floats_arrays,
    scalars,
    shapes,
)

ITEM_KINDS = ("int", "int", "slice", "slice", "slice", "none", "ellipsis", "list", "list",
              "array", "array", "mask", "bool", "tensor0d")


@st.composite
def index_item(draw, shape: tuple, at: int, kinds=ITEM_KINDS):
    """One index item for the dims of ``shape`` from ``at``; returns (item, dims used)."""
    size = shape[at] if at < len(shape) else 2
    kind = draw(st.sampled_from(kinds))
    in_range = st.integers(-size, size - 1) if size else st.just(0)
    anywhere = st.integers(-size - 1, size) if draw(st.integers(0, 9)) == 0 else in_range
    if kind == "int":
        return draw(anywhere), 1
    if kind == "slice":
        bound = st.one_of(st.none(), st.integers(-size - 2, size + 2))
        step = draw(st.sampled_from((None, None, None, 1, 2, 3, -1, -2, 0)))
        return slice(draw(bound), draw(bound), step), 1
    if kind == "none":
        return None, 0
    if kind == "ellipsis":
        return Ellipsis, 0
    if kind == "bool":
        return draw(st.booleans()), 0
    if kind == "tensor0d":
        return Arr(np.asarray(draw(anywhere), dtype="int64")), 1
    if kind == "mask":
        rank = draw(st.integers(1, max(1, len(shape) - at)))
        mshape = tuple(shape[at:at + rank])
        if len(mshape) < rank or draw(st.integers(0, 9)) == 0:
            mshape = draw(shapes(min_rank=1, max_rank=rank))
        rng = np.random.default_rng(draw(SEEDS))
        return Arr(rng.random(mshape) < 0.5), len(mshape)
    ishape = draw(shapes(min_rank=1, max_rank=2, sides=st.sampled_from((0, 1, 2, 3))))
    rng = np.random.default_rng(draw(SEEDS))
    lo, hi = (-size, size) if draw(st.integers(0, 9)) else (-size - 2, size + 2)
    idx = rng.integers(lo, hi, ishape) if hi > lo else np.zeros(ishape, dtype=np.int64)
    if kind == "list":
        if idx.ndim == 2 and draw(st.integers(0, 3)):
            idx = idx.reshape(-1)  # a flat list mostly, nested sometimes
        return idx.tolist(), 1
    return Arr(idx.astype(draw(st.sampled_from(("int64", "int64", "int32"))))), 1


@st.composite
def index_case(draw, shape=None):
    """A tensor and an index: one item or a tuple of up to ndim + 1 items."""
    x = draw(arrays(shape if shape is not None else shapes(),
                    dtypes=("float32", "float32", "float64", "int64", "bool")))
    items, at = [], 0
    for _ in range(draw(st.integers(0, x.value.ndim + 1))):
        item, used = draw(index_item(x.value.shape, at))
        items.append(item)
        at += used
    if len(items) == 1 and draw(st.booleans()):
        return x, items[0]
    return x, tuple(items)


@st.composite
def mixed_index_case(draw):
    """An index with an integer and an index list / tensor separated by slices, None or ...
    (where PyTorch applies the integer first), on a tensor of rank 3 or 4."""
    x = draw(arrays(shapes(min_rank=3, max_rank=4, sides=st.sampled_from((1, 2, 3, 4))),
                    dtypes=("float32", "float32", "float64", "int64")))
    anything = st.sampled_from(("int", "adv", "slice", "none"))
    pair = draw(st.permutations(("int", "adv")))
    separators = draw(st.lists(st.sampled_from(("slice", "slice", "none", "ellipsis")),
                               min_size=1, max_size=2))
    pattern = (draw(st.lists(anything, max_size=1)) + [pair[0]] + separators + [pair[1]]
               + draw(st.lists(anything, max_size=1)))
    items, at = [], 0
    for kind in pattern:
        kinds = ("list", "array") if kind == "adv" else (kind,)
        item, used = draw(index_item(x.value.shape, at, kinds))
        items.append(item)
        at += used
    return x, tuple(items)


@st.composite
def getitem_case(draw, index=None):
    x, index = draw(index if index is not None else index_case())
    return Case((x, index), seed=draw(SEEDS))


def _numpy_shape(shape, index):
    """The shape NumPy gives ``np.empty(shape)[index]`` (a guess at a value's shape), or None."""
    def raw(i):
        if isinstance(i, Arr):
            return i.value
        if isinstance(i, tuple):
            return tuple(raw(v) for v in i)
        return i
    try:
        return np.empty(shape)[raw(index)].shape
    except Exception:  # noqa: BLE001 - an index NumPy refuses: any value shape will do
        return None


@st.composite
def setitem_case(draw, index=None):
    """``z = x.clone(); z[index] = value``: a Python scalar or a tensor whose shape is a
    trailing part of the indexed result (so it broadcasts, mostly), of x's dtype or another;
    sometimes on x itself (a leaf: in place on it is an error when it requires grad)."""
    x, index = draw(index if index is not None else index_case())
    if draw(st.integers(0, 3)) == 0:
        value = draw(scalars())
    else:
        target = _numpy_shape(x.value.shape, index)
        vshape = target[draw(st.integers(0, len(target))):] if target is not None else draw(
            shapes(max_rank=2))
        if vshape and draw(st.integers(0, 4)) == 0:
            vshape = (1,) + vshape[1:]
        same_dtype = (x.value.dtype.name,) * 4
        value = draw(arrays(vshape, dtypes=same_dtype + ALL_DTYPES))
    clone = draw(st.integers(0, 9)) > 0
    return Case((x, index, value, clone), seed=draw(SEEDS))


def setitem(x, index, value, clone=True):
    z = x.clone() if clone else x
    z[index] = value
    return z


def render_getitem(c: Case) -> str:
    return f"{show(c.args[0])}[{show_index(c.args[1])}]"


def render_setitem(c: Case) -> str:
    x, index, value, clone = c.args
    z = f"{show(x)}.clone()" if clone else show(x)
    return f"z = {z}; z[{show_index(index)}] = {show(value)}"


# -- in-place programs, then backward -----------------------------------------------------

# A program is Python source run on each side with x (a leaf that requires grad), y (a
# tensor or a Python scalar) and F (that side's functional namespace): a start that makes z
# from x, one to three in-place steps on z, and an end. Some starts save z for their
# backward (exp, sigmoid), so that modifying z in place must make backward raise, as in
# PyTorch; the repro of a program is its source.
STARTS = {"clone": "z = x.clone()", "mul1": "z = x * 1.0", "exp": "z = x.exp()",
          "sigmoid": "z = x.sigmoid()", "view_of_clone": "base = x.clone(); z = base[0]",
          "leaf": "z = x"}
STEPS = {"add_": "z.add_(y)", "sub_": "z.sub_(y)", "mul_": "z.mul_(y)", "div_": "z.div_(y)",
         "add_alpha": "z.add_(y, alpha=2)", "iadd": "z += y", "imul": "z *= y",
         "clamp_": "z.clamp_(-1.0, 1.0)", "zero_": "z.zero_()", "fill_": "z.fill_(0.5)",
         "copy_": "z.copy_(y)", "masked_fill_": "z.masked_fill_(z > 0, 0.25)",
         "setitem_self": "z[0] = z[0] * 2.0", "setitem_slice": "z[1:3] = z[1:3] * 2.0",
         "setitem_other": "z[0] = y", "relu": "F.relu(z, inplace=True)",
         "leaky_relu": "F.leaky_relu(z, 0.1, inplace=True)", "elu": "F.elu(z, inplace=True)",
         "silu": "F.silu(z, inplace=True)"}
ENDS = {"z": "out = z", "z*x": "out = z * x", "base": "out = z if base is None else base"}
_START_WEIGHTS = ("clone", "clone", "mul1", "exp", "sigmoid", "view_of_clone", "leaf")


@functools.cache
def _compiled(source: str):
    return compile(source, "<in-place program>", "exec")


def program_source(start: str, steps: tuple, end: str) -> str:
    return "; ".join([STARTS[start], *(STEPS[s] for s in steps), ENDS[end]])


def program(F):  # noqa: N803 - the functional namespace of one side
    def run(x, y, start, steps, end):
        scope = {"x": x, "y": y, "F": F, "base": None}
        exec(_compiled(program_source(start, steps, end)), scope)  # noqa: S102 - our table
        return scope["out"]
    return run


@st.composite
def program_case(draw):
    x = draw(floats_arrays(shapes(min_rank=1, max_rank=3), grad=True))
    shape = x.value.shape
    y_shape = shape[draw(st.integers(0, len(shape))):]
    if draw(st.integers(0, 3)) == 0:
        y = draw(scalars("if"))
    else:
        y = draw(arrays(y_shape, dtypes=(x.value.dtype.name,) * 3 + ("int64",)))
    steps = tuple(draw(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=3)))
    return Case((x, y, draw(st.sampled_from(_START_WEIGHTS)), steps,
                 draw(st.sampled_from(("z", "z", "z*x", "base")))), seed=draw(SEEDS))


def render_program(c: Case) -> str:
    x, y, start, steps, end = c.args
    return (f"x = {show(x)}; y = {show(y)}; {program_source(start, steps, end)}; "
            f"out.backward(g)")


# -- assigning .grad ----------------------------------------------------------------------

def assign_grad(x, g):
    x.grad = g
    return x.grad


@st.composite
def grad_case(draw):
    x = draw(floats_arrays(shapes(), grad=True))
    if draw(st.integers(0, 3)) == 0:
        g = draw(arrays(shapes(), dtypes=WEIGHTED_DTYPES, grad=False))
    else:
        g = draw(arrays(x.value.shape, dtypes=(x.value.dtype.name,) * 4 + ALL_DTYPES,
                        grad=False))
    return Case((x, g), seed=draw(SEEDS))


OPS = [
    Op("x[index]", tc=lambda x, i: x[i], torch=lambda x, i: x[i], args=getitem_case(),
       weight=5, render=render_getitem),
    Op("x[index] = v", tc=setitem, torch=setitem, args=setitem_case(), weight=4,
       render=render_setitem),
    Op("x[mixed index]", tc=lambda x, i: x[i], torch=lambda x, i: x[i],
       args=getitem_case(mixed_index_case()), weight=2, render=render_getitem),
    Op("x[mixed index] = v", tc=setitem, torch=setitem, args=setitem_case(mixed_index_case()),
       weight=2, render=render_setitem),
    Op("in-place program", tc=program(tcF), torch=program(thF), args=program_case(),
       weight=5, render=render_program),
    Op("x.grad = g", tc=assign_grad, torch=assign_grad, args=grad_case()),
]
