"""Hypothesis strategies shared by the op tables: shapes, arrays, scalars, dims, operands.

Values come from a NumPy generator seeded by a drawn integer, under a drawn profile (normal,
halves with ties and zeros, positive, or with special values: 0, -0, NaN, inf, 1e30), so an
example is cheap to draw and still reaches the edge cases. Shapes include 0-d and empty.
Strategies draw invalid calls on purpose (dims one past either end, shapes that do not
broadcast, wrong dtypes): both libraries must then raise.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .harness import Arr, Case

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
ALL_DTYPES = FLOATS + INTS + ("bool",)
NUMERIC = FLOATS + INTS
# float32 most often: the dtype of nearly all real code
WEIGHTED_DTYPES = ("float32", "float32", "float32", "float64", "int64", "int32", "bool")

SIDES = st.sampled_from((1, 2, 3, 1, 2, 3, 0, 4))  # mostly small, sometimes empty
SEEDS = st.integers(0, 2**32 - 1)

FLOAT_PROFILES = ("normal", "normal", "halves", "halves", "positive", "special")
INT_PROFILES = ("small", "small", "small", "nonnegative", "extreme")
SPECIAL = (0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e30, -1e30, 1e-30)


def shapes(min_rank: int = 0, max_rank: int = 4, sides=SIDES):
    return st.integers(min_rank, max_rank).flatmap(
        lambda r: st.tuples(*[sides] * r))


def values(rng: np.random.Generator, shape: tuple, dtype: str, profile: str) -> np.ndarray:
    """Values of ``dtype`` under ``profile`` (see the module docstring)."""
    kind = np.dtype(dtype).kind
    if kind == "f":
        if profile == "halves":
            v = rng.integers(-6, 7, shape) / 2
        elif profile == "positive":
            v = rng.uniform(0.25, 3.0, shape)
        else:
            v = rng.standard_normal(shape) * 1.5
            if profile == "special":
                pick = rng.random(shape) < 0.3
                v = np.where(pick, rng.choice(SPECIAL, shape), v)
        return np.asarray(v, dtype=dtype)
    if kind == "b":
        return np.asarray(rng.random(shape) < 0.5)
    if kind == "u":
        return np.asarray(rng.integers(0, 256, shape), dtype=dtype)
    info = np.iinfo(dtype)
    if profile == "nonnegative":
        v = rng.integers(0, 6, shape)
    elif profile == "extreme":
        # not info.min: PyTorch's integer division of it by -1 kills the process (SIGFPE)
        v = rng.choice([info.min + 1, info.max, info.max - 1, 0, 1, -1, 2**20], shape)
    else:
        v = rng.integers(-5, 6, shape)
    return np.asarray(v, dtype=dtype)


@st.composite
def arrays(draw, shape, dtypes=WEIGHTED_DTYPES, grad=None, profiles=None):
    """An ``Arr`` of ``shape`` (a tuple or a strategy); ``grad`` None: a float array requires
    grad three times in four."""
    if not isinstance(shape, tuple):
        shape = draw(shape)
    dtype = draw(st.sampled_from(dtypes))
    kind = np.dtype(dtype).kind
    default = FLOAT_PROFILES if kind == "f" else INT_PROFILES
    profile = draw(st.sampled_from(profiles or default))
    v = values(np.random.default_rng(draw(SEEDS)), shape, dtype, profile)
    if kind != "f":
        rg = False
    elif grad is None:
        rg = draw(st.integers(0, 3)) > 0
    else:
        rg = grad
    return Arr(v, rg)


def floats_arrays(shape, **kw):
    return arrays(shape, dtypes=("float32", "float32", "float64"), **kw)


SMALL_INTS = (0, 1, 2, -1, -3, 5)
# beyond int32 (PyTorch wraps them into the tensor's dtype); none wraps to an int32 or int64
# minimum, which PyTorch's integer division by -1 turns into a SIGFPE that kills the process
BIG_INTS = (2**31 + 7, 2**40, -(2**33), 2**63 - 1)
SMALL_FLOATS = (0.5, -1.5, 2.0, 0.0, -0.0, 3.25, 1e-3)
SPECIAL_FLOATS = (float("nan"), float("inf"), float("-inf"), 1e30)


def scalars(kinds: str = "ifb"):
    """Python numbers: ``i`` ints (sometimes beyond int32 / int64), ``f`` floats (sometimes
    NaN or inf), ``b`` bools."""
    parts = []
    if "i" in kinds:
        parts += [st.sampled_from(SMALL_INTS)] * 3 + [st.sampled_from(BIG_INTS)]
    if "f" in kinds:
        parts += [st.sampled_from(SMALL_FLOATS)] * 3 + [st.sampled_from(SPECIAL_FLOATS)]
    if "b" in kinds:
        parts += [st.booleans()]
    return st.one_of(parts)


@st.composite
def one_dim(draw, ndim: int):
    """A dim of a tensor of rank ``ndim``: in range mostly, one past either end sometimes."""
    n = max(ndim, 1)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from((-n - 1, n)))
    return draw(st.integers(-n, n - 1))


@st.composite
def dims(draw, ndim: int, multi: bool = True, none: bool = True):
    """A ``dim`` argument in any form: int, tuple, list (maybe with a repeat), (), None."""
    forms = ["int", "int", "int"] + (["tuple", "tuple", "list", "empty"] if multi else []) + (
        ["none"] if none else [])
    form = draw(st.sampled_from(forms))
    if form == "int":
        return draw(one_dim(ndim))
    if form == "none":
        return None
    if form == "empty":
        return draw(st.sampled_from(((), [])))
    k = draw(st.integers(1, max(ndim, 1)))
    ds = draw(st.lists(one_dim(ndim), min_size=k, max_size=k))
    return tuple(ds) if form == "tuple" else ds


@st.composite
def dim_and_keepdim(draw, ndim: int, multi=True, none=True, required=False, keepdim=True):
    """``(args, kwargs)`` passing a dim and keepdim positionally, as ``dim=``/``keepdim=`` or
    as NumPy's ``axis=``/``keepdims=``; the dim left out sometimes unless ``required``."""
    args, kwargs = [], {}
    how = draw(st.sampled_from(("pos", "dim", "axis") + (() if required else ("omit",))))
    if how != "omit":
        d = draw(dims(ndim, multi=multi, none=none))
        if how == "pos":
            args.append(d)
        else:
            kwargs[how] = d
    if keepdim:
        keep = draw(st.sampled_from(("omit", "keepdim", "keepdims") + (
            ("pos",) if how == "pos" else ())))
        if keep == "pos":
            args.append(draw(st.booleans()))
        elif keep != "omit":
            kwargs[keep] = draw(st.booleans())
    return args, kwargs


