"""Op tables: creation, elementwise arithmetic (operators, reflected forms with Python
scalars, named functions and methods), comparison and logic, unary functions, ``where``,
``clamp`` and the activation functions."""

from __future__ import annotations

import operator

import numpy as np
import torch
import torch.nn.functional as thF
from hypothesis import strategies as st

import tensorcore as tc
import tensorcore.nn.functional as tcF

from .harness import Arr, Case, DType, Op, same, show
from .strategies import (
    ALL_DTYPES,
    FLOATS,
    SEEDS,
    WEIGHTED_DTYPES,
    arrays,
    binary_case,
    broadcast_shapes,
    dims,
    floats_arrays,
    operand,
    scalars,
    shapes,
    unary_case,
    values,
)


def function(name: str) -> dict:
    """``tc.<name>`` and ``torch.<name>``, looked up at call time (a missing function is an
    AttributeError the test reports, not an error while building the table)."""
    return {"tc": lambda *a, **k: getattr(tc, name)(*a, **k),
            "torch": lambda *a, **k: getattr(torch, name)(*a, **k)}


def functional(name: str) -> dict:
    """``tensorcore.nn.functional.<name>`` and ``torch.nn.functional.<name>``."""
    return {"tc": lambda *a, **k: getattr(tcF, name)(*a, **k),
            "torch": lambda *a, **k: getattr(thF, name)(*a, **k)}


def method(name: str) -> dict:
    """``x.<name>(...)`` on both sides."""
    return same(lambda x, *a, **k: getattr(x, name)(*a, **k))


def prefix(symbol: str):
    return lambda c: f"{symbol}{show(c.args[0])}"


def infix(symbol: str):
    return lambda c: f"{show(c.args[0])} {symbol} {show(c.args[1])}"


# -- creation -----------------------------------------------------------------------------

@st.composite
def nested_data(draw):
    """``tensor(data)`` from nested lists of ints, floats, bools or a mix, or from a NumPy
    array of any dtype (uint8 and int16 included); ``dtype=`` sometimes."""
    shape = draw(shapes(max_rank=3))
    kind = draw(st.sampled_from(("float32", "int64", "bool", "mixed", "numpy")))
    rng = np.random.default_rng(draw(SEEDS))
    if kind == "numpy":
        dt = draw(st.sampled_from(ALL_DTYPES + ("uint8", "int16", "float16")))
        data = values(rng, shape, dt, "small" if dt[0] in "iu" else "normal")
    elif kind == "mixed":  # ints and floats in one list
        data = _mix(values(rng, shape, "float32", "halves").tolist(), rng)
    else:
        data = values(rng, shape, kind, "halves" if kind == "float32" else "small").tolist()
    kwargs = {}
    if draw(st.integers(0, 3)) == 0:
        kwargs["dtype"] = DType(draw(st.sampled_from(ALL_DTYPES)))
    return Case((data,), kwargs)


def _mix(v, rng):
    if isinstance(v, list):
        return [_mix(x, rng) for x in v]
    return int(v) if rng.random() < 0.5 and v == int(v) else v


@st.composite
def arange_args(draw):
    n = st.one_of(st.integers(-3, 8), st.sampled_from((0.5, 2.5, -1.5, 7.25)))
    args = tuple(draw(st.lists(n, min_size=1, max_size=3)))
    if len(args) == 3 and draw(st.integers(0, 9)) == 0:
        args = args[:2] + (0,)
    kwargs = {"dtype": DType(draw(st.sampled_from(ALL_DTYPES)))} if draw(
        st.integers(0, 3)) == 0 else {}
    return Case(args, kwargs)


@st.composite
def size_args(draw):
    """Sizes as varargs, a tuple or a list (a negative one sometimes), and a fill value."""
    size = draw(st.lists(st.integers(-1, 3) if draw(st.integers(0, 9)) == 0 else
                         st.integers(0, 3), max_size=3))
    form = draw(st.sampled_from(("varargs", "tuple", "list")))
    args = tuple(size) if form == "varargs" else (tuple(size) if form == "tuple" else size,)
    kwargs = {"dtype": DType(draw(st.sampled_from(ALL_DTYPES)))} if draw(st.booleans()) else {}
    return Case(args, kwargs)


@st.composite
def full_args(draw):
    size = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    return Case((size, draw(scalars())), {})


# -- arithmetic ---------------------------------------------------------------------------

OPERATORS = (
    ("+", operator.add), ("-", operator.sub), ("*", operator.mul), ("/", operator.truediv),
    ("//", operator.floordiv), ("%", operator.mod), ("**", operator.pow),
    ("==", operator.eq), ("!=", operator.ne), ("<", operator.lt), ("<=", operator.le),
    (">", operator.gt), (">=", operator.ge), ("&", operator.and_), ("|", operator.or_),
)

alpha = st.one_of(st.just({}), st.builds(lambda v: {"alpha": v}, scalars("if")))
rounding = st.sampled_from(({}, {"rounding_mode": None}, {"rounding_mode": "floor"},
                            {"rounding_mode": "trunc"}))

# name, extra keywords
NAMED_BINARY = (
    ("add", alpha), ("sub", alpha), ("mul", None), ("div", rounding), ("true_divide", None),
    ("floor_divide", None), ("remainder", None), ("fmod", None), ("pow", None),
    ("maximum", None), ("minimum", None), ("eq", None), ("ne", None), ("lt", None),
    ("le", None), ("gt", None), ("ge", None), ("logical_and", None), ("logical_or", None),
)

UNARY_METHODS = ("neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh",
                 "sigmoid", "relu", "erf", "square", "sign", "floor", "ceil", "round", "trunc",
                 "logical_not")


@st.composite
def where_case(draw):
    sc, sa, sb = draw(broadcast_shapes(n=3))
    cond_dtypes = ("bool",) * 6 + ("float32", "int64")
    cond = draw(arrays(sc, dtypes=cond_dtypes))
    a = draw(operand(sa, WEIGHTED_DTYPES, "ifb"))
    b = draw(operand(sb, WEIGHTED_DTYPES if not isinstance(a, Arr) or draw(st.booleans())
                     else (a.value.dtype.name,), "ifb"))
    return Case((cond, a, b), seed=draw(SEEDS))


@st.composite
def clamp_case(draw):
    sx, smin, smax = draw(broadcast_shapes(n=3))
    x = draw(arrays(sx, dtypes=WEIGHTED_DTYPES))
    bounds = []
    for s in (smin, smax):
        form = draw(st.sampled_from(("none", "scalar", "scalar", "tensor")))
        bounds.append(None if form == "none" else draw(scalars("if")) if form == "scalar"
                      else draw(arrays(s, dtypes=(x.value.dtype.name,) * 3 + FLOATS)))
    how = draw(st.sampled_from(("pos", "kw", "min_only", "max_only")))
    if how == "pos":
        return Case((x, *bounds), seed=draw(SEEDS))
    if how == "min_only":
        return Case((x,), {"min": bounds[0]}, seed=draw(SEEDS))
    if how == "max_only":
        return Case((x,), {"max": bounds[1]}, seed=draw(SEEDS))
    return Case((x,), {"min": bounds[0], "max": bounds[1]}, seed=draw(SEEDS))


# -- activations --------------------------------------------------------------------------

def kw(**strategies):
    """A strategy of keyword dicts: each keyword present half of the time."""
    @st.composite
    def draw_kw(draw):
        return {k: draw(s) for k, s in strategies.items() if draw(st.booleans())}
    return draw_kw()


ACT_DTYPES = ("float32", "float32", "float64", "int64")
inplace = st.booleans()


@st.composite
def softmax_case(draw, functional_form=True):
    x = draw(arrays(shapes(), dtypes=ACT_DTYPES))
    d = draw(dims(x.value.ndim, multi=False, none=functional_form))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["dim"] = d
        args = (x,)
    else:
        args = (x, d)
    if draw(st.integers(0, 3)) == 0:
        kwargs["dtype"] = DType(draw(st.sampled_from(FLOATS)))
    return Case(args, kwargs, seed=draw(SEEDS))