@st.composite
def broadcast_shapes(draw, n: int = 2, min_rank: int = 0):
    """``n`` shapes that broadcast together (a trailing part of one base shape, some sides
    set to 1); about one time in twelve one of them is any shape (mostly not broadcasting)."""
    base = draw(shapes(min_rank=min_rank))
    out = []
    for _ in range(n):
        drop = draw(st.integers(0, len(base) - min_rank))
        out.append(tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in base[drop:]))
    if draw(st.integers(0, 11)) == 0:
        out[draw(st.integers(0, n - 1))] = draw(shapes(min_rank=min_rank))
    return out


@st.composite
def operand(draw, shape, dtypes, scalar_kinds):
    """A tensor of ``shape`` or (when ``scalar_kinds``) sometimes a Python scalar."""
    if scalar_kinds and draw(st.integers(0, 3)) == 0:
        return draw(scalars(scalar_kinds))
    return draw(arrays(shape, dtypes=dtypes))


@st.composite
def binary_case(draw, dtypes=WEIGHTED_DTYPES, scalar_kinds="ifb", first_scalar=True, kw=None):
    """Two operands that broadcast (mostly), either one possibly a Python scalar (the
    reflected forms), of the same dtype half of the time; ``kw`` draws extra keywords."""
    sa, sb = draw(broadcast_shapes())
    a_dtypes = dtypes
    a = draw(operand(sa, a_dtypes, scalar_kinds if first_scalar else ""))
    if isinstance(a, Arr) and draw(st.booleans()):
        dtypes = (a.value.dtype.name,)
    b = draw(operand(sb, dtypes, scalar_kinds if isinstance(a, Arr) else ""))
    kwargs = draw(kw) if kw is not None else {}
    return Case((a, b), kwargs, seed=draw(SEEDS))


@st.composite
def unary_case(draw, dtypes=WEIGHTED_DTYPES, profiles=None, kw=None):
    x = draw(arrays(shapes(), dtypes=dtypes, profiles=profiles))
    return Case((x,), draw(kw) if kw is not None else {}, seed=draw(SEEDS))