OPS = [
    # creation
    Op("tensor", **function("tensor"), args=nested_data()),
    Op("arange", **function("arange"), args=arange_args()),
    Op("zeros", **function("zeros"), args=size_args()),
    Op("ones", **function("ones"), args=size_args()),
    Op("full", **function("full"), args=full_args()),
    # arithmetic and comparison operators, tensor and Python scalar on either side
    *[Op(f"a {sym} b", **same(fn), args=binary_case(), render=infix(sym))
      for sym, fn in OPERATORS],
    # the named functions and their methods
    *[Op(f"tc.{name}", **function(name), args=binary_case(kw=extra))
      for name, extra in NAMED_BINARY],
    *[Op(f"x.{name}", **method(name), args=binary_case(first_scalar=False, kw=extra))
      for name, extra in NAMED_BINARY if name not in ("true_divide", "logical_and")],
    Op("tc.rsub", **function("rsub"), args=binary_case(first_scalar=False)),
    # unary
    *[Op(f"x.{name}", **method(name), args=unary_case()) for name in UNARY_METHODS],
    Op("-x", **same(operator.neg), args=unary_case(), render=prefix("-")),
    Op("abs(x)", **same(abs), args=unary_case(), render=lambda c: f"abs({show(c.args[0])})"),
    Op("~x", **same(operator.invert), args=unary_case(), render=prefix("~")),
    # where and clamp
    Op("tc.where", **function("where"), args=where_case()),
    Op("x.where", **same(lambda cond, a, b: a.where(cond, b)), args=where_case(),
       render=lambda c: f"{show(c.args[1])}.where({show(c.args[0])}, {show(c.args[2])})"),
    Op("x.clamp", **method("clamp"), args=clamp_case()),
    Op("tc.clamp", **function("clamp"), args=clamp_case()),
    Op("x.clip", **method("clip"), args=clamp_case()),
    # activations
    Op("F.relu", **functional("relu"), args=unary_case(ACT_DTYPES, kw=kw(inplace=inplace))),
    Op("F.sigmoid", **functional("sigmoid"), args=unary_case(ACT_DTYPES)),
    Op("F.tanh", **functional("tanh"), args=unary_case(ACT_DTYPES)),
    Op("F.gelu", **functional("gelu"), args=unary_case(ACT_DTYPES, kw=kw(
        approximate=st.sampled_from(("none", "tanh", "exact"))))),
    Op("F.softplus", **functional("softplus"), args=unary_case(ACT_DTYPES, kw=kw(
        beta=st.sampled_from((1.0, 2.0, 0.5, 1)), threshold=st.sampled_from((20.0, 1.0, 2))))),
    Op("F.leaky_relu", **functional("leaky_relu"), args=unary_case(ACT_DTYPES, kw=kw(
        negative_slope=st.sampled_from((0.01, 0.2, 0, 1.5)), inplace=inplace))),
    Op("F.elu", **functional("elu"), args=unary_case(ACT_DTYPES, kw=kw(
        alpha=st.sampled_from((1.0, 0.5, 2)), inplace=inplace))),
    Op("F.silu", **functional("silu"), args=unary_case(ACT_DTYPES, kw=kw(inplace=inplace))),
    Op("F.softmax", **functional("softmax"), args=softmax_case()),
    Op("F.log_softmax", **functional("log_softmax"), args=softmax_case()),
    Op("x.softmax", **method("softmax"), args=softmax_case(functional_form=False)),
    Op("x.log_softmax", **method("log_softmax"), args=softmax_case(functional_form=False)),
    Op("x ** 0, 0.0 ** y", **same(lambda x, y: (x ** 0, 0.0 ** y)),
       args=st.builds(lambda a, b, s: Case((a, b), seed=s),
                      floats_arrays(shapes()), floats_arrays(shapes()), SEEDS),
       render=lambda c: f"x = {show(c.args[0])}; y = {show(c.args[1])}; (x ** 0, 0.0 ** y)"),
]
